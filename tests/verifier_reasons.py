"""Short names of the verifier's reasons (`verifier.REASONS`) for the tables of the verifier tests."""

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
