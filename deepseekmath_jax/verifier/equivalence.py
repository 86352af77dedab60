"""Decides whether a predicted answer equals a reference, in relaxed and strict semantics.

Two parsed answer trees (`normalize.Node`) are compared structurally: containers by their kind
(ordered tuples/intervals keep order and brackets, sets and "all solutions" lists are matched as
multisets), scalars by value. Scalar comparison runs cheapest first:

1. canonical string equality;
2. exact rational arithmetic (`arith.py`, `fractions.Fraction`): integers, decimals, fractions,
   mixed numbers, scientific notation, percent, unit conversion. No tolerance makes an
   approximation equal an exact value (0.3333 is not 1/3, 1112122 is not 1112112); the only
   tolerances are a printed double (`arith.is_float_rendering`: the reference's float64, or a
   neighbour, rounded to 15 or more significant digits: 0.3333333333333333 for 1/3) and, in
   relaxed mode, a rounded decimal reference matched by an exact form that rounds to it (sqrt(2)
   vs 1.41),
   unless the question asks for the rounding (then the exact form is task_form_mismatch);
3. a float evaluation that can only *reject* (values far apart);
4. sympy (`symbolic.py`), only when a `symbolic` comparator is supplied: that happens inside the
   worker processes of `pool.py`, under a wall-clock deadline. Without one the outcome is
   UNDECIDED and the caller sends the item to the pool.

Answers that describe a set of reals (relations, intervals, unions, words such as "no
solution") are compared as sets (`relations.py`); times of day and ratios by `clock.py`; labelled
answers (`PQ = 6`, `(a,b) = (4,1)`, `g(t) = ...`) by their label and value; matrices and vectors
entry by entry (`matrices.py`). The question sets the kind where the answer alone cannot
(`Context`, read by `question.py`).

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
from deepseekmath_jax.verifier import matrices
from deepseekmath_jax.verifier import normalize
from deepseekmath_jax.verifier import question as question_lib
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
_TASK_FORM_MISMATCH = Outcome(UNEQUAL, "task_form_mismatch")


def _relaxed(reason: str = "format_mismatch") -> Outcome:
  return Outcome(RELAXED, reason)


# A symbolic comparator: (pred_text, ref_text, pred_scale, ref_scale, context) -> Outcome.
SymbolicFn = Callable[[str, str, Fraction, Fraction, "Context"], Outcome]

_COMMAND_RE = re.compile(r"\\[a-zA-Z]+")

# The question's reading lives in question.py; these names are part of this module's interface.
Context = question_lib.Context
make_context = question_lib.make_context
canonical_segments = question_lib.canonical_segments
_question_context = question_lib.question_context  # The cache (cleared by the benchmark).


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
    pred_region, ref_region = _region(pred, ctx), _region(ref, ctx)
    if pred_region is not None and ref_region is not None:
      if _NEEDS_SOLVER in (pred_region, ref_region):
        return _UNDECIDED  # A polynomial or rational inequality: sympy solves it in a worker.
      if pred_region.form == relations.UNSOLVED and _restates_relation(pred, ctx):
        return _WRONG  # `x^2 < 4` for "Solve $x^2 < 4$": the question, not its solution.
      return relations.compare_regions(pred_region, ref_region,
                                       lambda a, b: compare(a, b, ctx), Outcome)

  if pred.kind == "eq" or ref.kind == "eq":
    return _compare_equations(pred, ref, ctx)
  if pred.kind == "ineq" or ref.kind == "ineq":
    return _compare_inequalities(pred, ref, ctx)
  if pred.kind in ("time", "ratio") or ref.kind in ("time", "ratio"):
    return _compare_times_and_ratios(pred, ref, ctx)

  if pred.kind == "list" or ref.kind == "list":
    outcome = _compare_groups(pred, ref, ctx)
    if outcome is not None:
      return outcome
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
    return matrices.compare_matrices(
        pred, ref, lambda pairs: combine([compare(p, r, ctx) for p, r in pairs]), _relaxed(),
        _WRONG)

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


_NEEDS_SOLVER = "needs solver"


def _region(node: Node, ctx: Context) -> relations.Region | str | None:
  """The node's set of reals; _NEEDS_SOLVER when only the worker's solver can tell it."""
  try:
    return relations.region_of(node, solve=ctx.solve_relation)
  except relations.NeedsSolver:
    return _NEEDS_SOLVER


def _restates_relation(pred: Node, ctx: Context) -> bool:
  """Whether an unsolved relation is one the question states (parsed the same way)."""
  return any(_option_node(segment) == pred for segment in ctx.question_segments)


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


_CHOICE_MISMATCH = Outcome(UNEQUAL, "choice_mismatch")


@functools.lru_cache(maxsize=4096)
def _option_node(text: str) -> Node | None:
  """An option's text, parsed (cached: a GRPO group reads one question's options G times)."""
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


def _option_letter(node: Node, ctx: Context) -> Node:
  """`(b)` as the option letter B when the question lists an option (B); otherwise unchanged."""
  if node.kind == "scalar" and node.brackets == "()" and any(
      letter == node.text.upper() for letter, _ in ctx.options):
    return Node("choice", text=node.text.upper())
  return node


def _contradicts_letter(node: Node, ref: Node, ctx: Context) -> bool:
  """`(B) 14` where the question's option (B) is 12: a letter and a text that name two options
  (or no option) commit to no single choice. Without the question's options, the text is checked
  against the text of a reference written the same way (`\\textbf{(B) } 12`)."""
  if node.kind != "choice" or not node.items:
    return False
  written = node.items[0]
  options = dict(ctx.options)
  if node.text not in options:
    if ref.kind == "choice" and ref.items and ref.text == node.text:
      try:
        outcome = compare(written, ref.items[0], dataclasses.replace(ctx, options=()))
      except RecursionError:
        return False
      return outcome.status == UNEQUAL
    return False
  if _matches_option(written, options[node.text], ctx):
    return False
  if any(_matches_option(written, text, ctx) for letter, text in ctx.options
         if letter != node.text):
    return True  # The text of another option.
  own = _option_node(options[node.text])
  return own is not None and own.kind != "choice"  # The text of no option.


def _compare_choices(pred: Node, ref: Node, ctx: Context) -> Outcome:
  """Option letters; with the question's options, a letter against its option's text (relaxed)."""
  if _contradicts_letter(pred, ref, ctx):
    return _CHOICE_MISMATCH
  pred_letter, ref_letter = _option_letter(pred, ctx), _option_letter(ref, ctx)
  if (pred_letter is not pred or ref_letter is not ref) and pred_letter.kind == ref_letter.kind:
    # A lowercase `(b)` for the option (B): another form of the letter.
    return _relaxed() if pred_letter.text == ref_letter.text else _CHOICE_MISMATCH
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


def _as_groups(node: Node, ctx: Context) -> Node | None:
  """`p=5, q=2; p=7, q=2` as the set of tuples {(5, 2), (7, 2)} (labels.grouped_values)."""
  groups = labels.grouped_values(node.items, ctx.tuple_names) if node.kind == "list" else None
  if groups is None:
    return None
  return Node("set", items=tuple(Node("seq", items=group, brackets="()") for group in groups))


def _compare_groups(pred: Node, ref: Node, ctx: Context) -> Outcome | None:
  """Groups of labelled answers against tuples (any order of groups): equal in relaxed mode,
  another form in strict. None when neither side is such a group list."""
  pred_groups, ref_groups = _as_groups(pred, ctx), _as_groups(ref, ctx)
  if pred_groups is None and ref_groups is None:
    return None
  outcome = compare(pred_groups or pred, ref_groups or ref, ctx)
  if outcome.status == EQUAL and (pred_groups is None or ref_groups is None):
    return _relaxed()
  return outcome


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


def _is_computation(node: Node) -> bool:
  """A closed expression (no free variable): `5 \\times 6`, `\\frac{1}{2}\\$`, `\\sqrt{2}`."""
  return node.kind == "scalar" and not node.base and not has_free_variable(node.text)


def _chain_result(node: Node) -> tuple[tuple[Node, ...], Node] | None:
  """(names, result) of an equation read as a named value or a computation.

  `x = 5` and `x = 2 + 3 = 5` (a name first): ((x,), 5), whatever stands between, since all
  members of a chain are equal. `5 \\times 6 \\times 4 = 120` (computation, then its result):
  ((), 120). `1 = \\zzz = x = 0`: ((x,), 0), the earlier members being names or closed
  expressions. None for a relation between expressions (`x^2 = 4`, `2x + 3y = 6`, `3 = x`,
  `7 = 11a + c`).
  """
  if node.kind != "eq":
    return None
  head, result = node.items[:-1], node.items[-1]
  names = tuple(member for member in head if normalize.is_label(member))
  if normalize.is_label(head[0]):
    return names, result
  if normalize.is_label(result) or not all(
      normalize.is_label(member) or _is_computation(member) for member in head):
    return None
  if not names and not _is_computation(result):
    return None  # `7 = 11a + c` is an equation, not a computation and its result.
  return names, result


def _matching_names(pred_names: tuple[Node, ...], ref_names: tuple[Node, ...]) -> tuple[Node, Node]:
  """The names two chains are compared by: a pair naming the same quantity, else the first."""
  for pred_name in pred_names:
    for ref_name in ref_names:
      if labels.label_key(pred_name) == labels.label_key(ref_name):
        return pred_name, ref_name
  return pred_names[0], ref_names[0]


def _compare_named_values(pred_name: Node, pred_value: Node, ref_name: Node, ref_value: Node,
                          ctx: Context) -> Outcome:
  """`y = 2` vs `x = 2` names another quantity; `g(s) = s^2` vs `g(t) = t^2` renames one."""
  relation, rename = labels.compare_labels(pred_name, ref_name)
  if relation == "different":
    return Outcome(UNEQUAL, "variable_mismatch")
  if rename and labels.distinct_in_question(rename[0], rename[1], ctx.question_symbols):
    return Outcome(UNEQUAL, "variable_mismatch")
  pred_value = labels.rename(pred_value, *rename) if rename else pred_value
  outcome = compare(pred_value, ref_value, ctx)
  if relation == "same" or outcome.status not in (EQUAL, RELAXED):
    return outcome
  return Outcome(RELAXED, "variable_mismatch" if rename else "format_mismatch")


def _compare_equations(pred: Node, ref: Node, ctx: Context) -> Outcome:
  pred_chain, ref_chain = _chain_result(pred), _chain_result(ref)
  if pred.kind == "eq" and ref.kind == "eq":
    if pred_chain is not None and ref_chain is not None:
      if pred_chain[0] and ref_chain[0]:
        pred_name, ref_name = _matching_names(pred_chain[0], ref_chain[0])
        return _compare_named_values(pred_name, pred_chain[1], ref_name, ref_chain[1], ctx)
      if not pred_chain[0]:  # `2 + 3 = 5` against `x = 5`: its result against the relation.
        return compare(pred_chain[1], ref, ctx)
      return compare(pred, ref_chain[1], ctx)
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
    # `x = 5` (reference) against `5`: equal in relaxed mode only. A reference that is a
    # computation and its result (`2 \\cdot 3 = 6`) is its result.
    if ref_chain is None:
      return _WRONG
    outcome = compare(pred, ref_chain[1], ctx)
    return _relaxed() if outcome.status == EQUAL and ref_chain[0] else outcome
  # `x = 5` or `2 + 3 = 5` (prediction) against `5`: the last side, when earlier sides are a
  # name or plain arithmetic (so `x^2 = 4` is not read as the answer 4).
  # `a + b = 5` when the question asks for $a+b$: the asked expression names the answer.
  asked = [side.kind == "scalar" and has_free_variable(side.text)
           and side.text in canonical_segments(ctx.question_segments) for side in pred.items[:-1]]
  if pred_chain is not None or (any(asked) and all(
      is_asked or normalize.is_label(side) or _is_numeric(side)
      for is_asked, side in zip(asked, pred.items[:-1]))):
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
  if ref.percent and ctx.asks_percent:
    # "What percent ...?": a bare number is the percent asked for (25 for 25%), never the
    # fraction (0.25 is 0.25%).
    return [(Fraction(1), Fraction(1), RELAXED)]
  if ref.percent:  # 25% vs 25 (bare number: relaxed) or vs 0.25 (the value: relaxed).
    return [(Fraction(1), Fraction(1), RELAXED), (Fraction(1), Fraction(1, 100), RELAXED)]
  if ctx.percent_question:  # The question asks for a percent: a bare 25 means 25%.
    return [(Fraction(1), Fraction(1), EQUAL)]
  if ctx.has_question:  # A question not about percent: 25% is the value 0.25.
    return [(Fraction(1, 100), Fraction(1), RELAXED)]
  # 25% against a bare 25 with no question to say which: judged as the reverse direction (the
  # response is about percent), relaxed only; 25% against 0.25 is the same value.
  return [(Fraction(1), Fraction(1), RELAXED), (Fraction(1, 100), Fraction(1), RELAXED)]


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
    form = question_lib.prescribed_form_violation(pred.text, ref.text, ctx)
    if form is not None:  # The form the task prescribes (question.py).
      return Outcome(UNEQUAL, form) if form == "task_form_mismatch" else _relaxed(form)
    if outcome.status == EQUAL and _unevaluated(pred.text) and not _unevaluated(ref.text):
      return _relaxed()  # `2+3` for 5: the value, not yet the answer (strict).
  return outcome


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
  """Relaxed acceptance of an exact form against a rounded decimal reference (sqrt 2 vs 1.41);
  when the question asks for the rounding, an exact form or more places is task_form_mismatch.

  With Fraction values (high-precision evaluations) the rounding is checked exactly, so a
  15-decimal reference (sqrt 17 vs 4.123105625617661) is judged beyond float precision.
  """
  places = arith.decimal_places(ref_text)
  pred_places = arith.decimal_places(pred_text)
  if ctx.rounding_places is not None:
    # The question asks for a rounding (DESIGN.md: it must be followed, in both modes): more
    # places than asked (3.1416 for "nearest hundredth") or an exact form (2\sqrt2, \frac{17}{6},
    # \pi) of the value the reference rounds is the right value in a form the task rules out.
    half_unit = 0.5 * 10.0**-ctx.rounding_places
    close = abs(float(pred_approx) - float(ref_approx)) <= half_unit + 1e-12
    if close and (pred_places is None or pred_places > ctx.rounding_places):
      return _TASK_FORM_MISMATCH
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
    if arith.is_float_rendering(pred_text, pred_exact, ref_exact):
      return _EQUAL  # A printed double: 0.3333333333333333 for 1/3, 0.30000000000000004 for 0.3.
    return rounding_outcome(pred_text, ref_text, pred_approx, ref_approx, ctx) or _WRONG
  scale = max(1.0, abs(pred_approx), abs(ref_approx))
  if abs(pred_approx - ref_approx) > 1e-9 * scale:
    return rounding_outcome(pred_text, ref_text, pred_approx, ref_approx, ctx) or _WRONG
  return None  # Close in floating point: needs an exact symbolic check.
