"""Grading responses to benchmark problems with the verifier, in both modes, into ProblemResults.

All the equivalence work is `deepseekmath_jax.verifier`'s (`grade_batch` runs it in worker
processes under a deadline); this module only batches the calls, shows progress, and computes
each extracted answer's voting key (`verifier.answer_key`) once per distinct answer.
"""

from __future__ import annotations

import time
from typing import Mapping, Sequence

from absl import logging

from deepseekmath_jax import verifier
from deepseekmath_jax.evaluation import benchmarks
from deepseekmath_jax.evaluation import metrics

# Responses graded per grade_batch call: big enough to keep the pool busy, small enough to log
# progress every few seconds on a large run.
_CHUNK = 4096


def _grade_all(responses: list[str], references: list[str], questions: list[str], *,
               strict: bool, deadline_s: float) -> list:
  grades = []
  start = time.monotonic()
  for lo in range(0, len(responses), _CHUNK):
    hi = min(lo + _CHUNK, len(responses))
    grades.extend(verifier.grade_batch(responses[lo:hi], references[lo:hi], strict=strict,
                                       deadline_s=deadline_s, questions=questions[lo:hi]))
    elapsed = time.monotonic() - start
    rate = hi / elapsed if elapsed > 0 else float("inf")
    eta = (len(responses) - hi) / rate if rate > 0 else 0.0
    logging.info("graded %d/%d (%s) %.1f responses/s, ETA %.0f s", hi, len(responses),
                 "strict" if strict else "relaxed", rate, eta)
  return grades


def score(problems: Sequence[benchmarks.Problem],
          samples_by_id: Mapping[str, Sequence[str]],
          top1_by_id: Mapping[str, str] | None = None, *,
          deadline_s: float = 2.0) -> list[metrics.ProblemResult]:
  """Grades every response in relaxed and strict mode.

  Args:
    problems: the benchmark problems; one ProblemResult each, in this order.
    samples_by_id: problem id -> responses used for maj@k/pass@k.
    top1_by_id: problem id -> the top-1 (greedy) response. When None, the top-1 response is
      each problem's first sample (the predictions-file convention).
    deadline_s: per-response verifier deadline.

  Returns:
    ProblemResults; a problem with no responses at all has `top1=None` and no samples.
  """
  texts, refs, questions, owners = [], [], [], []  # owners: (problem index, slot); slot -1 = top1
  for i, p in enumerate(problems):
    if top1_by_id is not None and p.id in top1_by_id:
      texts.append(top1_by_id[p.id]), refs.append(p.reference)
      questions.append(p.question), owners.append((i, -1))
    for j, response in enumerate(samples_by_id.get(p.id, ())):
      texts.append(response), refs.append(p.reference)
      questions.append(p.question), owners.append((i, j))

  relaxed = _grade_all(texts, refs, questions, strict=False, deadline_s=deadline_s)
  strict = _grade_all(texts, refs, questions, strict=True, deadline_s=deadline_s)

  keys: dict[tuple[str, str], str] = {}
  top1: dict[int, metrics.SampleGrade] = {}
  samples: dict[int, list[metrics.SampleGrade]] = {}
  for (i, slot), g, gs in zip(owners, relaxed, strict):
    key = None
    if g.pred and g.reason != "no_answer":
      cache_key = (g.pred, problems[i].question)
      if cache_key not in keys:
        keys[cache_key] = verifier.answer_key(g.pred, problems[i].question)
      key = keys[cache_key]
    grade = metrics.SampleGrade(correct=bool(g.correct), correct_strict=bool(gs.correct),
                                reason=g.reason, reason_strict=gs.reason, pred=g.pred, key=key)
    if slot == -1:
      top1[i] = grade
    else:
      samples.setdefault(i, []).append(grade)

  results = []
  for i, p in enumerate(problems):
    sample_grades = tuple(samples.get(i, ()))
    first = top1.get(i) if top1_by_id is not None else (sample_grades[0] if sample_grades
                                                        else None)
    results.append(metrics.ProblemResult(
        problem_id=p.id, subject=p.subject, level=p.level, question_chars=len(p.question),
        reference=verifier.extract_reference(p.reference), top1=first, samples=sample_grades))
  return results
