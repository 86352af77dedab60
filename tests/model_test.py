"""The NNX transformer: causality, packing, padding, KV cache, scan/remat options."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

from deepseekmath_jax import config_lib, sharding
from deepseekmath_jax.model import KVCache, Transformer, count_params


def _model(**overrides):
  cfg = config_lib.model_config("tiny", **overrides)
  return sharding.create_model(lambda: Transformer(cfg, rngs=nnx.Rngs(0)), None,
                               config_lib.AXIS_RULES)


@nnx.jit
def _fwd(model, tokens, positions=None, segment_ids=None):
  return model(tokens, positions=positions, segment_ids=segment_ids)


def _tokens(b, l, seed=0, vocab=256):
  return jnp.asarray(np.random.RandomState(seed).randint(0, vocab, (b, l)), jnp.int32)


def test_output_shape_and_causality():
  model = _model()
  tok = _tokens(2, 12)
  logits = _fwd(model, tok)
  assert logits.shape == (2, 12, 256)
  changed = tok.at[:, 8].set((tok[:, 8] + 1) % 256)
  logits2 = _fwd(model, changed)
  np.testing.assert_allclose(logits[:, :8], logits2[:, :8], atol=1e-6)
  assert np.abs(np.asarray(logits[:, 8:] - logits2[:, 8:])).max() > 1e-4


def test_packed_documents_do_not_attend_to_each_other():
  model = _model()
  a, b = _tokens(1, 5, seed=1), _tokens(1, 7, seed=2)
  packed = jnp.concatenate([a, b, jnp.zeros((1, 4), jnp.int32)], axis=1)
  seg = jnp.asarray([[1] * 5 + [2] * 7 + [0] * 4])
  pos = jnp.asarray([list(range(5)) + list(range(7)) + [0] * 4])
  out = _fwd(model, packed, pos, seg)
  np.testing.assert_allclose(out[:, :5], _fwd(model, a), atol=1e-5)
  np.testing.assert_allclose(out[:, 5:12], _fwd(model, b), atol=1e-5)
  assert np.all(np.isfinite(np.asarray(out)))  # all-masked padding rows stay finite


def test_left_padding_matches_unpadded():
  model = _model()
  tok = _tokens(1, 6, seed=3)
  padded = jnp.concatenate([jnp.zeros((1, 3), jnp.int32), tok], axis=1)
  seg = jnp.asarray([[0, 0, 0] + [1] * 6])
  pos = jnp.asarray([[0, 0, 0] + list(range(6))])
  out = _fwd(model, padded, pos, seg)
  np.testing.assert_allclose(out[:, 3:], _fwd(model, tok), atol=1e-5)


@pytest.mark.parametrize("scan_layers", [False, True])
def test_kv_cache_decode_equals_full_forward(scan_layers):
  model = _model(scan_layers=scan_layers)
  tok = _tokens(3, 14, seed=4)
  full = _fwd(model, tok)
  cache = KVCache.init(model.cfg, batch=3, max_len=20)
  step = nnx.jit(lambda m, t, c: m(t, cache=c))
  logits, cache = step(model, tok[:, :5], cache)
  outs = [logits]
  for i in range(5, 14):
    logits, cache = step(model, tok[:, i:i + 1], cache)
    outs.append(logits)
  np.testing.assert_allclose(jnp.concatenate(outs, axis=1), full, atol=1e-5, rtol=0)
  assert int(cache.index) == 14


@pytest.mark.parametrize("scan_layers", [False, True])
def test_shared_prefix_cache_equals_full_forward(scan_layers):
  """Prefill each prompt once, decode G continuations reading the shared prefix."""
  model = _model(scan_layers=scan_layers)
  prompts = _tokens(2, 6, seed=5)
  g, n = 3, 4
  conts = _tokens(2 * g, n, seed=6)
  prefix = KVCache.init(model.cfg, batch=2, max_len=6)
  _, prefix = nnx.jit(lambda m, t, c: m(t, cache=c))(model, prompts, prefix)
  cache = prefix.as_prefix(group_size=g, max_len=n)
  pos = jnp.broadcast_to(6 + jnp.arange(n), (2 * g, n))
  step = nnx.jit(lambda m, t, p, c: m(t, positions=p, cache=c))
  logits, cache = step(model, conts[:, :2], pos[:, :2], cache)
  last, cache = step(model, conts[:, 2:], pos[:, 2:], cache)    # then more slots
  full = _fwd(model, jnp.concatenate([jnp.repeat(prompts, g, axis=0), conts], axis=1))
  np.testing.assert_allclose(jnp.concatenate([logits, last], axis=1), full[:, 6:], atol=1e-5)


def test_scan_remat_and_loop_agree():
  tok = _tokens(2, 9, seed=7)
  loop = _model()
  scanned = _model(scan_layers=True, remat="block")
  # Copy the loop model's block weights into the stacked layout.
  loop_blocks = nnx.state(loop.blocks, nnx.Param)
  stacked = jax.tree.map(lambda *xs: jnp.stack(xs), *[loop_blocks[i] for i in range(2)])
  nnx.update(scanned.blocks, stacked)
  for name in ("embed", "lm_head"):
    getattr(scanned, name)[...] = getattr(loop, name)[...]
  np.testing.assert_allclose(_fwd(scanned, tok), _fwd(loop, tok), atol=1e-5)
  grads = nnx.jit(nnx.grad(lambda m: m(tok).mean()))(scanned)
  assert all(np.isfinite(np.asarray(x)).all() for x in jax.tree.leaves(grads))


def test_bfloat16_compute():
  model = _model(dtype="bfloat16")
  out = _fwd(model, _tokens(2, 8))
  assert out.dtype == jnp.bfloat16
  np.testing.assert_allclose(np.asarray(out, np.float32), np.asarray(_fwd(_model(), _tokens(2, 8))),
                             atol=0.1)


def test_bad_options_raise():
  with pytest.raises(ValueError, match="num_kv_heads"):
    _model(num_kv_heads=3)
  with pytest.raises(ValueError, match="remat"):
    _model(remat="everything")(_tokens(1, 3))


def test_deepseekmath_7b_parameter_count_without_allocation():
  cfg = config_lib.model_config("deepseekmath_7b")
  with nnx.use_eager_sharding(False):
    abstract = nnx.eval_shape(lambda: Transformer(cfg, rngs=nnx.Rngs(0)))
  assert count_params(abstract) == 6_910_365_696
  assert (cfg.num_layers, cfg.embed_dim, cfg.num_heads, cfg.num_kv_heads, cfg.mlp_dim,
          cfg.vocab_size, cfg.rope_theta, cfg.norm_eps, cfg.tie_embeddings,
          cfg.max_seq_len) == (30, 4096, 32, 32, 11008, 102400, 10000.0, 1e-6, False, 4096)


def test_1b_variant_is_about_one_billion():
  cfg = config_lib.model_config("1b")
  with nnx.use_eager_sharding(False):
    abstract = nnx.eval_shape(lambda: Transformer(cfg, rngs=nnx.Rngs(0)))
  assert 0.9e9 < count_params(abstract) < 1.6e9
