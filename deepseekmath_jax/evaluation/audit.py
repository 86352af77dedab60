"""Robustness audit: temperature sweep, prompt paraphrases, long/short split, error taxonomy.

The paper reports single numbers under one prompt and greedy decoding (arXiv:2402.03300 Table
5); these checks ask how much those numbers move under choices the paper fixed: the sampling
temperature (Fig. 7 uses T=0.7 for maj@K/pass@K), the wording of the instruction (§4.4), the
problem length, and which failure modes dominate.

The model-driven checks take a `generate_fn(prompts, n, temperature) -> list[list[str]]` (n
completions per prompt; temperature 0 means greedy) so any sampler plugs in; the checks that need
only graded results (`length_split`, `error_taxonomy`) also run on a predictions file.
"""

from __future__ import annotations

import collections
from typing import Callable, Sequence

import numpy as np

from deepseekmath_jax.evaluation import benchmarks
from deepseekmath_jax.evaluation import metrics
from deepseekmath_jax.evaluation import prompts as prompts_lib
from deepseekmath_jax.evaluation import scoring

GenerateFn = Callable[[list[str], int, float], list[list[str]]]


def generate(problems: Sequence[benchmarks.Problem], generate_fn: GenerateFn,
             prompt_format: prompts_lib.PromptFormat, n: int,
             temperature: float) -> dict[str, list[str]]:
  """Calls generate_fn once for all problems; checks its output; applies the stop strings."""
  prompts = [prompt_format.build(p.question) for p in problems]
  outputs = generate_fn(prompts, n, temperature)
  if len(outputs) != len(prompts):
    raise ValueError(f"generate_fn returned {len(outputs)} lists for {len(prompts)} prompts")
  by_id = {}
  for p, completions in zip(problems, outputs):
    if len(completions) != n or not all(isinstance(c, str) for c in completions):
      raise ValueError(f"generate_fn must return {n} strings per prompt; problem {p.id!r} got "
                       f"{[type(c).__name__ for c in completions]}")
    by_id[p.id] = [prompt_format.truncate(c) for c in completions]
  return by_id


def temperature_sweep(problems: Sequence[benchmarks.Problem], generate_fn: GenerateFn, *,
                      temperatures: Sequence[float] = (0.0, 0.3, 0.7, 1.0), n: int = 8,
                      prompt_format: prompts_lib.PromptFormat | None = None,
                      deadline_s: float = 2.0) -> list[dict]:
  """pass@1, maj@n, pass@n, agreement and no-answer rate at each sampling temperature."""
  prompt_format = prompt_format or prompts_lib.get_format("zero_shot_cot")
  rows = []
  for t in temperatures:
    # Greedy decoding is deterministic: one sample says everything.
    k = 1 if t == 0 else n
    results = scoring.score(problems, generate(problems, generate_fn, prompt_format, k, t),
                            deadline_s=deadline_s)
    summary = metrics.summarize(results, ks=[1, k])
    samples = [s for r in results for s in r.samples]
    rows.append({
        "temperature": float(t),
        "n": k,
        "pass@1": summary["overall"]["pass@1"],
        "maj@n": summary["overall"][f"maj@{k}"],
        "pass@n": summary["overall"][f"pass@{k}"],
        "mean_agreement": summary["confidence"]["mean_agreement"],
        "no_answer_rate": float(np.mean([s.reason == "no_answer" for s in samples]))
                          if samples else None,
    })
  return rows


def paraphrase_perturbation(problems: Sequence[benchmarks.Problem], generate_fn: GenerateFn, *,
                            formats: Sequence[prompts_lib.PromptFormat] | None = None,
                            temperature: float = 0.0, deadline_s: float = 2.0) -> dict:
  """Top-1 accuracy under each instruction wording, and how many problems flip between them.

  A problem "flips" when some wordings solve it and others do not: the share of such problems
  bounds how much of the benchmark score is prompt luck.
  """
  formats = list(formats or prompts_lib.paraphrase_formats())
  correct_by_format = {}
  for fmt in formats:
    results = scoring.score(problems, generate(problems, generate_fn, fmt, 1, temperature),
                            deadline_s=deadline_s)
    correct_by_format[fmt.name] = [bool(r.top1 and r.top1.correct) for r in results]
  matrix_FxP = np.array(list(correct_by_format.values()), dtype=bool).reshape(len(formats), -1)
  solved_by_P = matrix_FxP.sum(axis=0)
  accuracies = {name: float(np.mean(c)) if c else None for name, c in correct_by_format.items()}
  values = [a for a in accuracies.values() if a is not None]
  return {
      "temperature": temperature,
      "accuracy_by_template": accuracies,
      "templates": {fmt.name: fmt.template for fmt in formats},
      "accuracy_spread": (max(values) - min(values)) if values else None,
      "num_problems": len(problems),
      "num_solved_by_all": int((solved_by_P == len(formats)).sum()),
      "num_solved_by_none": int((solved_by_P == 0).sum()),
      "flip_rate": float(np.mean((solved_by_P > 0) & (solved_by_P < len(formats))))
                   if len(problems) else None,
  }


def length_split(results: Sequence[metrics.ProblemResult]) -> dict:
  """Top-1 accuracy on the shorter and the longer half of the problems (by question length).

  The split is at the median question length in characters: `short` is `<= median`, `long`
  is `> median` (so ties all land in `short`).
  """
  if not results:
    return {"median_chars": None, "short": None, "long": None}
  median = float(np.median([r.question_chars for r in results]))
  def group(rs: list[metrics.ProblemResult]) -> dict | None:
    if not rs:
      return None
    return {"n": len(rs),
            "mean_chars": float(np.mean([r.question_chars for r in rs])),
            "top1": float(np.mean([bool(r.top1 and r.top1.correct) for r in rs])),
            "top1_strict": float(np.mean([bool(r.top1 and r.top1.correct_strict) for r in rs]))}
  short = [r for r in results if r.question_chars <= median]
  long_ = [r for r in results if r.question_chars > median]
  out = {"median_chars": median, "short": group(short), "long": group(long_)}
  if out["short"] and out["long"]:
    out["long_minus_short"] = out["long"]["top1"] - out["short"]["top1"]
  return out


def error_taxonomy(results: Sequence[metrics.ProblemResult], *,
                   examples_per_reason: int = 3) -> dict:
  """Why top-1 answers fail: counts per verifier reason (both modes), with examples.

  `strict_only_failures` are answers that relaxed mode accepts and strict mode rejects, by
  strict reason (format_mismatch, unit_mismatch, ...): the part of the score that depends on
  grading leniency.
  """
  counts = collections.Counter()
  strict_only = collections.Counter()
  examples: dict[str, list[dict]] = collections.defaultdict(list)
  for r in results:
    g = r.top1
    reason = "missing" if g is None else g.reason
    counts[reason] += 1
    if g is not None and g.correct and not g.correct_strict:
      strict_only[g.reason_strict] += 1
    if reason != "correct" and len(examples[reason]) < examples_per_reason:
      examples[reason].append({"id": r.problem_id, "pred": g.pred if g else None,
                               "ref": r.reference})
  total = sum(counts.values())
  return {
      "num_problems": total,
      "counts": dict(counts.most_common()),
      "shares": {k: v / total for k, v in counts.most_common()} if total else {},
      "strict_only_failures": dict(strict_only.most_common()),
      "examples": dict(examples),
  }
