"""Evaluation harness: GSM8K / MATH / MATH500 loaders and tfds builders, prompt formats,
metrics (top-1, maj@k, pass@k, confidence), robustness audit and reports.

Entry points: `python -m deepseekmath_jax.evaluate` (score a predictions file) and
`deepseekmath_jax.evaluation.run` (the `eval` stage: a predictions file, or sampling from a
checkpoint through `generate.py`; `evaluate_model` for any sampler).
"""
