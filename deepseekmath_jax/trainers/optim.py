"""The optimizer: AdamW, gradient clipping and learning-rate schedules from `config.opt`.

DeepSeekMath trains with AdamW (β1 0.9, β2 0.95, weight decay 0.1) under a multi-step
schedule: linear warmup to the peak over 2,000 steps, then 31.6% of the peak after 80% of
training and 10% after 90% (arXiv:2402.03300 §2.2.1, §2.3). SFT uses a constant 5e-5
(§3.2). Cosine is kept as an option for ablations.

Weight decay follows the Megatron convention (which HAI-LLM inherits): every weight matrix,
embeddings and LM head included, is decayed; RMSNorm scales are not. A parameter is a norm
scale when a path component contains "norm", which also holds for scan-stacked scales of
shape [layers, D] (an ndim test alone would decay those).

Gradient accumulation is not done here (no `optax.MultiSteps`): the train step scans over
microbatches and hands optax one accumulated gradient (see train_lib.py), so the finite
check, clipping and the schedule see exactly the large-batch gradient, one optimizer
update per step.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import ml_collections
import optax

SCHEDULES = ("multistep", "cosine", "constant")


def learning_rate_schedule(opt_cfg: ml_collections.ConfigDict,
                           total_steps: int) -> optax.Schedule:
  """The learning rate as a function of the (0-based) optimizer step.

  Args:
    opt_cfg: `config.opt` with `schedule`, `peak_lr`, `warmup_steps`, and for multistep
      `decay_fractions` (fractions of `total_steps` where the rate drops) and
      `decay_factors` (the multiple of the peak after each drop); for cosine `end_lr_frac`.
    total_steps: the run's length in optimizer steps.
  """
  kind, peak, warmup = opt_cfg.schedule, float(opt_cfg.peak_lr), int(opt_cfg.warmup_steps)
  if kind not in SCHEDULES:
    raise ValueError(f"config.opt.schedule={kind!r} is not one of {SCHEDULES}")
  if total_steps <= 0:
    raise ValueError(f"config.total_steps must be positive, got {total_steps}")

  def warmup_factor(step):
    # Linear from peak/warmup at step 0 to the peak at step warmup-1 (no zero-lr first step).
    if warmup <= 0:
      return 1.0
    return jnp.minimum(1.0, (step + 1.0) / warmup)

  if kind == "constant":
    return lambda step: peak * warmup_factor(jnp.asarray(step, jnp.float32))

  if kind == "multistep":
    fractions = tuple(float(f) for f in opt_cfg.decay_fractions)
    factors = tuple(float(f) for f in opt_cfg.decay_factors)
    if len(fractions) != len(factors) or list(fractions) != sorted(fractions):
      raise ValueError("config.opt.decay_fractions must be increasing and as long as "
                       f"config.opt.decay_factors, got {fractions} and {factors}")
    # Boundaries in whole steps: the drop to 31.6% applies from step round(0.8 * total)
    # on (arXiv:2402.03300 §2.2.1: "after 80% of the training").
    boundaries = tuple(int(round(f * total_steps)) for f in fractions)

    def multistep(step):
      step = jnp.asarray(step, jnp.float32)
      factor = jnp.asarray(1.0, jnp.float32)
      for boundary, value in zip(boundaries, factors):
        factor = jnp.where(step >= boundary, value, factor)
      return peak * warmup_factor(step) * factor

    return multistep

  end_frac = float(opt_cfg.end_lr_frac)
  decay_steps = max(total_steps - warmup, 1)

  def cosine(step):
    step = jnp.asarray(step, jnp.float32)
    progress = jnp.clip((step - warmup) / decay_steps, 0.0, 1.0)
    cos = 0.5 * (1.0 + jnp.cos(jnp.pi * progress))
    decayed = end_frac + (1.0 - end_frac) * cos
    return peak * warmup_factor(step) * jnp.where(step < warmup, 1.0, decayed)

  return cosine


def decay_mask(params: Any) -> Any:
  """True for parameters that get weight decay: matrices that are not norm scales.

  Works on arrays and on ShapeDtypeStructs.
  """

  def decayed(path, leaf) -> bool:
    names = [str(getattr(k, "key", getattr(k, "name", getattr(k, "idx", k)))) for k in path]
    return len(leaf.shape) >= 2 and not any("norm" in n for n in names)

  return jax.tree_util.tree_map_with_path(decayed, params)


def make_optimizer(opt_cfg: ml_collections.ConfigDict, total_steps: int,
                   params: Any) -> tuple[optax.GradientTransformation, optax.Schedule]:
  """AdamW behind global-norm clipping, and its schedule (for logging the rate).

  `params` (arrays or ShapeDtypeStructs) fixes the weight-decay mask up front, so the
  optimizer state's layout can be derived with `optax.tree_map_params`.
  """
  schedule = learning_rate_schedule(opt_cfg, total_steps)
  parts = []
  if opt_cfg.grad_clip_norm > 0:
    parts.append(optax.clip_by_global_norm(float(opt_cfg.grad_clip_norm)))
  parts.append(optax.adamw(schedule, b1=float(opt_cfg.b1), b2=float(opt_cfg.b2),
                           eps=float(opt_cfg.eps), weight_decay=float(opt_cfg.weight_decay),
                           mask=decay_mask(params)))
  return optax.chain(*parts), schedule
