"""Device mesh and logical-axis sharding: the only module that names mesh axes.

Model code annotates parameters and activations with logical names ("embed", "mlp",
"act_batch", ...). The rules table (`config_lib.AXIS_RULES`, carried in each config as
`config.axis_rules`) maps them to the mesh axes `data`, `fsdp` and `tensor`:

  data    pure data parallelism (parameters replicated),
  fsdp    data parallelism with parameters and optimizer state sharded (ZeRO-3 style),
  tensor  Megatron-style tensor parallelism of heads and MLP columns.

Meshes use `AxisType.Auto` (jax 0.10 defaults to Explicit, which NNX's embedding
gather cannot resolve; see the stack notes).
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import jax
import numpy as np
from flax import nnx
from flax.core import spmd as flax_spmd
from jax.sharding import AxisType, Mesh, NamedSharding, PartitionSpec

MESH_AXES = ("data", "fsdp", "tensor")

Rules = Sequence[tuple[str, Any]]


def mesh_shape(sizes: dict[str, int] | Any, num_devices: int) -> tuple[int, ...]:
  """Resolves per-axis sizes (one may be -1, "the rest") against a device count."""
  sizes = {a: int(sizes[a]) for a in MESH_AXES}
  unknown = [a for a, s in sizes.items() if s == -1]
  if len(unknown) > 1:
    raise ValueError(f"at most one mesh axis may be -1, got {sizes}")
  known = math.prod(s for s in sizes.values() if s != -1)
  if any(s == 0 or s < -1 for s in sizes.values()):
    raise ValueError(f"mesh sizes must be positive or -1, got {sizes}")
  if unknown:
    if num_devices % known:
      raise ValueError(f"mesh {sizes} does not divide {num_devices} devices")
    sizes[unknown[0]] = num_devices // known
  if math.prod(sizes.values()) != num_devices:
    raise ValueError(f"mesh {sizes} needs {math.prod(sizes.values())} devices, "
                     f"have {num_devices}")
  return tuple(sizes[a] for a in MESH_AXES)


def make_mesh(sizes: dict[str, int] | Any,
              devices: Sequence[jax.Device] | None = None) -> Mesh:
  """A (data, fsdp, tensor) mesh with Auto axis types over all (or the given) devices."""
  devices = list(devices) if devices is not None else jax.devices()
  shape = mesh_shape(sizes, len(devices))
  if devices == jax.devices():
    return jax.make_mesh(shape, MESH_AXES, axis_types=(AxisType.Auto,) * 3)
  return Mesh(np.asarray(devices).reshape(shape), MESH_AXES,
              axis_types=(AxisType.Auto,) * 3)


@contextlib.contextmanager
def mesh_rules(mesh: Mesh | None, rules: Rules) -> Iterator[None]:
  """Activates a mesh and the logical rules; with no mesh, only disables eager sharding."""
  rules = tuple((k, tuple(v) if isinstance(v, list) else v) for k, v in rules)
  if mesh is None:
    with nnx.use_eager_sharding(False), nnx.logical_axis_rules(rules):
      yield
  else:
    with jax.set_mesh(mesh), nnx.logical_axis_rules(rules):
      yield


def logical_to_spec(logical: Sequence[str | None], rules: Rules) -> PartitionSpec:
  """PartitionSpec for logical axis names under `rules` (unknown names replicate)."""
  table = dict((k, tuple(v) if isinstance(v, list) else v) for k, v in rules)
  return PartitionSpec(*(table.get(name) if name else None for name in logical))


def shard(x: jax.Array, logical: Sequence[str | None]) -> jax.Array:
  """Constrains an activation to the sharding its logical axes map to.

  A no-op when no mesh is active (single device, tests), so model code calls it freely.
  """
  mesh = jax.sharding.get_abstract_mesh()
  if mesh is None or mesh.empty:
    return x
  spec = logical_to_spec(logical, flax_spmd.get_logical_axis_rules())
  return jax.lax.with_sharding_constraint(x, spec)


def replicated(mesh: Mesh) -> NamedSharding:
  return NamedSharding(mesh, PartitionSpec())


def batch_sharding(mesh: Mesh, rules: Rules, ndim: int = 2) -> NamedSharding:
  """Sharding of an input batch [B, ...]: batch over the act_batch mesh axes."""
  spec = logical_to_spec(("act_batch",) + (None,) * (ndim - 1), rules)
  return NamedSharding(mesh, spec)


def create_model(make: Callable[[], nnx.Module], mesh: Mesh | None, rules: Rules) -> nnx.Module:
  """Builds a module directly in its sharded layout.

  Parameters are initialized inside one jit (one compile instead of one per initializer);
  with a mesh their logical shardings are output constraints, so each device
  materializes only its own shards: the full model never exists on one device.
  """
  with mesh_rules(mesh, rules):
    return nnx.jit(make)()


def abstract_model(make: Callable[[], nnx.Module], mesh: Mesh | None,
                   rules: Rules) -> nnx.Module:
  """The module with ShapeDtypeStruct leaves (carrying shardings when a mesh is given)."""
  with mesh_rules(mesh, rules):
    model = nnx.eval_shape(make)
    if mesh is not None:
      model = nnx.as_abstract(model)
  return model


def state_shardings(state: Any, mesh: Mesh, rules: Rules) -> Any:
  """NamedSharding tree for an nnx State from its variables' logical annotations."""
  with mesh_rules(mesh, rules):
    return nnx.get_named_sharding(state, mesh)
