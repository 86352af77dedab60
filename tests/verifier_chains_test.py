r"""Chains, memberships, geometric labels, groups of labelled answers, indexed solution lists,
compound units, lowercase option letters, percent without a question, rational expressions,
arithmetic on written matrices.

Each row is judged from the mathematics: (response, reference, question, relaxed verdict, strict
verdict); a verdict is a reason from REASONS ("correct" means accepted).
"""

import pytest

from deepseekmath_jax.verifier import grade_batch
from verifier_rows import OK, WV, FM, UM, RM, VM, CM
import verifier_rows


# `E0 = E1 = ... = En`: a computation (or a name) then its result is the result; a name on the
# left makes it the relation `name = result`; `\approx` ends the exact part.
CHAINS = [
    (r"\boxed{4 \cdot 7 \cdot 3 = 84}", "84", None, OK, FM),
    (r"\boxed{4 \cdot 7 \cdot 3 = 84}", "85", None, WV, WV),
    (r"\boxed{\frac{3}{4}\$ = \frac{7}{5}}", "7/5", None, OK, FM),
    (r"\boxed{9}", r"y = 4 + 5 = 9", None, OK, FM),
    (r"\boxed{8}", r"y = 4 + 5 = 9", None, WV, WV),
    (r"\boxed{-2}", r"1 = \qqq = t = -2", None, OK, FM),          # names and closed members
    (r"\boxed{1}", r"1 = \qqq = t = -2", None, WV, WV),
    (r"\boxed{t = -2}", r"1 = \omega = t = -2", None, OK, OK),     # the name that matches
    (r"\boxed{6}", r"2 \cdot 3 = 6", None, OK, OK),                 # a computation reference
    (r"\boxed{t = 3 \cdot 4 = 12}", "t = 12", None, OK, OK),
    (r"\boxed{s = 3 \cdot 4 = 12}", "t = 12", None, VM, VM),
    (r"\boxed{b = 7}", "a = 7", None, VM, VM),
    (r"\boxed{3 + 4 = 7}", "a = 7", None, OK, FM),
    (r"\boxed{5 = 2m + 1}", "2m + 1", None, WV, WV),               # an equation, not a result
    (r"\boxed{2m + 1}", "5 = 2m + 1", None, WV, WV),
    (r"\boxed{r = 2 + \frac{1}{4} = \frac{9}{4} \approx 2.3}", r"r = \frac{9}{4}", None, OK, OK),
    (r"\boxed{w = \frac{2}{7} \approx 5}", r"w = \frac{2}{7}", None, OK, OK),  # tail ignored
    (r"\boxed{w = \frac{2}{7} \approx 0.29}", r"\frac{2}{7}", None, OK, FM),
    (r"\boxed{\frac{2}{7} \approx 0.29}", r"\frac{2}{7}", None, OK, OK),
    (r"\boxed{w = \frac{3}{7} \approx 0.29}", r"\frac{2}{7}", None, WV, WV),
    (r"\boxed{w \approx 0.2857}", r"\frac{2}{7}", None, WV, WV),      # an approximation alone
    (r"\boxed{0.2857}", r"\frac{2}{7}", None, WV, WV),
    (r"\boxed{h \approx 21}", "21", None, OK, FM),
    (r"\boxed{a = 3, b \approx 2.1}", "a = 3, b = 2.1", None, OK, OK),  # a list keeps its parts
    (r"\boxed{a = 3, b \approx 2.1}", "a = 3, b = 2.2", None, WV, WV),
]

# `x \in S` is the set S about the variable x (set notation); `\notin` its complement.
MEMBERSHIP = [
    (r"\boxed{t \in [-3, 8]}", r"-3 \le t \le 8", None, OK, FM),
    (r"\boxed{-3 \le t \le 8}", r"t \in [-3, 8]", None, OK, FM),
    (r"\boxed{t \in [-3, 8)}", r"-3 \le t \le 8", None, RM, RM),
    (r"\boxed{s \in [-3, 8]}", r"-3 \le t \le 8", None, VM, VM),
    (r"\boxed{-3 \le s \le 8}", r"t \in [-3, 8]", None, VM, VM),
    (r"\boxed{t \in [-3, 8]}", "[-3, 8]", None, OK, OK),
    (r"\boxed{u \in (-\infty, -1) \cup (4, \infty)}", r"u < -1 \text{ or } u > 4", None, OK, FM),
    (r"\boxed{u \in (-\infty, -1] \cup (4, \infty)}", r"u < -1 \text{ or } u > 4", None, RM, RM),
    (r"\boxed{z \in \{3, -4\}}", "-4, 3", None, OK, OK),
    (r"\boxed{z \in \{3, 4\}}", "-4, 3", None, WV, WV),
    (r"\boxed{t \notin (-1, 6)}", r"t \le -1 \text{ or } t \ge 6", None, OK, FM),
    (r"\boxed{t \notin (-1, 6)}", r"(-\infty, -1] \cup [6, \infty)", None, OK, OK),
    (r"\boxed{t \notin [-1, 6]}", r"(-\infty, -1] \cup [6, \infty)", None, RM, RM),
    (r"\boxed{x \notin \{2\}}", r"x \neq 2", None, OK, FM),
    (r"\boxed{x \not\in \{2\}}", r"x \neq 5", None, WV, WV),
]

# A left side built only from names of geometric quantities is a label.
GEOMETRY = [
    (r"\boxed{\frac{3}{\sqrt{5}}}", r"\frac{PR}{QR} = \frac{3}{\sqrt{5}}", None, OK, FM),
    (r"\boxed{\frac{3\sqrt{5}}{5}}", r"\frac{PR}{QR} = \frac{3}{\sqrt{5}}", None, OK, FM),
    (r"\boxed{\frac{2}{\sqrt{5}}}", r"\frac{PR}{QR} = \frac{3}{\sqrt{5}}", None, WV, WV),
    (r"\boxed{\frac{QR}{PR} = \frac{3}{\sqrt{5}}}", r"\frac{PR}{QR} = \frac{3}{\sqrt{5}}", None,
     VM, VM),
    (r"\boxed{[DEF] = 18}", "18", None, OK, FM),
    (r"\boxed{m\angle XYZ = 42^\circ}", r"42^\circ", None, OK, FM),
    (r"\boxed{\overline{KL} + \overline{LM} = 15}", "15", None, OK, FM),
    (r"\boxed{KL = 9}", "LM = 9", None, VM, VM),
    (r"\boxed{2x + KL = 7}", "7", None, WV, WV),                  # not only names
]

# Groups of labelled answers: the set of tuples, in the order of the labels (or the question's).
GROUPS = [
    (r"\boxed{m=3,n=1;m=4,n=6}", "(3,1),(4,6)", None, OK, FM),
    ("(4,6),(3,1)", r"m=3,n=1;m=4,n=6", None, OK, FM),
    (r"\boxed{\{(3,1),(4,6)\}}", r"m=3,n=1;m=4,n=6", None, OK, FM),
    (r"\boxed{m=3,n=1 \text{ or } n=6,m=4}", "(3,1),(4,6)", None, OK, FM),
    (r"\boxed{(1,3),(6,4)}", r"m=3,n=1;m=4,n=6", None, WV, WV),
    (r"\boxed{(1,3),(6,4)}", r"m=3,n=1;m=4,n=6",
     "Find all pairs $(n, m)$ of positive integers with $n < m$.", OK, FM),
    (r"\boxed{m=3,n=1}", "(3,1),(4,6)", None, WV, WV),
    (r"\boxed{m=3,n=1;m=4,n=5}", "(3,1),(4,6)", None, WV, WV),
    (r"\boxed{a=2,b=0;a=5,b=1}", r"a=5,b=1;a=2,b=0", None, OK, OK),
]

# `x_1 = a, x_2 = b` (also separated by `\quad`, even glued to the next name) against `a, b`.
INDEXED = [
    (r"\boxed{\frac{1-\sqrt{3}}{2}, \frac{1+\sqrt{3}}{2}}",
     r"y_{1}=\frac{1+\sqrt3}{2},\quad y_{2}=\frac{1-\sqrt3}{2}", None, OK, FM),
    (r"\boxed{2^{\frac{\sqrt{5}-1}{3}}, 2^{\frac{-1-\sqrt{5}}{3}}}",
     r"t_{1}=2^{\frac{-1+\sqrt{5}}{3}},\quadt_{2}=2^{\frac{-1-\sqrt{5}}{3}}", None, OK, FM),
    (r"\boxed{\frac{1-\sqrt{3}}{2}, \frac{1+\sqrt{5}}{2}}",
     r"y_{1}=\frac{1+\sqrt3}{2},\quad y_{2}=\frac{1-\sqrt3}{2}", None, WV, WV),
    (r"\boxed{y_1 = 4, y_2 = -1}", "-1, 4", None, OK, FM),
    (r"\boxed{y_1 = 4, y_2 = 1}", "-1, 4", None, WV, WV),
]

# One quantity in several units of one dimension, largest first, is one value.
COMPOUND_UNITS = [
    (r"\boxed{2 \text{ hours } 15 \text{ minutes}}", r"135 \text{ minutes}", None, OK, OK),
    (r"\boxed{2 hours 15 minutes}", r"2.25 \text{ hours}", None, OK, UM),
    (r"\boxed{2 hours and 15 minutes}", r"135 \text{ minutes}", None, OK, OK),
    (r"\boxed{2 hours 15 minutes}", r"125 \text{ minutes}", None, WV, WV),
    (r"\boxed{4 ft 3 in}", r"51 \text{ inches}", None, OK, OK),
    (r"\boxed{4 \text{ ft } 3 \text{ in}}", r"4.25 \text{ feet}", None, OK, UM),
    (r"\boxed{3 m 40 cm}", r"340 \text{ cm}", None, OK, OK),
    (r"\boxed{4 ft 3 in}", r"43 \text{ inches}", None, WV, WV),
    (r"\boxed{15 minutes 2 hours}", r"135 \text{ minutes}", None, WV, WV),  # not largest first
]

_OPTIONS_Q = "Which number is prime? (A) 4 (B) 6 (C) 7 (D) 9 (E) 10"
# `(c)` is the option (C) when the question lists options; otherwise it is the variable c.
LOWERCASE_OPTIONS = [
    (r"\boxed{(c)}", "C", _OPTIONS_Q, OK, FM),
    (r"\boxed{\textbf{(c)}}", "C", _OPTIONS_Q, OK, FM),
    (r"\boxed{(d)}", "C", _OPTIONS_Q, CM, CM),
    (r"\boxed{(c)}", "C", None, WV, WV),
    (r"\boxed{c}", "C", _OPTIONS_Q, WV, WV),                      # a lone letter: a variable
    (r"\boxed{(c)}", "c", None, OK, OK),
]

# X% against a bare X: with no question, judged like a bare X against X% (relaxed only); a
# question that is not about percent makes X% the value X/100.
PERCENT = [
    (r"\boxed{35\%}", "35", None, OK, FM),
    (r"\boxed{35\%}", "0.35", None, OK, FM),
    (r"\boxed{35\%}", "36", None, WV, WV),
    (r"\boxed{35}", r"35\%", None, OK, FM),
    (r"\boxed{35\%}", "35", "How many of the 100 marbles are red?", WV, WV),
    (r"\boxed{35\%}", "0.35", "What is the probability that a marble is red?", OK, FM),
    (r"\boxed{35\%}", "35", "What percent of the marbles are red?", OK, OK),
]

# A rational expression equals its reduced form (the removable point is not part of the answer);
# a simplify task rejects the restated input.
RATIONAL = [
    (r"\boxed{\frac{t^2-9}{t-3}}", "t+3", None, OK, OK),
    (r"\boxed{\frac{t^2-9}{t-3}}", "t-3", None, WV, WV),
    (r"\boxed{\frac{t^2-9}{t-3}}", "t+3", r"Simplify $\frac{t^2-9}{t-3}$.", WV, WV),
]

_A = r"\begin{pmatrix}2 & 0 \\ 1 & 3\end{pmatrix}"
_B = r"\begin{pmatrix}1 & 4 \\ 5 & 2\end{pmatrix}"
# A sum, difference or product of two written matrices is unevaluated arithmetic: its value.
MATRIX_ARITHMETIC = [
    (rf"\boxed{{{_A} + {_B}}}", r"\begin{pmatrix}3 & 4 \\ 6 & 5\end{pmatrix}", None, OK, FM),
    (rf"\boxed{{{_A} - {_B}}}", r"\begin{pmatrix}1 & -4 \\ -4 & 1\end{pmatrix}", None, OK, FM),
    (rf"\boxed{{{_A} {_B}}}", r"\begin{pmatrix}2 & 8 \\ 16 & 10\end{pmatrix}", None, OK, FM),
    (rf"\boxed{{{_B} {_A}}}", r"\begin{pmatrix}2 & 8 \\ 16 & 10\end{pmatrix}", None, WV, WV),
    (rf"\boxed{{{_A} + {_B}}}", r"\begin{pmatrix}3 & 4 \\ 6 & 6\end{pmatrix}", None, WV, WV),
    (rf"\boxed{{{_A} + \begin{{pmatrix}}1 \\ 2\end{{pmatrix}}}}", r"\begin{pmatrix}3 \\ 3\end{pmatrix}",
     None, WV, WV),                                                 # shapes that do not add
]

TABLES = {"chains": CHAINS, "membership": MEMBERSHIP, "geometry": GEOMETRY, "groups": GROUPS,
          "indexed": INDEXED, "compound_units": COMPOUND_UNITS,
          "lowercase_options": LOWERCASE_OPTIONS, "percent": PERCENT, "rational": RATIONAL,
          "matrix_arithmetic": MATRIX_ARITHMETIC}


@pytest.mark.parametrize("strict", [False, True])
@pytest.mark.parametrize("name", sorted(TABLES))
def test_answer_kind_rules(name, strict):
  misses = verifier_rows.mismatches(TABLES[name], strict)
  assert not misses, "\n".join(map(str, misses))


def test_tables_have_negatives():
  # Every rule keeps answers that must stay wrong.
  for name, rows in TABLES.items():
    assert any(row[3] != OK for row in rows), name


def test_hostile_inputs_to_these_rules_stay_bounded():
  # Long chains, many compound parts, many groups, two 8x8 matrices, long geometric sides and
  # nested memberships are read (or refused) without blowing up.
  square = r"\begin{pmatrix}" + r" \\ ".join(" & ".join(["1"] * 8) for _ in range(8)) + (
      r"\end{pmatrix}")
  hostile = [
      (r"\boxed{" + " = ".join(["1+1"] * 200) + r" \approx 3}", "3"),
      (r"\boxed{" + "x = " * 300 + "2}", "x = 3"),
      (r"\boxed{" + " ".join(f"{i} hours" for i in range(200)) + "}", "5 hours"),
      (r"\boxed{" + ";".join(f"p={i},q={i}" for i in range(60)) + "}", "(1,1)"),
      (r"\boxed{" + square + square + "}", "1"),
      (r"\boxed{\frac{" + "AB+" * 200 + "AB}{CD} = 3}", "4"),
      (r"\boxed{x \in x \in x \in [1,2]}", "[1,2]"),
      (r"\boxed{" + "(" * 300 + "b" + ")" * 300 + "}", "B"),
  ]
  grades = grade_batch([h[0] for h in hostile], [h[1] for h in hostile], deadline_s=2.0,
                       questions=["(A) 1 (B) 2"] * len(hostile))
  assert all(g.reason in (WV, "parse_error", "timeout") for g in grades), grades
