"""Escalation rules and calibration: one implementation for `solve` and the evaluation report.

A deployed math model should say when a human ought to look at an answer. The signals come
from the samples themselves (self-consistency, arXiv:2203.11171, as maj@k in arXiv:2402.03300
Fig. 7) and from the verifier where a reference exists. `escalation_reasons` turns them into
named reasons; `deepseekmath_jax.solve` applies it to one question, `metrics.summarize` to every
problem of a benchmark (escalation rate by reason), so a rule changed here changes both.

Votes: samples vote with the verifier's `answer_key` (`1/2`, `0.5`, `\\frac{1}{2}` are one
vote); a sample without an answer does not vote. `rank_answers` orders the answers by count,
ties going to the answer seen first (the rule of `metrics.majority_vote`, which uses it).

Reasons (`ESCALATION_REASONS`, in this order):

  verifier_disagrees_with_majority  a reference is given and the majority answer is wrong
                                    under the relaxed verifier
  low_agreement      the majority holds fewer than `min_agreement` of all samples
  candidates_differ  a second answer is material: the runner-up holds at least
                     `runner_up_min_count` samples and `runner_up_min_share` of all samples
                     (the "top-2 disagreement" of the report)
  safety_critical_request  the question matches the configured safety patterns (finance,
                     medicine, law, dosage, tax...; configs/solve.py)
  tool_failed        a tool-band answer that no successful program run printed
  no_answer          no sample commits to an answer

Calibration: do high-agreement answers tend to be right? Problems are binned by agreement
(equal-width bins over [0, 1]); per bin the mean agreement and the accuracy of the majority
answer; the expected calibration error is `sum_b n_b / N * |accuracy_b - agreement_b|`
(Guo et al. 2017, arXiv:1706.04599, Eq. 3).
"""

from __future__ import annotations

import collections
import dataclasses
from typing import Sequence

import numpy as np

ESCALATION_REASONS: dict[str, str] = {
    "verifier_disagrees_with_majority": "the verifier grades the majority answer wrong against "
                                        "the reference",
    "low_agreement": "the majority answer holds fewer than min_agreement of the samples",
    "candidates_differ": "a runner-up answer holds a material share of the samples",
    "safety_critical_request": "the question matches a safety-critical pattern (finance, "
                               "medicine, law, dosage, tax...)",
    "tool_failed": "tool band: no successful program run printed the majority answer",
    "no_answer": "no sample commits to a final answer",
}


@dataclasses.dataclass(frozen=True)
class EscalationRules:
  """Thresholds of the vote-based reasons (configs/solve.py `escalation` holds the same keys)."""
  min_agreement: float = 0.6
  runner_up_min_share: float = 0.25
  runner_up_min_count: int = 2


@dataclasses.dataclass(frozen=True)
class Vote:
  """The answers of one question's samples, ranked.

  Attributes:
    num_samples: all samples, with or without an answer.
    ranked: (answer key, count, index of its first sample), most votes first.
  """
  num_samples: int
  ranked: tuple[tuple[str, int, int], ...]

  @property
  def majority_index(self) -> int | None:
    return self.ranked[0][2] if self.ranked else None

  @property
  def majority_count(self) -> int:
    return self.ranked[0][1] if self.ranked else 0

  @property
  def runner_up_count(self) -> int:
    return self.ranked[1][1] if len(self.ranked) > 1 else 0

  @property
  def agreement(self) -> float:
    """Share of all samples carrying the majority answer (0 when none has an answer)."""
    return self.majority_count / self.num_samples if self.num_samples else 0.0

  @property
  def num_distinct(self) -> int:
    return len(self.ranked)


def rank_answers(keys: Sequence[str | None]) -> Vote:
  """Ranks the answer keys of a question's samples (None = no answer, no vote)."""
  counts: collections.Counter[str] = collections.Counter()
  first: dict[str, int] = {}
  for i, key in enumerate(keys):
    if key is None:
      continue
    counts[key] += 1
    first.setdefault(key, i)
  # Highest count first, then the earliest first appearance (deterministic, hash-free).
  order = sorted(counts, key=lambda k: (-counts[k], first[k]))
  return Vote(len(keys), tuple((k, counts[k], first[k]) for k in order))


def candidates_differ(vote: Vote, rules: EscalationRules) -> bool:
  """Whether the runner-up answer is material (the report's top-2 disagreement)."""
  runner_up = vote.runner_up_count
  return (runner_up >= rules.runner_up_min_count and vote.num_samples > 0
          and runner_up / vote.num_samples >= rules.runner_up_min_share)


def escalation_reasons(vote: Vote, rules: EscalationRules, *,
                       majority_correct: bool | None = None, safety_critical: bool = False,
                       tool_confirmed: bool | None = None) -> list[str]:
  """The reasons to escalate one answer, in `ESCALATION_REASONS` order (empty: none).

  Args:
    vote: the ranked answers of the samples.
    rules: thresholds.
    majority_correct: the relaxed verdict on the majority answer; None without a reference.
    safety_critical: the question matched a safety pattern.
    tool_confirmed: for a tool-band answer, whether a successful program run printed it;
      None when the answer did not come from the tool band.
  """
  reasons = []
  has_answer = vote.majority_index is not None
  if has_answer and majority_correct is False:
    reasons.append("verifier_disagrees_with_majority")
  if has_answer and vote.agreement < rules.min_agreement:
    reasons.append("low_agreement")
  if candidates_differ(vote, rules):
    reasons.append("candidates_differ")
  if safety_critical:
    reasons.append("safety_critical_request")
  if tool_confirmed is False:
    reasons.append("tool_failed")
  if not has_answer:
    reasons.append("no_answer")
  return reasons


def calibration(agreements: Sequence[float], correct: Sequence[bool],
                num_bins: int = 10) -> dict:
  """Accuracy against agreement in equal-width bins, and the expected calibration error.

  Returns {"num_bins", "bins": [{"lo", "hi", "n", "mean_agreement", "accuracy"}] (empty bins
  left out), "ece"} (ece None when there is no problem).
  """
  if len(agreements) != len(correct):
    raise ValueError(f"calibration: {len(agreements)} agreements for {len(correct)} verdicts")
  if num_bins < 1:
    raise ValueError(f"calibration: num_bins must be >= 1, got {num_bins}")
  conf = np.asarray(agreements, dtype=np.float64)
  hit = np.asarray(correct, dtype=np.float64)
  if np.any((conf < 0) | (conf > 1)):
    raise ValueError("calibration: agreements must lie in [0, 1]")
  # Bin b holds [b/B, (b+1)/B); agreement 1.0 goes to the last bin.
  index = np.minimum((conf * num_bins).astype(int), num_bins - 1)
  bins, ece = [], 0.0
  for b in range(num_bins):
    mask = index == b
    n = int(mask.sum())
    if not n:
      continue
    mean_conf, acc = float(conf[mask].mean()), float(hit[mask].mean())
    ece += n / len(conf) * abs(acc - mean_conf)
    bins.append(dict(lo=b / num_bins, hi=(b + 1) / num_bins, n=n, mean_agreement=mean_conf,
                     accuracy=acc))
  return dict(num_bins=num_bins, bins=bins, ece=float(ece) if len(conf) else None)
