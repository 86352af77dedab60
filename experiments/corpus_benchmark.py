"""Documents per second per core for each corpus-engine stage, on the web sample.

  python experiments/corpus_benchmark.py --pool=../shared/data/web/pages,../shared/data/web/warc \
      --data_dir=../shared/data

With `--labelled`, instead: precision and recall of the corpus stage (tiny config) against the
labels of ../shared/data/web/manifest.jsonl, for each lever on the same pool and the same
seed/evaluation split of the labelled math pages (one run, so the figures compare):

  python experiments/corpus_benchmark.py --labelled --data_dir=../shared/data
  python experiments/corpus_benchmark.py --labelled --calibration_fraction=0  # the test's split

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
_LABELLED = flags.DEFINE_bool("labelled", False, "Precision/recall per lever instead of speed.")
_CALIBRATION = flags.DEFINE_float(
    "calibration_fraction", 1 / 3, "--labelled: share of the labelled pages (each label) set "
    "aside to calibrate the threshold; 0 skips the calibrated levers.")
_MAX_TOKENS = flags.DEFINE_integer("max_tokens", 2000, "--labelled: classifier words per page.")
_DISPUTED = flags.DEFINE_string(
    "disputed", "", "--labelled: comma-separated file names of evaluation pages whose math "
    "label is disputed; recall is also given without them.")


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


def labelled_levers() -> None:
  """Each lever alone and together, on one split of the labelled pages (module docstring)."""
  import importlib.util
  import os
  import tempfile

  from absl import logging
  from deepseekmath_jax.corpus import labels as labels_lib
  from deepseekmath_jax.corpus import pipeline

  logging.set_verbosity(logging.WARNING)
  # Negatives are drawn by document identity, so relative and absolute paths give the same run.
  data = os.path.abspath(_DATA.value)
  manifest = os.path.join(data, "web", "manifest.jsonl")
  seed_pages, calibration_pages, eval_pages = labels_lib.split_pages(manifest, 1 / 3,
                                                                     _CALIBRATION.value)
  tmp = tempfile.mkdtemp()
  eval_labels, calibration_labels = (os.path.join(tmp, n) for n in ("eval.jsonl", "cal.jsonl"))
  warc = readers.list_inputs(os.path.join(data, "web", "warc"))  # labelled non-math files
  labels_lib.write_subset(manifest, eval_pages + warc, eval_labels)
  labels_lib.write_subset(manifest, calibration_pages, calibration_labels)
  pool = ",".join(calibration_pages + eval_pages + warc)
  spec = importlib.util.spec_from_file_location("corpus_config", os.path.join(
      os.path.dirname(__file__), "..", "configs", "corpus.py"))
  module = importlib.util.module_from_spec(spec)
  spec.loader.exec_module(module)

  def seed(n: int, pages: list[str]) -> str:
    path = os.path.join(tmp, f"seed_{n}_{len(pages)}.jsonl")
    with open(path, "w") as f:
      for name in ("math/math_train.jsonl", "gsm8k/train.jsonl"):
        with open(os.path.join(data, name)) as rows:
          f.writelines(line for _, line in zip(range(n), rows))
    return ",".join([path] + pages)

  levers = [  # name, problems per source, seed pages, passage words, math_features, calibrated,
    # positive-unlabelled correction, TeX-markup grams pruned in decontamination
      ("words, problems seed (before)", 250, [], 0, False, False, False, False),
      ("calibrated threshold", 250, [], 0, False, True, False, False),
      ("math features", 250, [], 0, True, False, False, False),
      ("seed mix (pages + problems)", 100, seed_pages, 0, False, False, False, False),
      ("seed mix, pages as 200-word passages", 100, seed_pages, 200, False, False, False, False),
      ("math features + seed mix", 100, seed_pages, 0, True, False, False, False),
      ("math features + seed mix as passages", 100, seed_pages, 200, True, False, False, False),
      ("+ markup grams pruned (decontamination)", 100, seed_pages, 200, True, False, False,
       True),
      ("+ PU correction (defaults)", 100, seed_pages, 200, True, False, True, True),
      ("defaults + calibrated threshold", 100, seed_pages, 200, True, True, True, True),
  ]
  disputed = {p for p in eval_pages if os.path.basename(p) in set(
      filter(None, _DISPUTED.value.split(",")))}
  print(f"seed pages {len(seed_pages)}, calibration pages {len(calibration_pages)}, "
        f"evaluation pages {len(eval_pages)} (+ WARC); classifier words {_MAX_TOKENS.value}; "
        f"disputed math labels in the evaluation: {len(disputed)}")
  print("| lever | math kept | non-math kept | precision | recall | F1 | thresholds | "
        "recall without the disputed |")
  print("|---|---|---|---|---|---|---|---|")
  for i, (name, n, pages, passage_words, features, calibrated, pu, markup) in enumerate(levers):
    if calibrated and not calibration_pages:
      continue
    config = module.get_config("tiny")
    config.pool, config.seed_path, config.data_dir = pool, seed(n, pages), data
    config.labels_path, config.num_workers = eval_labels, 2
    config.classifier.math_features = features
    config.seed_passage_words = passage_words
    config.classifier.max_tokens = _MAX_TOKENS.value
    config.recall.calibration_labels = calibration_labels if calibrated else ""
    config.recall.pu_correction = pu
    config.decontam.prune_markup = markup
    report = pipeline.run(config, os.path.join(tmp, f"run{i}"))
    f = report["labels"]["final"]
    thresholds = "/".join(f"{it['threshold']:.2f}" for it in report["recall"]["iterations"])
    missed = {m["source"] for m in report["labels"]["missed_math"]}
    kept_disputed = sum(os.path.basename(p) not in missed for p in disputed)
    without = (f["math_kept"] - kept_disputed) / max(f["math"] - len(disputed), 1)
    print(f"| {name} | {f['math_kept']}/{f['math']} | {f['non_math_kept']}/{f['non_math']} | "
          f"{f['precision']:.3f} | {f['recall']:.3f} | {f['f1']:.3f} | {thresholds} | "
          f"{f['math_kept'] - kept_disputed}/{f['math'] - len(disputed)} ({without:.3f}) |")
    print("  missed:", ", ".join(f"{m['source'][:28]} {m['stage']} {m['score']}"
                                 for m in report["labels"]["missed_math"]), flush=True)


def main(argv):
  del argv
  if _LABELLED.value:
    labelled_levers()
    return
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
  # The word view alone (math_features=False), for comparison; not counted in the total.
  _timed("classifier tokens (words)", lambda t: classifier_lib.doc_hashes(t, 2000, False),
         texts, results)
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
                if "docs_per_s_per_core" in v and k != "classifier tokens (words)")
  results["all per-document stages"] = dict(docs_per_s_per_core=round(1.0 / per_doc, 1))
  print(json.dumps(results, indent=1))


if __name__ == "__main__":
  app.run(main)
