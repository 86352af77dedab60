"""The train step and checkpoints on a (data 2, fsdp 2, tensor 2) mesh of 8 fake CPU devices.

Run in its own pytest process (the Makefile does): the device count must be set before
jax is imported.
"""

import os
import sys

if "jax" not in sys.modules:
  os.environ["XLA_FLAGS"] = (os.environ.get("XLA_FLAGS", "") +
                             " --xla_force_host_platform_device_count=8")

import jax  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from flax import nnx  # noqa: E402
from jax.sharding import NamedSharding, PartitionSpec as P  # noqa: E402

from deepseekmath_jax import checkpoint, config_lib, sharding  # noqa: E402
from deepseekmath_jax.model import Transformer  # noqa: E402
from deepseekmath_jax.trainers import train_lib  # noqa: E402

RULES = config_lib.AXIS_RULES
CFG = config_lib.model_config("tiny", num_layers=1, vocab_size=64, max_seq_len=32)


def _setup(mesh):
  opt = config_lib.opt_config(schedule="multistep", peak_lr=1e-2, warmup_steps=0)
  opt.eps = 1.0  # update ≈ lr·g, so parameters compare as tightly as gradients
  return train_lib.setup_training(lambda: Transformer(CFG, rngs=nnx.Rngs(0)), mesh, RULES,
                                  opt, 10)


def _params(setup):
  rng = np.random.default_rng(0)
  return jax.tree.map(lambda x: (rng.normal(size=x.shape) * 0.05).astype(x.dtype),
                      setup.abstract_state["params"])


def _batch():
  rng = np.random.default_rng(1)
  tokens = rng.integers(0, 64, (8, 17)).astype(np.int32)
  return dict(inputs=tokens[:, :-1], targets=tokens[:, 1:],
              positions=np.tile(np.arange(16, dtype=np.int32), (8, 1)),
              segment_ids=np.ones((8, 16), np.int32), loss_mask=np.ones((8, 16), np.float32))


@pytest.mark.skipif(jax.device_count() != 8, reason="needs 8 devices set before jax import")
def test_sharded_step_equals_one_device_and_checkpoints_keep_layout(tmp_path):
  results = {}
  for name, mesh in (("one", sharding.make_mesh(config_lib.mesh_config(), jax.devices()[:1])),
                     ("eight", sharding.make_mesh(config_lib.mesh_config(data=2, fsdp=2,
                                                                         tensor=2)))):
    setup = _setup(mesh)
    state = setup.init_state(_params(setup), seed=0)
    step = train_lib.jit_train_step(
        train_lib.make_train_step(setup.graphdef, setup.tx, setup.schedule,
                                  num_microbatches=2), setup)
    state, metrics = step(state, train_lib.device_batch(_batch(), setup))
    results[name] = (setup, state, metrics)

  setup, state, metrics = results["eight"]
  mesh = setup.mesh
  up = state["params"]["blocks"][0]["mlp"]["up_proj"]
  assert up.sharding.is_equivalent_to(NamedSharding(mesh, P("fsdp", "tensor")), 2)
  mu = state["opt"]["opt_state"][1][0].mu["blocks"][0]["mlp"]["up_proj"]
  assert mu.sharding.is_equivalent_to(up.sharding, 2)          # moments follow params
  count = train_lib.update_count(state["opt"]["opt_state"])
  assert count.sharding.is_equivalent_to(NamedSharding(mesh, P()), 0)   # stack note 4

  _, one_state, one_metrics = results["one"]
  np.testing.assert_allclose(float(metrics["loss"]), float(one_metrics["loss"]), rtol=1e-5)
  jax.tree.map(lambda a, b: np.testing.assert_allclose(np.asarray(a), np.asarray(b),
                                                       rtol=1e-5, atol=1e-7),
               state["params"], one_state["params"])

  ckpt = checkpoint.Checkpointer(str(tmp_path / "checkpoints"))
  ckpt.save(1, state)
  ckpt.wait()
  step_restored, items = ckpt.restore(setup.abstract_state)
  ckpt.close()
  assert step_restored == 1
  restored_up = items["params"]["blocks"][0]["mlp"]["up_proj"]
  assert restored_up.sharding.is_equivalent_to(up.sharding, 2)
  np.testing.assert_array_equal(np.asarray(restored_up), np.asarray(up))
