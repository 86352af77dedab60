"""Matrices and vectors: `pmatrix`/`bmatrix`/`array` environments, tuples read as column vectors,
`a\\mathbf{i} + b\\mathbf{j} + c\\mathbf{k}` forms and a factor written outside (normalize.py
parses all of them into 'matrix' nodes whose `text` says the form).

Entries are compared one by one by the caller's comparison (`equivalence.compare`, which may
defer to sympy), so nothing here evaluates anything. The same entries in another form (a tuple
for a column vector, a row for a column, the `\\mathbf{i}` form, a factor outside) are equal in
relaxed mode only.
"""

from __future__ import annotations

from typing import Any, Callable

from deepseekmath_jax.verifier.normalize import Node

_EQUAL_STATUSES = ("equal", "relaxed")


def _as_rows(node: Node) -> list[tuple[Node, ...]] | None:
  if node.kind == "matrix":
    return [row.items for row in node.items]
  if node.kind == "seq" and node.brackets in ("()", "<>", "[]"):
    return [(item,) for item in node.items]  # A tuple compares as a column vector.
  return None


def compare_matrices(pred: Node, ref: Node, compare_pairs: Callable[[list[tuple[Node, Node]]], Any],
                     relaxed: Any, wrong: Any) -> Any:
  """Compares a matrix or vector with another (or with a tuple).

  compare_pairs(pairs): the caller's combined outcome of comparing each (pred, ref) entry pair;
  relaxed / wrong: the caller's outcomes for "same entries in another form" and "another value".
  """
  outcome = _compare_entries(pred, ref, compare_pairs, relaxed, wrong)
  if outcome.status == "equal" and pred.kind == ref.kind and pred.text != ref.text:
    return relaxed  # `\mathbf{i}` form or a factor outside: another form of the same vector.
  return outcome


def _compare_entries(pred: Node, ref: Node, compare_pairs: Callable[[list[tuple[Node, Node]]], Any],
                     relaxed: Any, wrong: Any) -> Any:
  pred_rows, ref_rows = _as_rows(pred), _as_rows(ref)
  if pred_rows is None or ref_rows is None:
    return wrong
  # `a\mathbf{i} + b\mathbf{j}` without `\mathbf{k}` is also the 3-vector (a, b, 0).
  zero = (Node("scalar", text="0"),)
  if pred.text == "ijk" and len(pred_rows) == 2 and len(ref_rows) == 3:
    pred_rows = pred_rows + [zero]
  if ref.text == "ijk" and len(ref_rows) == 2 and len(pred_rows) == 3:
    ref_rows = ref_rows + [zero]
  if len(pred_rows) != len(ref_rows) or any(len(a) != len(b) for a, b in zip(pred_rows, ref_rows)):
    # A row vector against a column vector of the same entries.
    flat_pred = [cell for row in pred_rows for cell in row]
    flat_ref = [cell for row in ref_rows for cell in row]
    pred_shape = (len(pred_rows), len(pred_rows[0]) if pred_rows else 0)
    ref_shape = (len(ref_rows), len(ref_rows[0]) if ref_rows else 0)
    if len(flat_pred) != len(flat_ref) or pred_shape[::-1] != ref_shape or 1 not in pred_shape:
      return wrong
    outcome = compare_pairs(list(zip(flat_pred, flat_ref)))
    return relaxed if outcome.status in _EQUAL_STATUSES else outcome
  outcome = compare_pairs([(p, r) for row_p, row_r in zip(pred_rows, ref_rows)
                           for p, r in zip(row_p, row_r)])
  if outcome.status == "equal" and pred.kind != ref.kind:
    return relaxed  # Tuple vs column vector: same entries, another kind.
  return outcome
