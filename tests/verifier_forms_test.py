r"""Forms an answer must take, and answers that commit to no single value. Each row is judged from
the mathematics: (response, reference, question, relaxed verdict, strict verdict).

- multiple choice: a letter written with a text (`\textbf{(B) } 14`) names one option only when
  the text is that option's value; the text of another option (or of none) contradicts it;
- task forms: "as a common fraction" (a/b: not a mixed number, not a decimal), "as a decimal"
  (not a fraction), "in lowest terms" (a reduced fraction);
- a rounding instruction in the question must be followed: an exact form or more places than
  asked is the right value in a form the task rules out;
- rates (`km/h`, `m/s`, `mph`, `miles per hour`, `m/s^2`) are units and convert exactly;
- a value offered after the final box as another possible answer, or boxes joined by "or"
  against a single answer, is a hedge; a check after the box is not;
- "What percent ...?": a bare number is the percent, never the fraction.
"""

import time

import pytest

from deepseekmath_jax.verifier import grade
from deepseekmath_jax.verifier.extract import final_answer
from verifier_rows import OK, WV, FM, UM, CM, TF
import verifier_rows


SHAPES_Q = (r"How many sides does a hexagon have? $\textbf{(A)}\ 4 \qquad \textbf{(B)}\ 5 \qquad "
            r"\textbf{(C)}\ 6 \qquad \textbf{(D)}\ 7 \qquad \textbf{(E)}\ 8$")
WORDS_Q = ("Which quadrilateral has four equal sides and four right angles?\n"
           "(A) kite (B) rhombus (C) square (D) trapezoid (E) rectangle")

CHOICE_TEXT = [
    (r"\boxed{\textbf{(C) } 6}", r"\textbf{(C)}", SHAPES_Q, OK, OK),       # its own option's text
    (r"\boxed{\text{(C)}~6}", "C", SHAPES_Q, OK, OK),
    (r"\boxed{(C)\ \frac{12}{2}}", "C", SHAPES_Q, OK, OK),                # the value, another form
    (r"\boxed{\textbf{(C) } 7}", "C", SHAPES_Q, CM, CM),                  # option (D)'s text
    (r"\boxed{\textbf{(D) } 6}", "C", SHAPES_Q, CM, CM),                  # wrong letter, right text
    (r"\boxed{(C) 9}", "C", SHAPES_Q, CM, CM),                            # the text of no option
    (r"\boxed{(C) 7}", "6", SHAPES_Q, CM, CM),                            # against the value
    (r"\boxed{(C) 6}", "6", SHAPES_Q, OK, FM),                            # letter vs text: strict
    (r"\boxed{\text{(C) square}}", "C", WORDS_Q, OK, OK),
    (r"\boxed{\text{(C) rhombus}}", "C", WORDS_Q, CM, CM),
    (r"\boxed{\textbf{(C) } 7}", r"\textbf{(C) } 6", None, CM, CM),      # the reference's own text
    (r"\boxed{\textbf{(C)}\ 6}", r"\textbf{(C) } 6", None, OK, OK),
    (r"\boxed{(C) 7}", "C", None, OK, OK),   # no options to read: the letter is the answer
]

TASK_FORMS = [
    (r"\boxed{\frac{11}{4}}", r"\frac{11}{4}",
     r"What is $5.5 \div 2$? Express your answer as a common fraction.", OK, OK),
    (r"\boxed{11/4}", r"\frac{11}{4}", "Express your answer as a common fraction.", OK, OK),
    (r"\boxed{2\frac{3}{4}}", r"\frac{11}{4}", "Express your answer as a common fraction.", TF, TF),
    (r"\boxed{2.75}", r"\frac{11}{4}", "Express your answer as a common fraction.", TF, TF),
    (r"\boxed{-1.2}", r"-\frac{6}{5}", "Give the slope as a common fraction.", TF, TF),
    (r"\boxed{0.\overline{6}}", r"\frac23", "Express the probability as a common fraction.", TF, TF),
    (r"\boxed{\frac{22}{8}}", r"\frac{11}{4}", "Express your answer as a common fraction.", OK, FM),
    (r"\boxed{\frac{22}{8}}", r"\frac{11}{4}", None, OK, OK),             # no form prescribed
    (r"\boxed{\frac{10}{15}}", r"\frac23", "Write the ratio as a fraction in lowest terms.", TF, TF),
    (r"\boxed{\frac{10}{15}}", r"\frac23", "Simplify. Express your answer in simplest form.", TF, TF),
    (r"\boxed{\frac{2}{3}}", r"\frac23", "Write the ratio as a fraction in lowest terms.", OK, OK),
    (r"\boxed{\frac{3}{2}}", r"\frac23", "Express your answer as a common fraction.", WV, WV),
    (r"\boxed{0.625}", "0.625", r"Write $\frac{5}{8}$ as a decimal.", OK, OK),
    (r"\boxed{\frac{5}{8}}", "0.625", r"What is $0.25 + 0.375$? Express your answer as a decimal.",
     TF, TF),
    (r"\boxed{1\frac{1}{4}}", "1.25", "Express your answer as a decimal.", TF, TF),
    (r"\boxed{5/4}", "1.25", "Express your answer as a decimal.", TF, TF),
    (r"\boxed{1.2}", "1.25", "Express your answer as a decimal.", WV, WV),
    (r"\boxed{\frac{5}{4}}", "1.25", None, OK, OK),                       # no form prescribed
]

ROUNDING = [
    (r"\boxed{3\sqrt{3}}", "5.20", "Find the length to the nearest hundredth.", TF, TF),
    (r"\boxed{\frac{25}{6}}", "4.17", "Round your answer to 2 decimal places.", TF, TF),
    (r"\boxed{2\pi}", "6.3", "Express your answer as a decimal to the nearest tenth.", TF, TF),
    (r"\boxed{\sqrt{50}}", "7", "Round to the nearest whole number.", TF, TF),
    (r"\boxed{5.196}", "5.20", "Find the length to the nearest hundredth.", TF, TF),
    (r"\boxed{4.1667}", "4.17", "Round your answer to two decimal places.", TF, TF),
    (r"\boxed{5.20}", "5.20", "Find the length to the nearest hundredth.", OK, OK),
    (r"\boxed{5.19}", "5.20", "Find the length to the nearest hundredth.", WV, WV),
    (r"\boxed{3\sqrt{2}}", "5.20", "Find the length to the nearest hundredth.", WV, WV),
    # Without a rounding instruction an exact form matches a rounded reference in relaxed mode.
    (r"\boxed{3\sqrt{3}}", "5.20", None, OK, FM),
    (r"\boxed{\frac{25}{6}}", "4.17", "Find the average speed.", OK, FM),
]

RATES = [
    (r"\boxed{90 \text{ km/h}}", r"25 \text{ m/s}", None, OK, UM),
    (r"\boxed{90 \text{ km/hr}}", r"25 \text{ m/s}", None, OK, UM),
    (r"\boxed{90\,\text{km}/\text{h}}", r"25 \text{ m/s}", None, OK, UM),
    (r"\boxed{25 \text{ m/s}}", r"90 \text{ km/h}", None, OK, UM),
    (r"\boxed{8.\overline{3} \text{ m/s}}", r"30 \text{ km/h}", None, OK, UM),
    (r"\boxed{\frac{25}{3} \text{ m/s}}", r"30 \text{ km/h}", None, OK, UM),
    (r"\boxed{8.3 \text{ m/s}}", r"30 \text{ km/h}", None, WV, WV),
    (r"\boxed{90 \text{ m/s}}", r"90 \text{ km/h}", None, UM, UM),       # the unit changes it
    (r"\boxed{50 \text{ mph}}", r"50 \text{ miles per hour}", None, OK, OK),
    (r"\boxed{88 \text{ ft/s}}", r"60 \text{ mph}", None, OK, UM),
    (r"\boxed{80 \text{ ft/s}}", r"60 \text{ mph}", None, WV, WV),
    (r"\boxed{9.8 \text{ m/s}^2}", r"9.8 \text{ m/s^2}", None, OK, OK),
    (r"\boxed{9.8 \text{ m/s}}", r"9.8 \text{ m/s}^2", None, UM, UM),    # speed vs acceleration
    (r"\boxed{12 \text{ dollars per hour}}", r"\$12", None, UM, UM),     # a rate is not an amount
    (r"\boxed{90 \text{ km/h}}", "90", "How fast is the train, in km/h?", OK, OK),
    (r"\boxed{90 \text{ km/h}}", "90", "How fast is the train, in miles per hour?", UM, UM),
    (r"\boxed{2 a/b}", r"\frac{2a}{b}", None, OK, OK),                   # letters, not a unit
]

HEDGES = [
    (r"The total is $\boxed{20}$ (though 21 is also possible).", "20", None, WV, WV),
    (r"The total is $\boxed{20}$, or maybe $21$.", "20", None, WV, WV),
    (r"The total is $\boxed{20}$. It might also be 21.", "20", None, WV, WV),
    (r"The total is $\boxed{20}$. Alternatively, it could be $19$.", "20", None, WV, WV),
    (r"$\boxed{9}$ or $\boxed{10}$", "10", None, WV, WV),               # boxes joined by "or"
    (r"$\boxed{9}$ or perhaps $\boxed{10}$", "9", None, WV, WV),
    (r"$x = \boxed{9}$ or $x = \boxed{10}$", "9, 10",
     r"Find all solutions of $x^2 - 19x + 90 = 0$.", OK, OK),           # "or" lists solutions
    (r"$\boxed{9}$ and $\boxed{10}$", "10", None, OK, WV),               # several boxes: the last
    (r"$\boxed{2\frac12}$ or $\boxed{\frac52}$", r"\frac52", None, OK, OK),  # one value, two forms
    # Not hedges: a check, another form of the same value, a rejected candidate, a verdict.
    (r"The total is $\boxed{20}$. Check: $4 \cdot 5 = 20$.", "20", None, OK, OK),
    (r"The total is $\boxed{20}$. The answer is correct.", "20", None, OK, OK),
    (r"So $p = \boxed{\frac14}$, or $0.25$.", r"\frac14", None, OK, OK),
    (r"So $p = \boxed{\frac14}$, or equivalently 25 percent.", r"\frac14", None, OK, OK),
    (r"Thus $x = \boxed{4}$; $x = -4$ might also be a root, but it is extraneous.", "4", None,
     OK, OK),
    (r"Thus $\boxed{4}$. Maybe 4 seems small, but it checks out.", "4", None, OK, OK),
    (r"There are $\boxed{30}$ ways, or 60 if order mattered, which it does not.", "30", None,
     OK, OK),
]

PERCENT_QUESTIONS = [
    (r"\boxed{40}", r"40\%", "What percent of 25 is 10?", OK, FM),
    (r"\boxed{40\%}", r"40\%", "What percent of 25 is 10?", OK, OK),
    (r"\boxed{0.4}", r"40\%", "What percent of 25 is 10?", WV, WV),      # 0.4 is 0.4%
    (r"\boxed{\frac25}", r"40\%", "By what percent did the price rise?", WV, WV),
    (r"\boxed{0.4}", r"40\%", "Express the share of red marbles as a percent.", WV, WV),
    (r"\boxed{0.4}", r"40\%", None, OK, FM),                              # no question: the value
    (r"\boxed{0.4}", r"40\%", "A coat is 40% off. What fraction of the price is saved?", OK, FM),
]

TABLES = {"choice_text": CHOICE_TEXT, "task_forms": TASK_FORMS, "rounding": ROUNDING,
          "rates": RATES, "hedges": HEDGES, "percent_questions": PERCENT_QUESTIONS}


@pytest.mark.parametrize("strict", [False, True], ids=["relaxed", "strict"])
@pytest.mark.parametrize("name", sorted(TABLES))
def test_answer_forms(name, strict):
  misses = verifier_rows.mismatches(TABLES[name], strict)
  assert not misses, "\n".join(map(str, misses))


def test_hedge_is_reported_with_its_alternatives():
  text = r"The total is $\boxed{20}$ (though 21 is also possible)."
  final = final_answer(text)
  assert final.parts == ["20"] and final.hedge == "21"
  assert "21" in grade(text, "21").pred and not grade(text, "21").correct
  joined = final_answer(r"$\boxed{9}$ or $\boxed{10}$")
  assert joined.parts == ["9", "10"] and joined.or_joined
  assert not final_answer(r"$\boxed{9}$ and $\boxed{10}$").or_joined


def test_hedge_scan_is_bounded():
  # The scan reads a bounded window after the box, whatever follows.
  tail = " or maybe " * 10000 + "$21$"
  start = time.perf_counter()
  assert grade(r"$\boxed{20}$" + tail, "20").correct
  assert time.perf_counter() - start < 2.0
