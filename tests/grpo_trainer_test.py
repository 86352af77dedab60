"""The GRPO trainer: the jitted update, batch assembly, the entrypoint, kill/resume, learning.

Compiled programs go to a persistent JAX cache under the temp directory, shared by the
subprocess runs and this process, so the same tiny programs compile once per machine.
"""

import importlib.util
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

from deepseekmath_jax import checkpoint as checkpoint_lib
from deepseekmath_jax import config_lib
from deepseekmath_jax import sharding
from deepseekmath_jax.model import Transformer
from deepseekmath_jax.rl import grpo_lib
from deepseekmath_jax.rl import grpo_step
from deepseekmath_jax.rl import rewards
from deepseekmath_jax.rl import sampler
from deepseekmath_jax.trainers import grpo
from deepseekmath_jax.trainers import train_lib

REPO = Path(__file__).resolve().parents[1]
CACHE = os.path.join(tempfile.gettempdir(), "deepseekmath_jax_grpo_test_cache")
CACHE_ENV = {"JAX_COMPILATION_CACHE_DIR": CACHE, "JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS": "0",
             "JAX_PERSISTENT_CACHE_MIN_ENTRY_SIZE_BYTES": "0"}
TIMING_KEYS = {"time_sampling", "time_logprobs", "time_reward", "time_reward_wait",
               "time_update", "time_step", "tokens_per_s", "steps_per_s"}
REQUIRED_METRICS = {"reward_mean", "reward_std", "accuracy", "frac_reward_zero_std", "kl",
                    "clip_ratio", "entropy", "completion_length_mean", "completion_length_max",
                    "clipped_completion_ratio", "logprob_diff_sampler_trainer", "time_sampling",
                    "time_reward", "time_update", "tokens_per_s", "reward_failures",
                    "reward_timeouts", "dropped_groups", "prompts_truncated", "prompts_dropped"}


@pytest.fixture(scope="module", autouse=True)
def compilation_cache():
  jax.config.update("jax_compilation_cache_dir", CACHE)
  jax.config.update("jax_persistent_cache_min_compile_time_secs", 0)
  jax.config.update("jax_persistent_cache_min_entry_size_bytes", 0)


def _grpo_config(arg="tiny"):
  spec = importlib.util.spec_from_file_location("grpo_config", REPO / "configs" / "grpo.py")
  module = importlib.util.module_from_spec(spec)
  spec.loader.exec_module(module)
  return module.get_config(arg)


# ----------------------------------------------------------------------------------------------
# Configuration errors
# ----------------------------------------------------------------------------------------------


def test_bad_group_and_batch_sizes_are_clear_errors():
  config = _grpo_config()
  config.group_size = 1
  with pytest.raises(ValueError, match="GRPO needs G >= 2"):
    grpo.check_config(config)
  config = _grpo_config()
  config.batch_size = 18
  with pytest.raises(ValueError, match="batch_size=18 completions is not divisible by "
                                       "config.group_size=4"):
    grpo.check_config(config)
  config = _grpo_config()
  config.grpo.num_minibatches = 3
  with pytest.raises(ValueError, match="num_minibatches=3"):
    grpo.check_config(config)
  config = _grpo_config()
  config.grpo.questions_per_round = 8
  with pytest.raises(ValueError, match="dynamic_sampling is off"):
    grpo.check_config(config)
  config = _grpo_config()
  config.grpo.supervision = "process"
  with pytest.raises(ValueError, match="needs a step reward"):
    grpo.check_config(config)
  config.reward.weights.arithmetic = 1.0
  grpo.check_config(config)          # exact arithmetic checks are a step reward
  config.reward.weights.process_rm = 1.0
  with pytest.raises(ValueError, match="process_rm and arithmetic both give step rewards"):
    grpo.check_config(config)


# ----------------------------------------------------------------------------------------------
# The jitted update
# ----------------------------------------------------------------------------------------------


def _small_setup(adam_eps=1e-8):
  cfg = config_lib.model_config("tiny", vocab_size=64, num_layers=1, embed_dim=32, num_heads=2,
                                num_kv_heads=2, head_dim=16, mlp_dim=64, max_seq_len=64)
  mesh = sharding.make_mesh(config_lib.mesh_config())
  rules = config_lib.AXIS_RULES
  opt = config_lib.opt_config(schedule="constant", peak_lr=1e-2, warmup_steps=0)
  opt.eps = adam_eps
  make = lambda: Transformer(cfg, rngs=nnx.Rngs(0))
  setup = train_lib.setup_training(make, mesh, rules, opt, 10)
  params = nnx.to_pure_dict(nnx.state(sharding.create_model(make, mesh, rules), nnx.Param))
  return setup, params


B, G, P, T = 2, 3, 5, 6   # questions, group, prompt slots, completion slots of the update tests


def _random_rollout(setup, params, rng, prompt_lengths, temperature):
  """Random prompts and completions as scoring sequences, and their log-probs under params."""
  prompts = [list(rng.integers(3, 64, size=n)) for n in prompt_lengths]
  tokens = rng.integers(3, 64, size=(B, G, T)).astype(np.int32)
  lengths = rng.integers(1, T + 1, size=(B, G)).astype(np.int32)
  seq = grpo_step.build_sequences(prompts, tokens, lengths, P, pad_id=0)
  logp, _ = grpo_step.completion_logprobs(setup.graphdef, params, setup.rest,
                                          {k: jnp.asarray(v) for k, v in seq.items()}, P,
                                          temperature=temperature)
  return seq, lengths, np.asarray(logp)


def test_update_loss_equals_grpo_loss_by_hand():
  setup, params = _small_setup()
  rng = np.random.default_rng(0)
  seq, lengths, logp = _random_rollout(setup, params, rng, (3, 5), temperature=0.7)
  assert (seq["segment_ids"][0, :, :2] == 0).all() and (seq["positions"][0, :, 2] == 0).all()
  settings = grpo_step.GRPOSettings(epsilon=0.2, beta=0.04, temperature=0.7)

  # π_old and π_ref away from π_θ, so clipping and the KL are both active.
  old = logp + rng.normal(0, 0.3, size=logp.shape).astype(np.float32)
  ref = logp + rng.normal(0, 0.3, size=logp.shape).astype(np.float32)
  rewards_BxG = np.asarray([[1.0, 0.0, 0.0], [0.5, 0.5, 0.5]], np.float32)
  mask = np.asarray(grpo_lib.sequence_mask(lengths, T))
  adv = grpo_lib.broadcast_advantages(grpo_lib.outcome_advantages(rewards_BxG, eps=1e-4), mask)
  want_loss, want = grpo_lib.grpo_loss(logp, old, ref, adv, mask, epsilon=0.2, beta=0.04,
                                       constant_length=T)

  batch = dict(seq, loss_mask=mask, old_logp=old, ref_logp=ref, rewards=rewards_BxG,
               group_valid=np.ones(B, bool))
  state = setup.init_state(params, 0)
  before = np.asarray(state["params"]["lm_head"])
  update = grpo_step.jit_update(grpo_step.make_update(setup.graphdef, setup.tx, setup.schedule,
                                                      settings, P), setup)
  state, metrics = update(state, batch)
  metrics = jax.device_get(metrics)
  np.testing.assert_allclose(metrics["loss_first"], want_loss, rtol=2e-5, atol=1e-6)
  np.testing.assert_allclose(metrics["kl"], want["kl"], rtol=2e-5)
  np.testing.assert_allclose(metrics["clip_ratio"], want["clip_ratio"], rtol=1e-6)
  assert want["clip_ratio"] > 0 and want["kl"] > 0
  assert bool(metrics["finite"]) and int(state["opt"]["step"]) == 1
  assert not np.allclose(np.asarray(state["params"]["lm_head"]), before)


def test_single_update_reuses_its_own_logprobs_as_pi_old():
  """μ·M = 1: the update's own log-probs as π_θold give the explicit-π_θold update exactly."""
  # The explicit π_θold comes from another program, so its ratio is 1 only to ~1e-6. AdamW's
  # first step, lr·g/(|g| + ε), would turn that into a sign flip wherever g is near ε; with
  # ε = 1 the step is smooth in g and the two updates must agree to float precision.
  setup, params = _small_setup(adam_eps=1.0)
  rng = np.random.default_rng(1)
  seq, lengths, logp = _random_rollout(setup, params, rng, (4, 5), temperature=1.0)
  mask = np.asarray(grpo_lib.sequence_mask(lengths, T))
  logp = logp * mask
  ref = logp + rng.normal(0, 0.3, size=logp.shape).astype(np.float32) * mask
  sampler_logp = logp + 0.01 * mask          # what a sampler with a small mismatch reports
  base = dict(seq, loss_mask=mask, ref_logp=ref, group_valid=np.ones(B, bool),
              rewards=np.asarray([[1.0, 0.0, 0.0], [0.0, 1.0, 1.0]], np.float32))
  results = {}
  for old_is_current, old in ((False, logp), (True, sampler_logp)):
    settings = grpo_step.GRPOSettings(beta=0.04, old_is_current=old_is_current)
    update = grpo_step.jit_update(grpo_step.make_update(setup.graphdef, setup.tx,
                                                        setup.schedule, settings, P), setup)
    state = setup.init_state(jax.tree.map(jnp.copy, params), 0)   # the update donates it
    state, metrics = update(state, dict(base, old_logp=old))
    results[old_is_current] = (jax.device_get(state["params"]), jax.device_get(metrics))
  jax.tree.map(lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-9),
               results[False][0], results[True][0])
  explicit, reused = results[False][1], results[True][1]
  np.testing.assert_allclose(reused["loss"], explicit["loss"], rtol=1e-5, atol=1e-7)
  assert float(reused["ratio_max"]) == 1.0
  # The sampler's log-probs are only compared with the update's forward.
  np.testing.assert_allclose(reused["logprob_diff_sampler_trainer"], 0.01, rtol=1e-3)
  assert "logprob_diff_sampler_trainer" not in explicit


# ----------------------------------------------------------------------------------------------
# Batch assembly: dynamic sampling and overlong masking
# ----------------------------------------------------------------------------------------------


def _round(rewards_BxG, truncated_BxG=None, T=4):
  rewards_BxG = np.asarray(rewards_BxG, np.float32)
  B, G = rewards_BxG.shape
  lengths = np.full((B, G), T, np.int32)
  samples = sampler.Samples(
      tokens=np.ones((B, G, T), np.int32), logprobs=np.zeros((B, G, T), np.float32),
      lengths=lengths,
      truncated=np.zeros((B, G), bool) if truncated_BxG is None else np.asarray(truncated_BxG),
      prompt_lengths=np.full((B,), 2, np.int32), num_truncated_prompts=0)
  seq = grpo_step.build_sequences([[1, 2]] * B, samples.tokens, lengths, 2, pad_id=0)
  # Tag each group's tokens with its reward so the test can see which groups were kept.
  seq["inputs"] = seq["inputs"] + (100 * rewards_BxG.sum(1)).astype(np.int32)[:, None, None]
  result = rewards.RewardResult(rewards=rewards_BxG.reshape(-1), steps=None,
                                correct=np.zeros(B * G, bool), per_term={}, counts={},
                                seconds=0.0)
  return grpo.Round([None] * B, samples, None, seq, result, G)


def test_dynamic_sampling_drops_zero_std_groups_and_refills():
  rounds = [_round([[1, 1], [0, 1], [0, 0]]), _round([[1, 1], [1, 0], [1, 0.5]])]
  batch, counts = grpo.assemble_batch(rounds, 3, dynamic_sampling=True, mask_truncated=False,
                                      max_steps=4)
  np.testing.assert_allclose(batch["rewards"], [[0, 1], [1, 0], [1, 0.5]])
  assert batch["group_valid"].all()
  assert counts == {"dropped_groups": 3, "surplus_groups": 0, "underfilled_groups": 0}
  # Without dynamic sampling the first round is the batch, zero-spread groups included.
  batch, counts = grpo.assemble_batch(rounds[:1], 3, dynamic_sampling=False,
                                      mask_truncated=False, max_steps=4)
  np.testing.assert_allclose(batch["rewards"], [[1, 1], [0, 1], [0, 0]])
  # Too few informative groups: the batch is filled with dropped ones, out of the loss.
  batch, counts = grpo.assemble_batch(rounds[:1], 3, dynamic_sampling=True,
                                      mask_truncated=False, max_steps=4)
  np.testing.assert_array_equal(batch["group_valid"], [True, False, False])
  assert batch["loss_mask"][1:].sum() == 0 and batch["loss_mask"][0].all()
  assert counts["underfilled_groups"] == 2


def test_overlong_masking_removes_truncated_completions_from_the_loss():
  rounds = [_round([[1, 0], [0, 1]], truncated_BxG=[[True, False], [False, False]])]
  masked, _ = grpo.assemble_batch(rounds, 2, dynamic_sampling=False, mask_truncated=True,
                                  max_steps=4)
  kept, _ = grpo.assemble_batch(rounds, 2, dynamic_sampling=False, mask_truncated=False,
                                max_steps=4)
  assert masked["loss_mask"][0, 0].sum() == 0 and kept["loss_mask"][0, 0].sum() == 4
  np.testing.assert_array_equal(masked["loss_mask"][0, 1], kept["loss_mask"][0, 1])
  np.testing.assert_array_equal(masked["rewards"], kept["rewards"])  # still in the group stats


# ----------------------------------------------------------------------------------------------
# End to end: the entrypoint, kill and resume, learning
# ----------------------------------------------------------------------------------------------


def _main(workdir, *flags, timeout=300):
  cmd = [sys.executable, "-m", "deepseekmath_jax.main", "--config=configs/grpo.py:tiny",
         f"--workdir={workdir}", "--config.total_steps=4", "--config.checkpoint_every=2", *flags]
  env = dict(os.environ, JAX_PLATFORMS="cpu", **CACHE_ENV)
  return subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=timeout)


def _records(workdir):
  with open(os.path.join(workdir, "metrics.jsonl"), encoding="utf-8") as f:
    return [json.loads(line) for line in f]


def _final_params(workdir, config):
  ckpt = checkpoint_lib.Checkpointer(os.path.join(workdir, "checkpoints"), read_only=True)
  mesh = sharding.make_mesh(config.mesh)
  setup = train_lib.setup_training(lambda: Transformer(config.model, rngs=nnx.Rngs(0)), mesh,
                                   config.axis_rules, config.opt, 4)
  step, items = ckpt.restore({"params": setup.abstract_state["params"]}, items=("params",))
  ckpt.close()
  return step, jax.device_get(items["params"])


def test_entrypoint_runs_and_a_killed_run_resumes_exactly(tmp_path):
  # The entrypoint as a real subprocess, SIGKILLed by itself after step 3 (checkpoint at 2).
  killed = tmp_path / "killed"
  proc = _main(killed, "--config.debug.kill_at_step=3")
  assert proc.returncode == -9, proc.stderr[-3000:]
  records = _records(killed)
  assert [r["step"] for r in records] == [1, 2, 3]  # step 3 is past the checkpoint
  missing = REQUIRED_METRICS - set(records[0])
  assert not missing, missing

  config = _grpo_config()
  config.total_steps, config.checkpoint_every = 4, 2
  full = tmp_path / "full"
  assert grpo.run(config, str(full))["step"] == 4  # uninterrupted, in this process
  summary = grpo.run(config, str(killed))
  assert summary["start_step"] == 2 and summary["step"] == 4
  want, got = _records(full), _records(killed)
  assert [r["step"] for r in got] == [1, 2, 3, 4]
  for a, b in zip(want, got):
    assert {k: v for k, v in a.items() if k not in TIMING_KEYS} == \
           {k: v for k, v in b.items() if k not in TIMING_KEYS}
  step_a, params_a = _final_params(full, config)
  step_b, params_b = _final_params(killed, config)
  assert step_a == step_b == 4
  jax.tree.map(np.testing.assert_array_equal, params_a, params_b)

  # SIGTERM (preemption) after step 3, between checkpoints: the run saves step 3 and returns;
  # started again it finishes with the uninterrupted run's parameters.
  preempted = tmp_path / "preempted"
  config.debug.sigterm_at_step = 3
  summary = grpo.run(config, str(preempted))
  assert summary["preempted"] and summary["step"] == 3
  config.debug.sigterm_at_step = 0
  summary = grpo.run(config, str(preempted))
  assert not summary["preempted"] and summary["start_step"] == 3 and summary["step"] == 4
  step_c, params_c = _final_params(preempted, config)
  assert step_c == 4
  jax.tree.map(np.testing.assert_array_equal, params_a, params_c)


def test_oversampled_dynamic_sampling_runs_and_its_counts_reconcile(tmp_path):
  # Rounds of 2B questions, zero-spread groups dropped, log-probs only for the B kept groups.
  config = _grpo_config("tiny_toy")
  config.total_steps, config.checkpoint_every = 3, 3
  config.grpo.dynamic_sampling = True
  B = config.batch_size // config.group_size
  config.grpo.questions_per_round = 2 * B
  config.grpo.max_sampling_rounds = 2
  assert grpo.run(config, str(tmp_path))["step"] == 3
  last = _records(tmp_path)[-1]
  sampled = last["sampling_rounds"] * 2 * B
  in_loss = 3 * B - last["underfilled_groups"]
  assert sampled == in_loss + last["surplus_groups"] + last["dropped_groups"], last
  assert last["questions_read"] == sampled
  assert np.isfinite(last["loss"])


def test_process_supervision_with_arithmetic_checks_runs(tmp_path):
  # Rule-based process supervision end to end: step rewards from exact arithmetic checks plus
  # the verifier's outcome on the last step, in the jitted process-advantage update.
  config = _grpo_config()
  config.total_steps, config.checkpoint_every = 2, 2
  config.grpo.supervision = "process"
  config.reward.weights.arithmetic = 1.0
  summary = grpo.run(config, str(tmp_path))
  assert summary["step"] == 2 and summary["counters"]["reward_failures"] == 0
  for record in _records(tmp_path):
    assert np.isfinite(record["loss"]) and np.isfinite(record["reward_mean"])


def test_grpo_learns_a_trivially_learnable_reward(tmp_path):
  config = _grpo_config("tiny_toy")
  config.checkpoint_every = 100
  summary = grpo.run(config, str(tmp_path))
  assert summary["step"] == 30
  reward = [r["reward_mean"] for r in _records(tmp_path)]
  assert np.mean(reward[-10:]) > np.mean(reward[:10]) + 0.15, reward
