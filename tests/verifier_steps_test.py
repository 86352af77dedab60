"""Exact checks of written arithmetic (verifier/steps.py): what counts as an equation, and
that hostile text is bounded."""

import time

import pytest

from deepseekmath_jax.verifier import steps


def _checked(text):
  return [(e.text, e.correct) for e in steps.check_equations(text)]


@pytest.mark.parametrize("text,expected", [
    ("Pens: 4 * 3 = 12. Books: 2 * 7 = 14. Total: 12 + 14 = 26. The answer is \\boxed{26}.",
     [("4 * 3 = 12", True), ("2 * 7 = 14", True), ("12 + 14 = 26", True)]),
    ("Rest: 40 - 10 = 45. Left: 17 - 5 = 8.", [("40 - 10 = 45", False), ("17 - 5 = 8", False)]),
    # Non-numeric sides end a chain; the numeric part is checked.
    ("3x + 7 = 34. 3x = 34 - 7 = 27. x = 27 / 3 = 9.", [("34 - 7 = 27", True),
                                                         ("27 / 3 = 9", True)]),
    ("10 - 3 = 7 = 7.0", [("10 - 3 = 7 = 7.0", True)]),
    ("10 - 3 = 7 = 8", [("10 - 3 = 7 = 8", False)]),
    ("so <<48/2=24>>24 clips", [("48/2=24", True)]),        # GSM8K calculator annotation
    ("(2 + 3) * 4 = 20 and 3 \\times 4 = 12, 8 ÷ 2 = 4", [("(2 + 3) * 4 = 20", True),
                                                         ("3 \\times 4 = 12", True),
                                                         ("8 ÷ 2 = 4", True)]),
    ("-3 + 5 = 2", [("-3 + 5 = 2", True)]),
    ("1,000 + 5 = 1,005", [("1,000 + 5 = 1,005", True)]),
    ("3.5 * 2 = 7.", [("3.5 * 2 = 7", True)]),
    ("Ada spends 4 * 3 = 12 dollars", [("4 * 3 = 12", True)]),
    # A claimed computation that is not one is wrong.
    ("5 / 0 = 1", [("5 / 0 = 1", False)]),
    ("(2 + 3 * 4 = 20", [("(2 + 3 * 4 = 20", False)]),
])
def test_equations_are_found_and_judged_exactly(text, expected):
  assert _checked(text) == expected


@pytest.mark.parametrize("text", [
    "12 = 12",            # no operation: restates a number
    "2x + 3 + 4 = 7",     # the first side is the tail of `2x + 3 + 4`
    "x - 3 = 7",
    "10^2 + 1 = 101",     # a power before the chain
    "3 * 4 = 12x",        # the result continues into a word
    "x2 + 2 = 4",
    "a == b, 3 == 3",
])
def test_partial_or_non_arithmetic_text_is_not_an_equation(text):
  assert _checked(text) == []


def test_offsets_point_at_the_equation():
  text = "Left: 13 - 1 = 12. Days: 12 / 4 = 3."
  for e in steps.check_equations(text):
    assert text[e.start:e.end] == e.text
  assert text[:steps.check_equations(text)[-1].end].endswith("= 3")


def test_hostile_text_is_bounded():
  start = time.perf_counter()
  huge = "9" * 5000 + " * " + "9" * 5000 + " = 1"
  assert _checked(huge) == [(huge, False)]            # past arith's literal bound: not a value
  long = "1 + 1 = 2. " * 50_000
  assert len(steps.check_equations(long)) == steps.MAX_EQUATIONS
  for hostile in ("(" * 100_000 + "1 = 1 + 0", "1+" * 10_000, ("1 + " * 3000 + "= ") * 3,
                  "1 = " * 10_000):
    assert steps.check_equations(hostile) == []
  # A chain longer than the scan's bounds is checked from a tail that stands alone, or not at all.
  assert _checked("+".join(["1"] * 20) + " = 20 and 2+2=4") == [("2+2=4", True)]
  assert time.perf_counter() - start < 10
