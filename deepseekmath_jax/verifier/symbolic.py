"""Symbolic equivalence of two LaTeX scalars with sympy; runs only inside pool workers.

LaTeX is parsed with latex2sympy2_extended (the maintained ANTLR LaTeX-to-sympy parser that
Math-Verify also uses) into sympy objects; raw text never goes through `eval`, `sympify` or
`parse_expr`. sympy can take unbounded time or memory on hostile input (`10^{10^{10^{10}}}`, huge
factorials), which is why this module is imported only by the worker processes of `pool.py`,
which a wall-clock deadline kills and replaces.

Equality is decided by value, not by `simplify`, which is slow and incomplete:
- constants are evaluated to 60 significant digits; they are equal when the difference vanishes
  to 45 digits. A decimal approximation never reaches that (2.828427 is not 2*sqrt(2));
- expressions with variables are compared at several random rational points (probabilistic
  identity testing, exact for polynomials and rational functions with overwhelming probability),
  evaluated at 40 digits; points where either side is undefined are skipped.
"""

from __future__ import annotations

import math
import random
import re
from fractions import Fraction

import sympy
from latex2sympy2_extended import latex2sympy
from latex2sympy2_extended.latex2sympy2 import ConversionConfig

from deepseekmath_jax.verifier import arith
from deepseekmath_jax.verifier import equivalence
from deepseekmath_jax.verifier import labels
from deepseekmath_jax.verifier import normalize
from deepseekmath_jax.verifier import relations
from deepseekmath_jax.verifier.equivalence import Context
from deepseekmath_jax.verifier.equivalence import Outcome

# pred_scale == PROPORTIONAL asks whether pred is a nonzero constant multiple of ref (the two
# `lhs - rhs` forms of equations such as lines and planes).
PROPORTIONAL = Fraction(0)

_CONVERSION = ConversionConfig(interpret_as_mixed_fractions=True, lowercase_symbols=False)
_CONSTANT_DIGITS = 60
_CONSTANT_TOLERANCE = sympy.Float("1e-45", 60)
_POINT_DIGITS = 40
_POINT_TOLERANCE = 1e-25
_NUM_POINTS = 4


class SymbolicParseError(ValueError):
  pass


_DEGREES_INSIDE_RE = re.compile(r"(\d+(?:\.\d+)?)\s*\u00b0")
_CIS_RE = re.compile(r"(?:\\operatorname|\\text|\\mathrm)?\s*\{?\\?cis\}?\s*\\?\(([^()]{1,80})\\?\)")


def _angles_in_radians(text: str) -> str:
  """`\\cos 60°` and `\\operatorname{cis}(\\pi/3)` inside an expression: degrees become radians and
  cis(t) becomes cos t + i sin t (a complex number in polar form)."""
  if "cis" in text:
    text = _CIS_RE.sub(r"(\\cos(\1)+i\\sin(\1))", text)
  if "\u00b0" in text:
    text = _DEGREES_INSIDE_RE.sub(r"(\1\\pi/180)", text)
  return text


def parse(text: str) -> sympy.Basic:
  """LaTeX -> sympy via latex2sympy2_extended; raises SymbolicParseError."""
  text = _angles_in_radians(text)
  try:
    expr = latex2sympy(text, normalization_config=None, conversion_config=_CONVERSION)
  except Exception as err:  # pylint: disable=broad-except  # The parser raises many types.
    raise SymbolicParseError(f"cannot parse {text[:80]!r}: {type(err).__name__}") from None
  if isinstance(expr, (list, tuple)):
    raise SymbolicParseError("not a scalar")
  if not isinstance(expr, sympy.Expr):
    raise SymbolicParseError(f"not an expression: {type(expr).__name__}")
  # `a_{m}` and `a_m` are one symbol; a sum's summand is expanded so that commuted or
  # distributed products inside it compare structurally (evaluating a symbolic-bound sum at
  # random points is what blows up).
  renames = {symbol: sympy.Symbol(symbol.name.replace("{", "").replace("}", ""))
             for symbol in expr.free_symbols if "{" in symbol.name}
  if renames:
    expr = expr.xreplace(renames)
  if expr.has(sympy.Sum, sympy.Product):
    expr = expr.replace(lambda e: isinstance(e, (sympy.Sum, sympy.Product)),
                        lambda e: e.func(sympy.expand(e.function), *e.limits))
  return expr


def _count_factors(expr: sympy.Expr) -> int:
  """Non-constant factors of a product as written, with multiplicity: (x-1)^2 (x+1) has 3."""
  if isinstance(expr, sympy.Mul):
    return sum(_count_factors(arg) for arg in expr.args)
  if isinstance(expr, sympy.Pow) and expr.exp.is_Integer and expr.exp > 0:
    return _count_factors(expr.base) * int(expr.exp)
  return 0 if expr.is_number else 1


def _complex_form(text: str) -> str:
  if re.search(r"e\^|\\exp|cis|\\cos.*\\sin", text):
    return "polar"
  if re.search(r"\\sqrt\{?\s*-", text):
    return "root"
  return "rectangular"


def _has_sum(expr: sympy.Expr) -> bool:
  return expr.has(sympy.Sum, sympy.Product, sympy.Integral)


def _magnitude(value) -> float:
  try:
    return float(abs(complex(value)))
  except (TypeError, ValueError):
    return float("nan")


def _constant_equal(diff: sympy.Expr, reference: sympy.Expr) -> bool | None:
  value = diff.evalf(_CONSTANT_DIGITS)
  if value.has(sympy.nan, sympy.zoo) or not value.is_number:
    return None
  magnitude = _magnitude(value)
  if magnitude != magnitude:
    return None
  scale = max(1.0, _magnitude(reference.evalf(30)))
  return magnitude <= float(_CONSTANT_TOLERANCE) * scale


def _points(symbols: list[sympy.Symbol], seed: int) -> list[dict]:
  rng = random.Random(seed)
  points = []
  for _ in range(_NUM_POINTS * 3):
    points.append({s: sympy.Rational(rng.randint(1, 97), rng.randint(1, 31)) * rng.choice((1, -1))
                   for s in symbols})
  return points


def _identically_equal(lhs: sympy.Expr, rhs: sympy.Expr) -> bool | None:
  """Whether lhs - rhs is identically zero; None when it cannot be told."""
  if lhs == rhs:
    return True
  if lhs.has(sympy.oo, -sympy.oo, sympy.zoo) or rhs.has(sympy.oo, -sympy.oo, sympy.zoo):
    return lhs == rhs
  diff = lhs - rhs
  symbols = sorted(diff.free_symbols | lhs.free_symbols | rhs.free_symbols, key=str)
  if not symbols:
    return _constant_equal(diff, rhs)
  tested = 0
  for point in _points(symbols, seed=len(symbols)):
    try:
      value = diff.evalf(_POINT_DIGITS, subs=point)
      scale = max(1.0, _magnitude(rhs.evalf(_POINT_DIGITS, subs=point)))
    except (ZeroDivisionError, ValueError, TypeError):
      continue
    if not value.is_number or value.has(sympy.nan, sympy.zoo):
      continue
    magnitude = _magnitude(value)
    if magnitude != magnitude:
      continue
    if magnitude > _POINT_TOLERANCE * scale:
      return False
    tested += 1
    if tested >= _NUM_POINTS:
      return True
  return None


def _proportional(pred: sympy.Expr, ref: sympy.Expr) -> bool | None:
  """Whether pred == c * ref for a nonzero constant c (equations scaled or rearranged)."""
  symbols = sorted(pred.free_symbols | ref.free_symbols, key=str)
  for point in _points(symbols, seed=7):
    try:
      ref_value = ref.evalf(_POINT_DIGITS, subs=point)
      pred_value = pred.evalf(_POINT_DIGITS, subs=point)
    except (ZeroDivisionError, ValueError, TypeError):
      continue
    if not ref_value.is_number or _magnitude(ref_value) < 1e-20:
      continue
    ratio = sympy.nsimplify(pred_value / ref_value, rational=True, tolerance=1e-30)
    if ratio == 0:
      return False
    return _identically_equal(pred, ratio * ref)
  return None


def compare(pred_text: str, ref_text: str, pred_scale: Fraction, ref_scale: Fraction,
            ctx: Context) -> Outcome:
  """The symbolic comparator plugged into `equivalence.Context.symbolic` inside workers."""
  try:
    ref = parse(ref_text)
  except SymbolicParseError:
    return Outcome(equivalence.UNEQUAL, "parse_error")
  try:
    pred = parse(pred_text)
  except SymbolicParseError:
    return Outcome(equivalence.UNEQUAL, "parse_error")
  status_if_equal = equivalence.EQUAL
  pred_names = {s.name for s in pred.free_symbols}
  ref_names = {s.name for s in ref.free_symbols}
  if "j" in pred_names and "i" not in pred_names and "i" in ref_names and "j" not in ref_names:
    pred = pred.subs(sympy.Symbol("j"), sympy.Symbol("i"))
    status_if_equal = equivalence.RELAXED  # i vs j: the same number, another notation.
    pred_names = (pred_names - {"j"}) | {"i"}
  reason_if_equal = "format_mismatch"
  if (pred_names | ref_names) and (pred_names | ref_names) <= {"i", "e"}:
    # Constants with i (and e): complex numbers in any form (2i, \sqrt{-4}, 2e^{i\pi/3}).
    constants = {sympy.Symbol("i"): sympy.I, sympy.Symbol("e"): sympy.E}
    pred, ref = pred.xreplace(constants), ref.xreplace(constants)
    pred_names = ref_names = set()
    if _complex_form(pred_text) != _complex_form(ref_text):
      status_if_equal = equivalence.RELAXED
  elif (len(pred_names) == len(ref_names) == 1 and pred_names != ref_names
        and not {"i", "e"} & (pred_names | ref_names)):
    # The only free variable renamed (g(s) for g(t)): relaxed only, and not when the question
    # uses both names (then they are two quantities).
    pred_name, ref_name = next(iter(pred_names)), next(iter(ref_names))
    if labels.distinct_in_question(pred_name, ref_name, ctx.question_symbols):
      return Outcome(equivalence.UNEQUAL, "variable_mismatch")
    pred = pred.xreplace({sympy.Symbol(pred_name): sympy.Symbol(ref_name)})
    status_if_equal, reason_if_equal = equivalence.RELAXED, "variable_mismatch"
  if (_has_sum(pred) or _has_sum(ref)) and pred_scale != PROPORTIONAL:
    # Sums, products and integrals with symbolic bounds: structural equality only.
    same = sympy.simplify(pred - ref) == 0 if not (pred.free_symbols or ref.free_symbols) else (
        pred * _rational(pred_scale) == ref * _rational(ref_scale))
    if same:
      return Outcome(status_if_equal, reason_if_equal if status_if_equal != "equal" else "")
    return Outcome(equivalence.UNEQUAL, "wrong_value")
  if pred_scale == PROPORTIONAL:
    same = _proportional(pred, ref)
  else:
    if ctx.factor_task and isinstance(ref, (sympy.Mul, sympy.Pow)) and isinstance(pred, sympy.Add):
      return Outcome(equivalence.UNEQUAL, "wrong_value")  # An unfactored answer to "factor".
    pred_scaled = pred * sympy.Rational(pred_scale.numerator, pred_scale.denominator)
    ref_scaled = ref * sympy.Rational(ref_scale.numerator, ref_scale.denominator)
    same = _identically_equal(pred_scaled, ref_scaled)
    if not same and not pred_scaled.free_symbols and not ref_scaled.free_symbols:
      try:
        pred_approx = complex(pred_scaled.evalf(30))
        ref_approx = complex(ref_scaled.evalf(30))
      except (TypeError, ValueError):
        pred_approx = ref_approx = None
      if pred_approx is not None and pred_approx.imag == 0 and ref_approx.imag == 0:
        # Exact decimals of both sides, well beyond the reference's places (float would blur a
        # 15-decimal reference).
        digits = 30 + (arith.decimal_places(ref_text) or 0)
        try:
          pred_exact = Fraction(str(sympy.re(pred_scaled).evalf(digits)))
          ref_exact = Fraction(str(sympy.re(ref_scaled).evalf(digits)))
        except (TypeError, ValueError, ZeroDivisionError):
          pred_exact, ref_exact = pred_approx.real, ref_approx.real
        rounded = equivalence.rounding_outcome(pred_text, ref_text, pred_exact, ref_exact, ctx)
        if rounded is not None:
          return rounded
  if same is None:
    return Outcome(equivalence.UNEQUAL, "parse_error")
  if same and pred.free_symbols and pred_scale != PROPORTIONAL:
    if ctx.factor_task and (_count_factors(pred) < _count_factors(ref) or abs(
        pred.as_coeff_Mul()[0]) != abs(ref.as_coeff_Mul()[0])):
      # Not factored completely: fewer factors, or a common numeric factor left inside one.
      return Outcome(equivalence.UNEQUAL, "task_form_mismatch")
    if (ctx.expand_task and isinstance(ref, sympy.Add) and not isinstance(pred, sympy.Add)
        and _count_factors(pred) > 1):
      return Outcome(equivalence.UNEQUAL, "task_form_mismatch")  # A product for "expand".
  if same:
    return Outcome(status_if_equal, reason_if_equal if status_if_equal != "equal" else "")
  return Outcome(equivalence.UNEQUAL, "wrong_value")


_MAX_COEFFICIENT = 10**12
_RELATIONS = {"<": sympy.Lt, "<=": sympy.Le, ">": sympy.Gt, ">=": sympy.Ge, "!=": sympy.Ne}


def _degree_bound(expr: sympy.Expr) -> float:
  """An upper bound on the degree of any numerator or denominator `expr` can produce, read from
  the tree as written (nothing expanded: `((x^4)^4)^4` must not become a dense polynomial)."""
  if expr.is_Number:
    return 0
  if expr.is_Symbol:
    return 1
  if isinstance(expr, (sympy.Add, sympy.Mul)):
    return sum(_degree_bound(arg) for arg in expr.args)
  if isinstance(expr, sympy.Abs):
    return _degree_bound(expr.args[0])
  if isinstance(expr, sympy.Pow) and expr.exp.is_Integer and abs(expr.exp) <= 64:
    return abs(int(expr.exp)) * _degree_bound(expr.base)
  return math.inf


def _within_degree(expr: sympy.Expr, variable: sympy.Symbol) -> bool:
  """A rational function of `variable` (absolute values read as their arguments) whose
  numerator and denominator have degree <= relations.MAX_SOLVER_DEGREE and coefficients of at
  most 12 digits."""
  if _degree_bound(expr) > 4 * relations.MAX_SOLVER_DEGREE:
    return False
  plain = expr.replace(sympy.Abs, lambda arg: arg)
  if plain.free_symbols != {variable} or not plain.is_rational_function(variable):
    return False
  for part in sympy.fraction(sympy.cancel(sympy.together(plain))):
    poly = sympy.Poly(part, variable)
    if poly.degree() > relations.MAX_SOLVER_DEGREE:
      return False
    for coefficient in poly.all_coeffs():
      if not coefficient.is_Rational or max(abs(coefficient.p), coefficient.q) > _MAX_COEFFICIENT:
        return False
  return True


def _endpoint(value: sympy.Expr) -> relations.Bound | None:
  """A set's endpoint as a Bound whose node re-parses to the same number (None otherwise: a
  root sympy can only write as CRootOf cannot be compared as LaTeX)."""
  if value in (sympy.oo, -sympy.oo):
    return relations.Bound(None, None, float(value))
  if value.is_Rational:
    return relations.bound_of_fraction(Fraction(int(value.p), int(value.q)))
  if not value.is_real:
    return None
  text = sympy.latex(value)
  try:
    node = normalize.parse_answer(normalize.clean(text))
    reparsed = parse(node.text)
  except (normalize.ParseError, SymbolicParseError):
    return None
  if node.kind != "scalar" or _constant_equal(reparsed - value, value) is not True:
    return None
  return relations.Bound(node, None, float(value.evalf(30)))


def _pieces_of_set(solution: sympy.Set) -> list[relations.Piece] | None:
  if solution == sympy.S.EmptySet:
    return []
  if solution == sympy.S.Reals:
    return [relations.Piece(relations.Bound(None, None, -math.inf),
                            relations.Bound(None, None, math.inf), False, False)]
  if isinstance(solution, sympy.Union):
    pieces = []
    for part in solution.args:
      part_pieces = _pieces_of_set(part)
      if part_pieces is None:
        return None
      pieces += part_pieces
    return pieces
  if isinstance(solution, sympy.Interval):
    low, high = _endpoint(solution.start), _endpoint(solution.end)
    if low is None or high is None:
      return None
    return [relations.Piece(low, high, not solution.left_open and low.node is not None,
                            not solution.right_open and high.node is not None)]
  if isinstance(solution, sympy.FiniteSet):
    points = [_endpoint(value) for value in solution.args]
    if any(point is None or point.node is None for point in points):
      return None
    return [relations.Piece(point, point, True, True) for point in points]
  return None  # A ConditionSet or another set sympy could not reduce to intervals.


def solve_relation(lhs_text: str, op: str, rhs_text: str,
                   variable: str) -> tuple[relations.Piece, ...] | None:
  """The real solutions of `lhs op rhs` (polynomial or rational sides, absolute values allowed,
  degree <= 4) as relations.Piece's, exactly (sympy's solve_univariate_inequality); None when
  the relation is outside the caps or sympy cannot solve it exactly. Runs inside the workers."""
  try:
    lhs, rhs = parse(lhs_text), parse(rhs_text)
  except SymbolicParseError:
    return None
  real = sympy.Symbol(variable, real=True)
  expr = (lhs - rhs).xreplace({sympy.Symbol(variable): real})
  if not _within_degree(expr, real):
    return None
  try:
    solution = sympy.solve_univariate_inequality(_RELATIONS[op](expr, 0), real, relational=False)
  except (NotImplementedError, ValueError, TypeError):
    return None
  pieces = _pieces_of_set(solution)
  return tuple(pieces) if pieces is not None else None


def _rational(value: Fraction) -> sympy.Rational:
  return sympy.Rational(value.numerator, value.denominator)


def warm_up() -> None:
  """Runs the ANTLR parser once so that the first real item does not pay its start-up cost."""
  parse("\\frac{x^2+1}{\\sqrt{2}}")
