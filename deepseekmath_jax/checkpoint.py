"""Checkpoints that continue a run exactly: orbax items, grain iterator state, validation.

A checkpoint at step s is one orbax `CheckpointManager` step directory holding
  <name>      one `StandardSave` item per entry of the state dict (the trainers save
              `params` and `opt` = optimizer state + step + RNG key data),
  data_iter   the grain iterator's state (grain's own orbax handler), when there is one,
  meta        JSON: the step, caller fields (e.g. the bad-step count), and one fingerprint
              per array.
Saves are asynchronous (arrays are copied off the devices before `save` returns, so the
caller may donate them to the next step right after).

Orbax does not notice a checkpoint whose bytes were damaged after it was committed: it can
restore garbage, or fail deep inside tensorstore. `restore` therefore checks every array
against the fingerprint stored in `meta` (a wrapping sum of per-element hashes of its bits
and positions, computed on the devices). When the newest step cannot be read or does not
match, it logs a warning, moves that step aside to `<directory>_corrupt/` (so the step
number can be saved again: orbax silently skips a re-save of an existing step) and tries
the previous one.

A trainer's workdir also holds `model_config.json`, the `config.model` it trained, so that
evaluating or continuing from the workdir needs no architecture flags (`load_model_config`)
and a run initialized from it with another architecture fails with the keys that differ
(`check_architecture`) instead of a shape error deep inside orbax.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from collections.abc import Mapping
from typing import Any

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
import orbax.checkpoint as ocp
from absl import logging

try:  # grain's orbax handler registers these args when grain is importable.
  import grain.checkpoint as grain_checkpoint  # pylint: disable=g-import-not-at-top
except ImportError:  # pragma: no cover - grain is a core dependency
  grain_checkpoint = None

_DATA_ITER = "data_iter"
_META = "meta"
_RESERVED = (_DATA_ITER, _META)


MODEL_CONFIG_FILE = "model_config.json"
# Keys of `config.model` a run may change when it loads another run's parameters (compute and
# storage dtypes, rematerialization, the attention kernel, the RoPE context length); every
# other key is the architecture the parameters were trained for.
RUNTIME_MODEL_KEYS = ("dtype", "param_dtype", "remat", "attention", "max_seq_len")


class CorruptCheckpointError(RuntimeError):
  """A committed checkpoint whose contents do not match what was saved."""


class ProcessLayoutError(ValueError):
  """A checkpoint's data-iterator state was written by another number of processes."""


def save_model_config(workdir: str, model_config: ml_collections.ConfigDict) -> None:
  """Writes `config.model` to `workdir/model_config.json` (process 0; atomic)."""
  if jax.process_index() != 0:
    return
  path = os.path.join(workdir, MODEL_CONFIG_FILE)
  with open(path + ".tmp", "w", encoding="utf-8") as f:
    json.dump(model_config.to_dict(), f, indent=1, sort_keys=True)
  os.replace(path + ".tmp", path)


def load_model_config(workdir: str) -> ml_collections.ConfigDict | None:
  """The `config.model` a trainer saved in `workdir`; None for a workdir without one."""
  path = os.path.join(workdir, MODEL_CONFIG_FILE)
  if not os.path.exists(path):
    return None
  with open(path, encoding="utf-8") as f:
    return ml_collections.ConfigDict(json.load(f))


def check_architecture(workdir: str, model_config: ml_collections.ConfigDict) -> None:
  """Raises ValueError naming every architecture key where `model_config` differs from the
  one `workdir` was trained with (nothing to check when the workdir saved none)."""
  saved = load_model_config(workdir)
  if saved is None:
    return
  wanted = model_config.to_dict()
  diffs = [f"{k}: {saved[k]!r} there, {wanted.get(k)!r} here" for k in sorted(saved.keys())
           if k not in RUNTIME_MODEL_KEYS and saved[k] != wanted.get(k)]
  if diffs:
    raise ValueError(f"{workdir} holds parameters of another architecture than config.model "
                     f"({os.path.join(workdir, MODEL_CONFIG_FILE)}): " + "; ".join(diffs))


def run_model_config(workdir: str, runtime: ml_collections.ConfigDict | None = None
                     ) -> ml_collections.ConfigDict | None:
  """The architecture `workdir` saved, with `runtime`'s RUNTIME_MODEL_KEYS on top (None when
  the workdir saved none)."""
  saved = load_model_config(workdir)
  if saved is None or runtime is None:
    return saved
  for key in RUNTIME_MODEL_KEYS:
    if key in runtime and key in saved:
      saved[key] = runtime[key]
  return saved


def _leaf_bits(x: jax.Array) -> jax.Array:
  """The leaf's bits as uint32, one element per array element."""
  x = jnp.asarray(x)
  if jnp.issubdtype(x.dtype, jax.dtypes.prng_key):
    x = jax.random.key_data(x)
  if x.dtype == jnp.bool_:
    return x.astype(jnp.uint32)
  size = x.dtype.itemsize
  if size == 4:
    return jax.lax.bitcast_convert_type(x, jnp.uint32)
  if size == 2:
    return jax.lax.bitcast_convert_type(x, jnp.uint16).astype(jnp.uint32)
  if size == 1:
    return jax.lax.bitcast_convert_type(x, jnp.uint8).astype(jnp.uint32)
  if size == 8:
    halves = jax.lax.bitcast_convert_type(x, jnp.uint32)  # [..., 2]
    return halves[..., 0] ^ (halves[..., 1] * jnp.uint32(0x9E3779B1))
  raise TypeError(f"cannot fingerprint dtype {x.dtype}")


def _mix(h: jax.Array) -> jax.Array:
  """murmur3's 32-bit finalizer: every input bit flips about half of the output bits."""
  h = h ^ (h >> 16)
  h = h * jnp.uint32(0x85EBCA6B)
  h = h ^ (h >> 13)
  h = h * jnp.uint32(0xC2B2AE35)
  return h ^ (h >> 16)


@jax.jit
def _fingerprints(leaves: list[jax.Array]) -> jax.Array:
  sums = []
  for leaf in leaves:
    bits = _leaf_bits(leaf).reshape(-1)
    # Each element is hashed with its position, then the hashes are summed (uint32 wraps,
    # exactly and identically on every backend): a changed or moved element changes the
    # sum except with probability ~2^-32.
    index = jnp.arange(bits.shape[0], dtype=jnp.uint32)
    sums.append(jnp.sum(_mix(bits ^ _mix(index + jnp.uint32(0x9E3779B9))), dtype=jnp.uint32))
  return jnp.stack(sums) if sums else jnp.zeros((0,), jnp.uint32)


def tree_fingerprint(tree: Any) -> list[int]:
  """One uint32 fingerprint per array leaf, in `jax.tree.leaves` order."""
  leaves = jax.tree.leaves(tree)
  return [int(v) for v in np.asarray(jax.device_get(_fingerprints(leaves)))]


def abstract_tree(tree: Any) -> Any:
  """ShapeDtypeStructs (with shardings) of a tree of arrays, as restore targets."""
  return jax.tree.map(ocp.utils.to_shape_dtype_struct, tree)


class Checkpointer:
  """Saves and restores a run's state under one directory; see the module docstring.

  Args:
    directory: where step directories live (created if missing).
    max_to_keep: how many of the newest steps to keep.
    async_save: write in a background thread (the device-to-host copy is still blocking).
    read_only: another run's checkpoints (`init_from`): nothing is created or moved.
  """

  def __init__(self, directory: str, *, max_to_keep: int = 3, async_save: bool = True,
               read_only: bool = False):
    self.directory = os.path.abspath(directory)
    self.read_only = read_only
    if read_only and not os.path.isdir(self.directory):
      raise FileNotFoundError(f"no checkpoint directory {self.directory}")
    options = ocp.CheckpointManagerOptions(
        max_to_keep=None if read_only else max_to_keep,
        enable_async_checkpointing=async_save,
        create=not read_only, read_only=read_only)
    self._manager = ocp.CheckpointManager(self.directory, options=options)

  def all_steps(self) -> list[int]:
    return sorted(self._manager.all_steps())

  def latest_step(self) -> int | None:
    return self._manager.latest_step()

  def save(self, step: int, state: Mapping[str, Any], *, data_iter: Any = None,
           meta: Mapping[str, Any] | None = None, force: bool = True) -> bool:
    """Starts an asynchronous save of `state` (and the iterator state) as `step`.

    Returns False when orbax declined (the step already exists).
    """
    bad = [name for name in state if name in _RESERVED]
    if bad:
      raise ValueError(f"state item names {bad} are reserved for the checkpoint layout")
    record = dict(meta or {})
    record.update(step=int(step), saved_at=time.time(),
                  fingerprints={name: tree_fingerprint(tree) for name, tree in state.items()})
    items = {name: ocp.args.StandardSave(tree) for name, tree in state.items()}
    if data_iter is not None:
      items[_DATA_ITER] = grain_checkpoint.CheckpointSave(data_iter)
    items[_META] = ocp.args.JsonSave(record)
    saved = self._manager.save(int(step), args=ocp.args.Composite(**items), force=force)
    if saved:
      logging.info("checkpoint step %d: saving to %s", step, self.directory)
    else:
      logging.warning("checkpoint step %d already exists in %s; not saved again", step,
                      self.directory)
    return saved

  def restore(self, abstract_state: Mapping[str, Any], *, data_iter: Any = None,
              items: tuple[str, ...] | None = None) -> tuple[int, dict[str, Any]] | None:
    """Restores the newest readable step; None when the directory has no checkpoint.

    Args:
      abstract_state: name -> tree of ShapeDtypeStructs (with shardings) to restore into.
      data_iter: a grain iterator whose state is set from the same step, if given.
      items: names to restore (default all of `abstract_state`); e.g. ("params",).

    Returns:
      (step, {name: tree, ..., "meta": dict}).
    """
    names = tuple(items or abstract_state)
    for step in reversed(self.all_steps()):
      try:
        if data_iter is not None:
          self._check_process_layout(step)
        restored = self._restore_step(step, {n: abstract_state[n] for n in names})
        if data_iter is not None:
          # Only after the arrays verified, so a corrupt step never moves the iterator.
          self._manager.restore(step, args=ocp.args.Composite(
              **{_DATA_ITER: grain_checkpoint.CheckpointRestore(data_iter)}))
        return step, restored
      except ProcessLayoutError:
        raise  # a good checkpoint for another topology: never set aside
      except Exception as e:  # pylint: disable=broad-except
        # Orbax and tensorstore raise many types for damaged files; any of them means the
        # step cannot be trusted.
        logging.warning("checkpoint step %d in %s cannot be used (%s: %s); falling back "
                        "to the previous checkpoint", step, self.directory,
                        type(e).__name__, str(e)[:500])
        if not self.read_only:
          self._quarantine(step)
    return None

  def _check_process_layout(self, step: int) -> None:
    """Raises ProcessLayoutError when `step` holds iterator states of another process count.

    Arrays reshard onto any mesh on restore, but a grain iterator state is one file per
    process (`process_<i>-of-<n>.json`) and only continues the same shard layout.
    """
    directory = os.path.join(self.directory, str(step), _DATA_ITER)
    if not os.path.isdir(directory):
      return
    mine = f"process_{jax.process_index()}-of-{jax.process_count()}.json"
    found = sorted(f for f in os.listdir(directory) if f.startswith("process_"))
    if found and mine not in found:
      raise ProcessLayoutError(
          f"checkpoint step {step} in {self.directory} holds the data iterator state of "
          f"another process layout ({', '.join(found[:4])}); this run is process "
          f"{jax.process_index()} of {jax.process_count()}. Resume it with the same number of "
          "processes, or start a run from its parameters on this topology with "
          "--config.init_from=<its workdir> (parameters reshard onto any mesh).")

  def _restore_step(self, step: int, abstract_state: Mapping[str, Any]) -> dict[str, Any]:
    args = {name: ocp.args.StandardRestore(tree) for name, tree in abstract_state.items()}
    args[_META] = ocp.args.JsonRestore()
    restored = dict(self._manager.restore(step, args=ocp.args.Composite(**args)))
    meta = restored[_META]
    if not isinstance(meta, dict) or meta.get("step") != step:
      raise CorruptCheckpointError(f"meta of step {step} is missing or names another step")
    for name in abstract_state:
      expected = meta.get("fingerprints", {}).get(name)
      got = tree_fingerprint(restored[name])
      if expected != got:
        raise CorruptCheckpointError(
            f"item {name!r} of step {step} does not match its saved fingerprint")
    return {**{n: restored[n] for n in abstract_state}, _META: meta}

  def _quarantine(self, step: int) -> None:
    """Moves a bad step out of the manager's directory (process 0), then rescans."""
    self._manager.wait_until_finished()
    if jax.process_index() == 0:
      src = os.path.join(self.directory, str(step))
      dst_dir = self.directory.rstrip("/") + "_corrupt"
      os.makedirs(dst_dir, exist_ok=True)
      dst = os.path.join(dst_dir, f"{step}.{int(time.time())}")
      if os.path.isdir(src):
        shutil.move(src, dst)
        logging.warning("moved unusable checkpoint %s to %s", src, dst)
    if jax.process_count() > 1:
      from jax.experimental import multihost_utils  # pylint: disable=g-import-not-at-top
      multihost_utils.sync_global_devices(f"checkpoint_quarantine_{step}")
    self._manager.reload()

  def reached_preemption(self, step: int) -> bool:
    """True when the cluster announced a preemption (multi-host jax.distributed runs)."""
    return self._manager.reached_preemption(step)

  def wait(self) -> None:
    """Blocks until pending asynchronous saves are committed."""
    self._manager.wait_until_finished()

  def close(self) -> None:
    self._manager.wait_until_finished()
    self._manager.close()
