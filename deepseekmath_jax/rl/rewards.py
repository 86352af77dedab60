r"""Pluggable GRPO rewards, computed off the main thread and never fatal.

A reward term is a callable `term(batch: RolloutBatch) -> np.ndarray` of one float per
completion (outcome supervision, §4.1.2 arXiv:2402.03300) or a `StepRewards` (process
supervision, §4.1.3: one score per newline-separated reasoning step). `RewardComputer` sums
the weighted terms. Built-in terms (`make_term`):

  accuracy     1 if the verifier (`verifier.grade_batch`, a persistent process pool with a
               wall-clock deadline per item) judges the final answer correct, else 0: the
               paper's "Rule" reward (§5.2.1).
  format       +bonus for a committed final answer (a closed, non-empty last `\boxed{}`),
               -penalty otherwise: a shaping term against rambling without an answer.
  arithmetic   exact checks of the arithmetic the completion writes (`ArithmeticReward`):
               under process supervision one step reward per equation, else 1 when every
               equation is right.
  first_token  1 if the completion's first token id lies in a range [lo, hi): a trivially
               learnable task that checks the whole RL pipeline learns (a smoke test, not a
               math reward).
  outcome_rm   the neural outcome reward model's probability that the answer is correct
               (the paper's 7B RL reward, §4.2; `reward_model.py`).
  process_rm   the process reward model's score of each step (`StepRewards`).

Failure handling (issue 6 §6; the verl and Math-Verify hangs of peers.md §8F): each term runs
in its own daemon thread with a deadline. A term that raises, returns the wrong shape, or
misses its deadline contributes 0 for the whole batch and is counted
(`reward_failures/<term>`, `reward_timeouts/<term>`); a NaN/inf item counts as 0 too. A thread
past its deadline cannot be killed; it is abandoned (daemon, so it never blocks exit) and its
late result is dropped. The verifier itself kills its own stuck workers.

Overlap with the accelerator: `RewardComputer.submit` returns a `Future`. The trainer submits
a round's rewards and, while the verifier's processes grade, computes the old-policy and
reference log-probs of the same completions on the device, then joins. Rewards depend only on
the completions, so the overlap changes timing, never results.
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Union

import numpy as np

from deepseekmath_jax import verifier
from deepseekmath_jax.verifier import extract
from deepseekmath_jax.verifier import steps as steps_lib


@dataclasses.dataclass
class RolloutBatch:
  """N = B·G completions, flattened question-major (row b·G + g is sample g of question b)."""
  questions: list[str]
  references: list[str]
  prompt_ids: list[Sequence[int]]
  completion_ids: list[list[int]]      # without padding; EOS kept when produced
  completions: list[str]               # decoded text, EOS removed
  truncated: np.ndarray                # bool [N]: hit the token budget

  def __len__(self) -> int:
    return len(self.completions)


@dataclasses.dataclass
class StepRewards:
  """Process rewards: per completion, one score per step and the step's last token index."""
  rewards_NxS: np.ndarray   # float32
  ends_NxS: np.ndarray      # int32 index into the completion tokens
  mask_NxS: np.ndarray      # bool, real steps

  @property
  def num_steps(self) -> int:
    return self.rewards_NxS.shape[1]


TermOutput = Union[np.ndarray, StepRewards]
RewardTerm = Callable[[RolloutBatch], TermOutput]


@dataclasses.dataclass
class RewardResult:
  """What `RewardComputer.compute` returns for one batch."""
  rewards: np.ndarray                        # float32 [N], the weighted sum of outcome terms
  steps: StepRewards | None                  # process rewards (with outcome terms added to
                                             # each completion's last step), or None
  correct: np.ndarray                        # bool [N], rule judgment (monitoring and RM data)
  per_term: dict[str, np.ndarray]            # unweighted [N] per outcome term
  counts: dict[str, int]                     # failures, timeouts, verifier reasons
  seconds: float                             # wall time of the computation


def decode_completion(tokenizer: Any, ids: Sequence[int]) -> str:
  """A completion's text: a final EOS removed, and ids past the tokenizer's vocabulary (a
  model's embedding table is often padded beyond it, e.g. 102400 vs 100015 for DeepSeekMath)
  skipped rather than crashing the decoder."""
  ids = [int(t) for t in ids]
  if ids and ids[-1] == tokenizer.eos_id:
    ids = ids[:-1]
  return tokenizer.decode([t for t in ids if 0 <= t < tokenizer.vocab_size])


class PieceDecoder:
  """Memoized single-token decoding, for mapping text positions to tokens."""

  def __init__(self, tokenizer: Any):
    self.tokenizer = tokenizer
    self._cache: dict[int, str] = {}

  def __call__(self, token: int) -> str:
    if token not in self._cache:
      self._cache[token] = decode_completion(self.tokenizer, [token])
    return self._cache[token]


def piece_text(completion_ids: Sequence[int],
               decode_piece: Callable[[int], str]) -> tuple[str, list[int]]:
  """The completion as the concatenation of its decoded tokens, and each character's token."""
  pieces = [decode_piece(int(t)) for t in completion_ids]
  owner = [i for i, piece in enumerate(pieces) for _ in piece]
  return "".join(pieces), owner


# ----------------------------------------------------------------------------------------------
# Terms
# ----------------------------------------------------------------------------------------------


class AccuracyReward:
  """1.0 for a correct final answer, else 0.0, judged by the verifier (the paper's rule)."""

  def __init__(self, *, strict: bool = False, deadline_s: float = 2.0):
    self.strict = strict
    self.deadline_s = deadline_s
    self.last_grades: list[verifier.Grade] = []

  def grades(self, batch: RolloutBatch) -> list[verifier.Grade]:
    return verifier.grade_batch(batch.completions, batch.references, strict=self.strict,
                                deadline_s=self.deadline_s, questions=batch.questions)

  def __call__(self, batch: RolloutBatch) -> np.ndarray:
    grades = self.grades(batch)
    return np.asarray([g.correct for g in grades], np.float32)


def has_committed_answer(text: str) -> bool:
  r"""True when the response ends its reasoning with a closed, non-empty `\boxed{}`."""
  found, content = extract.last_boxed(text)
  return bool(found and content and content.strip())


class FormatReward:
  r"""+bonus when the completion commits to a `\boxed{}` answer, -penalty otherwise."""

  def __init__(self, *, bonus: float = 1.0, penalty: float = 1.0):
    self.bonus, self.penalty = bonus, penalty

  def __call__(self, batch: RolloutBatch) -> np.ndarray:
    return np.asarray([self.bonus if has_committed_answer(t) else -self.penalty
                       for t in batch.completions], np.float32)


class ArithmeticReward:
  r"""Exact checks of the arithmetic a completion writes (`verifier.steps.check_equations`).

  A rule-based process reward (§4.1.3 with exact step checks in place of a learned PRM): the
  policy's commonest error at small scale is wrong arithmetic inside a right plan
  (`Rest: 40 - 10 = 45`), which the outcome reward sees only as a wrong final answer.

  per_step=True (process supervision): one step per equation, ending at the token that
  completes its result, rewarded `correct` (1.0) or `wrong` (0.0); then one final step at the
  completion's last token with reward 0, to which `RewardComputer` adds the outcome terms
  (the answer's correctness). Past `max_steps`, the first `max_steps - 1` equations are kept.
  per_step=False (outcome supervision): 1.0 when the completion writes at least one equation
  and every equation is right, else 0.0 (a count-free score: neither more nor fewer
  equations raise it).
  """

  def __init__(self, decode_piece: Callable[[int], str], *, per_step: bool, max_steps: int = 16,
               correct: float = 1.0, wrong: float = 0.0):
    if per_step and max_steps < 2:
      raise ValueError(f"ArithmeticReward needs max_steps >= 2 (equations + the final step), "
                       f"got {max_steps}")
    self.decode_piece, self.per_step, self.max_steps = decode_piece, per_step, max_steps
    self.correct, self.wrong = float(correct), float(wrong)

  def __call__(self, batch: RolloutBatch) -> TermOutput:
    texts = [piece_text(ids, self.decode_piece) for ids in batch.completion_ids]
    equations = [steps_lib.check_equations(text) for text, _ in texts]
    if not self.per_step:
      return np.asarray([float(bool(eqs) and all(e.correct for e in eqs)) for eqs in equations],
                        np.float32)
    n, S = len(batch), self.max_steps
    rewards = np.zeros((n, S), np.float32)
    ends = np.full((n, S), -1, np.int32)
    mask = np.zeros((n, S), bool)
    for i, ((_, owner), eqs) in enumerate(zip(texts, equations)):
      if not batch.completion_ids[i]:
        continue
      last = len(batch.completion_ids[i]) - 1
      row = [(owner[min(e.end, len(owner)) - 1], self.correct if e.correct else self.wrong)
             for e in eqs[:S - 1]]
      row.append((last, 0.0))
      for j, (end, value) in enumerate(row):
        ends[i, j], rewards[i, j], mask[i, j] = end, value, True
    return StepRewards(rewards, ends, mask)


class FirstTokenReward:
  """1.0 when the first completion token's id is in [lo, hi) (a pipeline smoke-test task)."""

  def __init__(self, lo: int, hi: int):
    if hi <= lo:
      raise ValueError(f"first_token_range must be [lo, hi) with hi > lo, got ({lo}, {hi})")
    self.lo, self.hi = int(lo), int(hi)

  def __call__(self, batch: RolloutBatch) -> np.ndarray:
    return np.asarray([float(bool(ids) and self.lo <= ids[0] < self.hi)
                       for ids in batch.completion_ids], np.float32)


# ----------------------------------------------------------------------------------------------
# Running terms safely
# ----------------------------------------------------------------------------------------------


def _run_with_deadline(fn: Callable[[], Any], deadline_s: float) -> tuple[str, Any]:
  """('ok', value) | ('error', exception) | ('timeout', None), from a daemon thread."""
  box: dict[str, Any] = {}
  done = threading.Event()

  def target():
    try:
      box["value"] = fn()
    except BaseException as e:  # pylint: disable=broad-except
      box["error"] = e
    finally:
      done.set()

  threading.Thread(target=target, daemon=True, name="reward-term").start()
  if not done.wait(deadline_s if deadline_s > 0 else None):
    return "timeout", None
  if "error" in box:
    return "error", box["error"]
  return "ok", box["value"]


def _check_output(name: str, out: Any, n: int) -> TermOutput:
  if isinstance(out, StepRewards):
    if out.rewards_NxS.shape[0] != n or out.ends_NxS.shape != out.rewards_NxS.shape or \
       out.mask_NxS.shape != out.rewards_NxS.shape:
      raise ValueError(f"reward term {name!r} returned step rewards of shapes "
                       f"{out.rewards_NxS.shape}/{out.ends_NxS.shape}/{out.mask_NxS.shape} "
                       f"for {n} completions")
    return out
  values = np.asarray(out, np.float32)
  if values.shape != (n,):
    raise ValueError(f"reward term {name!r} returned shape {values.shape} for {n} completions")
  return values


class RewardComputer:
  """Weighted sum of reward terms, each under a deadline; see the module docstring.

  Args:
    terms: name -> (term, weight). At most one term may return `StepRewards`.
    deadline_s: wall-clock limit per term per batch (0 = none).
    accuracy: the verifier term used for the `accuracy` metric (and reward-model labels)
      even when it is not a reward term; None skips the rule judgment.
  """

  def __init__(self, terms: Mapping[str, tuple[RewardTerm, float]], *, deadline_s: float = 60.0,
               accuracy: AccuracyReward | None = None):
    self.terms = dict(terms)
    self.deadline_s = deadline_s
    self.accuracy = accuracy
    self._executor = concurrent.futures.ThreadPoolExecutor(max_workers=1,
                                                           thread_name_prefix="rewards")

  def submit(self, batch: RolloutBatch) -> concurrent.futures.Future:
    """Starts `compute(batch)` in the background; `.result()` gives the RewardResult."""
    return self._executor.submit(self.compute, batch)

  def compute(self, batch: RolloutBatch) -> RewardResult:
    start = time.perf_counter()
    n = len(batch)
    counts: dict[str, int] = {}

    def bump(key: str, by: int = 1) -> None:
      counts[key] = counts.get(key, 0) + by

    correct = np.zeros((n,), bool)
    grades = None
    if self.accuracy is not None:
      status, value = _run_with_deadline(lambda: self.accuracy.grades(batch), self.deadline_s)
      if status == "ok":
        grades = value
        correct = np.asarray([g.correct for g in grades], bool)
        for g in grades:
          bump(f"verifier/{g.reason}")
      else:
        bump(f"reward_{'timeouts' if status == 'timeout' else 'failures'}/accuracy")

    total = np.zeros((n,), np.float32)
    per_term: dict[str, np.ndarray] = {}
    steps: StepRewards | None = None
    for name, (term, weight) in self.terms.items():
      if isinstance(term, AccuracyReward) and term is self.accuracy:
        # Reuse the grades above instead of grading twice.
        out = correct.astype(np.float32) if grades is not None else None
        status = "ok" if grades is not None else "failed"
      else:
        status, out = _run_with_deadline(lambda t=term: t(batch), self.deadline_s)
      if status == "ok":
        try:
          out = _check_output(name, out, n)
        except ValueError:
          status = "error"
      if status != "ok":
        bump(f"reward_{'timeouts' if status == 'timeout' else 'failures'}/{name}")
        per_term[name] = np.zeros((n,), np.float32)
        continue
      if isinstance(out, StepRewards):
        if steps is not None:
          raise ValueError("at most one reward term may give process (step) rewards")
        bad = ~np.isfinite(out.rewards_NxS) & out.mask_NxS
        if bad.any():
          bump(f"reward_nonfinite/{name}", int(bad.sum()))
        rewards = np.where(np.isfinite(out.rewards_NxS), out.rewards_NxS, 0.0)
        steps = StepRewards(weight * rewards.astype(np.float32), out.ends_NxS.astype(np.int32),
                            out.mask_NxS.astype(bool))
        continue
      bad = ~np.isfinite(out)
      if bad.any():
        bump(f"reward_nonfinite/{name}", int(bad.sum()))
        out = np.where(bad, 0.0, out).astype(np.float32)
      per_term[name] = out
      total += weight * out

    if steps is not None:
      steps = _add_outcome_to_last_step(steps, total)
    return RewardResult(rewards=total, steps=steps, correct=correct, per_term=per_term,
                        counts=counts, seconds=time.perf_counter() - start)

  def close(self) -> None:
    self._executor.shutdown(wait=False, cancel_futures=True)


def _add_outcome_to_last_step(steps: StepRewards, outcome_N: np.ndarray) -> StepRewards:
  """Adds each completion's outcome reward to its last real step (process + outcome terms)."""
  rewards = steps.rewards_NxS.copy()
  mask = steps.mask_NxS
  has_step = mask.any(axis=1)
  last = np.where(has_step, mask.shape[1] - 1 - np.argmax(mask[:, ::-1], axis=1), 0)
  rows = np.nonzero(has_step)[0]
  rewards[rows, last[rows]] += outcome_N[rows]
  return StepRewards(rewards, steps.ends_NxS, mask)


def make_term(name: str, cfg: Any, *, reward_model_scorer: Any = None, tokenizer: Any = None,
              per_step: bool = False, max_steps: int = 16) -> RewardTerm:
  """A built-in term from `config.reward` (see configs/grpo.py).

  `tokenizer` (for `arithmetic`) maps text to tokens; `per_step` says whether the run uses
  process supervision (step rewards) or outcome supervision (one score per completion).
  """
  if name == "accuracy":
    return AccuracyReward(strict=cfg.strict, deadline_s=cfg.verifier_deadline_s)
  if name == "format":
    return FormatReward(bonus=cfg.format_bonus, penalty=cfg.format_penalty)
  if name == "first_token":
    return FirstTokenReward(*cfg.first_token_range)
  if name == "arithmetic":
    if tokenizer is None:
      raise ValueError("reward term 'arithmetic' needs the tokenizer (to locate steps)")
    return ArithmeticReward(PieceDecoder(tokenizer), per_step=per_step, max_steps=max_steps,
                            correct=cfg.arithmetic_correct, wrong=cfg.arithmetic_wrong)
  if name in ("outcome_rm", "process_rm"):
    if reward_model_scorer is None:
      raise ValueError(f"reward term {name!r} needs a reward model (config.reward_model)")
    return reward_model_scorer
  raise ValueError(f"unknown reward term {name!r}; known: accuracy, format, first_token, "
                   "arithmetic, outcome_rm, process_rm")
