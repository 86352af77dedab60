r"""Verifier throughput and latency, side by side with math-verify 0.9.0 on the same inputs.

    pip install -e '.[bench]'
    python experiments/verifier_benchmark.py --data_dir=../shared/data --output=/tmp/vb.json

Inputs: for every MATH500 problem, its answer boxed at the end of a short response, the same
answer spelled differently (`\dfrac`, `a/b`, no spaces), a one-digit perturbation of it (a wrong
answer), and the answer in Minerva's sentence; for GSM8K test
problems, a `####` line, a boxed wrong answer (n + 1) and "The answer is n." Each system grades
every item once:
- ours, sequential: `grade()` item by item (per-item latency: median, p99, max);
- ours, batch: one `grade_batch()` call (the GRPO reward path), after the worker pool is warm;
- math-verify: `verify(parse(gold), parse(response))` item by item in the main thread with its
  own signal-based timeouts (how TRL/lm-eval call it).
Throughput ratios are measured in one run on the same machine. Agreement between ours (relaxed)
and math-verify is counted and the disagreements are written to the JSON for inspection.

Answer kinds: the hand-labelled rows of `tests/verifier_kinds_test.py` (relations, matrices,
several answers, set words, times, multiple choice, number forms, task forms, functions; each
labelled from the mathematics) are graded by both systems, and each system's agreement with the
relaxed labels and its false accepts are reported per kind.
"""

from __future__ import annotations

import importlib.util
import json
import pathlib
import re
import statistics
import sys
import time

from absl import app
from absl import flags

from deepseekmath_jax.verifier import equivalence
from deepseekmath_jax.verifier import grade
from deepseekmath_jax.verifier import grading
from deepseekmath_jax.verifier import grade_batch
from deepseekmath_jax.verifier import pool

_DATA_DIR = flags.DEFINE_string("data_dir", "../shared/data", "Folder with gsm8k/ and math/.")
_OUTPUT = flags.DEFINE_string("output", "verifier_benchmark.json", "Where to write the JSON.")
_GSM8K_LIMIT = flags.DEFINE_integer("gsm8k_limit", 500, "GSM8K test problems to use.")
_DEADLINE_S = flags.DEFINE_float("deadline_s", 2.0, "Per-item deadline for our verifier.")
_WORKERS = flags.DEFINE_integer("workers", None, "Worker processes (default: min(4, cores)).")
_KINDS_TABLE = pathlib.Path(__file__).resolve().parents[1] / "tests" / "verifier_kinds_test.py"


def _perturb(answer: str) -> str:
  digits = [m.start() for m in re.finditer(r"\d", answer)]
  if not digits:
    return answer + "+1"
  pos = digits[-1]
  digit = int(answer[pos])
  return answer[:pos] + str(8 if digit == 9 else digit + 1) + answer[pos + 1:]


def _rewrite(answer: str) -> str:
  """The same answer spelled differently: \\dfrac, a/b for simple fractions, no spaces."""
  answer = re.sub(r"(?<![\d\s])\\frac\{(\d+)\}\{(\d+)\}", r"\1/\2", answer)
  return answer.replace("\\frac", "\\dfrac").replace(" ", "").replace("\\left", "").replace(
      "\\right", "")


def build_items(data_dir: pathlib.Path, gsm8k_limit: int) -> list[dict]:
  """(source, response, reference, gold answer, question) items from MATH500 and GSM8K."""
  items = []
  with open(data_dir / "math" / "math500" / "test.jsonl", encoding="utf-8") as handle:
    for line in handle:
      row = json.loads(line)
      answer = row["answer"]
      for kind, response in (
          ("math500/boxed", f"We compute step by step.\nThus the answer is $\\boxed{{{answer}}}$."),
          ("math500/rewritten", f"So we get $\\boxed{{{_rewrite(answer)}}}$."),
          ("math500/perturbed", f"After simplifying, we get $\\boxed{{{_perturb(answer)}}}$."),
          ("math500/minerva",
           f"Final Answer: The final answer is ${answer}$. I hope it is correct.")):
        items.append({"source": kind, "response": response, "reference": row["solution"],
                      "gold": answer, "question": row["problem"]})
  with open(data_dir / "gsm8k" / "test.jsonl", encoding="utf-8") as handle:
    for index, line in enumerate(handle):
      if index >= gsm8k_limit:
        break
      row = json.loads(line)
      answer = row["answer"].split("####")[-1].strip().replace(",", "")
      wrong = str(int(answer) + 1)
      for kind, response in (
          ("gsm8k/hashes", f"She has {answer} in total.\n#### {answer}"),
          ("gsm8k/boxed-wrong", f"So the total is $\\boxed{{{wrong}}}$."),
          ("gsm8k/answer-is", f"Adding these up, the answer is {answer}.")):
        items.append({"source": kind, "response": response, "reference": row["answer"],
                      "gold": answer, "question": row["question"]})
  return items


def _latency_summary(latencies: list[float]) -> dict[str, float]:
  ordered = sorted(latencies)
  return {"median_ms": 1000 * statistics.median(ordered),
          "p99_ms": 1000 * ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))],
          "max_ms": 1000 * ordered[-1]}


def run_ours_sequential(items: list[dict], deadline_s: float) -> tuple[list, list[float]]:
  grades, latencies = [], []
  for item in items:
    start = time.perf_counter()
    grades.append(grade(item["response"], item["reference"], question=item["question"],
                        deadline_s=deadline_s))
    latencies.append(time.perf_counter() - start)
  return grades, latencies


def run_math_verify(items: list[dict]) -> tuple[list[bool | None], list[float]]:
  from math_verify import parse, verify  # pylint: disable=g-import-not-at-top
  verdicts, latencies = [], []
  for item in items:
    start = time.perf_counter()
    try:
      gold = parse(f"$\\boxed{{{item['gold']}}}$")
      verdict = bool(verify(gold, parse(item["response"])))
    except BaseException:  # pylint: disable=broad-except  # Its TimeoutException is a BaseException.
      verdict = None
    latencies.append(time.perf_counter() - start)
    verdicts.append(verdict)
  return verdicts, latencies


def load_kind_rows() -> dict[str, list[tuple]]:
  """The hand-labelled answer-kind rows: {kind: [(response, reference, question, relaxed,
  strict)]}."""
  tests_dir = str(_KINDS_TABLE.parent)   # it imports its sibling module verifier_rows
  sys.path.insert(0, tests_dir)
  try:
    spec = importlib.util.spec_from_file_location("verifier_kinds_rows", _KINDS_TABLE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
  finally:
    sys.path.remove(tests_dir)
  return module.TABLES


def run_kinds(deadline_s: float) -> dict[str, dict[str, float]]:
  """Agreement of ours (relaxed) and math-verify with the relaxed labels, per answer kind."""
  from math_verify import parse, verify  # pylint: disable=g-import-not-at-top
  summary = {}
  for kind, rows in sorted(load_kind_rows().items()):
    ours = grade_batch([r[0] for r in rows], [r[1] for r in rows],
                       questions=[r[2] for r in rows], deadline_s=deadline_s)
    theirs = []
    for response, reference, _, _, _ in rows:
      try:
        theirs.append(bool(verify(parse(f"$\\boxed{{{reference}}}$"), parse(response))))
      except BaseException:  # pylint: disable=broad-except
        theirs.append(False)
    labels = [row[3] == "correct" for row in rows]
    summary[kind] = {
        "rows": len(rows),
        "ours_agree": sum(g.correct == label for g, label in zip(ours, labels)),
        "ours_false_accepts": sum(g.correct and not label for g, label in zip(ours, labels)),
        "math_verify_agree": sum(v == label for v, label in zip(theirs, labels)),
        "math_verify_false_accepts": sum(v and not label for v, label in zip(theirs, labels))}
  return summary


def _clear_caches() -> None:
  """Each of our runs starts cold (GRPO runs would hit these caches more often)."""
  grading._parse.cache_clear()  # pylint: disable=protected-access
  equivalence._question_context.cache_clear()  # pylint: disable=protected-access


def main(argv):
  del argv
  items = build_items(pathlib.Path(_DATA_DIR.value), _GSM8K_LIMIT.value)
  print(f"{len(items)} items; starting the worker pool...", flush=True)
  pool.start(_WORKERS.value)
  deadline_s = _DEADLINE_S.value

  _clear_caches()
  start = time.perf_counter()
  batch = grade_batch([i["response"] for i in items], [i["reference"] for i in items],
                      questions=[i["question"] for i in items], deadline_s=deadline_s)
  batch_s = time.perf_counter() - start
  print(f"ours (batch): {batch_s:.2f}s", flush=True)

  _clear_caches()
  start = time.perf_counter()
  sequential, our_latencies = run_ours_sequential(items, deadline_s)
  sequential_s = time.perf_counter() - start
  print(f"ours (sequential): {sequential_s:.2f}s", flush=True)

  start = time.perf_counter()
  theirs, their_latencies = run_math_verify(items)
  theirs_s = time.perf_counter() - start
  print(f"math-verify: {theirs_s:.2f}s", flush=True)

  assert [g.correct for g in batch] == [g.correct for g in sequential], "batch != sequential"
  disagreements = []
  for item, ours, verdict in zip(items, sequential, theirs):
    if verdict is None or ours.correct != verdict:
      disagreements.append({"source": item["source"], "response": item["response"][-160:],
                            "gold": item["gold"], "ours": ours.correct, "ours_reason": ours.reason,
                            "math_verify": verdict})
  over_deadline = [lat for lat in our_latencies if lat > deadline_s + 0.5]
  sources = sorted({i["source"] for i in items})
  per_source = {
      source: {"items": sum(i["source"] == source for i in items),
               "ours_accepts": sum(g.correct for i, g in zip(items, sequential)
                                   if i["source"] == source),
               "math_verify_accepts": sum(bool(v) for i, v in zip(items, theirs)
                                          if i["source"] == source)}
      for source in sources}
  result = {
      "items": len(items),
      "workers": pool.stats()["workers"],
      "deadline_s": deadline_s,
      "ours_batch": {"seconds": batch_s, "items_per_s": len(items) / batch_s},
      "ours_sequential": {"seconds": sequential_s, "items_per_s": len(items) / sequential_s,
                          **_latency_summary(our_latencies)},
      "math_verify": {"seconds": theirs_s, "items_per_s": len(items) / theirs_s,
                      **_latency_summary(their_latencies),
                      "errors_or_timeouts": sum(v is None for v in theirs)},
      "speedup_batch_vs_math_verify": theirs_s / batch_s,
      "speedup_sequential_vs_math_verify": theirs_s / sequential_s,
      "items_over_deadline_plus_0.5s": len(over_deadline),
      "agreement_with_math_verify": 1 - len(disagreements) / len(items),
      "per_source": per_source,
      "answer_kinds": run_kinds(deadline_s),
      "disagreements": disagreements,
      "pool": pool.stats(),
  }
  pathlib.Path(_OUTPUT.value).write_text(json.dumps(result, indent=2), encoding="utf-8")

  rows = [("ours, grade_batch", result["ours_batch"]),
          ("ours, grade() one by one", result["ours_sequential"]),
          ("math-verify 0.9.0, one by one", result["math_verify"])]
  print(f"\n{'system':32} {'items/s':>9} {'median ms':>10} {'p99 ms':>9} {'max ms':>9}")
  for name, row in rows:
    print(f"{name:32} {row['items_per_s']:9.1f} {row.get('median_ms', float('nan')):10.2f} "
          f"{row.get('p99_ms', float('nan')):9.2f} {row.get('max_ms', float('nan')):9.2f}")
  print(f"\nspeed-up vs math-verify: batch {result['speedup_batch_vs_math_verify']:.1f}x, "
        f"sequential {result['speedup_sequential_vs_math_verify']:.1f}x")
  print(f"items over deadline + 0.5 s: {len(over_deadline)}; "
        f"agreement with math-verify: {100 * result['agreement_with_math_verify']:.2f}% "
        f"({len(disagreements)} disagreements)")
  print("per source (items, ours accepts, math-verify accepts):")
  for source, row in per_source.items():
    print(f"  {source:20} {row['items']:5} {row['ours_accepts']:5} {row['math_verify_accepts']:5}")
  print("answer kinds, agreement with the hand labels (relaxed) and false accepts:")
  print(f"  {'kind':16} {'rows':>5} {'ours':>5} {'ours FA':>8} {'math-verify':>12} {'mv FA':>6}")
  total = {"rows": 0, "ours_agree": 0, "ours_false_accepts": 0, "math_verify_agree": 0,
           "math_verify_false_accepts": 0}
  for kind, row in result["answer_kinds"].items():
    print(f"  {kind:16} {row['rows']:5} {row['ours_agree']:5} {row['ours_false_accepts']:8} "
          f"{row['math_verify_agree']:12} {row['math_verify_false_accepts']:6}")
    for key in total:
      total[key] += row[key]
  print(f"  {'all':16} {total['rows']:5} {total['ours_agree']:5} {total['ours_false_accepts']:8} "
        f"{total['math_verify_agree']:12} {total['math_verify_false_accepts']:6}")
  print(f"wrote {_OUTPUT.value}")


if __name__ == "__main__":
  app.run(main)
