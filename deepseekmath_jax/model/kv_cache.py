"""Key/value cache for prefill + one-token decode, with an optional shared prompt prefix.

The cache is a pytree (`KVCache`) passed into and returned from the model, so a whole
decode loop can live inside `jax.jit`/`lax.while_loop`. Slots are written in lockstep for
all rows at `index`; each row's real positions come from the caller (left-padded prompts
have their own RoPE positions), and `valid_BxS` marks the slots holding real tokens.

Shared prefix (GRPO's G samples per question): a prompt batch of Bp rows is prefilled
once; its cache becomes `prefix_*` and the decode batch has B = Bp * G rows, row b reading
prefix row b // G. Queries attend over [prefix keys ; own keys], so the prompt is neither
recomputed nor copied G times.

Shape letters: N layers, B rows, Bp prompt rows, G = B // Bp, S own slots, P prefix slots,
K kv heads, E head dim, L query length.
"""

from __future__ import annotations

from typing import Callable

import jax
import jax.numpy as jnp
from flax import struct


@struct.dataclass
class LayerCache:
  """Layer `layer`'s view of the cache, used inside Attention.

  It holds the stacked [N, B, S, K, E] arrays and writes its layer's new keys/values into
  them with one dynamic_update_slice, so a decode step updates the cache in place instead of
  re-stacking N per-layer copies (the whole cache) every token.
  """
  k_NxBxSxKxE: jax.Array
  v_NxBxSxKxE: jax.Array
  layer: jax.Array
  index: jax.Array
  prefix_k_BpxPxKxE: jax.Array | None = None
  prefix_v_BpxPxKxE: jax.Array | None = None

  @property
  def k_BxSxKxE(self) -> jax.Array:
    return jax.lax.dynamic_index_in_dim(self.k_NxBxSxKxE, self.layer, keepdims=False)

  @property
  def v_BxSxKxE(self) -> jax.Array:
    return jax.lax.dynamic_index_in_dim(self.v_NxBxSxKxE, self.layer, keepdims=False)

  def write(self, k_BxLxKxE: jax.Array, v_BxLxKxE: jax.Array) -> "LayerCache":
    start = (self.layer, 0, self.index, 0, 0)
    k = jax.lax.dynamic_update_slice(self.k_NxBxSxKxE,
                                     k_BxLxKxE[None].astype(self.k_NxBxSxKxE.dtype), start)
    v = jax.lax.dynamic_update_slice(self.v_NxBxSxKxE,
                                     v_BxLxKxE[None].astype(self.v_NxBxSxKxE.dtype), start)
    return self.replace(k_NxBxSxKxE=k, v_NxBxSxKxE=v)

  def scores(self, q_BxLxHxE: jax.Array, scores_fn: Callable) -> tuple[jax.Array, None]:
    """Scores over [prefix ; own] keys: [B, K, R, L, P + S]."""
    own = scores_fn(q_BxLxHxE, self.k_BxSxKxE.astype(q_BxLxHxE.dtype))
    if self.prefix_k_BpxPxKxE is None:
      return own, None
    bp = self.prefix_k_BpxPxKxE.shape[0]
    b, l, h, e = q_BxLxHxE.shape
    g = b // bp
    # Fold the G samples of a prompt into its query length: [Bp, G*L, H, E].
    q_BpxGLxHxE = q_BxLxHxE.reshape(bp, g * l, h, e)
    pre = scores_fn(q_BpxGLxHxE, self.prefix_k_BpxPxKxE.astype(q_BxLxHxE.dtype))
    kk, r, p = pre.shape[1], pre.shape[2], pre.shape[-1]
    pre = pre.reshape(bp, kk, r, g, l, p).transpose(0, 3, 1, 2, 4, 5).reshape(b, kk, r, l, p)
    return jnp.concatenate([pre, own], axis=-1), None

  def weighted_values(self, probs_BxKxRxLxT: jax.Array, values_fn: Callable) -> jax.Array:
    s = self.k_BxSxKxE.shape[1]
    dt = self.v_BxSxKxE.dtype
    if self.prefix_v_BpxPxKxE is None:
      return values_fn(probs_BxKxRxLxT, self.v_BxSxKxE)
    pre_probs, own_probs = probs_BxKxRxLxT[..., :-s], probs_BxKxRxLxT[..., -s:]
    out = values_fn(own_probs, self.v_BxSxKxE)
    bp = self.prefix_v_BpxPxKxE.shape[0]
    b, kk, r, l, p = pre_probs.shape
    g = b // bp
    pre_probs = pre_probs.reshape(bp, g, kk, r, l, p).transpose(0, 2, 3, 1, 4, 5)
    pre_out = values_fn(pre_probs.reshape(bp, kk, r, g * l, p),
                        self.prefix_v_BpxPxKxE.astype(dt))      # [Bp, G*L, H, E]
    return out + pre_out.reshape(b, l, *pre_out.shape[2:]).astype(out.dtype)


@struct.dataclass
class KVCache:
  """Stacked per-layer keys/values [N, B, S, K, E] plus slot validity and write index."""
  k: jax.Array
  v: jax.Array
  valid_BxS: jax.Array
  index: jax.Array
  prefix_k: jax.Array | None = None
  prefix_v: jax.Array | None = None
  prefix_valid_BpxP: jax.Array | None = None

  @classmethod
  def init(cls, cfg, batch: int, max_len: int, dtype=None) -> "KVCache":
    dtype = jnp.dtype(dtype or cfg.dtype)
    shape = (cfg.num_layers, batch, max_len, cfg.num_kv_heads, cfg.head_dim)
    return cls(k=jnp.zeros(shape, dtype), v=jnp.zeros(shape, dtype),
               valid_BxS=jnp.zeros((batch, max_len), bool), index=jnp.zeros((), jnp.int32))

  @property
  def max_len(self) -> int:
    return self.k.shape[2]

  @property
  def group_size(self) -> int:
    if self.prefix_k is None:
      return 1
    return self.k.shape[1] // self.prefix_k.shape[1]

  def as_prefix(self, group_size: int, max_len: int) -> "KVCache":
    """Turns a prefilled prompt cache into the shared prefix of a B = Bp*G decode cache."""
    if self.prefix_k is not None:
      raise ValueError("cache already has a shared prefix")
    n, bp, _, kk, e = self.k.shape
    shape = (n, bp * group_size, max_len, kk, e)
    return KVCache(k=jnp.zeros(shape, self.k.dtype), v=jnp.zeros(shape, self.v.dtype),
                   valid_BxS=jnp.zeros((bp * group_size, max_len), bool),
                   index=jnp.zeros((), jnp.int32), prefix_k=self.k, prefix_v=self.v,
                   prefix_valid_BpxP=self.valid_BxS)

  def attention_mask(self, segment_ids_BxL: jax.Array) -> tuple[jax.Array, jax.Array]:
    """Mask [B, L, P + S] for L new tokens at slots index..index+L-1, and new validity."""
    b, l = segment_ids_BxL.shape
    valid = jax.lax.dynamic_update_slice(self.valid_BxS, segment_ids_BxL != 0,
                                         (0, self.index))
    query_slot_L = self.index + jnp.arange(l)
    causal_LxS = jnp.arange(self.max_len)[None, :] <= query_slot_L[:, None]
    mask = valid[:, None, :] & causal_LxS[None]
    if self.prefix_valid_BpxP is not None:
      pre = jnp.repeat(self.prefix_valid_BpxP, self.group_size, axis=0)   # [B, P] (bool)
      mask = jnp.concatenate([jnp.broadcast_to(pre[:, None, :], (b, l, pre.shape[-1])), mask],
                             axis=-1)
    return mask, valid

  def layer(self, n, k: jax.Array | None = None, v: jax.Array | None = None) -> LayerCache:
    """Layer n's view; `k`/`v` are the stacked arrays as updated by the layers before it."""
    return LayerCache(
        k_NxBxSxKxE=self.k if k is None else k, v_NxBxSxKxE=self.v if v is None else v,
        layer=jnp.asarray(n, jnp.int32), index=self.index,
        prefix_k_BpxPxKxE=None if self.prefix_k is None else self.prefix_k[n],
        prefix_v_BpxPxKxE=None if self.prefix_v is None else self.prefix_v[n])
