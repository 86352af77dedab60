r"""Scores any system's outputs on GSM8K, MATH or MATH500 and writes a report.

  python -m deepseekmath_jax.evaluate --benchmark=math500 --data_dir=../shared/data \
      --predictions=preds.jsonl --output_dir=report_math500 [--strict]

The predictions file has one JSON object per line, `{"id": ..., "responses": [str, ...]}` or
`{"id": ..., "response": str}` (`deepseekmath_jax/evaluation/predictions.py`). The output folder
gets report.json, report.md, problems.jsonl and PNG plots (`evaluation/report.py`). Both grading
modes always run; `--strict` makes strict the headline. The exit status is 0 when the report was
written, even if lines were bad: they are counted and listed in the report.
"""

from __future__ import annotations

import os

from absl import app
from absl import flags
from absl import logging

from deepseekmath_jax.evaluation import benchmarks
from deepseekmath_jax.evaluation import run as run_lib

_BENCHMARK = flags.DEFINE_enum("benchmark", None, list(benchmarks.BENCHMARKS), "Benchmark.")
_DATA_DIR = flags.DEFINE_string(
    "data_dir", None, "Folder with the benchmark files: the data root (holding gsm8k/ and math/) "
    "or the benchmark's own folder.")
_PREDICTIONS = flags.DEFINE_string("predictions", None, "Predictions jsonl file.")
_OUTPUT_DIR = flags.DEFINE_string(
    "output_dir", None, "Report folder; default: <predictions file minus .jsonl>_report.")
_SPLIT = flags.DEFINE_string("split", "test", "Benchmark split.")
_STRICT = flags.DEFINE_bool("strict", False, "Headline numbers in strict grading mode.")
_DEADLINE_S = flags.DEFINE_float("deadline_s", 2.0, "Verifier deadline per response, seconds.")
_ONLY_PREDICTED = flags.DEFINE_bool(
    "only_predicted", False, "Score only the problems the file answers (default: the whole "
    "benchmark, with unanswered problems counted wrong).")
_THRESHOLD = flags.DEFINE_float(
    "disagreement_threshold", 0.5, "Flag a problem when the majority answer's share of its "
    "samples is below this.")
flags.mark_flags_as_required(["benchmark", "data_dir", "predictions"])


def main(argv: list[str]) -> None:
  if len(argv) > 1:
    raise app.UsageError(f"unexpected arguments: {argv[1:]}")
  if not os.path.isfile(_PREDICTIONS.value):
    raise app.UsageError(f"--predictions: no such file: {_PREDICTIONS.value}")
  output_dir = _OUTPUT_DIR.value or (
      _PREDICTIONS.value.removesuffix(".jsonl") + "_report")
  problems = benchmarks.load_benchmark(_BENCHMARK.value, _DATA_DIR.value, _SPLIT.value)
  report = run_lib.evaluate_predictions(
      _BENCHMARK.value, problems, _PREDICTIONS.value, split=_SPLIT.value, strict=_STRICT.value,
      deadline_s=_DEADLINE_S.value, only_predicted=_ONLY_PREDICTED.value,
      disagreement_threshold=_THRESHOLD.value, output_dir=output_dir)
  s, inp = report["summary"], report["input"]
  o = s["overall"]
  print(f"{_BENCHMARK.value}: top-1 {100 * (o['top1'] or 0):.2f}% relaxed, "
        f"{100 * (o['top1_strict'] or 0):.2f}% strict over {s['num_problems']} problems "
        f"({s['num_missing']} missing)")
  for k in s["ks"][1:]:
    print(f"  maj@{k} {100 * o[f'maj@{k}']:.2f}%  pass@{k} {100 * o[f'pass@{k}']:.2f}% "
          f"({s['mode']})")
  print(f"input: {inp['num_lines']} lines, {inp['num_matched']} matched, "
        f"{inp['num_malformed']} malformed, {inp['num_unknown_ids']} unknown ids, "
        f"{inp['num_duplicates']} duplicates")
  print(f"report: {os.path.join(output_dir, 'report.md')}")
  logging.info("done")


if __name__ == "__main__":
  app.run(main)
