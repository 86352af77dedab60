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

Each comparison yields an `Outcome`: EQUAL (also strict-equal), RELAXED (equal under relaxed
rules only; `reason` says why strict refuses: format_mismatch or unit_mismatch), UNEQUAL (with the
reason: wrong_value, unit_mismatch, format_mismatch, parse_error) or UNDECIDED.
"""

from __future__ import annotations

import dataclasses
import functools
import re
from fractions import Fraction
from typing import Callable

from deepseekmath_jax.verifier import arith
from deepseekmath_jax.verifier import normalize
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
                           r"express|write)\w*", re.IGNORECASE)
_FACTOR_RE = re.compile(r"\bfactor", re.IGNORECASE)
_MATH_SEGMENT_RE = re.compile(r"\$([^$]{1,300})\$")
_OPTION_RE = re.compile(r"\(([A-E])\)\s*([^()\n]{1,80}?)(?=\s*(?:,|;|\bor\b)?\s*\([A-E]\)|\s*$|\n)")
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
  restated_inputs: frozenset[str] = frozenset()
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
  restated = frozenset()
  if _TRANSFORM_RE.search(question):
    segments = set()
    for segment in _MATH_SEGMENT_RE.findall(question):
      for side in segment.split("="):
        text = normalize.canonical(normalize.clean(side))
        if text:
          segments.add(text)
    restated = frozenset(segments)
  options = tuple((letter, normalize.canonical(normalize.clean(text)).lower())
                  for letter, text in _OPTION_RE.findall(question))
  return Context(
      strict=strict,
      percent_question=bool(re.search(r"percent|\\%|%", question, re.IGNORECASE)),
      rounding_places=rounding,
      ordered=bool(_ORDER_RE.search(question)),
      factor_task=bool(_FACTOR_RE.search(question)),
      restated_inputs=restated,
      question_units=frozenset(units_lib.mentioned_units(question)),
      options=options)


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
  if (ctx.restated_inputs and pred.kind == "scalar" and pred.text in ctx.restated_inputs
      and pred.text != ref.text):
    return _WRONG

  if pred.kind == "eq" or ref.kind == "eq":
    return _compare_equations(pred, ref, ctx)
  if pred.kind == "ineq" or ref.kind == "ineq":
    return _compare_inequalities(pred, ref, ctx)

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
    return _compare_matrices(pred, ref, ctx)

  if pred.kind == "choice" or ref.kind == "choice":
    return _compare_choices(pred, ref, ctx)
  if pred.kind == "text" or ref.kind == "text":
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


def _compare_choices(pred: Node, ref: Node, ctx: Context) -> Outcome:
  if pred.kind == ref.kind == "choice":
    return _EQUAL if pred.text == ref.text else _WRONG
  options = dict(ctx.options)
  if ref.kind == "choice" and ref.text in options:
    pred_text = pred.text.lower()
    return _relaxed() if pred_text == options[ref.text] else _WRONG
  if pred.kind == "choice" and pred.text in options:
    return _relaxed() if options[pred.text] == ref.text.lower() else _WRONG
  return _WRONG


def _is_numeric(node: Node) -> bool:
  try:
    return node.kind == "scalar" and arith.try_evaluate(node.text) is not None
  except arith.TooLarge:
    return False


def _compare_equations(pred: Node, ref: Node, ctx: Context) -> Outcome:
  if pred.kind == "eq" and ref.kind == "eq":
    if len(pred.items) == len(ref.items):
      outcome = combine([compare(p, r, ctx) for p, r in zip(pred.items, ref.items)])
      if outcome.status != UNEQUAL:
        return outcome
    if normalize.is_simple_variable(pred.items[0]) and normalize.is_simple_variable(ref.items[0]):
      outcome = compare(pred.items[-1], ref.items[-1], ctx)
      if outcome.status != UNEQUAL:
        if pred.items[0].text != ref.items[0].text:
          return _relaxed() if outcome.status == EQUAL else outcome
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
    if len(ref.items) == 2 and normalize.is_simple_variable(ref.items[0]):
      outcome = compare(pred, ref.items[1], ctx)
      return _relaxed() if outcome.status == EQUAL else outcome
    return _WRONG
  # `x = 5` or `2 + 3 = 5` (prediction) against `5`: the last side, when earlier sides are a
  # name or plain arithmetic (so `x^2 = 4` is not read as the answer 4).
  if all(normalize.is_simple_variable(side) or _is_numeric(side) for side in pred.items[:-1]):
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


def rounding_outcome(pred_text: str, ref_text: str, pred_approx: float, ref_approx: float,
                     ctx: Context) -> Outcome | None:
  """Relaxed acceptance of an exact form against a rounded decimal reference (sqrt 2 vs 1.41)."""
  places = arith.decimal_places(ref_text)
  pred_places = arith.decimal_places(pred_text)
  if ctx.rounding_places is not None and pred_places is not None:
    if pred_places > ctx.rounding_places and abs(pred_approx - ref_approx) <= (
        0.5 * 10.0**-ctx.rounding_places + 1e-12):
      return Outcome(UNEQUAL, "format_mismatch")  # The rounding instruction was not followed.
    return None
  if places is None or places == 0 or pred_places is not None:
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
