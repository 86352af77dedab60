r"""Answer a math question the way a careful product would: `solve` and its command line.

  python -m deepseekmath_jax.solve --checkpoint=runs/demo/grpo \
      --question="Mia buys 3 pens at 4 dollars each. How much does she pay?" [--reference=12]
  python -m deepseekmath_jax.solve --checkpoint=hf:/path/deepseek-math-7b-rl \
      --questions=questions.jsonl --k=16 --json

  from deepseekmath_jax import solve
  sol = solve.solve(question, model=model, tokenizer=tokenizer, reference="12")
  print(sol.format()); sol.to_json()

One call routes the question into a band (`route`: fast, slow or tool; configs/solve.py
documents the rule), draws k samples (fewer for the fast band; the tool band decodes with a
sandboxed Python interpreter, rl/tool_rollout.py), and judges them:

  answer             the majority of the samples' committed final answers, grouped by the
                     verifier's `answer_key` (so 1/2, 0.5 and \frac{1}{2} are one vote); an
                     answer must be committed (\boxed{}, `####`, "The answer is"): the relaxed
                     last-number fallback does not count here
  agreement          share of the samples carrying the majority answer
  distinct_answers   every answer with its count, most votes first
  verifier_status    with a reference: correct / wrong under the relaxed verifier, the reason,
                     and whether the majority passes relaxed but fails strict; else not_checked
  tool_status        tool band: did a program run succeed and print the majority answer?
  arithmetic_check   share of the written equations (`a op b = c`) in the majority's samples
                     that are right (`verifier.steps`)
  escalate           whether a human should look, with `escalation_reasons`
                     (evaluation/monitoring.py: the same rule the evaluation report counts)

The samples are the evidence, not a probability: agreement is how often the model repeats
itself, and the evaluation report's calibration plot says how far that can be trusted.
"""

from __future__ import annotations

import dataclasses
import importlib.util
import json
from pathlib import Path
from typing import Any, Sequence

from absl import logging
import ml_collections

from deepseekmath_jax import verifier
from deepseekmath_jax.evaluation import monitoring
from deepseekmath_jax.evaluation import prompts as prompts_lib
from deepseekmath_jax.solve.routing import BANDS
from deepseekmath_jax.solve.routing import num_samples
from deepseekmath_jax.solve.routing import route
from deepseekmath_jax.solve.routing import safety_categories
from deepseekmath_jax.solve.routing import tools_available
from deepseekmath_jax.verifier import steps as verifier_steps

DEFAULT_CONFIG = str(Path(__file__).resolve().parents[2] / "configs" / "solve.py")


def default_config(arg: str | None = None) -> ml_collections.ConfigDict:
  """configs/solve.py:get_config(arg), loaded by path as main.py loads configs."""
  spec = importlib.util.spec_from_file_location("solve_config", DEFAULT_CONFIG)
  module = importlib.util.module_from_spec(spec)
  spec.loader.exec_module(module)
  return module.get_config(arg)


# ----------------------------------------------------------------------------------------------
# Judging the samples
# ----------------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Solution:
  """The answer to one question with its evidence (module docstring lists the fields)."""
  question: str
  band: str
  band_reasons: tuple[str, ...]
  num_samples: int
  answer: str
  agreement: float
  distinct_answers: tuple[dict[str, Any], ...]
  verifier_status: dict[str, Any]
  tool_status: dict[str, Any] | None
  arithmetic_check: dict[str, Any]
  escalate: bool
  escalation_reasons: tuple[str, ...]
  safety_categories: tuple[str, ...]
  solution: str
  samples: tuple[str, ...]

  def to_json(self, with_samples: bool = False) -> dict[str, Any]:
    out = dataclasses.asdict(self)
    out["band_reasons"] = list(self.band_reasons)
    out["distinct_answers"] = list(self.distinct_answers)
    out["escalation_reasons"] = list(self.escalation_reasons)
    out["safety_categories"] = list(self.safety_categories)
    if with_samples:
      out["samples"] = list(self.samples)
    else:
      del out["samples"]
    return out

  def format(self) -> str:
    """A readable block."""
    count = round(self.agreement * self.num_samples)
    answers = ", ".join(f"{_one_line(a['answer'], 40)} x{a['count']}"
                        for a in self.distinct_answers) or "none"
    v = self.verifier_status
    if v["status"] == "not_checked":
      verdict = "not checked (no reference)"
    else:
      verdict = (f"{v['status']} against reference {v['reference']} ({v['reason']}; strict: "
                 f"{v['reason_strict']})")
      if v["relaxed_not_strict"]:
        verdict += "; passes relaxed but fails strict"
    t = self.tool_status
    tool = ("not used" if t is None else
            f"{t['status']}: {t['samples_with_code']}/{self.num_samples} samples ran code, "
            f"{t['runs_ok']}/{t['runs']} runs ok, majority answer printed by "
            f"{t['majority_printed']} sample(s)")
    a = self.arithmetic_check
    arith = ("no written equations" if a["equations"] == 0 else
             f"{a['correct']} of {a['equations']} written equations right "
             f"({100 * a['share']:.0f}%, {a['scope']})")
    flag = ("YES: " + ", ".join(self.escalation_reasons)) if self.escalate else "no"
    if self.safety_categories:
      flag += f" (safety: {', '.join(self.safety_categories)})"
    lines = [f"Question:   {_one_line(self.question)}",
             f"Band:       {self.band}" + (f" ({'; '.join(self.band_reasons)})"
                                             if self.band_reasons else ""),
             f"Answer:     {_one_line(self.answer) or '(none)'}",
             f"Agreement:  {count}/{self.num_samples} samples ({100 * self.agreement:.0f}%); "
             f"answers: {answers}",
             f"Verifier:   {verdict}",
             f"Tool:       {tool}",
             f"Arithmetic: {arith}",
             f"Escalate:   {flag}"]
    return "\n".join(lines)


def _one_line(text: str, limit: int = 200) -> str:
  text = " ".join(text.split())
  return text if len(text) <= limit else text[:limit - 3] + "..."


def committed_answer(text: str) -> str | None:
  """The sample's committed final answer (box, `####`, Minerva, "The answer is", bare)."""
  answer = verifier.extract_answer(text, strict=True)
  return answer.strip() if answer and answer.strip() else None


def _printed_answer(stdout: str) -> str | None:
  lines = [line.strip() for line in (stdout or "").splitlines() if line.strip()]
  return lines[-1] if lines else None


def tool_status(keys: Sequence[str | None], tool_results: Sequence[Sequence[Any]],
                majority_key: str | None, question: str) -> dict[str, Any]:
  """Whether the samples' programs ran and printed the majority answer.

  A sample's program output is the last non-empty stdout line of its last successful run
  (`status == "ok"`), keyed like an answer. Status: `confirmed` (a majority sample printed the
  majority answer), `printed_other_answer`, `failed` (code, but no run succeeded), `no_code`.
  """
  runs = sum(len(r) for r in tool_results)
  ok = [[x for x in r if getattr(x, "status", None) == "ok"] for r in tool_results]
  by_status: dict[str, int] = {}
  for results in tool_results:
    for x in results:
      by_status[x.status] = by_status.get(x.status, 0) + 1
  printed = 0
  for key, runs_ok in zip(keys, ok):
    if key is None or key != majority_key or not runs_ok:
      continue
    out = _printed_answer(runs_ok[-1].stdout)
    if out is not None and verifier.answer_key(out, question) == key:
      printed += 1
  with_code = sum(bool(r) for r in tool_results)
  if printed:
    status = "confirmed"
  elif any(ok):
    status = "printed_other_answer"
  elif with_code:
    status = "failed"
  else:
    status = "no_code"
  return dict(status=status, samples_with_code=with_code, runs=runs,
              runs_ok=sum(len(r) for r in ok), runs_by_status=by_status,
              majority_printed=printed)


def assess(question: str, completions: Sequence[str], *, band: str = "slow",
           band_reasons: Sequence[str] = (), reference: str | None = None,
           tool_results: Sequence[Sequence[Any]] | None = None,
           config: ml_collections.ConfigDict | None = None) -> Solution:
  """Judges a question's sampled completions: vote, verifier, tool and arithmetic checks.

  Args:
    question: the question text (it may fix the answer's kind for the verifier).
    completions: the k sampled completions.
    band: the band they were sampled in.
    band_reasons: why (from `route`).
    reference: the reference answer, or None.
    tool_results: tool band only: per completion, its program runs (objects with `status`
      and `stdout`, tools/sandbox.py `ToolResult`).
    config: configs/solve.py (None: its defaults).
  """
  config = config or default_config()
  if band not in BANDS:
    raise ValueError(f"band must be one of {BANDS}, got {band!r}")
  if tool_results is not None and len(tool_results) != len(completions):
    raise ValueError(f"{len(tool_results)} tool result lists for {len(completions)} completions")
  answers = [committed_answer(c) for c in completions]
  keys = [verifier.answer_key(a, question) if a is not None else None for a in answers]
  vote = monitoring.rank_answers(keys)
  index = vote.majority_index
  majority_key = keys[index] if index is not None else None
  answer = answers[index] if index is not None else ""
  distinct = tuple(dict(answer=answers[first], count=count) for _, count, first in vote.ranked)

  if reference is None or not str(reference).strip():
    verdict = dict(status="not_checked", reason="", reason_strict="", relaxed_not_strict=None,
                   reference="")
    majority_correct = None
  else:
    text = completions[index] if index is not None else ""
    relaxed = verifier.grade(text, str(reference), question=question,
                             deadline_s=config.deadline_s)
    strict = verifier.grade(text, str(reference), strict=True, question=question,
                            deadline_s=config.deadline_s)
    majority_correct = relaxed.correct if index is not None else None
    verdict = dict(status="correct" if relaxed.correct else "wrong", reason=relaxed.reason,
                   reason_strict=strict.reason,
                   relaxed_not_strict=bool(relaxed.correct and not strict.correct),
                   reference=relaxed.ref)

  tools = None
  if band == "tool":
    tools = tool_status(keys, tool_results or [[] for _ in completions], majority_key, question)

  scope = [c for c, k in zip(completions, keys) if k == majority_key] if index is not None \
      else list(completions)
  equations = [e.correct for c in scope for e in verifier_steps.check_equations(c)]
  arithmetic = dict(equations=len(equations), correct=sum(equations),
                    share=sum(equations) / len(equations) if equations else None,
                    scope="majority samples" if index is not None else "all samples")

  safety = safety_categories(question, config.safety)
  rules = monitoring.EscalationRules(**config.escalation.to_dict())
  reasons = monitoring.escalation_reasons(
      vote, rules, majority_correct=majority_correct, safety_critical=bool(safety),
      tool_confirmed=None if tools is None else tools["status"] == "confirmed")
  return Solution(
      question=question, band=band, band_reasons=tuple(band_reasons),
      num_samples=len(completions), answer=answer, agreement=vote.agreement,
      distinct_answers=distinct, verifier_status=verdict, tool_status=tools,
      arithmetic_check=arithmetic, escalate=bool(reasons), escalation_reasons=tuple(reasons),
      safety_categories=tuple(safety),
      solution=completions[index] if index is not None else "", samples=tuple(completions))


# ----------------------------------------------------------------------------------------------
# Sampling
# ----------------------------------------------------------------------------------------------


def _sample_text(model, tokenizer, prompts: list[str], n: int, stop: tuple[str, ...],
                 config: ml_collections.ConfigDict, mesh, rules, label: str) -> list[list[str]]:
  from deepseekmath_jax.evaluation import generate  # pylint: disable=g-import-not-at-top
  generate_fn = generate.make_generate_fn(
      model, tokenizer, batch_size=config.batch_size, max_new_tokens=config.max_new_tokens,
      max_prompt_len=config.max_prompt_len, stop_strings=stop, seed=config.seed, mesh=mesh,
      rules=rules, label=label)
  return generate_fn(prompts, n, config.temperature)


def _sample_with_tools(model, tokenizer, prompts: list[str], n: int, stop: tuple[str, ...],
                       config: ml_collections.ConfigDict, mesh, rules, sandbox):
  """Tool-integrated samples: (completions, per-completion program runs) per prompt."""
  import jax  # pylint: disable=g-import-not-at-top
  from deepseekmath_jax.rl import tool_rollout  # pylint: disable=g-import-not-at-top
  from deepseekmath_jax.tools import sandbox as sandbox_lib  # pylint: disable=g-import-not-at-top

  def run(box):
    return tool_rollout.generate_text_with_tools(
        model, tokenizer, prompts, num_samples=n, max_new_tokens=config.max_new_tokens,
        temperature=config.temperature, sandbox=box, max_tool_calls=config.tools.max_tool_calls,
        stop_strings=stop, rng=jax.random.key(config.seed), batch_size=config.batch_size,
        max_prompt_len=config.max_prompt_len, mesh=mesh, rules=rules)

  if sandbox is not None:
    traces = run(sandbox)
  else:
    with sandbox_lib.Sandbox(num_workers=config.tools.num_workers,
                             timeout_s=config.tools.timeout_s) as box:
      traces = run(box)
  return ([[t.text for t in row] for row in traces],
          [[list(t.tool_results) for t in row] for row in traces])


def solve_batch(questions: Sequence[str], *, model, tokenizer,
                references: Sequence[str | None] | None = None, k: int | None = None,
                config: ml_collections.ConfigDict | None = None, mesh: Any = None,
                rules: Sequence | None = None, sandbox: Any = None) -> list[Solution]:
  """`solve` for many questions: one sampler call per band.

  Args:
    questions: the questions.
    model: an NNX `Transformer` (evaluation/generate.py `load_model`).
    tokenizer: its tokenizer (`load_tokenizer`).
    references: per question a reference answer or None.
    k: samples per question (default `config.k`; the fast band takes fewer).
    config: configs/solve.py (None: its defaults).
    mesh: device mesh, or None (one device).
    rules: logical axis rules (default `config.axis_rules`).
    sandbox: a running tools `Sandbox` for the tool band (None: one is started for the call).
  """
  config = config or default_config()
  k = config.k if k is None else k
  references = list(references) if references is not None else [None] * len(questions)
  if len(references) != len(questions):
    raise ValueError(f"{len(references)} references for {len(questions)} questions")
  rules = tuple(tuple(r) for r in (config.axis_rules if rules is None else rules))
  tools = tools_available(config.tool_prompt_format)
  routes = [route(q, config.routing, tools=tools) for q in questions]
  completions: list[list[str] | None] = [None] * len(questions)
  runs: list[list | None] = [None] * len(questions)
  for band in BANDS:
    members = [i for i, r in enumerate(routes) if r.band == band]
    if not members:
      continue
    n = num_samples(band, k, config.routing)
    fmt = prompts_lib.get_format(config.tool_prompt_format if band == "tool"
                                 else config.prompt_format)
    stop = tuple(dict.fromkeys(tuple(fmt.stop) + tuple(config.stop_strings)))
    prompts = [fmt.build(questions[i]) for i in members]
    logging.info("solve: %d question(s) in the %s band, %d sample(s) each", len(members), band, n)
    if band == "tool":
      texts, tool_runs = _sample_with_tools(model, tokenizer, prompts, n, stop, config, mesh,
                                            rules, sandbox)
    else:
      texts = _sample_text(model, tokenizer, prompts, n, stop, config, mesh, rules,
                           f"solve_{band}")
      tool_runs = [None] * len(members)
    for i, row, row_runs in zip(members, texts, tool_runs):
      completions[i], runs[i] = row, row_runs
  return [assess(q, completions[i], band=routes[i].band, band_reasons=routes[i].reasons,
                 reference=references[i], tool_results=runs[i], config=config)
          for i, q in enumerate(questions)]


def solve(question: str, *, model, tokenizer, reference: str | None = None,
          k: int | None = None, config: ml_collections.ConfigDict | None = None,
          mesh: Any = None, rules: Sequence | None = None, sandbox: Any = None) -> Solution:
  """Routes, samples and judges one question (see the module docstring and `solve_batch`)."""
  return solve_batch([question], model=model, tokenizer=tokenizer, references=[reference], k=k,
                     config=config, mesh=mesh, rules=rules, sandbox=sandbox)[0]


def read_questions(path: str) -> tuple[list[dict[str, Any]], dict[str, Any]]:
  """Questions of a jsonl file: `{"question": str, "reference"|"answer": optional, "id": ...}`.

  Returns (records, counts). Bad lines are logged with `file:line`, counted by reason and
  skipped; blank lines are not records. counts: lines, kept, dropped {reason: n}.
  """
  records, dropped = [], {}
  lines = 0

  def drop(lineno: int, reason: str, why: str) -> None:
    dropped[reason] = dropped.get(reason, 0) + 1
    logging.warning("%s:%d: %s; skipped", path, lineno, why)

  with open(path, encoding="utf-8") as f:
    for lineno, line in enumerate(f, 1):
      if not line.strip():
        continue
      lines += 1
      try:
        record = json.loads(line)
      except json.JSONDecodeError as err:
        drop(lineno, "malformed_json", f"not JSON ({err.msg})")
        continue
      if not isinstance(record, dict):
        drop(lineno, "not_an_object", "not a JSON object")
        continue
      question = record.get("question")
      if not isinstance(question, str) or not question.strip():
        drop(lineno, "no_question", 'no non-empty string "question"')
        continue
      reference = record.get("reference", record.get("answer"))
      if reference is not None and not isinstance(reference, (str, int, float)):
        drop(lineno, "bad_reference", '"reference" is not a string or number')
        continue
      records.append(dict(id=record.get("id", f"line{lineno}"), question=question,
                          reference=None if reference is None else str(reference)))
  return records, dict(lines=lines, kept=len(records), dropped=dropped)


