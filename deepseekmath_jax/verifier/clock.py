r"""Times of day and ratios: the two readings of `a:b`.

`7:45`, `7:45 PM`, `7:45 p.m.`, `19:45`, `\text{7:45 p.m.}` and `6 a.m.` are parsed by
`normalize` into 'time' nodes (`text` "H:MM", `brackets` the form: "am", "pm", "24" for a 24-hour
reading such as 19:45 or 06:00, "" for an unmarked 12-hour reading). Times compare as minutes
after midnight:

- two definite times (marked, or 24-hour): equal when they name the same minute; strict also
  wants the same form (12-hour marked vs 24-hour);
- an unmarked 12-hour time stands for two minutes of the day. Relaxed accepts it against a
  definite reference with the same clock reading when the question fixes the half of the day:
  it names the reference's half (a.m./p.m.) or no half at all; strict wants the marked form.

`h:mm` with no a.m./p.m. is also how a ratio is written (`5:12`). It is read as a ratio when the
question speaks of a ratio or the other answer is a ratio; ratios compare by proportion (`10:24`
= `5:12`, relaxed only, as a ratio not in lowest terms is another form) and against a fraction by
value (`3:8` vs `\frac{3}{8}`, relaxed only).
"""

from __future__ import annotations

from fractions import Fraction
from typing import Callable

from deepseekmath_jax.verifier import arith
from deepseekmath_jax.verifier.normalize import Node

_DAY = 24 * 60


def _minutes(node: Node) -> set[int]:
  hour_text, minute_text = node.text.split(":")
  hour, minute = int(hour_text), int(minute_text)
  if node.brackets == "am":
    return {(hour % 12) * 60 + minute}
  if node.brackets == "pm":
    return {(hour % 12 + 12) * 60 + minute}
  if node.brackets == "24":
    return {(hour * 60 + minute) % _DAY}
  return {(hour % 12) * 60 + minute, (hour % 12 + 12) * 60 + minute}


def _half(minutes: int) -> str:
  return "am" if minutes < 12 * 60 else "pm"


def as_ratio(node: Node) -> Node:
  """An unmarked `h:mm` time read as the ratio h : mm."""
  hour, minute = node.text.split(":")
  return Node("ratio", items=(Node("scalar", text=hour), Node("scalar", text=str(int(minute)))))


def compare_times(pred: Node, ref: Node, *, strict_form: Callable[[], object],
                  equal: Callable[[], object], wrong: Callable[[], object],
                  ambiguous: Callable[[], object], question_halves: frozenset[str]) -> object:
  """Both nodes are times. Returns the caller's outcome objects."""
  pred_minutes, ref_minutes = _minutes(pred), _minutes(ref)
  if not pred_minutes & ref_minutes:
    return wrong()
  if len(pred_minutes) == len(ref_minutes):
    # Both definite (one minute) or both unmarked (the same clock reading).
    same_form = (pred.brackets in ("am", "pm")) == (ref.brackets in ("am", "pm")) and (
        (pred.brackets == "24") == (ref.brackets == "24"))
    return equal() if same_form else strict_form()
  definite = ref_minutes if len(ref_minutes) == 1 else pred_minutes
  half = _half(next(iter(definite)))
  if question_halves <= {half}:
    return strict_form()
  return ambiguous()  # The right clock reading, but the question leaves the half of the day open.


def _exact(node: Node) -> Fraction | None:
  if node.kind != "scalar" or node.unit or node.percent:
    return None
  try:
    value = arith.try_evaluate(node.text)
  except arith.TooLarge:
    return None
  return value.exact if value is not None else None


def ratio_value(node: Node) -> Fraction | None:
  """a:b as the number a/b (two-term ratios of rationals only)."""
  if node.kind != "ratio" or len(node.items) != 2:
    return None
  first, second = _exact(node.items[0]), _exact(node.items[1])
  if first is None or second is None or second == 0:
    return None
  return first / second


def proportional(pred: Node, ref: Node) -> bool | None:
  """Whether two ratios of rationals are proportional (None: not all terms rational)."""
  if len(pred.items) != len(ref.items):
    return False
  pred_terms = [_exact(item) for item in pred.items]
  ref_terms = [_exact(item) for item in ref.items]
  if None in pred_terms or None in ref_terms:
    return None
  if not any(ref_terms):
    return not any(pred_terms)
  pivot = next(i for i, term in enumerate(ref_terms) if term != 0)
  if pred_terms[pivot] == 0:
    return False
  scale = pred_terms[pivot] / ref_terms[pivot]
  return all(p == scale * r for p, r in zip(pred_terms, ref_terms))
