"""Sharded model on 8 fake CPU devices: placement, and equality with one device.

Run in its own pytest process (the Makefile does): the device count must be set before
jax is imported.
"""

import os
import sys

if "jax" not in sys.modules:
  os.environ["XLA_FLAGS"] = (os.environ.get("XLA_FLAGS", "") +
                             " --xla_force_host_platform_device_count=8")

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402
import optax  # noqa: E402
import pytest  # noqa: E402
from flax import nnx  # noqa: E402
from jax.sharding import NamedSharding, PartitionSpec as P  # noqa: E402

from deepseekmath_jax import config_lib, sharding  # noqa: E402
from deepseekmath_jax.model import Transformer, hf_io  # noqa: E402

RULES = config_lib.AXIS_RULES
CFG = config_lib.model_config("tiny", num_heads=4, num_kv_heads=2, embed_dim=64, mlp_dim=128)
TOKENS = np.random.RandomState(0).randint(0, CFG.vocab_size, (8, 16)).astype(np.int32)


def _loss(model, tokens):
  logits = model(tokens[:, :-1]).astype(jnp.float32)
  return optax.softmax_cross_entropy_with_integer_labels(logits, tokens[:, 1:]).mean()


def _run(mesh):
  model = sharding.create_model(lambda: Transformer(CFG, rngs=nnx.Rngs(0)), mesh, RULES)
  with sharding.mesh_rules(mesh, RULES):
    opt = nnx.Optimizer(model, optax.adamw(1e-2, b1=0.9, b2=0.95, weight_decay=0.1),
                        wrt=nnx.Param)
    tokens = jnp.asarray(TOKENS)
    if mesh is not None:
      tokens = jax.device_put(tokens, sharding.batch_sharding(mesh, RULES))

    @nnx.jit
    def step(model, opt, tokens):
      loss, grads = nnx.value_and_grad(_loss)(model, tokens)
      opt.update(model, grads)
      return loss, grads

    logits = nnx.jit(lambda m, t: m(t))(model, tokens)
    loss, grads = step(model, opt, tokens)
  params = jax.tree.map(np.asarray, nnx.to_pure_dict(nnx.state(model, nnx.Param)))
  grads = jax.tree.map(np.asarray, nnx.to_pure_dict(grads))
  return model, np.asarray(logits), float(loss), params, grads


@pytest.fixture(scope="module")
def reference():
  assert jax.device_count() == 8, "XLA_FLAGS device count was not applied"
  return _run(None)


@pytest.mark.parametrize("shape", [(8, 1, 1), (2, 4, 1), (2, 2, 2)])
def test_sharded_equals_single_device(reference, shape):
  _, ref_logits, ref_loss, ref_params, ref_grads = reference
  mesh = sharding.make_mesh(dict(zip(("data", "fsdp", "tensor"), shape)))
  model, logits, loss, params, grads = _run(mesh)
  data, fsdp, tensor = shape
  # Parameters really are sharded as the rules say.
  q = model.blocks[0].attn.q_proj[...]
  assert q.sharding.is_equivalent_to(NamedSharding(mesh, P("fsdp", "tensor", None)), 3)
  up = model.blocks[0].mlp.up_proj[...]
  assert up.sharding.is_equivalent_to(NamedSharding(mesh, P("fsdp", "tensor")), 2)
  shard_shape = up.addressable_shards[0].data.shape
  assert shard_shape == (CFG.embed_dim // fsdp, CFG.mlp_dim // tensor)
  emb = model.embed[...]
  assert emb.sharding.is_equivalent_to(NamedSharding(mesh, P("tensor", "fsdp")), 2)
  np.testing.assert_allclose(logits, ref_logits, atol=1e-5)
  assert abs(loss - ref_loss) < 1e-5
  jax.tree.map(lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-7), grads,
               ref_grads)

  # AdamW's first step moves a parameter by lr·g/(|g| + ε): for |g| near ε that is sign-like,
  # and a float reassociation across shardings can move it by up to lr. Where the gradient is
  # well above ε the update is well conditioned and must match.
  def check_step(a, b, g):
    well = np.abs(g) > 1e-4
    np.testing.assert_allclose(a[well], b[well], atol=1e-5)
    np.testing.assert_array_less(np.abs(a - b), 2e-2 + 1e-6)   # at most ~2 lr anywhere

  jax.tree.map(check_step, params, ref_params, ref_grads)


def test_hf_checkpoint_loads_sharded(tmp_path):
  model = sharding.create_model(lambda: Transformer(CFG, rngs=nnx.Rngs(1)), None, RULES)
  hf_io.save_hf_checkpoint(model, tmp_path / "ckpt")
  mesh = sharding.make_mesh(dict(data=2, fsdp=2, tensor=2))
  loaded = hf_io.load_hf_checkpoint(tmp_path / "ckpt", mesh=mesh, rules=RULES)
  gate = loaded.blocks[1].mlp.gate_proj[...]
  assert gate.sharding.is_equivalent_to(NamedSharding(mesh, P("fsdp", "tensor")), 2)
  assert gate.addressable_shards[0].data.shape == (CFG.embed_dim // 2, CFG.mlp_dim // 2)
  with sharding.mesh_rules(mesh, RULES):
    out = nnx.jit(lambda m, t: m(t))(loaded, jnp.asarray(TOKENS))
  np.testing.assert_allclose(np.asarray(out), np.asarray(model(jnp.asarray(TOKENS))), atol=1e-5)


def test_mesh_sizes():
  assert sharding.mesh_shape(dict(data=-1, fsdp=2, tensor=1), 8) == (4, 2, 1)
  with pytest.raises(ValueError, match="does not divide"):
    sharding.mesh_shape(dict(data=-1, fsdp=3, tensor=1), 8)
  with pytest.raises(ValueError, match="needs 4 devices"):
    sharding.mesh_shape(dict(data=2, fsdp=2, tensor=1), 8)
