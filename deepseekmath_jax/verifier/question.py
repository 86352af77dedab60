"""What a question says about its answer's kind: the `Context` of a comparison.

DESIGN.md lets the question decide the kind where the answer alone cannot: a percent, a rounding
instruction, a prescribed order, a factor/expand/convert task (and the expression it must not
restate), a mixed number, a ratio or a clock time, the angle unit, the names of an ordered tuple
`(a, b)`, the question's own symbols and units, and the options of a multiple-choice question.
Reading a question is cached: a GRPO group grades G responses to the same question.
"""

from __future__ import annotations

import dataclasses
import functools
import math
import re
from typing import Any, Callable

from deepseekmath_jax.verifier import normalize
from deepseekmath_jax.verifier import units as units_lib

_ROUNDING_WORDS = {"tenth": 1, "hundredth": 2, "thousandth": 3, "ten-thousandth": 4,
                   "whole number": 0, "integer": 0, "cent": 2, "dollar": 0, "unit": 0}
_NUMBER_WORDS = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5}
_ROUNDING_RE = re.compile(
    r"nearest\s+(ten-thousandth|thousandth|hundredth|tenth|whole number|integer|cent|dollar)|"
    r"(\d|one|two|three|four|five)\s+decimal\s+places?", re.IGNORECASE)
_ORDER_RE = re.compile(r"increasing order|decreasing order|ascending|descending|in order|"
                       r"least to greatest|greatest to least|smallest to largest|"
                       r"largest to smallest", re.IGNORECASE)
_TRANSFORM_RE = re.compile(r"\b(?:factor|expand|simplify|rationalize|convert|rewrite|"
                           r"express|write|compute|evaluate|calculate|find the value)\w*",
                           re.IGNORECASE)
_FACTOR_RE = re.compile(r"\bfactor(?:i[sz]e[sd]?)?\b(?!\s+of)", re.IGNORECASE)
_CLOCK_WORDS = ("time", "clock", "a.m", "p.m", "am", "pm", "noon", "midnight", "morning",
                "evening", "afternoon")
_MIXED_RE = re.compile(r"mixed (?:number|numeral|fraction)", re.IGNORECASE)
# "Express your answer as a common fraction" (or an improper fraction, or "as a fraction"): a/b,
# not a mixed number or a decimal. "as a decimal": not a fraction.
_COMMON_FRACTION_RE = re.compile(r"\b(?:common|improper) fraction|\bas an? fraction\b",
                                 re.IGNORECASE)
_DECIMAL_TASK_RE = re.compile(r"\bas an? decimal|\bdecimal (?:form|notation|number)|"
                              r"\bin decimals?\b", re.IGNORECASE)
_LOWEST_TERMS_RE = re.compile(r"lowest terms|simplest (?:form|terms)|fully reduced|"
                              r"reduced (?:form|fraction)", re.IGNORECASE)
# A question that asks for a percent (not one that merely mentions one): "What percent of ...",
# "by what percent", "the percent increase", "as a percent(age)".
_ASKS_PERCENT_RE = re.compile(
    r"\b(?:what|which)\s+(?:is\s+the\s+)?percent(?:age)?\b|\bhow many percent|"
    r"\bpercent(?:age)?\s+(?:increase|decrease|change|error|gain|loss)|"
    r"\b(?:as|in)\s+(?:an?\s+)?percent(?:age)?\b", re.IGNORECASE)
_CLOCK_RE = re.compile(r"\btime\b|o'?clock|\bclock|a\.m\.|p\.m\.|\b[ap]m\b|\bnoon\b|\bmidnight\b|"
                       r"\bmorning\b|\bevening\b|\bafternoon\b", re.IGNORECASE)
_TUPLE_NAMES_RE = re.compile(r"\(\s*([a-zA-Z](?:_\{?\w\}?)?(?:\s*,\s*[a-zA-Z](?:_\{?\w\}?)?)+)\s*\)")
_RADIAN_RE = re.compile(r"radian|2\s*\\pi|\\pi\s*\)|\[0,\s*\\pi", re.IGNORECASE)
_DEGREE_Q_RE = re.compile(r"degree|\\circ|\^\s*\{?\s*\\circ|\u00b0|360", re.IGNORECASE)
_MATH_SEGMENT_RE = re.compile(r"\$([^$]{1,300})\$")
# Option markers of a multiple-choice question: `(A)`, `\textbf{(A) }`, `\mathrm{(A)}`, `A.`/`A)`
# at the start of a line. The option's text runs to the next marker.
_OPTION_MARK_RE = re.compile(
    r"(?:\\(?:textbf|mathrm|text|qquad|mathbf)\s*\{\s*)?\(([A-E])\)(?:\s|\\ )*\}?|"
    r"(?m:^\s*([A-E])[.)]\s)")
_COMMAND_RE = re.compile(r"\\[a-zA-Z]+")


@dataclasses.dataclass(frozen=True)
class Context:
  """What the question says about the answer's kind, plus the comparison mode."""
  strict: bool = False
  has_question: bool = False
  percent_question: bool = False
  rounding_places: int | None = None
  ordered: bool = False
  factor_task: bool = False
  expand_task: bool = False
  mixed_number_task: bool = False
  common_fraction_task: bool = False         # "as a common fraction": a/b, not mixed, not decimal
  decimal_task: bool = False                 # "as a decimal": not a fraction
  lowest_terms_task: bool = False            # "in lowest terms": a reduced fraction
  asks_percent: bool = False                 # "What percent ...?": a bare number is a percent
  ratio_question: bool = False
  clock_question: bool = False
  meridiems: frozenset[str] = frozenset()
  angle_unit: str = ""                      # "degree" or "radian" when the question fixes it
  tuple_names: tuple[str, ...] = ()          # `(a, b)` named by the question, for labelled parts
  question_symbols: frozenset[str] = frozenset()  # one-letter symbols in the question's math
  question_segments: tuple[str, ...] = ()
  # Math segments of the question, raw (canonicalized on first use by `canonical_segments`):
  # the inputs a transformation task must not restate, and expressions it asks for.
  restated_segments: tuple[str, ...] = ()
  question_units: frozenset[str] = frozenset()
  options: tuple[tuple[str, str], ...] = ()
  symbolic: Callable[..., Any] | None = None  # equivalence.SymbolicFn, used in the workers
  solve_relation: Callable[..., Any] | None = None  # relations.Solver, used in the workers


def make_context(question: str | None, strict: bool,
                 symbolic: Callable[..., Any] | None = None,
                 solve_relation: Callable[..., Any] | None = None) -> Context:
  """Reads the question for kind hints (DESIGN.md: `question` may decide the answer's kind)."""
  if not question:
    return Context(strict=strict, symbolic=symbolic, solve_relation=solve_relation)
  context = question_context(question, strict)
  if symbolic is None and solve_relation is None:
    return context
  return dataclasses.replace(context, symbolic=symbolic, solve_relation=solve_relation)


@functools.lru_cache(maxsize=4096)
def question_context(question: str, strict: bool) -> Context:
  """Cached: a GRPO group grades G responses to the same question."""
  question = question[:20000]
  rounding = None
  match = _ROUNDING_RE.search(question)
  if match:
    if match.group(1):
      rounding = _ROUNDING_WORDS[match.group(1).lower()]
    else:
      word = match.group(2).lower()
      rounding = int(word) if word.isdigit() else _NUMBER_WORDS[word]
  math_segments = tuple(_MATH_SEGMENT_RE.findall(question)) if "$" in question else ()
  restated = tuple(side for segment in math_segments for side in segment.split("=")) if (
      _TRANSFORM_RE.search(question)) else ()
  # Substring tests guard the regexes: a GRPO step reads thousands of questions.
  lower = question.lower()
  radian = ("radian" in lower or "\\pi" in question) and bool(_RADIAN_RE.search(question))
  degree = any(w in lower for w in ("degree", "\\circ", "\u00b0", "360")) and bool(
      _DEGREE_Q_RE.search(question))
  tuple_names = _TUPLE_NAMES_RE.search(question) if "," in question else None
  clock_question = any(w in lower for w in _CLOCK_WORDS) and bool(_CLOCK_RE.search(question))
  meridiems = {m[0].lower() + "m" for m in re.findall(r"\b([ap])\.?\s?m\b\.?", question,
                                                     flags=re.IGNORECASE)} if clock_question else set()
  symbols = set()
  for segment in math_segments:
    symbols |= set(re.findall(r"(?<![\\a-zA-Z])[a-zA-Z](?![a-zA-Z])", _COMMAND_RE.sub(" ", segment)))
  return Context(
      has_question=True,
      question_symbols=frozenset(symbols),
      question_segments=tuple(s for s in math_segments if len(s) <= 40 and "=" not in s),
      expand_task="expand" in lower or "multiply out" in lower,
      mixed_number_task="mixed" in lower and bool(_MIXED_RE.search(question)),
      common_fraction_task="fraction" in lower and bool(_COMMON_FRACTION_RE.search(question)),
      decimal_task="decimal" in lower and bool(_DECIMAL_TASK_RE.search(question)),
      lowest_terms_task=("terms" in lower or "form" in lower or "reduced" in lower) and bool(
          _LOWEST_TERMS_RE.search(question)),
      asks_percent="percent" in lower and bool(_ASKS_PERCENT_RE.search(question)),
      ratio_question="ratio" in lower or "proportion" in lower,
      clock_question=clock_question,
      meridiems=frozenset(meridiems),
      angle_unit="radian" if radian and not degree else ("degree" if degree and not radian else ""),
      tuple_names=tuple(n.replace(" ", "") for n in tuple_names.group(1).split(",")) if (
          tuple_names) else (),
      strict=strict,
      percent_question=bool(re.search(r"percent|\\%|%", question, re.IGNORECASE)),
      rounding_places=rounding,
      ordered=bool(_ORDER_RE.search(question)),
      factor_task=bool(_FACTOR_RE.search(question)),
      restated_segments=restated,
      question_units=frozenset(units_lib.mentioned_units(question)),
      options=_options(question) if "(A)" in question or "A." in question or "A)" in question
      else ())


def _options(question: str) -> tuple[tuple[str, str], ...]:
  """(letter, option text) pairs of a multiple-choice question, in order."""
  marks = list(_OPTION_MARK_RE.finditer(question))
  letters = [m.group(1) or m.group(2) for m in marks]
  if len(marks) < 2 or letters[:2] != ["A", "B"]:
    return ()
  options = []
  for index, mark in enumerate(marks):
    end = marks[index + 1].start() if index + 1 < len(marks) else len(question)
    text = question[mark.end():end]
    text = re.split(r"\n\s*\n", text)[0]
    text = re.sub(r"\\qquad|\\quad|\\hspace\{[^{}]*\}|\\\\", " ", text)
    text = text.strip().strip("$").strip().rstrip(",;").strip().strip("$").strip()
    if text:
      options.append((letters[index], text[:200]))
  return tuple(options)


@functools.lru_cache(maxsize=4096)
def canonical_segments(segments: tuple[str, ...]) -> frozenset[str]:
  """The canonical spellings of a question's math segments (computed once per question, and only
  for answers that could restate one: numbers never look them up)."""
  out = set()
  for segment in segments:
    try:
      text = normalize.canonical(normalize.clean(segment))
    except normalize.ParseError:
      continue
    if text:
      out.add(text)
  return frozenset(out)


# Forms a task may prescribe: a mixed number (`2\\frac14`, `2 1/4`), a fraction, a decimal.
_MIXED_FORM_RE = re.compile(r"^-?\d+\s*\\[dt]?frac|^-?\d+\s+\d+\s*/\s*\d")
_FRACTION_FORM_RE = re.compile(
    r"^-?(?:\\[dt]?frac\s*\{\s*-?(\d+)\s*\}\s*\{\s*(\d+)\s*\}|\\[dt]?frac(\d)(\d)|"
    r"(\d+)\s*/\s*(\d+))$")
_DECIMAL_FORM_RE = re.compile(r"^-?\d*\.\d*(?:\\overline\s*\{?\d+\}?)?$")


def prescribed_form_violation(pred_text: str, ref_text: str, ctx: Context) -> str | None:
  """The form a task prescribes for a value already found equal: "as a mixed number" (not 7/2),
  "as a common fraction" (not 1 3/4, not 1.75), "as a decimal" (not 7/4) are task_form_mismatch
  in both modes; a fraction not in lowest terms is task_form_mismatch when the question asks for
  lowest terms, and (MATH's answers being reduced) another form in strict mode when it asks for a
  common fraction. Returns the reason ("task_form_mismatch", or "format_mismatch" for a form
  only strict refuses), or None when the task prescribes nothing that the answer breaks."""
  if not (ctx.mixed_number_task or ctx.common_fraction_task or ctx.decimal_task
          or ctx.lowest_terms_task):
    return None
  pred_mixed = bool(_MIXED_FORM_RE.match(pred_text))
  ref_mixed = bool(_MIXED_FORM_RE.match(ref_text))
  pred_fraction = _FRACTION_FORM_RE.match(pred_text)
  ref_fraction = bool(_FRACTION_FORM_RE.match(ref_text))
  pred_decimal = bool(_DECIMAL_FORM_RE.match(pred_text))
  ref_decimal = bool(_DECIMAL_FORM_RE.match(ref_text))
  if ctx.mixed_number_task and ref_mixed and not pred_mixed:
    return "task_form_mismatch"  # "as a mixed number": 7/2 is not 3 1/2.
  if (ctx.common_fraction_task and not ctx.mixed_number_task and (pred_mixed or pred_decimal)
      and not (ref_mixed or ref_decimal)):
    return "task_form_mismatch"  # "as a common fraction": 2 1/4 and 2.25 are not 9/4.
  if ctx.decimal_task and (pred_fraction or pred_mixed) and not (ref_fraction or ref_mixed):
    return "task_form_mismatch"  # "as a decimal": 3/8 is not 0.375.
  if pred_fraction and pred_text != ref_text:
    numerator, denominator = (int(g) for g in pred_fraction.groups() if g is not None)
    if math.gcd(numerator, denominator) > 1 or denominator == 1:
      if ctx.lowest_terms_task:
        return "task_form_mismatch"  # "in lowest terms": 6/8 is not 3/4.
      if ctx.common_fraction_task and ref_fraction:
        return "format_mismatch"  # Not reduced: strict wants MATH's reduced common fraction.
  return None
