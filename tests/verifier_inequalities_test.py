r"""Polynomial and rational inequalities solved to sets of reals, and printed doubles.

Each table row is judged from the mathematics: (response, reference, question, relaxed verdict,
strict verdict). A non-linear relation (`x^2 < 4`) equals the set it describes in relaxed mode; in
strict mode it is the "unsolved relation" form: equal only to another unsolved relation with the
same set, `format_mismatch` against a solved relation, interval notation or words.
"""

from fractions import Fraction

import pytest

from deepseekmath_jax.verifier import arith
from deepseekmath_jax.verifier import equivalence
from deepseekmath_jax.verifier import grade
from deepseekmath_jax.verifier import normalize
from deepseekmath_jax.verifier import relations
from verifier_rows import OK, WV, FM, RM, VM, TO
import verifier_rows

_SOLVE = r"Solve the inequality $x^2 - 5x + 6 \ge 0$."

NON_LINEAR = [
    # x^2 < 4 holds exactly for -2 < x < 2.
    (r"\boxed{x^2 < 4}", r"-2 < x < 2", None, OK, FM),
    (r"\boxed{x^2 < 4}", r"(-2, 2)", None, OK, FM),
    (r"\boxed{(-2, 2)}", r"x^2 < 4", None, OK, FM),
    (r"\boxed{x^2 < 4}", r"|x| < 2", None, OK, FM),
    (r"\boxed{4 > x^2}", r"x^2 < 4", None, OK, OK),          # both unsolved, the same set
    (r"\boxed{x^2 - 4 < 0}", r"|x^2 - 1| < 3", None, OK, OK),  # |x^2-1| < 3 iff x^2 < 4
    (r"\boxed{x^2 \le 4}", r"(-2, 2)", None, RM, RM),        # the endpoints belong: [-2, 2]
    (r"\boxed{x^2 > 4}", r"(-2, 2)", None, RM, RM),          # the complement's boundary
    (r"\boxed{x^2 < 9}", r"(-2, 2)", None, WV, WV),
    (r"\boxed{y^2 < 4}", r"-2 < x < 2", None, VM, VM),
    # (x-2)(x-3) >= 0 outside the roots.
    (r"\boxed{x^2 - 5x + 6 \ge 0}", r"(-\infty, 2] \cup [3, \infty)", None, OK, FM),
    (r"\boxed{(-\infty, 2] \cup [3, \infty)}", r"x^2 - 5x + 6 \geq 0", None, OK, FM),
    (r"\boxed{x \le 2 \text{ or } x \ge 3}", r"x^2 - 5x + 6 \ge 0", None, OK, FM),
    (r"\boxed{(-\infty, 2) \cup (3, \infty)}", r"x^2 - 5x + 6 \ge 0", None, RM, RM),
    (r"\boxed{[2, 3]}", r"x^2 - 5x + 6 \ge 0", None, RM, RM),
    (r"\boxed{x(x-3) \le 0}", r"[0, 3]", None, OK, FM),
    # (x-1)/(x+2) > 0: both factors of one sign; -2 is never included (a pole).
    (r"\boxed{x < -2 \text{ or } x > 1}", r"\frac{x-1}{x+2} > 0", None, OK, FM),
    (r"\boxed{\frac{x-1}{x+2} > 0}", r"x < -2 \text{ or } x > 1", None, OK, FM),
    (r"\boxed{(-\infty, -2) \cup [1, \infty)}", r"\frac{x-1}{x+2} \ge 0", None, OK, FM),
    (r"\boxed{(-\infty, -2] \cup [1, \infty)}", r"\frac{x-1}{x+2} \ge 0", None, RM, RM),
    (r"\boxed{(-2, 1)}", r"\frac{x-1}{x+2} > 0", None, RM, RM),
    # |x^2 - 1| < 3 iff -2 < x^2 < 4 iff -2 < x < 2.
    (r"\boxed{|x^2 - 1| < 3}", r"(-2, 2)", None, OK, FM),
    (r"\boxed{|x^2 - 1| < 3}", r"(-1, 1)", None, WV, WV),
    # Both sides holding the variable, irrational endpoints, a chain, empty and full sets.
    (r"\boxed{x^2 > x}", r"(-\infty, 0) \cup (1, \infty)", None, OK, FM),
    (r"\boxed{x^2 \ge 2}", r"(-\infty, -\sqrt{2}] \cup [\sqrt{2}, \infty)", None, OK, FM),
    (r"\boxed{x^2 \ge 2}", r"(-\infty, -\sqrt{3}] \cup [\sqrt{3}, \infty)", None, WV, WV),
    (r"\boxed{1 < x^2 < 4}", r"(-2, -1) \cup (1, 2)", None, OK, FM),
    (r"\boxed{x^2 + 1 < 0}", r"\text{no solution}", None, OK, FM),
    (r"\boxed{x^2 + 1 > 0}", r"\mathbb{R}", None, OK, FM),
    (r"\boxed{x^2 + 1 > 0}", r"(0, \infty)", None, WV, WV),
    (r"\boxed{(x-1)^2 \le 0}", r"x = 1", None, OK, FM),      # one point, solved only in x = 1
    (r"\boxed{x^4 - 5x^2 + 4 < 0}", r"(-2, -1) \cup (1, 2)", None, OK, FM),
    # The question's own inequality is not its solution (both modes).
    (r"\boxed{x^2 - 5x + 6 \ge 0}", r"(-\infty, 2] \cup [3, \infty)", _SOLVE, WV, WV),
    (r"\boxed{x \le 2 \text{ or } x \ge 3}", r"(-\infty, 2] \cup [3, \infty)", _SOLVE, OK, FM),
    (r"\boxed{(-\infty, 2] \cup [3, \infty)}", r"(-\infty, 2] \cup [3, \infty)", _SOLVE, OK, OK),
]

# A decimal equals a rational reference only as a printed double: the reference's double (or one
# of its two neighbours) rounded to the decimal's own 15 or more significant digits.
PRINTED_DOUBLES = [
    (r"\boxed{0.3333333333333333}", r"\frac{1}{3}", None, OK, OK),   # repr(1/3)
    (r"\boxed{0.6666666666666666}", r"\frac{2}{3}", None, OK, OK),   # repr(2/3)
    (r"\boxed{0.6666666666666667}", r"\frac{2}{3}", None, OK, OK),   # the next double up
    (r"\boxed{0.30000000000000004}", "0.3", None, OK, OK),           # repr(0.1 + 0.2)
    (r"\boxed{0.7000000000000001}", "0.7", None, OK, OK),            # repr(7 * 0.1)
    (r"\boxed{12.000000000000002}", "12", None, OK, OK),             # one ulp above 12
    (r"\boxed{0.333333333333}", r"\frac{1}{3}", None, WV, WV),       # 12 digits: rounded
    (r"\boxed{0.33333333333333}", r"\frac{1}{3}", None, WV, WV),     # 14 digits
    (r"\boxed{0.333333333333333}", r"\frac{1}{3}", None, OK, OK),    # '%.15g' % (1/3)
    (r"\boxed{0.0833333333333333}", r"\frac{1}{12}", None, OK, OK),  # '%.15g' % (1/12)
    (r"\boxed{0.333333333333334}", r"\frac{1}{3}", None, WV, WV),    # 15 digits, no double's
    (r"\boxed{0.3000000000000001}", "0.3", None, WV, WV),            # two doubles away
    (r"\boxed{12.00000000001}", "12", None, WV, WV),                 # within 1e-12 relative
    (r"\boxed{1.4142135623730951}", r"\sqrt{2}", None, WV, WV),      # irrational: approximation
]

TABLES = {"non_linear": NON_LINEAR, "printed_doubles": PRINTED_DOUBLES}


@pytest.mark.parametrize("name", sorted(TABLES))
@pytest.mark.parametrize("strict", [False, True])
def test_table(name, strict):
  misses = verifier_rows.mismatches(TABLES[name], strict)
  assert not misses, "\n".join(map(str, misses))


def _node(text):
  return normalize.parse_answer(normalize.clean(text))


@pytest.mark.parametrize("text", [
    r"x^2 < 4", r"\frac{x-1}{x+2} > 0", r"|x^2 - 1| < 3", r"x^4 - 10x^2 + 1 < 0", r"x^2 > x"])
def test_non_linear_relation_needs_the_worker(text):
  # Without a solver (the parent process: no sympy) the set is left to a worker.
  with pytest.raises(relations.NeedsSolver):
    relations.region_of(_node(text))
  outcome = equivalence.compare(_node(text), _node(r"(-2, 2)"),
                                equivalence.make_context(None, False))
  assert outcome.status == equivalence.UNDECIDED


@pytest.mark.parametrize("text", [
    r"x^5 > 1",                         # a power above MAX_SOLVER_DEGREE
    r"\sqrt{x} < 2",                    # not a rational function
    r"\sin x > 0",
    r"x^2 < 10000000000000",            # a 14-digit number
    r"x^2 + " + " + ".join(["x"] * 60) + " > 0",  # longer than MAX_SOLVER_CHARS
    r"x^{x} > 1",
])
def test_outside_the_caps_never_reaches_the_solver(text):
  def solver(*args):
    raise AssertionError(f"solver called for {args}")
  assert relations.region_of(_node(text), solve=solver) is None


def test_solver_refuses_what_the_text_caps_cannot_see():
  from deepseekmath_jax.verifier import symbolic  # pylint: disable=g-import-not-at-top
  assert symbolic.solve_relation("((x^4)^4)^4", ">", "1", "x") is None          # degree 64
  assert symbolic.solve_relation("(x-1)(x-2)(x-3)(x-4)(x-5)", ">", "0", "x") is None
  assert symbolic.solve_relation("x^3-3x+1", ">", "0", "x") is None  # roots only as CRootOf
  pieces = symbolic.solve_relation("(x-1)(x-2)(x-3)(x-4)", ">", "0", "x")
  assert [(p.low.exact, p.high.exact) for p in pieces] == [
      (None, 1), (2, 3), (4, None)]


def test_hostile_inequality_is_judged_within_the_deadline():
  result = grade(r"\boxed{((x^4)^4)^4 > 1}", r"(1, \infty)", deadline_s=5.0)
  assert result.reason in (WV, TO) and not result.correct


def test_is_float_rendering_rule():
  third = Fraction(1, 3)
  assert arith.is_float_rendering("0.3333333333333333", Fraction("0.3333333333333333"), third)
  assert arith.is_float_rendering("0.333333333333333", Fraction("0.333333333333333"), third)
  assert not arith.is_float_rendering("0.333333333333", Fraction("0.333333333333"), third)
  assert not arith.is_float_rendering("0.33333333333333", Fraction("0.33333333333333"), third)
  # The exact binary expansion of 1/3's double, as `%.30f` prints it.
  assert arith.is_float_rendering("0.333333333333333314829616256247",
                                  Fraction("0.333333333333333314829616256247"), third)
  # The same value written with 15+ digits but three doubles away is not a printout of it.
  value = Fraction("0.30000000000000016")
  assert not arith.is_float_rendering("0.30000000000000016", value, Fraction(3, 10))
