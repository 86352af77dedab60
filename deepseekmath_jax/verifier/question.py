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


def make_context(question: str | None, strict: bool,
                 symbolic: Callable[..., Any] | None = None) -> Context:
  """Reads the question for kind hints (DESIGN.md: `question` may decide the answer's kind)."""
  if not question:
    return Context(strict=strict, symbolic=symbolic)
  context = question_context(question, strict)
  return dataclasses.replace(context, symbolic=symbolic) if symbolic is not None else context


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
