"""Reward models: steps, training, replay, Math-Shepherd labels (rl/reward_model.py)."""

import os
import tempfile

import jax
import numpy as np
import pytest

from deepseekmath_jax import config_lib
from deepseekmath_jax import sharding
from deepseekmath_jax.rl import reward_model as rm_lib
from deepseekmath_jax.rl import rewards

CACHE = os.path.join(tempfile.gettempdir(), "deepseekmath_jax_grpo_test_cache")


@pytest.fixture(scope="module", autouse=True)
def compilation_cache():
  jax.config.update("jax_compilation_cache_dir", CACHE)
  jax.config.update("jax_persistent_cache_min_compile_time_secs", 0)
  jax.config.update("jax_persistent_cache_min_entry_size_bytes", 0)


def _chars(text):
  return [ord(c) for c in text]


def _decode(ids):
  return "".join(chr(i) for i in ids)


def test_sentence_step_ends():
  ids = _chars("Rest: 17 - 5 = 12. Each: 12 / 6 = 2. The answer is 2.")
  ends = rm_lib.step_ends(ids, chr, max_steps=8, separator=r"\.(?=\s)")
  assert ends == [17, 35, len(ids) - 1]
  assert rm_lib.step_ends(_chars("x = 1.5 so 3"), chr, max_steps=8,
                          separator=r"\.(?=\s)") == [11]  # a decimal point is no step end


def test_newline_step_ends():
  ids = _chars("a = 2\nb = 3\n\nso 5\n")
  ends = rm_lib.step_ends(ids, chr, max_steps=8)
  assert ends == [5, 11, len(ids) - 1]  # trailing newlines belong to the last step
  assert rm_lib.step_ends(_chars("one line"), chr, max_steps=8) == [7]
  assert rm_lib.step_ends([], chr, max_steps=8) == []
  many = _chars("1\n2\n3\n4\n5")
  assert rm_lib.step_ends(many, chr, max_steps=3) == [1, 3, len(many) - 1]


def test_replay_makes_history_a_tenth_of_the_set():
  new = [rm_lib.Example((i,), (0,), (1.0,)) for i in range(90)]
  old = [rm_lib.Example((1000 + i,), (0,), (0.0,)) for i in range(500)]
  mixed = rm_lib.mix_with_replay(new, old, replay_fraction=0.1, rng=np.random.default_rng(0))
  assert len(mixed) == 100 and sum(e.tokens[0] >= 1000 for e in mixed) == 10
  assert rm_lib.mix_with_replay(new, [], replay_fraction=0.1,
                                rng=np.random.default_rng(0)) == new


def test_math_shepherd_labels_on_a_toy_policy():
  # A toy completer: from a prefix that has gone wrong ("x = 4") it can only reach 4, from one
  # that has found 5 it always answers 5, and otherwise it is right half of the time.
  def rollout(prefixes, n):
    out = []
    for p in prefixes:
      text = _decode(p)
      if "x = 4" in text:
        out.append(["\\boxed{4}"] * n)
      elif "x = 5" in text:
        out.append(["\\boxed{5}"] * n)
      else:
        out.append((["\\boxed{5}", "\\boxed{6}"] * n)[:n])
    return out

  prompt = _chars("Q: 2 + 3?\n")
  good = _chars("x = 2 + 3\nx = 5\n\\boxed{5}")
  bad = _chars("x = 2 + 3\nx = 4\n\\boxed{4}")
  ends = [rm_lib.step_ends(c, chr, max_steps=8) for c in (good, bad)]
  assert len(ends[0]) == len(ends[1]) == 3
  hard = rm_lib.math_shepherd_labels([prompt] * 2, [good, bad], ends, [True, False], ["5", "5"],
                                     ["2 + 3?"] * 2, rollout=rollout, decode=_decode,
                                     num_rollouts=2, mode="hard")
  assert hard == [[1.0, 1.0, 1.0], [1.0, 0.0, 0.0]]
  soft = rm_lib.math_shepherd_labels([prompt] * 2, [good, bad], ends, [True, False], ["5", "5"],
                                     ["2 + 3?"] * 2, rollout=rollout, decode=_decode,
                                     num_rollouts=2, mode="soft")
  assert soft == [[0.5, 1.0, 1.0], [0.5, 0.0, 0.0]]


def _trainer():
  cfg = config_lib.model_config("tiny", vocab_size=32, num_layers=1, embed_dim=32, num_heads=2,
                                num_kv_heads=2, head_dim=16, mlp_dim=64, max_seq_len=32)
  mesh = sharding.make_mesh(config_lib.mesh_config())
  setup = rm_lib.make_setup(cfg, lr=3e-3, total_steps=100, mesh=mesh,
                            rules=config_lib.AXIS_RULES, seed=0)
  model = sharding.create_model(lambda: rm_lib.RewardModel(cfg, rngs=rm_lib.nnx.Rngs(0)), mesh,
                                config_lib.AXIS_RULES)
  params = rm_lib.nnx.to_pure_dict(rm_lib.nnx.state(model, rm_lib.nnx.Param))
  return rm_lib.Trainer(setup, setup.init_state(params, 0), max_len=12, pad_id=0)


def test_outcome_reward_model_learns_a_separable_task_and_scores():
  rng = np.random.default_rng(0)
  examples = []
  for _ in range(64):
    prompt = list(rng.integers(3, 20, size=4))
    label = bool(rng.integers(2))
    completion = list(rng.integers(3, 20, size=3)) + [30 if label else 31]
    examples.append(rm_lib.outcome_example(prompt, completion, label))
  trainer = _trainer()
  losses = trainer.fit(examples, steps=40, batch_size=16, seed=0)
  assert np.mean(losses[-5:]) < 0.5 * np.mean(losses[:5]), losses
  scorer = rm_lib.OutcomeScorer(trainer)
  batch = rewards.RolloutBatch(questions=["q"] * 2, references=["1"] * 2,
                               prompt_ids=[[5, 6, 7, 8]] * 2,
                               completion_ids=[[9, 10, 11, 30], [9, 10, 11, 31]],
                               completions=["", ""], truncated=np.zeros(2, bool))
  p_good, p_bad = scorer(batch)
  assert p_good > 0.7 and p_bad < 0.3
