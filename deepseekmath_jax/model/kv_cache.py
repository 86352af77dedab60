"""Key/value cache for prefill + one-token decode, with an optional shared prompt prefix.

The cache is a pytree (`KVCache`) passed into and returned from the model, so a whole
decode loop can live inside `jax.jit`/`lax.while_loop`. Slots are written in lockstep for
all rows at `index`; each row's real positions come from the caller (left-padded prompts
have their own RoPE positions), and `valid_BxS` marks the slots holding real tokens.

Layout: keys and values are [B, K, S, E] per layer, the layout the attention matmuls read
(heads as a batch axis, slots by head dim), so no step copies a cache into another layout.
A model with unrolled layers keeps one such array per layer (a tuple): each layer writes
its new slots into its own buffer in place and the matmuls read that buffer directly. With
`scan_layers` the layers are one stacked [N, B, K, S, E] array. A one-token decode call
carries the stack through the layer scan and a layer reads its slice of it in place
(`LayerCache.layer`): measured on CPU (README, "Group sampler"), slicing a layer out of a
stacked cache, or transposing it, copies that layer's whole cache at every decode step, which
was half of a decode step's time. Longer calls (prefill, GRPO's scoring) scan the stack as
per-layer slices instead, so that a rematerialized block never takes the whole stack as an
input (transformer.py, `_scan_blocks`).

Shared prefix (GRPO's G samples per question): a prompt batch of Bp rows is prefilled
once; its cache becomes `prefix_*` and the decode batch has B = Bp * G rows, row b reading
prefix row b // G. Queries attend over [prefix keys ; own keys], so the prompt is neither
recomputed nor copied G times.

Shape letters: N layers, B rows, Bp prompt rows, G = B // Bp, S own slots, P prefix slots,
K kv heads, E head dim, L query length.
"""

from __future__ import annotations

from typing import Callable, Union

import jax
import jax.numpy as jnp
from flax import struct

# One [B, K, S, E] array per layer, or all layers stacked as [N, B, K, S, E].
Stack = Union[tuple[jax.Array, ...], jax.Array]


@struct.dataclass
class LayerCache:
  """One layer's view of the cache, used inside Attention.

  `k`/`v` are the layer's own [B, K, S, E] arrays (`layer` None) or the stacked
  [N, B, K, S, E] arrays with this layer's index; `write` puts the new slots into them with
  one dynamic_update_slice, in place.
  """
  k: jax.Array
  v: jax.Array
  layer: jax.Array | None
  index: jax.Array
  prefix_k_BpxKxPxE: jax.Array | None = None
  prefix_v_BpxKxPxE: jax.Array | None = None

  def _read(self, x: jax.Array) -> jax.Array:
    if self.layer is None:
      return x
    return jax.lax.dynamic_index_in_dim(x, self.layer, keepdims=False)

  @property
  def k_BxKxSxE(self) -> jax.Array:
    return self._read(self.k)

  @property
  def v_BxKxSxE(self) -> jax.Array:
    return self._read(self.v)

  def write(self, k_BxLxKxE: jax.Array, v_BxLxKxE: jax.Array) -> "LayerCache":
    def put(buf, new_BxLxKxE):
      new = new_BxLxKxE.transpose(0, 2, 1, 3).astype(buf.dtype)     # [B, K, L, E]
      if self.layer is None:
        return jax.lax.dynamic_update_slice(buf, new, (0, 0, self.index, 0))
      return jax.lax.dynamic_update_slice(buf, new[None], (self.layer, 0, 0, self.index, 0))
    return self.replace(k=put(self.k, k_BxLxKxE), v=put(self.v, v_BxLxKxE))

  def scores(self, q_BxLxHxE: jax.Array, scores_fn: Callable) -> jax.Array:
    """Scores over [prefix ; own] keys: [B, K, R, L, P + S]."""
    own = scores_fn(q_BxLxHxE, self.k_BxKxSxE.astype(q_BxLxHxE.dtype))
    if self.prefix_k_BpxKxPxE is None:
      return own
    bp = self.prefix_k_BpxKxPxE.shape[0]
    b, l, h, e = q_BxLxHxE.shape
    g = b // bp
    # Fold the G samples of a prompt into its query length: [Bp, G*L, H, E].
    q_BpxGLxHxE = q_BxLxHxE.reshape(bp, g * l, h, e)
    pre = scores_fn(q_BpxGLxHxE, self.prefix_k_BpxKxPxE.astype(q_BxLxHxE.dtype))
    kk, r, p = pre.shape[1], pre.shape[2], pre.shape[-1]
    pre = pre.reshape(bp, kk, r, g, l, p).transpose(0, 3, 1, 2, 4, 5).reshape(b, kk, r, l, p)
    return jnp.concatenate([pre, own], axis=-1)

  def weighted_values(self, probs_BxKxRxLxT: jax.Array, values_fn: Callable) -> jax.Array:
    v_BxKxSxE = self.v_BxKxSxE
    s, dt = v_BxKxSxE.shape[2], v_BxKxSxE.dtype
    if self.prefix_v_BpxKxPxE is None:
      return values_fn(probs_BxKxRxLxT, v_BxKxSxE)
    pre_probs, own_probs = probs_BxKxRxLxT[..., :-s], probs_BxKxRxLxT[..., -s:]
    out = values_fn(own_probs, v_BxKxSxE)
    bp = self.prefix_v_BpxKxPxE.shape[0]
    b, kk, r, l, p = pre_probs.shape
    g = b // bp
    pre_probs = pre_probs.reshape(bp, g, kk, r, l, p).transpose(0, 2, 3, 1, 4, 5)
    pre_out = values_fn(pre_probs.reshape(bp, kk, r, g * l, p),
                        self.prefix_v_BpxKxPxE.astype(dt))      # [Bp, G*L, H, E]
    return out + pre_out.reshape(b, l, *pre_out.shape[2:]).astype(out.dtype)


@struct.dataclass
class KVCache:
  """Per-layer keys/values (`Stack`s of [B, K, S, E]), slot validity and the write index."""
  k: Stack
  v: Stack
  valid_BxS: jax.Array
  index: jax.Array
  prefix_k: Stack | None = None
  prefix_v: Stack | None = None
  prefix_valid_BpxP: jax.Array | None = None

  @classmethod
  def init(cls, cfg, batch: int, max_len: int, dtype=None) -> "KVCache":
    dtype = jnp.dtype(dtype or cfg.dtype)
    shape = (batch, cfg.num_kv_heads, max_len, cfg.head_dim)
    return cls(k=_zeros(cfg, shape, dtype), v=_zeros(cfg, shape, dtype),
               valid_BxS=jnp.zeros((batch, max_len), bool), index=jnp.zeros((), jnp.int32))

  @property
  def stacked(self) -> bool:
    return not isinstance(self.k, tuple)

  @property
  def max_len(self) -> int:
    return self.k[0].shape[2]

  @property
  def group_size(self) -> int:
    if self.prefix_k is None:
      return 1
    return self.k[0].shape[0] // self.prefix_k[0].shape[0]

  def as_prefix(self, group_size: int, max_len: int) -> "KVCache":
    """Turns a prefilled prompt cache into the shared prefix of a B = Bp*G decode cache."""
    if self.prefix_k is not None:
      raise ValueError("cache already has a shared prefix")
    first = self.k[0]           # layer 0: [Bp, K, P, E]
    bp, kk, _, e = first.shape
    shape = (bp * group_size, kk, max_len, e)
    if self.stacked:
      zeros = lambda: jnp.zeros((self.k.shape[0],) + shape, first.dtype)
    else:
      zeros = lambda: tuple(jnp.zeros(shape, first.dtype) for _ in self.k)
    return KVCache(k=zeros(), v=zeros(), valid_BxS=jnp.zeros((shape[0], max_len), bool),
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

  def layer(self, n: int) -> LayerCache:
    """Layer n's view (unrolled layers: its own arrays; stacked: the stack and index n)."""
    if self.stacked:
      k, v, layer = self.k, self.v, jnp.asarray(n, jnp.int32)
    else:
      k, v, layer = self.k[n], self.v[n], None
    return LayerCache(k=k, v=v, layer=layer, index=self.index,
                      prefix_k_BpxKxPxE=None if self.prefix_k is None else self.prefix_k[n],
                      prefix_v_BpxKxPxE=None if self.prefix_v is None else self.prefix_v[n])

  def with_layer(self, n: int, layer_cache: LayerCache) -> "KVCache":
    """The cache after layer n wrote `layer_cache`."""
    if self.stacked:
      return self.replace(k=layer_cache.k, v=layer_cache.v)
    put = lambda stack, x: stack[:n] + (x,) + stack[n + 1:]
    return self.replace(k=put(self.k, layer_cache.k), v=put(self.v, layer_cache.v))


def _zeros(cfg, shape: tuple[int, ...], dtype) -> Stack:
  if cfg.scan_layers:
    return jnp.zeros((cfg.num_layers,) + shape, dtype)
  return tuple(jnp.zeros(shape, dtype) for _ in range(cfg.num_layers))
