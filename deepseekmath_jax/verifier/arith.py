"""Exact and approximate evaluation of purely numeric LaTeX answers, without sympy.

Most math answers are numbers (311 of MATH500's 500 references are integers), and a GRPO step
grades thousands of them, so the common case must not pay for sympy. This module is a small
recursive-descent parser for the numeric subset of LaTeX: integers and decimals, `\\frac`, `a/b`,
mixed numbers (`3\\frac{1}{2}`), powers, scientific notation (`1.5\\times10^{3}`, `1.5e3`),
repeating decimals (`0.\\overline{3}`), `\\sqrt`, `\\sqrt[n]`, `\\pi`, `+ - * /` and parentheses.

Evaluation gives a `Value`: the exact rational (`fractions.Fraction`) when the expression is
rational, and always a float approximation. The float is only used to *reject* (two values that
differ far beyond float error are different); accepting a non-rational match is left to sympy in
a worker process (`symbolic.py`), because no float tolerance may let an approximation equal an
exact value (DESIGN.md "Verifier semantics": 2.828427 is not 2*sqrt(2)).

Inputs are untrusted model output, so every size is bounded: literal length, exponent size and
the bit length of exact results. `10^{10^{10}}` raises `TooLarge` instead of computing.
Anything outside the subset (a variable, `\\sin`, `\\infty`) raises `NotNumeric`.
"""

from __future__ import annotations

import dataclasses
import decimal
import math
import re
from fractions import Fraction

MAX_LITERAL_DIGITS = 400
MAX_EXPONENT = 10_000
MAX_RESULT_BITS = 20_000
MAX_TOKENS = 400


class NotNumeric(ValueError):
  """The text is not in the numeric subset (it has variables, functions, ...)."""


class TooLarge(ValueError):
  """A literal, exponent or result exceeds the safety bounds."""


@dataclasses.dataclass(frozen=True)
class Value:
  """A numeric value: `exact` is set when the value is rational."""
  exact: Fraction | None
  approx: float


_TOKEN_RE = re.compile(
    r"\s+|(?P<num>\d+\.?\d*(?:\\overline\{\d+\})?|\.\d+(?:\\overline\{\d+\})?)"
    r"|(?P<cmd>\\[a-zA-Z]+)|(?P<op>[-+*/^(){}\[\]])")
_REPEAT_RE = re.compile(r"^(\d*)\.(\d*)\\overline\{(\d+)\}$")
_SCI_E_RE = re.compile(r"(?<=\d)[eE]([-+]?\d+)$")
_MIXED_SLASH_RE = re.compile(r"^(-?)(\d+)\s+(\d+)\s*/\s*(\d+)$")
_FRAC_CMDS = ("\\frac", "\\dfrac", "\\tfrac", "\\cfrac")
_MUL_CMDS = ("\\cdot", "\\times")


def _tokenize(text: str) -> list[str]:
  tokens = []
  pos = 0
  while pos < len(text):
    match = _TOKEN_RE.match(text, pos)
    if match is None:
      raise NotNumeric(f"unexpected character {text[pos]!r}")
    pos = match.end()
    if match.lastgroup is None:
      continue
    tokens.append(match.group(match.lastgroup))
    if len(tokens) > MAX_TOKENS:
      raise TooLarge("expression too long")
  return tokens


def _literal(token: str) -> Fraction:
  digits = sum(ch.isdigit() for ch in token)
  if digits > MAX_LITERAL_DIGITS:
    raise TooLarge("numeric literal too long")
  repeat = _REPEAT_RE.match(token)
  if repeat:
    whole, fixed, period = repeat.groups()
    base = Fraction(int(whole or "0")) + (Fraction(int(fixed), 10**len(fixed)) if fixed else 0)
    # 0.1\overline{6}: the period repeats after the fixed digits.
    return base + Fraction(int(period), (10**len(period) - 1) * 10**len(fixed))
  if token.endswith("."):
    token = token[:-1]
  return Fraction(token)


def _check_size(value: Fraction) -> Fraction:
  if value.numerator.bit_length() + value.denominator.bit_length() > MAX_RESULT_BITS:
    raise TooLarge("result too large")
  return value


def _float(value: Fraction) -> float:
  try:
    return float(value)
  except OverflowError:
    return math.copysign(math.inf, value)


def _exact_root(value: Fraction, n: int) -> Fraction | None:
  """The exact n-th root of a rational, or None when it is irrational."""
  if value < 0:
    if n % 2 == 0:
      return None
    root = _exact_root(-value, n)
    return -root if root is not None else None
  roots = []
  for part in (value.numerator, value.denominator):
    guess = round(part ** (1.0 / n)) if part.bit_length() < 1000 else None
    if guess is None:
      return None
    for candidate in (guess - 1, guess, guess + 1):
      if candidate >= 0 and candidate**n == part:
        roots.append(candidate)
        break
    else:
      return None
  return Fraction(roots[0], roots[1])


class _Parser:
  """expr := term (+|- term)*; term := unary ((*|/|implicit) unary)*; unary := -unary | power."""

  def __init__(self, tokens: list[str]):
    self.tokens = tokens
    self.pos = 0

  def peek(self) -> str | None:
    return self.tokens[self.pos] if self.pos < len(self.tokens) else None

  def take(self, expected: str | None = None) -> str:
    token = self.peek()
    if token is None or (expected is not None and token != expected):
      raise NotNumeric(f"expected {expected!r}, got {token!r}")
    self.pos += 1
    return token

  def parse(self) -> Value:
    value = self.expr()
    if self.peek() is not None:
      raise NotNumeric(f"unexpected token {self.peek()!r}")
    return value

  def expr(self) -> Value:
    value = self.term()
    while self.peek() in ("+", "-"):
      op = self.take()
      rhs = self.term()
      value = _combine(value, rhs, op)
    return value

  def term(self) -> Value:
    value = self.unary()
    while True:
      token = self.peek()
      if token in ("*", "/", "\\div") or token in _MUL_CMDS:
        self.take()
        rhs = self.unary()
        value = _combine(value, rhs, "/" if token in ("/", "\\div") else "*")
      elif token is not None and (token[0].isdigit() or token[0] == "." or token in ("(", "{")
                                  or token in _FRAC_CMDS or token in ("\\sqrt", "\\pi")):
        # Implicit multiplication: 2\sqrt{3}, 3\pi, 2(5). A whole number followed by a proper
        # \frac of whole numbers is a mixed number: 3\frac{1}{2} = 7/2.
        start = self.pos
        rhs = self.unary()
        is_mixed = (token in _FRAC_CMDS and self.tokens[start - 1][0].isdigit()
                    and value.exact is not None and value.exact.denominator == 1
                    and rhs.exact is not None and 0 < rhs.exact < 1 and start == 1 + self._sign_len())
        value = _combine(value, rhs, "mixed" if is_mixed else "*")
      else:
        return value

  def _sign_len(self) -> int:
    return 1 if self.tokens and self.tokens[0] in ("-", "+") else 0

  def unary(self) -> Value:
    if self.peek() == "-":
      self.take()
      value = self.unary()
      return Value(-value.exact if value.exact is not None else None, -value.approx)
    if self.peek() == "+":
      self.take()
      return self.unary()
    return self.power()

  def power(self) -> Value:
    base = self.atom()
    if self.peek() != "^":
      return base
    self.take()
    token = self.peek()
    if token == "{":
      exponent = self.group("{", "}")
    elif token == "-":
      self.take()
      inner = self.atom()
      exponent = Value(-inner.exact if inner.exact is not None else None, -inner.approx)
    else:
      exponent = self.atom()
    return _power(base, exponent)

  def group(self, open_: str, close: str) -> Value:
    self.take(open_)
    value = self.expr()
    self.take(close)
    return value

  def atom(self) -> Value:
    token = self.peek()
    if token is None:
      raise NotNumeric("unexpected end")
    if token[0].isdigit() or token[0] == ".":
      self.take()
      value = _literal(token)
      return Value(value, _float(value))
    if token == "(":
      return self.group("(", ")")
    if token == "{":
      return self.group("{", "}")
    if token in _FRAC_CMDS:
      self.take()
      numerator = self._frac_arg()
      denominator = self._frac_arg()
      return _combine(numerator, denominator, "/")
    if token == "\\sqrt":
      self.take()
      degree = 2
      if self.peek() == "[":
        index = self.group("[", "]")
        if index.exact is None or index.exact.denominator != 1 or not 2 <= index.exact <= 64:
          raise NotNumeric("unsupported root index")
        degree = int(index.exact)
      radicand = self._frac_arg()
      return _power(radicand, Value(Fraction(1, degree), 1.0 / degree))
    if token == "\\pi":
      self.take()
      return Value(None, math.pi)
    raise NotNumeric(f"not numeric: {token!r}")

  def _frac_arg(self) -> Value:
    # \frac12 and \sqrt2: an un-braced argument is a single digit.
    token = self.peek()
    if token is not None and token[0].isdigit() and "." not in token and len(token) > 1:
      self.tokens[self.pos] = token[1:]
      value = Fraction(int(token[0]))
      return Value(value, float(value))
    if token == "{":
      return self.group("{", "}")
    return self.atom()


def _combine(lhs: Value, rhs: Value, op: str) -> Value:
  if op in ("+", "mixed"):
    exact = (lhs.exact + rhs.exact if lhs.exact is not None and rhs.exact is not None else None)
    if op == "mixed" and lhs.exact is not None and lhs.exact < 0:
      exact = lhs.exact - rhs.exact
      return Value(_check_size(exact), lhs.approx - rhs.approx)
    return Value(_check_size(exact) if exact is not None else None, lhs.approx + rhs.approx)
  if op == "-":
    exact = (lhs.exact - rhs.exact if lhs.exact is not None and rhs.exact is not None else None)
    return Value(_check_size(exact) if exact is not None else None, lhs.approx - rhs.approx)
  if op == "*":
    exact = (lhs.exact * rhs.exact if lhs.exact is not None and rhs.exact is not None else None)
    return Value(_check_size(exact) if exact is not None else None, lhs.approx * rhs.approx)
  if rhs.exact == 0 or (rhs.exact is None and rhs.approx == 0):
    raise NotNumeric("division by zero")
  exact = (lhs.exact / rhs.exact if lhs.exact is not None and rhs.exact is not None else None)
  return Value(_check_size(exact) if exact is not None else None, lhs.approx / rhs.approx)


def _power(base: Value, exponent: Value) -> Value:
  if exponent.exact is not None and abs(exponent.exact) > MAX_EXPONENT:
    raise TooLarge("exponent too large")
  if exponent.exact is None and abs(exponent.approx) > MAX_EXPONENT:
    raise TooLarge("exponent too large")
  exact = None
  if base.exact is not None and exponent.exact is not None:
    if base.exact == 0 and exponent.exact < 0:
      raise NotNumeric("division by zero")
    num, den = exponent.exact.numerator, exponent.exact.denominator
    bits = base.exact.numerator.bit_length() + base.exact.denominator.bit_length()
    if bits * abs(num) > MAX_RESULT_BITS:
      raise TooLarge("power too large")
    if den == 1:
      exact = base.exact**num
    elif den <= 64:
      root = _exact_root(base.exact, den)
      if root is not None:
        exact = root**num
      elif base.exact < 0:
        raise NotNumeric("complex root")
  try:
    approx = _float(exact) if exact is not None else math.pow(base.approx, exponent.approx)
  except (OverflowError, ValueError) as err:
    raise NotNumeric(f"power not real: {err}") from None
  return Value(exact, approx)


def evaluate(text: str) -> Value:
  """Evaluates a numeric LaTeX answer. Raises NotNumeric or TooLarge."""
  text = text.strip()
  mixed = _MIXED_SLASH_RE.match(text)
  if mixed:  # "3 1/2" is a mixed number.
    sign, whole, num, den = mixed.groups()
    if int(den) == 0:
      raise NotNumeric("division by zero")
    value = int(whole) + Fraction(int(num), int(den))
    value = -value if sign else value
    return Value(value, float(value))
  text = _SCI_E_RE.sub(r"\\times10^{\1}", text)
  return _Parser(_tokenize(text)).parse()


_PLAIN_NUMBER_RE = re.compile(r"-?\d+(?:\.\d+)?")


def is_plain_number(text: str) -> bool:
  """An integer or decimal literal (the common answer, which needs no further reading)."""
  return bool(_PLAIN_NUMBER_RE.fullmatch(text))


def try_evaluate(text: str) -> Value | None:
  """Like `evaluate` but returns None when the text is not numeric (TooLarge still raises)."""
  try:
    return evaluate(text)
  except NotNumeric:
    return None
  except (ZeroDivisionError, RecursionError):
    return None


_TOWER_RE = re.compile(r"^(\d{1,40})\s*(?:\^\s*(\{.*\}|\d))?$")
MAX_TOWER_EXPONENT_BITS = 4 * MAX_RESULT_BITS


def _minimal_base(value: int) -> tuple[int, int]:
  """value = root ** power with the largest power (root not itself a perfect power)."""
  if value < 2:
    return value, 1
  for power in range(value.bit_length(), 1, -1):
    root = _exact_root(Fraction(value), power)
    if root is not None and root.denominator == 1 and root > 1:
      return int(root), power
  return value, 1


def power_tower(text: str) -> tuple[int, int] | None:
  """An integer power tower `a^{b^{c}}` as (minimal base, exact exponent), without expanding it:
  `4^{2^{99}}` and `2^{2^{100}}` are both (2, 2**100). None for other forms or a too-tall tower.
  """
  match = _TOWER_RE.match(text.strip())
  if match is None:
    return None
  base, exponent_text = int(match.group(1)), match.group(2)
  if exponent_text is None:
    return _minimal_base(base)
  if exponent_text.startswith("{"):
    exponent_text = exponent_text[1:-1]
  try:
    exponent = evaluate(exponent_text)
  except (NotNumeric, TooLarge, ZeroDivisionError, RecursionError):
    tower = power_tower(exponent_text)
    if tower is None or tower[0].bit_length() * tower[1] > MAX_TOWER_EXPONENT_BITS:
      return None
    exponent = Value(Fraction(tower[0] ** tower[1]), math.inf)
  if exponent.exact is None or exponent.exact.denominator != 1 or exponent.exact < 0:
    return None
  root, power = _minimal_base(base)
  return root, power * int(exponent.exact)


def decimal_places(text: str) -> int | None:
  """Number of decimals of a plain decimal literal (`-3.140` -> 3); None for other forms."""
  match = re.fullmatch(r"[-+]?\d*\.(\d+)", text.strip())
  if match:
    return len(match.group(1))
  if re.fullmatch(r"[-+]?\d+", text.strip()):
    return 0
  return None


def _significant_digits(text: str) -> int:
  return len(re.sub(r"^[-+0.]*", "", text).replace(".", ""))


FLOAT_RENDERING_DIGITS = 15  # DBL_DIG: `%.15g` prints a double without noise


def is_float_rendering(pred_text: str, pred_value: Fraction, ref_value: Fraction) -> bool:
  """Whether a decimal is a float64 printout of the reference's value: it has n >= 15
  significant digits and it is, digit for digit, a double rounded to n significant digits (round
  half to even; n = 15 is `%.15g`, Python's repr gives 16-17), where the double is the one
  nearest the reference's exact value or one of its two neighbours (one rounding of float
  arithmetic: 0.1 + 0.2 prints 0.30000000000000004, the neighbour of 0.3's double). So
  0.3333333333333333 and 0.333333333333333 are 1/3 printed; 0.333333333333 (12 digits) and
  0.33333333333333 (14) are approximations written by hand and never pass, nor does a decimal
  two doubles away. Only for a rational reference (a value float arithmetic computes up to
  rounding): a decimal for an irrational one is an approximation whatever its length
  (1.4142135623730951 is not sqrt 2).
  """
  digits = _significant_digits(pred_text)
  if digits < FLOAT_RENDERING_DIGITS or digits > 800 or decimal_places(pred_text) is None:
    return False
  try:  # Fraction -> float is correctly rounded (integer true division).
    ref_double = float(ref_value)
  except OverflowError:
    return False
  if not math.isfinite(ref_double) or ref_double == 0:
    return False
  rounding = decimal.Context(prec=digits, rounding=decimal.ROUND_HALF_EVEN)
  return any(
      Fraction(rounding.plus(decimal.Decimal(double))) == pred_value
      for double in (ref_double, math.nextafter(ref_double, math.inf),
                     math.nextafter(ref_double, -math.inf)))
