"""The verifier's public API: extraction, reference reading, answer keys, the reason taxonomy."""

import dataclasses

import pytest

from deepseekmath_jax.verifier import answer_key
from deepseekmath_jax.verifier import extract_answer
from deepseekmath_jax.verifier import extract_reference
from deepseekmath_jax.verifier import Grade
from deepseekmath_jax.verifier import grade
from deepseekmath_jax.verifier import REASONS


def test_reason_taxonomy_is_fixed_and_documented():
  assert set(REASONS) == {"correct", "wrong_value", "no_answer", "parse_error",
                          "format_mismatch", "unit_mismatch", "timeout", "relation_mismatch",
                          "variable_mismatch", "choice_mismatch", "task_form_mismatch"}
  assert all(REASONS.values())


def test_grade_is_a_frozen_record():
  result = grade(r"\boxed{\dfrac{1}{2}}", "0.5")
  assert result == Grade(True, "correct", r"\frac{1}{2}", "0.5")
  with pytest.raises(dataclasses.FrozenInstanceError):
    result.correct = False


@pytest.mark.parametrize("text,expected", [
    (r"so $\boxed{\frac{a}{b+\{c\}}}$ done", r"\frac{a}{b+\{c\}}"),
    (r"\boxed{1} then \boxed{2}", "2"),
    (r"\boxed{2} and \boxed{3}", "2, 3"),
    (r"\boxed{5}, \boxed{5}", "5"),
    (r"\fbox{x+1}", "x+1"),
    (r"\boxed 5.", "5"),
    (r"\boxed{}", None),
    (r"truncated \boxed{\frac{1}{2", None),
    ("Final Answer: The final answer is $(1,2)$. I hope it is correct.", "$(1,2)$"),
    ("Step 1...\n#### 1,234", "1,234"),
    ("Thus the answer is 3.5.\nDone.", "3.5"),
    ("The answer is: $x=2$.", "$x=2$"),
    ("$\\frac{1}{2}$", "$\\frac{1}{2}$"),
    ("Monday", "Monday"),
    ("She pays 5 dollars, then 7 more, so 12 in total", None),
    ("no numbers here at all, sorry", None),
])
def test_extract_answer(text, expected):
  assert extract_answer(text) == expected


def test_last_number_fallback_only_when_requested_and_never_in_strict():
  text = "She pays 5 dollars, then 7 more, so 12 in total, I think"
  assert extract_answer(text) is None
  assert extract_answer(text, last_number_fallback=True) == "12"
  assert extract_answer(text, strict=True, last_number_fallback=True) is None
  assert grade(text, "12").reason == "no_answer"
  assert grade(text, "12", last_number_fallback=True).correct
  assert grade(text, "12", strict=True, last_number_fallback=True).reason == "no_answer"


def test_extract_reference_formats():
  assert extract_reference("5 + 7 = 12 apples\n#### 1,200") == "1200"
  assert extract_reference(r"So $x=\boxed{\frac{\pi}{2}}$.") == r"\frac{\pi}{2}"
  assert extract_reference(r"$\boxed{1}$ and $\boxed{2}$") == "1, 2"
  assert extract_reference(r"$\boxed{1}$ is a start. Finally $\boxed{2}$.") == "2"
  assert extract_reference(r"  \frac{1}{2} ") == r"\frac{1}{2}"


def test_answer_key_groups_equivalent_answers():
  assert answer_key("0.5") == answer_key(r"\frac{1}{2}") == answer_key("1/2") == answer_key(
      r"\dfrac12") == answer_key(r"50\%")
  assert answer_key("x = 5") == answer_key("5") == answer_key(r"5 \text{ apples}")
  assert answer_key("1,000") == answer_key("1000")
  assert answer_key(r"\{3, 1\}") == answer_key(r"\{1,3\}")
  assert answer_key("(1, 3)") != answer_key("(3, 1)")
  assert answer_key(r"\text{Even}") == answer_key(r"\text{even}")
  assert answer_key("0.3333") != answer_key(r"\frac{1}{3}")
  assert answer_key("25", question="What percent?") == answer_key(r"25\%")
  assert answer_key("25") != answer_key(r"25\%")
  assert answer_key(r"\frac{1}{2") .startswith("raw:")


def test_deadline_keyword_and_questions_are_accepted():
  result = grade(r"\boxed{2\sqrt{2}}", r"\sqrt{8}", deadline_s=5.0, question="Simplify.")
  assert result.correct and result.reason == "correct"
