r"""Evaluation stage: score a predictions file on GSM8K, MATH or MATH500.

  python -m deepseekmath_jax.main --config=configs/eval.py:math500 --workdir=runs/eval \
      --config.predictions=preds.jsonl

Arguments (`configs/eval.py:<arg>`): a benchmark name (`gsm8k`, `math`, `math500`), `tiny` (the
first 20 problems only), `strict` (strict headline), or `key=value` pairs of the defaults below.
The report (report.json/.md, problems.jsonl, PNGs) lands in `<workdir>/eval_<benchmark>` unless
`output_dir` is set. Sampling from a checkpoint goes through
`deepseekmath_jax.evaluation.run.evaluate_model(generate_fn=...)`; `prompt_format`,
`num_samples`, `temperature` record the paper's protocol for it (zero-shot CoT, greedy top-1,
64 samples at T=0.7 for maj@64; arXiv:2402.03300 §5.3, Fig. 7).
"""

import ml_collections

from deepseekmath_jax import config_lib


def get_config(arg: str | None = None) -> ml_collections.ConfigDict:
  a = config_lib.parse_arg(arg, variant="math500", tiny=False, strict=False)
  config = ml_collections.ConfigDict()
  config.stage = "eval"
  config.seed = 0
  config.benchmark = a.variant
  config.data_dir = "../shared/data"
  config.split = "test"
  config.predictions = ""
  config.output_dir = ""
  config.strict = a.strict
  config.deadline_s = 2.0
  config.only_predicted = False
  config.max_problems = 20 if a.tiny else 0
  config.disagreement_threshold = 0.5
  # The model-driven path (evaluate_model), once a sampler provides generate_fn.
  config.prompt_format = "zero_shot_cot"
  config.num_samples = 64
  config.temperature = 0.7
  return config
