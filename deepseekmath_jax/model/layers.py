"""Transformer layers of the LLaMA family that DeepSeekMath-7B uses (arXiv:2402.03300 §2.3).

Pre-norm RMSNorm, rotary embeddings in the Hugging Face rotate-half convention, SwiGLU
MLP, multi-head attention with optional grouped KV heads, no biases. Every parameter
carries logical axis names (see `config_lib.AXIS_RULES`); no mesh axis is named here.

Shape letters: B batch, L query length, S key length, D model dim, H query heads,
K kv heads, E head dim, F mlp dim, V vocab.
"""

from __future__ import annotations

import math
from typing import Any

import jax
import jax.numpy as jnp
from flax import nnx

from deepseekmath_jax import sharding

_INIT = nnx.initializers.normal(stddev=0.02)  # HF initializer_range


def _param(rngs: nnx.Rngs, shape: tuple[int, ...], logical: tuple[str, ...], dtype,
           init=_INIT) -> nnx.Param:
  return nnx.Param(nnx.with_partitioning(init, logical)(rngs.params(), shape, dtype))


def _dtype(name: str):
  return jnp.dtype(name)


def dense(x: jax.Array, kernel: jax.Array, in_dims: int = 1) -> jax.Array:
  """Contracts the last `in_dims` axes of `x` with the first `in_dims` of `kernel`.

  Done as one 2-D matmul over all tokens ([B·L, in] @ [in, out]) rather than an einsum that
  keeps B and L apart: the weight gradient then contracts a single axis, and XLA:CPU stops
  materializing a transposed copy of the activation gradient for it (the SwiGLU backward
  ran 2x faster in training; README "Tokens/s and MFU"). Reshapes of contiguous arrays are
  free, and merging B with L keeps the batch sharding.
  """
  k_in, k_out = kernel.shape[:in_dims], kernel.shape[in_dims:]
  n_in = math.prod(k_in)
  y = x.reshape(-1, n_in) @ kernel.reshape(n_in, math.prod(k_out))
  return y.reshape(x.shape[:x.ndim - in_dims] + k_out)


class RMSNorm(nnx.Module):
  """RMSNorm computed in float32 and cast back, as Hugging Face LlamaRMSNorm does."""

  def __init__(self, dim: int, *, eps: float, param_dtype: str, rngs: nnx.Rngs):
    self.eps = eps
    self.scale = _param(rngs, (dim,), ("norm",), _dtype(param_dtype), nnx.initializers.ones)

  def __call__(self, x_BxLxD: jax.Array) -> jax.Array:
    x = x_BxLxD.astype(jnp.float32)
    x = x * jax.lax.rsqrt(jnp.mean(x * x, axis=-1, keepdims=True) + self.eps)
    return self.scale[...].astype(x_BxLxD.dtype) * x.astype(x_BxLxD.dtype)


def rope_cos_sin(positions_BxL: jax.Array, head_dim: int, theta: float):
  """cos/sin tables [B, L, E] for rotate-half RoPE (HF LlamaRotaryEmbedding)."""
  inv_freq = 1.0 / (theta ** (jnp.arange(0, head_dim, 2, dtype=jnp.float32) / head_dim))
  freqs_BxLxE2 = positions_BxL.astype(jnp.float32)[..., None] * inv_freq
  emb_BxLxE = jnp.concatenate([freqs_BxLxE2, freqs_BxLxE2], axis=-1)
  return jnp.cos(emb_BxLxE), jnp.sin(emb_BxLxE)


def apply_rope(x_BxLxNxE: jax.Array, cos_BxLxE: jax.Array, sin_BxLxE: jax.Array) -> jax.Array:
  """x·cos + rotate_half(x)·sin, where rotate_half pairs the first and second halves."""
  half = x_BxLxNxE.shape[-1] // 2
  x1, x2 = x_BxLxNxE[..., :half], x_BxLxNxE[..., half:]
  rotated = jnp.concatenate([-x2, x1], axis=-1)
  cos, sin = cos_BxLxE[:, :, None, :], sin_BxLxE[:, :, None, :]
  out = x_BxLxNxE.astype(jnp.float32) * cos + rotated.astype(jnp.float32) * sin
  return out.astype(x_BxLxNxE.dtype)


def _scores(q_BxLxHxE: jax.Array, k_BxKxSxE: jax.Array) -> jax.Array:
  """Grouped-query scores [B, K, R, L, S] (R = H // K query heads per kv head).

  Keys come heads-major, [B, K, S, E]: the KV cache's layout (kv_cache.py), read in place.
  """
  b, l, h, e = q_BxLxHxE.shape
  k = k_BxKxSxE.shape[1]
  q_BxLxKxRxE = q_BxLxHxE.reshape(b, l, k, h // k, e)
  return jnp.einsum("blkre,bkse->bkrls", q_BxLxKxRxE, k_BxKxSxE,
                    preferred_element_type=jnp.float32)


def _weighted_values(probs_BxKxRxLxS: jax.Array, v_BxKxSxE: jax.Array) -> jax.Array:
  out = jnp.einsum("bkrls,bkse->blkre", probs_BxKxRxLxS.astype(v_BxKxSxE.dtype), v_BxKxSxE)
  b, l, k, r, e = out.shape
  return out.reshape(b, l, k * r, e)


# config.model.attention -> `implementation` of jax.nn.dot_product_attention (None: the
# hand-written einsum path below, "xla").
ATTENTION_IMPLEMENTATIONS = {"xla": None, "dot_product_attention": "default",
                             "cudnn": "cudnn"}


class Attention(nnx.Module):
  """Multi-head attention (grouped KV heads when num_kv_heads < num_heads), no biases.

  `cfg.attention` picks the kernel of the no-cache path (training, scoring packed rows):
  "xla" (einsum scores, float32 softmax), "dot_product_attention" (jax.nn's, which in
  jax 0.10 runs the same XLA math when `implementation=None`) or "cudnn" (its cuDNN
  flash-attention kernel: GPU only, bf16/fp16). The KV-cache path (prefill into a cache,
  decode, GRPO's shared-prompt scoring) always uses the einsum kernels: its keys live
  heads-major in the cache ([B, K, S, E], read in place) and a query attends over
  [shared prefix ; own slots], which one dot_product_attention call cannot express without
  copying the cache into its layout at every step.
  """

  def __init__(self, cfg: Any, *, rngs: nnx.Rngs):
    d, h, k, e = cfg.embed_dim, cfg.num_heads, cfg.num_kv_heads, cfg.head_dim
    if h % k:
      raise ValueError(f"num_heads={h} is not a multiple of num_kv_heads={k}")
    if cfg.attention not in ATTENTION_IMPLEMENTATIONS:
      raise ValueError(f"config.model.attention={cfg.attention!r} is not one of "
                       f"{sorted(ATTENTION_IMPLEMENTATIONS)}")
    pd = _dtype(cfg.param_dtype)
    self.num_heads, self.num_kv_heads, self.head_dim = h, k, e
    self.implementation = ATTENTION_IMPLEMENTATIONS[cfg.attention]
    self.rope_theta = cfg.rope_theta
    self.dtype = _dtype(cfg.dtype)
    self.q_proj = _param(rngs, (d, h, e), ("embed", "heads", "head_dim"), pd)
    self.k_proj = _param(rngs, (d, k, e), ("embed", "kv_heads", "head_dim"), pd)
    self.v_proj = _param(rngs, (d, k, e), ("embed", "kv_heads", "head_dim"), pd)
    self.o_proj = _param(rngs, (h, e, d), ("heads", "head_dim", "embed"), pd)

  def __call__(self, x_BxLxD: jax.Array, positions_BxL: jax.Array, mask_BxLxS: jax.Array,
               cache: Any = None) -> tuple[jax.Array, Any]:
    """Attends over this call's keys, or over the KV cache when one is given.

    `mask_BxLxS` says which keys each query may see (causality, segments, padding,
    cache validity), built once per forward by the caller. With a cache, S is the
    cache length (plus a shared prompt prefix, see kv_cache.py) and the updated layer
    cache is returned.
    """
    dt = self.dtype
    x = x_BxLxD.astype(dt)
    q = dense(x, self.q_proj[...].astype(dt))            # [B, L, H, E]
    k = dense(x, self.k_proj[...].astype(dt))            # [B, L, K, E]
    v = dense(x, self.v_proj[...].astype(dt))
    q = sharding.shard(q, ("act_batch", "act_seq", "act_heads", None))
    cos, sin = rope_cos_sin(positions_BxL, self.head_dim, self.rope_theta)
    q, k = apply_rope(q, cos, sin), apply_rope(k, cos, sin)
    q = q * jnp.asarray(self.head_dim ** -0.5, dt)
    if cache is None and self.implementation is not None:
      # Same math (scores in float32, masked to a large negative, float32 softmax).
      out = jax.nn.dot_product_attention(
          q, k, v, mask=mask_BxLxS[:, None], scale=1.0,
          implementation=None if self.implementation == "default" else self.implementation)
      return dense(out, self.o_proj[...].astype(dt), in_dims=2), cache
    if cache is None:
      scores = _scores(q, k.transpose(0, 2, 1, 3))
    else:
      cache = cache.write(k, v)
      scores = cache.scores(q, _scores)
    # Masked scores get the dtype minimum (not -inf) so an all-masked padding row yields a
    # finite uniform softmax instead of NaN.
    scores = jnp.where(mask_BxLxS[:, None, None], scores, jnp.finfo(scores.dtype).min)
    probs = jax.nn.softmax(scores, axis=-1)
    if cache is None:
      out = _weighted_values(probs, v.transpose(0, 2, 1, 3))
    else:
      out = cache.weighted_values(probs, _weighted_values)
    out = dense(out, self.o_proj[...].astype(dt), in_dims=2)
    return out, cache


class MLP(nnx.Module):
  """SwiGLU feed-forward: down(silu(gate(x)) * up(x))."""

  def __init__(self, cfg: Any, *, rngs: nnx.Rngs):
    d, f, pd = cfg.embed_dim, cfg.mlp_dim, _dtype(cfg.param_dtype)
    self.dtype = _dtype(cfg.dtype)
    self.gate_proj = _param(rngs, (d, f), ("embed", "mlp"), pd)
    self.up_proj = _param(rngs, (d, f), ("embed", "mlp"), pd)
    self.down_proj = _param(rngs, (f, d), ("mlp", "embed"), pd)

  def __call__(self, x_BxLxD: jax.Array) -> jax.Array:
    dt = self.dtype
    x = x_BxLxD.astype(dt)
    gate_BxLxF = dense(x, self.gate_proj[...].astype(dt))
    up_BxLxF = dense(x, self.up_proj[...].astype(dt))
    h_BxLxF = sharding.shard(jax.nn.silu(gate_BxLxF) * up_BxLxF,
                             ("act_batch", "act_seq", "act_mlp"))
    return dense(h_BxLxF, self.down_proj[...].astype(dt))


class Block(nnx.Module):
  """Pre-norm decoder block: x + attn(norm(x)); x + mlp(norm(x))."""

  def __init__(self, cfg: Any, *, rngs: nnx.Rngs):
    self.input_norm = RMSNorm(cfg.embed_dim, eps=cfg.norm_eps, param_dtype=cfg.param_dtype,
                              rngs=rngs)
    self.attn = Attention(cfg, rngs=rngs)
    self.post_attn_norm = RMSNorm(cfg.embed_dim, eps=cfg.norm_eps,
                                  param_dtype=cfg.param_dtype, rngs=rngs)
    self.mlp = MLP(cfg, rngs=rngs)

  def __call__(self, x_BxLxD, positions_BxL, mask_BxLxS, cache=None):
    h, cache = self.attn(self.input_norm(x_BxLxD), positions_BxL, mask_BxLxS, cache)
    x = x_BxLxD + h.astype(x_BxLxD.dtype)
    x = x + self.mlp(self.post_attn_norm(x)).astype(x.dtype)
    x = sharding.shard(x, ("act_batch", "act_seq", "act_embed"))
    return x, cache
