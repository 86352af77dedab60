"""Gradient accumulation in the GRPO update (`grpo.grad_accum_steps`): the same update.

K chunks of whole groups, each loss weighted by its share of the minibatch's normalizer, must
give the one-pass gradient of Eq. 3 (arXiv:2402.03300) and so the same parameters and metrics.
Tolerances: the chunked sums add the same float32 terms in another order (per chunk, then
over chunks), so values agree to a few float32 ulps; rtol 1e-5 on gradients and metrics. The
parameters are compared after the optimizer with AdamW's ε = 1 (as in grpo_trainer_test): its
first step lr·g/(|g| + ε) is then smooth in g, where with ε = 1e-8 a gradient entry near ε
would turn a 1e-7 reassociation difference into a sign flip.
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from deepseekmath_jax.rl import grpo_lib
from deepseekmath_jax.rl import grpo_step
from deepseekmath_jax.trainers import grpo
# compilation_cache: the GRPO tests' shared persistent JAX cache (autouse here too).
from grpo_trainer_test import _grpo_config, _small_setup, compilation_cache  # noqa: F401

B, G, P, T = 4, 3, 5, 6   # questions, group, prompt slots, completion slots


@pytest.fixture(scope="module")
def rollout():
  """A batch of 4 groups with π_θold and π_ref away from π_θ (clip and KL active), ragged
  lengths, and one group out of the loss (group_valid False, as dynamic sampling pads)."""
  setup, params = _small_setup(adam_eps=1.0)
  rng = np.random.default_rng(0)
  prompts = [list(rng.integers(3, 64, size=n)) for n in (3, 5, 2, 4)]
  tokens = rng.integers(3, 64, size=(B, G, T)).astype(np.int32)
  lengths = rng.integers(1, T + 1, size=(B, G)).astype(np.int32)
  seq = grpo_step.build_sequences(prompts, tokens, lengths, P, pad_id=0)
  logp, _ = grpo_step.completion_logprobs(setup.graphdef, params, setup.rest,
                                          {k: jnp.asarray(v) for k, v in seq.items()}, P,
                                          temperature=1.0)
  group_valid = np.asarray([True, True, False, True])
  mask = np.asarray(grpo_lib.sequence_mask(lengths, T)) * group_valid[:, None, None]
  logp = np.asarray(logp) * mask
  old = (logp + rng.normal(0, 0.3, size=logp.shape) * mask).astype(np.float32)
  ref = (logp + rng.normal(0, 0.3, size=logp.shape) * mask).astype(np.float32)
  rewards = np.asarray([[1, 0, 0], [0, 1, 1], [1, 1, 0], [0, 0, 1]], np.float32)
  batch = dict(seq, loss_mask=mask.astype(np.float32), old_logp=old, ref_logp=ref,
               rewards=rewards, group_valid=group_valid)
  return setup, params, batch


def _update(rollout, **settings):
  setup, params, batch = rollout
  update = grpo_step.jit_update(grpo_step.make_update(
      setup.graphdef, setup.tx, setup.schedule, grpo_step.GRPOSettings(**settings), P), setup)
  state = setup.init_state(jax.tree.map(jnp.copy, params), 0)   # the update donates it
  state, metrics = update(state, batch)
  return jax.device_get(state["params"]), jax.device_get(metrics)


def _minibatch_grad(rollout, **settings):
  setup, params, batch = rollout
  s = grpo_step.GRPOSettings(**settings)
  mb = {k: batch[k] for k in ("inputs", "positions", "segment_ids", "loss_mask", "old_logp",
                              "ref_logp")}
  mb["advantages"] = grpo_step.advantages(jax.tree.map(jnp.asarray, batch), s)
  fn = jax.jit(grpo_step.make_minibatch_grad(setup.graphdef, s, P))
  return jax.device_get(fn(params, setup.rest, mb))


METRICS = ("loss", "pg_loss", "kl_loss", "kl", "clip_ratio", "clip_ratio/low",
           "clip_ratio/high", "ratio_mean", "ratio_min", "ratio_max", "approx_kl_old",
           "entropy", "num_tokens", "grad_norm")


def _assert_same_update(got, want):
  (params, metrics), (want_params, want_metrics) = got, want
  jax.tree.map(lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-7),
               params, want_params)
  for key in METRICS + ("loss_first",):
    np.testing.assert_allclose(metrics[key], want_metrics[key], rtol=1e-5, atol=1e-7,
                               err_msg=key)


@pytest.mark.parametrize("aggregation", ["paper", "token_mean", "constant"])
def test_chunk_weights_reproduce_every_aggregation(aggregation):
  """Σ_k w_k·aggregate(chunk k) = aggregate(all), with ragged lengths and an empty chunk."""
  rng = np.random.default_rng(1)
  values = rng.normal(size=(4, 3, 6)).astype(np.float32)
  mask = (np.arange(6) < rng.integers(0, 7, size=(4, 3, 1))).astype(np.float32)
  mask[2] = 0.0
  want = grpo_lib.aggregate_tokens(values, mask, aggregation=aggregation, constant_length=6)
  for k in (2, 4):
    chunks_v, chunks_m = values.reshape(k, 4 // k, 3, 6), mask.reshape(k, 4 // k, 3, 6)
    weights = grpo_step.chunk_loss_weights(jnp.asarray(chunks_m), aggregation)
    got = sum(w * grpo_lib.aggregate_tokens(v, m, aggregation=aggregation, constant_length=6)
              for w, v, m in zip(weights, chunks_v, chunks_m))
    np.testing.assert_allclose(got, want, rtol=1e-6)
    if k == 4 and aggregation != "constant":
      assert float(weights[2]) == 0.0       # question 2 has no loss token


def test_accumulated_gradient_equals_one_pass(rollout):
  """Eq. 3's aggregation; K = 4: one question a chunk, one chunk wholly out of the loss."""
  settings = dict(beta=0.04)
  want_grads, want = _minibatch_grad(rollout, **settings)
  assert want["clip_ratio"] > 0 and want["kl"] > 0      # both terms of Eq. 3 are active
  grads, metrics = _minibatch_grad(rollout, grad_accum_steps=4, **settings)
  jax.tree.map(lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-7),
               grads, want_grads)
  for key in set(METRICS) - {"grad_norm"}:
    np.testing.assert_allclose(metrics[key], want[key], rtol=1e-5, atol=1e-7, err_msg=key)
  # The weights matter: the two halves' own (unweighted) gradients do not sum to it.
  setup, params, batch = rollout
  halves = [_minibatch_grad((setup, params, {k: v[sl] for k, v in batch.items()}), **settings)[0]
            for sl in (slice(0, 2), slice(2, 4))]
  unweighted = halves[0]["lm_head"] + halves[1]["lm_head"]
  assert not np.allclose(unweighted, want_grads["lm_head"], rtol=1e-2)


def test_accumulation_with_minibatches_and_several_passes(rollout):
  """μ = 2 passes over M = 2 minibatches (4 optimizer updates), each accumulated over 2."""
  settings = dict(beta=0.04, num_updates=2, num_minibatches=2)
  want = _update(rollout, **settings)
  assert np.abs(want[0]["lm_head"] - np.asarray(rollout[1]["lm_head"])).max() > 1e-3
  _assert_same_update(_update(rollout, grad_accum_steps=2, **settings), want)


def test_accumulation_with_the_update_own_logprobs_as_pi_old(rollout):
  """μ·M = 1 (old_is_current): the sampler-vs-trainer metrics combine like the rest."""
  want = _update(rollout, beta=0.04, old_is_current=True)
  got = _update(rollout, beta=0.04, old_is_current=True, grad_accum_steps=2)
  _assert_same_update(got, want)
  for key in ("logprob_diff_sampler_trainer", "logprob_diff_sampler_trainer_max"):
    np.testing.assert_allclose(got[1][key], want[1][key], rtol=1e-5, err_msg=key)
  assert float(got[1]["ratio_max"]) == 1.0


def test_bad_grad_accum_steps_are_clear_errors(rollout):
  config = _grpo_config()            # 4 questions per step
  config.grpo.grad_accum_steps = 3
  with pytest.raises(ValueError, match=r"4 questions per minibatch .* not divisible by "
                                       r"config.grpo.grad_accum_steps=3"):
    grpo.check_config(config)
  config.grpo.num_minibatches = 2
  config.grpo.grad_accum_steps = 4
  with pytest.raises(ValueError, match=r"2 questions per minibatch .* "
                                       r"config.grpo.grad_accum_steps=4"):
    grpo.check_config(config)
  config.grpo.grad_accum_steps = 0
  with pytest.raises(ValueError, match="config.grpo.grad_accum_steps must be positive"):
    grpo.check_config(config)
  config.grpo.grad_accum_steps = 2
  grpo.check_config(config)
  assert grpo.settings_from_config(config).grad_accum_steps == 2
  with pytest.raises(ValueError, match="not divisible by grad_accum_steps=3"):
    _update(rollout, grad_accum_steps=3)
