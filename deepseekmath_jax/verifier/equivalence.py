"""Decides whether a predicted answer equals a reference, in relaxed and strict semantics.

Two parsed answer trees (`normalize.Node`) are compared structurally: containers by their kind
(ordered tuples/intervals keep order and brackets, sets and "all solutions" lists are matched as
multisets), scalars by value. Scalar comparison runs cheapest first:

1. canonical string equality;
2. exact rational arithmetic (`arith.py`, `fractions.Fraction`): integers, decimals, fractions,
   mixed numbers, scientific notation, percent, unit conversion. No tolerance makes an
   approximation equal an exact value (0.3333 is not 1/3, 1112122 is not 1112112); the only
   tolerances are float noise (a 12+ significant-digit decimal within 1e-12) and, in relaxed mode,
   a rounded decimal reference matched by an exact form that rounds to it (sqrt(2) vs 1.41);
3. a float evaluation that can only *reject* (values far apart);
4. sympy (`symbolic.py`), only when a `symbolic` comparator is supplied: that happens inside the
   worker processes of `pool.py`, under a wall-clock deadline. Without one the outcome is
   UNDECIDED and the caller sends the item to the pool.

Answers that describe a set of reals (relations, intervals, unions, words such as "no
solution") are compared as sets (`relations.py`); times of day and ratios by `clock.py`; labelled
answers (`PQ = 6`, `(a,b) = (4,1)`, `g(t) = ...`) by their label and value. The question sets
the kind where the answer alone cannot (`Context`).

Each comparison yields an `Outcome`: EQUAL (also strict-equal), RELAXED (equal under relaxed
rules only; `reason` says why strict refuses: format_mismatch, unit_mismatch or
variable_mismatch), UNEQUAL (with the reason: wrong_value, unit_mismatch, format_mismatch,
relation_mismatch, variable_mismatch, choice_mismatch, task_form_mismatch, parse_error) or
UNDECIDED.
"""

from __future__ import annotations

import dataclasses
import functools
import re
from fractions import Fraction
from typing import Callable

from deepseekmath_jax.verifier import arith
from deepseekmath_jax.verifier import clock
from deepseekmath_jax.verifier import labels
from deepseekmath_jax.verifier import normalize
from deepseekmath_jax.verifier import relations
from deepseekmath_jax.verifier import units as units_lib
from deepseekmath_jax.verifier.normalize import Node

EQUAL = "equal"
RELAXED = "relaxed"
UNEQUAL = "unequal"
UNDECIDED = "undecided"


@dataclasses.dataclass(frozen=True)
class Outcome:
  status: str
  reason: str = ""


_EQUAL = Outcome(EQUAL)
_UNDECIDED = Outcome(UNDECIDED)
_WRONG = Outcome(UNEQUAL, "wrong_value")


def _relaxed(reason: str = "format_mismatch") -> Outcome:
  return Outcome(RELAXED, reason)


# A symbolic comparator: (pred_text, ref_text, pred_scale, ref_scale, context) -> Outcome.
SymbolicFn = Callable[[str, str, Fraction, Fraction, "Context"], Outcome]

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
_FREE_LETTER_RE = re.compile(r"[a-zA-Z]")
_COMMAND_RE = re.compile(r"\\[a-zA-Z]+")


@dataclasses.dataclass(frozen=True)
class Context:
  """What the question says about the answer's kind, plus the comparison mode."""
  strict: bool = False
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
  symbolic: SymbolicFn | None = None


def make_context(question: str | None, strict: bool,
                 symbolic: SymbolicFn | None = None) -> Context:
  """Reads the question for kind hints (DESIGN.md: `question` may decide the answer's kind)."""
  if not question:
    return Context(strict=strict, symbolic=symbolic)
  context = _question_context(question, strict)
  return dataclasses.replace(context, symbolic=symbolic) if symbolic is not None else context


@functools.lru_cache(maxsize=4096)
def _question_context(question: str, strict: bool) -> Context:
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


def _restates(text: str, ctx: Context) -> bool:
  if arith.is_plain_number(text):  # Cheap for the common case: no canonicalization needed.
    return any(segment.strip() == text for segment in ctx.restated_segments)
  return text in canonical_segments(ctx.restated_segments)


def combine(outcomes: list[Outcome]) -> Outcome:
  """All parts must be equal; the first unequal part decides the reason."""
  for outcome in outcomes:
    if outcome.status == UNEQUAL:
      return outcome
  if any(o.status == UNDECIDED for o in outcomes):
    return _UNDECIDED
  for outcome in outcomes:
    if outcome.status == RELAXED:
      return outcome
  return _EQUAL


def compare(pred: Node, ref: Node, ctx: Context) -> Outcome:
  """Compares two answer trees."""
  # Answers that only restate the input of a factor/expand/convert task are wrong
  # (DESIGN.md "Verifier semantics"), even though they are symbolically equal.
  if (ctx.restated_segments and pred.kind == "scalar" and _restates(pred.text, ctx)
      and pred.text != ref.text):
    return _WRONG

  # Sets of reals in any notation: relations, intervals, unions, words (relations.py).
  if relations.is_set_like(pred) or relations.is_set_like(ref):
    pred_region, ref_region = relations.region_of(pred), relations.region_of(ref)
    if pred_region is not None and ref_region is not None:
      return relations.compare_regions(pred_region, ref_region,
                                       lambda a, b: compare(a, b, ctx), Outcome)

  if pred.kind == "eq" or ref.kind == "eq":
    return _compare_equations(pred, ref, ctx)
  if pred.kind == "ineq" or ref.kind == "ineq":
    return _compare_inequalities(pred, ref, ctx)
  if pred.kind in ("time", "ratio") or ref.kind in ("time", "ratio"):
    return _compare_times_and_ratios(pred, ref, ctx)

  # Labelled parts against an ordered tuple: `a=4, b=1` (or `4, 1`) vs `(4,1)`.
  if pred.kind == "list" and ref.kind == "seq" and ref.brackets in ("()", "<>"):
    return _compare_parts_with_tuple(pred, ref, ctx)
  if ref.kind == "list" and pred.kind == "seq" and pred.brackets in ("()", "<>"):
    return _compare_parts_with_tuple(ref, pred, ctx, swapped=True)

  if pred.kind == ref.kind == "list":
    outcome = _compare_labelled_parts_in_question_order(pred, ref, ctx)
    if outcome is not None:
      return outcome
  if pred.kind == "list" and ref.kind != "list" and ref.kind != "set":
    unique = _dedupe(pred.items)
    if len(unique) == 1:
      return compare(unique[0], ref, ctx)
    return _WRONG
  if ref.kind == "list" and pred.kind not in ("list", "set"):
    return _WRONG

  if pred.kind in ("list", "set", "union") and ref.kind in ("list", "set", "union"):
    if {pred.kind, ref.kind} == {"union"} or "union" not in (pred.kind, ref.kind):
      ordered = ctx.strict and ctx.ordered and pred.kind == ref.kind == "list"
      return _compare_collections(pred.items, ref.items, ctx, ordered=ordered)
    return _WRONG
  if pred.kind == "union" and len(pred.items) == 1:
    return compare(pred.items[0], ref, ctx)
  if ref.kind == "union" and len(ref.items) == 1:
    return compare(pred, ref.items[0], ctx)

  if pred.kind == "seq" and ref.kind == "seq":
    return _compare_sequences(pred, ref, ctx)
  if pred.kind == "matrix" or ref.kind == "matrix":
    outcome = _compare_matrices(pred, ref, ctx)
    if outcome.status == EQUAL and pred.kind == ref.kind and pred.text != ref.text:
      return _relaxed()  # `\\mathbf{i}` form or a factor outside: another form of the same vector.
    return outcome

  if pred.kind == "choice" or ref.kind == "choice":
    return _compare_choices(pred, ref, ctx)
  if pred.kind == "text" or ref.kind == "text":
    if {pred.kind, ref.kind} == {"text", "scalar"}:
      # "infinitely many" for a count written as \infty.
      words, scalar = (pred, ref) if pred.kind == "text" else (ref, pred)
      if scalar.text in ("\\infty", "+\\infty") and re.match(r"infinite", words.text):
        return _relaxed()
    pred_text = pred.text.lower() if pred.kind == "text" else pred.text.lower()
    return _EQUAL if pred_text == ref.text.lower() else _WRONG
  if pred.kind == "scalar" and ref.kind == "scalar":
    return compare_scalars(pred, ref, ctx)
  return _WRONG


def _dedupe(items: tuple[Node, ...]) -> list[Node]:
  seen, unique = set(), []
  for item in items:
    key = normalize.answer_key(item)
    if key not in seen:
      seen.add(key)
      unique.append(item)
  return unique


def _compare_collections(pred_items: tuple[Node, ...], ref_items: tuple[Node, ...], ctx: Context,
                         *, ordered: bool) -> Outcome:
  """Multiset matching: every reference item matched by exactly one predicted item."""
  pred_list = _dedupe(pred_items)
  ref_list = _dedupe(ref_items)
  if len(pred_list) != len(ref_list):
    return _WRONG
  if ordered:
    return combine([compare(p, r, ctx) for p, r in zip(pred_list, ref_list)])
  remaining = list(range(len(pred_list)))
  outcomes = []
  undecided = False
  for ref_item in ref_list:
    best, best_index = None, None
    for index in remaining:
      outcome = compare(pred_list[index], ref_item, ctx)
      if outcome.status == EQUAL:
        best, best_index = outcome, index
        break
      if outcome.status == RELAXED and best is None:
        best, best_index = outcome, index
      elif outcome.status == UNDECIDED:
        undecided = True
    if best is None:
      return _UNDECIDED if undecided else _WRONG
    remaining.remove(best_index)
    outcomes.append(best)
  return combine(outcomes)


def _compare_sequences(pred: Node, ref: Node, ctx: Context) -> Outcome:
  if len(pred.items) != len(ref.items):
    return _WRONG
  outcome = combine([compare(p, r, ctx) for p, r in zip(pred.items, ref.items)])
  if outcome.status in (UNEQUAL, UNDECIDED) or pred.brackets == ref.brackets:
    return outcome
  # Interval brackets always matter; a <> vector and a () tuple differ only in kind.
  if {pred.brackets, ref.brackets} <= {"()", "<>"}:
    return _relaxed()
  return _WRONG


def _as_rows(node: Node) -> list[tuple[Node, ...]] | None:
  if node.kind == "matrix":
    return [row.items for row in node.items]
  if node.kind == "seq" and node.brackets in ("()", "<>", "[]"):
    return [(item,) for item in node.items]  # A tuple compares as a column vector.
  return None


def _compare_matrices(pred: Node, ref: Node, ctx: Context) -> Outcome:
  pred_rows, ref_rows = _as_rows(pred), _as_rows(ref)
  if pred_rows is None or ref_rows is None:
    return _WRONG
  # `a\mathbf{i} + b\mathbf{j}` without `\mathbf{k}` is also the 3-vector (a, b, 0).
  zero = (normalize.Node("scalar", text="0"),)
  if pred.text == "ijk" and len(pred_rows) == 2 and len(ref_rows) == 3:
    pred_rows = pred_rows + [zero]
  if ref.text == "ijk" and len(ref_rows) == 2 and len(pred_rows) == 3:
    ref_rows = ref_rows + [zero]
  if len(pred_rows) != len(ref_rows) or any(len(a) != len(b) for a, b in zip(pred_rows, ref_rows)):
    # A row vector against a column vector of the same entries.
    flat_pred = [cell for row in pred_rows for cell in row]
    flat_ref = [cell for row in ref_rows for cell in row]
    pred_shape = (len(pred_rows), len(pred_rows[0]) if pred_rows else 0)
    ref_shape = (len(ref_rows), len(ref_rows[0]) if ref_rows else 0)
    if len(flat_pred) != len(flat_ref) or pred_shape[::-1] != ref_shape or 1 not in pred_shape:
      return _WRONG
    outcome = combine([compare(p, r, ctx) for p, r in zip(flat_pred, flat_ref)])
    return _relaxed() if outcome.status in (EQUAL, RELAXED) else outcome
  outcome = combine([compare(p, r, ctx) for row_p, row_r in zip(pred_rows, ref_rows)
                     for p, r in zip(row_p, row_r)])
  if outcome.status == EQUAL and pred.kind != ref.kind:
    return _relaxed()  # Tuple vs column vector: same entries, another kind.
  return outcome


_CHOICE_MISMATCH = Outcome(UNEQUAL, "choice_mismatch")


def _option_node(text: str) -> Node | None:
  try:
    return normalize.parse_answer(normalize.clean(text))
  except (normalize.ParseError, RecursionError):
    return None


def _matches_option(node: Node, option_text: str, ctx: Context) -> bool:
  option = _option_node(option_text)
  if option is None or option.kind == "choice":
    return False
  try:
    outcome = compare(node, option, dataclasses.replace(ctx, options=()))
  except RecursionError:
    return False
  return outcome.status in (EQUAL, RELAXED)


def _compare_choices(pred: Node, ref: Node, ctx: Context) -> Outcome:
  """Option letters; with the question's options, a letter against its option's text (relaxed)."""
  if pred.kind == ref.kind == "choice":
    return _EQUAL if pred.text == ref.text else _CHOICE_MISMATCH
  options = dict(ctx.options)
  if ref.kind == "choice" and ref.text in options:
    if _matches_option(pred, options[ref.text], ctx):
      return _relaxed()
    others = [text for letter, text in ctx.options if letter != ref.text]
    return _CHOICE_MISMATCH if any(_matches_option(pred, t, ctx) for t in others) else _WRONG
  if pred.kind == "choice" and pred.text in options:
    option = _option_node(options[pred.text])
    if option is not None and option.kind != "choice":
      outcome = compare(option, ref, dataclasses.replace(ctx, options=()))
      if outcome.status in (EQUAL, RELAXED):
        return _relaxed()
      if outcome.status == UNDECIDED:
        return outcome
    return _CHOICE_MISMATCH
  return _WRONG


def _compare_times_and_ratios(pred: Node, ref: Node, ctx: Context) -> Outcome:
  """Times of day and ratios (clock.py): `h:mm` is a ratio when the question asks for one."""
  def as_ratio_if_unmarked(node: Node) -> Node:
    return clock.as_ratio(node) if node.kind == "time" and node.brackets == "" else node
  if pred.kind == ref.kind == "time" and not (ctx.ratio_question and pred.brackets == ref.brackets == ""):
    return clock.compare_times(pred, ref, strict_form=_relaxed, equal=lambda: _EQUAL,
                               wrong=lambda: _WRONG, question_halves=ctx.meridiems,
                               ambiguous=lambda: Outcome(UNEQUAL, "format_mismatch"))
  if ctx.clock_question and not ctx.ratio_question and "time" in (pred.kind, ref.kind):
    return _WRONG  # A clock time is not a ratio.
  pred, ref = as_ratio_if_unmarked(pred), as_ratio_if_unmarked(ref)
  if pred.kind == ref.kind == "ratio":
    if len(pred.items) == len(ref.items):
      outcome = combine([compare(p, r, ctx) for p, r in zip(pred.items, ref.items)])
      if outcome.status != UNEQUAL:
        return outcome
    same = clock.proportional(pred, ref)
    return _relaxed() if same else _WRONG
  ratio, other = (pred, ref) if pred.kind == "ratio" else (ref, pred)
  value = clock.ratio_value(ratio)
  if value is None or other.kind != "scalar" or ratio.kind != "ratio":
    return _WRONG
  try:
    other_value = arith.try_evaluate(other.text)
  except arith.TooLarge:
    return _WRONG
  if other_value is not None and other_value.exact == value and not other.unit:
    return _relaxed()  # 3:8 against 3/8: a ratio as a number.
  return _WRONG


def _compare_parts_with_tuple(parts: Node, tuple_node: Node, ctx: Context, *,
                              swapped: bool = False) -> Outcome:
  """A list of (labelled) parts against an ordered tuple, in the question's order of names."""
  items = list(parts.items)
  if all(item.kind == "eq" and len(item.items) == 2 and normalize.is_label(item.items[0])
         for item in items):
    names = [labels.label_key(item.items[0]) for item in items]
    if ctx.tuple_names and sorted(names) == sorted(ctx.tuple_names) and len(set(names)) == len(names):
      items = [items[names.index(name)] for name in ctx.tuple_names]
    values = tuple(item.items[1] for item in items)
  elif any(item.kind == "eq" for item in items):
    return _WRONG
  else:
    values = tuple(items)
  if len(values) != len(tuple_node.items):
    return _WRONG
  as_tuple = Node("seq", items=values, brackets=tuple_node.brackets)
  outcome = (compare(tuple_node, as_tuple, ctx) if swapped else compare(as_tuple, tuple_node, ctx))
  return _relaxed() if outcome.status == EQUAL else outcome


def _compare_labelled_parts_in_question_order(pred: Node, ref: Node, ctx: Context) -> Outcome | None:
  """`AB = 4, CD = 10` against `10, 4` for "Find $AB$ and $CD$": the reference lists the values
  in the order the question names them. None when that order does not apply."""
  if len(pred.items) != len(ref.items) or any(item.kind == "eq" for item in ref.items):
    return None
  ordered = labels.in_question_order(pred.items, ctx.question_segments)
  if ordered is None:
    return None
  outcome = combine([compare(value, ref_item, ctx) for value, ref_item in zip(ordered, ref.items)])
  return _relaxed() if outcome.status == EQUAL else outcome


def _is_numeric(node: Node) -> bool:
  try:
    return node.kind == "scalar" and arith.try_evaluate(node.text) is not None
  except arith.TooLarge:
    return False


def _compare_equations(pred: Node, ref: Node, ctx: Context) -> Outcome:
  if pred.kind == "eq" and ref.kind == "eq":
    if normalize.is_label(pred.items[0]) and normalize.is_label(ref.items[0]):
      # `y = 2` vs `x = 2` names another quantity; `g(s) = s^2` vs `g(t) = t^2` renames one.
      relation, rename = labels.compare_labels(pred.items[0], ref.items[0])
      if relation == "different":
        return Outcome(UNEQUAL, "variable_mismatch")
      if rename and labels.distinct_in_question(rename[0], rename[1], ctx.question_symbols):
        return Outcome(UNEQUAL, "variable_mismatch")
      pred_value = labels.rename(pred.items[-1], *rename) if rename else pred.items[-1]
      outcome = compare(pred_value, ref.items[-1], ctx)
      if relation == "same" or outcome.status not in (EQUAL, RELAXED):
        return outcome
      return Outcome(RELAXED, "variable_mismatch" if rename else "format_mismatch")
    if len(pred.items) == len(ref.items):
      outcome = combine([compare(p, r, ctx) for p, r in zip(pred.items, ref.items)])
      if outcome.status != UNEQUAL:
        return outcome
    if len(pred.items) == len(ref.items) == 2 and ctx.symbolic is not None:
      # Both sides: a x + b y = c against any rearrangement or nonzero multiple of it.
      pred_text = f"({pred.items[0].text})-({pred.items[1].text})"
      ref_text = f"({ref.items[0].text})-({ref.items[1].text})"
      outcome = ctx.symbolic(pred_text, ref_text, Fraction(0), Fraction(0), ctx)
      return _relaxed() if outcome.status in (EQUAL, RELAXED) else outcome
    if len(pred.items) == len(ref.items) == 2:
      return _UNDECIDED
    return _WRONG
  if ref.kind == "eq":
    # `x = 5` (reference) against `5`: equal in relaxed mode only.
    if len(ref.items) == 2 and normalize.is_label(ref.items[0]):
      outcome = compare(pred, ref.items[1], ctx)
      return _relaxed() if outcome.status == EQUAL else outcome
    return _WRONG
  # `x = 5` or `2 + 3 = 5` (prediction) against `5`: the last side, when earlier sides are a
  # name or plain arithmetic (so `x^2 = 4` is not read as the answer 4).
  # `a + b = 5` when the question asks for $a+b$: the asked expression names the answer.
  if all(normalize.is_label(side) or _is_numeric(side) or (
      side.kind == "scalar" and has_free_variable(side.text)
      and side.text in canonical_segments(ctx.question_segments))
         for side in pred.items[:-1]):
    outcome = compare(pred.items[-1], ref, ctx)
    return _relaxed() if outcome.status == EQUAL else outcome
  return _WRONG


def _interval_of(node: Node) -> Node | None:
  """`x > 3` -> (3, \\infty); `-2 < x <= 5` -> (-2, 5]; None for other inequalities."""
  ops = node.brackets.split()
  items = node.items
  infinity = Node("scalar", text="\\infty")
  minus_infinity = Node("scalar", text="-\\infty")
  if len(items) == 2:
    var_first = normalize.is_simple_variable(items[0])
    if not var_first and not normalize.is_simple_variable(items[1]):
      return None
    bound = items[1] if var_first else items[0]
    op = ops[0] if var_first else {"<": ">", ">": "<", "<=": ">=", ">=": "<="}[ops[0]]
    closed = "=" in op
    if op.startswith(">"):
      return Node("seq", items=(bound, infinity), brackets=("[" if closed else "(") + ")")
    return Node("seq", items=(minus_infinity, bound), brackets="(" + ("]" if closed else ")"))
  if len(items) == 3 and normalize.is_simple_variable(items[1]) and ops[0][0] == ops[1][0]:
    low, high = (items[0], items[2]) if ops[0].startswith("<") else (items[2], items[0])
    left, right = (ops[0], ops[1]) if ops[0].startswith("<") else (ops[1], ops[0])
    return Node("seq", items=(low, high),
                brackets=("[" if "=" in left else "(") + ("]" if "=" in right else ")"))
  return None


def _compare_inequalities(pred: Node, ref: Node, ctx: Context) -> Outcome:
  pred_interval = _interval_of(pred) if pred.kind == "ineq" else pred
  ref_interval = _interval_of(ref) if ref.kind == "ineq" else ref
  if pred_interval is None or ref_interval is None:
    if pred.kind == ref.kind == "ineq" and pred.brackets == ref.brackets:
      return combine([compare(p, r, ctx) for p, r in zip(pred.items, ref.items)])
    return _WRONG
  if pred_interval.kind != "seq" or ref_interval.kind != "seq":
    if ref_interval.kind == "union" or pred_interval.kind == "union":
      return compare(pred_interval, ref_interval, ctx) if pred.kind != ref.kind else _WRONG
    return _WRONG
  outcome = _compare_sequences(pred_interval, ref_interval, ctx)
  if outcome.status == EQUAL and pred.kind != ref.kind:
    return _relaxed()  # An interval against an inequality: strict wants the same kind.
  return outcome


def has_free_variable(text: str) -> bool:
  """True when the scalar names a variable (letters outside commands; e, i are ambiguous)."""
  stripped = _COMMAND_RE.sub("", text)
  return bool(re.search(r"[a-df-hj-zA-Z]", stripped))


def _percent_scales(pred: Node, ref: Node, ctx: Context) -> list[tuple[Fraction, Fraction, str]]:
  """(pred_scale, ref_scale, status-if-equal) candidates implementing the percent rules."""
  if pred.percent == ref.percent:
    return [(Fraction(1), Fraction(1), EQUAL)]
  if ref.percent:  # 25% vs 25 (bare number: relaxed) or vs 0.25 (the value: relaxed).
    return [(Fraction(1), Fraction(1), RELAXED), (Fraction(1), Fraction(1, 100), RELAXED)]
  if ctx.percent_question:  # The question asks for a percent: a bare 25 means 25%.
    return [(Fraction(1), Fraction(1), EQUAL)]
  return [(Fraction(1, 100), Fraction(1), RELAXED)]


def _unit_scales(pred: Node, ref: Node, ctx: Context) -> tuple[Fraction, Fraction, str] | Outcome:
  """Scale factors that put both values in one unit, and the status when the values agree."""
  one = Fraction(1)
  if pred.unit == ref.unit:
    return one, one, EQUAL
  if pred.unit and ref.unit:
    try:
      same_dimension = units_lib.dimension(pred.unit) == units_lib.dimension(ref.unit)
    except KeyError:
      same_dimension = False
    if not same_dimension:
      return Outcome(UNEQUAL, "unit_mismatch")
    return units_lib.to_base(one, pred.unit), units_lib.to_base(one, ref.unit), RELAXED
  if ref.unit:
    return one, one, RELAXED  # A missing unit: the question fixes it.
  # The prediction has a unit the reference lacks: the question says which unit is asked for.
  same_dim = [u for u in ctx.question_units if _same_dimension(u, pred.unit)]
  if not same_dim or pred.unit in same_dim:
    return one, one, EQUAL
  if len(same_dim) == 1:
    return units_lib.to_base(one, pred.unit), units_lib.to_base(one, same_dim[0]), RELAXED
  return one, one, RELAXED


def _same_dimension(unit_a: str, unit_b: str) -> bool:
  try:
    return units_lib.dimension(unit_a) == units_lib.dimension(unit_b)
  except KeyError:
    return False


def compare_scalars(pred: Node, ref: Node, ctx: Context) -> Outcome:
  """Compares two scalar nodes: base subscripts, units, percent, then values."""
  if pred.base or ref.base:
    if pred.text.lower() != ref.text.lower():
      return _WRONG
    return _EQUAL if pred.base == ref.base else (_WRONG if pred.base and ref.base else _relaxed())
  angles = _angle_unit(pred), _angle_unit(ref)
  if set(angles) == {"degree", "rad"}:
    return _compare_angles(pred, ref, angles[0], ctx)
  outcome = _compare_scalar_values(pred, ref, ctx)
  if outcome.status in (EQUAL, RELAXED):
    if ctx.mixed_number_task and _MIXED_FORM_RE.match(ref.text) and not _MIXED_FORM_RE.match(
        pred.text):
      return Outcome(UNEQUAL, "task_form_mismatch")  # "as a mixed number": 7/2 is not 3 1/2.
    if outcome.status == EQUAL and _unevaluated(pred.text) and not _unevaluated(ref.text):
      return _relaxed()  # `2+3` for 5: the value, not yet the answer (strict).
  return outcome


_MIXED_FORM_RE = re.compile(r"^-?\d+\s*(?:\\frac|\d+/\d)")
# A binary operation between numbers (not scientific notation's `\times 10^`).
_UNEVALUATED_RE = re.compile(
    r"[\d})]\s*(?:[-+*]|\\div|\\(?:times|cdot)(?!\s*10\s*\^))\s*[\d(\\{]|\d!")


# `a + bi` (either order): the rectangular form of one complex number, not a sum to evaluate.
_COMPLEX_RECTANGULAR_RE = re.compile(r"[-+]?([^-+]+)[-+]([^-+]*)i|[-+]?([^-+]*)i[-+]([^-+]+)")


def _complex_rectangular(text: str) -> bool:
  match = _COMPLEX_RECTANGULAR_RE.fullmatch(text)
  return bool(match) and not any(_UNEVALUATED_RE.search(part or "") for part in match.groups())


def _unevaluated(text: str) -> bool:
  return bool(_UNEVALUATED_RE.search(text)) and not has_free_variable(text) and (
      "\\pi" not in text and "\\sqrt" not in text) and not _complex_rectangular(text)


def _angle_unit(node: Node) -> str:
  """"degree", "rad" (a radian unit, or a bare value with pi in it) or ""."""
  if node.unit in ("degree", "rad"):
    return node.unit
  if not node.unit and "\\pi" in node.text:
    return "rad"
  return ""


def _compare_angles(pred: Node, ref: Node, pred_unit: str, ctx: Context) -> Outcome:
  """An angle in degrees against one in radians: the same angle is another unit (relaxed, and
  wrong when the question fixes the unit); the same number in the other unit is wrong."""
  to_radians = "({})\\cdot\\frac{{\\pi}}{{180}}"
  if pred_unit == "degree":
    pred_text, ref_text = to_radians.format(pred.text), ref.text
  else:
    pred_text, ref_text = pred.text, to_radians.format(ref.text)
  outcome = compare_values(pred_text, ref_text, Fraction(1), Fraction(1), ctx)
  if outcome.status in (EQUAL, RELAXED):
    fixed = {"degree": "degree", "radian": "rad"}.get(ctx.angle_unit)
    if fixed and pred_unit != fixed:
      return Outcome(UNEQUAL, "unit_mismatch")
    return Outcome(RELAXED, "unit_mismatch")
  if outcome.status == UNDECIDED:
    return outcome
  if compare_values(pred.text, ref.text, Fraction(1), Fraction(1), ctx).status == EQUAL:
    return Outcome(UNEQUAL, "unit_mismatch")  # 2 radians vs 2 degrees.
  return _WRONG


def _compare_scalar_values(pred: Node, ref: Node, ctx: Context) -> Outcome:
  scales = _unit_scales(pred, ref, ctx)
  if isinstance(scales, Outcome):
    return scales
  unit_pred, unit_ref, unit_status = scales
  best = None
  undecided = False
  for pred_scale, ref_scale, status in _percent_scales(pred, ref, ctx):
    outcome = compare_values(pred.text, ref.text, pred_scale * unit_pred, ref_scale * unit_ref, ctx)
    if outcome.status in (EQUAL, RELAXED):
      if unit_status == RELAXED:
        return Outcome(RELAXED, "unit_mismatch")
      if status == RELAXED or outcome.status == RELAXED:
        return Outcome(RELAXED, outcome.reason or "format_mismatch")
      return _EQUAL
    if outcome.status == UNDECIDED:
      undecided = True
    elif best is None:
      best = outcome
  if undecided:
    return _UNDECIDED
  if unit_status == RELAXED and unit_pred != unit_ref:
    raw = compare_values(pred.text, ref.text, Fraction(1), Fraction(1), ctx)
    if raw.status == EQUAL:  # 25 m vs 25 km: the unit changes the quantity.
      return Outcome(UNEQUAL, "unit_mismatch")
  return best or _WRONG


def _significant_digits(text: str) -> int:
  return len(re.sub(r"^[-+0.]*", "", text).replace(".", ""))


def compare_values(pred_text: str, ref_text: str, pred_scale: Fraction, ref_scale: Fraction,
                   ctx: Context) -> Outcome:
  """Compares pred_text * pred_scale with ref_text * ref_scale."""
  if pred_text == ref_text and pred_scale == ref_scale:
    return _EQUAL
  try:
    pred_value = arith.try_evaluate(pred_text)
  except arith.TooLarge:
    # Towers of powers (2^{2^{100}}) are compared as exact powers of a minimal base.
    pred_tower, ref_tower = arith.power_tower(pred_text), arith.power_tower(ref_text)
    if pred_tower is not None and ref_tower is not None and pred_scale == ref_scale:
      return _EQUAL if pred_tower == ref_tower else _WRONG
    return Outcome(UNEQUAL, "parse_error")
  try:
    ref_value = arith.try_evaluate(ref_text)
  except arith.TooLarge:
    ref_value = None
  if pred_value is not None and ref_value is not None:
    outcome = _compare_numbers(pred_text, ref_text, pred_value, ref_value, pred_scale, ref_scale,
                               ctx)
    if outcome is not None:
      return outcome
  elif pred_value is not None and has_free_variable(ref_text):
    return _WRONG
  elif ref_value is not None and has_free_variable(pred_text):
    return _WRONG
  if ctx.symbolic is None:
    return _UNDECIDED
  return ctx.symbolic(pred_text, ref_text, pred_scale, ref_scale, ctx)


def rounding_outcome(pred_text: str, ref_text: str, pred_approx: float | Fraction,
                     ref_approx: float | Fraction, ctx: Context) -> Outcome | None:
  """Relaxed acceptance of an exact form against a rounded decimal reference (sqrt 2 vs 1.41).

  With Fraction values (high-precision evaluations) the rounding is checked exactly, so a
  15-decimal reference (sqrt 17 vs 4.123105625617661) is judged beyond float precision.
  """
  places = arith.decimal_places(ref_text)
  pred_places = arith.decimal_places(pred_text)
  if ctx.rounding_places is not None and pred_places is not None:
    if pred_places > ctx.rounding_places and abs(float(pred_approx) - float(ref_approx)) <= (
        0.5 * 10.0**-ctx.rounding_places + 1e-12):
      return Outcome(UNEQUAL, "format_mismatch")  # The rounding instruction was not followed.
    return None
  if places is None or places == 0 or pred_places is not None:
    return None
  if isinstance(pred_approx, Fraction) and isinstance(ref_approx, Fraction):
    if abs(pred_approx - ref_approx) <= Fraction(1, 2 * 10**places):
      return _relaxed()
    return None
  if abs(pred_approx - ref_approx) <= 0.5 * 10.0**-places * (1 + 1e-9):
    return _relaxed()
  return None


def _compare_numbers(pred_text: str, ref_text: str, pred_value: arith.Value,
                     ref_value: arith.Value, pred_scale: Fraction, ref_scale: Fraction,
                     ctx: Context) -> Outcome | None:
  """Exact comparison of numeric answers; None when only sympy can tell."""
  pred_approx = pred_value.approx * float(pred_scale)
  ref_approx = ref_value.approx * float(ref_scale)
  if pred_value.exact is not None and ref_value.exact is not None:
    pred_exact, ref_exact = pred_value.exact * pred_scale, ref_value.exact * ref_scale
    if pred_exact == ref_exact:
      return _EQUAL
    if (_significant_digits(pred_text) >= 12 and arith.decimal_places(pred_text) is not None
        and abs(pred_exact - ref_exact) <= abs(ref_exact) * Fraction(1, 10**12)):
      return _EQUAL  # Float noise: 0.30000000000000004 for 0.3.
    return rounding_outcome(pred_text, ref_text, pred_approx, ref_approx, ctx) or _WRONG
  scale = max(1.0, abs(pred_approx), abs(ref_approx))
  if abs(pred_approx - ref_approx) > 1e-9 * scale:
    return rounding_outcome(pred_text, ref_text, pred_approx, ref_approx, ctx) or _WRONG
  return None  # Close in floating point: needs an exact symbolic check.
