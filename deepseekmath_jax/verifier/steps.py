r"""Exact checking of the arithmetic written in a solution's steps: `check_equations(text)`.

A grade-school solution commits to its arithmetic in writing (`Rest: 40 - 10 = 30.`, GSM8K's
`<<48/2=24>>`, `3x = 34 - 7 = 27`). Each such claim can be checked exactly, which makes a
rule-based process reward (arXiv:2402.03300 §4.1.3, with exact step checks in place of a
learned process reward model): a step is right when its arithmetic is, and wrong arithmetic is
located at the token that states the wrong result.

An equation here is a chain `E0 = E1 (= E2 ...)` of purely numeric expressions (integers,
decimals, `+ - * /`, `×`, `÷`, `\times`, `\cdot`, `\div`, parentheses), at least one of which
holds an operation: `12 = 12` restates a number and is not a step. A chain is correct when every
side evaluates (exactly, `verifier.arith`) to the same rational. Sides that are not numeric
(`3x`, `x`) end the chain, so `3x = 34 - 7 = 27` checks `34 - 7 = 27`. Untrusted text: the
input is cut at `MAX_CHARS`, literals and results are bounded by `arith`, nothing is evaluated
as code.
"""

from __future__ import annotations

import dataclasses
import re
from fractions import Fraction

from deepseekmath_jax.verifier import arith

MAX_CHARS = 20_000          # characters of a response examined
MAX_EQUATIONS = 256         # equations reported per response

_NUM = r"-?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?"
_OP = r"(?:[-+*/×÷−]|\\times|\\cdot|\\div)"
# A numeric side: numbers joined by operators, parentheses around them (balance is checked by
# evaluation). A chain must not continue a word or a number (`x2`, `3.5` from its `5`, `1,000`
# from its `000`).
# Runs of spaces and parentheses are bounded, so that no text makes the scan quadratic.
# So are the terms of a side and the sides of a chain (a longer one is checked from its tail).
_SIDE = rf"[(\s]{{0,8}}{_NUM}[)\s]{{0,8}}(?:{_OP}[(\s]{{0,8}}{_NUM}[)\s]{{0,8}}){{0,16}}"
_CHAIN_RE = re.compile(rf"(?<![\w.,]){_SIDE}(?:=(?!=){_SIDE}){{1,8}}(?![\w(]|[.,]\d)")
_OP_RE = re.compile(rf"(?<=[\d)\s]){_OP}")
_CONTINUES = re.compile(rf"(?:{_OP}|\^)\s*$")   # text before a chain that extends its side
_LATEX_OPS = {"×": "*", "\\times": "*", "\\cdot": "*", "÷": "/", "\\div": "/", "−": "-"}


@dataclasses.dataclass(frozen=True)
class Equation:
  """One checked arithmetic claim: `text[start:end]`, e.g. `40 - 10 = 45`."""
  start: int
  end: int
  correct: bool
  text: str


def _value(side: str) -> Fraction | None:
  side = side.replace(",", "")
  for latex, op in _LATEX_OPS.items():
    side = side.replace(latex, op)
  try:
    value = arith.try_evaluate(side)
  except arith.TooLarge:
    return None
  return None if value is None else value.exact


def check_equations(text: str) -> list[Equation]:
  """Every arithmetic equation chain of `text`, in order, each judged exactly.

  A chain whose sides cannot all be evaluated (unbalanced parentheses, division by zero, a
  literal past arith's bounds) is reported as incorrect: it claims a computation that is not
  one.
  """
  text = text[:MAX_CHARS]
  out = []
  for match in _CHAIN_RE.finditer(text):
    sides = match.group(0).split("=")
    offset = match.start()
    if _CONTINUES.search(text[max(0, offset - 16):offset]):
      # `2x + 3 + 4 = 7`: the first side is the tail of an expression; check the rest.
      offset += len(sides[0]) + 1
      sides = sides[1:]
    if len(sides) < 2 or not any(_OP_RE.search(s) for s in sides):
      continue   # `12 = 12`: no computation claimed
    values = [_value(s) for s in sides]
    correct = None not in values and len(set(values)) == 1
    # Offsets of the stripped chain: the step ends at the last character of its result.
    raw = "=".join(sides)
    start = offset + len(raw) - len(raw.lstrip())
    end = offset + len(raw.rstrip())
    out.append(Equation(start, end, bool(correct), text[start:end]))
    if len(out) >= MAX_EQUATIONS:
      break
  return out
