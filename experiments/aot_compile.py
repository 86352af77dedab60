r"""Ahead-of-time compilation of a stage's jitted programs for a TPU topology, on any machine.

Question: do the 7B recipes compile, shard as configured and fit in HBM on a given TPU
topology? Answered without the hardware, the way MaxText's `train_compile.py` does: libtpu
(`pip install -e ".[tpu_aot]"`; `make install-tpu` builds the venv .venv-tpu with it) describes a
topology's devices (`jax.experimental.topologies`), the config's mesh is laid over them, the
state is abstract (`nnx.eval_shape`, never allocated) and the stage's own jitted functions
are lowered and compiled by the TPU compiler:

  pretrain / sft   the train step (train_lib.jit_train_step: accumulation, remat,
                   scan_layers as configured);
  grpo             the sampler's prefill + decode program (sampler.lower_generate) at the
                   config's rollout shapes, the log-prob program (grpo_step.jit_logprobs) and
                   the update program (grpo_step.jit_update: μ, minibatches as configured).

  .venv-tpu/bin/python experiments/aot_compile.py \
      --config=configs/grpo.py:deepseekmath_7b --topology=v5p-256 --output=runs/aot/grpo.json
  (--num_slices=N for multi-slice; --config.a.b=v overrides as in main.py; --programs=sampler
  compiles only the named programs; --count_flops adds the FLOPs a step executes)

Per program the JSON holds the compiler's per-device `memory_analysis()` (argument, output,
temp, alias bytes; `peak_bytes_per_device` = argument + output + temp - alias), `flops`
from `cost_analysis()`, and `resident_bytes_per_device`: state that stays in HBM while the
program runs without being one of its arguments (GRPO: the optimizer state and π_ref
while sampling; π_ref during the update). `fits` is peak + resident <= 90% of the chip's
HBM. XLA's cost analysis counts a while loop's body once, so a scanned model's `flops` is
one layer's (and the sampler's one decode step's) worth: `flops_counting` says so,
`model_flops` gives the hand count (metrics.flops_per_token), and `--count_flops` the executed
FLOPs from extra compilations (`executed_flops`) with `mfu_upper_bound` = model / executed.
A program whose temporaries exceed HBM is refused by the compiler; its entry then holds the
compiler's message and `fits: false`.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import re
import sys
import time
from typing import Any

from absl import app
from absl import flags
from absl import logging
from ml_collections import config_flags

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
# Nothing here runs on a TPU: libtpu's one-process-per-machine lock must not stop two
# compilations (or a compilation next to a TPU job) from running side by side.
os.environ.setdefault("ALLOW_MULTIPLE_LIBTPU_LOAD", "1")

# pylint: disable=g-import-not-at-top,wrong-import-position
import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

from deepseekmath_jax import metrics
from deepseekmath_jax import sharding
from deepseekmath_jax.model import Transformer
from deepseekmath_jax.rl import grpo_step, sampler
from deepseekmath_jax.trainers import grpo as grpo_trainer
from deepseekmath_jax.trainers import train_lib

_CONFIG = config_flags.DEFINE_config_file("config", None, "Path to a config file, `path.py:arg`.",
                                          lock_config=True)
_TOPOLOGY = flags.DEFINE_string("topology", None, "TPU slice name, e.g. v5p-256 (see TOPOLOGIES).")
_NUM_SLICES = flags.DEFINE_integer("num_slices", 1, "Slices joined over DCN.")
_OUTPUT = flags.DEFINE_string("output", None, "Where to write the JSON report.")
_PROGRAMS = flags.DEFINE_list("programs", [], "Compile only these programs (default: all of "
                               "the stage's: train_step | sampler, logprobs, update).")
_COUNT_FLOPS = flags.DEFINE_bool(
    "count_flops", False, "Also compile 1- and 2-layer unrolled variants to count the FLOPs a "
    "step executes (flops_per_step, min_seconds, mfu_upper_bound).")

GiB = 1 << 30
FIT_FRACTION = 0.9   # leave 10% of HBM to the runtime, fragmentation and collectives' buffers


@dataclasses.dataclass(frozen=True)
class Chip:
  hbm_bytes: int           # HBM per chip (the runtime's bytes_limit is about this)
  peak_bf16_flops: float   # dense bf16 FLOP/s per chip (Cloud TPU system architecture pages)


CHIPS = {
    "v4": Chip(32 * GiB, 275e12),
    "v5e": Chip(16 * GiB, 197e12),
    "v5p": Chip(95 * GiB, 459e12),
    "v6e": Chip(32 * GiB, 918e12),
}


@dataclasses.dataclass(frozen=True)
class Topology:
  """`get_topology_desc` arguments of a slice (MaxText's accelerator_to_spec_map)."""
  chip: str
  topology_name: str
  chip_config_name: str
  num_chips: int
  chips_per_host_bounds: tuple[int, int, int] = (2, 2, 1)


# v4 and v5p names count TensorCores (2 per chip, one megacore device); v5e/v6e count chips.
TOPOLOGIES = {
    "v4-8": Topology("v4", "v4:2x2x1", "megacore", 4),
    "v4-32": Topology("v4", "v4:2x2x4", "megacore", 16),
    "v4-64": Topology("v4", "v4:2x4x4", "megacore", 32),
    "v4-128": Topology("v4", "v4:4x4x4", "megacore", 64),
    "v4-256": Topology("v4", "v4:4x4x8", "megacore", 128),
    "v4-512": Topology("v4", "v4:4x8x8", "megacore", 256),
    "v5p-8": Topology("v5p", "v5:2x2x1", "megacore", 4),
    "v5p-32": Topology("v5p", "v5:2x2x4", "megacore", 16),
    "v5p-64": Topology("v5p", "v5:2x4x4", "megacore", 32),
    "v5p-128": Topology("v5p", "v5:4x4x4", "megacore", 64),
    "v5p-256": Topology("v5p", "v5:4x4x8", "megacore", 128),
    "v5p-512": Topology("v5p", "v5:4x8x8", "megacore", 256),
    "v5p-1024": Topology("v5p", "v5:8x8x8", "megacore", 512),
    "v5e-16": Topology("v5e", "v5e:4x4", "default", 16),
    "v5e-32": Topology("v5e", "v5e:4x8", "default", 32),
    "v5e-64": Topology("v5e", "v5e:8x8", "default", 64),
    "v5e-128": Topology("v5e", "v5e:8x16", "default", 128),
    "v5e-256": Topology("v5e", "v5e:16x16", "default", 256),
    "v6e-16": Topology("v6e", "v6e:4x4", "default", 16),
    "v6e-32": Topology("v6e", "v6e:4x8", "default", 32),
    "v6e-64": Topology("v6e", "v6e:8x8", "default", 64),
    "v6e-128": Topology("v6e", "v6e:8x16", "default", 128),
    "v6e-256": Topology("v6e", "v6e:16x16", "default", 256),
}


def topology_devices(name: str, num_slices: int = 1) -> list[Any]:
  """The devices of `num_slices` slices of topology `name`, described by libtpu."""
  if name not in TOPOLOGIES:
    raise ValueError(f"--topology={name!r} is not a known TPU slice; known: "
                     f"{', '.join(TOPOLOGIES)}")
  try:
    import libtpu  # noqa: F401  pylint: disable=unused-import
  except ImportError:
    raise RuntimeError("libtpu is not installed: AOT compilation for TPU needs it. Install the "
                       "project's tpu_aot extra into a separate venv (`make install-tpu`, or "
                       "`pip install -e '.[tpu_aot]'`) and run this script with that venv's "
                       "python.") from None
  from jax.experimental import topologies  # pylint: disable=import-outside-toplevel
  t = TOPOLOGIES[name]
  desc = topologies.get_topology_desc(
      platform="tpu", topology_name=t.topology_name, chip_config_name=t.chip_config_name,
      chips_per_host_bounds=t.chips_per_host_bounds, num_slices=num_slices)
  devices = list(desc.devices)
  if len(devices) != t.num_chips * num_slices:
    raise RuntimeError(f"{name}: libtpu described {len(devices)} devices, expected "
                       f"{t.num_chips * num_slices}")
  return devices


def _abstract(shape: tuple[int, ...], dtype, sh: Any) -> jax.ShapeDtypeStruct:
  return jax.ShapeDtypeStruct(shape, jnp.dtype(dtype), sharding=sh)


def bytes_per_device(tree: Any) -> int:
  """Bytes one device holds of a tree of sharded ShapeDtypeStructs (the largest shard)."""
  total = 0
  for x in jax.tree.leaves(tree):
    shard = x.sharding.shard_shape(x.shape) if x.sharding is not None else x.shape
    total += math.prod(shard) * jnp.dtype(x.dtype).itemsize
  return total


def analyse(name: str, lowered: jax.stages.Lowered, chip: Chip, *, resident_bytes: int = 0,
            model_flops: float | None = None) -> dict[str, Any]:
  """Compiles `lowered` and reports its per-device memory and cost."""
  start = time.perf_counter()
  try:
    compiled = lowered.compile()
  except jax.errors.JaxRuntimeError as e:
    if "RESOURCE_EXHAUSTED" not in str(e):
      raise
    # The compiler refuses a program whose temporaries alone exceed HBM: that is the answer.
    message = str(e).splitlines()[0]
    logging.info("%-9s DOES NOT FIT: %s", name, message)
    print(f"[aot] {name}: does not fit ({message})", flush=True)
    found = re.search(r"HLO temporaries \(([0-9.]+)G\)", message)
    return dict(fits=False, error=message, resident_bytes_per_device=int(resident_bytes),
                temp_bytes=int(float(found.group(1)) * GiB) if found else None,
                compile_seconds=round(time.perf_counter() - start, 1))
  seconds = time.perf_counter() - start
  mem = compiled.memory_analysis()
  out = dict(
      argument_bytes=int(mem.argument_size_in_bytes),
      output_bytes=int(mem.output_size_in_bytes),
      temp_bytes=int(mem.temp_size_in_bytes),
      alias_bytes=int(mem.alias_size_in_bytes),
      generated_code_bytes=int(mem.generated_code_size_in_bytes),
  )
  out["peak_bytes_per_device"] = (out["argument_bytes"] + out["output_bytes"]
                                  + out["temp_bytes"] - out["alias_bytes"])
  out["resident_bytes_per_device"] = int(resident_bytes)
  out["total_bytes_per_device"] = out["peak_bytes_per_device"] + int(resident_bytes)
  out["flops"] = _flops(compiled)
  out["flops_counting"] = "xla cost analysis: loop bodies (scanned layers, decode) counted once"
  if model_flops is not None:
    out["model_flops"] = float(model_flops)
  out["fits"] = out["total_bytes_per_device"] <= FIT_FRACTION * chip.hbm_bytes
  out["compile_seconds"] = round(seconds, 1)
  logging.info("%-9s peak %6.2f GiB + resident %6.2f GiB = %6.2f GiB of %d GiB per device "
               "(%s); compiled in %.1fs", name, out["peak_bytes_per_device"] / GiB,
               resident_bytes / GiB, out["total_bytes_per_device"] / GiB,
               chip.hbm_bytes // GiB, "fits" if out["fits"] else "DOES NOT FIT", seconds)
  print(f"[aot] {name}: {out['total_bytes_per_device'] / GiB:.2f} GiB per device, "
        f"fits={out['fits']}", flush=True)
  return out


@dataclasses.dataclass
class Program:
  """One lowered program of a stage, and what the report needs besides the compiler."""
  lowered: jax.stages.Lowered
  resident_bytes: int = 0         # live state that is not one of its arguments
  model_flops: float | None = None  # hand count for the whole program (all devices)
  repeats: int = 1                # how often the step runs it (microbatches, μ·M updates)


def _setup(config: Any, mesh: Any, updates_per_step: int = 1) -> train_lib.TrainSetup:
  rules = tuple(tuple(r) for r in config.axis_rules)
  make_model = lambda: Transformer(config.model, rngs=nnx.Rngs(config.seed))
  return train_lib.setup_training(make_model, mesh, rules, config.opt,
                                  config.total_steps * updates_per_step)


def lm_programs(config: Any, mesh: Any) -> dict[str, Program]:
  """pretrain / sft: the trainer's jitted train step on one global batch."""
  setup = _setup(config, mesh)
  step = train_lib.jit_train_step(
      train_lib.make_train_step(setup.graphdef, setup.tx, setup.schedule,
                                num_microbatches=config.num_microbatches,
                                z_loss_weight=config.opt.z_loss_weight), setup)
  shape, batch_sh = (config.batch_size, config.seq_len), setup.batch_sharding()
  batch = {k: _abstract(shape, jnp.float32 if k == "loss_mask" else jnp.int32, batch_sh)
           for k in train_lib.BATCH_KEYS}
  tokens = config.batch_size * config.seq_len
  flops = metrics.flops_per_token(config.model, config.seq_len) * tokens
  return {"train_step": Program(step.lower(setup.abstract_state, batch), model_flops=flops,
                                repeats=config.num_microbatches)}


def grpo_update_batch(B: int, G: int, P: int, T: int, supervision: str, max_steps: int,
                      mesh: Any, rules: Any) -> dict[str, jax.ShapeDtypeStruct]:
  """The update batch trainers/grpo.py assembles (assemble_batch + the two log-probs)."""
  sh = lambda ndim: sharding.batch_sharding(mesh, rules, ndim)
  batch = {k: _abstract((B, G, P + T), jnp.int32, sh(3))
           for k in ("inputs", "positions", "segment_ids")}
  for k in ("loss_mask", "old_logp", "ref_logp"):
    batch[k] = _abstract((B, G, T), jnp.float32, sh(3))
  batch["group_valid"] = _abstract((B,), jnp.bool_, sh(1))
  if supervision == "process":
    batch["step_rewards"] = _abstract((B, G, max_steps), jnp.float32, sh(3))
    batch["step_ends"] = _abstract((B, G, max_steps), jnp.int32, sh(3))
    batch["step_mask"] = _abstract((B, G, max_steps), jnp.bool_, sh(3))
  else:
    batch["rewards"] = _abstract((B, G), jnp.float32, sh(2))
  return batch


def grpo_programs(config: Any, mesh: Any) -> dict[str, Program]:
  """grpo: the sampler, the log-prob and the update programs at the config's shapes."""
  grpo_trainer.check_config(config)
  settings = grpo_trainer.settings_from_config(config)
  G = int(config.group_size)
  B = config.batch_size // G
  P, T = int(config.questions.max_prompt_len), int(config.rollout.max_new_tokens)
  setup = _setup(config, mesh, settings.num_updates * settings.num_minibatches)
  params = setup.abstract_state["params"]
  params_bytes = bytes_per_device(params)
  opt_bytes = bytes_per_device(setup.abstract_state["opt"])
  model_cfg = config.model
  out = {}

  # Sampling: B prompts of the longest length P (the bucket the trainer's batches reach).
  # While it runs, the optimizer state and π_ref stay in HBM.
  model = nnx.merge(setup.graphdef, params, setup.rest)
  lowered = sampler.lower_generate(
      model, [[1] * P] * B, num_samples=G, max_new_tokens=T,
      temperature=config.rollout.temperature, top_p=config.rollout.top_p,
      top_k=config.rollout.top_k, max_prompt_len=P, mesh=setup.mesh, rules=setup.rules)
  rows = sampler.bucket_rows(B, sampler.batch_shards(setup.mesh, setup.rules))
  # Prefill of the padded prompt rows + one forward per decoded token of the B'·G rows
  # (attention over the prompt and the tokens so far: the mean context P + T/2).
  sample_flops = (rows * P * metrics.flops_per_token(model_cfg, P) / 3
                  + rows * G * T * metrics.flops_per_token(model_cfg, P + T // 2) / 3)
  out["sampler"] = Program(lowered, resident_bytes=opt_bytes + params_bytes,
                           model_flops=sample_flops)

  # π_ref (and π_θold when μ·M > 1) log-probs: the policy's state and π_ref stay resident.
  logprob_fn = grpo_step.jit_logprobs(setup, P, temperature=settings.temperature,
                                      chunk_size=settings.logprob_chunk_size)
  seq_sh = sharding.batch_sharding(setup.mesh, setup.rules, 3)
  seq = {k: _abstract((B, G, P + T), jnp.int32, seq_sh)
         for k in ("inputs", "positions", "segment_ids")}
  fwd_flops = B * G * (P + T) * metrics.flops_per_token(model_cfg, P + T) / 3
  out["logprobs"] = Program(logprob_fn.lower(params, seq),
                            resident_bytes=opt_bytes + params_bytes, model_flops=fwd_flops)

  # The update: μ·M optimizer steps on the batch; π_ref's parameters stay resident.
  update_fn = grpo_step.jit_update(
      grpo_step.make_update(setup.graphdef, setup.tx, setup.schedule, settings, P), setup)
  batch = grpo_update_batch(B, G, P, T, settings.supervision,
                            int(config.reward_model.max_steps), setup.mesh, setup.rules)
  out["update"] = Program(update_fn.lower(setup.abstract_state, batch),
                          resident_bytes=params_bytes,
                          model_flops=3 * fwd_flops * settings.num_updates,
                          repeats=settings.num_updates * settings.num_minibatches)
  return out


def stage_programs(config: Any, mesh: Any) -> dict[str, Program]:
  if config.stage in ("pretrain", "sft"):
    return lm_programs(config, mesh)
  if config.stage == "grpo":
    return grpo_programs(config, mesh)
  raise ValueError(f"config.stage={config.stage!r}: AOT compilation covers pretrain, sft and "
                   f"grpo")


def executed_flops(config: Any, mesh: Any, repeats: dict[str, int]) -> dict[str, float | None]:
  """Per-device FLOPs one step executes, per program, from the compiler.

  XLA counts a loop body once, so the stage is compiled twice more with 1 and 2 unrolled
  layers and one microbatch (the same functions; `flops(L) = a + b·L` exactly for identical
  layers), extrapolated to the config's layers and multiplied by the program's repeats
  (microbatches, μ·M updates). The sampler's decode loop cannot be unrolled this way: None.
  """
  counts = []
  for layers in (1, 2):
    cfg = config.copy_and_resolve_references()
    with cfg.unlocked():
      cfg.model.num_layers, cfg.model.scan_layers = layers, False
      if "num_microbatches" in cfg:
        cfg.batch_size //= cfg.num_microbatches
        cfg.num_microbatches = 1
      if "grpo" in cfg:   # K accumulation chunks execute one minibatch's FLOPs in total
        cfg.grpo.grad_accum_steps = 1
    counts.append({name: _flops(p.lowered.compile())
                   for name, p in stage_programs(cfg, mesh).items()
                   if name != "sampler" and name in repeats})
  out = {}
  for name, repeat in repeats.items():
    if name not in counts[0]:
      out[name] = None
      continue
    per_layer = counts[1][name] - counts[0][name]
    out[name] = repeat * (counts[0][name] + (config.model.num_layers - 1) * per_layer)
    logging.info("%-9s %.4g FLOPs per device per step (%.4g per layer)", name, out[name],
                 repeat * per_layer)
  return out


def _flops(compiled: Any) -> float:
  cost = compiled.cost_analysis()
  if isinstance(cost, (list, tuple)):  # older jax returned one dict per device program
    cost = cost[0]
  return float(cost.get("flops", -1.0)) if cost else -1.0


def compile_stage(config: Any, topology: str, num_slices: int = 1, count_flops: bool = False,
                  only: tuple[str, ...] = ()) -> dict[str, Any]:
  """Compiles `config`'s stage for `topology`; returns the report (see module docstring)."""
  devices = topology_devices(topology, num_slices)
  chip = CHIPS[TOPOLOGIES[topology].chip]
  jax.config.update("jax_threefry_partitionable", True)  # as the trainers run
  mesh = sharding.make_mesh(config.mesh, devices)
  logging.info("%s x%d: %d devices (%s), mesh %s", topology, num_slices, len(devices),
               devices[0].device_kind, dict(mesh.shape))
  stage = stage_programs(config, mesh)
  unknown = set(only) - set(stage)
  if unknown:
    raise ValueError(f"--programs: {sorted(unknown)} not in this stage's {sorted(stage)}")
  stage = {name: p for name, p in stage.items() if not only or name in only}
  programs = {name: analyse(name, p.lowered, chip, resident_bytes=p.resident_bytes,
                            model_flops=p.model_flops)
              for name, p in stage.items()}
  if count_flops:
    repeats = {name: p.repeats for name, p in stage.items()}
    for name, flops in executed_flops(config, mesh, repeats).items():
      programs[name]["flops_per_step"] = flops
      if flops and "model_flops" in programs[name]:
        peak = chip.peak_bf16_flops
        programs[name]["min_seconds"] = flops / peak
        programs[name]["mfu_upper_bound"] = (programs[name]["model_flops"] / len(devices)
                                             / flops)
  return dict(
      stage=config.stage, topology=topology, num_slices=num_slices,
      device_kind=devices[0].device_kind, num_devices=len(devices),
      mesh={k: int(v) for k, v in mesh.shape.items()},
      hbm_bytes_per_device=chip.hbm_bytes, peak_bf16_flops_per_device=chip.peak_bf16_flops,
      fit_fraction=FIT_FRACTION, programs=programs,
      fits=all(p["fits"] for p in programs.values()))


def main(argv):
  del argv
  if not _TOPOLOGY.value:
    raise app.UsageError("--topology is required (e.g. v5p-256)")
  report = compile_stage(_CONFIG.value, _TOPOLOGY.value, _NUM_SLICES.value,
                         count_flops=_COUNT_FLOPS.value, only=tuple(_PROGRAMS.value))
  text = json.dumps(report, indent=1)
  if _OUTPUT.value:
    os.makedirs(os.path.dirname(os.path.abspath(_OUTPUT.value)), exist_ok=True)
    with open(_OUTPUT.value, "w", encoding="utf-8") as f:
      f.write(text + "\n")
  print(text)
  print(f"[aot] {report['stage']} on {report['topology']}: "
        f"{'fits' if report['fits'] else 'DOES NOT FIT'}", flush=True)


if __name__ == "__main__":
  flags.mark_flags_as_required(["config"])
  app.run(main)
