"""Pure pieces of a language-model trainer: loss, one train step, eval step, state, guards.

The train state is a plain pytree so it shards, donates and checkpoints without wrappers:

  state = {"params": nested dict of arrays (nnx pure dict of the model's nnx.Param),
           "opt": {"opt_state": optax state, "step": int32 [], "rng": uint32 key data}}

`make_train_step` returns a pure function `(state, rest, batch) -> (state, metrics)`:
the masked mean cross-entropy (optionally plus z-loss) over `loss_mask`, gradients
accumulated by a `lax.scan` over microbatches, one optax update, and a finite guard:
a step whose loss or gradient norm is NaN/inf leaves params and optimizer state as they
were (inside jit, by `lax.cond`), so a bad batch can never reach a checkpoint.
`jit_train_step` wraps it once with in/out shardings on the mesh and donated state.

The GRPO trainer reuses `TrainSetup` (model + optimizer + shardings), `jit_train_step`
with its own loss, and `BadStepCounter`.
"""

from __future__ import annotations

import dataclasses
import signal
import threading
from collections.abc import Callable, Mapping
from typing import Any

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
import optax
from flax import nnx
from jax.sharding import Mesh

from deepseekmath_jax import sharding
from deepseekmath_jax.trainers import optim

Batch = Mapping[str, jax.Array]
State = dict[str, Any]
BATCH_KEYS = ("inputs", "targets", "positions", "segment_ids", "loss_mask")


class NonFiniteLossError(RuntimeError):
  """Raised after too many consecutive steps with a NaN/inf loss or gradient norm."""


def cross_entropy(logits_BxLxV: jax.Array, targets_BxL: jax.Array,
                  mask_BxL: jax.Array) -> tuple[jax.Array, jax.Array]:
  """Sums over masked tokens of the cross-entropy and of log Z² (for z-loss), in float32."""
  logits = logits_BxLxV.astype(jnp.float32)
  log_z_BxL = jax.nn.logsumexp(logits, axis=-1)
  target_logit_BxL = jnp.take_along_axis(logits, targets_BxL[..., None], axis=-1)[..., 0]
  mask = mask_BxL.astype(jnp.float32)
  return jnp.sum((log_z_BxL - target_logit_BxL) * mask), jnp.sum(log_z_BxL ** 2 * mask)


def forward(graphdef: nnx.GraphDef, params: Any, rest: Any, batch: Batch) -> jax.Array:
  """Logits [B, L, V] of the model `graphdef` with `params` on a packed batch."""
  model = nnx.merge(graphdef, params, rest)
  return model(batch["inputs"], positions=batch["positions"],
               segment_ids=batch["segment_ids"])


def _microbatches(batch: Batch, num: int) -> dict[str, jax.Array]:
  """[B, ...] -> [num, B/num, ...] taking rows num apart, so that every microbatch draws
  evenly from each data shard (no cross-device movement when B/num divides the shards)."""
  out = {}
  for key, x in batch.items():
    b = x.shape[0]
    if b % num:
      raise ValueError(f"batch size {b} is not divisible by {num} microbatches")
    x = jnp.swapaxes(x.reshape((b // num, num) + x.shape[1:]), 0, 1)
    out[key] = sharding.shard(x, (None, "act_batch") + (None,) * (x.ndim - 2))
  return out


def make_train_step(graphdef: nnx.GraphDef, tx: optax.GradientTransformation,
                    schedule: optax.Schedule, *, num_microbatches: int = 1,
                    z_loss_weight: float = 0.0) -> Callable[..., tuple[State, dict]]:
  """The pure train step `(state, rest, batch) -> (state, metrics)`; see module docstring.

  Gradient accumulation scans over microbatches and divides the summed token losses by
  the whole batch's token count, so it gives the large-batch gradient (up to float
  summation order), and the memory of one microbatch.
  """

  def sum_loss(params, rest, mb, denom):
    logits = forward(graphdef, params, rest, mb)
    ce_sum, z_sum = cross_entropy(logits, mb["targets"], mb["loss_mask"])
    return (ce_sum + z_loss_weight * z_sum) / denom, (ce_sum, z_sum)

  grad_fn = jax.grad(sum_loss, has_aux=True)

  def step(state: State, rest: Any, batch: Batch) -> tuple[State, dict[str, jax.Array]]:
    params, opt = state["params"], state["opt"]
    num_tokens = jnp.sum(batch["loss_mask"].astype(jnp.float32))
    denom = jnp.maximum(num_tokens, 1.0)
    if num_microbatches == 1:
      grads, (ce_sum, z_sum) = grad_fn(params, rest, batch, denom)
    else:
      def body(carry, mb):
        grads_acc, ce_acc, z_acc = carry
        grads, (ce, z) = grad_fn(params, rest, mb, denom)
        grads_acc = jax.tree.map(jnp.add, grads_acc, grads)
        return (grads_acc, ce_acc + ce, z_acc + z), None

      zeros = jax.tree.map(lambda p: jnp.zeros(p.shape, jnp.float32), params)
      (grads, ce_sum, z_sum), _ = jax.lax.scan(
          body, (zeros, jnp.zeros((), jnp.float32), jnp.zeros((), jnp.float32)),
          _microbatches(batch, num_microbatches))
      grads = jax.tree.map(lambda g, p: g.astype(p.dtype), grads, params)

    loss = ce_sum / denom
    # A non-finite step changes nothing but the step counter (the data was consumed).
    new_params, new_opt_state, grad_norm, finite = apply_if_finite(
        tx, params, opt["opt_state"], grads, loss)
    metrics = dict(
        loss=loss,
        z_loss=z_sum / denom,
        grad_norm=grad_norm,
        # The schedule is indexed by applied updates (optax's count), before this one.
        lr=schedule(update_count(opt["opt_state"])),
        num_tokens=num_tokens,
        finite=finite,
    )
    new_state = dict(params=new_params,
                     opt=dict(opt_state=new_opt_state, step=opt["step"] + 1, rng=opt["rng"]))
    return new_state, metrics

  return step


def apply_if_finite(tx: optax.GradientTransformation, params: Any, opt_state: Any, grads: Any,
                    loss: jax.Array) -> tuple[Any, Any, jax.Array, jax.Array]:
  """One optimizer update, skipped (params and moments unchanged) if loss or grads are not
  finite, so a NaN is never applied. Returns (params, opt_state, grad_norm, finite)."""
  grad_norm = optax.tree.norm(grads)
  finite = jnp.isfinite(loss) & jnp.isfinite(grad_norm)

  def apply(operands):
    p, o, g = operands
    updates, o = tx.update(g, o, p)
    return optax.apply_updates(p, updates), o

  params, opt_state = jax.lax.cond(finite, apply, lambda ops: (ops[0], ops[1]),
                                   (params, opt_state, grads))
  return params, opt_state, grad_norm, finite


class Preemption:
  """Turns SIGTERM into a flag a training loop checks between steps (main thread only)."""

  def __init__(self):
    self.requested = False
    self._previous = None

  def __enter__(self):
    if threading.current_thread() is threading.main_thread():
      self._previous = signal.signal(signal.SIGTERM, self._handle)
    return self

  def _handle(self, signum, frame):  # pylint: disable=unused-argument
    self.requested = True

  def __exit__(self, *exc):
    if self._previous is not None:
      signal.signal(signal.SIGTERM, self._previous)


def update_count(opt_state: Any) -> jax.Array:
  """Optax's count of applied updates (Adam and the schedule keep equal copies)."""
  found = optax.tree_utils.tree_get_all_with_path(opt_state, "count")
  if not found:
    raise ValueError("the optimizer state has no update count")
  return found[0][1]


def make_eval_step(graphdef: nnx.GraphDef) -> Callable[..., dict[str, jax.Array]]:
  """`(params, rest, batch) -> {"loss_sum", "num_tokens"}` for held-out loss/perplexity."""

  def eval_step(params, rest, batch):
    logits = forward(graphdef, params, rest, batch)
    ce_sum, _ = cross_entropy(logits, batch["targets"], batch["loss_mask"])
    return dict(loss_sum=ce_sum, num_tokens=jnp.sum(batch["loss_mask"].astype(jnp.float32)))

  return eval_step


@dataclasses.dataclass
class TrainSetup:
  """A model and optimizer laid out on a mesh: graph, abstract state, shardings."""
  graphdef: nnx.GraphDef
  rest: Any                   # non-parameter model state (usually empty)
  tx: optax.GradientTransformation
  schedule: optax.Schedule
  abstract_state: State       # ShapeDtypeStructs carrying shardings
  state_sharding: State
  mesh: Mesh
  rules: Any

  def batch_sharding(self) -> jax.sharding.NamedSharding:
    return sharding.batch_sharding(self.mesh, self.rules)

  def init_state(self, params: Any, seed: int) -> State:
    """A fresh state around `params` (laid out like `abstract_state["params"]`)."""
    params = jax.device_put(params, self.state_sharding["params"])
    opt_sh = self.state_sharding["opt"]
    opt_state = jax.jit(self.tx.init, out_shardings=opt_sh["opt_state"])(params)
    rng = jax.device_put(jax.random.key_data(jax.random.key(seed)), opt_sh["rng"])
    step = jax.device_put(jnp.zeros((), jnp.int32), opt_sh["step"])
    return dict(params=params, opt=dict(opt_state=opt_state, step=step, rng=rng))


def setup_training(make_model: Callable[[], nnx.Module], mesh: Mesh, rules: Any,
                   opt_cfg: ml_collections.ConfigDict, total_steps: int) -> TrainSetup:
  """Abstract model → shardings of params and of the optimizer state (no arrays built)."""
  abstract = sharding.abstract_model(make_model, mesh, rules)
  graphdef, abs_params, rest = nnx.split(abstract, nnx.Param, ...)
  if jax.tree.leaves(rest):
    raise ValueError("the trainer expects a model whose state is all nnx.Param; found "
                     f"other variables: {jax.tree_util.tree_structure(rest)}")
  param_sh = nnx.to_pure_dict(sharding.state_shardings(abs_params, mesh, rules))
  abs_params = jax.tree.map(lambda x, s: jax.ShapeDtypeStruct(x.shape, x.dtype, sharding=s),
                            nnx.to_pure_dict(abs_params), param_sh)
  tx, schedule = optim.make_optimizer(opt_cfg, total_steps, abs_params)
  abs_opt_state = jax.eval_shape(tx.init, abs_params)
  repl = sharding.replicated(mesh)
  # Moments are laid out like their parameters; scalars (the step count) are replicated
  # (stack note 4: optax's count would otherwise sit on device 0 only).
  opt_state_sh = optax.tree_map_params(tx, lambda _, s: s, abs_opt_state, param_sh,
                                       transform_non_params=lambda _: repl)
  state_sh = dict(params=param_sh, opt=dict(opt_state=opt_state_sh, step=repl, rng=repl))
  abs_opt = dict(opt_state=abs_opt_state, step=jax.ShapeDtypeStruct((), jnp.int32),
                 rng=jax.ShapeDtypeStruct((2,), jnp.uint32))
  abs_state = jax.tree.map(
      lambda x, s: jax.ShapeDtypeStruct(x.shape, x.dtype, sharding=s),
      dict(params=abs_params, opt=abs_opt), state_sh)
  return TrainSetup(graphdef=graphdef, rest=nnx.to_pure_dict(rest), tx=tx, schedule=schedule,
                    abstract_state=abs_state, state_sharding=state_sh, mesh=mesh, rules=rules)


@dataclasses.dataclass(frozen=True)
class MeshProgram:
  """A jitted `f(x, rest, *args)`, called as `(x, *args)` under the setup's mesh and rules.

  `lower` lowers the very program a call runs, from arrays or `jax.ShapeDtypeStruct`s, so
  experiments/aot_compile.py compiles the trainers' own steps for a TPU topology.
  """
  jitted: Any
  setup: TrainSetup

  def __call__(self, x: Any, *args: Any) -> Any:
    with sharding.mesh_rules(self.setup.mesh, self.setup.rules):
      return self.jitted(x, self.setup.rest, *args)

  def lower(self, x: Any, *args: Any) -> jax.stages.Lowered:
    with sharding.mesh_rules(self.setup.mesh, self.setup.rules):
      return self.jitted.lower(x, self.setup.rest, *args)


def jit_train_step(step_fn: Callable[..., Any], setup: TrainSetup) -> MeshProgram:
  """One `jax.jit` with in/out shardings on the mesh and the state's buffers donated."""
  repl = sharding.replicated(setup.mesh)
  batch_sh = setup.batch_sharding()
  jitted = jax.jit(step_fn, in_shardings=(setup.state_sharding, repl, batch_sh),
                   out_shardings=(setup.state_sharding, repl), donate_argnums=(0,))
  return MeshProgram(jitted, setup)


def jit_eval_step(setup: TrainSetup) -> MeshProgram:
  repl = sharding.replicated(setup.mesh)
  jitted = jax.jit(make_eval_step(setup.graphdef),
                   in_shardings=(setup.state_sharding["params"], repl, setup.batch_sharding()),
                   out_shardings=repl)
  return MeshProgram(jitted, setup)


def device_batch(batch: Mapping[str, Any], setup: TrainSetup) -> dict[str, jax.Array]:
  """Host numpy batch (this process's rows) -> global arrays sharded over the batch axes."""
  batch_sh = setup.batch_sharding()
  return {k: jax.make_array_from_process_local_data(batch_sh, batch[k]) for k in BATCH_KEYS}


class BadStepCounter:
  """Counts consecutive non-finite steps; raises once `max_bad_steps` is reached."""

  def __init__(self, max_bad_steps: int, consecutive: int = 0):
    self.max_bad_steps = max_bad_steps
    self.consecutive = consecutive
    self.total = 0

  def update(self, step: int, finite: bool, loss: float, grad_norm: float) -> None:
    if finite:
      self.consecutive = 0
      return
    self.consecutive += 1
    self.total += 1
    if self.consecutive >= self.max_bad_steps:
      raise NonFiniteLossError(
          f"{self.consecutive} consecutive steps up to step {step} had a non-finite loss or "
          f"gradient norm (last loss {loss}, grad norm {grad_norm}); none was applied and "
          f"the last checkpoint holds the last good state (config.max_bad_steps="
          f"{self.max_bad_steps})")


def process_zero_first(build: Callable[[], Any], name: str) -> Any:
  """`build()` on process 0 first, then on the others once it has returned everywhere.

  For artifacts a run creates in its (shared) workdir, such as a tokenizer trained on the
  data: process 0 writes it once and the others load what it wrote, instead of every process
  writing the same file at the same time.
  """
  if jax.process_count() == 1:
    return build()
  from jax.experimental import multihost_utils  # pylint: disable=g-import-not-at-top
  built = build() if jax.process_index() == 0 else None
  multihost_utils.sync_global_devices(f"process_zero_first:{name}")
  return built if jax.process_index() == 0 else build()


def host_array(x: Any) -> np.ndarray:
  """The whole of a (possibly multi-process, sharded) array as numpy, on every process."""
  if isinstance(x, jax.Array) and not x.is_fully_addressable:
    from jax.experimental import multihost_utils  # pylint: disable=g-import-not-at-top
    x = multihost_utils.process_allgather(x, tiled=True)
  return np.asarray(x)


def global_arrays(tree: Any, shardings: Any) -> Any:
  """Host numpy arrays holding the same global values on every process -> `jax.Array`s laid
  out per `shardings` (each process fills its own devices' shards; a multi-process jit
  refuses sharded numpy arguments)."""
  return jax.tree.map(
      lambda x, s: jax.make_array_from_callback(np.shape(x), s, lambda index: np.asarray(x)[index]),
      tree, shardings)
