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

import random
from fractions import Fraction

import sympy
from latex2sympy2_extended import latex2sympy
from latex2sympy2_extended.latex2sympy2 import ConversionConfig

from deepseekmath_jax.verifier import equivalence
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


def parse(text: str) -> sympy.Basic:
  """LaTeX -> sympy via latex2sympy2_extended; raises SymbolicParseError."""
  try:
    expr = latex2sympy(text, normalization_config=None, conversion_config=_CONVERSION)
  except Exception as err:  # pylint: disable=broad-except  # The parser raises many types.
    raise SymbolicParseError(f"cannot parse {text[:80]!r}: {type(err).__name__}") from None
  if isinstance(expr, (list, tuple)):
    raise SymbolicParseError("not a scalar")
  if not isinstance(expr, sympy.Expr):
    raise SymbolicParseError(f"not an expression: {type(expr).__name__}")
  return expr


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
        rounded = equivalence.rounding_outcome(pred_text, ref_text, pred_approx.real,
                                               ref_approx.real, ctx)
        if rounded is not None:
          return rounded
  if same is None:
    return Outcome(equivalence.UNEQUAL, "parse_error")
  if same:
    return Outcome(status_if_equal, "format_mismatch" if status_if_equal != "equal" else "")
  return Outcome(equivalence.UNEQUAL, "wrong_value")


def warm_up() -> None:
  """Runs the ANTLR parser once so that the first real item does not pay its start-up cost."""
  parse("\\frac{x^2+1}{\\sqrt{2}}")
