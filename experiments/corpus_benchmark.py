"""Documents per second per core for each corpus-engine stage, on the web sample.

  python experiments/corpus_benchmark.py --pool=../shared/data/web/pages,../shared/data/web/warc \
      --data_dir=../shared/data

Every stage runs in this one process (one core), over the same documents, so the rates add up
to the cost of one document per core; the local runner divides the extraction-side stages
(read .. classifier tokens) over its worker processes.
"""

from __future__ import annotations

import json
import time

from absl import app
from absl import flags

from deepseekmath_jax.corpus import classifier as classifier_lib
from deepseekmath_jax.corpus import decontam
from deepseekmath_jax.corpus import dedup
from deepseekmath_jax.corpus import html_to_text
from deepseekmath_jax.corpus import readers
from deepseekmath_jax.corpus import tokens

_POOL = flags.DEFINE_string("pool", "../shared/data/web/pages,../shared/data/web/warc",
                            "Pool files/folders.")
_DATA = flags.DEFINE_string("data_dir", "../shared/data", "Benchmarks for decontamination.")
_SEED = flags.DEFINE_integer("seed_docs", 2000, "MATH train documents to train the classifier.")


def _timed(name: str, fn, items: list, results: dict, unit_bytes: int | None = None):
  start = time.perf_counter()
  out = [fn(x) for x in items]
  seconds = time.perf_counter() - start
  results[name] = dict(documents=len(items), seconds=round(seconds, 3),
                       docs_per_s_per_core=round(len(items) / max(seconds, 1e-9), 1))
  if unit_bytes:
    results[name]["mb_per_s_per_core"] = round(unit_bytes / 1e6 / max(seconds, 1e-9), 2)
  print(f"{name:28s} {results[name]}")
  return out


def main(argv):
  del argv
  results: dict = {}
  inputs = readers.list_inputs(_POOL.value)
  start = time.perf_counter()
  raws = [r for p in inputs for r in readers.read_path(p) if r.error is None]
  seconds = time.perf_counter() - start
  total_bytes = sum(len((r.html or r.text or "").encode()) for r in raws)
  results["read+decode"] = dict(documents=len(raws), seconds=round(seconds, 3),
                                docs_per_s_per_core=round(len(raws) / seconds, 1))
  print(f"{'read+decode':28s} {results['read+decode']}")
  texts = _timed("html_to_text (trafilatura)", lambda r: html_to_text.html_to_text(
      r.html, url=r.url).text if r.html is not None else r.text, raws, results, total_bytes)
  _timed("token count (regex)", tokens.TokenCounter(), texts, results)
  _timed("exact hash", dedup.text_hash, texts, results)
  sigs = _timed("minhash (128 perm)", lambda t: dedup.minhash_signature(t, 128, 5), texts,
                results)
  hashes = _timed("classifier tokens+hash", lambda t: classifier_lib.doc_hashes(t, 2000), texts,
                  results)
  start = time.perf_counter()
  dedup.find_near_duplicates({str(i): s for i, s in enumerate(sigs)}, 0.8, 128)
  results["lsh grouping"] = dict(documents=len(sigs), seconds=round(time.perf_counter() - start,
                                                                     3))
  rows = [json.loads(l) for l in open(f"{_DATA.value}/math/math_train.jsonl")][:_SEED.value]
  seed = [classifier_lib.doc_hashes(r["problem"] + "\n" + r["solution"], 2000) for r in rows]
  config = classifier_lib.ClassifierConfig()  # the paper's settings: dim 256, lr 0.1, 3 epochs
  start = time.perf_counter()
  model = classifier_lib.MathClassifier.train(seed + hashes, [1] * len(seed) + [0] * len(hashes),
                                              config)
  seconds = time.perf_counter() - start
  n = config.epochs * (len(seed) + len(hashes))
  results["classifier train (dim 256)"] = dict(examples_x_epochs=n, seconds=round(seconds, 2),
                                               examples_per_s=round(n / seconds, 1))
  print(f"{'classifier train (dim 256)':28s} {results['classifier train (dim 256)']}")
  _timed("classifier score", lambda h: model.predict_hashes([h]), hashes, results)
  spec = ("gsm8k_test={d}/gsm8k/test.jsonl:question,answer;math_test={d}/math/math_test.jsonl:"
          "problem,solution;math500={d}/math/math500/test.jsonl:problem,solution")
  start = time.perf_counter()
  index = decontam.Decontaminator(decontam.parse_benchmarks(spec.replace("{d}", _DATA.value),
                                                            _DATA.value))
  results["decontam index build"] = dict(seconds=round(time.perf_counter() - start, 2),
                                         pruned_generic_grams=index.pruned)
  _timed("decontam check", index.check, texts, results)
  per_doc = sum(1.0 / v["docs_per_s_per_core"] for k, v in results.items()
                if "docs_per_s_per_core" in v)
  results["all per-document stages"] = dict(docs_per_s_per_core=round(1.0 / per_doc, 1))
  print(json.dumps(results, indent=1))


if __name__ == "__main__":
  app.run(main)
