"""The decoder-only transformer (LlamaForCausalLM layout, as DeepSeekMath-7B).

`Transformer(cfg, rngs=...)` with `cfg = config_lib.model_config(variant)`.

  logits_BxLxV = model(tokens_BxL)                                   # training / scoring
  logits_BxLxV = model(tokens_BxL, positions=pos_BxL, segment_ids=seg_BxL)   # packed rows
  logits_BxLxV, cache = model(tokens_BxL, positions=pos_BxL, cache=cache)     # prefill/decode

Packed rows: tokens with different `segment_ids` never attend to each other; segment 0 is
padding. Without a cache attention is causal within a segment. Options: parameter and
compute dtypes, rematerialization of each block (`remat="block"`), and `scan_layers`
(blocks stacked on a leading "layers" axis and applied with `lax.scan`: one block to
compile instead of N).
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
from flax import nnx

from deepseekmath_jax import sharding
from deepseekmath_jax.model.kv_cache import KVCache, LayerCache
from deepseekmath_jax.model.layers import Block, RMSNorm, _param, dense


def _stacked_blocks(cfg: Any, rngs: nnx.Rngs) -> Block:
  """N blocks with parameters stacked on a leading axis named "layers"."""

  @nnx.split_rngs(splits=cfg.num_layers)
  @nnx.vmap(in_axes=(0,), out_axes=0, transform_metadata={nnx.PARTITION_NAME: "layers"})
  def make(r: nnx.Rngs) -> Block:
    return Block(cfg, rngs=r)

  return make(rngs)


class Transformer(nnx.Module):
  """Embedding → N pre-norm blocks → final RMSNorm → LM head (untied unless configured)."""

  def __init__(self, cfg: Any, *, rngs: nnx.Rngs):
    self.cfg = cfg
    pd = jnp.dtype(cfg.param_dtype)
    self.embed = _param(rngs, (cfg.vocab_size, cfg.embed_dim), ("vocab", "embed"), pd)
    if cfg.scan_layers:
      self.blocks = _stacked_blocks(cfg, rngs)
    else:
      self.blocks = nnx.List([Block(cfg, rngs=rngs) for _ in range(cfg.num_layers)])
    self.final_norm = RMSNorm(cfg.embed_dim, eps=cfg.norm_eps, param_dtype=cfg.param_dtype,
                              rngs=rngs)
    if not cfg.tie_embeddings:
      self.lm_head = _param(rngs, (cfg.embed_dim, cfg.vocab_size), ("embed", "vocab"), pd)

  def __call__(self, tokens_BxL: jax.Array, *, positions: jax.Array | None = None,
               segment_ids: jax.Array | None = None, cache: KVCache | None = None):
    hidden_BxLxD, cache = self.hidden_states(tokens_BxL, positions=positions,
                                             segment_ids=segment_ids, cache=cache)
    logits_BxLxV = self.logits(hidden_BxLxD)
    return logits_BxLxV if cache is None else (logits_BxLxV, cache)

  def logits(self, hidden_BxLxD: jax.Array) -> jax.Array:
    dt = jnp.dtype(self.cfg.dtype)
    if self.cfg.tie_embeddings:
      w_DxV = self.embed[...].astype(dt).T
    else:
      w_DxV = self.lm_head[...].astype(dt)
    logits = dense(hidden_BxLxD.astype(dt), w_DxV)
    return sharding.shard(logits, ("act_batch", "act_seq", "act_vocab"))

  def hidden_states(self, tokens_BxL: jax.Array, *, positions: jax.Array | None = None,
                    segment_ids: jax.Array | None = None, cache: KVCache | None = None):
    """Final-norm hidden states [B, L, D] (and the updated cache when one is given)."""
    cfg = self.cfg
    b, l = tokens_BxL.shape
    if segment_ids is None:
      segment_ids = jnp.ones((b, l), jnp.int32)
    if positions is None:
      start = 0 if cache is None else cache.index
      positions = jnp.broadcast_to(start + jnp.arange(l, dtype=jnp.int32), (b, l))
    if cache is None:
      causal_LxL = jnp.tril(jnp.ones((l, l), bool))
      same_BxLxL = segment_ids[:, :, None] == segment_ids[:, None, :]
      mask = causal_LxL[None] & same_BxLxL & (segment_ids != 0)[:, None, :]
      new_valid = None
    else:
      mask, new_valid = cache.attention_mask(segment_ids)

    x = jnp.take(self.embed[...], tokens_BxL, axis=0).astype(jnp.dtype(cfg.dtype))
    x = sharding.shard(x, ("act_batch", "act_seq", "act_embed"))

    # A pure function of the block's state (split/merge, not an NNX transform of the module):
    # the decode while_loop calls it on a model created outside the loop, which an
    # `nnx.remat` of the module would try to update from inside the loop's trace.
    def apply_block(graphdef: nnx.GraphDef, block_state: Any, x, layer_cache):
      return nnx.merge(graphdef, block_state)(x, positions, mask, layer_cache)

    if cfg.remat == "block":
      apply_block = jax.checkpoint(apply_block, static_argnums=(0,))
    elif cfg.remat != "none":
      raise ValueError(f"model.remat must be 'none' or 'block', got {cfg.remat!r}")

    if cfg.scan_layers:
      x, cache = self._scan_blocks(apply_block, x, cache, decode=l == 1)
    else:
      for n, block in enumerate(self.blocks):
        layer_cache = None if cache is None else cache.layer(n)
        x, layer_cache = apply_block(*nnx.split(block), x, layer_cache)
        if cache is not None:
          cache = cache.with_layer(n, layer_cache)
    if cache is not None:
      cache = cache.replace(valid_BxS=new_valid, index=cache.index + l)
    return self.final_norm(x), cache

  def _scan_blocks(self, apply_block, x, cache: KVCache | None, *, decode: bool):
    """Applies the stacked blocks with `lax.scan`; a cache's layers are passed one of two ways.

    Decoding one token (`decode`): the stacked keys/values ride in the carry and each layer
    writes its slot in place; scanning them as xs/ys would copy the whole cache at every
    token (README, "Group sampler"). Any longer call (prefill, GRPO's scoring): each layer
    gets only its own slice as xs and returns it as ys. The copy is then negligible next to
    the call's L tokens of attention, and a block's inputs stay one layer's cache: a carried
    stack is, under remat, an input of every layer's rematerialized call that the backward
    pass keeps once per layer (N times the whole cache; README, "Scale").
    """
    graphdef, state = nnx.split(self.blocks)
    prefix = (None, None) if cache is None else (cache.prefix_k, cache.prefix_v)

    if cache is not None and decode:
      layers = jnp.arange(self.cfg.num_layers, dtype=jnp.int32)

      def carried(carry, layer):
        x, kv = carry
        block_state, n, prefix = layer
        layer_cache = LayerCache(kv[0], kv[1], n, cache.index, *prefix)
        x, layer_cache = apply_block(graphdef, block_state, x, layer_cache)
        return (x, (layer_cache.k, layer_cache.v)), None

      (x, kv), _ = jax.lax.scan(carried, (x, (cache.k, cache.v)), (state, layers, prefix))
      return x, cache.replace(k=kv[0], v=kv[1])

    def sliced(x, layer):
      block_state, kv, prefix = layer
      layer_cache = None
      if kv is not None:
        layer_cache = LayerCache(kv[0], kv[1], None, cache.index, *prefix)
      x, layer_cache = apply_block(graphdef, block_state, x, layer_cache)
      return x, None if layer_cache is None else (layer_cache.k, layer_cache.v)

    kv = None if cache is None else (cache.k, cache.v)
    x, kv = jax.lax.scan(sliced, x, (state, kv, prefix))
    if cache is not None:
      cache = cache.replace(k=kv[0], v=kv[1])
    return x, cache


def count_params(model_or_state: Any) -> int:
  """Number of parameters (works on abstract models from `nnx.eval_shape`)."""
  state = nnx.state(model_or_state, nnx.Param)
  return sum(int(x.size) for x in jax.tree.leaves(state))
