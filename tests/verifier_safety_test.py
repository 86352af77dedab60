"""Hostile inputs: the verifier never raises, never hangs, and answers within its deadline.

Named attacks from the issue (power towers, 10 000 nested braces, a 1 MB string, Python code,
invalid UTF-8, lone surrogates) are checked one by one with wall-clock timing; then thousands of
generated hostile responses go through `grade_batch` (the bulk settled by the cheap path, a
smaller set forced into the worker pool), and hypothesis feeds arbitrary text.
"""

import random
import time

from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st
import pytest

from deepseekmath_jax.verifier import grade
from deepseekmath_jax.verifier import grade_batch
from deepseekmath_jax.verifier import Grade
from deepseekmath_jax.verifier import REASONS
from deepseekmath_jax.verifier import pool

DEADLINE_S = 1.0
SLACK_S = 0.5
FAIL_REASONS = {"timeout", "parse_error"}


@pytest.fixture(scope="module", autouse=True)
def warm_pool():
  pool.start()  # Worker start-up is not part of any item's deadline.
  yield


def _timed(response, reference, **kwargs):
  start = time.monotonic()
  result = grade(response, reference, deadline_s=DEADLINE_S, **kwargs)
  return result, time.monotonic() - start


@pytest.mark.parametrize("response,reference", [
    (r"\boxed{10^{10^{10^{10}}}}", "5"),
    (r"\boxed{10^{10^{10^{10}}}}", r"\sqrt{2}"),
    (r"\boxed{x^{10^{10^{10}}}}", "x"),
    (r"\boxed{2^{2^{2^{2^{2^{2^{2}}}}}}}", r"\pi"),
    ("\\boxed{" + "{" * 10_000 + "1" + "}" * 10_000 + "}", "1"),
    ("\\boxed{" + "(" * 10_000 + "x" + ")" * 10_000 + "}", "x"),
    ("\\boxed{" + "\\frac{" * 3000 + "1" + "}{2}" * 3000 + "}", r"\sqrt{2}"),
    ("9" * 1_000_000, "9"),
    ("\\boxed{" + "9" * 5000 + "}", "9"),
    ("__import__('os').system('rm -rf /')", "3"),
    ("\\boxed{__import__('os').system('rm -rf /')}", "3"),
    ("\\boxed{\\text{__import__('os')}}", "x"),
    (b"\xff\xfe\xfa \\boxed{3}", "3"),
    ("\\boxed{3}\ud800", "3"),
    ("\\boxed{" + "1," * 5000 + "}", "1"),
    ("\\boxed{\\begin{pmatrix}" + "1&" * 3000 + "\\end{pmatrix}}", "1"),
])
def test_named_attacks_fail_safely_within_deadline(response, reference):
  result, elapsed = _timed(response, reference)
  assert isinstance(result, Grade)
  assert not result.correct
  assert result.reason in FAIL_REASONS, result
  assert elapsed <= DEADLINE_S + SLACK_S, elapsed


def test_timed_out_worker_is_replaced_and_pool_keeps_working():
  before = pool.stats()["replacements"]
  stuck, elapsed = _timed(r"\boxed{x^{10^{10^{10}}}}", "x")
  assert stuck.reason == "timeout"
  assert elapsed <= DEADLINE_S + SLACK_S
  assert pool.stats()["replacements"] > before
  healthy = grade(r"\boxed{2\sqrt{2}}", r"\sqrt{8}", deadline_s=5.0)
  assert healthy.correct, healthy


def test_bad_reference_and_types_do_not_raise():
  assert grade("\\boxed{3}", "").reason == "parse_error"
  assert grade("\\boxed{3}", None).reason == "parse_error"
  assert grade(None, "3").reason == "no_answer"
  assert grade(3, "3").correct
  assert grade(object(), "3").reason == "parse_error"
  with pytest.raises(ValueError, match="2 responses but 1 references"):
    grade_batch(["1", "2"], ["1"])


_FRAGMENTS = [
    "\\frac{", "}", "{", "\\sqrt{", "^{", "_{", "10^{10^{", "\\left(", "\\right)", "(", ")", "[",
    "]", "\\{", "\\}", ",", "=", "<", "\\le", "\\infty", "\\pi", "x", "e", "i", "9" * 50, "0.",
    "\\overline{", "%", "\\%", "\\$", "\\text{", " and ", "\\pm", "\\cup", "&", "\\\\",
    "\\begin{pmatrix}", "\\end{pmatrix}", "!", "\\cdot", "/", "-", "+", "\u221a", "\u00b0",
    "__import__('os')", "\x00", "\u202e", "\ufffd", "\\boxed{", "####", "The answer is ",
    "\\displaystyle", "~", "\\!", "1e999999", "9^9^9^9", "\\log_", "\\sin", "'", "\"",
]


def _hostile(rng: random.Random) -> str:
  parts = [rng.choice(_FRAGMENTS) for _ in range(rng.randint(1, 40))]
  if rng.random() < 0.1:
    parts.append(rng.choice(_FRAGMENTS) * rng.randint(100, 3000))
  text = "".join(parts)
  return text if rng.random() < 0.3 else "\\boxed{" + text + "}"


def test_thousands_of_generated_hostile_inputs_cheap_path():
  rng = random.Random(0)
  responses = [_hostile(rng) for _ in range(3000)]
  start = time.monotonic()
  grades = grade_batch(responses, ["7"] * len(responses), deadline_s=DEADLINE_S)
  elapsed = time.monotonic() - start
  assert len(grades) == len(responses)
  assert all(isinstance(g, Grade) and g.reason in REASONS for g in grades)
  assert not any(g.correct for g in grades)
  # Numeric references settle almost everything without sympy.
  assert elapsed < 60, elapsed


def test_generated_hostile_inputs_through_the_pool():
  rng = random.Random(1)
  responses = [_hostile(rng) for _ in range(60)]
  start = time.monotonic()
  grades = grade_batch(responses, [r"x^2+\sqrt{2}"] * len(responses), deadline_s=DEADLINE_S)
  elapsed = time.monotonic() - start
  assert all(g.reason in REASONS for g in grades)
  assert not any(g.correct for g in grades)
  workers = pool.stats()["workers"]
  assert elapsed <= len(responses) / workers * (DEADLINE_S + SLACK_S) + 5


@settings(max_examples=150, deadline=None)
@given(st.text(max_size=300), st.sampled_from(["7", r"\frac{1}{2}", "(1,2]", r"\text{even}"]))
def test_arbitrary_text_never_raises(response, reference):
  result = grade(response, reference, deadline_s=DEADLINE_S)
  assert result.reason in REASONS
  assert result.correct == (result.reason == "correct")
