"""Evaluation metrics: top-1 accuracy, maj@k, pass@k, breakdowns and per-problem confidence.

Pure functions over graded samples (no verifier call here; `scoring.py` produces the grades).

Definitions (the paper reports greedy Top-1 and, for self-consistency, maj@64 at T=0.7;
arXiv:2402.03300 Table 5, Fig. 7 and the abstract's "60.9% on MATH"):

* **top-1**: the problem's `top1` response is correct (greedy decoding in the model path; the
  first response of a predictions file). A problem with no response counts as wrong.
* **pass@k**: the unbiased estimator of Chen et al. 2021 (arXiv:2107.03374, Eq. 1) from n samples
  with c correct, `1 - C(n-c, k) / C(n, k)`, computed as the stable product
  `1 - prod_{i=n-c+1}^{n} (1 - k/i)`. pass@1 is the mean per-sample accuracy.
* **maj@k**: majority vote over the first k samples. Samples vote with the verifier's
  `answer_key` of their extracted answer, so `1/2`, `0.5` and `\\frac{1}{2}` are one vote. A sample
  with no extracted answer does not vote. Ties go to the answer that appeared first among the k
  samples (deterministic, independent of hashing). The vote is correct when the first sample
  carrying the winning answer is correct; with no voting sample at all it is wrong.
  Using the *first* k samples (not a resampled average) keeps maj@k exactly reproducible.
* **agreement** (confidence signal): share of all n samples that carry the majority answer (0 when
  none has an answer). A problem is flagged `disagreement` when its samples carry at least two
  different answers and agreement is below a threshold (0.5 by default): no answer has an
  absolute majority. Samples without an answer lower agreement but are not a disagreement.
* **monitoring** (when problems have several samples): top-2 disagreement, majority answers
  that pass relaxed but fail strict, escalation rate by reason and calibration of agreement
  (`monitoring_summary`, with the escalation rule of `solve`, evaluation/monitoring.py).
"""

from __future__ import annotations

import collections
import dataclasses
import math
from typing import Iterable, Sequence

import numpy as np

from deepseekmath_jax.evaluation import monitoring


@dataclasses.dataclass(frozen=True)
class SampleGrade:
  """One response, graded in both modes.

  Attributes:
    correct: relaxed-mode verdict.
    correct_strict: strict-mode verdict.
    reason: relaxed-mode reason (verifier taxonomy).
    reason_strict: strict-mode reason.
    pred: the extracted answer ("" when none).
    key: the verifier's `answer_key` of `pred`, for voting; None when there is no answer.
  """
  correct: bool
  correct_strict: bool
  reason: str
  reason_strict: str
  pred: str
  key: str | None


@dataclasses.dataclass(frozen=True)
class ProblemResult:
  """All graded responses to one problem.

  Attributes:
    problem_id: the benchmark id.
    subject: MATH subject or benchmark name.
    level: MATH level, or None.
    question_chars: length of the question, for the long/short audit.
    reference: the extracted reference answer (the verifier's `Grade.ref`), for reports.
    top1: the top-1 response's grade (None when the problem got no response).
    samples: grades of the sampled responses used for maj@k/pass@k (may include top1's).
  """
  problem_id: str
  subject: str
  level: int | None
  question_chars: int
  reference: str
  top1: SampleGrade | None
  samples: tuple[SampleGrade, ...]

  @property
  def missing(self) -> bool:
    return self.top1 is None and not self.samples


def pass_at_k(n: int, c: int, k: int) -> float:
  """Unbiased pass@k from n samples of which c are correct (Chen et al. 2021, Eq. 1)."""
  if not 0 <= c <= n:
    raise ValueError(f"need 0 <= c <= n, got n={n}, c={c}")
  if not 1 <= k <= n:
    raise ValueError(f"need 1 <= k <= n, got n={n}, k={k}")
  if n - c < k:
    return 1.0
  # 1 - C(n-c,k)/C(n,k) without huge binomials: prod over the c "correct" slots.
  return float(1.0 - np.prod(1.0 - k / np.arange(n - c + 1, n + 1)))


def majority_vote(keys: Sequence[str | None]) -> tuple[int | None, int]:
  """Index of the first sample carrying the majority answer, and that answer's count.

  Samples with key None (no answer) do not vote. Ties go to the answer seen first
  (`monitoring.rank_answers`, the ranking `solve` uses too).
  Returns (None, 0) when no sample has an answer.
  """
  vote = monitoring.rank_answers(keys)
  return vote.majority_index, vote.majority_count


def maj_at_k(samples: Sequence[SampleGrade], k: int, *, strict: bool = False) -> bool:
  """Whether the majority answer among the first k samples is correct."""
  if not 1 <= k <= len(samples):
    raise ValueError(f"need 1 <= k <= {len(samples)} samples, got k={k}")
  index, _ = majority_vote([s.key for s in samples[:k]])
  if index is None:
    return False
  return samples[index].correct_strict if strict else samples[index].correct


@dataclasses.dataclass(frozen=True)
class Confidence:
  """Per-problem confidence signals."""
  agreement: float          # share of samples carrying the majority answer
  num_distinct_answers: int
  majority_answer: str      # extracted answer of the majority ("" if none)
  majority_reason: str      # verifier reason of the majority answer ("no_answer" if none)
  top1_reason: str          # verifier reason of the top-1 response ("missing" if none)
  disagreement: bool        # >= 2 distinct answers and agreement < threshold
  strict_relaxed_differ: bool  # top-1 verdict changes between relaxed and strict


def confidence(result: ProblemResult, threshold: float = 0.5) -> Confidence:
  """Confidence signals of one problem (see module docstring)."""
  samples = result.samples or ((result.top1,) if result.top1 else ())
  index, count = majority_vote([s.key for s in samples])
  n = len(samples)
  top1 = result.top1
  distinct = len({s.key for s in samples if s.key is not None})
  return Confidence(
      agreement=count / n if n else 0.0,
      num_distinct_answers=distinct,
      majority_answer=samples[index].pred if index is not None else "",
      majority_reason=samples[index].reason if index is not None else "no_answer",
      top1_reason=top1.reason if top1 else "missing",
      disagreement=distinct >= 2 and count / n < threshold,
      strict_relaxed_differ=bool(top1 and top1.correct != top1.correct_strict),
  )


def default_ks(n: int) -> list[int]:
  """1, 2, 4, ... up to n, plus n itself (the k values reported for n samples)."""
  if n < 1:
    return []
  ks = [2 ** i for i in range(int(math.log2(n)) + 1)]
  return ks if ks[-1] == n else ks + [n]


def _mean(values: Iterable[float]) -> float | None:
  values = list(values)
  return float(np.mean(values)) if values else None


def _group_summary(results: Sequence[ProblemResult], ks: Sequence[int], strict: bool) -> dict:
  """Accuracy figures for a group of problems (missing problems count as wrong).

  top-1 comes in both modes; maj@k and pass@k in the headline mode (`strict`).
  """
  out = {
      "n": len(results),
      "top1": _mean(bool(r.top1 and r.top1.correct) for r in results),
      "top1_strict": _mean(bool(r.top1 and r.top1.correct_strict) for r in results),
  }
  for k in ks:
    out[f"maj@{k}"] = _mean(len(r.samples) >= k and maj_at_k(r.samples, k, strict=strict)
                            for r in results)
    out[f"pass@{k}"] = _mean(
        pass_at_k(len(r.samples),
                  sum(s.correct_strict if strict else s.correct for s in r.samples), k)
        if len(r.samples) >= k else 0.0 for r in results)
  return out


def problem_escalation(result: ProblemResult, rules: monitoring.EscalationRules | None = None
                       ) -> tuple[monitoring.Vote, SampleGrade | None, list[str]]:
  """One problem's vote, majority sample (None without an answer) and escalation reasons:
  solve's rule (`monitoring.escalation_reasons`) with the reference as the verifier's check."""
  vote = monitoring.rank_answers([s.key for s in result.samples])
  index = vote.majority_index
  majority = result.samples[index] if index is not None else None
  reasons = monitoring.escalation_reasons(vote, rules or monitoring.EscalationRules(),
                                          majority_correct=majority.correct if majority else None)
  return vote, majority, reasons


def monitoring_summary(results: Sequence[ProblemResult], *, strict: bool = False,
                       rules: monitoring.EscalationRules | None = None,
                       num_bins: int = 10) -> dict | None:
  """Monitoring figures over the problems with at least two samples (None when there are none).

  Per problem the samples vote (`monitoring.rank_answers`); the figures are
  * `top2_disagreement_rate`: share of problems whose runner-up answer is material
    (`monitoring.candidates_differ`, solve's `candidates_differ`);
  * `any_disagreement_rate`: share with at least two distinct answers;
  * `majority_relaxed_not_strict_rate`: share whose majority answer passes the relaxed verifier
    and fails the strict one (a form or unit the reference does not use);
  * `escalation_rate` and `escalation_rate_by_reason`: solve's escalation rule
    (`monitoring.escalation_reasons`) with the reference as the verifier's check; the reasons
    that need the question's safety patterns or tool runs are listed in `reasons_not_checked`;
  * `calibration`: accuracy of the majority answer (in the headline mode) against agreement,
    with the expected calibration error.
  """
  rules = rules or monitoring.EscalationRules()
  several = [r for r in results if len(r.samples) >= 2]
  if not several:
    return None
  checked = [r for r in monitoring.ESCALATION_REASONS
             if r not in ("safety_critical_request", "tool_failed")]
  agreements, headline_correct, differ, any_differ, rel_not_strict, escalated = ([] for _ in
                                                                                 range(6))
  by_reason = collections.Counter()
  for r in several:
    vote, majority, reasons = problem_escalation(r, rules)
    by_reason.update(reasons)
    escalated.append(bool(reasons))
    agreements.append(vote.agreement)
    headline_correct.append(bool(majority and (majority.correct_strict if strict
                                               else majority.correct)))
    differ.append(monitoring.candidates_differ(vote, rules))
    any_differ.append(vote.num_distinct >= 2)
    rel_not_strict.append(bool(majority and majority.correct and not majority.correct_strict))
  n = len(several)
  return {
      "num_problems": n,
      "mode": "strict" if strict else "relaxed",
      "rules": dataclasses.asdict(rules),
      "top2_disagreement_rate": _mean(differ),
      "any_disagreement_rate": _mean(any_differ),
      "majority_relaxed_not_strict_rate": _mean(rel_not_strict),
      "escalation_rate": _mean(escalated),
      "escalation_rate_by_reason": {reason: by_reason[reason] / n for reason in checked},
      "reasons_not_checked": [r for r in monitoring.ESCALATION_REASONS if r not in checked],
      "calibration": monitoring.calibration(agreements, headline_correct, num_bins),
  }


def summarize(results: Sequence[ProblemResult], *, strict: bool = False,
              ks: Sequence[int] | None = None, disagreement_threshold: float = 0.5,
              escalation_rules: monitoring.EscalationRules | None = None) -> dict:
  """Benchmark summary: overall, per subject, per level, k-curves, reasons, confidence.

  Args:
    results: one ProblemResult per benchmark problem (missing ones included: they count wrong).
    strict: the headline mode: maj@k, pass@k and `headline_top1` use strict verdicts.
    ks: k values for maj@k/pass@k; default `default_ks` of the smallest sample count among the
      problems that have samples. A problem with fewer than k samples counts wrong at that k,
      and `problems_short_of_samples` says how many there were.
    disagreement_threshold: agreement below which a problem is flagged.
    escalation_rules: thresholds of the monitoring figures (`monitoring_summary`).

  Returns:
    A JSON-ready dict; `monitoring` is None unless some problem has several samples.
  """
  sample_counts = [len(r.samples) for r in results if r.samples]
  if ks is None:
    ks = default_ks(min(sample_counts)) if sample_counts else []
  ks = sorted(set(ks))
  overall = _group_summary(results, ks, strict)
  top1_rel, top1_strict = overall["top1"] or 0.0, overall["top1_strict"] or 0.0

  by_subject = collections.defaultdict(list)
  by_level = collections.defaultdict(list)
  for r in results:
    by_subject[r.subject].append(r)
    by_level["?" if r.level is None else str(r.level)].append(r)

  def reason_counts(grades: Iterable[SampleGrade | None], strict: bool) -> dict[str, int]:
    counter = collections.Counter(
        "missing" if g is None else (g.reason_strict if strict else g.reason) for g in grades)
    return dict(sorted(counter.items(), key=lambda kv: (-kv[1], kv[0])))

  confs = [confidence(r, disagreement_threshold) for r in results if not r.missing]
  answered = [r for r in results if not r.missing]
  high = [r for r, c in zip(answered, confs) if not c.disagreement]
  low = [r for r, c in zip(answered, confs) if c.disagreement]
  return {
      "mode": "strict" if strict else "relaxed",
      "headline_top1": top1_strict if strict else top1_rel,
      "num_problems": len(results),
      "num_missing": sum(r.missing for r in results),
      "num_samples": sum(len(r.samples) for r in results),
      "samples_per_problem": {"min": min(sample_counts, default=0),
                              "max": max(sample_counts, default=0)},
      "ks": list(ks),
      "problems_short_of_samples": {
          str(k): sum(len(r.samples) < k for r in results) for k in ks},
      "overall": overall,
      "strict_relaxed_gap": top1_rel - top1_strict,
      "by_subject": {s: _group_summary(rs, ks, strict) for s, rs in sorted(by_subject.items())},
      "by_level": {lv: _group_summary(rs, ks, strict) for lv, rs in sorted(by_level.items())},
      "reasons_top1": reason_counts((r.top1 for r in results), strict=False),
      "reasons_top1_strict": reason_counts((r.top1 for r in results), strict=True),
      "reasons_samples": reason_counts((s for r in results for s in r.samples), strict=False),
      "confidence": {
          "disagreement_threshold": disagreement_threshold,
          "mean_agreement": _mean(c.agreement for c in confs),
          "num_disagreement": sum(c.disagreement for c in confs),
          "num_strict_relaxed_differ": sum(c.strict_relaxed_differ for c in confs),
          # Calibration of the flag: top-1 accuracy where samples agree vs disagree.
          "top1_when_agreeing": _mean(bool(r.top1 and r.top1.correct) for r in high),
          "top1_when_disagreeing": _mean(bool(r.top1 and r.top1.correct) for r in low),
      },
      "monitoring": monitoring_summary(results, strict=strict, rules=escalation_rules),
  }
