r"""Answers committed in words and the repairs of extraction: answer lines, concluding sentences,
a final presented object, a final-answer statement after the last box, escaping artifacts, and
several boxes joined by short separators (README "Answer verifier", "Extraction").

Each case is written from the rule it checks; each group has negatives that must stay unread.
"""

import time

import pytest

from deepseekmath_jax.verifier import extract_answer
from deepseekmath_jax.verifier import extract_reference
from deepseekmath_jax.verifier import grade
from deepseekmath_jax.verifier.extract import extract_answers
from deepseekmath_jax.verifier.extract import repair_escapes

# An answer line commits to what follows it on its line; a sentence there states one value.
ANSWER_LINES = [
    ("Final Answer: The smallest $k$ is 17.", "17"),
    ("We add them up.\nAnswer: Tom reads 4 books every week.", "4"),
    ("**Answer:** $\\frac{3}{8}$", "\\frac{3}{8}"),
    ("Work...\n\nFINAL ANSWER: The area of $PQRS$ is 48. I hope it is correct. <|im_end|>", "48"),
    ("Answer\n\\[\n 27\n\\]", "27"),
    ("Answer $$ 14 $$", "14"),
    ("Answer \\( 2^{5} \\)", "2^{5}"),  # the word "Answer" is not part of the answer
    ("Answer $ 31 $", "31"),
    ("Sum of the legs. Final answer: 12 cm", "12 cm"),
    ("Final Answer: The roots are $-3$ and $5$.", "-3, 5"),
]
ANSWER_LINES_UNREAD = [
    "Answer the question by reading the chart first.",
    "Answer $\n 4 \n$",             # inline math does not cross a line break
    "Answer \\(\n 4 \n\\)",
    "Final Answer: I could not finish the computation.",
    "Final Answer: the values are 3 and 4 or maybe 6 and 7 or 1 and 9 depending on the case",
    # "Answer:" that begins a worked solution: its first sentence is a step, not the answer.
    "Answer: Maya bakes 3 * 8 = 24 muffins on Monday. On Tuesday she bakes twice as many, 48.",
]

# The last sentence, when it concludes, commits to the value it states.
CONCLUDING = [
    ("Therefore $y \\le -2$ is the solution.", "y \\le -2"),
    ("We find that $t \\ne 4$.", "t \\ne 4"),
    ("Subtracting, $p - q = 4$ Hence, the pair $(p, q)$ satisfying both equations is $(3, -1)$."
     " <|im_end|>", "(3, -1)"),
    ("Each of 10 people shakes 9 hands, and each handshake is counted twice. Thus, there are 45"
     " handshakes in total.</s>", "45"),
    ("The new price is 1.15 times the old one. So, the price rises by 15%.", "15%"),
    ("It works for every $m$ above two. $m > 2$ is our answer.", "m > 2"),
    ("Dividing, r = 60/4 = 15 Therefore the speed of the cyclist is 15. I hope it is correct.",
     "15"),
    ("In conclusion, the common ratio is $\\frac{2}{3}$, since every term is two thirds of the"
     " previous one.", "\\frac{2}{3}"),
    ("The coordinates of $Q$ are $(1, 1)$, so $\\cot 45^\\circ = 1$. Therefore the slope of $OQ$"
     " is $1$, so $\\theta = \\frac{\\pi}{4}$.", "\\theta = \\frac{\\pi}{4}"),
    ("Thus the solutions are $x = 2$ and $x = -7$.", "x = 2, x = -7"),
    ("So the train arrives at 9:20 p.m.", "9:20 p.m."),
    # Dollar signs before numbers are currency, not math delimiters.
    ("Four tickets cost 4 x $12 = $48.\nThus, the family spends $48 + $6 = $54.", "54"),
    ("So, the painter earns 6*$15=$90.", "90"),
    ("Hence the savings are $120 000 - $85 500 = $34 500.", "34 500"),
    ("Therefore, it takes 240/20 = 12 days for the plant to be 300 cm tall.", "12"),
    ("So, our two numbers are 9 and 14, with the larger one being $14$.", "14"),
]
CONCLUDING_UNREAD = [
    "Therefore, if $n = 4$ we would get 16 squares.",        # a supposition
    "Thus we need to check $k = 3$ next.",                    # a plan
    "So we have 3 red and 5 blue marbles.",                   # two numbers, no "is"
    "First add the rows.\nTherefore, the total is 12",        # cut off: maybe 120
    "Therefore, $x$ is not $7$.",                              # a negation
    "The total is 12.",                                        # no conclusion, no math
    "So is the answer $5$?",                                   # a question
    "Thus, we can rewrite the expression as follows:",       # ends with a colon
    "Therefore, we substitute $x = 3$ into the second equation and",  # cut off after its math
    "So the equation to solve is $2x + 1 = 9$.",              # the problem restated
    "So the speed is 2.5*60 km per hour and 3 more.",         # an expression, not a value
]

# A last sentence that presents one math object after "is", "=" or a colon.
FINAL_OBJECTS = [
    ("The inverse matrix is $\\begin{pmatrix} 2 & -1 \\\\ -1 & 1 \\end{pmatrix}$.",
     "\\begin{pmatrix} 2 & -1 \\\\ -1 & 1 \\end{pmatrix}"),
    ("Here is the reflected point: $(-4, 9)$", "(-4, 9)"),
    ("The product of the two factors is $3 \\cdot 7$", "3 \\cdot 7"),
    ("Reflected vector: \\[\\begin{pmatrix} 0 \\\\ 5 \\end{pmatrix}\\]",
     "\\begin{pmatrix} 0 \\\\ 5 \\end{pmatrix}"),
]
FINAL_OBJECTS_UNREAD = [
    "Let the side length be $s$.",
    "Substituting gives: $2x + 3 = 11$",                     # a step, not a presented object
    "Simplify the left side: $4x = 12$",                     # a relation after a bare colon
    "We compute $a$ and $b$ separately.",                    # no is/colon position
    "What is $3 + 4$?",
    "First we expand $(x+1)^2$ to get",
    "The terms $a_1$, $a_2$ and $a_3$ form a progression.",
    "The given expression is $12 + 30$.",                     # the problem restated
    "We start from the system: $x + y = 10$",
    "The equation is $2x + 1 = 9$.",
]


@pytest.mark.parametrize("text,expected", ANSWER_LINES + CONCLUDING + FINAL_OBJECTS)
def test_committed_sentences_are_read(text, expected):
  assert extract_answer(text) == expected


@pytest.mark.parametrize("text", ANSWER_LINES_UNREAD + CONCLUDING_UNREAD + FINAL_OBJECTS_UNREAD)
def test_uncommitted_sentences_stay_no_answer(text):
  assert extract_answer(text) is None
  assert grade(text, "7").reason == "no_answer"


def test_sentence_answers_are_graded_in_both_modes():
  assert grade("Final Answer: The smallest $k$ is 17.", "17").correct
  assert grade("Final Answer: The smallest $k$ is 17.", "17", strict=True).correct
  assert grade("Thus, there are 45 handshakes in total.", "45").correct
  assert grade("Thus, there are 45 handshakes in total.", "54").reason == "wrong_value"
  assert grade("Hence the savings are $120 000 - $85 500 = $34 500.", "34500").correct
  assert grade("Answer \\( (3+4) \\)", "7").correct       # unevaluated arithmetic: relaxed
  assert grade("Therefore $y \\le -2$ is the solution.", "y \\le -2").correct
  assert not grade("Therefore $y \\le -2$ is the solution.", "y \\ge -2").correct


def test_a_final_answer_statement_after_the_last_box_overrides_it():
  text = ("Interest: $\\boxed{36}$. Adding the deposit, the balance is $1,240. Final Answer: The"
          " final answer is $1,240$. I hope it is correct.")
  assert extract_answer(text) == "$1,240$"
  assert grade(text, "1240").correct and not grade(text, "36").correct
  assert extract_answer("\\boxed{40}\n\n**Final Answer:** $42$") == "42"
  # A later sentence that states no value keeps the box.
  assert extract_answer("\\boxed{8}. The answer is correct.") == "8"
  assert extract_answer("\\boxed{8}\n\nFinal Answer: correct") == "8"
  assert extract_answer("\\boxed{8}. This final answer is reasonable.") == "8"
  # The demo's template is read as before.
  assert extract_answer("Adding gives 12. The answer is \\boxed{12}.") == "12"
  assert grade("Adding gives 12. The answer is \\boxed{12}.", "12").correct


@pytest.mark.parametrize("text,expected", [
    ("$\\\\dfrac{\\\\sqrt{3}}{2}$", "$\\dfrac{\\sqrt{3}}{2}$"),            # escaped twice: halved
    ("\\\\frac{1}{2} + \\sqrt{2}", "\\frac{1}{2} + \\sqrt{2}"),            # one doubled command
    ("\\\\begin{pmatrix} 1 \\\\\\\\ 2 \\\\end{pmatrix}",
     "\\begin{pmatrix} 1 \\\\ 2 \\end{pmatrix}"),
    ("x \\ge 1 \\\\text{ and } y \\\\le 2", "x \\ge 1 \\text{ and } y \\le 2"),
    ("a_{1}=3,\\qquadb_{1}=4", "a_{1}=3,\\qquad b_{1}=4"),                # spacing glued to a name
    ("\\quadx", "\\quad x"),
])
def test_escaping_artifacts_are_repaired(text, expected):
  assert repair_escapes(text) == expected


@pytest.mark.parametrize("text", [
    "\\begin{bmatrix} 1 & 2 \\\\ 3 & 4 \\end{bmatrix}",                 # row breaks stay
    "a \\\\ b",
    "\\begin{pmatrix} 1 \\\\\\frac{1}{2} \\end{pmatrix}",                # a row break then \frac
    "\\begin{array}{c} 1 \\\\frac \\end{array}",                          # inside an array: literal
    "\\quad x + \\qquad y",
])
def test_row_breaks_and_proper_latex_are_left_alone(text):
  assert repair_escapes(text) == text


def test_repairs_apply_to_responses_and_references():
  reference = "$\\\\left(\\\\frac{2}{7},\\\\frac{3}{7}\\\\right)$"
  assert extract_reference(reference) == "$\\left(\\frac{2}{7},\\frac{3}{7}\\right)$"
  assert grade("\\boxed{\\left( \\frac{2}{7}, \\frac{3}{7} \\right)}", reference).correct
  response = "So $\\\\boxed{\\\\left( 2, \\\\frac{\\\\pi}{3} \\\\right)}$."
  assert extract_answer(response) == "\\left( 2, \\frac{\\pi}{3} \\right)"
  assert grade(response, "(2, \\frac{\\pi}{3})").correct
  assert extract_reference("$a_{1}=5,\\quadb_{1}=6$") == "$a_{1}=5,\\quad b_{1}=6$"


@pytest.mark.parametrize("text,parts", [
    ("\\boxed{2} \\text{ in part (i) and } \\boxed{5}", ["2", "5"]),
    ("$a_1 = \\boxed{4}$ and $a_2 = \\boxed{9}$", ["4", "9"]),
    ("\\( r_1 = \\boxed{-1} \\) and \\( r_2 = \\boxed{6} \\)", ["-1", "6"]),
    ("\\boxed{3} cats and \\boxed{4} dogs", ["3", "4"]),
    ("\\boxed{3} \\hfill \\boxed{4}", ["3", "4"]),
    ("\\boxed{3} then \\boxed{4}", ["4"]),                              # a sequence of steps
    ("\\boxed{3}, not \\boxed{4}", ["4"]),                              # a negation
    ("\\boxed{3} = \\boxed{4}", ["4"]),                                 # a relation
    ("\\boxed{3} + \\boxed{4}", ["4"]),                                 # an operation
    ("\\boxed{3}. Next we compute \\boxed{4}", ["4"]),                  # a sentence ends
    ("\\boxed{3} is what the first step gives, and \\boxed{4}", ["4"]),
    ("\\boxed{3} " + "which we keep for the next part of the long argument here " + "\\boxed{4}",
     ["4"]),                                                             # too long to join
])
def test_boxes_joined_by_short_separators(text, parts):
  assert extract_answers(text) == parts


def test_joined_boxes_are_a_list_only_against_a_list():
  assert extract_reference("\\boxed{3} apples and \\boxed{4} pears") == "3, 4"
  assert grade("\\boxed{3, 4}", "\\boxed{3} apples and \\boxed{4} pears").correct
  assert not grade("\\boxed{4}", "\\boxed{3} apples and \\boxed{4} pears").correct
  pairs = "\\boxed{(2, 2)} \\text{ for the first part and } \\boxed{(0, 5)}"
  assert grade(pairs, "(2, 2), (0, 5)").correct
  assert not grade(pairs, "(2, 2), (0, 6)").correct
  labelled = "$y_1 = \\boxed{3}$ and $y_2 = \\boxed{5}$"
  assert grade(labelled, "3, 5").correct
  assert grade(labelled, "5").correct                        # relaxed: the last box
  assert not grade(labelled, "5", strict=True).correct       # strict: the list
  assert extract_reference("\\boxed{3} apples, or \\boxed{4} pears") == "4"  # two forms


def test_a_reference_without_a_box_that_states_its_answer():
  reference = ("Half of the 70 seats are taken, so 35 are free. Final Answer: The final answer"
               " is $35$. I hope it is correct. Note: seats were counted twice.")
  assert extract_reference(reference) == "$35$"
  assert grade("\\boxed{35}", reference).correct
  assert extract_reference("all real numbers") == "all real numbers"  # bare: taken whole


@pytest.mark.parametrize("text", [
    "$" * 131_072,
    "\\(" * 60_000,
    "Therefore " * 13_000,
    "Answer: " * 16_000,
    "\\boxed{1} and " * 9_000,
    "\\boxed{1}" + " " * 120_000 + "x\\boxed{2}",                      # a long gap between boxes
    "is $a$ " * 18_000,
    "\\\\" * 60_000,
    "Final Answer: " + "$x$ is " * 18_000,
])
def test_hostile_sentences_are_read_in_bounded_time(text):
  start = time.perf_counter()
  extract_answer(text)
  extract_reference(text)
  # A generous bound that only a quadratic scan would exceed (about 1e10 steps here).
  assert time.perf_counter() - start < 20
