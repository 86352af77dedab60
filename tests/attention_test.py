"""`config.model.attention`: jax.nn.dot_product_attention equals the einsum attention.

Same parameters under both settings; causal, packed segments with padding, grouped KV heads,
float32 and bfloat16, gradients, and the KV-cache path (prefill + decode), which keeps the
einsum kernels under either setting (model/layers.py says why).
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

from deepseekmath_jax import config_lib, sharding
from deepseekmath_jax.model import KVCache, Transformer


def _models(**overrides):
  """(einsum model, dot_product_attention model) with the same parameters (GQA: 4 q, 2 kv)."""
  out = []
  for attention in ("xla", "dot_product_attention"):
    cfg = config_lib.model_config("tiny", attention=attention, **overrides)
    out.append(sharding.create_model(lambda c=cfg: Transformer(c, rngs=nnx.Rngs(0)), None,
                                     config_lib.AXIS_RULES))
  assert out[0].cfg.num_kv_heads < out[0].cfg.num_heads
  return out


@nnx.jit
def _fwd(model, tokens, positions, segment_ids):
  return model(tokens, positions=positions, segment_ids=segment_ids)


def _packed_batch():
  """Two rows: two packed documents + padding, and one document with left padding."""
  rng = np.random.RandomState(0)
  tokens = jnp.asarray(rng.randint(1, 256, (2, 24)), jnp.int32)
  seg = np.zeros((2, 24), np.int32)
  pos = np.zeros((2, 24), np.int32)
  seg[0, :9], pos[0, :9] = 1, np.arange(9)
  seg[0, 9:20], pos[0, 9:20] = 2, np.arange(11)
  seg[1, 5:], pos[1, 5:] = 1, np.arange(19)
  return tokens, jnp.asarray(pos), jnp.asarray(seg)


@pytest.mark.parametrize("dtype,atol", [("float32", 2e-5), ("bfloat16", 0.0)])
def test_forward_matches_einsum_attention(dtype, atol):
  einsum, dpa = _models(dtype=dtype)
  tokens, pos, seg = _packed_batch()
  want = np.asarray(_fwd(einsum, tokens, pos, seg).astype(jnp.float32))
  got = np.asarray(_fwd(dpa, tokens, pos, seg).astype(jnp.float32))
  assert np.all(np.isfinite(got))  # all-masked padding rows stay finite, as in the einsum path
  real = np.asarray(seg) != 0
  if dtype == "float32":
    np.testing.assert_allclose(got, want, atol=atol, rtol=1e-5)
  else:
    # bf16 activations: the two paths round at different points; compare against the float32
    # reference with the tolerance bf16 itself gives (the einsum path's own error).
    ref = np.asarray(_fwd(_models()[0], tokens, pos, seg))
    own_err = np.abs(want - ref)[real].max()
    assert np.abs(got - ref)[real].max() <= 1.5 * own_err + 1e-3
  # Padding rows (segment 0) also agree in float32.
  if dtype == "float32":
    np.testing.assert_allclose(got[~real], want[~real], atol=atol, rtol=1e-5)


def test_gradients_match_einsum_attention():
  einsum, dpa = _models()
  tokens, pos, seg = _packed_batch()
  mask = (seg != 0).astype(jnp.float32)

  def loss(model):
    logits = model(tokens, positions=pos, segment_ids=seg)
    logp = jax.nn.log_softmax(logits, axis=-1)
    return -jnp.sum(jnp.take_along_axis(logp, tokens[..., None], axis=-1)[..., 0] * mask)

  grads = [nnx.jit(nnx.grad(loss))(m) for m in (einsum, dpa)]
  want, got = (jax.tree.leaves(nnx.to_pure_dict(g)) for g in grads)
  assert len(want) == len(got)
  for w, g in zip(want, got):
    np.testing.assert_allclose(np.asarray(g), np.asarray(w), atol=2e-5, rtol=1e-4)


def test_kv_cache_decode_matches_full_forward():
  """Prefill + one-token decode steps under the switch equal its full forward."""
  _, dpa = _models()
  rng = np.random.RandomState(1)
  tokens = jnp.asarray(rng.randint(1, 256, (2, 12)), jnp.int32)
  pos = jnp.broadcast_to(jnp.arange(12, dtype=jnp.int32), (2, 12))
  full = np.asarray(_fwd(dpa, tokens, pos, jnp.ones((2, 12), jnp.int32)))

  @nnx.jit
  def step(model, tok, p, cache):
    return model(tok, positions=p, segment_ids=jnp.ones(tok.shape, jnp.int32), cache=cache)

  cache = KVCache.init(dpa.cfg, 2, 12)
  logits, cache = step(dpa, tokens[:, :8], pos[:, :8], cache)
  outs = [np.asarray(logits)]
  for t in range(8, 12):
    logits, cache = step(dpa, tokens[:, t:t + 1], pos[:, t:t + 1], cache)
    outs.append(np.asarray(logits))
  np.testing.assert_allclose(np.concatenate(outs, axis=1), full, atol=2e-5, rtol=1e-5)


def test_unknown_attention_is_an_error_naming_the_key():
  cfg = config_lib.model_config("tiny", attention="flash")
  with pytest.raises(ValueError, match="config.model.attention='flash'"):
    sharding.create_model(lambda: Transformer(cfg, rngs=nnx.Rngs(0)), None,
                          config_lib.AXIS_RULES)


def test_cudnn_reaches_jax_and_needs_a_gpu():
  """`cudnn` is passed to jax.nn.dot_product_attention, whose cuDNN kernel needs a GPU (and
  bf16/fp16); on this CPU it refuses instead of silently running something else."""
  cfg = config_lib.model_config("tiny", attention="cudnn", dtype="bfloat16")
  model = sharding.create_model(lambda: Transformer(cfg, rngs=nnx.Rngs(0)), None,
                                config_lib.AXIS_RULES)
  tokens, pos, seg = _packed_batch()
  with pytest.raises(Exception, match="(?i)cudnn|gpu|cuda"):
    _fwd(model, tokens, pos, seg)
