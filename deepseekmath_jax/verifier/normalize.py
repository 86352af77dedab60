"""Normalizes an extracted answer string and parses it into a small answer tree.

The official DeepSeekMath evaluation normalizes with one long string-rewriting function
(`strip_string`, arXiv:2402.03300's evaluation code; ../shared/reference/paper_spec.md §5.5) and
then guesses structure with regexes. Its known bugs are what this module fixes: it deletes units
without looking at them (`25 m` = 25 km), ignores bracket types, and keeps `%` only to divide by
100 later. Here normalization is split in three steps:

1. `clean`: purely cosmetic LaTeX rewrites that never change a value (delimiters, `\\left`,
   `\\dfrac`, thin spaces, digit-group separators such as `10,\\!080`, unicode symbols).
2. `split_unit`: separates a trailing unit (`\\text{ cm}`, `^\\circ`, `\\$`, `%`, `dollars`) from the
   value and maps known units to a dimension and an exact scale factor (`units.py`), so that
   `25 m` vs `25 km` is a unit mismatch and `2 km` vs `2000 m` is the same quantity.
3. `parse_answer`: builds a `Node` tree: scalars, text, option letters, ordered sequences (tuples,
   intervals, vectors, with their brackets), sets, bare lists, unions, matrices, equations and
   one-variable inequalities. Equivalence (`equivalence.py`) walks two trees.

Everything here is plain string processing with linear-time scanning and anchored regexes, so it
is safe to run in the calling process on untrusted text; nothing is evaluated.
"""

from __future__ import annotations

import dataclasses
import re

from deepseekmath_jax.verifier import units as units_lib

MAX_ITEMS = 64

_UNICODE = {
    "\u2212": "-", "\u2013": "-", "\u00d7": "\\times ", "\u00f7": "\\div ", "\u221a": "\\sqrt",
    "\u03c0": "\\pi ", "\u221e": "\\infty ", "\u2264": "\\le ", "\u2265": "\\ge ", "\u2260": "\\ne ",
    "\u222a": "\\cup ", "\u2229": "\\cap ", "\u00b1": "\\pm ", "\u2026": "\\dots ", "\u00b7": "\\cdot ",
    "\u2009": " ", "\u00a0": " ", "\u202f": " ", "\u00b2": "^2", "\u00b3": "^3",
}
_UNICODE_RE = re.compile("|".join(map(re.escape, _UNICODE)))
_SPACING_RE = re.compile(r"(?<!\\)\\(?:[,:;!> ]|quad|qquad|displaystyle|textstyle|limits|nolimits)"
                         r"(?![a-zA-Z])|~")
_SIZING_RE = re.compile(r"\\(?:left|right|big|Big|bigg|Bigg)(?:[lr])?(?![a-zA-Z])\.?")
_FRAC_RE = re.compile(r"\\[dtc]frac(?![a-zA-Z])")
_DIGIT_GROUP_RE = re.compile(r"(?<=\d)(?:\{,\}|,\\!|,\\,|\\,|\\!|,\\ )\s*(?=\d{3}(?!\d))")
_THOUSANDS_RE = re.compile(r"^[-+]?\d{1,3}(?:,\d{3})+(?:\.\d+)?$")
_WRAPPER_RE = re.compile(r"\\(?:mathrm|mathbf|textbf|textit|mathit|mathsf|boldsymbol|mathnormal|"
                         r"rm|bf|operatorname)\s*(?=\{)")
_DEGREE_RE = re.compile(r"\^\s*\{?\s*\\circ\s*\}?|\\circ|\\degree|\u00b0")
_TEXT_CMD_RE = re.compile(r"\\(?:text|textrm|mbox|textnormal|hbox)\s*\{")
_CONNECTIVE_RE = re.compile(
    r"\\text\{\s*(?:and|or|,)\s*\}|(?<![a-zA-Z\\])(?:and|or)(?![a-zA-Z])|;")
_CHOICE_RE = re.compile(r"^\(?([A-Z])\)?$")
_VAR_PREFIX_RE = re.compile(r"^[a-zA-Z](?:_\{?\w+\}?)?\s*\\in\s*")
_INEQ_RE = re.compile(r"\\leq?(?![a-zA-Z])|\\geq?(?![a-zA-Z])|<=|>=|<|>")
_BASE_RE = re.compile(r"^([0-9A-Za-z]+)_\{?(\d+)\}?$")
_PERCENT_WORD_RE = re.compile(r"\s*(?:\\%|%|\\text\{\s*\\?%\s*\}|\s+percent)\s*$")
_SIMPLE_VAR_RE = re.compile(r"^(?:[a-zA-Z](?:_\{?[\w]+\}?)?|[a-zA-Z]\([a-z]\)|\\[a-z]+)$")
_WORDS_RE = re.compile(r"^[A-Za-z]+(?:[ '-][A-Za-z]+)*$")


@dataclasses.dataclass(frozen=True)
class Node:
  """One parsed answer (or part of one).

  kind: 'scalar' | 'text' | 'choice' | 'seq' | 'set' | 'list' | 'union' | 'matrix' | 'eq' | 'ineq'.
  text: canonical LaTeX for scalars, lowercased words for text, the letter for choices.
  items: children (sequence/set/list/union elements, equation sides, matrix rows as 'seq' nodes).
  brackets: 2-char bracket pair for 'seq' ("()", "[)", "<>", ...); ineq operators for 'ineq'.
  unit: canonical unit name, or "" when none. percent: the scalar carried a % sign.
  base: the subscript base of a numeral like 52_8 ("" when none).
  """
  kind: str
  text: str = ""
  items: tuple[Node, ...] = ()
  brackets: str = ""
  unit: str = ""
  percent: bool = False
  base: str = ""


class ParseError(ValueError):
  """The answer cannot be read (unbalanced brackets, too many items...)."""


def _unwrap_braced(text: str, start: int) -> tuple[str, int]:
  """Returns the content of the brace group opening at text[start] and the index after it."""
  depth = 0
  for pos in range(start, len(text)):
    char = text[pos]
    if char == "\\":
      continue
    if char == "{" and (pos == 0 or text[pos - 1] != "\\"):
      depth += 1
    elif char == "}" and (pos == 0 or text[pos - 1] != "\\"):
      depth -= 1
      if depth == 0:
        return text[start + 1:pos], pos + 1
  raise ParseError("unbalanced braces")


def _replace_command_groups(text: str, pattern: re.Pattern, keep: str = "{}") -> str:
  """Replaces `\\cmd{X}` with `X` (keep="") or `{X}` for each match of pattern (ending at '{')."""
  out = []
  pos = 0
  for _ in range(MAX_ITEMS * 4):
    match = pattern.search(text, pos)
    if match is None:
      break
    brace = match.end() - 1 if text[match.end() - 1] == "{" else text.index("{", match.end())
    content, end = _unwrap_braced(text, brace)
    out.append(text[pos:match.start()])
    out.append(keep[:1] + content + keep[1:])
    pos = end
  out.append(text[pos:])
  return "".join(out)


_PLAIN_NUMBER_RE = re.compile(r"-?\d+(?:\.\d+)?")


def clean(text: str) -> str:
  """Cosmetic LaTeX normalization that never changes the value of an answer."""
  if _PLAIN_NUMBER_RE.fullmatch(text):
    return text  # The common case: nothing to rewrite.
  text = _UNICODE_RE.sub(lambda m: _UNICODE[m.group(0)], text)
  text = text.replace("\n", " ").strip()
  # Math delimiters: $...$, \(...\), \[...\].
  text = text.replace("\\$", "\x00").replace("$", "").replace("\x00", "\\$")
  text = re.sub(r"\\[()\[\]]", " ", text)
  text = _strip_outer_boxed(text)
  bold = re.fullmatch(r"\*\*(.+)\*\*", text)
  text = bold.group(1).strip() if bold else text  # Markdown bold: **73**.
  text = re.sub(r"\\sqrt\s*\(([^()]{1,40})\)", r"\\sqrt{\1}", text)
  text = _DIGIT_GROUP_RE.sub("", text)
  text = _SIZING_RE.sub("", text)
  text = _SPACING_RE.sub(" ", text)
  text = _FRAC_RE.sub("\\\\frac", text)
  text = _replace_command_groups(text, _WRAPPER_RE)
  text = _DEGREE_RE.sub("\u00b0", text)
  text = re.sub(r"\\(?:le|leqslant)(?![a-zA-Z])", r"\\leq", text)
  text = re.sub(r"\\(?:ge|geqslant)(?![a-zA-Z])", r"\\geq", text)
  text = re.sub(r"\\(?:ne)(?![a-zA-Z])", r"\\neq", text)
  text = re.sub(r"\\(?:dots|ldots|cdots)(?![a-zA-Z])", r"\\dots", text)
  text = re.sub(r"\\infinity|(?<![a-zA-Z\\])infinity", r"\\infty", text)
  text = re.sub(r"\s+", " ", text).strip()
  # A trailing period or comma ends the sentence, it is not part of the answer.
  text = re.sub(r"[\s.,]+$", "", text) if not re.search(r"\d\.$", text) else text[:-1]
  return text.strip()


def _strip_outer_boxed(text: str) -> str:
  match = re.match(r"^\s*\\(?:boxed|fbox)\s*\{", text)
  if match:
    try:
      content, end = _unwrap_braced(text, match.end() - 1)
    except ParseError:
      return text
    if not text[end:].strip():
      return content.strip()
  return text


def split_top(text: str, separators: str = ",") -> list[str]:
  """Splits on separators at bracket depth 0 (brackets: (), [], {}, and \\{ \\})."""
  parts = []
  depth = 0
  start = 0
  pos = 0
  while pos < len(text):
    char = text[pos]
    if char == "\\" and pos + 1 < len(text) and text[pos + 1] in "{}":
      depth += 1 if text[pos + 1] == "{" else -1
      pos += 2
      continue
    if char in "([{":
      depth += 1
    elif char in ")]}":
      depth -= 1
    elif char in separators and depth == 0:
      parts.append(text[start:pos])
      start = pos + 1
      if len(parts) > MAX_ITEMS:
        raise ParseError("too many items")
    pos += 1
  parts.append(text[start:])
  return [part.strip() for part in parts]


def _matching_outer(text: str) -> tuple[str, str, str] | None:
  """If text is one bracketed group, returns (open, content, close)."""
  pairs = (("\\{", "\\}"), ("\\langle", "\\rangle"), ("(", ")"), ("[", "]"), ("(", "]"),
           ("[", ")"))
  for open_, close in pairs:
    if text.startswith(open_) and text.endswith(close) and len(text) >= len(open_) + len(close):
      inner = text[len(open_):len(text) - len(close)]
      depth = 0
      pos = 0
      balanced = True
      while pos < len(inner):
        char = inner[pos]
        if char == "\\" and inner[pos + 1:pos + 2] in ("{", "}"):
          depth += 1 if inner[pos + 1] == "{" else -1
          pos += 2
          continue
        if char in "([{":
          depth += 1
        elif char in ")]}":
          depth -= 1
        if depth < 0:
          balanced = False
          break
        pos += 1
      if balanced and depth == 0:
        return open_, inner.strip(), close
  return None


def split_unit(text: str) -> tuple[str, str, bool]:
  """Splits `value unit`; returns (value, canonical unit or "", percent flag)."""
  percent = False
  match = _PERCENT_WORD_RE.search(text)
  if match and match.start() > 0:
    text = text[:match.start()].strip()
    percent = True
  value, unit = units_lib.split_trailing_unit(text)
  if not percent and value and _PERCENT_WORD_RE.search(value):
    match = _PERCENT_WORD_RE.search(value)
    value, percent = value[:match.start()].strip(), True
  return value, unit, percent


_CANONICAL_REWRITES = [(re.compile(pattern), replacement) for pattern, replacement in (
    (r"\s+", " "),
    # Spaces go, except one between alphanumerics where it separates tokens (`\pi r`, `\log_2 8`).
    (r"(?<![A-Za-z0-9]) | (?![A-Za-z0-9])", ""),
    (r"\\frac(\d)(\d)", r"\\frac{\1}{\2}"),
    (r"\\frac\{([^{}]*)\}(\d)", r"\\frac{\1}{\2}"),
    (r"\\frac(\d)\{", r"\\frac{\1}{"),
    (r"\\sqrt(\d+|[a-zA-Z])", r"\\sqrt{\1}"),
    (r"([\^_])\{(\w)\}", r"\1\2"),
    (r"^\+", ""),
)]


def canonical(text: str) -> str:
  """Canonical spelling of a scalar, for string equality and answer keys."""
  if _PLAIN_NUMBER_RE.fullmatch(text):
    return text
  for pattern, replacement in _CANONICAL_REWRITES:
    text = pattern.sub(replacement, text)
  return text.strip()


def _parse_text(content: str) -> Node:
  words = re.sub(r"[^\w\s,()-]", "", content.lower()).strip()
  words = re.sub(r"^(?:the|a|an)\s+", "", words)
  choice = _CHOICE_RE.match(content.strip())
  if choice:
    return Node("choice", text=choice.group(1))
  return Node("text", text=re.sub(r"\s+", " ", words))


def parse_answer(text: str, *, depth: int = 0) -> Node:
  """Parses a cleaned answer string into a Node tree. Raises ParseError."""
  if depth > 8:
    raise ParseError("answer nested too deeply")
  text = text.strip()
  if not text:
    raise ParseError("empty answer")
  if depth == 0:
    if _CODE_RE.search(text):
      raise ParseError("not a math answer (code-like text)")
    unescaped = text.replace("\\{", "").replace("\\}", "")
    if unescaped.count("{") != unescaped.count("}"):
      raise ParseError("unbalanced braces")
    text = _VAR_PREFIX_RE.sub("", text)
  whole_text = re.fullmatch(r"\\(?:text|textrm|mbox|textnormal)\s*\{(.*)\}", text)
  if whole_text and "}" not in whole_text.group(1).replace("\\}", ""):
    inner = whole_text.group(1).strip()
    if re.search(r"(?<![\\A-Za-z])[A-Za-z]{2}|^\(?[A-Z]\)?$", inner) and "," not in inner:
      return _parse_text(inner)
    text = inner
  if _THOUSANDS_RE.match(text.replace("\\$", "").strip()):
    text = text.replace(",", "")

  # Bare lists: "1, 2", "2 and 3", "\text{A, C}".
  listed = _CONNECTIVE_RE.sub(",", text)
  parts = split_top(listed)
  if len(parts) > 1:
    if any(not part for part in parts):
      parts = [part for part in parts if part]
      if len(parts) == 1:
        return parse_answer(parts[0], depth=depth + 1)
      if not parts:
        raise ParseError("empty list")
    first = parts[0]
    # "x = 1, 2" is an equation whose right side is a list.
    if "=" in first and not any("=" in part for part in parts[1:]):
      lhs, rhs = first.split("=", 1)
      rest = Node("list", items=tuple(parse_answer(p, depth=depth + 1)
                                      for p in [rhs] + parts[1:]))
      return Node("eq", items=(parse_answer(lhs, depth=depth + 1), rest))
    return Node("list", items=_parse_items(parts, depth))

  if "\\cup" in text:
    pieces = [p.strip() for p in re.split(r"\\cup(?![a-zA-Z])", text)]
    if len(pieces) > MAX_ITEMS:
      raise ParseError("too many items")
    return Node("union", items=tuple(parse_answer(p, depth=depth + 1) for p in pieces if p))

  matrix = re.fullmatch(r"\\begin\{([pbvBV]?matrix|array)\}(?:\{[^{}]*\})?(.*)\\end\{\1\}", text,
                        flags=re.S)
  if matrix:
    rows = [row for row in re.split(r"\\\\", matrix.group(2)) if row.strip()]
    if len(rows) > MAX_ITEMS:
      raise ParseError("matrix too large")
    parsed_rows = []
    for row in rows:
      cells = row.split("&")
      if len(cells) > MAX_ITEMS:
        raise ParseError("matrix too large")
      parsed_rows.append(Node("seq", items=tuple(parse_answer(c, depth=depth + 1) for c in cells),
                              brackets="[]"))
    return Node("matrix", items=tuple(parsed_rows))

  outer = _matching_outer(text)
  if outer is not None:
    open_, inner, close = outer
    if open_ == "(" and close == ")" and _CHOICE_RE.match(text):
      return Node("choice", text=text[1])
    items = split_top(inner)
    if open_ == "\\{":
      if not inner:
        return Node("set", items=())
      return Node("set", items=_parse_items(items, depth))
    if len(items) > 1 or open_ != close.replace(")", "(").replace("]", "["):
      brackets = ("<" if open_ == "\\langle" else open_) + (">" if close == "\\rangle" else close)
      return Node("seq", items=tuple(parse_answer(p, depth=depth + 1) for p in items),
                  brackets=brackets)
    if open_ == "(":
      return parse_answer(inner, depth=depth + 1)

  # Equations and inequalities at the top level.
  if "=" in text and "\\neq" not in text and not _INEQ_RE.search(text):
    sides = [s for s in split_top(text, "=")]
    if all(sides) and len(sides) <= 4:
      return Node("eq", items=tuple(parse_answer(s, depth=depth + 1) for s in sides))
  if _INEQ_RE.search(text):
    return _parse_inequality(text, depth)

  if "\\pm" in text or "\\mp" in text:
    plus = re.sub(r"\\(?:pm|mp)(?![a-zA-Z])", "+", text, count=1)
    minus = re.sub(r"\\(?:pm|mp)(?![a-zA-Z])", "-", text, count=1)
    if plus != text and "\\pm" not in plus and "\\mp" not in plus:
      return Node("list", items=(parse_answer(plus, depth=depth + 1),
                                 parse_answer(minus, depth=depth + 1)))

  return _parse_scalar(text)


def _parse_items(parts: list[str], depth: int) -> tuple[Node, ...]:
  """Parses unordered collection members; a `1 \\pm \\sqrt{2}` member adds both values."""
  items = []
  for part in parts:
    node = parse_answer(part, depth=depth + 1)
    items.extend(node.items if node.kind == "list" else (node,))
  if len(items) > MAX_ITEMS:
    raise ParseError("too many items")
  return tuple(items)


def _parse_inequality(text: str, depth: int) -> Node:
  """`a < x \\leq b` -> Node('ineq') holding the bounds; chained up to two operators."""
  ops = _INEQ_RE.findall(text)
  parts = _INEQ_RE.split(text)
  if len(parts) > 3 or not all(p.strip() for p in parts):
    raise ParseError("unsupported inequality")
  canon = {"<": "<", ">": ">", "\\le": "<=", "\\leq": "<=", "<=": "<=", "\\ge": ">=",
           "\\geq": ">=", ">=": ">="}
  return Node("ineq", items=tuple(parse_answer(p, depth=depth + 1) for p in parts),
              brackets=" ".join(canon[o] for o in ops))


_CODE_RE = re.compile(r"__\w|\bimport\b|\blambda\b|\('|\b(?:exec|eval|system)\s*\(")
_NOT_MATH_RE = re.compile(r"__|[\"`#@?;]|\('|\bimport\b|\blambda\b")


def _parse_scalar(text: str) -> Node:
  if _NOT_MATH_RE.search(text):
    raise ParseError("not a math answer (code-like text)")
  text_cmd = _TEXT_CMD_RE.search(text)
  value, unit, percent = split_unit(text)
  if not value:
    if unit:  # "\text{cm}" alone is a word.
      return _parse_text(text)
    raise ParseError("empty value")
  if _TEXT_CMD_RE.search(value):
    value = _replace_command_groups(value, _TEXT_CMD_RE, keep="")
  base = ""
  based = _BASE_RE.match(value)
  if based and based.group(1).isalnum() and not based.group(1).isalpha():
    value, base = based.group(1), based.group(2)
  choice = _CHOICE_RE.match(value)
  if choice and not unit and not percent:
    return Node("choice", text=choice.group(1))
  if (_WORDS_RE.match(value) and re.search(r"[A-Za-z]{3}", value) and not unit
      and not re.fullmatch(r"[a-z]{1,2}", value)) or (text_cmd and _WORDS_RE.match(value)):
    return _parse_text(value)
  return Node("scalar", text=canonical(value), unit=unit, percent=percent, base=base)


def is_simple_variable(node: Node) -> bool:
  """True for an equation side like `x`, `a_1`, `f(x)`: the name of what is being answered."""
  return node.kind == "scalar" and bool(_SIMPLE_VAR_RE.match(node.text)) and not node.unit


def answer_key(node: Node) -> str:
  """A canonical string: equal keys mean equivalent answers (the converse need not hold)."""
  from deepseekmath_jax.verifier import arith  # pylint: disable=g-import-not-at-top
  if node.kind == "scalar":
    text = node.text
    try:
      value = arith.try_evaluate(text)
    except arith.TooLarge:
      value = None
    if value is not None and value.exact is not None and not node.base:
      # Units are dropped (a missing unit is accepted in relaxed mode); percent is X/100.
      exact = value.exact / 100 if node.percent else value.exact
      return f"{exact.numerator}/{exact.denominator}" if exact.denominator != 1 else str(
          exact.numerator)
    return text + ("_" + node.base if node.base else "") + ("%" if node.percent else "")
  if node.kind in ("text", "choice"):
    return f"{node.kind}:{node.text}"
  if node.kind == "eq":
    if len(node.items) == 2 and is_simple_variable(node.items[0]):
      return answer_key(node.items[1])
    return "=".join(answer_key(item) for item in node.items)
  keys = [answer_key(item) for item in node.items]
  if node.kind in ("set", "list", "union"):
    return node.kind[0] + "{" + ",".join(sorted(keys)) + "}"
  if node.kind == "matrix":
    return "M[" + ";".join(keys) + "]"
  return node.brackets[:1] + ",".join(keys) + node.brackets[1:]
