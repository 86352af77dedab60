"""The verifier on the real references: MATH500 and GSM8K self-consistency, perturbation traps.

- Every MATH500 `answer`, written the way a model writes it, is graded correct against its own
  solution (the reference is extracted from the solution's last box), in both modes.
- The answer field equals what `extract_reference` reads from the solution, for all 500 rows.
- Changing one digit of a reference never yields an accepted answer (no false accepts).
- Every GSM8K reference (`#### n`) is read and accepted from a boxed, a `####` and an
  "The answer is" response.
"""

import json
import pathlib
import re

import pytest

from deepseekmath_jax.verifier import extract_reference
from deepseekmath_jax.verifier import grade_batch

DATA = pathlib.Path(__file__).resolve().parents[1].parent / "shared" / "data"
MATH500 = DATA / "math" / "math500" / "test.jsonl"
GSM8K = DATA / "gsm8k" / "test.jsonl"

pytestmark = pytest.mark.skipif(not MATH500.exists() or not GSM8K.exists(),
                                reason=f"real data not found under {DATA}")


def _rows(path):
  with open(path, encoding="utf-8") as handle:
    return [json.loads(line) for line in handle]


@pytest.fixture(scope="module")
def math500():
  return _rows(MATH500)


def test_reference_extraction_matches_answer_field(math500):
  mismatched = [row["unique_id"] for row in math500
                if extract_reference(row["solution"]) != row["answer"]]
  assert not mismatched


@pytest.mark.parametrize("strict", [False, True])
def test_math500_answers_grade_correct_against_their_solutions(math500, strict):
  responses = [f"Putting it together, the final answer is $\\boxed{{{row['answer']}}}$."
               for row in math500]
  grades = grade_batch(responses, [row["solution"] for row in math500], strict=strict,
                       questions=[row["problem"] for row in math500])
  failures = [(row["unique_id"], row["answer"], g.reason)
              for row, g in zip(math500, grades) if not g.correct]
  assert not failures, failures


def _perturb(answer: str) -> str | None:
  """Changes the last digit of the answer (9 -> 8, other d -> d+1); None when it has none."""
  digits = [m.start() for m in re.finditer(r"\d", answer)]
  if not digits:
    return None
  pos = digits[-1]
  digit = int(answer[pos])
  new = 8 if digit == 9 else digit + 1
  return answer[:pos] + str(new) + answer[pos + 1:]


def test_math500_one_digit_changes_are_never_accepted(math500):
  items = []
  for row in math500:
    changed = _perturb(row["answer"])
    if changed is not None:
      items.append((row, changed))
  grades = grade_batch([f"\\boxed{{{changed}}}" for _, changed in items],
                       [row["answer"] for row, _ in items],
                       questions=[row["problem"] for row, _ in items])
  accepted = [(row["unique_id"], row["answer"], changed)
              for (row, changed), g in zip(items, grades) if g.correct]
  assert len(items) > 400
  assert not accepted, accepted
  reasons = {g.reason for g in grades}
  assert reasons <= {"wrong_value", "unit_mismatch", "parse_error", "format_mismatch"}, reasons


def test_gsm8k_references_are_read_from_every_answer_format():
  rows = _rows(GSM8K)
  values = [row["answer"].split("####")[-1].strip() for row in rows]
  responses, references = [], []
  for row, value in zip(rows, values):
    responses += [f"... so she makes ${value}.\n#### {value}", f"The answer is {value}.",
                  f"Total: $\\boxed{{{value}}}$"]
    references += [row["answer"]] * 3
  grades = grade_batch(responses, references)
  failures = [(r[:40], g.reason) for r, g in zip(responses, grades) if not g.correct]
  assert not failures, failures[:20]
  assert all(extract_reference(row["answer"]) == value.replace(",", "")
             for row, value in zip(rows, values))
