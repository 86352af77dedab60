"""grain input pipelines for pretraining and SFT: sources → tokens → mixture → packed batches.

The batch contract (what `make_train_iterator`, `make_sft_iterator` and `make_eval_batches`
yield; the trainers rely on it exactly): a dict of numpy arrays of shape [B, L], B the
per-process batch size, L the sequence length:

  inputs       int32    token ids
  targets      int32    the next token of the same document (anything at its last position)
  positions    int32    position within its document, 0 at each packed document's start
  segment_ids  int32    1, 2, 3... per packed document within the row, 0 = padding
  loss_mask    float32  1.0 where the target counts: pretraining, every real position with a
                        next token in the same document; SFT, only positions whose target is a
                        response token (the answer and its closing EOS)

The train pipeline, per source: `grain.MapDataset.source` → record shard
(`ds[shard::num_shards]`, disjoint; by default one shard per process) → seeded shuffle (reshuffled
each epoch) → repeat (`num_epochs`, 0 = forever) → record → document → token ids (a bad record is
logged with its file and line/index and skipped). Sources are mixed with
`grain.MapDataset.mix`, whose selection is deterministic by index. Then `to_iter_dataset` →
long documents cut to L → `FirstFitPackIterDataset` → `batch(B)` → optional worker processes
(`mp_prefetch`). A process reading several shards (`data.num_shards` a multiple of the
process count) packs each one into its share of the rows and concatenates them in shard order,
so a fixed `num_shards` gives the same global batches on any number of processes (a 4-device
run on one host reproduces a 2-host run). The returned object is a grain `DatasetIterator`:
`get_state()` returns a small JSON-able dict and `set_state()` restores it exactly, so orbax's
grain handler (`grain.checkpoint.CheckpointSave/CheckpointRestore`) can save it with the model.
A state is
only valid for the same config, seed, batch size, sequence length, process count,
`num_shards` and `worker_count`.

Mixture weights are per token by default (`mixture_unit="tokens"`), as the paper states its
mixture (arXiv:2402.03300 §2.3: 56% DeepSeekMath Corpus, 4% AlgebraicStack, 10% arXiv, 20%
GitHub code, 10% Common Crawl; see `paper_mixture_example`): document weights are divided by
each source's mean document length, measured on its first `mixture_sample_docs` documents.
"""

from __future__ import annotations

from collections.abc import Iterator
import itertools
from typing import Any

from absl import flags
from absl import logging
import grain
import ml_collections
import numpy as np

from deepseekmath_jax.data import packing
from deepseekmath_jax.data import sources as sources_lib
from deepseekmath_jax.data import tokenizer as tokenizer_lib

MODES = ("pretrain", "sft")


def default_data_config() -> ml_collections.ConfigDict:
  """The `config.data` keys read by this module, with defaults (synthetic text, no files)."""
  return ml_collections.ConfigDict(dict(
      mode="pretrain",             # pretrain | sft (prompt/response pairs, loss on responses)
      # name -> sources.source_config(kind, ...); override with --config.data.sources.<n>.<k>.
      sources=ml_collections.ConfigDict(dict(synthetic=sources_lib.source_config("synthetic"))),
      mixture_unit="tokens",       # tokens | documents: what the source weights proportion
      mixture_sample_docs=64,      # documents per source to measure mean length (tokens unit)
      add_bos=True,                # pretrain: BOS before each document (DeepSeek's default)
      add_eos=True,                # pretrain: EOS after each document
      shuffle=True,                # seeded global shuffle of each source, reshuffled per epoch
      num_epochs=0,                # 0 = repeat forever; n = n passes over each source (a
                                   # mixture stops when its first source runs out)
      packing_bins=0,              # first-fit bins per packing round (0 = 4 * batch size)
      read_threads=2,              # threads tokenizing in each process (grain ReadOptions)
      read_buffer=64,              # elements each thread reads ahead
      worker_count=0,              # grain worker processes (mp_prefetch); 0 = in-process
      worker_buffer_size=2,        # batches each worker prepares ahead
      num_shards=0,                # record shards (0 = one per process); see make_train_iterator
      eval_holdout_records=0,      # sources with no eval split hold out their first n records
      eval_max_batches=0,          # cap on held-out batches (0 = all)
  ))


def paper_mixture_example(corpus_dir: str = "corpus") -> ml_collections.ConfigDict:
  """`config.data.sources` for the DeepSeekMath-Base 7B mixture (arXiv:2402.03300 §2.3).

  Paths are placeholders for shard directories (`<dir>/shards/*.array_record`, records
  `{"text": ...}`, the corpus engine's output format).
  """
  shards = lambda name: sources_lib.source_config(  # pylint: disable=g-long-lambda
      "array_record", path=f"{corpus_dir}/{name}", eval_path="")
  out = dict(math_corpus=shards("deepseekmath_corpus"), algebraic_stack=shards("algebraic_stack"),
             arxiv=shards("arxiv"), github_code=shards("github_code"),
             common_crawl=shards("common_crawl"))
  for name, weight in (("math_corpus", 0.56), ("algebraic_stack", 0.04), ("arxiv", 0.10),
                       ("github_code", 0.20), ("common_crawl", 0.10)):
    out[name].weight = weight
  return ml_collections.ConfigDict(out)


def gsm8k_sft_example(data_dir: str = "../shared/data") -> ml_collections.ConfigDict:
  """`config.data` for SFT on GSM8K train (question → answer), held out on GSM8K test."""
  cfg = default_data_config()
  cfg.mode = "sft"
  cfg.sources = ml_collections.ConfigDict(dict(gsm8k=sources_lib.source_config(
      "jsonl", path=f"{data_dir}/gsm8k/train.jsonl", eval_path=f"{data_dir}/gsm8k/test.jsonl",
      prompt_field="question", response_field="answer")))
  return cfg


# ----------------------------------------------------------------------------------------------
# Record → example
# ----------------------------------------------------------------------------------------------


class _EncodeRecord:
  """Record → unpacked LM example (packing.lm_example), or None for a record to skip.

  A module-level class (not a closure) so grain can pickle it into worker processes.
  """

  def __init__(self, tokenizer, source_cfg, *, mode: str, add_bos: bool, add_eos: bool,
               seq_len: int, name: str):
    self.tokenizer, self.source_cfg, self.mode = tokenizer, source_cfg, mode
    self.add_bos, self.add_eos, self.seq_len, self.name = add_bos, add_eos, seq_len, name
    self.skipped = 0

  def _skip(self, why: str) -> None:
    # Counted per process; the first ones and then every 1000th are logged.
    self.skipped += 1
    if self.skipped <= 10 or self.skipped % 1000 == 0:
      logging.warning("data source %r: skipping a record (%d skipped so far): %s", self.name,
                      self.skipped, why)

  def __call__(self, record: Any) -> dict[str, np.ndarray] | None:
    try:
      doc = sources_lib.document_from_record(record, self.source_cfg, self.mode)
      if self.mode == "pretrain":
        ids = self.tokenizer.encode(doc["text"], add_bos=self.add_bos, add_eos=self.add_eos)
        if len(ids) < 2:
          self._skip("document shorter than 2 tokens (nothing to predict)")
          return None
        return packing.lm_example(ids, self.tokenizer.pad_id)
      if "messages" in doc:
        ids, is_response = tokenizer_lib.encode_messages(self.tokenizer, doc["messages"])
      else:
        prompt_ids, response_ids = tokenizer_lib.encode_chat(self.tokenizer, doc["prompt"],
                                                             doc["response"])
        ids = prompt_ids + response_ids
        is_response = [0] * len(prompt_ids) + [1] * len(response_ids)
    except (sources_lib.BadRecordError, ValueError) as e:
      self._skip(str(e))
      return None
    if len(ids) > self.seq_len:
      # Cutting an SFT example would train on an answer with no end; drop it instead.
      self._skip(f"SFT example of {len(ids)} tokens is longer than seq_len={self.seq_len}")
      return None
    if not any(is_response):
      self._skip("SFT example without an assistant response")
      return None
    return packing.lm_example(ids, self.tokenizer.pad_id, is_response)


def _process_shard(process_index: int | None, process_count: int | None) -> tuple[int, int]:
  if process_index is None or process_count is None:
    import jax  # pylint: disable=g-import-not-at-top  (only when the caller did not say)
    process_index = jax.process_index() if process_index is None else process_index
    process_count = jax.process_count() if process_count is None else process_count
  if not 0 <= process_index < process_count:
    raise ValueError(f"process_index={process_index} not in [0, process_count={process_count})")
  return process_index, process_count


def _check_config(data_config: ml_collections.ConfigDict) -> None:
  if data_config.mode not in MODES:
    raise ValueError(f"data.mode={data_config.mode!r}; known: {MODES}")
  if not data_config.sources:
    raise ValueError("data.sources is empty")
  for name, cfg in data_config.sources.items():
    if not cfg.weight > 0:
      raise ValueError(f"data.sources.{name}.weight must be > 0, got {cfg.weight}")
  if data_config.mixture_unit not in ("tokens", "documents"):
    raise ValueError(f"data.mixture_unit={data_config.mixture_unit!r}; known: tokens, documents")


def _has_own_eval_split(cfg: ml_collections.ConfigDict) -> bool:
  return {"synthetic": True, "memory": bool(cfg.eval_texts), "jsonl": bool(cfg.eval_path),
          "array_record": bool(cfg.eval_path), "tfds": bool(cfg.eval_split)}.get(cfg.kind, False)


def _source_dataset(data_config, name: str, split: str) -> grain.MapDataset | None:
  """The records of one source for `split`, held-out records removed from "train"."""
  cfg, holdout = data_config.sources[name], data_config.eval_holdout_records
  use_holdout = holdout > 0 and not _has_own_eval_split(cfg)
  if split == "eval" and not _has_own_eval_split(cfg) and not use_holdout:
    return None
  opened = sources_lib.open_source(cfg, "train" if use_holdout else split,
                                   mode=data_config.mode, name=name)
  ds = grain.MapDataset.source(sources_lib.SkipBadRecords(opened))
  if use_holdout:
    if len(ds) <= holdout:
      raise ValueError(f"data.sources.{name}: {len(ds)} records, all held out "
                       f"(eval_holdout_records={holdout})")
    ds = ds[:holdout] if split == "eval" else ds[holdout:]
  return ds


def _encoder(data_config, tokenizer, name: str, seq_len: int) -> _EncodeRecord:
  return _EncodeRecord(tokenizer, data_config.sources[name], mode=data_config.mode,
                       add_bos=data_config.add_bos, add_eos=data_config.add_eos,
                       seq_len=seq_len, name=name)


def _mean_tokens(ds: grain.MapDataset, encode: _EncodeRecord, sample: int, name: str) -> float:
  lengths = [len(ex["inputs"]) for ex in (encode(ds[i]) for i in range(min(sample, len(ds))))
             if ex is not None]
  if not lengths:
    raise ValueError(f"data.sources.{name}: no usable document among its first {sample}")
  return float(np.mean(lengths))


def mixture_proportions(data_config: ml_collections.ConfigDict, tokenizer,
                        seq_len: int) -> dict[str, float]:
  """Per-document selection proportions of the sources (they sum to 1).

  With `mixture_unit="tokens"` a source's weight is divided by its mean document length in
  tokens, so that its share of *tokens* matches the weight.
  """
  _check_config(data_config)
  raw = {}
  for name, cfg in data_config.sources.items():
    weight = float(cfg.weight)
    if data_config.mixture_unit == "tokens" and len(data_config.sources) > 1:
      ds = _source_dataset(data_config, name, "train")
      weight /= _mean_tokens(ds, _encoder(data_config, tokenizer, name, seq_len),
                             data_config.mixture_sample_docs, name)
    raw[name] = weight
  total = sum(raw.values())
  return {name: w / total for name, w in raw.items()}


def _ensure_flags_parsed() -> None:
  # grain worker processes read absl flags; outside `absl.app.run` (pytest, Colab) they are not
  # parsed and grain fails with UnparsedFlagAccessError. Marking them parsed keeps defaults.
  if not flags.FLAGS.is_parsed():
    flags.FLAGS.mark_as_parsed()


# ----------------------------------------------------------------------------------------------
# Public entry points
# ----------------------------------------------------------------------------------------------


def make_train_iterator(data_config: ml_collections.ConfigDict, tokenizer, *, seed: int,
                        batch_size: int, seq_len: int, process_index: int | None = None,
                        process_count: int | None = None) -> grain.DatasetIterator:
  """An endless (or `num_epochs`-long) iterator of packed batches; see the module docstring.

  Args:
    data_config: `config.data` (see `default_data_config`).
    tokenizer: a `tokenizer.Tokenizer`.
    seed: the run's seed (shuffles and packing).
    batch_size: per-process batch size B.
    seq_len: L.
    process_index, process_count: this process's place; default jax.process_index()/count().
      It reads record shards [i*k, (i+1)*k), k = data.num_shards / process_count.

  Returns:
    A grain DatasetIterator over batch-contract dicts, with get_state()/set_state().
  """
  _check_config(data_config)
  process_index, process_count = _process_shard(process_index, process_count)
  num_shards = int(data_config.get("num_shards", 0)) or process_count
  if num_shards % process_count:
    raise ValueError(f"data.num_shards={num_shards} is not a multiple of the {process_count} "
                     "processes")
  if batch_size % (num_shards // process_count):
    raise ValueError(f"data.num_shards={num_shards}: the per-process batch size {batch_size} "
                     f"is not a multiple of the {num_shards // process_count} shards each "
                     "process reads")
  proportions = mixture_proportions(data_config, tokenizer, seq_len)
  per_process = num_shards // process_count
  # Each shard is its own packed stream of batch_size/per_process rows; a process's batch is
  # its shards' rows in shard order, so the global batch (all processes' rows in process
  # order) depends on num_shards only, not on how many processes read it.
  shards = [_shard_batches(data_config, tokenizer, proportions, shard, num_shards, seed=seed,
                           batch_size=batch_size // per_process, seq_len=seq_len)
            for shard in range(process_index * per_process, (process_index + 1) * per_process)]
  ds = shards[0] if per_process == 1 else grain.experimental.ZipIterDataset(shards).map(
      _concatenate_batches)
  if data_config.worker_count > 0:
    _ensure_flags_parsed()
    ds = ds.mp_prefetch(grain.MultiprocessingOptions(
        num_workers=data_config.worker_count,
        per_worker_buffer_size=data_config.worker_buffer_size))
  return iter(ds)


def _shard_batches(data_config, tokenizer, proportions: dict[str, float], shard: int,
                   num_shards: int, *, seed: int, batch_size: int,
                   seq_len: int) -> grain.IterDataset:
  """Packed batches of record shard `shard` (every num_shards-th record of each source)."""
  datasets = []
  for i, name in enumerate(data_config.sources):
    ds = _source_dataset(data_config, name, "train")[shard::num_shards]
    if len(ds) == 0:
      raise ValueError(f"data.sources.{name}: no records for shard {shard} of {num_shards}")
    if data_config.shuffle:
      ds = ds.shuffle(seed=(seed * 1_000_003 + i) % 2**32)
    ds = ds.repeat(data_config.num_epochs or None)
    datasets.append(ds.map(_encoder(data_config, tokenizer, name, seq_len)))
  if len(datasets) == 1:
    mixed = datasets[0]
  else:
    mixed = grain.MapDataset.mix(datasets, [proportions[n] for n in data_config.sources])
  return _pack_and_batch(mixed, data_config, tokenizer, seed=seed, batch_size=batch_size,
                         seq_len=seq_len, drop_remainder=True)


def _concatenate_batches(batches: tuple[dict[str, np.ndarray], ...]) -> dict[str, np.ndarray]:
  return {k: np.concatenate([b[k] for b in batches]) for k in batches[0]}


def make_sft_iterator(data_config: ml_collections.ConfigDict, tokenizer, *, seed: int,
                      batch_size: int, seq_len: int, process_index: int | None = None,
                      process_count: int | None = None) -> grain.DatasetIterator:
  """`make_train_iterator` for prompt/response data (`data_config.mode` must be "sft")."""
  if data_config.mode != "sft":
    raise ValueError(f"make_sft_iterator needs data.mode='sft', got {data_config.mode!r}")
  return make_train_iterator(data_config, tokenizer, seed=seed, batch_size=batch_size,
                             seq_len=seq_len, process_index=process_index,
                             process_count=process_count)


def _pack_and_batch(ds: grain.MapDataset, data_config, tokenizer, *, seed: int, batch_size: int,
                    seq_len: int, drop_remainder: bool) -> grain.IterDataset:
  # Nones (skipped records) are dropped by to_iter_dataset.
  it = ds.to_iter_dataset(grain.ReadOptions(num_threads=data_config.read_threads,
                                            prefetch_buffer_size=data_config.read_buffer))
  it = grain.experimental.FlatMapIterDataset(it, packing.SplitLongExamples(seq_len))
  it = packing.pack(it, seq_len=seq_len, num_bins=data_config.packing_bins or 4 * batch_size,
                    pad_id=tokenizer.pad_id, seed=seed)
  return it.batch(batch_size, drop_remainder=drop_remainder)


def make_eval_batches(data_config: ml_collections.ConfigDict, tokenizer, *, batch_size: int,
                      seq_len: int, process_index: int | None = None,
                      process_count: int | None = None) -> list[dict[str, np.ndarray]]:
  """The held-out split as a finite, deterministic list of batch-contract batches.

  Every process packs the whole held-out set (kept small: `eval_max_batches`) into global
  batches of `batch_size * process_count` rows and keeps its own `batch_size` rows, so all
  processes get the same number of batches (no host waits on another in a collective). The last
  batch is filled with all-padding rows (segment_ids 0, loss_mask 0).
  """
  _check_config(data_config)
  process_index, process_count = _process_shard(process_index, process_count)
  parts = [ds.map(_encoder(data_config, tokenizer, name, seq_len))
           for name in data_config.sources
           if (ds := _source_dataset(data_config, name, "eval")) is not None]
  if not parts:
    raise ValueError("no held-out data: give a source eval_path / eval_split / eval_texts, use "
                     "a synthetic source, or set data.eval_holdout_records > 0")
  global_batch = batch_size * process_count
  ds = grain.MapDataset.concatenate(parts) if len(parts) > 1 else parts[0]
  batches = _pack_and_batch(ds, data_config, tokenizer, seed=0, batch_size=global_batch,
                            seq_len=seq_len, drop_remainder=False)
  limit = data_config.eval_max_batches or None
  out = []
  for batch in itertools.islice(batches, limit):
    rows = len(batch["inputs"])
    if rows < global_batch:
      filler = packing.empty_rows(global_batch - rows, seq_len, tokenizer.pad_id)
      batch = {k: np.concatenate([v, filler[k]]) for k, v in batch.items()}
    out.append({k: v[process_index * batch_size:(process_index + 1) * batch_size]
                for k, v in batch.items()})
  return out


def sample_texts(data_config: ml_collections.ConfigDict, num_docs: int) -> list[str]:
  """The first `num_docs` training documents, round-robin over sources in index order (the
  same on every process); SFT pairs are rendered in the chat format. Used to train tokenizers."""
  _check_config(data_config)
  per_source = []
  for name in data_config.sources:
    ds = _source_dataset(data_config, name, "train")
    cfg = data_config.sources[name]
    per_source.append(_texts_of(ds, cfg, data_config.mode, name))
  texts = []
  for group in itertools.zip_longest(*per_source):
    texts += [t for t in group if t is not None]
    if len(texts) >= num_docs:
      break
  return texts[:num_docs]


def _texts_of(ds: grain.MapDataset, cfg, mode: str, name: str) -> Iterator[str]:
  for i in range(len(ds)):
    try:
      doc = sources_lib.document_from_record(ds[i], cfg, mode)
    except sources_lib.BadRecordError as e:
      logging.warning("data source %r: skipping a record: %s", name, e)
      continue
    if "text" in doc:
      yield doc["text"]
    elif "messages" in doc:
      yield "\n\n".join(str(m.get("content", "")) for m in doc["messages"] if isinstance(m, dict))
    else:
      yield f"{tokenizer_lib.chat_prompt(doc['prompt'])} {doc['response']}"
