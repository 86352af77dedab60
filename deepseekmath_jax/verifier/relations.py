r"""Sets of real numbers in any notation, reduced to one canonical form: a sorted union of intervals.

An answer that describes a set of reals can be written as a relation (`t \geq 7`, `-t > -4`,
`|t| > 2`, `2 \le |w| \le 5`, `x \neq 3`, `t < -2 \text{ or } t > 2`), in interval notation
(`[7, \infty)`, `(-\infty,-2)\cup(2,\infty)`, `\mathbb{R}\setminus\{3\}`), as a membership
(`x \in [-2, 7]`, `x \notin \{1, 2\}`: set notation with a variable), or in words ("no
solution", "all real numbers"). `region_of` turns each into a `Region`: disjoint, sorted pieces
with their endpoints as answer nodes, so that two descriptions of one set compare equal whatever
the notation, and `compare_regions` decides:

- same set, same form (solved relation / unsolved relation / interval notation / words): equal
  in both modes;
- same set, another form: relaxed only (`format_mismatch` in strict);
- relations whose variables differ (`y < 2` vs `x < 2`): `variable_mismatch`, in both modes;
- another set with the same boundary points (`x < 3` vs `x \le 3`, `x > 3` vs `x < 3`):
  `relation_mismatch`; another set otherwise: `wrong_value`.

Linear relations are solved exactly (`fractions.Fraction`, through `arith`): the side holding the
variable is evaluated at a few points to read its slope and intercept. A relation that is not
linear (checked at five points) but has polynomial or rational sides in one variable, within cheap
caps (MAX_SOLVER_CHARS, integer powers up to MAX_SOLVER_DEGREE, no long numbers), is solved by the
caller's `solve` (`symbolic.solve_relation`: sympy, inside the workers, under the deadline); with
no solver `region_of` raises NeedsSolver so that the caller defers the item to a worker. Such a
relation (`x^2 < 4`) is the UNSOLVED form: strict mode tells it from a solved one (`-2 < x < 2`).
Outside the caps the answer is left to the structural comparison. Nothing here calls sympy;
endpoints that need algebra (`\sqrt{2}` vs `\sqrt{8}/2`) are compared by the caller's
comparator, which may send them to a worker.
"""

from __future__ import annotations

import dataclasses
import math
import re
from fractions import Fraction
from typing import Any, Callable

from deepseekmath_jax.verifier import arith
from deepseekmath_jax.verifier import normalize
from deepseekmath_jax.verifier.normalize import Node

RELATION = "relation"
UNSOLVED = "unsolved relation"  # a polynomial/rational relation, solved by `solve` (sympy)
INTERVALS = "intervals"
WORDS = "words"

# A solver of one non-linear relation `lhs op rhs` in `variable` (symbolic.solve_relation, inside
# the workers): its pieces, or None when it cannot be solved exactly within the caps.
Solver = Callable[[str, str, str, str], "tuple[Piece, ...] | None"]

_EMPTY_WORDS_RE = re.compile(
    r"^(?:there (?:are|is) )?(?:no (?:real )?(?:solutions?|roots?|values?|numbers?|such \w+)"
    r"(?: exists?)?|no real numbers?|none|empty set|the empty set|empty|no solution exists|"
    r"nothing|no x|no value of \w)$")
_REAL_WORDS_RE = re.compile(
    r"^(?:(?:all|any|every) (?:real )?(?:numbers?|values?|x|reals?)(?: of \w)?|(?:the )?(?:set of )?"
    r"(?:all )?real numbers|(?:all )?reals|every real|all real values|all real x|all x|"
    r"infinitely many solutions? (?:all real numbers)?)$")
_REALS = frozenset({"\\mathbb{R}", "\\mathbbR", "\\mathbb R", "\\R", "\\Reals", "\\mathbb{R}^1"})
_INFINITE = {"\\infty": 1, "+\\infty": 1, "-\\infty": -1, "\\infin": 1, "-\\infin": -1}
_FREE_LETTER_RE = re.compile(r"(?<![\\a-zA-Z])([a-zA-Z])(?![a-zA-Z])")
_MAX_PIECES = 32


@dataclasses.dataclass(frozen=True)
class Bound:
  """An interval endpoint: `node` (None for an infinity), its value when rational, a float."""
  node: Node | None
  exact: Fraction | None
  approx: float


@dataclasses.dataclass(frozen=True)
class Piece:
  low: Bound
  high: Bound
  low_closed: bool
  high_closed: bool


@dataclasses.dataclass(frozen=True)
class Region:
  pieces: tuple[Piece, ...]
  form: str            # RELATION, INTERVALS or WORDS: what strict mode compares
  variable: str = ""   # the relation's variable ("" for interval notation and words)


_MINUS_INFINITY = Bound(None, None, -math.inf)
_PLUS_INFINITY = Bound(None, None, math.inf)
_REAL_LINE = (Piece(_MINUS_INFINITY, _PLUS_INFINITY, False, False),)


class _NotRegion(ValueError):
  pass


class NeedsSolver(Exception):
  """A non-linear relation within the solver's caps, met where no solver is supplied: only a
  worker (sympy, under a deadline) can tell its set."""


# Cheap caps checked before any solving, so that hostile input never reaches sympy: short sides
# made of numbers, one variable, + - * / ^, \frac, |...| and brackets, with small integer powers
# (symbolic.solve_relation then checks degree <= 4 and coefficient sizes exactly).
MAX_SOLVER_CHARS = 120
MAX_SOLVER_DEGREE = 4
_SOLVER_TOKEN_RE = re.compile(
    r"\\(?:[dt]?frac|cdot|times|left|right)|[0-9.+\-*/^(){}| ]|[a-zA-Z]")
_POWER_RE = re.compile(r"\^\s*(?:\{\s*(\d{1,3})\s*\}|(\d))")
_LONG_NUMBER_RE = re.compile(r"\d{13,}")


def bound_of_fraction(value: Fraction) -> Bound:
  text = str(value.numerator) if value.denominator == 1 else (
      f"\\frac{{{value.numerator}}}{{{value.denominator}}}")
  if value < 0 and value.denominator != 1:
    text = f"-\\frac{{{-value.numerator}}}{{{value.denominator}}}"
  return Bound(Node("scalar", text=text), value, float(value))


def _bound(node: Node) -> Bound:
  if node.kind != "scalar" or node.unit or node.percent or node.base:
    raise _NotRegion("endpoint is not a number")
  sign = _INFINITE.get(node.text.replace(" ", ""))
  if sign is not None:
    return _PLUS_INFINITY if sign > 0 else _MINUS_INFINITY
  try:
    value = arith.try_evaluate(node.text)
  except arith.TooLarge:
    value = None
  if value is None or math.isnan(value.approx):
    raise _NotRegion("endpoint is not numeric")
  return Bound(node, value.exact, value.approx)


def _negate(bound: Bound) -> Bound:
  if bound.node is None:
    return _PLUS_INFINITY if bound.approx < 0 else _MINUS_INFINITY
  if bound.exact is not None:
    return bound_of_fraction(-bound.exact)
  return Bound(Node("scalar", text=f"-({bound.node.text})"), None, -bound.approx)


def _free_letters(text: str) -> set[str]:
  return set(_FREE_LETTER_RE.findall(re.sub(r"\\[a-zA-Z]+", " ", text)))


def _linear(text: str, variable: str) -> tuple[Fraction, Fraction] | None:
  """(slope, intercept) of a side that is linear in `variable`, from exact evaluations."""
  pattern = re.compile(rf"(?<![\\a-zA-Z]){re.escape(variable)}(?![a-zA-Z])")
  values = {}
  for point in (Fraction(0), Fraction(1), Fraction(2), Fraction(-3), Fraction(7, 2)):
    substituted = pattern.sub(f"({point.numerator}/{point.denominator})", text)
    try:
      value = arith.try_evaluate(substituted)
    except arith.TooLarge:
      return None
    if value is None or value.exact is None:
      return None
    values[point] = value.exact
  slope = values[Fraction(1)] - values[Fraction(0)]
  intercept = values[Fraction(0)]
  if any(values[p] != slope * p + intercept for p in values):
    return None
  return slope, intercept


def _half_line(op: str, bound: Bound) -> tuple[Piece, ...]:
  """The set {v : v op bound}."""
  if op in ("<", "<="):
    return (Piece(_MINUS_INFINITY, bound, False, op == "<="),)
  if op in (">", ">="):
    return (Piece(bound, _PLUS_INFINITY, op == ">=", False),)
  if op == "!=":
    return (Piece(_MINUS_INFINITY, bound, False, False), Piece(bound, _PLUS_INFINITY, False, False))
  raise _NotRegion(f"operator {op}")


_FLIP = {"<": ">", "<=": ">=", ">": "<", ">=": "<=", "!=": "!=", "=": "="}


def _abs_inner(text: str) -> str | None:
  match = re.fullmatch(r"\|(.+)\||\\(?:lvert|vert)(.+)\\(?:rvert|vert)", text.strip())
  return (match.group(1) or match.group(2)).strip() if match else None


def _solve(side: Node, op: str, other: Node, variable: str) -> tuple[Piece, ...]:
  """{v : side(v) op other} for a side linear in v, or |linear|; `other` is a number."""
  if other.kind != "scalar":
    raise _NotRegion("bound is not a scalar")
  bound = _bound(other)
  inner = _abs_inner(side.text)
  if inner is not None:
    if bound.node is None:
      raise _NotRegion("infinite bound on an absolute value")
    if op in ("<", "<="):  # |u| < c  <=>  -c < u < c
      return intersect(_solve_text(inner, _FLIP[op], _negate(bound), variable),
                       _solve_text(inner, op, bound, variable))
    if op in (">", ">="):  # |u| > c  <=>  u < -c or u > c
      return union(_solve_text(inner, _FLIP[op], _negate(bound), variable)
                   + _solve_text(inner, op, bound, variable))
    raise _NotRegion("absolute value with another operator")
  return _solve_text(side.text, op, bound, variable)


def _solve_text(text: str, op: str, bound: Bound, variable: str) -> tuple[Piece, ...]:
  if text.replace(" ", "") == variable:
    if op == "=":
      return (Piece(bound, bound, True, True),)
    return _half_line(op, bound)
  if bound.exact is None:
    raise _NotRegion("only a bare variable may face an irrational bound")
  linear = _linear(text, variable)
  if linear is None or linear[0] == 0:
    raise _NotRegion("not linear in the variable")
  slope, intercept = linear
  root = bound_of_fraction((bound.exact - intercept) / slope)
  op = op if slope > 0 else _FLIP[op]
  if op == "=":
    return (Piece(root, root, True, True),)
  return _half_line(op, root)


def _within_solver_caps(text: str, variable: str) -> bool:
  """Whether a side may go to the solver: short, only numbers, the variable, arithmetic,
  fractions, absolute values and integer powers up to MAX_SOLVER_DEGREE."""
  if len(text) > MAX_SOLVER_CHARS or _LONG_NUMBER_RE.search(text):
    return False
  if _SOLVER_TOKEN_RE.sub("", text):
    return False  # Another command or symbol (\sqrt, \sin, \pi, a comma).
  if set(re.findall(r"[a-zA-Z]", re.sub(r"\\[a-zA-Z]+", " ", text))) - {variable}:
    return False
  powers = _POWER_RE.findall(text)
  return len(powers) == text.count("^") and all(
      int(braced or bare) <= MAX_SOLVER_DEGREE for braced, bare in powers)


def _solve_nonlinear(left: Node, op: str, right: Node, variable: str,
                     solve: Solver | None) -> tuple[Piece, ...]:
  r"""{v : left(v) op right(v)} for polynomial or rational sides (`x^2 - 5x + 6 \ge 0`,
  `\frac{x-1}{x+2} > 0`, `|x^2 - 1| < 3`, `x^2 > x`), by the solver."""
  if op not in ("<", "<=", ">", ">=", "!="):
    raise _NotRegion("only inequalities are solved")
  for side in (left, right):
    if side.kind != "scalar" or side.unit or side.percent or side.base:
      raise _NotRegion("side is not an expression")
    if not _within_solver_caps(side.text, variable):
      raise _NotRegion("side outside the solver's caps")
  if solve is None:
    raise NeedsSolver(f"{left.text} {op} {right.text}")
  pieces = solve(left.text, op, right.text, variable)
  if pieces is None:
    raise _NotRegion("the solver gave no exact set")
  return union(pieces)


def _variable_of(node: Node) -> str:
  letters = set()
  for item in node.items:
    if item.kind == "scalar" and _bound_or_none(item) is None:
      letters |= _free_letters(item.text)
  if len(letters) != 1:
    raise _NotRegion("a relation needs exactly one variable")
  return letters.pop()


def _bound_or_none(node: Node) -> Bound | None:
  try:
    return _bound(node)
  except _NotRegion:
    return None


def _relation_pieces(node: Node, solve: Solver | None) -> tuple[tuple[Piece, ...], str, str]:
  """Pieces of an 'ineq' node (one or two operators) or an 'eq' naming a variable, its variable,
  and its form: RELATION when every part is linear, UNSOLVED when one needed the solver."""
  if node.kind == "eq":
    if len(node.items) != 2 or not normalize.is_simple_variable(node.items[0]):
      raise _NotRegion("not a point")
    variable = node.items[0].text
    bound = _bound(node.items[1])
    if bound.node is None:
      raise _NotRegion("infinite point")
    return (Piece(bound, bound, True, True),), variable, RELATION
  variable = _variable_of(node)
  ops = node.brackets.split()
  items = node.items
  pieces = None
  form = RELATION
  for index, op in enumerate(ops):
    left, right = items[index], items[index + 1]
    try:
      if _bound_or_none(left) is None and _bound_or_none(right) is not None:
        part = _solve(left, op, right, variable)
      elif _bound_or_none(right) is None and _bound_or_none(left) is not None:
        part = _solve(right, _FLIP[op], left, variable)
      else:
        raise _NotRegion("each relation needs one side free of the variable")
    except _NotRegion:
      part, form = _solve_nonlinear(left, op, right, variable, solve), UNSOLVED
    pieces = part if pieces is None else intersect(pieces, part)
  return union(pieces or ()), variable, form


_EXCEPT_RE = re.compile(r"^(?:all |any )?real numbers? (?:x )?(?:except|but|other than|excluding) "
                       r"(?:for )?(?:x ?= ?)?(.+)$")


def _words(node: Node) -> tuple[Piece, ...] | None:
  if node.kind == "scalar" and "real" in node.text:  # "all real numbers except 3" (a digit)
    text = node.text.lower().replace("\\text", "").replace("{", " ").replace("}", " ")
  elif node.kind == "text":
    text = node.text
  else:
    return None
  words = re.sub(r"\s+", " ", text.replace(",", " , ")).strip()
  if _EMPTY_WORDS_RE.match(words.replace(" ,", "")):
    return ()
  if _REAL_WORDS_RE.match(words.replace(" ,", "")):
    return _REAL_LINE
  excluded = _EXCEPT_RE.match(words)
  if excluded:  # "all real numbers except 3 and -3"
    points = []
    for token in re.split(r"\s*(?:,|\band\b|\bor\b)\s*", excluded.group(1)):
      if token.strip():
        bound = _bound_or_none(Node("scalar", text=token.strip()))
        if bound is None or bound.node is None:
          return None
        points.append(Piece(bound, bound, True, True))
    return difference(_REAL_LINE, union(tuple(points)))
  return None


def is_set_like(node: Node) -> bool:
  """Whether the node can only be read as a set of reals (so region comparison applies)."""
  if node.kind in ("ineq", "union", "diff"):
    return True
  if node.kind == "text":
    return _words(node) is not None
  if node.kind == "scalar":
    return node.text in _REALS or node.text == "\\emptyset" or _words(node) is not None
  if node.kind == "set":
    return not node.items
  if node.kind == "seq":
    return len(node.items) == 2 and any(
        item.kind == "scalar" and item.text.replace(" ", "") in _INFINITE for item in node.items)
  if node.kind == "list":
    return any(item.kind == "ineq" for item in node.items)
  return False


def region_of(node: Node, depth: int = 0, solve: Solver | None = None) -> Region | None:
  """The set of reals a node describes, or None when it describes none (or not readably).
  Raises NeedsSolver for a non-linear relation within the caps when `solve` is None."""
  try:
    region = _region(node, depth, solve)
  except (_NotRegion, arith.TooLarge, ZeroDivisionError, RecursionError):
    return None
  if node.variable:  # `x \in [-2, 7]`: set notation, about the variable x.
    return dataclasses.replace(region, variable=node.variable)
  return region


def _region(node: Node, depth: int, solve: Solver | None) -> Region:
  if depth > 4:
    raise _NotRegion("too deep")
  words = _words(node)
  if words is not None:
    return Region(words, WORDS)
  if node.kind == "scalar" and node.text in _REALS:
    return Region(_REAL_LINE, INTERVALS)
  if (node.kind == "scalar" and node.text == "\\emptyset") or (node.kind == "set" and not node.items):
    return Region((), INTERVALS)
  if node.kind == "set":  # A finite set: points.
    return Region(union(tuple(Piece(b, b, True, True) for b in map(_bound, node.items))),
                  INTERVALS)
  if node.kind == "seq":
    if len(node.items) != 2 or node.brackets[:1] not in "([" or node.brackets[1:] not in ")]":
      raise _NotRegion("not an interval")
    low, high = _bound(node.items[0]), _bound(node.items[1])
    if low.approx > high.approx:
      raise _NotRegion("empty interval written backwards")
    return Region(union((Piece(low, high, node.brackets[0] == "[" and low.node is not None,
                               node.brackets[1] == "]" and high.node is not None),)), INTERVALS)
  if node.kind in ("ineq", "eq"):
    pieces, variable, form = _relation_pieces(node, solve)
    return Region(pieces, form, variable)
  if node.kind in ("union", "list"):
    regions = [_region(item, depth + 1, solve) for item in node.items]
    variables = {r.variable for r in regions if r.variable}
    if len(variables) > 1:
      raise _NotRegion("several variables")
    forms = {r.form for r in regions}
    if forms == {RELATION, UNSOLVED}:
      forms = {UNSOLVED}
    form = forms.pop() if len(forms) == 1 else INTERVALS
    if node.kind == "list" and (node.text == "and" or (node.text != "or" and _overlapping(regions))):
      # `x > 2 and x < 5`; `x > 0, x \neq 1`: a list of solutions never overlaps, so a
      # comma list of overlapping relations states conditions that all hold.
      pieces = regions[0].pieces
      for region in regions[1:]:
        pieces = intersect(pieces, region.pieces)
    else:
      pieces = union(tuple(p for r in regions for p in r.pieces))
    return Region(pieces, form, variables.pop() if variables else "")
  if node.kind == "diff" and len(node.items) == 2:
    left = _region(node.items[0], depth + 1, solve)
    right = _region(node.items[1], depth + 1, solve)
    return Region(difference(left.pieces, right.pieces), INTERVALS)
  raise _NotRegion(f"not a set: {node.kind}")


def _overlapping(regions: list[Region]) -> bool:
  """Whether some two of the regions share a point (a list of relations joined by commas)."""
  return any(intersect(a.pieces, b.pieces) for i, a in enumerate(regions) for b in regions[i + 1:])


def _same_point(a: Bound, b: Bound) -> bool:
  if a.node is None or b.node is None:
    return a.approx == b.approx
  if a.exact is not None and b.exact is not None:
    return a.exact == b.exact
  return abs(a.approx - b.approx) <= 1e-12 * max(1.0, abs(a.approx))


def _before(a: Bound, b: Bound) -> bool:
  return not _same_point(a, b) and a.approx < b.approx


def union(pieces: tuple[Piece, ...]) -> tuple[Piece, ...]:
  """Sorted, merged pieces (touching pieces merge when the shared point is covered)."""
  if len(pieces) > _MAX_PIECES:
    raise _NotRegion("too many pieces")
  ordered = sorted(pieces, key=lambda p: (p.low.approx, not p.low_closed))
  merged: list[Piece] = []
  for piece in ordered:
    if merged:
      last = merged[-1]
      overlaps = _before(piece.low, last.high) or (
          _same_point(piece.low, last.high) and (piece.low_closed or last.high_closed))
      if overlaps:
        if _before(last.high, piece.high):
          high, high_closed = piece.high, piece.high_closed
        elif _same_point(last.high, piece.high):
          high, high_closed = last.high, last.high_closed or piece.high_closed
        else:
          high, high_closed = last.high, last.high_closed
        merged[-1] = Piece(last.low, high, last.low_closed, high_closed)
        continue
    merged.append(piece)
  return tuple(merged)


def intersect(a: tuple[Piece, ...], b: tuple[Piece, ...]) -> tuple[Piece, ...]:
  out = []
  for p in a:
    for q in b:
      if _before(p.low, q.low) or (_same_point(p.low, q.low) and p.low_closed and not q.low_closed):
        low, low_closed = q.low, q.low_closed
      else:
        low, low_closed = p.low, p.low_closed
      if _before(q.high, p.high) or (_same_point(p.high, q.high) and p.high_closed
                                     and not q.high_closed):
        high, high_closed = q.high, q.high_closed
      else:
        high, high_closed = p.high, p.high_closed
      if _before(low, high) or (_same_point(low, high) and low_closed and high_closed):
        out.append(Piece(low, high, low_closed, high_closed))
  return union(tuple(out))


def difference(a: tuple[Piece, ...], b: tuple[Piece, ...]) -> tuple[Piece, ...]:
  """a minus b, through the complement of b."""
  complement = _REAL_LINE
  for piece in b:
    outside = []
    if piece.low.node is not None:
      outside.append(Piece(_MINUS_INFINITY, piece.low, False, not piece.low_closed))
    if piece.high.node is not None:
      outside.append(Piece(piece.high, _PLUS_INFINITY, not piece.high_closed, False))
    complement = intersect(complement, union(tuple(outside)))
  return intersect(a, complement)


def _boundary(pieces: tuple[Piece, ...]) -> list[Bound]:
  points = [b for p in pieces for b in (p.low, p.high) if b.node is not None]
  unique: list[Bound] = []
  for point in sorted(points, key=lambda b: b.approx):
    if not unique or not _same_point(unique[-1], point):
      unique.append(point)
  return unique


def compare_regions(pred: Region, ref: Region, compare_nodes: Callable[[Node, Node], Any],
                    outcome_of: Callable[[str, str], Any]) -> Any:
  """Compares two regions. `compare_nodes(pred, ref)` is the caller's comparison of two
  endpoints (equivalence.compare, which may defer to sympy); `outcome_of(status, reason)` builds
  the caller's Outcome, and endpoint outcomes are returned as they are."""
  if pred.variable and ref.variable and pred.variable != ref.variable:
    return outcome_of("unequal", "variable_mismatch")
  same_shape = len(pred.pieces) == len(ref.pieces) and all(
      p.low_closed == r.low_closed and p.high_closed == r.high_closed
      and (p.low.node is None) == (r.low.node is None) and (p.high.node is None) == (r.high.node is None)
      for p, r in zip(pred.pieces, ref.pieces))
  pairs = [(p.low, r.low) for p, r in zip(pred.pieces, ref.pieces)] + [
      (p.high, r.high) for p, r in zip(pred.pieces, ref.pieces)]
  if same_shape:
    statuses = []
    for a, b in pairs:
      if a.node is None:
        continue
      outcome = compare_nodes(a.node, b.node)
      statuses.append(outcome)
    for outcome in statuses:
      if outcome.status == "unequal":
        break
    else:
      if any(o.status == "undecided" for o in statuses):
        return outcome_of("undecided", "")
      relaxed = [o for o in statuses if o.status == "relaxed"]
      if relaxed:
        return relaxed[0]
      if pred.form != ref.form:
        return outcome_of("relaxed", "format_mismatch")
      return outcome_of("equal", "")
  pred_points, ref_points = _boundary(pred.pieces), _boundary(ref.pieces)
  if len(pred_points) == len(ref_points) and all(
      _same_point(a, b) for a, b in zip(pred_points, ref_points)):
    return outcome_of("unequal", "relation_mismatch")
  return outcome_of("unequal", "wrong_value")
