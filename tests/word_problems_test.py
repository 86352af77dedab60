"""The demo's word-problem generator: deterministic, checked, graded correct by the verifier."""

import collections
import re

import pytest

from deepseekmath_jax import verifier
from deepseekmath_jax.demo import pool
from deepseekmath_jax.demo import word_problems as wp


def test_deterministic_and_seeded():
  a = wp.generate(60, seed=3)
  assert a == wp.generate(60, seed=3)
  assert [p.question for p in a] != [p.question for p in wp.generate(60, seed=4)]
  assert wp.problem(7, 11) == wp.problem(7, 11)


def test_every_template_and_format():
  problems = wp.generate(600, seed=0)
  assert set(collections.Counter(p.template for p in problems)) == set(wp.TEMPLATES)
  assert len({p.question for p in problems}) == len(problems)
  for p in problems:
    assert p.solution.endswith(f"The answer is \\boxed{{{p.answer}}}.")
    assert p.answer > 0
    # One `label: a op b = c.` sentence per step (plus an equation's statement).
    statement = 1 if p.template == "equation" else 0
    assert len(re.findall(r"= \d+\.", p.solution)) == p.num_steps + statement
    assert p.as_text() == f"Question: {p.question}\nSolution: {p.solution}"


def test_verifier_grades_every_solution_correct():
  problems = wp.generate(200, seed=1)
  grades = verifier.grade_batch([p.solution for p in problems],
                                [str(p.answer) for p in problems],
                                questions=[p.question for p in problems])
  assert all(g.correct for g in grades), [g for g in grades if not g.correct][:3]
  wrong = verifier.grade(problems[0].solution, str(problems[0].answer + 1))
  assert not wrong.correct


def test_check_rejects_wrong_or_ungrounded_steps():
  good = wp._Draft("Ada has 3 pens and buys 4 more.", [wp._step("Total", "+", 3, 4)])
  wp.check(good, "t")
  bad_value = wp._Draft("Ada has 3 pens and buys 4 more.", [wp.Step("Total", (3, 4), "+", 8)])
  with pytest.raises(AssertionError, match="wrong"):
    wp.check(bad_value, "t")
  ungrounded = wp._Draft("Ada has 3 pens.", [wp._step("Total", "+", 3, 5)])
  with pytest.raises(AssertionError, match="neither in the question"):
    wp.check(ungrounded, "t")
  not_a_root = wp._Draft("If 2x + 1 = 9, what is x?", [wp._step("2x", "-", 9, 1, equation=True),
                                                       wp.Step("x", (8, 2), "/", 4, True)],
                         equation=(2, 1, 11, "mul_add"))
  with pytest.raises(AssertionError, match="does not solve"):
    wp.check(not_a_root, "t")


def test_difficulty_knobs():
  one = wp.generate(50, seed=2, difficulty=wp.Difficulty(min_steps=1, max_steps=1))
  assert {p.num_steps for p in one} == {1} and {p.template for p in one} == {"totals"}
  long = wp.generate(80, seed=2, difficulty=wp.Difficulty(min_steps=4, max_steps=6))
  assert min(p.num_steps for p in long) >= 4 and max(p.num_steps for p in long) > 4
  small = wp.generate(200, seed=2, difficulty=wp.Difficulty(max_number=20, max_factor=3))
  big = wp.generate(200, seed=2, difficulty=wp.Difficulty(max_number=200, max_factor=40))
  assert max(p.answer for p in small) < max(p.answer for p in big)
  with pytest.raises(ValueError):
    wp.Difficulty(min_steps=3, max_steps=2)


def test_exclude_and_templates_filter():
  base = wp.generate(30, seed=5)
  held = {p.question for p in base[:10]}
  again = wp.generate(30, seed=5, exclude=held)
  assert not held & {p.question for p in again}
  only = wp.generate(20, seed=5, templates=["equation"])
  assert {p.template for p in only} == {"equation"}


def test_chat_question_matches_the_evaluation_prompt():
  from deepseekmath_jax.data import tokenizer as tokenizer_lib
  from deepseekmath_jax.evaluation import prompts
  q = wp.problem(0, 0).question
  assert (tokenizer_lib.chat_prompt(pool.chat_question(q)) ==
          prompts.get_format("zero_shot_cot").build(q))
