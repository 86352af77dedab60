"""Prompt formats: exact strings, exemplars drawn from the training splits and verified."""

from pathlib import Path

import pytest

from deepseekmath_jax import verifier
from deepseekmath_jax.evaluation import benchmarks
from deepseekmath_jax.evaluation import prompts

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
needs_data = pytest.mark.skipif(not DATA.is_dir(), reason=f"shared data not found at {DATA}")


def test_zero_shot_cot_is_the_papers_chat_format():
  fmt = prompts.get_format("zero_shot_cot")
  assert fmt.build("  What is $1+1$?\n") == (
      "User: What is $1+1$?\nPlease reason step by step, and put your final answer within "
      "\\boxed{}.\n\nAssistant:")
  assert fmt.build("{x} and {question}").startswith("User: {x} and {question}\n")


def test_few_shot_layouts_and_stops():
  math = prompts.get_format("math_4shot")
  p = math.build("Compute $2+2$.")
  assert p.count("Problem:\n") == 5 and p.count("I hope it is correct.") == 4
  assert p.endswith("\n\nProblem:\nCompute $2+2$.\n\nSolution:")
  assert "Final Answer: The final answer is $\\frac{17}{6}$. I hope it is correct." in p
  assert math.stop == ("\nProblem:",)
  gsm = prompts.get_format("gsm8k_8shot")
  p = gsm.build("How many?")
  assert p.count("Q: ") == 9 and p.count("The answer is") == 8
  assert p.endswith("\n\n\nQ: How many?\nA:")
  assert gsm.truncate(" 3 + 4 = 7. The answer is 7.\nQ: next one\nA: 5") == (
      " 3 + 4 = 7. The answer is 7.")
  assert math.truncate("no stop here") == "no stop here"
  with pytest.raises(ValueError, match="unknown prompt format"):
    prompts.get_format("nope")


def test_paraphrases_keep_question_and_box_instruction():
  formats = prompts.paraphrase_formats()
  assert len(formats) >= 4
  assert formats[0].template == prompts.get_format("zero_shot_cot").template
  assert len({f.template for f in formats}) == len(formats)
  for f in formats:
    built = f.build("QQQ")
    assert "QQQ" in built and "\\boxed" in built
    assert built.startswith("User: ") and built.endswith("\n\nAssistant:")


@needs_data
def test_gsm8k_exemplars_are_training_problems_with_verified_answers():
  train = benchmarks.load_benchmark("gsm8k", str(DATA), "train")
  test_questions = {p.question for p in benchmarks.load_benchmark("gsm8k", str(DATA), "test")}
  assert len(prompts.GSM8K_EXEMPLARS) == 8
  for source, question, solution in prompts.GSM8K_EXEMPLARS:
    index = int(source.rsplit("/", 1)[1])
    assert train[index].question == question, source
    assert question not in test_questions
    grade = verifier.grade(solution, train[index].reference)
    assert grade.correct, (source, grade)


@needs_data
def test_math_exemplars_are_training_problems_with_verified_answers():
  train = {p.id: p for p in benchmarks.load_benchmark("math", str(DATA), "train")}
  assert len(prompts.MATH_EXEMPLARS) == 4
  for unique_id, question, solution, answer in prompts.MATH_EXEMPLARS:
    assert train[unique_id].question == question, unique_id
    text = (f"{solution}\nFinal Answer: The final answer is ${answer}$. I hope it is correct.")
    grade = verifier.grade(text, train[unique_id].reference, question=question)
    assert grade.correct, (unique_id, grade)
