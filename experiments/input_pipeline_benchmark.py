"""Input pipeline throughput: tokenize + pack + batch, in tokens per second. Prints JSON.

Cases:
  tiny            the `tiny` setup: synthetic text, SentencePiece trained in-process (vocab 256),
                  batch 8 x 256.
  math_sp_1024    MATH train problems+solutions written as an array_record shard (the corpus
                  engine's format), SentencePiece BPE vocab 8000, batch 8 x 1024.
  math_hf_1024    the same shard with a byte-level BPE tokenizer.json (vocab 8000, built with
                  `tokenizers`, like DeepSeekMath's), batch 8 x 1024.
  ..._w2          the same with 2 grain worker processes.

`tokens_per_s` counts all B*L positions delivered; `real_tokens_per_s` only non-padding ones;
`fill` is their ratio (packing efficiency). Compare with the trainer's consumption (tokens/s of
the train step, measured by the trainer benchmark) for the same batch shape.

  python experiments/input_pipeline_benchmark.py --data_dir=../shared/data --seconds=5
"""

from __future__ import annotations

import json
import os
import tempfile
import time

from absl import app
from absl import flags
from array_record.python import array_record_module
import ml_collections
import tokenizers
from tokenizers import decoders, models, pre_tokenizers, trainers

from deepseekmath_jax.data import pipeline
from deepseekmath_jax.data import sources
from deepseekmath_jax.data import tokenizer as tok_lib

_DATA_DIR = flags.DEFINE_string("data_dir", "../shared/data", "Folder with math/math_train.jsonl.")
_SECONDS = flags.DEFINE_float("seconds", 5.0, "Measuring time per case (after warm-up).")
_CASES = flags.DEFINE_list("cases", ["tiny", "math_sp_1024", "math_hf_1024", "math_hf_1024_w2"],
                           "Cases to run.")


def _math_shard(workdir: str) -> tuple[str, list[str]]:
  path = os.path.join(_DATA_DIR.value, "math", "math_train.jsonl")
  with open(path, encoding="utf-8") as f:
    texts = [f"{r['problem']}\n\n{r['solution']}" for r in map(json.loads, f)]
  os.makedirs(os.path.join(workdir, "shards"), exist_ok=True)
  writer = array_record_module.ArrayRecordWriter(
      os.path.join(workdir, "shards", "math-00000.array_record"), "group_size:1")
  for text in texts:
    writer.write(json.dumps({"text": text}).encode("utf-8"))
  writer.close()
  return workdir, texts


def _hf_tokenizer(texts: list[str], workdir: str) -> tok_lib.HFTokenizer:
  tok = tokenizers.Tokenizer(models.BPE())
  tok.pre_tokenizer = pre_tokenizers.Sequence([
      pre_tokenizers.Digits(individual_digits=True),
      pre_tokenizers.ByteLevel(add_prefix_space=False)])
  tok.decoder = decoders.ByteLevel()
  tok.train_from_iterator(texts, trainer=trainers.BpeTrainer(
      vocab_size=8000, special_tokens=[tok_lib.DEEPSEEK_BOS, tok_lib.DEEPSEEK_EOS],
      initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False))
  path = os.path.join(workdir, "tokenizer.json")
  tok.save(path)
  return tok_lib.HFTokenizer(path)


def _measure(name, data_config, tokenizer, batch_size, seq_len, seconds) -> dict:
  start = time.perf_counter()
  it = pipeline.make_train_iterator(data_config, tokenizer, seed=0, batch_size=batch_size,
                                    seq_len=seq_len, process_index=0, process_count=1)
  for _ in range(2):  # warm-up: worker start, first packing rounds
    next(it)
  startup = time.perf_counter() - start
  batches = real = 0
  start = time.perf_counter()
  while time.perf_counter() - start < seconds:
    batch = next(it)
    batches += 1
    real += int((batch["segment_ids"] > 0).sum())
  elapsed = time.perf_counter() - start
  if hasattr(it, "close"):
    it.close()
  positions = batches * batch_size * seq_len
  return dict(case=name, batch_size=batch_size, seq_len=seq_len, tokenizer=repr(tokenizer),
              workers=data_config.worker_count, batches=batches, seconds=round(elapsed, 2),
              startup_s=round(startup, 2), tokens_per_s=round(positions / elapsed),
              real_tokens_per_s=round(real / elapsed), fill=round(real / max(positions, 1), 4))


def main(argv):
  del argv
  results = []
  with tempfile.TemporaryDirectory() as workdir:
    if "tiny" in _CASES.value:
      cfg = pipeline.default_data_config()
      tok = tok_lib.build_tokenizer(tok_lib.default_tokenizer_config(), cfg, workdir=workdir)
      results.append(_measure("tiny", cfg, tok, 8, 256, _SECONDS.value))
    math_cases = [c for c in _CASES.value if c.startswith("math_")]
    if math_cases:
      shard_dir, texts = _math_shard(workdir)
      cfg = pipeline.default_data_config()
      cfg.sources = ml_collections.ConfigDict(dict(math=sources.source_config(
          "array_record", path=shard_dir)))
      toks = {}
      for case in math_cases:
        kind = case.split("_")[1]
        if kind not in toks:
          toks[kind] = (tok_lib.train_sentencepiece(texts, None, 8000) if kind == "sp"
                        else _hf_tokenizer(texts, workdir))
        case_cfg = ml_collections.ConfigDict(cfg.to_dict())
        case_cfg.worker_count = 2 if case.endswith("_w2") else 0
        results.append(_measure(case, case_cfg, toks[kind], 8, 1024, _SECONDS.value))
  print(json.dumps(results, indent=1))


if __name__ == "__main__":
  app.run(main)
