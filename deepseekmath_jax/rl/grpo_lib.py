"""GRPO math as pure, jit-able functions (arXiv:2402.03300 §4.1).

Everything here is a pure function of arrays: group-relative advantages (outcome and process
supervision), the clipped GRPO surrogate with the KL to the reference policy inside the loss,
token log-probs and entropies from logits, and the masks that tie them together. The GRPO trainer
composes them inside one jitted step. Per-group work (statistics over the G samples of one
question) is `jax.vmap` over the group axis, so the traced program does not grow with the number
of questions.

Shape suffixes: B questions (= groups), G samples per question, T completion tokens, S reasoning
steps, V vocabulary.

Written by hand: optax and chex have no RL objectives, and the peers' versions (TRL, verl) are
PyTorch, while Tunix computes advantages with host NumPy.

Choices the paper leaves open (§4.1.2-§4.1.3 give no estimator, epsilon or clip value):
- Std estimator: the sample std (ddof=1) by default, because TRL and verl use `torch.std`
  (unbiased); with the same rewards our advantages then equal theirs, and training curves can be
  compared. `ddof=0` gives the population std.
- `eps` is added to the std, not to the variance, as in TRL and verl.
- A group whose rewards are all equal gets advantages of exactly 0. This is decided by
  max == min, not through the float mean, which can differ from the common value in the last bit
  (three rewards of 0.1 have mean 0.10000000000000002).
- Log-ratios are clamped to [-log_ratio_clamp, log_ratio_clamp] (20 by default) before `exp`, for
  the importance ratio and for the KL, so neither can overflow (the k3 `exp` overflow of TRL
  issue #3015). Past the clamp the gradient through that term is 0.
"""

from __future__ import annotations

import functools
from typing import Callable, Literal

import jax
import jax.numpy as jnp

ScaleRewards = Literal["group", "batch", "none"]
Aggregation = Literal["paper", "token_mean", "constant"]
KLEstimator = Literal["k1", "k2", "k3"]

SCALE_REWARDS: tuple[str, ...] = ("group", "batch", "none")
AGGREGATIONS: tuple[str, ...] = ("paper", "token_mean", "constant")
KL_ESTIMATORS: tuple[str, ...] = ("k1", "k2", "k3")


def _check_choice(name: str, value: str, choices: tuple[str, ...]) -> None:
  if value not in choices:
    raise ValueError(f"{name}={value!r} is not one of {choices}")


def _masked_stats(x_N: jax.Array, valid_N: jax.Array,
                  ddof: int) -> tuple[jax.Array, jax.Array, jax.Array]:
  """Mean, std and an all-equal flag over the valid entries of a 1-D array.

  The all-equal flag is also true with fewer than two valid entries, whose centered values are 0.
  """
  validf_N = valid_N.astype(jnp.float32)
  n = validf_N.sum()
  mean = jnp.sum(x_N * validf_N) / jnp.maximum(n, 1.0)
  var = jnp.sum(jnp.square(x_N - mean) * validf_N) / jnp.maximum(n - ddof, 1.0)
  x_max = jnp.max(jnp.where(valid_N, x_N, -jnp.inf))
  x_min = jnp.min(jnp.where(valid_N, x_N, jnp.inf))
  return mean, jnp.sqrt(var), x_max <= x_min


def _valid_or_all(valid: jax.Array | None, shape: tuple[int, ...]) -> jax.Array:
  if valid is None:
    return jnp.ones(shape, bool)
  return jnp.broadcast_to(jnp.asarray(valid).astype(bool), shape)


# ----------------------------------------------------------------------------------------------
# Advantages
# ----------------------------------------------------------------------------------------------


@functools.partial(jax.jit, static_argnames=("scale_rewards", "ddof"))
def outcome_advantages(rewards_BxG: jax.Array,
                       *,
                       eps: float,
                       scale_rewards: ScaleRewards = "group",
                       valid_BxG: jax.Array | None = None,
                       ddof: int = 1) -> jax.Array:
  """Outcome-supervision advantages, one value per sample (§4.1.2, arXiv:2402.03300).

  Â_i = (r_i - mean(r)) / (std(r) + eps) over the G samples of a question; every token of o_i
  gets Â_i (see `broadcast_advantages`).

  Args:
    rewards_BxG: scalar reward of each of the G samples of each of the B questions.
    eps: added to the std; TRL uses 1e-4, verl 1e-6.
    scale_rewards: "group" divides by the group's std (the paper); "batch" centers per group and
      divides by the std of all rewards of the batch (TRL's `scale_rewards="batch"`, "Lite PPO");
      "none" only centers (Dr. GRPO, arXiv:2503.20783), and `eps` is then unused.
    valid_BxG: optional; false marks padding samples. They get advantage 0 and are left out of
      every mean and std.
    ddof: 1 for the sample std (default, as TRL and verl), 0 for the population std.

  Returns:
    float32 [B, G] advantages. A group whose valid rewards are all equal, or that has fewer than
    two valid samples, gets exactly 0.
  """
  _check_choice("scale_rewards", scale_rewards, SCALE_REWARDS)
  rewards_BxG = jnp.asarray(rewards_BxG, jnp.float32)
  if rewards_BxG.ndim != 2:
    raise ValueError(f"rewards_BxG must be [B, G]; got shape {rewards_BxG.shape}")
  valid_BxG = _valid_or_all(valid_BxG, rewards_BxG.shape)
  if scale_rewards == "batch":
    _, batch_std, _ = _masked_stats(rewards_BxG.reshape(-1), valid_BxG.reshape(-1), ddof)

  def one_group(rewards_G, valid_G):
    mean, std, all_equal = _masked_stats(rewards_G, valid_G, ddof)
    if scale_rewards == "group":
      denom = std + eps
    elif scale_rewards == "batch":
      denom = batch_std + eps
    else:
      denom = 1.0
    adv_G = (rewards_G - mean) / denom
    return jnp.where(valid_G & ~all_equal, adv_G, 0.0)

  return jax.vmap(one_group)(rewards_BxG, valid_BxG)


@functools.partial(jax.jit, static_argnames=("T", "ddof"))
def process_advantages(step_rewards_BxGxS: jax.Array,
                       step_end_BxGxS: jax.Array,
                       step_mask_BxGxS: jax.Array,
                       T: int,
                       *,
                       eps: float,
                       ddof: int = 1) -> jax.Array:
  """Process-supervision advantages per token (§4.1.3, arXiv:2402.03300).

  Step rewards are normalized over all valid steps of all G samples of a question,
  r̃ = (r - mean(R)) / (std(R) + eps); then Â_{i,t} = Σ_{index(j) >= t} r̃_i^{index(j)}, the sum
  over the steps that end at or after token t (a reverse cumulative sum over step ends).

  Args:
    step_rewards_BxGxS: process-reward-model score of each step, padded to S steps.
    step_end_BxGxS: int index (0-based, into the T completion tokens) of each step's last token.
      A step ending at or past T covers every token; a negative end covers none.
    step_mask_BxGxS: true for real steps, false for padding.
    T: number of completion tokens of the output.
    eps: added to the std.
    ddof: 1 for the sample std (default, as for outcome supervision), 0 for the population std.

  Returns:
    float32 [B, G, T]. Tokens after a sample's last step get 0. A group whose step rewards are
    all equal gets 0 everywhere.
  """
  step_rewards_BxGxS = jnp.asarray(step_rewards_BxGxS, jnp.float32)
  shape = step_rewards_BxGxS.shape
  if len(shape) != 3 or jnp.shape(step_end_BxGxS) != shape or jnp.shape(step_mask_BxGxS) != shape:
    raise ValueError("step_rewards, step_end and step_mask must share one [B, G, S] shape; got "
                     f"{shape}, {jnp.shape(step_end_BxGxS)}, {jnp.shape(step_mask_BxGxS)}")
  step_mask_BxGxS = jnp.asarray(step_mask_BxGxS).astype(bool)
  # A step ending at or after T covers the same tokens as one ending at T - 1; a negative end
  # (sent to T, then dropped by the scatter) covers none.
  step_end_BxGxS = jnp.asarray(step_end_BxGxS, jnp.int32)
  step_end_BxGxS = jnp.where(step_end_BxGxS < 0, T, jnp.minimum(step_end_BxGxS, T - 1))

  def scatter_to_ends(end_S, value_S):
    return jnp.zeros((T,), jnp.float32).at[end_S].add(value_S, mode="drop")

  def one_group(rewards_GxS, end_GxS, mask_GxS):
    # Normalize over the whole group's steps, R = {{r_i^index(j)}} (§4.1.3).
    mean, std, all_equal = _masked_stats(rewards_GxS.reshape(-1), mask_GxS.reshape(-1), ddof)
    normalized_GxS = jnp.where(mask_GxS & ~all_equal, (rewards_GxS - mean) / (std + eps), 0.0)
    at_end_GxT = jax.vmap(scatter_to_ends)(end_GxS, normalized_GxS)
    return jax.lax.cumsum(at_end_GxT, axis=1, reverse=True)

  return jax.vmap(one_group)(step_rewards_BxGxS, step_end_BxGxS, step_mask_BxGxS)


@jax.jit
def reward_metrics(rewards_BxG: jax.Array) -> dict[str, jax.Array]:
  """Reward statistics named as TRL logs them, so curves can be compared.

  Returns:
    reward_mean (over all samples), reward_std (the mean over groups of the group's sample std,
    TRL's `reward_std`) and frac_reward_zero_std (fraction of groups whose rewards are all equal:
    they get zero advantage and no policy-gradient signal).
  """
  rewards_BxG = jnp.asarray(rewards_BxG, jnp.float32)
  valid_BxG = jnp.ones(rewards_BxG.shape, bool)
  _, std_B, all_equal_B = jax.vmap(functools.partial(_masked_stats, ddof=1))(rewards_BxG,
                                                                              valid_BxG)
  return {
      "reward_mean": rewards_BxG.mean(),
      "reward_std": std_B.mean(),
      "frac_reward_zero_std": all_equal_B.astype(jnp.float32).mean(),
  }


def sequence_mask(lengths_BxG: jax.Array, T: int, dtype: jnp.dtype = jnp.float32) -> jax.Array:
  """[B, G, T] mask of the first `lengths` tokens of each completion."""
  lengths_BxG = jnp.asarray(lengths_BxG)
  return (jnp.arange(T) < lengths_BxG[..., None]).astype(dtype)


def broadcast_advantages(adv_BxG: jax.Array, mask_BxGxT: jax.Array) -> jax.Array:
  """Gives every valid token of o_i the sample's advantage Â_i (§4.1.2); 0 on padding."""
  return jnp.asarray(adv_BxG, jnp.float32)[..., None] * jnp.asarray(mask_BxGxT, jnp.float32)


# ----------------------------------------------------------------------------------------------
# Loss
# ----------------------------------------------------------------------------------------------


def kl_penalty(logp: jax.Array, ref_logp: jax.Array, *, kl_estimator: KLEstimator = "k3",
               log_ratio_clamp: float = 20.0) -> jax.Array:
  """Per-token estimate of D_KL[π_θ || π_ref] from the sampled tokens' log-probs.

  With Δ = log π_ref - log π_θ (clamped to ±log_ratio_clamp):
    k3 = exp(Δ) - Δ - 1 (Eq. 4, arXiv:2402.03300; Schulman 2020, unbiased and >= 0),
    k1 = -Δ (unbiased, can be negative), k2 = Δ²/2 (biased, >= 0).
  """
  _check_choice("kl_estimator", kl_estimator, KL_ESTIMATORS)
  delta = jnp.clip(ref_logp - logp, -log_ratio_clamp, log_ratio_clamp)
  if kl_estimator == "k3":
    return jnp.exp(delta) - delta - 1.0
  if kl_estimator == "k2":
    return 0.5 * jnp.square(delta)
  return -delta


def aggregate_tokens(values_BxGxT: jax.Array, mask_BxGxT: jax.Array, *,
                     aggregation: Aggregation = "paper",
                     constant_length: int | None = None) -> jax.Array:
  """Reduces per-token values to a scalar the way GRPO variants average their loss.

  - "paper" (Eq. 3, arXiv:2402.03300): (1/G) Σ_i (1/|o_i|) Σ_t, i.e. the mean over each sample's
    tokens, then the mean over samples and questions. Samples with no valid token (padding rows,
    overlong-masked samples) are left out of the sample mean, as in verl's seq-mean-token-mean;
    with none such this is exactly Eq. 3.
  - "token_mean" (DAPO, arXiv:2503.14476): the sum over all valid tokens / their number.
  - "constant" (Dr. GRPO, arXiv:2503.20783): the sum over all valid tokens / (B·G·L), with L =
    `constant_length` (the generation budget) or T when None; a normalizer that does not depend on
    the lengths, so it adds no length bias.
  """
  _check_choice("aggregation", aggregation, AGGREGATIONS)
  maskf_BxGxT = jnp.asarray(mask_BxGxT, jnp.float32)
  masked_BxGxT = values_BxGxT * maskf_BxGxT
  if aggregation == "paper":
    tokens_BxG = maskf_BxGxT.sum(-1)
    per_sample_BxG = masked_BxGxT.sum(-1) / jnp.maximum(tokens_BxG, 1.0)
    num_samples = (tokens_BxG > 0).sum()
    return per_sample_BxG.sum() / jnp.maximum(num_samples, 1).astype(jnp.float32)
  if aggregation == "token_mean":
    return masked_BxGxT.sum() / jnp.maximum(maskf_BxGxT.sum(), 1.0)
  B, G, T = values_BxGxT.shape
  length = T if constant_length is None else constant_length
  return masked_BxGxT.sum() / float(B * G * length)


@functools.partial(
    jax.jit,
    static_argnames=("aggregation", "epsilon_high", "kl_estimator", "constant_length",
                     "dual_clip"))
def grpo_loss(logp_BxGxT: jax.Array,
              old_logp_BxGxT: jax.Array,
              ref_logp_BxGxT: jax.Array,
              advantages_BxGxT: jax.Array,
              mask_BxGxT: jax.Array,
              *,
              epsilon: float,
              beta: float,
              aggregation: Aggregation = "paper",
              epsilon_high: float | None = None,
              kl_estimator: KLEstimator = "k3",
              constant_length: int | None = None,
              dual_clip: float | None = None,
              log_ratio_clamp: float = 20.0) -> tuple[jax.Array, dict[str, jax.Array]]:
  """The GRPO loss: the negated objective of Eq. 3, arXiv:2402.03300, to be minimized.

  Per token, J_t = min(ρ_t Â_t, clip(ρ_t, 1 - ε, 1 + ε_high) Â_t) - β D_KL[π_θ || π_ref]_t, with
  ρ_t = π_θ / π_θold = exp(logp - old_logp); the loss is -aggregate(J_t). With old_logp equal to
  logp in value (μ = 1) the gradient is the paper's Eq. 21, per token
  -(1/G)(1/|o_i|)(Â_{i,t} + β(π_ref/π_θ - 1)) ∇log π_θ under the "paper" aggregation.

  Only `logp` carries gradients: old_logp, ref_logp and advantages are treated as constants.
  Values at masked positions are ignored, even NaN or -inf.

  Args:
    logp_BxGxT: log π_θ of each sampled token under the policy being trained.
    old_logp_BxGxT: log π_θold of the same tokens, from the policy that sampled them.
    ref_logp_BxGxT: log π_ref of the same tokens, from the frozen reference.
    advantages_BxGxT: Â per token (`broadcast_advantages` or `process_advantages`).
    mask_BxGxT: 1 for completion tokens in the loss, 0 for padding (and masked samples).
    epsilon: clip range ε (the paper gives no value; 0.2 is the PPO default).
    beta: KL coefficient β (0.04 in the paper, §4.2).
    aggregation: "paper" | "token_mean" | "constant"; see `aggregate_tokens`.
    epsilon_high: upper clip ε_high (DAPO's clip-higher, 0.28 there); None means ε.
    kl_estimator: "k3" (the paper's Eq. 4) | "k1" | "k2"; see `kl_penalty`.
    constant_length: L of the "constant" aggregation; None means T.
    dual_clip: optional c > 1 of dual-clip PPO (verl's clip_ratio_c): for Â < 0 the objective
      is bounded below by c·Â, so a huge ratio cannot give a huge update.
    log_ratio_clamp: log-ratios are clamped to ±this before exp.

  Returns:
    (loss, metrics), metrics a dict of float32 scalars: loss, objective (= -loss), pg_loss and
    kl_loss (the two parts, aggregated alike, loss = pg_loss + β·kl_loss), kl (token mean of the
    estimator), clip_ratio (fraction of tokens whose clipped branch is active: ρ > 1 + ε_high with
    Â > 0, or ρ < 1 - ε with Â < 0, as TRL counts), clip_ratio/low, clip_ratio/high,
    clip_ratio/dual, ratio_mean, ratio_min, ratio_max, approx_kl_old (token mean of
    (logp - old_logp)²/2, the drift from π_θold), advantage_mean, num_tokens.
  """
  _check_choice("aggregation", aggregation, AGGREGATIONS)
  _check_choice("kl_estimator", kl_estimator, KL_ESTIMATORS)
  if dual_clip is not None and dual_clip <= 1.0:
    raise ValueError(f"dual_clip must be > 1 (verl uses 3.0); got {dual_clip}")
  shapes = [jnp.shape(x) for x in (logp_BxGxT, old_logp_BxGxT, ref_logp_BxGxT, advantages_BxGxT,
                                   mask_BxGxT)]
  if len(shapes[0]) != 3 or any(s != shapes[0] for s in shapes):
    raise ValueError("logp, old_logp, ref_logp, advantages and mask must share one [B, G, T] "
                     f"shape; got {shapes}")
  eps_low = epsilon
  eps_high = epsilon if epsilon_high is None else epsilon_high

  mask_BxGxT = jnp.asarray(mask_BxGxT).astype(bool)
  maskf_BxGxT = mask_BxGxT.astype(jnp.float32)

  def masked(x_BxGxT):
    # `where`, not a product: padding may hold -inf or NaN, and 0 * NaN is NaN.
    return jnp.where(mask_BxGxT, jnp.asarray(x_BxGxT, jnp.float32), 0.0)

  logp = masked(logp_BxGxT)
  old_logp = jax.lax.stop_gradient(masked(old_logp_BxGxT))
  ref_logp = jax.lax.stop_gradient(masked(ref_logp_BxGxT))
  adv = jax.lax.stop_gradient(masked(advantages_BxGxT))

  # ρ_{i,t} = π_θ / π_θold (Eq. 3); clamped so exp cannot overflow.
  log_ratio = jnp.clip(logp - old_logp, -log_ratio_clamp, log_ratio_clamp)
  ratio = jnp.exp(log_ratio)
  clipped = jnp.clip(ratio, 1.0 - eps_low, 1.0 + eps_high)
  pg_obj = jnp.minimum(ratio * adv, clipped * adv)
  if dual_clip is not None:
    dual_active = (adv < 0) & (pg_obj < dual_clip * adv)
    pg_obj = jnp.where(dual_active, dual_clip * adv, pg_obj)
  else:
    dual_active = jnp.zeros_like(mask_BxGxT)
  # The KL is inside the loss, not the reward (§4.1.1), so it needs no change to Â.
  kl = kl_penalty(logp, ref_logp, kl_estimator=kl_estimator, log_ratio_clamp=log_ratio_clamp)

  aggregate = functools.partial(aggregate_tokens, mask_BxGxT=maskf_BxGxT, aggregation=aggregation,
                                constant_length=constant_length)
  pg_loss = aggregate(-pg_obj)
  kl_loss = aggregate(kl)
  loss = pg_loss + beta * kl_loss

  num_tokens = maskf_BxGxT.sum()
  token_mean = lambda x: jnp.sum(x * maskf_BxGxT) / jnp.maximum(num_tokens, 1.0)
  ratio_sg = jax.lax.stop_gradient(ratio)
  clipped_low = (ratio_sg < 1.0 - eps_low) & (adv < 0)
  clipped_high = (ratio_sg > 1.0 + eps_high) & (adv > 0)
  any_token = num_tokens > 0
  metrics = {
      "loss": loss,
      "objective": -loss,
      "pg_loss": pg_loss,
      "kl_loss": kl_loss,
      "kl": token_mean(kl),
      "clip_ratio": token_mean(clipped_low | clipped_high),
      "clip_ratio/low": token_mean(clipped_low),
      "clip_ratio/high": token_mean(clipped_high),
      "clip_ratio/dual": token_mean(dual_active),
      "ratio_mean": token_mean(ratio_sg),
      "ratio_min": jnp.where(any_token, jnp.min(jnp.where(mask_BxGxT, ratio_sg, jnp.inf)), 1.0),
      "ratio_max": jnp.where(any_token, jnp.max(jnp.where(mask_BxGxT, ratio_sg, -jnp.inf)), 1.0),
      "approx_kl_old": token_mean(0.5 * jnp.square(jax.lax.stop_gradient(logp) - old_logp)),
      "advantage_mean": token_mean(adv),
      "num_tokens": num_tokens,
  }
  metrics = {k: jax.lax.stop_gradient(v).astype(jnp.float32) for k, v in metrics.items()}
  return loss, metrics


# ----------------------------------------------------------------------------------------------
# Token log-probs and entropies from logits
# ----------------------------------------------------------------------------------------------


def _map_time_chunks(fn: Callable[..., tuple[jax.Array, ...]], arrays: tuple[jax.Array, ...],
                     chunk_size: int | None) -> tuple[jax.Array, ...]:
  """Applies fn to slices [:, t:t+C] of arrays (time on axis 1); fn returns [B, C] arrays.

  fn runs under `jax.checkpoint`: the backward pass keeps only its inputs (the logits in their own
  dtype, often bf16) and recomputes the fp32 softmax, chunk by chunk, instead of storing a full
  fp32 [B, T, V] residual. Chunks go through `lax.map`, so at most one chunk's fp32 work is live.
  """
  fn = jax.checkpoint(fn)
  B, T = arrays[0].shape[:2]
  if chunk_size is None or chunk_size >= T:
    return fn(*arrays)
  if chunk_size < 1:
    raise ValueError(f"chunk_size must be >= 1 or None; got {chunk_size}")
  pad = -T % chunk_size
  num_chunks = (T + pad) // chunk_size

  def split(x):  # [B, T, ...] -> [N, B, C, ...]
    x = jnp.pad(x, [(0, 0), (0, pad)] + [(0, 0)] * (x.ndim - 2))
    x = x.reshape((B, num_chunks, chunk_size) + x.shape[2:])
    return jnp.moveaxis(x, 1, 0)

  outs = jax.lax.map(lambda xs: fn(*xs), tuple(split(x) for x in arrays))
  return tuple(jnp.moveaxis(y, 0, 1).reshape(B, T + pad)[:, :T] for y in outs)


def _scaled_fp32(logits_BxCxV: jax.Array, temperature: float) -> jax.Array:
  # The sampler draws from softmax(logits / temperature); the trainer's log-probs must be of the
  # same distribution or ρ is biased (TRL issue #4159).
  return logits_BxCxV.astype(jnp.float32) / temperature


def _chunk_logprobs(logits_BxCxV, targets_BxC, temperature):
  logits_BxCxV = _scaled_fp32(logits_BxCxV, temperature)
  lse_BxC = jax.nn.logsumexp(logits_BxCxV, axis=-1)
  target_BxC = jnp.take_along_axis(logits_BxCxV, targets_BxC[..., None], axis=-1)[..., 0]
  return (target_BxC - lse_BxC,)


def _chunk_entropy(logits_BxCxV, temperature):
  logits_BxCxV = _scaled_fp32(logits_BxCxV, temperature)
  logp_BxCxV = jax.nn.log_softmax(logits_BxCxV, axis=-1)
  return (-jnp.sum(jnp.exp(logp_BxCxV) * logp_BxCxV, axis=-1),)


def _chunk_logprobs_and_entropy(logits_BxCxV, targets_BxC, temperature):
  (logp_BxC,) = _chunk_logprobs(logits_BxCxV, targets_BxC, temperature)
  (entropy_BxC,) = _chunk_entropy(logits_BxCxV, temperature)
  return logp_BxC, entropy_BxC


@functools.partial(jax.jit, static_argnames=("chunk_size",))
def token_logprobs(logits_BxTxV: jax.Array, targets_BxT: jax.Array, *,
                   chunk_size: int | None = None, temperature: float = 1.0) -> jax.Array:
  """log softmax(logits / temperature)[target] per position, in fp32.

  Args:
    logits_BxTxV: logits (any float dtype; cast to fp32 one chunk at a time). Position t holds
      the prediction of targets_BxT[:, t].
    targets_BxT: int token ids in [0, V).
    chunk_size: None for one pass; else the time axis is processed C positions at a time, so the
      fp32 [B, C, V] work is the largest temporary (for long completions, cf. TRL issue #4585).
    temperature: the sampling temperature the tokens were drawn at.

  Returns:
    float32 [B, T].
  """
  targets_BxT = jnp.asarray(targets_BxT, jnp.int32)
  fn = functools.partial(_chunk_logprobs, temperature=temperature)
  return _map_time_chunks(fn, (logits_BxTxV, targets_BxT), chunk_size)[0]


@functools.partial(jax.jit, static_argnames=("chunk_size",))
def token_entropy(logits_BxTxV: jax.Array, *, chunk_size: int | None = None,
                  temperature: float = 1.0) -> jax.Array:
  """Entropy of softmax(logits / temperature) per position, in fp32, chunked like token_logprobs.

  Returns:
    float32 [B, T] entropies in nats.
  """
  fn = functools.partial(_chunk_entropy, temperature=temperature)
  return _map_time_chunks(fn, (logits_BxTxV,), chunk_size)[0]


@functools.partial(jax.jit, static_argnames=("chunk_size",))
def token_logprobs_and_entropy(logits_BxTxV: jax.Array, targets_BxT: jax.Array, *,
                               chunk_size: int | None = None,
                               temperature: float = 1.0) -> tuple[jax.Array, jax.Array]:
  """Both `token_logprobs` and `token_entropy` from one pass over the logits."""
  targets_BxT = jnp.asarray(targets_BxT, jnp.int32)
  fn = functools.partial(_chunk_logprobs_and_entropy, temperature=temperature)
  return _map_time_chunks(fn, (logits_BxTxV, targets_BxT), chunk_size)
