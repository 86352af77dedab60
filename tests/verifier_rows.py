"""The verifier tests' labelled rows: short names of the reasons (`verifier.REASONS`) and the
check of a table of (response, reference, question, relaxed reason, strict reason) rows."""

from typing import Sequence

from deepseekmath_jax.verifier import grade_batch
from deepseekmath_jax.verifier import REASONS

OK = "correct"
WV = "wrong_value"
NA = "no_answer"
PE = "parse_error"
FM = "format_mismatch"
UM = "unit_mismatch"
RM = "relation_mismatch"
VM = "variable_mismatch"
CM = "choice_mismatch"
TF = "task_form_mismatch"
TO = "timeout"
assert set(REASONS) == {OK, WV, NA, PE, FM, UM, RM, VM, CM, TF, TO}, REASONS


def mismatches(rows: Sequence[tuple], strict: bool, deadline_s: float = 10.0) -> list[tuple]:
  """The rows whose reason in the given mode is not their label, with the verifier's reason and
  reading; also checks that `correct` is exactly `reason == "correct"`."""
  grades = grade_batch([r[0] for r in rows], [r[1] for r in rows], strict=strict,
                       questions=[r[2] for r in rows], deadline_s=deadline_s)
  out = []
  for row, result in zip(rows, grades):
    expected = row[4] if strict else row[3]
    assert result.correct == (result.reason == OK), (row, result)
    if result.reason != expected:
      out.append((row[0], row[1], row[2], expected, result.reason, result.pred))
  return out
