"""The `eval` stage: score a predictions file (or a sampler) on GSM8K, MATH or MATH500.

Two entry points share one scoring and report path:

* `evaluate_predictions`: any system's outputs, read from a predictions file
  (`predictions.py` documents the format). Top-1 is each problem's first response; maj@k and
  pass@k use all its responses.
* `evaluate_model`: a `generate_fn(prompts, n, temperature) -> list[list[str]]` (n completions
  per prompt, temperature 0 = greedy) in the paper's protocol: greedy top-1 and, when
  `num_samples > 0`, n samples at `temperature` for maj@k/pass@k (arXiv:2402.03300 §5.3,
  Table 5; self-consistency at T=0.7, Fig. 7), plus the audit's temperature sweep and
  paraphrase checks. Any sampler plugs in here.

`run(config, workdir)` is the stage function dispatched by `deepseekmath_jax.main`
(`configs/eval.py`); it scores `config.predictions`, or samples from `config.checkpoint`
(generate.py: a run workdir or a Hugging Face checkpoint) through `evaluate_model`, and writes
the report into `config.output_dir` or `<workdir>/eval_<benchmark>`.
"""

from __future__ import annotations

import dataclasses
import functools
import os
from typing import Any, Sequence

from absl import logging
import ml_collections

from deepseekmath_jax.evaluation import audit
from deepseekmath_jax.evaluation import benchmarks
from deepseekmath_jax.evaluation import metrics
from deepseekmath_jax.evaluation import predictions as predictions_lib
from deepseekmath_jax.evaluation import prompts as prompts_lib
from deepseekmath_jax.evaluation import report as report_lib
from deepseekmath_jax.evaluation import scoring


def problem_rows(results: Sequence[metrics.ProblemResult], threshold: float,
                 top1_responses: dict[str, str] | None = None) -> list[dict]:
  """Per-problem rows for problems.jsonl: verdicts, answers and confidence signals.

  With `top1_responses` (problem id -> the greedy completion, as graded) each row also holds
  `top1_response`, so a wrong answer can be read next to the step that went wrong. A problem
  with several samples gets `escalation`: the reasons `solve` would escalate its majority answer
  for (`metrics.problem_escalation`; the ones the report counts in `monitoring`), else None.
  """
  rows = []
  for r in results:
    conf = metrics.confidence(r, threshold) if not r.missing else None
    rows.append({
        "id": r.problem_id, "subject": r.subject, "level": r.level, "reference": r.reference,
        "missing": r.missing,
        "top1": dataclasses.asdict(r.top1) if r.top1 else None,
        "num_samples": len(r.samples),
        "num_correct": sum(s.correct for s in r.samples),
        "num_correct_strict": sum(s.correct_strict for s in r.samples),
        "confidence": dataclasses.asdict(conf) if conf else None,
        "escalation": (metrics.problem_escalation(r)[2] if len(r.samples) >= 2 else None),
    })
    if top1_responses is not None:
      rows[-1]["top1_response"] = top1_responses.get(r.problem_id)
  return rows


def _build_report(benchmark: str, split: str, problems: Sequence[benchmarks.Problem],
                  results: Sequence[metrics.ProblemResult], *, strict: bool,
                  threshold: float, source: dict[str, Any]) -> dict[str, Any]:
  del problems  # the results carry what the report needs
  return {
      "benchmark": benchmark,
      "split": split,
      "source": source,
      "summary": metrics.summarize(results, strict=strict, disagreement_threshold=threshold),
      "audit": {"length_split": audit.length_split(results),
                "error_taxonomy": audit.error_taxonomy(results)},
  }


def evaluate_predictions(benchmark: str, problems: Sequence[benchmarks.Problem],
                         predictions_path: str, *, split: str = "test", strict: bool = False,
                         deadline_s: float = 2.0, only_predicted: bool = False,
                         disagreement_threshold: float = 0.5,
                         output_dir: str | None = None) -> dict[str, Any]:
  """Scores a predictions file; writes the report when output_dir is given; returns it.

  Args:
    benchmark: benchmark name, for the report.
    problems: the benchmark's problems (all of them: the denominator).
    predictions_path: the jsonl predictions file.
    split: split name, for the report.
    strict: headline mode (both modes are always graded; see `metrics.summarize`).
    deadline_s: verifier deadline per response.
    only_predicted: score only problems that have a prediction (the report says so) instead of
      counting the others as wrong.
    disagreement_threshold: agreement below which a problem is flagged.
    output_dir: where to write report.json/.md/problems.jsonl/PNGs (None: write nothing).
  """
  preds = predictions_lib.read_predictions(predictions_path, problems)
  scored = [p for p in problems if p.id in preds.responses] if only_predicted else list(problems)
  results = scoring.score(scored, preds.responses, deadline_s=deadline_s)
  report = _build_report(benchmark, split, scored, results, strict=strict,
                         threshold=disagreement_threshold,
                         source={"predictions": os.path.abspath(predictions_path),
                                 "only_predicted": only_predicted,
                                 "benchmark_size": len(problems)})
  report["input"] = preds.counts()
  if output_dir:
    paths = report_lib.write_report(report, problem_rows(results, disagreement_threshold),
                                    output_dir)
    logging.info("wrote %s", ", ".join(paths))
  return report


def evaluate_model(benchmark: str, problems: Sequence[benchmarks.Problem],
                   generate_fn: audit.GenerateFn, *, split: str = "test",
                   prompt_format: str = "zero_shot_cot",
                   num_samples: int = 0, temperature: float = 0.7, strict: bool = False,
                   deadline_s: float = 2.0, sweep_temperatures: Sequence[float] = (),
                   sweep_samples: int = 4, paraphrases: bool = False,
                   disagreement_threshold: float = 0.5, output_dir: str | None = None,
                   source: dict[str, Any] | None = None, tool_log: list | None = None,
                   tools_section: dict[str, Any] | None = None) -> dict[str, Any]:
  """Evaluates a sampler with the paper's protocol (see module docstring); returns the report.

  Args:
    benchmark: benchmark name, for the report.
    problems: the problems to evaluate.
    split: split name, for the report.
    generate_fn: `generate_fn(prompts, n, temperature) -> list[list[str]]`.
    prompt_format: a `prompts.FORMATS` key (zero-shot chat CoT for Instruct/RL, few-shot for Base).
    num_samples: samples per problem for maj@k/pass@k (0: greedy top-1 only).
    temperature: sampling temperature of those samples.
    strict: headline mode.
    deadline_s: verifier deadline per response.
    sweep_temperatures: temperatures for the audit's sweep (empty: no sweep).
    sweep_samples: samples per problem at each non-zero sweep temperature.
    paraphrases: run the paraphrase audit (one greedy pass per template).
    disagreement_threshold: agreement below which a problem is flagged.
    output_dir: where to write the report files (None: write nothing).
    source: more fields for the report's `source` (e.g. the checkpoint and decoding limits).
    tool_log: the list a tool-integrated `generate_fn` fills with each completion's
      `ToolResult`s (evaluation/generate.py); the report's `tools` section summarizes it.
    tools_section: more fields for the report's `tools` section.
  """
  fmt = prompts_lib.get_format(prompt_format)
  greedy = {pid: rs[0] for pid, rs in audit.generate(problems, generate_fn, fmt, 1, 0.0).items()}
  samples = (audit.generate(problems, generate_fn, fmt, num_samples, temperature)
             if num_samples > 0 else {})
  results = scoring.score(problems, samples, top1_by_id=greedy, deadline_s=deadline_s)
  report = _build_report(benchmark, split, problems, results, strict=strict,
                         threshold=disagreement_threshold,
                         source={**(source or {}), "prompt_format": prompt_format,
                                 "num_samples": num_samples, "temperature": temperature})
  if sweep_temperatures:
    report["audit"]["temperature_sweep"] = audit.temperature_sweep(
        problems, generate_fn, temperatures=sweep_temperatures, n=sweep_samples,
        prompt_format=fmt, deadline_s=deadline_s)
  if paraphrases:
    report["audit"]["paraphrase"] = audit.paraphrase_perturbation(
        problems, generate_fn, deadline_s=deadline_s)
  if tool_log is not None:
    from deepseekmath_jax.tools import metrics as tools_lib  # pylint: disable=g-import-not-at-top
    report["tools"] = {**tools_lib.tool_call_metrics(tool_log),
                       "accuracy_with_tool": report["summary"]["headline_top1"],
                       **(tools_section or {})}
  if output_dir:
    rows = problem_rows(results, disagreement_threshold, top1_responses=greedy)
    paths = report_lib.write_report(report, rows, output_dir)
    logging.info("wrote %s", ", ".join(paths))
  return report


def _check_what_is_evaluated(config: ml_collections.ConfigDict) -> None:
  predictions, checkpoint = config.get("predictions", ""), config.get("checkpoint", "")
  usage = ("set exactly one: --config.predictions=FILE.jsonl scores a predictions file, "
           "--config.checkpoint=RUN_DIR|hf:PATH samples from a model")
  if predictions and checkpoint:
    raise ValueError(f"config.predictions and config.checkpoint are both set; {usage}")
  if not predictions and not checkpoint:
    raise ValueError(f"config.predictions is empty and so is config.checkpoint; {usage}")


def _load_problems(config: ml_collections.ConfigDict) -> list[benchmarks.Problem]:
  problems = benchmarks.load_benchmark(config.benchmark, config.data_dir, config.split)
  return problems[:config.max_problems] if config.max_problems else problems


def evaluate_checkpoint(config: ml_collections.ConfigDict,
                        problems: Sequence[benchmarks.Problem],
                        output_dir: str | None) -> dict[str, Any]:
  """Samples from `config.checkpoint` (configs/eval.py keys) with `evaluate_model`."""
  from deepseekmath_jax import sharding  # pylint: disable=g-import-not-at-top
  from deepseekmath_jax.evaluation import generate  # pylint: disable=g-import-not-at-top
  fmt = prompts_lib.get_format(config.prompt_format)
  mesh = sharding.make_mesh(config.mesh)
  tokenizer = generate.load_tokenizer(config.checkpoint, config.tokenizer)
  model = generate.load_model(config.checkpoint, config.model, mesh, config.axis_rules,
                              config.seed)
  cfg = model.cfg
  if tokenizer.vocab_size > cfg.vocab_size:
    raise ValueError(f"config.checkpoint={config.checkpoint!r}: the tokenizer has "
                     f"{tokenizer.vocab_size} ids but the model's vocabulary is {cfg.vocab_size}")
  if config.max_prompt_len + config.max_new_tokens > cfg.max_seq_len:
    logging.warning("max_prompt_len + max_new_tokens = %d exceeds the model's max_seq_len %d",
                    config.max_prompt_len + config.max_new_tokens, cfg.max_seq_len)
  # The format's stop strings also stop the sampler's rows early (evaluate_model cuts the text).
  make = functools.partial(
      generate.make_generate_fn, model, tokenizer, batch_size=config.batch_size,
      max_new_tokens=config.max_new_tokens, max_prompt_len=config.max_prompt_len,
      seed=config.seed, mesh=mesh, rules=config.axis_rules, label=f"eval_{config.benchmark}")
  source = {"checkpoint": config.checkpoint, "max_new_tokens": config.max_new_tokens,
            "max_prompt_len": config.max_prompt_len, "seed": config.seed}
  common = dict(split=config.split, strict=config.strict, deadline_s=config.deadline_s,
                disagreement_threshold=config.disagreement_threshold)
  tools = config.get("tools")
  if tools is None or not tools.enabled:
    return evaluate_model(config.benchmark, problems, make(stop_strings=fmt.stop),
                          prompt_format=config.prompt_format, num_samples=config.num_samples,
                          temperature=config.temperature, output_dir=output_dir,
                          source=source, **common)
  # Tool-integrated (Table 5's "Tool" setting), and, for the with/without comparison, greedy
  # top-1 of the same checkpoint without tools under `tools.compare_prompt_format`.
  from deepseekmath_jax.tools import Sandbox  # pylint: disable=g-import-not-at-top
  section = {}
  if tools.compare_prompt_format:
    plain_fmt = prompts_lib.get_format(tools.compare_prompt_format)
    plain = evaluate_model(config.benchmark, problems, make(stop_strings=plain_fmt.stop),
                           prompt_format=tools.compare_prompt_format, num_samples=0,
                           output_dir=None, source=source, **common)
    section = {"accuracy_without_tool": plain["summary"]["headline_top1"],
               "without_tool_prompt_format": tools.compare_prompt_format}
  tool_log: list = []
  with Sandbox(num_workers=int(tools.num_workers), timeout_s=float(tools.timeout_s),
               memory_mb=int(tools.memory_mb), output_limit=int(tools.output_limit)) as box:
    generate_fn = make(stop_strings=fmt.stop, sandbox=box,
                       max_tool_calls=int(tools.max_tool_calls), tool_log=tool_log)
    section.update(max_tool_calls=int(tools.max_tool_calls), timeout_s=float(tools.timeout_s),
                   network_isolated=box.network_isolated)
    report = evaluate_model(config.benchmark, problems, generate_fn,
                            prompt_format=config.prompt_format,
                            num_samples=config.num_samples, temperature=config.temperature,
                            output_dir=output_dir, source=source, tool_log=tool_log,
                            tools_section=section, **common)
  t = report["tools"]
  logging.info("%s with tools: top-1 %.2f%%%s; %.2f calls/sample, error rate %.2f, timeout "
               "rate %.2f", config.benchmark, 100 * t["accuracy_with_tool"],
               f" (without: {100 * t['accuracy_without_tool']:.2f}%)"
               if "accuracy_without_tool" in t else "", t["tool_calls_per_sample"],
               t["tool_error_rate"], t["tool_timeout_rate"])
  return report


def run(config: ml_collections.ConfigDict, workdir: str) -> dict[str, Any]:
  """Stage entry (configs/eval.py): scores `config.predictions` or samples `config.checkpoint`.

  Writes the report and returns it.
  """
  _check_what_is_evaluated(config)
  problems = _load_problems(config)
  output_dir = config.output_dir or os.path.join(workdir, f"eval_{config.benchmark}")
  if config.predictions:
    report = evaluate_predictions(
        config.benchmark, problems, config.predictions, split=config.split,
        strict=config.strict, deadline_s=config.deadline_s,
        only_predicted=config.only_predicted,
        disagreement_threshold=config.disagreement_threshold, output_dir=output_dir)
  else:
    report = evaluate_checkpoint(config, problems, output_dir)
  s = report["summary"]
  logging.info("%s %s top-1 = %.2f%% (%d problems, %d missing)", config.benchmark, s["mode"],
               100 * s["headline_top1"], s["num_problems"], s["num_missing"])
  ks = s["ks"]
  if len(ks) > 1:
    k = max(ks)
    logging.info("%s %s maj@%d = %.2f%%, pass@%d = %.2f%%", config.benchmark, s["mode"], k,
                 100 * s["overall"][f"maj@{k}"], k, 100 * s["overall"][f"pass@{k}"])
  return report
