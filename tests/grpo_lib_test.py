"""Tests of the GRPO math against plain NumPy references written with explicit loops."""

import itertools

import jax
from jax import ad_checkpoint
import jax.numpy as jnp
import numpy as np
import pytest

from deepseekmath_jax.rl import grpo_lib

# ----------------------------------------------------------------------------------------------
# NumPy references (loops over b, g, t; float64)
# ----------------------------------------------------------------------------------------------


def np_outcome_advantages(rewards, eps, scale_rewards):
  rewards = np.asarray(rewards, np.float64)
  B, G = rewards.shape
  out = np.zeros((B, G))
  batch_std = np.std(rewards, ddof=1)
  for b in range(B):
    r = rewards[b]
    if np.all(r == r[0]):
      continue
    mean = sum(r) / G
    std = np.sqrt(sum((x - mean)**2 for x in r) / (G - 1))
    denom = {"group": std + eps, "batch": batch_std + eps, "none": 1.0}[scale_rewards]
    for g in range(G):
      out[b, g] = (r[g] - mean) / denom
  return out


def np_process_advantages(step_rewards, step_end, step_mask, T, eps):
  B, G, S = step_rewards.shape
  out = np.zeros((B, G, T))
  for b in range(B):
    values = [step_rewards[b, g, s] for g in range(G) for s in range(S) if step_mask[b, g, s]]
    if len(set(values)) <= 1:
      continue
    mean = np.mean(values)
    std = np.std(values, ddof=1)
    for g in range(G):
      for t in range(T):
        for s in range(S):
          if step_mask[b, g, s] and step_end[b, g, s] >= t:
            out[b, g, t] += (step_rewards[b, g, s] - mean) / (std + eps)
  return out


def np_grpo_loss_and_grad(logp, old, ref, adv, mask, *, epsilon, beta, aggregation,
                          epsilon_high=None, kl_estimator="k3", constant_length=None,
                          dual_clip=None):
  """Loss and its analytic gradient w.r.t. logp, token by token."""
  B, G, T = logp.shape
  eps_high = epsilon if epsilon_high is None else epsilon_high
  lengths = mask.sum(-1)
  num_nonempty = int((lengths > 0).sum())
  weight = np.zeros((B, G, T))  # d loss / d (per-token loss)
  for b, g, t in itertools.product(range(B), range(G), range(T)):
    if not mask[b, g, t]:
      continue
    if aggregation == "paper":
      weight[b, g, t] = 1.0 / (num_nonempty * lengths[b, g])
    elif aggregation == "token_mean":
      weight[b, g, t] = 1.0 / mask.sum()
    else:
      weight[b, g, t] = 1.0 / (B * G * (constant_length or T))
  loss = 0.0
  grad = np.zeros((B, G, T))
  for b, g, t in itertools.product(range(B), range(G), range(T)):
    if not mask[b, g, t]:
      continue
    a = adv[b, g, t]
    rho = np.exp(logp[b, g, t] - old[b, g, t])
    unclipped = rho * a
    clipped = min(max(rho, 1 - epsilon), 1 + eps_high) * a
    if unclipped <= clipped:
      pg, dpg = unclipped, rho * a
    else:  # The clipped branch is active: ρ is outside the range, so no gradient.
      pg, dpg = clipped, 0.0
    if dual_clip is not None and a < 0 and pg < dual_clip * a:
      pg, dpg = dual_clip * a, 0.0
    delta = ref[b, g, t] - logp[b, g, t]
    if kl_estimator == "k3":
      kl, dkl = np.exp(delta) - delta - 1, 1 - np.exp(delta)
    elif kl_estimator == "k2":
      kl, dkl = 0.5 * delta**2, -delta
    else:
      kl, dkl = -delta, 1.0
    loss += weight[b, g, t] * -(pg - beta * kl)
    grad[b, g, t] = weight[b, g, t] * -(dpg - beta * dkl)
  return loss, grad


def np_log_softmax(logits):
  logits = np.asarray(logits, np.float64)
  m = logits.max(-1, keepdims=True)
  return logits - m - np.log(np.exp(logits - m).sum(-1, keepdims=True))


# ----------------------------------------------------------------------------------------------
# Fixtures
# ----------------------------------------------------------------------------------------------


def make_loss_inputs(seed=0, B=2, G=3, T=6):
  rng = np.random.default_rng(seed)
  logp = rng.uniform(-3.0, -0.1, (B, G, T))
  # Log-ratios from -0.7 to 0.5: ρ from 0.5 to 1.65, both clip sides and the inside.
  old = logp - rng.uniform(-0.7, 0.5, (B, G, T))
  ref = logp + rng.uniform(-1.0, 1.0, (B, G, T))
  adv = np.repeat(rng.normal(size=(B, G, 1)), T, axis=-1)
  adv[0, 0] = 0.0
  lengths = rng.integers(1, T + 1, (B, G))
  lengths[0, 1] = T
  lengths[1, 2] = 0  # An empty (fully masked) sample.
  mask = (np.arange(T) < lengths[..., None]).astype(np.float64)
  return logp, old, ref, adv, mask


# ----------------------------------------------------------------------------------------------
# Outcome advantages
# ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("scale_rewards", ["group", "batch", "none"])
def test_outcome_advantages_match_numpy(scale_rewards):
  rng = np.random.default_rng(1)
  rewards = rng.integers(0, 3, (5, 4)).astype(np.float64)
  rewards[1] = 0.1  # All equal: the float mean is not exactly 0.1.
  rewards[2] = [0.0, 0.0, 1.0, 0.0]
  got = grpo_lib.outcome_advantages(rewards, eps=1e-4, scale_rewards=scale_rewards)
  assert got.shape == (5, 4) and got.dtype == jnp.float32
  np.testing.assert_allclose(got, np_outcome_advantages(rewards, 1e-4, scale_rewards),
                             rtol=1e-5, atol=1e-6)
  np.testing.assert_allclose(np.asarray(got).sum(-1), 0.0, atol=1e-5)
  assert np.all(np.asarray(got)[1] == 0.0)


def test_outcome_advantages_known_values():
  # Sample std of {0, 0, 1, 1} is sqrt(1/3): advantages ±0.5 / 0.57735.
  got = grpo_lib.outcome_advantages(jnp.array([[0.0, 0.0, 1.0, 1.0]]), eps=0.0)
  np.testing.assert_allclose(got, [[-0.8660254, -0.8660254, 0.8660254, 0.8660254]], rtol=1e-6)
  population = grpo_lib.outcome_advantages(jnp.array([[0.0, 0.0, 1.0, 1.0]]), eps=0.0, ddof=0)
  np.testing.assert_allclose(population, [[-1.0, -1.0, 1.0, 1.0]], rtol=1e-6)


def test_outcome_advantages_valid_mask_and_groups_of_one():
  rewards = jnp.array([[1.0, 0.0, 5.0, 7.0], [3.0, 9.0, 9.0, 9.0]])
  valid = jnp.array([[True, True, False, False], [True, False, False, False]])
  got = np.asarray(grpo_lib.outcome_advantages(rewards, eps=1e-4, valid_BxG=valid))
  expected_first = np_outcome_advantages(np.array([[1.0, 0.0]]), 1e-4, "group")[0]
  np.testing.assert_allclose(got[0, :2], expected_first, rtol=1e-5)
  assert np.all(got[0, 2:] == 0.0)
  assert np.all(got[1] == 0.0)  # One valid sample: nothing to compare with.
  single = grpo_lib.outcome_advantages(jnp.array([[2.0], [5.0]]), eps=1e-4)
  assert np.all(np.asarray(single) == 0.0)


def test_outcome_advantages_vmap_over_groups_does_not_unroll():
  def num_eqns(B):
    jaxpr = jax.make_jaxpr(lambda r: grpo_lib.outcome_advantages(r, eps=1e-4))(
        jnp.zeros((B, 4)))
    text = str(jaxpr)
    return len(text.splitlines()), text

  small, _ = num_eqns(2)
  large, text = num_eqns(64)
  assert small == large  # The program does not grow with the number of groups.
  assert "f32[64,4]" in text


def test_reward_metrics():
  rewards = jnp.array([[1.0, 1.0, 1.0], [0.0, 1.0, 2.0]])
  m = grpo_lib.reward_metrics(rewards)
  np.testing.assert_allclose(m["reward_mean"], 1.0)
  np.testing.assert_allclose(m["reward_std"], 0.5)  # (0 + 1) / 2
  np.testing.assert_allclose(m["frac_reward_zero_std"], 0.5)


def test_bad_choices_raise():
  with pytest.raises(ValueError, match="scale_rewards"):
    grpo_lib.outcome_advantages(jnp.zeros((2, 2)), eps=1e-4, scale_rewards="std")
  inputs = [jnp.zeros((1, 2, 3))] * 5
  with pytest.raises(ValueError, match="aggregation"):
    grpo_lib.grpo_loss(*inputs, epsilon=0.2, beta=0.0, aggregation="sum")
  with pytest.raises(ValueError, match="kl_estimator"):
    grpo_lib.grpo_loss(*inputs, epsilon=0.2, beta=0.0, kl_estimator="k4")
  with pytest.raises(ValueError, match="shape"):
    grpo_lib.grpo_loss(*inputs[:4], jnp.zeros((1, 2, 4)), epsilon=0.2, beta=0.0)


# ----------------------------------------------------------------------------------------------
# Process advantages
# ----------------------------------------------------------------------------------------------


def test_process_advantages_match_numpy():
  rng = np.random.default_rng(2)
  B, G, S, T = 3, 2, 4, 9
  step_rewards = rng.uniform(0, 1, (B, G, S))
  step_end = np.sort(rng.integers(0, T, (B, G, S)), axis=-1)
  step_mask = rng.uniform(size=(B, G, S)) < 0.8
  step_mask[0, 0] = True
  step_end[0, 0, -1] = T + 3  # Past the end: covers every token, like T - 1.
  step_end[0, 1, 0] = -1  # A negative end covers no token.
  step_rewards[2] = 0.7  # All equal.
  got = grpo_lib.process_advantages(step_rewards, step_end, step_mask, T, eps=1e-4)
  assert got.shape == (B, G, T)
  np.testing.assert_allclose(
      got, np_process_advantages(step_rewards, step_end, step_mask, T, 1e-4), rtol=1e-5,
      atol=1e-5)
  assert np.all(np.asarray(got)[2] == 0.0)


def test_process_advantages_example():
  # One question, two samples; steps end at tokens 1 and 3 of sample 0 and token 2 of sample 1.
  step_rewards = jnp.array([[[1.0, 0.0], [2.0, 0.0]]])
  step_end = jnp.array([[[1, 3], [2, 0]]])
  step_mask = jnp.array([[[True, True], [True, False]]])
  got = grpo_lib.process_advantages(step_rewards, step_end, step_mask, 5, eps=0.0)
  # R = {1, 0, 2}: mean 1, sample std 1, so r̃ = {0, -1, 1}.
  np.testing.assert_allclose(got, [[[-1, -1, -1, -1, 0], [1, 1, 1, 0, 0]]], atol=1e-6)


# ----------------------------------------------------------------------------------------------
# Loss
# ----------------------------------------------------------------------------------------------

# Every aggregation with and without ε_high, every KL estimator under two aggregations (the
# estimator and the aggregation are independent code paths), and the optional knobs.
LOSS_CASES = [
    dict(aggregation=agg, kl_estimator="k3", epsilon_high=eh)
    for agg in grpo_lib.AGGREGATIONS for eh in (None, 0.28)
] + [
    dict(aggregation=agg, kl_estimator=kl, epsilon_high=eh)
    for kl in ("k1", "k2") for agg, eh in (("paper", None), ("token_mean", 0.28))
] + [
    dict(aggregation="constant", kl_estimator="k3", constant_length=10),
    dict(aggregation="paper", kl_estimator="k3", dual_clip=1.5),
]


def test_numpy_reference_gradient_matches_finite_differences():
  logp, old, ref, adv, mask = make_loss_inputs(seed=3)
  kw = dict(epsilon=0.2, beta=0.3, aggregation="paper", epsilon_high=0.28)
  _, grad = np_grpo_loss_and_grad(logp, old, ref, adv, mask, **kw)
  h = 1e-6
  for b, g, t in itertools.product(*map(range, logp.shape)):
    bump = np.zeros_like(logp)
    bump[b, g, t] = h
    up, _ = np_grpo_loss_and_grad(logp + bump, old, ref, adv, mask, **kw)
    down, _ = np_grpo_loss_and_grad(logp - bump, old, ref, adv, mask, **kw)
    np.testing.assert_allclose((up - down) / (2 * h), grad[b, g, t], atol=1e-6)


@pytest.mark.parametrize("case", LOSS_CASES, ids=lambda c: "-".join(map(str, c.values())))
def test_grpo_loss_and_gradient_match_numpy(case):
  logp, old, ref, adv, mask = make_loss_inputs(seed=4)
  expected_loss, expected_grad = np_grpo_loss_and_grad(logp, old, ref, adv, mask, epsilon=0.2,
                                                       beta=0.04, **case)
  loss_fn = lambda lp: grpo_lib.grpo_loss(lp, old, ref, adv, mask, epsilon=0.2, beta=0.04, **case)
  # One jit around value_and_grad: a single compilation per case.
  (loss, metrics), grad = jax.jit(jax.value_and_grad(loss_fn, has_aux=True))(jnp.asarray(logp))
  np.testing.assert_allclose(loss, expected_loss, rtol=1e-5, atol=1e-7)
  np.testing.assert_allclose(grad, expected_grad, rtol=1e-4, atol=1e-7)
  np.testing.assert_allclose(metrics["objective"], -expected_loss, rtol=1e-5, atol=1e-7)
  assert np.all(np.asarray(grad)[mask == 0] == 0.0)


def test_grpo_loss_metrics():
  logp, old, ref, adv, mask = make_loss_inputs(seed=5)
  _, m = grpo_lib.grpo_loss(logp, old, ref, adv, mask, epsilon=0.2, beta=0.04)
  on = mask > 0
  rho = np.exp(logp - old)
  low = (rho < 0.8) & (adv < 0) & on
  high = (rho > 1.2) & (adv > 0) & on
  assert low.any() and high.any()  # The fixture exercises both sides.
  np.testing.assert_allclose(m["clip_ratio/low"], low.sum() / on.sum(), rtol=1e-6)
  np.testing.assert_allclose(m["clip_ratio/high"], high.sum() / on.sum(), rtol=1e-6)
  np.testing.assert_allclose(m["clip_ratio"], (low | high).sum() / on.sum(), rtol=1e-6)
  np.testing.assert_allclose(m["ratio_mean"], rho[on].mean(), rtol=1e-5)
  np.testing.assert_allclose(m["ratio_max"], rho[on].max(), rtol=1e-5)
  np.testing.assert_allclose(m["ratio_min"], rho[on].min(), rtol=1e-5)
  delta = ref - logp
  np.testing.assert_allclose(m["kl"], (np.exp(delta) - delta - 1)[on].mean(), rtol=1e-5)
  np.testing.assert_allclose(m["num_tokens"], on.sum())
  np.testing.assert_allclose(m["loss"], m["pg_loss"] + 0.04 * m["kl_loss"], rtol=1e-6)
  assert m["clip_ratio/dual"] == 0.0
  assert all(v.shape == () and v.dtype == jnp.float32 for v in m.values())


def test_mu_one_gradient_is_paper_eq21():
  # With π_old = π_θ (μ = 1) the gradient of the negated Eq. 3 objective is, per token,
  # -(1/(B·G))(1/|o_i|)(Â_{i,t} + β(π_ref/π_θ - 1)) (Eq. 21, arXiv:2402.03300).
  logp, _, ref, _, mask = make_loss_inputs(seed=6)
  B, G, _ = logp.shape
  mask[1, 2, :2] = 1.0  # No empty sample: 1/G exactly as in the paper.
  adv = np.asarray(
      grpo_lib.broadcast_advantages(np.random.default_rng(7).normal(size=(B, G)), mask))

  def loss_fn(lp, beta):
    return grpo_lib.grpo_loss(lp, jax.lax.stop_gradient(lp), ref, adv, mask, epsilon=0.2,
                              beta=beta)[0]

  grad_fn = jax.jit(jax.grad(loss_fn))
  lengths = mask.sum(-1, keepdims=True)
  for beta in (0.0, 0.04, 0.5):
    grad = np.asarray(grad_fn(jnp.asarray(logp), beta))
    eq21 = -(1.0 / (B * G)) / lengths * (adv + beta * (np.exp(ref - logp) - 1.0)) * mask
    np.testing.assert_allclose(grad, eq21, rtol=1e-5, atol=1e-8)


@pytest.mark.parametrize("kl_estimator", grpo_lib.KL_ESTIMATORS)
def test_extreme_log_ratios_are_finite(kl_estimator):
  B, G, T = 1, 2, 4
  logp = jnp.array([[[0.0, -1e4, 0.0, -1e4], [-1e4, 0.0, -1.0, -2.0]]])
  old = jnp.array([[[-1e4, 0.0, 0.0, -1e4], [0.0, -1e4, -1.0, -2.0]]])
  ref = jnp.array([[[-1e4, 0.0, 1e4, -1e4], [0.0, -1e4, -1.0, -2.0]]])
  adv = jnp.array([[[1.0, -1.0, 0.0, 1.0], [-1.0, 1.0, 0.0, 2.0]]])
  mask = jnp.ones((B, G, T))

  def loss_fn(lp):
    return grpo_lib.grpo_loss(lp, old, ref, adv, mask, epsilon=0.2, beta=0.04,
                              kl_estimator=kl_estimator)

  (loss, metrics), grad = jax.jit(jax.value_and_grad(loss_fn, has_aux=True))(logp)
  assert np.isfinite(loss)
  assert np.all(np.isfinite(grad))
  assert all(np.isfinite(v) for v in metrics.values())


def test_masked_positions_may_hold_garbage():
  logp, old, ref, adv, mask = make_loss_inputs(seed=8)
  off = mask == 0
  dirty = [x.copy() for x in (logp, old, ref, adv)]
  dirty[0][off], dirty[1][off], dirty[2][off], dirty[3][off] = -np.inf, np.nan, -np.inf, np.nan
  loss_fn = lambda lp, o, r, a: grpo_lib.grpo_loss(lp, o, r, a, mask, epsilon=0.2, beta=0.04)[0]
  value_and_grad = jax.jit(jax.value_and_grad(loss_fn))
  clean_loss, clean_grad = value_and_grad(logp, old, ref, adv)
  dirty_loss, dirty_grad = value_and_grad(*dirty)
  np.testing.assert_allclose(dirty_loss, clean_loss, rtol=1e-6)
  np.testing.assert_allclose(dirty_grad, clean_grad, rtol=1e-6)


def test_paper_aggregation_skips_empty_samples_and_loss_jits():
  logp, old, ref, adv, mask = make_loss_inputs(seed=9)
  mask_no_pad, padded = mask[:1], np.concatenate([mask[:1], np.zeros_like(mask[:1])])

  @jax.jit
  def paper_loss(logp, old, ref, adv, mask):
    return grpo_lib.grpo_loss(logp, old, ref, adv, mask, epsilon=0.2, beta=0.04)[0]

  one = paper_loss(logp[:1], old[:1], ref[:1], adv[:1], mask_no_pad)
  two = paper_loss(logp, old, ref, adv, padded)  # Second question is all padding.
  np.testing.assert_allclose(one, two, rtol=1e-6)


def test_aggregate_tokens_known_values():
  values = jnp.array([[[1.0, 2.0, 3.0], [4.0, 0.0, 0.0]]])
  mask = jnp.array([[[1.0, 1.0, 1.0], [1.0, 0.0, 0.0]]])
  paper, token_mean, constant, constant5 = jax.jit(lambda v, m: [
      grpo_lib.aggregate_tokens(v, m, aggregation=a, constant_length=n)
      for a, n in (("paper", None), ("token_mean", None), ("constant", None), ("constant", 5))
  ])(values, mask)
  assert float(paper) == pytest.approx((2.0 + 4.0) / 2)
  assert float(token_mean) == pytest.approx(10.0 / 4)
  assert float(constant) == pytest.approx(10.0 / (2 * 3))
  assert float(constant5) == pytest.approx(10.0 / (2 * 5))


def test_masks_and_broadcast():
  mask = grpo_lib.sequence_mask(jnp.array([[0, 2], [3, 1]]), 3)
  np.testing.assert_array_equal(mask, [[[0, 0, 0], [1, 1, 0]], [[1, 1, 1], [1, 0, 0]]])
  adv = grpo_lib.broadcast_advantages(jnp.array([[5.0, -1.0], [2.0, 0.5]]), mask)
  np.testing.assert_allclose(adv, [[[0, 0, 0], [-1, -1, 0]], [[2, 2, 2], [0.5, 0, 0]]])


# ----------------------------------------------------------------------------------------------
# Token log-probs and entropy
# ----------------------------------------------------------------------------------------------


def make_logits(dtype, B=2, T=7, V=11, seed=10):
  rng = np.random.default_rng(seed)
  logits = jnp.asarray(rng.normal(scale=3.0, size=(B, T, V)), dtype)
  targets = jnp.asarray(rng.integers(0, V, (B, T)))
  return logits, targets


def np_logprobs_and_entropy(logits, targets, temperature):
  logsm = np_log_softmax(np.asarray(logits.astype(jnp.float32), np.float64) / temperature)
  logp = np.zeros(targets.shape)
  entropy = np.zeros(targets.shape)
  for b, t in itertools.product(*map(range, targets.shape)):
    logp[b, t] = logsm[b, t, targets[b, t]]
    entropy[b, t] = -np.sum(np.exp(logsm[b, t]) * logsm[b, t])
  return logp, entropy


def test_token_logprobs_and_entropy_chunked_equal_unchunked_equal_numpy():
  logits, targets = make_logits(jnp.float32)
  expected_logp, expected_entropy = np_logprobs_and_entropy(logits, targets, 0.7)

  @jax.jit  # One compilation for all variants.
  def all_variants(logits, targets):
    out = {}
    for chunk_size in (None, 3):  # 3 does not divide T = 7: the padded path.
      kw = dict(chunk_size=chunk_size, temperature=0.7)
      out[f"logp_{chunk_size}"] = grpo_lib.token_logprobs(logits, targets, **kw)
      out[f"entropy_{chunk_size}"] = grpo_lib.token_entropy(logits, **kw)
    out["logp_both"], out["entropy_both"] = grpo_lib.token_logprobs_and_entropy(
        logits, targets, chunk_size=3, temperature=0.7)
    return out

  for name, value in all_variants(logits, targets).items():
    assert value.dtype == jnp.float32 and value.shape == targets.shape
    expected = expected_logp if name.startswith("logp") else expected_entropy
    np.testing.assert_allclose(value, expected, rtol=1e-5, atol=1e-5, err_msg=name)


def test_token_logprobs_from_bf16_logits_are_fp32():
  logits, targets = make_logits(jnp.bfloat16)
  expected_logp, expected_entropy = np_logprobs_and_entropy(logits, targets, 1.0)
  logp, entropy = grpo_lib.token_logprobs_and_entropy(logits, targets, chunk_size=3)
  assert logp.dtype == entropy.dtype == jnp.float32
  # The bf16 values are exact in fp32, so the only error is fp32 arithmetic.
  np.testing.assert_allclose(logp, expected_logp, rtol=1e-5, atol=1e-5)
  np.testing.assert_allclose(entropy, expected_entropy, rtol=1e-5, atol=1e-5)


def test_token_logprobs_gradient_chunked_equals_unchunked():
  logits, targets = make_logits(jnp.float32)
  weights = jnp.asarray(np.random.default_rng(11).normal(size=targets.shape))

  def grad(chunk_size):
    f = lambda x: jnp.sum(weights * grpo_lib.token_logprobs(x, targets, chunk_size=chunk_size))
    return jax.jit(jax.grad(f))(logits)

  expected = np.asarray(grad(None))
  # d logp_t / d logits = onehot(target) - softmax.
  probs = np.exp(np_log_softmax(np.asarray(logits)))
  onehot = np.eye(logits.shape[-1])[np.asarray(targets)]
  np.testing.assert_allclose(expected, np.asarray(weights)[..., None] * (onehot - probs),
                             rtol=1e-5, atol=1e-6)
  np.testing.assert_allclose(grad(3), expected, rtol=1e-6, atol=1e-7)


def test_token_logprobs_keeps_no_fp32_vocab_residual(capsys):
  logits, targets = make_logits(jnp.bfloat16, T=8, V=32)
  for chunk_size in (None, 4):
    ad_checkpoint.print_saved_residuals(
        lambda x: grpo_lib.token_logprobs(x, targets, chunk_size=chunk_size).sum(), logits)
  saved = capsys.readouterr().out
  assert "bf16[2,8,32]" in saved  # The input logits, in their own dtype.
  assert "f32[2,8,32]" not in saved and "f32[2,4,32]" not in saved
