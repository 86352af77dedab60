"""Reward terms and the fault-tolerant reward computer (rl/rewards.py)."""

import threading
import time

import numpy as np
import pytest

from deepseekmath_jax.rl import rewards


def _batch(completions, references, truncated=None, completion_ids=None):
  n = len(completions)
  return rewards.RolloutBatch(
      questions=["What is 2 + 3?"] * n, references=references, prompt_ids=[[1, 2, 3]] * n,
      completion_ids=completion_ids or [[7, 8]] * n, completions=completions,
      truncated=np.zeros(n, bool) if truncated is None else np.asarray(truncated))


def test_accuracy_and_format_terms():
  batch = _batch(["2 + 3 = 5. The answer is \\boxed{5}.", "\\boxed{6}", "So the answer is 5.",
                  "\\boxed{"], ["5", "5", "#### 5", "5"])
  np.testing.assert_array_equal(rewards.AccuracyReward()(batch), [1, 0, 1, 0])
  np.testing.assert_array_equal(rewards.FormatReward(bonus=1.0, penalty=0.5)(batch),
                                [1, 1, -0.5, -0.5])
  assert not rewards.has_committed_answer("\\boxed{}")


def test_first_token_term():
  batch = _batch(["a", "b", ""], ["1"] * 3, completion_ids=[[3, 9], [70], []])
  np.testing.assert_array_equal(rewards.FirstTokenReward(3, 67)(batch), [1, 0, 0])
  with pytest.raises(ValueError, match="hi > lo"):
    rewards.FirstTokenReward(5, 5)


def test_raising_slow_nan_and_misshapen_terms_give_zero_and_are_counted():
  release = threading.Event()

  def raises(batch):
    raise RuntimeError("reward server down")

  def hangs(batch):
    release.wait(30)
    return np.ones(len(batch))

  def nan_one(batch):
    return np.asarray([np.nan, 2.0, 2.0])

  def wrong_shape(batch):
    return np.ones(7)

  accuracy = rewards.AccuracyReward()
  computer = rewards.RewardComputer(
      {"accuracy": (accuracy, 1.0), "raises": (raises, 1.0), "hangs": (hangs, 1.0),
       "nan": (nan_one, 0.5), "shape": (wrong_shape, 1.0)}, deadline_s=0.5, accuracy=accuracy)
  batch = _batch(["\\boxed{5}", "\\boxed{4}", ""], ["5", "5", "5"])
  start = time.perf_counter()
  result = computer.submit(batch).result(timeout=20)
  release.set()
  assert time.perf_counter() - start < 5
  np.testing.assert_allclose(result.rewards, [1.0, 1.0, 1.0])  # accuracy + 0.5 * nan-cleaned
  np.testing.assert_array_equal(result.correct, [True, False, False])
  assert result.counts["reward_failures/raises"] == 1
  assert result.counts["reward_timeouts/hangs"] == 1
  assert result.counts["reward_failures/shape"] == 1
  assert result.counts["reward_nonfinite/nan"] == 1
  assert result.counts["verifier/correct"] == 1
  np.testing.assert_array_equal(result.per_term["raises"], [0, 0, 0])
  computer.close()


def test_process_term_gets_outcome_terms_on_its_last_step():

  def prm(batch):
    return rewards.StepRewards(np.asarray([[0.5, 0.25, 0.0], [0.75, 0.0, 0.0]], np.float32),
                               np.asarray([[2, 5, -1], [4, -1, -1]], np.int32),
                               np.asarray([[True, True, False], [True, False, False]]))

  fmt = rewards.FormatReward(bonus=1.0, penalty=1.0)
  computer = rewards.RewardComputer({"process_rm": (prm, 2.0), "format": (fmt, 1.0)})
  result = computer.compute(_batch(["\\boxed{5}", "no"], ["5", "5"]))
  np.testing.assert_allclose(result.steps.rewards_NxS, [[1.0, 1.5, 0.0], [0.5, 0.0, 0.0]])
  np.testing.assert_array_equal(result.rewards, [1.0, -1.0])
  computer.close()


def _char_batch(texts, references):
  """Completions tokenized one character per token (token id = code point)."""
  return _batch(texts, references, completion_ids=[[ord(c) for c in t] for t in texts])


def test_arithmetic_term_rewards_each_equation_at_its_result_token():
  texts = ["Rest: 40 - 10 = 45. Left: 45 - 5 = 40. \\boxed{40}",
           "Pens: 4 * 3 = 12. \\boxed{12}", "\\boxed{3}", ""]
  batch = _char_batch(texts, ["12"] * 4)
  term = rewards.ArithmeticReward(chr, per_step=True, max_steps=4)
  accuracy = rewards.AccuracyReward()
  computer = rewards.RewardComputer({"accuracy": (accuracy, 1.0), "arithmetic": (term, 0.5)},
                                    accuracy=accuracy)
  steps = computer.compute(batch).steps
  ends = [texts[0].index("= 45") + 3, texts[0].index("= 40") + 3, len(texts[0]) - 1]
  np.testing.assert_array_equal(steps.ends_NxS[0, :3], ends)
  # Equation steps carry weight x (1 right, 0 wrong); the final step carries the outcome.
  np.testing.assert_allclose(steps.rewards_NxS[:3], [[0.0, 0.5, 0.0, 0.0], [0.5, 1.0, 0.0, 0.0],
                                                     [0.0, 0.0, 0.0, 0.0]])
  np.testing.assert_array_equal(steps.mask_NxS.sum(1), [3, 2, 1, 0])
  computer.close()
  # Past max_steps the first max_steps - 1 equations are kept, then the final step.
  long = _char_batch(["1 + 1 = 2. " * 5], ["2"])
  out = rewards.ArithmeticReward(chr, per_step=True, max_steps=3)(long)
  assert out.mask_NxS.sum() == 3 and out.ends_NxS[0, 2] == len("1 + 1 = 2. " * 5) - 1


def test_arithmetic_term_outcome_form_is_all_equations_right():
  batch = _char_batch(["4 * 3 = 12. 12 + 1 = 13.", "4 * 3 = 12. 12 + 1 = 14.", "13", ""],
                      ["13"] * 4)
  np.testing.assert_array_equal(rewards.ArithmeticReward(chr, per_step=False)(batch),
                                [1, 0, 0, 0])
  with pytest.raises(ValueError, match="needs the tokenizer"):
    rewards.make_term("arithmetic", None)


def test_make_term_errors_name_the_term():
  with pytest.raises(ValueError, match="unknown reward term 'bogus'"):
    rewards.make_term("bogus", None)
  with pytest.raises(ValueError, match="needs a reward model"):
    rewards.make_term("outcome_rm", None)
