r"""Answer kinds beyond plain numbers: relations, matrices, several answers, set words, times,
multiple choice, number forms, task forms, functions. Each row is judged from the mathematics:
(response, reference, question, relaxed verdict, strict verdict); a verdict is a reason from
REASONS ("correct" means accepted).
"""

import pytest

from deepseekmath_jax.verifier import grade
from deepseekmath_jax.verifier import grade_batch
from verifier_rows import OK, WV, FM, UM, NA, RM, VM, CM, TF
import verifier_rows


RELATIONS = [
    (r"\boxed{t \geq 7}", "t >= 7", None, OK, OK),
    (r"\boxed{t \ge 7}", r"t \geq 7", None, OK, OK),
    (r"\boxed{x \lt 3}", "x < 3", None, OK, OK),
    (r"\boxed{x \gt -1}", "x > -1", None, OK, OK),
    (r"\boxed{x \neq 2}", "x != 2", None, OK, OK),
    (r"\boxed{x \neq 3}", "x != 2", None, WV, WV),
    (r"\boxed{a \leq 5}", "a <= 5", None, OK, OK),
    (r"\boxed{7 \le t}", r"t \geq 7", None, OK, OK),            # sides swapped
    (r"\boxed{-t > -4}", "t < 4", None, OK, OK),                 # multiplying by -1 flips
    (r"\boxed{2x + 1 \le 7}", r"x \le 3", None, OK, OK),
    (r"\boxed{-t < -4}", "t < 4", None, RM, RM),
    (r"\boxed{t < -2 \text{ or } t > 2}", r"(-\infty,-2)\cup(2,\infty)", None, OK, FM),
    (r"\boxed{|t| > 2}", r"(-\infty,-2)\cup(2,\infty)", None, OK, FM),
    (r"\boxed{|t| > 2}", r"t < -2 \text{ or } t > 2", None, OK, OK),
    (r"\boxed{|t| \ge 2}", r"(-\infty,-2)\cup(2,\infty)", None, RM, RM),
    (r"\boxed{|x - 1| < 3}", "(-2, 4)", None, OK, FM),
    (r"\boxed{2 \le |w| \le 5}", r"[-5,-2]\cup[2,5]", None, OK, FM),
    (r"\boxed{[-5,-2]\cup[2,5]}", r"2 \le |w| \le 5", None, OK, FM),
    (r"\boxed{[-5,5]}", r"2 \le |w| \le 5", None, WV, WV),
    (r"\boxed{x < 3}", r"x \le 3", None, RM, RM),
    (r"\boxed{x > 3}", "x < 3", None, RM, RM),
    (r"\boxed{x = 3}", r"x \le 3", None, RM, RM),
    (r"\boxed{y < 3}", "x < 3", None, VM, VM),
    (r"\boxed{x < \sqrt{2}}", r"(-\infty, \sqrt{2})", None, OK, FM),
    (r"\boxed{(-\infty,3)\cup(3,\infty)}", r"x \neq 3", None, OK, FM),
    (r"\boxed{x > 2 \text{ and } x < 5}", "(2,5)", None, OK, FM),       # "and": both hold
    (r"\boxed{x > 2 \text{ or } x < 5}", "(2,5)", None, WV, WV),        # "or": that is R
    (r"\boxed{x^2 < 4}", "(-2,2)", None, OK, FM),                      # unsolved: strict refuses
    (r"\boxed{x > 0, x \neq 1}", r"(0,1)\cup(1,\infty)", None, OK, FM),  # overlapping: conditions
    (r"\boxed{x < -2, x > 2}", r"(-\infty,-2)\cup(2,\infty)", None, OK, FM),  # disjoint: a list
    (r"\boxed{[-3, 3]}", r"\{x : -3 \le x \le 3\}", None, OK, FM),     # set-builder notation
    (r"\boxed{(-\infty, 1]}", r"\{x \mid x < 1\}", None, RM, RM),
]

MATRICES = [
    (r"\boxed{\left[\begin{array}{cc}1&2\\3&4\end{array}\right]}",
     r"\begin{pmatrix}1&2\\3&4\end{pmatrix}", None, OK, OK),
    (r"\boxed{\begin{bmatrix}1&2\\3&4\end{bmatrix}}", r"\begin{pmatrix}1&2\\3&4\end{pmatrix}", None,
     OK, OK),
    (r"\boxed{\begin{bmatrix}1&2\\4&3\end{bmatrix}}", r"\begin{pmatrix}1&2\\3&4\end{pmatrix}", None,
     WV, WV),
    (r"\boxed{\begin{pmatrix}0.5\\2\end{pmatrix}}", r"\begin{pmatrix}\frac12\\2\end{pmatrix}", None,
     OK, OK),
    (r"\boxed{\mathbf{i}+2\mathbf{j}-3\mathbf{k}}", r"\begin{pmatrix}1\\2\\-3\end{pmatrix}", None,
     OK, FM),
    (r"\boxed{2\hat{i}-\hat{k}}", r"\begin{pmatrix}2\\0\\-1\end{pmatrix}", None, OK, FM),
    (r"\boxed{\mathbf{i}+2\mathbf{j}+3\mathbf{k}}", r"\begin{pmatrix}1\\2\\-3\end{pmatrix}", None,
     WV, WV),
    (r"\boxed{\frac{1}{2}\begin{pmatrix}2\\4\end{pmatrix}}", r"\begin{pmatrix}1\\2\end{pmatrix}",
     None, OK, FM),
    (r"\boxed{3\begin{pmatrix}1&0\\0&1\end{pmatrix}}", r"\begin{pmatrix}3&0\\0&3\end{pmatrix}",
     None, OK, FM),
    (r"\boxed{2\begin{pmatrix}1\\2\end{pmatrix}}", r"\begin{pmatrix}1\\2\end{pmatrix}", None, WV, WV),
    (r"\boxed{\langle 1, 2, 3\rangle}", r"\begin{pmatrix}1\\2\\3\end{pmatrix}", None, OK, FM),
    (r"\boxed{\mathbf{A}\mathbf{x} = \begin{pmatrix}1\\2\end{pmatrix}}",
     r"\begin{pmatrix}1\\2\end{pmatrix}", None, OK, FM),
    (r"\boxed{\mathbf{v} = \begin{pmatrix}1\\2\end{pmatrix}}", r"\begin{pmatrix}1\\3\end{pmatrix}",
     None, WV, WV),
]

SEVERAL_ANSWERS = [
    (r"So $x=\boxed{4}$, or $x = \boxed{9}$.", r"4, 9", None, OK, OK),
    (r"\boxed{4}, \boxed{9}", r"\{4, 9\}", None, OK, OK),
    (r"\boxed{4}, \boxed{8}", r"\{4, 9\}", None, WV, WV),
    (r"\boxed{(1,5)} and \boxed{(5,1)}", r"(1,5), (5,1)", None, OK, OK),
    (r"\boxed{(1,5)} and \boxed{(5,1)}", r"(5,1), (1,5)", None, OK, OK),
    (r"\boxed{4}, \boxed{9}", "9", None, OK, WV),                  # last box vs a single answer
    (r"\boxed{4}, \boxed{9}", r"$\boxed{4}$ and $\boxed{9}$", None, OK, OK),   # boxed reference
    (r"\boxed{(a,b)=(4,1)}", "(4,1)", None, OK, FM),
    (r"\boxed{(a,b)=(1,4)}", "(4,1)", None, WV, WV),
    (r"\boxed{PQ=6, RS=2}", "6, 2", None, OK, FM),
    (r"\boxed{a=4, b=1}", "(4,1)", r"Find the ordered pair $(a,b)$.", OK, FM),
    (r"\boxed{b=1, a=4}", "(4,1)", r"Find the ordered pair $(a,b)$.", OK, FM),
    (r"\boxed{a=1, b=4}", "(4,1)", r"Find the ordered pair $(a,b)$.", WV, WV),
    (r"\boxed{V_1:V_2 = 3:8}", "3:8", None, OK, FM),
    (r"\boxed{V_1:V_2 = 8:3}", "3:8", None, WV, WV),
    (r"\boxed{|PQ| = 6}", "6", None, OK, FM),
    (r"\boxed{\text{Area} = 12}", "12", None, OK, FM),
    (r"\boxed{m + n = 17}", "17", "Find $m+n$.", OK, FM),             # the asked expression
    (r"\boxed{m + n = 17}", "17", None, WV, WV),
    (r"\boxed{\overline{PQ} = 6}", "PQ = 6", None, OK, OK),
    (r"\boxed{\pm 17}", r"\{-17, 17\}", None, OK, OK),
    (r"\boxed{\pm 17}", "17", None, WV, WV),
]

SET_WORDS = [
    (r"\boxed{\emptyset}", r"\text{no solution}", None, OK, FM),
    (r"\boxed{\varnothing}", r"\emptyset", None, OK, OK),
    (r"\boxed{\{\}}", r"\emptyset", None, OK, OK),
    (r"There are no real solutions, so the answer is \boxed{\text{none}}.", r"\emptyset", None,
     OK, FM),
    (r"\boxed{\text{no real numbers}}", r"\text{no solution}", None, OK, OK),
    (r"\boxed{\emptyset}", r"\{0\}", None, WV, WV),
    (r"\boxed{\text{all real numbers}}", r"(-\infty,\infty)", None, OK, FM),
    (r"\boxed{\mathbb{R}}", r"(-\infty,\infty)", None, OK, OK),
    (r"\boxed{\mathbb{R}}", r"\text{all real numbers}", None, OK, FM),
    (r"\boxed{\mathbb{R}}", r"(0,\infty)", None, WV, WV),
    (r"\boxed{\mathbb{R} \setminus \{3\}}", r"(-\infty,3)\cup(3,\infty)", None, OK, OK),
    (r"\boxed{\mathbb{R} \setminus \{3\}}", r"(-\infty,3]\cup(3,\infty)", None, WV, WV),  # that is R
    (r"\boxed{\mathbb{R} \setminus \{3\}}", r"(-\infty,3)\cup[3,\infty)", None, WV, WV),
    (r"\boxed{\mathbb{R} \setminus \{-1, 1\}}", r"(-\infty,-1)\cup(-1,1)\cup(1,\infty)", None,
     OK, OK),
    (r"\boxed{\text{all real numbers except } 3}", r"(-\infty,3)\cup(3,\infty)", None, OK, FM),
    (r"\boxed{\text{all real numbers except } 2}", r"(-\infty,3)\cup(3,\infty)", None, WV, WV),
    (r"\boxed{\infty}", r"\text{infinitely many}", None, OK, FM),
    (r"\boxed{\infty}", "12", None, WV, WV),
]

TIMES = [
    (r"\boxed{7:45 \text{ PM}}", r"\text{7:45 p.m.}", None, OK, OK),
    (r"\boxed{19:45}", r"7:45 p.m.", None, OK, FM),
    (r"\boxed{7:45}", r"7:45 p.m.", "The show starts at 6:00 p.m. and lasts 105 minutes. When does "
     "it end?", OK, FM),
    (r"\boxed{7:45}", r"7:45 p.m.", "He leaves at 9:30 a.m. and returns 10 h 15 min later. "
     "When does he return?", FM, FM),
    (r"\boxed{7:45 a.m.}", r"7:45 p.m.", None, WV, WV),
    (r"\boxed{7:15 p.m.}", r"7:45 p.m.", None, WV, WV),
    (r"\boxed{6 a.m.}", "06:00", None, OK, FM),
    (r"\boxed{6 p.m.}", "06:00", None, WV, WV),
    (r"\boxed{12:00 p.m.}", r"\text{noon}", None, OK, OK),
    (r"\boxed{12:00 a.m.}", r"\text{noon}", None, WV, WV),
    (r"\boxed{10:24}", "5:12", "What is the ratio of boys to girls?", OK, FM),
    (r"\boxed{5:12}", "5:12", "What is the ratio of boys to girls?", OK, OK),
    (r"\boxed{\frac{5}{12}}", "5:12", "What is the ratio of boys to girls?", OK, FM),
    (r"\boxed{10:24}", "5:12", "At what time does the train arrive?", WV, WV),
]

QUESTION_MC = (r"Which is the sum? $\textbf{(A) }41\qquad\textbf{(B) }42\qquad\textbf{(C) }43"
               r"\qquad\textbf{(D) }\frac{1}{2}\qquad\textbf{(E) }\text{none of these}$")
CHOICES = [
    (r"\boxed{\textbf{(B)}}", r"\text{(B)}", None, OK, OK),
    (r"\boxed{(B)}", r"\mathrm{(B)}", None, OK, OK),
    (r"\boxed{B}", r"\textbf{(B)}", None, OK, OK),
    (r"\boxed{\text{(B)}}", "B", None, OK, OK),
    (r"The answer is (B) 42.", "B", None, OK, OK),
    (r"\boxed{\textbf{(C)}}", r"\text{(B)}", None, CM, CM),
    (r"\boxed{42}", r"\text{(B)}", QUESTION_MC, OK, FM),
    (r"\boxed{41}", r"\text{(B)}", QUESTION_MC, CM, CM),
    (r"\boxed{0.5}", r"\text{(D)}", QUESTION_MC, OK, FM),
    (r"\boxed{D}", r"\frac{1}{2}", QUESTION_MC, OK, FM),
    (r"\boxed{A}", "42", QUESTION_MC, CM, CM),
    (r"\boxed{44}", r"\text{(B)}", QUESTION_MC, WV, WV),
    (r"\boxed{\text{(B)}+1}", r"\text{(B)}", None, WV, WV),
    (r"\boxed{\textbf{(C) }12}", "C", None, OK, OK),
    (r"\boxed{4}", "D", r"Find it. $\mathrm{(A) \ } 1 \qquad \mathrm{(B) \ } 2 \qquad "
     r"\mathrm{(C) \ } 3 \qquad \mathrm{(D) \ } 4 \qquad \mathrm{(E) \ } 5$", OK, FM),
]

NUMBERS = [
    (r"\boxed{2 500 000}", "2500000", None, OK, OK),
    (r"\boxed{2\,500}", "2500", None, OK, OK),
    (r"\boxed{2\ 500\ 000}", "2,500,000", None, OK, OK),
    (r"\boxed{y \approx 14}", "14", None, OK, FM),
    (r"\boxed{\approx 14}", "14", None, OK, OK),
    (r"\boxed{y \approx 15}", "14", None, WV, WV),
    (r"\boxed{2 + 3}", "5", "Compute $2+3$.", WV, WV),         # restates the input
    (r"\boxed{12 \cdot 7}", "84", "What is the area of the rectangle?", OK, FM),
    (r"\boxed{\frac{1}{2} + \frac{1}{3}}", r"\frac{5}{6}", None, OK, FM),
    (r"\boxed{12 \cdot 8}", "84", None, WV, WV),
    (r"\boxed{1.5 \times 10^{3}}", "1500", None, OK, OK),          # scientific notation is a form
    (r"\boxed{2 \cdot 10^{3}}", "2000", None, OK, OK),
    (r"\boxed{5!}", "120", None, OK, FM),
    (r"\boxed{3{,}14}", "3.14", None, OK, OK),                     # LaTeX decimal comma
    (r"\boxed{3,5}", "3.5", None, OK, FM),
    (r"\boxed{0,25}", r"\frac14", None, OK, FM),
    (r"\boxed{3,5}", "35", None, WV, WV),
    (r"\boxed{3,500}", "3.5", None, WV, WV),                      # a thousands separator
    (r"\boxed{3,5}", r"3, 5", None, OK, OK),                      # a list when the reference is
    (r"\boxed{\sqrt{-4}}", "2i", None, OK, FM),
    (r"\boxed{2e^{i\pi/3}}", r"1+i\sqrt{3}", None, OK, FM),
    (r"\boxed{2e^{i\pi/3}}", r"1-i\sqrt{3}", None, WV, WV),
    (r"\boxed{2(\cos 60^\circ + i \sin 60^\circ)}", r"1+i\sqrt{3}", None, OK, FM),
    (r"\boxed{2\operatorname{cis}(\pi/3)}", r"1+i\sqrt{3}", None, OK, FM),
    (r"\boxed{2\operatorname{cis}(\pi/6)}", r"1+i\sqrt{3}", None, WV, WV),
    (r"\boxed{2^{2^{100}}}", r"4^{2^{99}}", None, OK, OK),
    (r"\boxed{2^{2^{100}}}", r"2^{2^{99}}", None, WV, WV),
    (r"\boxed{2^{2^{2^{2}}}}", "65536", None, OK, OK),
    (r"\boxed{3^{3^{3}}}", "3^{27}", None, OK, OK),
]

BUGS = [
    (r"\boxed{y=2}", "x=2", None, VM, VM),
    (r"\boxed{x=2}", "x=2", None, OK, OK),
    (r"\boxed{2 \text{ radians}}", r"2^\circ", None, UM, UM),
    (r"\boxed{2^\circ}", r"2\text{ rad}", None, UM, UM),
    (r"\boxed{\frac{\pi}{3}}", r"60^\circ", None, OK, UM),
    (r"\boxed{\frac{\pi}{3}}", r"60^\circ", "Find the angle in degrees.", UM, UM),
    (r"\boxed{(2, 60^\circ)}", r"\left( 2, \frac{\pi}{3} \right)",
     r"Convert to polar coordinates $(r,\theta),$ where $r > 0$ and $0 \le \theta < 2 \pi.$", UM, UM),
    (r"\boxed{(2, \frac{\pi}{3})}", r"(2, 60^\circ)",
     r"Give polar coordinates with $\theta$ in degrees.", UM, UM),
    (r"\boxed{2(x^2-1)}", "2(x-1)(x+1)", "Factor completely: $2x^2-2$.", TF, TF),
    (r"\boxed{2(x+1)(x-1)}", "2(x-1)(x+1)", "Factor completely: $2x^2-2$.", OK, OK),
    (r"\boxed{(x^2-4)(x^2+4)}", "(x-2)(x+2)(x^2+4)", "Factor $x^4-16$ completely.", TF, TF),
    (r"\boxed{(3x-6)(x+2)}", "3(x+2)(x-2)", "Factor $3x^2-12$ completely.", TF, TF),
    (r"\boxed{3(x+2)(x-2)}", "3(x+2)(x-2)", "Factor $3x^2-12$ completely.", OK, OK),
    (r"\boxed{(x+1)(x+2)}", "x^2+3x+2", "Expand $(x+2)(x+1)$.", TF, TF),
    (r"\boxed{x^2+3x+2}", "x^2+3x+2", "Expand $(x+2)(x+1)$.", OK, OK),
    (r"\boxed{\frac{7}{2}}", r"3\frac{1}{2}", "Write $\\frac{7}{2}$ as a mixed number.", WV, WV),
    (r"\boxed{\frac{7}{2}}", r"3\frac{1}{2}", "Convert $3.5$ to a mixed number.", TF, TF),
    (r"\boxed{3.5}", r"3\frac{1}{2}", "Convert $\\frac{14}{4}$ to a mixed number.", TF, TF),
    (r"\boxed{3\frac{1}{2}}", r"3\frac{1}{2}", "Convert $\\frac{14}{4}$ to a mixed number.", OK, OK),
    (r"\boxed{\frac{7}{2}}", r"3\frac{1}{2}", None, OK, OK),
    ("She makes 9 * 2 = 18 dollars every day.", "18", None, NA, NA),
]

FUNCTIONS = [
    (r"\boxed{g(s) = s^2 + 1}", "g(t) = t^2 + 1", None, OK, VM),
    (r"\boxed{s^2 + 1}", "t^2 + 1", None, OK, VM),
    (r"\boxed{s^2 + 2}", "t^2 + 1", None, WV, WV),
    (r"\boxed{2b}", "2a", r"Let $a$ and $b$ be the legs. Find the hypotenuse... in terms of $a$.",
     VM, VM),                                             # two quantities of the question
    (r"\boxed{2b}", "2a", None, OK, VM),
    (r"\boxed{f(s) = s^2 + 1}", "g(t) = t^2 + 1", None, VM, VM),
    (r"\boxed{f^{-1}(x) = \frac{x-3}{2}}", r"\frac{x-3}{2}", None, OK, FM),
    (r"\boxed{a_{m}b_{n-m}}", r"b_{n-m}a_{m}", None, OK, OK),
    (r"\boxed{\sum_{m=0}^{n} b_{n-m}a_{m}}", r"\sum_{m=0}^{n} a_{m}b_{n-m}", None, OK, OK),
    (r"\boxed{\sum_{m=0}^{n} a_{m}b_{m}}", r"\sum_{m=0}^{n} a_{m}b_{n-m}", None, WV, WV),
]

# LaTeX spellings: boxes joined by spacing or words, unbraced roots, spaced digit groups, words in
# font commands, high-precision rounded references, control spaces.
SPELLINGS = [
    (r"\boxed{(2, 2)} \quad \text{and} \quad \boxed{(6, 2)}", "(2, 2), (6, 2)", None, OK, OK),
    (r"\boxed{1} \qquad \boxed{-2}", "1, -2", None, OK, OK),
    (r"\boxed{1} \text{ and } \boxed{3}", "1, -2", None, WV, WV),
    ("$-2, 1$", r"So \(\boxed{1}\) and \(\boxed{-2}\).", None, OK, OK),
    ("$-2$", r"So \(\boxed{1}\) and \(\boxed{-2}\).", None, WV, WV),
    (r"\boxed{\frac{639}{40}}",
     r"$\boxed{15\frac{39}{40}}$ \quad \text{or} \quad $\boxed{\frac{639}{40}}$", None, OK, OK),
    (r"\boxed{\sqrt 2+\sqrt 5}", r"\sqrt{2}+\sqrt{5}", None, OK, OK),
    (r"\boxed{\sqrt 2}", r"\sqrt{2}", None, OK, OK),
    (r"\boxed{\sqrt 23}", r"3\sqrt{2}", None, OK, OK),              # TeX: one token under the root
    (r"\boxed{\sqrt 23}", r"\sqrt{23}", None, WV, WV),
    (r"\boxed{14 {, }916}", "14916", None, OK, OK),
    (r"\boxed{14 {, }916}", "14917", None, WV, WV),
    (r"\boxed{\frac{1}{3} \textbf{meters}}", "1/3", None, OK, OK),
    (r"\boxed{\frac{1}{3} \mathrm{meters}}", r"\frac{1}{3}\text{ m}", None, OK, OK),
    (r"\boxed{\frac{1}{3} \textit{meters}}", "1/2", None, WV, WV),
    (r"\boxed{\sqrt{17}}", "4.123105625617661", None, OK, FM),     # sqrt 17 = 4.12310562561766055
    (r"\boxed{\sqrt{17}}", "4.123105625617662", None, WV, WV),
    (r"\boxed{x=-5, p=\frac{14}{3}}", r"x = -5,\ p = \frac{14}{3}", None, OK, OK),
    (r"\boxed{x=-5,\ p=\frac{14}{3}}", r"x = -5, p = \frac{13}{3}", None, WV, WV),
]

TABLES = {"relations": RELATIONS, "matrices": MATRICES, "several_answers": SEVERAL_ANSWERS,
          "set_words": SET_WORDS, "times": TIMES, "choices": CHOICES, "numbers": NUMBERS,
          "bugs": BUGS, "functions": FUNCTIONS, "spellings": SPELLINGS}


@pytest.mark.parametrize("name", sorted(TABLES))
@pytest.mark.parametrize("strict", [False, True])
def test_answer_kind_table(name, strict):
  misses = verifier_rows.mismatches(TABLES[name], strict)
  assert not misses, "\n".join(map(str, misses))


def test_last_number_fallback_is_opt_in():
  text = "She makes 9 * 2 = 18 dollars every day."
  assert grade(text, "18").reason == NA
  assert grade(text, "18", last_number_fallback=True).correct
  assert grade(text, "18", strict=True, last_number_fallback=True).reason == NA


def test_hostile_kinds_stay_bounded():
  # A tower whose exponent cannot be computed is unreadable, never expanded; relations with
  # huge bounds, many pieces or deep set-builder nesting end quickly.
  hostile = [
      (r"\boxed{2^{2^{2^{2^{100}}}}}", r"4^{2^{2^{99}}}"),
      (r"\boxed{10^{10^{10^{10}}}}", "1"),
      (r"\boxed{|x| > 10^{10^{10}}}", r"(-\infty,-1)\cup(1,\infty)"),
      (r"\boxed{x^{10^{10}} > 2}", r"(2,\infty)"),
      (r"\boxed{" + r" \cup ".join(f"({i},{i + 1})" for i in range(60)) + "}", "(0,60)"),
      (r"\boxed{" + "\\{" * 30 + "x:x<1" + "\\}" * 30 + "}", r"(-\infty,1)"),
      (r"\boxed{\mathbb{R}\setminus\{" + ",".join(map(str, range(60))) + r"\}}", r"\mathbb{R}"),
  ]
  grades = grade_batch([h[0] for h in hostile], [h[1] for h in hostile], deadline_s=2.0)
  assert all(g.reason in (WV, RM, "parse_error", "timeout") for g in grades), grades


def test_answer_keys_separate_times_ratios_and_relations():
  from deepseekmath_jax.verifier import answer_key  # pylint: disable=g-import-not-at-top
  assert answer_key("7:45 p.m.") == answer_key(r"\text{7:45 PM}")
  assert answer_key("7:45 p.m.") != answer_key("8:45 p.m.")
  assert answer_key("3:8") != answer_key("3:7")
  assert answer_key("x < 3") != answer_key(r"x \le 3")
  assert answer_key(r"x > 2 \text{ and } x < 5") != answer_key(r"x > 2 \text{ or } x < 5")
