"""Continued pretraining and SFT: `run(config, workdir)` (stages `pretrain` and `sft`).

  python -m deepseekmath_jax.main --config=configs/pretrain.py:tiny --workdir=/tmp/pt
  python -m deepseekmath_jax.main --config=configs/sft.py:tiny --workdir=/tmp/sft

Both stages are the same loop (arXiv:2402.03300 §2.3 pretraining, §3.2 SFT); they differ
only in data (`config.data.mode`: packed documents, or packed prompt/response pairs with
the loss on responses only) and in the schedule. What the loop does, in order:

1. Resume: if `<workdir>/checkpoints` holds a checkpoint, restore params, optimizer
   state, step, RNG and the grain iterator from the newest readable one (a damaged one is
   set aside with a warning) and continue; the result equals an uninterrupted run.
   Otherwise start from `config.init_from`: '' (random init), `hf:PATH` (a Hugging Face
   LLaMA-format checkpoint, as the paper starts from DeepSeek-Coder-v1.5 7B) or another
   run's workdir (its newest parameters; optimizer and step start fresh).
2. Train: one jitted step per batch (train_lib); metrics are fetched one step late so the
   host never waits on the device; a NaN/inf step is not applied, and
   `config.max_bad_steps` consecutive ones stop the run with an error.
3. Every `log_every` steps: metrics.jsonl + TensorBoard + a progress line (rate, ETA,
   tokens/s, MFU). Every `eval.every` steps: held-out loss and perplexity. Every
   `checkpoint_every` steps and at the end: an asynchronous checkpoint.
4. SIGTERM (preemption): finish the current step, save, exit with status 0 (multi-host:
   when JAX's preemption sync service announces it, at the same step on all hosts).
"""

from __future__ import annotations

import math
import os
import signal
import time
from typing import Any

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
from absl import logging
from flax import nnx

from deepseekmath_jax import checkpoint as checkpoint_lib
from deepseekmath_jax import data as data_lib
from deepseekmath_jax import metrics as metrics_lib
from deepseekmath_jax import sharding
from deepseekmath_jax.model import Transformer
from deepseekmath_jax.trainers import train_lib

CHECKPOINT_DIR = "checkpoints"


def _parse_steps(text: str) -> set[int]:
  try:
    return {int(s) for s in str(text).split(",") if s.strip()}
  except ValueError:
    raise ValueError(f"config.debug.nan_at_steps must be comma-separated integers, "
                     f"got {text!r}") from None


def check_config(config: ml_collections.ConfigDict) -> None:
  """Errors that name the key, before anything expensive happens."""
  if config.stage not in ("pretrain", "sft"):
    raise ValueError(f"config.stage={config.stage!r}: this trainer runs 'pretrain' or 'sft'")
  if config.stage == "sft" and config.data.mode != "sft":
    raise ValueError(f"config.stage='sft' needs config.data.mode='sft', got "
                     f"{config.data.mode!r}")
  for key in ("total_steps", "checkpoint_every", "batch_size", "seq_len", "log_every",
              "num_microbatches", "max_bad_steps"):
    if int(config[key]) <= 0:
      raise ValueError(f"config.{key} must be positive, got {config[key]}")
  if config.batch_size % jax.process_count():
    raise ValueError(f"config.batch_size={config.batch_size} is not divisible by the "
                     f"{jax.process_count()} processes")
  if (config.batch_size // jax.process_count()) % config.num_microbatches:
    raise ValueError(f"config.batch_size={config.batch_size} (per process) is not divisible "
                     f"by config.num_microbatches={config.num_microbatches}")
  if config.seq_len > config.model.max_seq_len:
    raise ValueError(f"config.seq_len={config.seq_len} exceeds config.model.max_seq_len="
                     f"{config.model.max_seq_len}")
  _parse_steps(config.debug.nan_at_steps)


def _make_model_fn(config: ml_collections.ConfigDict):
  return lambda: Transformer(config.model, rngs=nnx.Rngs(config.seed))


def _check_params_match(params: Any, abstract: Any, source: str) -> None:
  got = jax.tree.map(lambda x: (tuple(x.shape), str(x.dtype)), params)
  want = jax.tree.map(lambda x: (tuple(x.shape), str(x.dtype)), abstract)
  if jax.tree_util.tree_structure(got) != jax.tree_util.tree_structure(want) or got != want:
    raise ValueError(f"config.init_from={source!r}: its parameters do not match config.model "
                     f"(first differences: {_first_differences(got, want)})")


def _first_differences(got: Any, want: Any, limit: int = 3) -> list[str]:
  flat_got = dict(jax.tree_util.tree_flatten_with_path(got)[0])
  flat_want = dict(jax.tree_util.tree_flatten_with_path(want)[0])
  out = []
  for path in sorted(set(flat_got) | set(flat_want), key=str):
    if flat_got.get(path) != flat_want.get(path):
      out.append(f"{jax.tree_util.keystr(path)}: {flat_got.get(path)} vs config "
                 f"{flat_want.get(path)}")
  return out[:limit]


def initial_params(config: ml_collections.ConfigDict, setup: train_lib.TrainSetup) -> Any:
  """Parameters of a new run: random, a Hugging Face checkpoint, or another run's."""
  source = config.init_from
  abstract = setup.abstract_state["params"]
  if not source:
    model = sharding.create_model(_make_model_fn(config), setup.mesh, setup.rules)
    return nnx.to_pure_dict(nnx.state(model, nnx.Param))
  if source.startswith("hf:"):
    from deepseekmath_jax.model import hf_io  # pylint: disable=g-import-not-at-top
    model = hf_io.load_hf_checkpoint(
        source[len("hf:"):], mesh=setup.mesh, rules=setup.rules, dtype=config.model.dtype,
        param_dtype=config.model.param_dtype, scan_layers=config.model.scan_layers)
    params = nnx.to_pure_dict(nnx.state(model, nnx.Param))
    _check_params_match(params, abstract, source)
    logging.info("initialized parameters from Hugging Face checkpoint %s", source)
    return params
  directory = os.path.join(source, CHECKPOINT_DIR)
  if not os.path.isdir(directory):
    raise FileNotFoundError(f"config.init_from={source!r}: neither 'hf:PATH' nor a run "
                            f"workdir (no {directory})")
  checkpoint_lib.check_architecture(source, config.model)
  other = checkpoint_lib.Checkpointer(directory, read_only=True)
  restored = other.restore({"params": abstract}, items=("params",))
  other.close()
  if restored is None:
    raise FileNotFoundError(f"config.init_from={source!r}: no readable checkpoint in "
                            f"{directory}")
  logging.info("initialized parameters from %s step %d", directory, restored[0])
  return restored[1]["params"]


def _poison(batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
  """Test hook (config.debug.nan_at_steps): a loss mask of NaN makes the loss NaN."""
  return {**batch, "loss_mask": batch["loss_mask"] * np.float32("nan")}


def _kill_self(ckpt: checkpoint_lib.Checkpointer, pending, report) -> None:
  """Test hook (config.debug.kill_at_step): an abrupt SIGKILL between checkpoints.

  Earlier checkpoints are committed and the step's metrics written first, so the kill
  lands at a known point; nothing else (no save, no cleanup) happens. In a multi-process
  run only the last process is killed (one host failing); the others run on until a
  collective with it fails, as on a cluster.
  """
  ckpt.wait()
  if jax.process_index() != jax.process_count() - 1:
    return
  if pending is not None:
    report(*pending)
  logging.flush()
  os.kill(os.getpid(), signal.SIGKILL)


def evaluate(eval_step, params: Any, batches: list[dict[str, np.ndarray]],
             setup: train_lib.TrainSetup) -> dict[str, float]:
  """Held-out token-weighted loss and perplexity over the finite eval batches."""
  loss_sum, tokens = 0.0, 0.0
  for batch in batches:
    out = jax.device_get(eval_step(params, train_lib.device_batch(batch, setup)))
    loss_sum += float(out["loss_sum"])
    tokens += float(out["num_tokens"])
  loss = loss_sum / max(tokens, 1.0)
  return {"eval/loss": loss, "eval/perplexity": math.exp(min(loss, 80.0)),
          "eval/tokens": tokens}


def run(config: ml_collections.ConfigDict, workdir: str) -> dict[str, Any]:
  """Trains `config` in `workdir` (resuming if it holds a checkpoint).

  Returns a summary: final step, last loss and eval metrics, whether it was preempted.
  """
  check_config(config)
  jax.config.update("jax_threefry_partitionable", True)
  os.makedirs(workdir, exist_ok=True)
  checkpoint_lib.save_model_config(workdir, config.model)
  mesh = sharding.make_mesh(config.mesh)
  rules = tuple(tuple(r) for r in config.axis_rules)

  tokenizer = train_lib.process_zero_first(
      lambda: data_lib.build_tokenizer(config.tokenizer, config.data, workdir), "tokenizer")
  if tokenizer.vocab_size > config.model.vocab_size:
    raise ValueError(f"the tokenizer has {tokenizer.vocab_size} ids but config.model."
                     f"vocab_size={config.model.vocab_size}")

  setup = train_lib.setup_training(_make_model_fn(config), mesh, rules, config.opt,
                                   config.total_steps)
  local_batch = config.batch_size // jax.process_count()
  make_iter = (data_lib.make_sft_iterator if config.data.mode == "sft"
               else data_lib.make_train_iterator)
  train_iter = make_iter(config.data, tokenizer, seed=config.seed, batch_size=local_batch,
                         seq_len=config.seq_len)

  ckpt = checkpoint_lib.Checkpointer(os.path.join(workdir, CHECKPOINT_DIR),
                                     max_to_keep=config.ckpt.max_to_keep,
                                     async_save=config.ckpt.async_save)
  restored = ckpt.restore(setup.abstract_state, data_iter=train_iter)
  if restored is not None:
    start_step, items = restored
    state = {"params": items["params"], "opt": items["opt"]}
    bad_consecutive = int(items["meta"].get("bad_consecutive", 0))
    logging.info("resumed from %s at step %d", ckpt.directory, start_step)
  else:
    start_step, bad_consecutive = 0, 0
    state = setup.init_state(initial_params(config, setup), config.seed)
  bad_steps = train_lib.BadStepCounter(config.max_bad_steps, bad_consecutive)

  writer = metrics_lib.MetricsWriter(workdir, resume_step=start_step)
  flops_per_token = metrics_lib.flops_per_token(config.model, config.seq_len)
  peak = float(config.metrics.peak_flops_per_s)
  if peak <= 0:
    peak = metrics_lib.measure_matmul_peak_flops(
        size=config.metrics.peak_matmul_size, dtype=jnp.dtype(config.model.dtype)) * \
        jax.device_count()
  logging.info("model FLOPs per token %.4g; peak %.4g FLOP/s over %d devices",
               flops_per_token, peak, jax.device_count())

  eval_batches = []
  if config.eval.every > 0:
    eval_batches = data_lib.make_eval_batches(
        config.data, tokenizer, batch_size=config.eval.batch_size // jax.process_count(),
        seq_len=config.seq_len)
  eval_step = train_lib.jit_eval_step(setup) if eval_batches else None
  train_step = train_lib.jit_train_step(
      train_lib.make_train_step(setup.graphdef, setup.tx, setup.schedule,
                                num_microbatches=config.num_microbatches,
                                z_loss_weight=config.opt.z_loss_weight), setup)

  nan_steps = _parse_steps(config.debug.nan_at_steps)
  tokens_per_step = config.batch_size * config.seq_len
  progress = metrics_lib.Progress(config.total_steps, start_step, tokens_per_step)
  summary: dict[str, Any] = {"start_step": start_step, "preempted": False}
  last_saved = start_step if restored is not None else None

  def save(step: int) -> None:
    nonlocal last_saved
    if last_saved == step:
      return
    ckpt.save(step, state, data_iter=train_iter,
              meta={"bad_consecutive": bad_steps.consecutive, "stage": config.stage})
    last_saved = step

  def report(step: int, metrics: dict[str, Any]) -> None:
    """Host side of a finished step: bad-step count, logging (one step late)."""
    metrics = jax.device_get(metrics)
    finite = bool(metrics.pop("finite"))
    bad_steps.update(step, finite, float(metrics["loss"]), float(metrics["grad_norm"]))
    summary["loss"] = float(metrics["loss"])
    if not finite:
      logging.warning("step %d: non-finite loss %s / grad norm %s; update skipped (%d in a "
                      "row)", step, metrics["loss"], metrics["grad_norm"],
                      bad_steps.consecutive)
    if step % config.log_every == 0 or step == config.total_steps or not finite:
      rates = progress.update(step)
      scalars = dict(loss=metrics["loss"], lr=metrics["lr"], grad_norm=metrics["grad_norm"],
                     tokens_per_s=rates["tokens_per_s"],
                     mfu=metrics_lib.mfu(rates["tokens_per_s"], flops_per_token, peak),
                     skipped=int(not finite))
      if config.opt.z_loss_weight > 0:
        scalars["z_loss"] = metrics["z_loss"]
      writer.write(step, scalars)
      logging.info("%s", progress.line(step, {k: scalars[k] for k in ("loss", "lr",
                                                                       "grad_norm", "mfu")},
                                       rates))

  pending = None
  step = start_step
  try:
    with train_lib.Preemption() as preemption:
      while step < config.total_steps:
        batch = next(train_iter)
        if step + 1 in nan_steps:
          batch = _poison(batch)
        state, metrics = train_step(state, train_lib.device_batch(batch, setup))
        step += 1
        if step == config.debug.sigterm_at_step:
          # Test hook: a real signal through the real handler, at a known step.
          os.kill(os.getpid(), signal.SIGTERM)
        if pending is not None:
          report(*pending)
        pending = (step, metrics)
        # Multi-host runs must stop at the same step on every host: there the signal comes
        # through JAX's preemption sync service (orbax's reached_preemption, active after
        # jax.distributed.initialize); a local SIGTERM flag is used by single-process runs.
        stop = ((preemption.requested and jax.process_count() == 1)
                or ckpt.reached_preemption(step))
        if step % config.checkpoint_every == 0 or step == config.total_steps or stop:
          report(*pending)
          pending = None
          save(step)
        if eval_step is not None and (step % config.eval.every == 0
                                      or step == config.total_steps):
          ev = evaluate(eval_step, state["params"], eval_batches, setup)
          writer.write(step, ev)
          summary.update(ev)
          logging.info("step %d: held-out loss %.4f, perplexity %.3f", step, ev["eval/loss"],
                       ev["eval/perplexity"])
        if step == config.debug.kill_at_step:
          _kill_self(ckpt, pending, report)
        if stop:
          logging.warning("preemption requested: saved step %d, exiting", step)
          summary["preempted"] = True
          break
      if pending is not None:
        report(*pending)
  finally:
    ckpt.close()
    writer.close()
  summary["step"] = step
  return summary
