"""The NNX transformer: causality, packing, padding, KV cache, scan/remat options."""

import jax
import jax.extend
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


def _same_weights_scanned(loop, **overrides):
  """A scan_layers model holding the loop model's weights (blocks stacked)."""
  scanned = _model(scan_layers=True, **overrides)
  loop_blocks = nnx.state(loop.blocks, nnx.Param)
  n = loop.cfg.num_layers
  stacked = jax.tree.map(lambda *xs: jnp.stack(xs), *[loop_blocks[i] for i in range(n)])
  nnx.update(scanned.blocks, stacked)
  for name in ("embed", "lm_head"):
    getattr(scanned, name)[...] = getattr(loop, name)[...]
  return scanned


def test_scan_remat_and_loop_agree():
  tok = _tokens(2, 9, seed=7)
  loop = _model()
  scanned = _same_weights_scanned(loop, remat="block")
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


def _prefix_decode(model, prompts, conts, g):
  """Prefill (a call of P tokens), then 2 decode calls of one token over a shared prefix."""
  prefix = KVCache.init(model.cfg, batch=prompts.shape[0], max_len=prompts.shape[1])
  _, prefix = model(prompts, cache=prefix)
  cache = prefix.as_prefix(group_size=g, max_len=conts.shape[1])
  pos = prompts.shape[1] + jnp.arange(conts.shape[1])
  outs = []
  for i in range(conts.shape[1]):
    logits, cache = model(conts[:, i:i + 1], positions=jnp.broadcast_to(pos[i:i + 1],
                                                                       (conts.shape[0], 1)),
                          cache=cache)
    outs.append(logits)
  return jnp.concatenate(outs, axis=1), cache


def test_scan_and_loop_agree_with_cache_under_remat():
  """Prefill scans a cache as per-layer slices, decode carries it: both equal the loop."""
  loop = _model(remat="block")
  scanned = _same_weights_scanned(loop, remat="block")
  prompts, conts = _tokens(2, 6, seed=8), _tokens(4, 3, seed=9)
  run = nnx.jit(_prefix_decode, static_argnums=(3,))
  want, want_cache = run(loop, prompts, conts, 2)
  got, got_cache = run(scanned, prompts, conts, 2)
  np.testing.assert_allclose(got, want, atol=1e-5)
  np.testing.assert_allclose(got_cache.k, jnp.stack(want_cache.k), atol=1e-5)
  np.testing.assert_allclose(got_cache.prefix_v, jnp.stack(want_cache.prefix_v), atol=1e-5)


def test_unrolled_remat_model_decodes_inside_while_loop():
  """A remat'd model with unrolled layers, captured by a loop body (as the sampler's decode),
  traces and runs (scanned layers: sampler_test)."""
  model = _model(scan_layers=False, remat="block")
  tok = _tokens(2, 6, seed=10)

  @nnx.jit
  def greedy(model, tok):
    logits, cache = model(tok[:, :3], cache=KVCache.init(model.cfg, batch=2, max_len=6))

    def body(i, carry):
      cache, last, out = carry
      logits, cache = model(last[:, None], cache=cache)
      last = jnp.argmax(logits[:, 0], axis=-1).astype(jnp.int32)
      return cache, last, out.at[:, i].set(last)

    first = jnp.argmax(logits[:, -1], axis=-1).astype(jnp.int32)
    _, _, out = jax.lax.fori_loop(0, 3, body, (cache, first, jnp.zeros((2, 3), jnp.int32)))
    return first, out

  first, out = greedy(model, tok)
  # The same greedy continuation from full forwards without a cache.
  seq = jnp.concatenate([tok[:, :3], first[:, None]], axis=1)
  for i in range(3):
    seq = jnp.concatenate([seq, jnp.argmax(_fwd(model, seq)[:, -1], -1)[:, None]], axis=1)
  np.testing.assert_array_equal(np.asarray(seq[:, 4:]), np.asarray(out[:, :3]))


def test_grpo_scoring_gradients_equal_between_scan_and_loop():
  """GRPO's shared-prompt scoring (prefix cache) under remat: same values and gradients."""
  from deepseekmath_jax.rl import grpo_step

  loop = _model(remat="block")
  scanned = _same_weights_scanned(loop, remat="block")
  b, g, p, t = 2, 3, 5, 4
  rng = np.random.RandomState(11)
  seq = grpo_step.build_sequences(
      [rng.randint(1, 256, n).tolist() for n in (5, 3)], rng.randint(1, 256, (b, g, t)),
      np.asarray([[4, 2, 3], [1, 4, 4]]), prompt_len=p, pad_id=0)
  seq = {k: jnp.asarray(v) for k, v in seq.items()}
  weights = jnp.asarray(rng.randn(b * g, t, loop.cfg.embed_dim), jnp.float32)

  def loss(model):
    hidden = grpo_step.completion_hidden_states(model, seq, p)
    return jnp.sum(hidden * weights), hidden

  value_grad = nnx.jit(nnx.value_and_grad(loss, has_aux=True))
  (want_loss, want_hidden), want_grads = value_grad(loop)
  (got_loss, got_hidden), got_grads = value_grad(scanned)
  np.testing.assert_allclose(got_hidden, want_hidden, atol=1e-5)
  np.testing.assert_allclose(got_loss, want_loss, rtol=1e-5)
  loop_blocks = nnx.state(want_grads.blocks, nnx.Param)
  stacked = jax.tree.map(lambda *xs: jnp.stack(xs), *[loop_blocks[i] for i in range(loop.cfg.num_layers)])
  got_blocks = nnx.state(got_grads.blocks, nnx.Param)
  for want_leaf, got_leaf in zip(jax.tree.leaves(stacked), jax.tree.leaves(got_blocks)):
    assert np.abs(np.asarray(want_leaf)).max() > 0
    np.testing.assert_allclose(got_leaf, want_leaf, atol=1e-4, rtol=1e-4)
  np.testing.assert_allclose(got_grads.embed[...], want_grads.embed[...], atol=1e-4, rtol=1e-4)


def _remat_input_shapes(jaxpr) -> list[tuple[int, ...]]:
  """Shapes of the inputs of every rematerialized call in a jaxpr, sub-jaxprs included."""
  shapes = []
  for eqn in jaxpr.eqns:
    if eqn.primitive.name in ("checkpoint", "remat", "remat2"):
      shapes += [tuple(v.aval.shape) for v in eqn.invars]
    for sub in jax.extend.core.jaxprs_in_params(eqn.params):
      shapes += _remat_input_shapes(sub)
  return shapes


def test_grpo_scoring_gives_remat_blocks_one_layer_of_cache():
  """Under scan + remat each block's rematerialized call sees its own layer's keys/values,
  never the [N, B, K, S, E] stack: the backward keeps a remat call's inputs once per layer."""
  from deepseekmath_jax.rl import grpo_step

  model = _model(scan_layers=True, remat="block")
  b, g, p, t = 2, 3, 5, 4
  seq = {k: jnp.ones((b, g, p + t), jnp.int32) for k in ("inputs", "positions", "segment_ids")}
  graphdef, params = nnx.split(model)

  def loss(params):
    return grpo_step.completion_hidden_states(nnx.merge(graphdef, params), seq, p).sum()

  # The forward's rematerialized calls: their inputs are what the backward keeps per layer.
  shapes = _remat_input_shapes(jax.make_jaxpr(loss)(params).jaxpr)
  assert shapes, "no rematerialized block call found"
  cfg = model.cfg
  stacked = [s for s in shapes if len(s) == 5 and s[0] == cfg.num_layers]
  assert not stacked, f"a remat'd block takes a stacked cache: {stacked}"
  assert (b * g, cfg.num_kv_heads, t, cfg.head_dim) in shapes    # its own layer's slice
