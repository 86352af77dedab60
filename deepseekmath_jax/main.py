"""Entrypoint for every stage.

  python -m deepseekmath_jax.main --config=configs/<stage>.py:<arg> --workdir=DIR \
      [--config.a.b=value ...]

The config's `stage` names the library function `run(config, workdir)` that does the work.
"""

from __future__ import annotations

import importlib
import logging as std_logging
import os
import sys
from absl import app
from absl import flags
from absl import logging
from ml_collections import config_flags

# stage -> module with run(config, workdir). Imported lazily: the corpus engine does not
# need JAX, and a trainer does not need the corpus engine.
STAGES = {
    "pretrain": "deepseekmath_jax.trainers.pretrain",
    "sft": "deepseekmath_jax.trainers.pretrain",
    "grpo": "deepseekmath_jax.trainers.grpo",
    "corpus": "deepseekmath_jax.corpus.pipeline",
    "eval": "deepseekmath_jax.evaluation.run",
    "pipeline": "deepseekmath_jax.pipeline",
}

_CONFIG = config_flags.DEFINE_config_file("config", None, "Path to a config file, `path.py:arg`.",
                                          lock_config=True)
_WORKDIR = flags.DEFINE_string("workdir", None, "Directory for checkpoints, logs and reports.")
_DISTRIBUTED = flags.DEFINE_enum(
    "distributed", "auto", ["auto", "on", "off"],
    "Multi-host: call jax.distributed.initialize() before anything else. `auto` does so when the "
    "environment is a multi-process job: a multi-host Cloud TPU slice, SLURM or Open MPI with "
    "more than one task (JAX finds the coordinator and process ids), or JAX_COORDINATOR_ADDRESS "
    "with JAX_NUM_PROCESSES and JAX_PROCESS_ID. JAX also reads JAX_LOCAL_DEVICE_IDS=0,1,... "
    "(the local GPUs of a process; under SLURM it otherwise gives each process the GPU of "
    "its SLURM_LOCALID).")
flags.mark_flags_as_required(["config", "workdir"])


def multi_process_environment(env=os.environ) -> bool:
  """True in a job of several processes that jax.distributed can discover by itself."""
  if env.get("JAX_COORDINATOR_ADDRESS"):
    return True
  if "," in env.get("TPU_WORKER_HOSTNAMES", "") or "," in env.get("TPU_PROCESS_ADDRESSES", ""):
    return True
  for count in ("SLURM_NTASKS", "OMPI_COMM_WORLD_SIZE"):
    if env.get(count, "1").isdigit() and int(env.get(count, "1")) > 1:
      return True
  return False


def initialize_distributed(mode: str, env=os.environ) -> bool:
  """jax.distributed.initialize() per `--distributed`; True when it was called."""
  if mode == "off" or (mode == "auto" and not multi_process_environment(env)):
    return False
  import jax  # pylint: disable=g-import-not-at-top
  number = lambda key: int(env[key]) if env.get(key) else None
  jax.distributed.initialize(num_processes=number("JAX_NUM_PROCESSES"),
                             process_id=number("JAX_PROCESS_ID"))
  logging.info("jax.distributed: process %d of %d", jax.process_index(), jax.process_count())
  return True


class QuietOrbaxInfo(std_logging.Filter):
  """Drops orbax's INFO records; its warnings and errors pass.

  Orbax logs every checkpoint save and restore at INFO (about 30 lines a save: handlers,
  renames, timings), which buries the runs' progress lines; a run logs its own one-line
  save/restore events.
  """

  def filter(self, record: std_logging.LogRecord) -> bool:
    return (record.levelno >= std_logging.WARNING
            or f"{os.sep}orbax{os.sep}" not in record.pathname)


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f"unexpected arguments: {argv[1:]}")
  try:
    config = _CONFIG.value
    stage = config.stage
  except (OSError, ValueError, AttributeError) as e:  # missing file, bad arg, no `stage`
    message = " ".join(str(e).split())
    print(f"FATAL config error: {message}", file=sys.stderr)
    sys.exit(2)
  del stage
  if config.stage not in STAGES:
    raise app.UsageError(f"config.stage={config.stage!r} is not one of {sorted(STAGES)}")
  logging.get_absl_handler().addFilter(QuietOrbaxInfo())
  initialize_distributed(_DISTRIBUTED.value)
  logging.info("stage %s, workdir %s\n%s", config.stage, _WORKDIR.value, config)
  importlib.import_module(STAGES[config.stage]).run(config, _WORKDIR.value)


def parse_flags(argv: list[str]) -> list[str]:
  """Parses flags; a bad config key or value is one clear line, not a traceback."""
  try:
    return flags.FLAGS(argv)
  except (flags.Error, AttributeError, KeyError, TypeError, ValueError) as e:
    message = str(e).strip("\"'")
    print(f"FATAL config/flags error: {type(e).__name__}: {message}", file=sys.stderr)
    sys.exit(2)


if __name__ == "__main__":
  app.run(main, flags_parser=parse_flags)
