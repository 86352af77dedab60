r"""`python -m deepseekmath_jax.solve`: answer one question or a jsonl file of them.

  python -m deepseekmath_jax.solve --checkpoint=runs/demo/grpo \
      --question="Mia buys 3 pens at 4 dollars each. How much does she pay?" [--reference=12]
  python -m deepseekmath_jax.solve --checkpoint=hf:/path/deepseek-math-7b-rl \
      --questions=questions.jsonl --k=16 --json [--config.routing.fast_max_chars=120]

Prints a readable block per question (or, with --json, one JSON object per line); the counts
of escalations (and of a file's kept and dropped lines) go to the log.
"""

from __future__ import annotations

import json
import sys
from typing import Sequence

from absl import app
from absl import flags
from absl import logging
from ml_collections import config_flags

from deepseekmath_jax.solve import solver

_CHECKPOINT = flags.DEFINE_string("checkpoint", None, "A trainer workdir, hf:PATH or a Hugging "
                                  "Face directory (evaluation/generate.py).")
_QUESTION = flags.DEFINE_string("question", None, "One question.")
_QUESTIONS = flags.DEFINE_string("questions", None, "A jsonl file of {\"question\", "
                                 "\"reference\" (optional), \"id\" (optional)} records.")
_REFERENCE = flags.DEFINE_string("reference", None, "The reference answer of --question.")
_K = flags.DEFINE_integer("k", None, "Samples per question (default config.k; fewer for the "
                          "fast band).")
_JSON = flags.DEFINE_bool("json", False, "Print one JSON object per question instead of a "
                          "readable block.")
_SAMPLES = flags.DEFINE_bool("samples", False, "With --json: include every sampled completion.")
_CONFIG = config_flags.DEFINE_config_file("config", solver.DEFAULT_CONFIG,
                                          "configs/solve.py (`--config.a.b=v` overrides).",
                                          lock_config=True)


def main(argv: Sequence[str]) -> None:
  if len(argv) > 1:
    raise app.UsageError(f"unexpected arguments: {argv[1:]}")
  if not _CHECKPOINT.value:
    raise app.UsageError("--checkpoint is required (a workdir, hf:PATH or a Hugging Face dir)")
  if bool(_QUESTION.value) == bool(_QUESTIONS.value):
    raise app.UsageError("give exactly one of --question and --questions")
  if _REFERENCE.value is not None and not _QUESTION.value:
    raise app.UsageError("--reference goes with --question; a --questions file carries "
                         "\"reference\" per line")
  config = _CONFIG.value
  if _QUESTION.value:
    records = [dict(id="question", question=_QUESTION.value, reference=_REFERENCE.value)]
    counts = None
  else:
    records, counts = solver.read_questions(_QUESTIONS.value)
    logging.info("%s: %d lines, %d questions kept, dropped %s", _QUESTIONS.value,
                 counts["lines"], counts["kept"], counts["dropped"] or "none")
  from deepseekmath_jax import sharding  # pylint: disable=g-import-not-at-top
  from deepseekmath_jax.evaluation import generate  # pylint: disable=g-import-not-at-top
  mesh = sharding.make_mesh(config.mesh)
  tokenizer = generate.load_tokenizer(_CHECKPOINT.value, config.tokenizer)
  model = generate.load_model(_CHECKPOINT.value, config.model, mesh, config.axis_rules,
                              config.seed)
  solutions = solver.solve_batch([r["question"] for r in records], model=model, tokenizer=tokenizer,
                          references=[r["reference"] for r in records], k=_K.value,
                          config=config, mesh=mesh)
  for record, sol in zip(records, solutions):
    if _JSON.value:
      print(json.dumps(dict(id=record["id"], **sol.to_json(_SAMPLES.value)), ensure_ascii=False))
    else:
      print(sol.format() + "\n")
  escalated: dict[str, int] = {}
  for sol in solutions:
    for reason in sol.escalation_reasons:
      escalated[reason] = escalated.get(reason, 0) + 1
  logging.info("solve: %d question(s), %d escalated %s%s", len(solutions),
               sum(s.escalate for s in solutions), escalated or "",
               f"; input {counts}" if counts else "")
  sys.stdout.flush()


if __name__ == "__main__":
  app.run(main)
