"""Public grading entry points: `grade`, `grade_batch`, `answer_key` and the `Grade` record.

An item goes through the cheap path in the calling process first (extraction, normalization,
exact arithmetic: `extract.py`, `normalize.py`, `arith.py`, `equivalence.py`). Only items that
need algebra (surds, pi, polynomials, equations) are sent to the worker pool (`pool.py`), where
sympy runs under a wall-clock deadline. For GRPO rewards most items never leave the process.
"""

from __future__ import annotations

import dataclasses
import functools
import re
from typing import Any, Sequence

from deepseekmath_jax.verifier import arith
from deepseekmath_jax.verifier import equivalence
from deepseekmath_jax.verifier import extract
from deepseekmath_jax.verifier import normalize
from deepseekmath_jax.verifier import pool

MAX_RESPONSE_CHARS = 131_072
# A response that ends in code instead of an answer (`__import__('os').system(...)`).
_CODE_LIKE_RE = re.compile(r"__\w+__|\bimport\s+\w|\b(?:exec|eval|system)\s*\(")
MAX_ANSWER_CHARS = 1_000
DEFAULT_DEADLINE_S = 2.0

REASONS: dict[str, str] = {
    "correct": "the answer equals the reference under the requested mode",
    "wrong_value": "the answer is readable and has another value (or another object)",
    "no_answer": "no committed final answer: no box/marker, an empty or unclosed \\boxed{}",
    "parse_error": "the answer (or input) cannot be read: too long, not valid text, unparseable",
    "format_mismatch": "right value, wrong form: accepted in relaxed mode only (strict wants the "
                       "reference's kind)",
    "unit_mismatch": "the unit changes the quantity (25 m vs 25 km, 2 radians vs 2 degrees), or, "
                     "in strict mode, the reference's unit is missing or replaced",
    "relation_mismatch": "the same boundary points but another relation or set (x < 3 vs "
                         "x <= 3, x > 3 vs x < 3, x = 3 vs x <= 3)",
    "variable_mismatch": "the answer is about another variable or quantity (y = 2 vs x = 2); in "
                         "strict mode also a renamed free variable (g(s) vs g(t))",
    "choice_mismatch": "another option of a multiple-choice question (letter or option text)",
    "task_form_mismatch": "right value, but in a form the task rules out (a partial factorization "
                          "for 'factor completely', a product for 'expand', an improper "
                          "fraction for 'as a mixed number', a mixed number or decimal for 'as "
                          "a common fraction', a fraction for 'as a decimal', an unreduced "
                          "fraction for 'in lowest terms', an exact form or extra places for "
                          "'to the nearest hundredth')",
    "timeout": "the symbolic check did not finish within the deadline",
}


@dataclasses.dataclass(frozen=True)
class Grade:
  """The verdict on one response. pred/ref: the normalized extracted answers ("" if none)."""
  correct: bool
  reason: str
  pred: str
  ref: str


def _as_text(value: Any) -> str | None:
  """Untrusted input as a str, or None when it is not valid text (bytes that are not UTF-8,
  lone surrogates, objects)."""
  if value is None:
    return ""
  if isinstance(value, bytes):
    try:
      return value.decode("utf-8")
    except UnicodeDecodeError:
      return None
  if isinstance(value, (int, float)) and not isinstance(value, bool):
    return str(value)
  if not isinstance(value, str):
    return None
  try:
    value.encode("utf-8")
  except UnicodeEncodeError:
    return None
  return value


@functools.lru_cache(maxsize=8192)
def _parse(answer: str) -> normalize.Node:
  """Cached: GRPO grades G samples against one reference, and answers repeat across samples."""
  if len(answer) > MAX_ANSWER_CHARS:
    raise normalize.ParseError("answer too long")
  try:
    return normalize.parse_answer(normalize.clean(answer))
  except RecursionError:
    raise normalize.ParseError("answer nested too deeply") from None


def _judge(pred_answer: str, ref_answer: str, strict: bool, question: str | None,
           symbolic_fn: equivalence.SymbolicFn | None,
           solve_relation: Any = None) -> equivalence.Outcome:
  """Compares two extracted answers (the pure function behind grading)."""
  try:
    ref_node = _parse(ref_answer)
  except normalize.ParseError:
    ref_node = None
  try:
    pred_node = _parse(pred_answer)
  except normalize.ParseError:
    return equivalence.Outcome(equivalence.UNEQUAL, "parse_error")
  if ref_node is None:
    same = normalize.canonical(normalize.clean(pred_answer)) == normalize.canonical(
        normalize.clean(ref_answer))
    return equivalence.Outcome(equivalence.EQUAL) if same else equivalence.Outcome(
        equivalence.UNEQUAL, "wrong_value")
  ctx = equivalence.make_context(question, strict, symbolic_fn, solve_relation)
  try:
    return equivalence.compare(pred_node, ref_node, ctx)
  except RecursionError:
    return equivalence.Outcome(equivalence.UNEQUAL, "parse_error")


def judge_symbolic(pred_answer: str, ref_answer: str, strict: bool,
                   question: str | None) -> tuple[str, str]:
  """Worker-side judgement with sympy enabled; returns (status, reason)."""
  from deepseekmath_jax.verifier import symbolic  # pylint: disable=g-import-not-at-top
  outcome = _judge(pred_answer, ref_answer, strict, question, symbolic.compare,
                   symbolic.solve_relation)
  if outcome.status == equivalence.UNDECIDED:
    return equivalence.UNEQUAL, "wrong_value"
  return outcome.status, outcome.reason


def _verdict(status: str, reason: str, strict: bool) -> tuple[bool, str]:
  if status == equivalence.EQUAL or (status == equivalence.RELAXED and not strict):
    return True, "correct"
  if status == equivalence.RELAXED:
    return False, reason or "format_mismatch"
  return False, reason or "wrong_value"


def _display(answer: str) -> str:
  try:
    return normalize.clean(answer[:MAX_ANSWER_CHARS])
  except normalize.ParseError:
    return answer[:MAX_ANSWER_CHARS]


@dataclasses.dataclass
class _Prepared:
  grade: Grade | None = None
  task: tuple[str, str, bool, str | None] | None = None
  pred: str = ""
  ref: str = ""


_DECIMAL_COMMA_RE = re.compile(r"^-?\d+,(?:\d{1,2}|\d{4,})$")
_COLLECTION_KINDS = ("list", "set", "union")


def _is_collection(answer: str) -> bool:
  """Whether a reference is a list, set or tuple (so several final boxes are its parts)."""
  try:
    node = _parse(answer)
  except normalize.ParseError:
    return "," in answer
  if node.kind == "eq" and node.items[-1].kind in _COLLECTION_KINDS:
    return True
  return node.kind in _COLLECTION_KINDS or (node.kind == "seq" and len(node.items) > 1)


def _decimal_comma(pred_answer: str, ref_answer: str) -> str | None:
  """`3,5` read as 3.5 when that is the only reading that fits: one comma, not before exactly
  three digits (that is a thousands separator), no space after it, and a reference that is one
  rational non-integer number (a list or tuple reference keeps the list reading).
  """
  cleaned = pred_answer.strip().strip("$").strip()
  if not _DECIMAL_COMMA_RE.match(cleaned):
    return None
  try:
    ref_node = _parse(ref_answer)
  except normalize.ParseError:
    return None
  if ref_node.kind != "scalar" or ref_node.unit or ref_node.percent:
    return None
  try:
    value = arith.try_evaluate(ref_node.text)
  except arith.TooLarge:
    return None
  if value is None or value.exact is None or value.exact.denominator == 1:
    return None
  return cleaned.replace(",", ".")


def _prepare(response: Any, reference: Any, strict: bool, question: Any,
             last_number_fallback: bool = False) -> _Prepared:
  """Runs everything that is cheap; leaves a pool task when sympy is needed."""
  response_text = _as_text(response)
  reference_text = _as_text(reference)
  question_text = _as_text(question) if question is not None else None
  if reference_text is None or not reference_text.strip():
    return _Prepared(Grade(False, "parse_error", "", ""))
  if len(reference_text) > MAX_RESPONSE_CHARS:
    return _Prepared(Grade(False, "parse_error", "", ""))
  ref_answer = extract.extract_reference(reference_text)
  ref_display = _display(ref_answer)
  if response_text is None or len(response_text) > MAX_RESPONSE_CHARS:
    return _Prepared(Grade(False, "parse_error", "", ref_display))
  if question_text is not None and len(question_text) > MAX_RESPONSE_CHARS:
    question_text = None
  final = extract.final_answer(response_text, strict=strict,
                               last_number_fallback=last_number_fallback)
  pred_parts = final.parts
  if final.hedge is not None:
    # `\boxed{12} (though 13 is also possible)`: a value offered after the box as another
    # possible answer; the response commits to no single answer, so it has none that is right.
    return _Prepared(Grade(False, "wrong_value", _display(f"{pred_parts[-1]} \\text{{ or }} "
                                                          f"{final.hedge}"), ref_display))
  pred_answer = ", ".join(pred_parts) if pred_parts else None
  if (len(pred_parts) > 1 and not strict and not final.or_joined
      and not _is_collection(ref_answer)):
    # Several final boxes against a single answer: the last box is the answer (relaxed); strict
    # grades them as the list they are. Boxes joined by "or" (`\boxed{6} or \boxed{5}`) are
    # alternatives: graded as the list in both modes (a hedge against a single answer).
    pred_answer = pred_parts[-1]
  if pred_answer is None or not pred_answer.strip():
    if _CODE_LIKE_RE.search(response_text[-2000:]):
      return _Prepared(Grade(False, "parse_error", "", ref_display))
    return _Prepared(Grade(False, "no_answer", "", ref_display))
  pred_display = _display(pred_answer)
  comma_decimal = _decimal_comma(pred_answer, ref_answer)
  if comma_decimal is not None:
    outcome = _judge(comma_decimal, ref_answer, strict, question_text, None)
    if outcome.status == equivalence.EQUAL:  # Another notation: relaxed only.
      outcome = equivalence.Outcome(equivalence.RELAXED, "format_mismatch")
    correct, reason = _verdict(outcome.status, outcome.reason, strict)
    if outcome.status != equivalence.UNDECIDED:
      return _Prepared(Grade(correct, reason, pred_display, ref_display))
  outcome = _judge(pred_answer, ref_answer, strict, question_text, None)
  if outcome.status == equivalence.UNDECIDED:
    return _Prepared(task=(pred_answer, ref_answer, strict, question_text), pred=pred_display,
                     ref=ref_display)
  correct, reason = _verdict(outcome.status, outcome.reason, strict)
  return _Prepared(Grade(correct, reason, pred_display, ref_display))


def _finish(prepared: _Prepared, result: Any, strict: bool) -> Grade:
  if result == pool.TIMEOUT:
    return Grade(False, "timeout", prepared.pred, prepared.ref)
  if not isinstance(result, tuple) or len(result) != 2 or result[0] == "__error__":
    return Grade(False, "parse_error", prepared.pred, prepared.ref)
  correct, reason = _verdict(result[0], result[1], strict)
  return Grade(correct, reason, prepared.pred, prepared.ref)


def grade(response: str, reference: str, *, strict: bool = False, question: str | None = None,
          deadline_s: float = DEFAULT_DEADLINE_S, last_number_fallback: bool = False) -> Grade:
  """Grades one response against a reference. Never raises on bad input; see REASONS.

  Args:
    response: a whole model response or a bare answer (with or without `$...$`/`\\boxed{}`).
    reference: a bare answer, a MATH solution (last `\\boxed{}`) or a GSM8K answer (`#### n`).
    strict: strict semantics (same kind, no percent leniency, reference's unit required).
    question: the problem text; it may fix the answer's kind (percent, rounding, order, units,
      a factor/convert task, option letters).
    deadline_s: wall-clock limit for the symbolic check, when one is needed.
    last_number_fallback: a response with no committed answer (no box, no answer sentence) is
      graded on its last number instead of `no_answer` (relaxed mode only; the official GSM8K
      evaluation's rule).
  """
  return grade_batch([response], [reference], strict=strict, deadline_s=deadline_s,
                     questions=[question], last_number_fallback=last_number_fallback)[0]


def grade_batch(responses: Sequence[str], references: Sequence[str], *, strict: bool = False,
                deadline_s: float = DEFAULT_DEADLINE_S,
                questions: Sequence[str | None] | None = None,
                num_workers: int | None = None,
                last_number_fallback: bool = False) -> list[Grade]:
  """Grades many items; symbolic checks run in parallel in the shared worker pool.

  Each item that needs sympy gets `deadline_s` seconds of wall-clock time in a worker, counted
  from when a worker takes it; a worker past its deadline is killed and replaced and the item is
  graded `timeout`. Items settled by the cheap path never reach the pool.
  """
  if len(responses) != len(references):
    raise ValueError(f"grade_batch: {len(responses)} responses but {len(references)} references")
  if questions is not None and len(questions) != len(responses):
    raise ValueError(f"grade_batch: {len(questions)} questions for {len(responses)} responses")
  questions = questions if questions is not None else [None] * len(responses)
  prepared = []
  for response, reference, question in zip(responses, references, questions):
    try:
      prepared.append(_prepare(response, reference, strict, question, last_number_fallback))
    except (Exception, RecursionError) as err:  # pylint: disable=broad-except
      # The cheap path is written not to raise; this is a last line of defence for GRPO runs.
      del err
      prepared.append(_Prepared(Grade(False, "parse_error", "", "")))
  task_items = [i for i, p in enumerate(prepared) if p.task is not None]
  results = pool.run_tasks([prepared[i].task for i in task_items], deadline_s, num_workers)
  for index, result in zip(task_items, results):
    prepared[index].grade = _finish(prepared[index], result, strict)
  return [p.grade for p in prepared]


def answer_key(answer: str, question: str | None = None) -> str:
  """A canonical key of an extracted answer, for grouping votes (maj@k) without sympy.

  Answers with the same key are equivalent in relaxed mode. The converse does not always hold:
  forms that only algebra can identify (2\\sqrt{2} vs \\sqrt{8}) get different keys. Numbers
  are keyed by exact value (so 0.5, 1/2, \\frac{1}{2} and 50\\% share a key; units are dropped),
  `x = 5` is keyed as 5, sets and "all solutions" lists ignore order, and words are lowercased.
  When the question asks for a percent, a bare 25 and 25\\% share a key.
  """
  text = _as_text(answer)
  if text is None:
    return "invalid:"
  try:
    node = _parse(text)
  except normalize.ParseError:
    return "raw:" + normalize.canonical(_display(text))
  except Exception:  # pylint: disable=broad-except  # Keys must never fail a vote.
    return "raw:" + text[:MAX_ANSWER_CHARS]
  if question and node.kind == "scalar" and not node.percent:
    if equivalence.make_context(question, False).percent_question:
      node = dataclasses.replace(node, percent=True)
  try:
    return normalize.answer_key(node)
  except Exception:  # pylint: disable=broad-except
    return "raw:" + normalize.canonical(_display(text))
