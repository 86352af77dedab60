"""Entrypoint for every stage.

  python -m deepseekmath_jax.main --config=configs/<stage>.py:<arg> --workdir=DIR \
      [--config.a.b=value ...]

The config's `stage` names the library function `run(config, workdir)` that does the work.
"""

from __future__ import annotations

import importlib
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
flags.mark_flags_as_required(["config", "workdir"])


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
