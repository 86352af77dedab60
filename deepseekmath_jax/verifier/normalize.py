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
3. `parse_answer`: builds a `Node` tree: scalars, text, option letters (`\\textbf{(B)}`, `(B) 42`),
   ordered sequences (tuples, intervals, vectors, with their brackets), sets (set-builder
   notation as its condition), bare lists (with their "and"/"or"), unions, set differences,
   matrices (also `\\mathbf{i}, \\mathbf{j}, \\mathbf{k}` vectors and a factor written outside),
   equations (`\\approx` is one), relations (`<`, `\\le`, `\\neq`, chained), ratios and times
   of day. Equivalence (`equivalence.py`) walks two trees.

Everything here is plain string processing with linear-time scanning and anchored regexes, so it
is safe to run in the calling process on untrusted text; nothing is evaluated.
"""

from __future__ import annotations

import dataclasses
import re
from fractions import Fraction

from deepseekmath_jax.verifier import units as units_lib

MAX_ITEMS = 64

_UNICODE = {
    "\u2212": "-", "\u2013": "-", "\u00d7": "\\times ", "\u00f7": "\\div ", "\u221a": "\\sqrt",
    "\u03c0": "\\pi ", "\u221e": "\\infty ", "\u2264": "\\le ", "\u2265": "\\ge ", "\u2260": "\\ne ",
    "\u222a": "\\cup ", "\u2229": "\\cap ", "\u00b1": "\\pm ", "\u2026": "\\dots ", "\u00b7": "\\cdot ",
    "\u2009": " ", "\u00a0": " ", "\u202f": " ", "\u00b2": "^2", "\u00b3": "^3",
    "\u2248": "\\approx ", "\u2205": "\\emptyset ", "\u211d": "\\mathbb{R}", "\u2216": "\\setminus ",
}
_UNICODE_RE = re.compile("|".join(map(re.escape, _UNICODE)))
# Spacing: `\ ` and `\,` may touch a letter (`-5,\ p`); named commands end at a non-letter.
# `\quad` glued to the next name (`\quadx_{2}`, from text that lost its spaces) is a space too:
# no command begins with "quad".
_SPACING_RE = re.compile(r"(?<!\\)\\(?:[,:;!> ]|q?quad|(?:displaystyle|textstyle|limits|"
                         r"nolimits)(?![a-zA-Z]))|~")
_SIZING_RE = re.compile(r"\\(?:left|right|big|Big|bigg|Bigg)(?:[lr])?(?![a-zA-Z])\.?")
_FRAC_RE = re.compile(r"\\[dtc]frac(?![a-zA-Z])")
_DIGIT_GROUP_RE = re.compile(r"(?<=\d)(?:\s*\{\s*,\s*\}|,\\!|,\\,|\\,|\\!|,\\ )\s*(?=\d{3}(?!\d))")
# Digits grouped by spaces (`2 500 000`, SI style): every group after the first has 3 digits.
_SPACE_GROUPS_RE = re.compile(r"^([-+]?\d{1,3}(?: \d{3})+)(?![\d.])")
# `3{,}14`: the LaTeX decimal comma (a `{,}` before exactly 3 digits is a thousands separator).
_DECIMAL_BRACE_COMMA_RE = re.compile(r"(?<=\d)\{,\}(?=\d)")
# Unit vectors `\mathbf{i}`, `\vec{j}`, `\hat k`: rewritten to `\uniti` before wrappers go.
_UNIT_VECTOR_RE = re.compile(
    r"\\(?:mathbf|vec|hat|boldsymbol|bf|mathbfit)\s*(?:\{\s*\\?([ijk])\s*\}|([ijk])(?![a-zA-Z]))")
_THOUSANDS_RE = re.compile(r"^[-+]?\d{1,3}(?:,\d{3})+(?:\.\d+)?$")
_WRAPPER_RE = re.compile(r"\\(?:mathrm|mathbf|textbf|textit|mathit|mathsf|boldsymbol|mathnormal|"
                         r"rm|bf|operatorname)\s*(?=\{)")
_FONT_WORD_RE = re.compile(r"\\(?:textbf|textit|textsf|textrm|mathrm)\s*"
                           r"\{(\s*[A-Za-z]{2,}(?:[ .'-]+[A-Za-z]+)*\.?\s*)\}")
_DEGREE_RE = re.compile(r"\^\s*\{?\s*\\circ\s*\}?|\\circ|\\degree|\u00b0")
_TEXT_CMD_RE = re.compile(r"\\(?:text|textrm|mbox|textnormal|hbox)\s*\{")
_CONNECTIVE_RE = re.compile(
    r"\\text\{\s*(?:and|or|,)\s*\}|(?<![a-zA-Z\\])(?:and|or)(?![a-zA-Z])|;|\\(?:wedge|vee|land|lor)(?![a-zA-Z])")
_CHOICE_RE = re.compile(r"^\(?([A-Z])\)?$")
# `x \in S` / `x \notin S` (also `\not\in`): a membership, parsed as the set with its variable.
_MEMBERSHIP_RE = re.compile(
    r"^([a-zA-Z](?:_\{?\w+\}?)?)\s*\\(in|notin|not\s*\\in)(?![a-zA-Z])\s*(?=\S)")
_INEQ_RE = re.compile(r"\\leq?(?![a-zA-Z])|\\geq?(?![a-zA-Z])|\\neq(?![a-zA-Z])|<=|>=|<|>")
_BASE_RE = re.compile(r"^([0-9A-Za-z]+)_\{?(\d+)\}?$")
_PERCENT_WORD_RE = re.compile(r"\s*(?:\\%|%|\\text\{\s*\\?%\s*\}|\s+percent)\s*$")
_SIMPLE_VAR_RE = re.compile(r"^(?:[a-zA-Z](?:_\{?[\w]+\}?)?|[a-zA-Z]\([a-z]\)|\\[a-z]+)$")
_WORDS_RE = re.compile(r"^[A-Za-z]+(?:[ '-][A-Za-z]+)*$")


@dataclasses.dataclass(frozen=True)
class Node:
  """One parsed answer (or part of one).

  kind: 'scalar' | 'text' | 'choice' | 'seq' | 'set' | 'list' | 'union' | 'matrix' | 'eq' | 'ineq'
    | 'ratio' | 'time' | 'diff' (a set difference `A \\setminus B`).
  text: canonical LaTeX for scalars, lowercased words for text, the letter for choices (items:
    the option text written after the letter, `(B) 14`, when there is one), "H:MM"
    for times; for matrices the form it was written in ("" for an environment, "ijk" for
    `a\\mathbf{i} + b\\mathbf{j}`, "scaled" for a factor written outside, "computed" for a sum,
    difference or product of two written matrices).
  items: children (sequence/set/list/union elements, equation sides, matrix rows as 'seq' nodes).
  brackets: 2-char bracket pair for 'seq' ("()", "[)", "<>", ...); ineq operators for 'ineq'
    ("<", "<=", ">", ">=", "!="); for times "am", "pm", "" (12-hour, unmarked) or "24".
  unit: canonical unit name, or "" when none. percent: the scalar carried a % sign.
    A scalar `(b)` (a lowercase letter a-e in parentheses) has brackets "()": an option letter
    when the question lists options.
  base: the subscript base of a numeral like 52_8 ("" when none).
  variable: for a membership `x \\in S` (parsed as the set S) the variable x; `x \\notin S` is
    parsed as the difference R minus S with the variable x.
  """
  kind: str
  text: str = ""
  items: tuple[Node, ...] = ()
  brackets: str = ""
  unit: str = ""
  percent: bool = False
  base: str = ""
  variable: str = ""


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
  # `\sqrt 2`: a root with no braces takes one token, as in TeX (`\sqrt 23` is 3 sqrt 2).
  text = re.sub(r"\\sqrt\s+(\d|[a-zA-Z])", r"\\sqrt{\1}", text)
  text = _DIGIT_GROUP_RE.sub("", text)
  text = _DECIMAL_BRACE_COMMA_RE.sub(".", text)
  text = _SIZING_RE.sub("", text)
  text = _SPACING_RE.sub(" ", text)
  text = _SPACE_GROUPS_RE.sub(lambda m: m.group(1).replace(" ", ""), text.strip())
  text = _UNIT_VECTOR_RE.sub(lambda m: "\\unit" + (m.group(1) or m.group(2)) + " ", text)
  text = _FRAC_RE.sub("\\\\frac", text)
  # A word in a font command (`\textbf{meters}`, `\mathrm{cm}`) is text, like `\text{meters}`.
  text = _FONT_WORD_RE.sub(r"\\text{\1}", text)
  text = _replace_command_groups(text, _WRAPPER_RE)
  text = _DEGREE_RE.sub("\u00b0", text)
  text = re.sub(r"\\(?:le|leqslant)(?![a-zA-Z])", r"\\leq", text)
  text = re.sub(r"\\(?:ge|geqslant)(?![a-zA-Z])", r"\\geq", text)
  text = re.sub(r"\\(?:ne)(?![a-zA-Z])|!=|=/=", r"\\neq ", text)
  text = re.sub(r"\\lt(?![a-zA-Z])", "<", text)
  text = re.sub(r"\\gt(?![a-zA-Z])", ">", text)
  text = re.sub(r"\\(?:varnothing|O)(?![a-zA-Z])|\\\{\s*\\\}", r"\\emptyset", text)
  text = _drop_approximation(text)
  # `y \approx 14` is the relation `y = 14`; a leading `\approx` (or `=`) is dropped.
  text = re.sub(r"^\s*(?:\\approx|\\sim|=)(?![a-zA-Z])\s*", "", text)
  text = re.sub(r"\\approx(?![a-zA-Z])", "=", text)
  text = re.sub(r"\\(?:dots|ldots|cdots)(?![a-zA-Z])", r"\\dots", text)
  text = re.sub(r"\\infinity|(?<![a-zA-Z\\])infinity", r"\\infty", text)
  text = re.sub(r"\s+", " ", text).strip()
  text = re.sub(r"\s*\\+$", "", text)  # A dangling `\` (line break, lost quote) ends nothing.
  # A trailing period or comma ends the sentence, it is not part of the answer.
  text = re.sub(r"[\s.,]+$", "", text) if not re.search(r"\d\.$", text) else text[:-1]
  return text.strip()


# A number, a word, a number: what a compound quantity (`1 hour 30 minutes`) starts with.
_NUMBER_WORD_NUMBER_RE = re.compile(
    r"\d\s*(?:\\text\s*\{\s*)?[A-Za-z]{1,12}\.?\s*\}?\s*(?:,|and)?\s*(?:\\text\s*\{\s*)?\d")
_APPROX_RE = re.compile(r"\\approx(?![a-zA-Z])")
_RELATION_SIGN_RE = re.compile(r"[<>]|\\(?:leq?|geq?|neq|in|notin)(?![a-zA-Z])")


def _drop_approximation(text: str) -> str:
  """`x = \\frac13 \\approx 0.33`, `\\sqrt2 \\approx 1.41`: the exact value is the last member
  before the first `\\approx`, and what follows it is a rounding that is not the answer. When
  that member is only a name (`y \\approx 14`) the approximation is the answer and is kept."""
  match = _APPROX_RE.search(text)
  if match is None:
    return text
  head = text[:match.start()].strip()
  if not head or _RELATION_SIGN_RE.search(head) or _CONNECTIVE_RE.search(head):
    return text
  try:
    if len(split_top(head)) > 1:  # `a = 3, b \approx 2.1`: one part of a list.
      return text
    last = split_top(head, "=")[-1]
  except ParseError:
    return text
  if not last or is_label(Node("scalar", text=canonical(last))):
    return text
  return head


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
    if char == "\\" and text.startswith(("\\langle", "\\rangle"), pos):
      depth += 1 if text[pos + 1] == "l" else -1
      pos += 7
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


_TOKEN_COMMAND = r"\\(?!(?:sqrt|frac|text|math|operatorname|over|begin|left)[a-z]*)[a-zA-Z]+(?![a-zA-Z])"
_CANONICAL_REWRITES = [(re.compile(pattern), replacement) for pattern, replacement in (
    (r"\s+", " "),
    # Spaces go, except one between alphanumerics where it separates tokens (`\pi r`, `\log_2 8`).
    (r"(?<![A-Za-z0-9]) | (?![A-Za-z0-9])", ""),
    # `\frac` with one-token arguments (`\frac12`, `\frac\pi4`, `\frac{\pi}4`, `\frac ab`); a
    # token is a digit, a letter or an argument-free command.
    (rf"\\frac ?(\d|{_TOKEN_COMMAND}|(?<= )[a-zA-Z]) ?(\d|{_TOKEN_COMMAND}|[a-zA-Z])", r"\\frac{\1}{\2}"),
    (rf"\\frac\{{([^{{}}]*)\}} ?(\d|{_TOKEN_COMMAND}|[a-zA-Z])", r"\\frac{\1}{\2}"),
    (rf"\\frac ?(\d|{_TOKEN_COMMAND}|(?<= )[a-zA-Z]) ?\{{", r"\\frac{\1}{"),
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
  if _PLAIN_NUMBER_RE.fullmatch(text):
    return Node("scalar", text=text)  # The common case (most references are integers).
  if depth == 0:
    if _CODE_RE.search(text):
      raise ParseError("not a math answer (code-like text)")
    unescaped = text.replace("\\{", "").replace("\\}", "")
    if unescaped.count("{") != unescaped.count("}"):
      raise ParseError("unbalanced braces")
    membership = _MEMBERSHIP_RE.match(text)
    if membership:
      return _parse_membership(membership, text[membership.end():])
  time = _parse_time(text) if re.search(r"[:mM]|noon|clock", text) else None
  if time is not None:
    return time
  if _NUMBER_WORD_NUMBER_RE.search(text):
    compound = units_lib.compound_quantity(_TEXT_GROUP_RE.sub(r" \1 ", text))
    if compound is not None:  # `1 hour 30 minutes`: 90 minutes.
      value, unit = compound
      return Node("scalar", text=_fraction_text(value), unit=unit)
  whole_text = re.fullmatch(r"\\(?:text|textrm|mbox|textnormal)\s*\{(.*)\}", text)
  if whole_text and "}" not in whole_text.group(1).replace("\\}", ""):
    inner = whole_text.group(1).strip()
    if (re.search(r"(?<![\\A-Za-z])[A-Za-z]{2}|^\(?[A-Z]\)?$", inner) and "," not in inner
        and not _LABELLED_CHOICE_RE.match(inner)):  # `\text{(C) square}` is the option (C).
      return _parse_text(inner)
    text = inner
  if _THOUSANDS_RE.match(text.replace("\\$", "").strip()):
    text = text.replace(",", "")
  braced = re.fullmatch(r"\{([^{}]*)\}", text)
  if braced:  # `\textbf{(B)}` leaves `{(B)}`.
    text = braced.group(1).strip()
  choice = _LABELLED_CHOICE_RE.match(_TEXT_GROUP_RE.sub(r"\1", text).replace("{", "").replace(
      "}", "")) if "(" in text or len(text) < 12 else None
  if choice:
    letter = next(letter for letter in choice.groups() if letter)
    return Node("choice", text=letter, items=_option_text_after(text, letter, depth))
  in_brackets = re.fullmatch(r"[\[(]\s*(\\begin\{(array|matrix)\}.*\\end\{\2\})\s*[\])]", text,
                             flags=re.S)
  if in_brackets:
    return parse_answer(in_brackets.group(1), depth=depth + 1)
  if text.count("\\begin{") == 2:
    computed = _matrix_arithmetic(text, depth)
    if computed is not None:
      return computed
  scaled = re.fullmatch(r"([^=&]+?)\s*(\\begin\{([pbvBV]?matrix|array)\}.*\\end\{\3\})", text, flags=re.S)
  if scaled and not re.search(r"\\end\{", scaled.group(1)):
    return _scaled_matrix(scaled.group(1), parse_answer(scaled.group(2), depth=depth + 1), depth)

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
    # "x > 2 and x < 5" joins relations by "and" only: an intersection, kept apart by `text`.
    # "or" marks a union whatever the pieces.
    joined_by_or = bool(re.search(r"(?<![a-zA-Z\\])or(?![a-zA-Z])|\\vee|\\lor", text))
    joined_by_and = bool(re.search(r"(?<![a-zA-Z\\])and(?![a-zA-Z])|\\wedge|\\land", text)) and not (
        joined_by_or or re.search(r"[,;]", text))
    connective = "or" if joined_by_or else ("and" if joined_by_and else "")
    return Node("list", text=connective, items=_parse_items(parts, depth))

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
    if open_ == "(" and close == ")" and re.fullmatch(r"[a-e]", inner):
      # `(b)`: an option letter when the question lists options, otherwise the variable b.
      return Node("scalar", text=inner, brackets="()")
    items = split_top(inner)
    if open_ == "\\{":
      if not inner:
        return Node("set", items=())
      builder = _SET_BUILDER_RE.match(inner)
      if builder:  # {x : -3 <= x <= 3}: the set its condition describes.
        return parse_answer(builder.group(1), depth=depth + 1)
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
    if all(sides) and 2 <= len(sides) <= 4:
      return Node("eq", items=tuple(parse_answer(s, depth=depth + 1) for s in sides))
  if _INEQ_RE.search(text) or "\\neq" in text:
    return _parse_inequality(text, depth)
  if "\\setminus" in text or "\\backslash" in text:
    left, _, right = re.split(r"(\\setminus|\\backslash)(?![a-zA-Z])", text, maxsplit=1)
    if left.strip() and right.strip():
      return Node("diff", items=(parse_answer(left, depth=depth + 1),
                                 parse_answer(right, depth=depth + 1)))
  ratio = split_top(text.replace("\\colon", ":"), ":")
  if len(ratio) > 1 and all(ratio):
    return Node("ratio", items=tuple(parse_answer(p, depth=depth + 1) for p in ratio))
  if "\\unit" in text:
    vector = _unit_vector(text, depth)
    if vector is not None:
      return vector

  if "\\pm" in text or "\\mp" in text:
    plus = re.sub(r"\\(?:pm|mp)(?![a-zA-Z])", "+", text, count=1)
    minus = re.sub(r"\\(?:pm|mp)(?![a-zA-Z])", "-", text, count=1)
    if plus != text and "\\pm" not in plus and "\\mp" not in plus:
      return Node("list", items=(parse_answer(plus, depth=depth + 1),
                                 parse_answer(minus, depth=depth + 1)))

  return _parse_scalar(text)


_SET_BUILDER_RE = re.compile(
    r"^[a-zA-Z]\s*(?:\\in\s*\\mathbb\{?R\}?\s*)?(?::|\\mid|\|)\s*(.+)$")
_TEXT_GROUP_RE = re.compile(r"\\(?:text|textrm|mathrm|mbox|textnormal)\s*\{([^{}]*)\}")
_TIME_RE = re.compile(
    r"^(\d{1,2})(?::(\d{2}))?(?::\d{2})?\s*(?:([ap])\.?\s?m\.?|(o'?\s?clock))?$", re.IGNORECASE)
_LABELLED_CHOICE_RE = re.compile(
    r"^\s*(?:(?i:option|choice|answer)\s*:?\s*)?\(([A-E])\)(?:\s+[^-+*/^=<>\s].*)?$|"
    r"^\s*(?i:option|choice|answer)\s*:?\s*([A-E])\)?\s*$|^\s*([A-E])\)\s*$")


_OPTION_SPACING_RE = re.compile(r"^(?:\s|~|\\[ ,;:!]|\\q?quad(?![a-zA-Z]))+|(?:\s|~|\\[ ,;:!])+$")


def _option_text_after(text: str, letter: str, depth: int) -> tuple[Node, ...]:
  """The text written after an option letter (`\\textbf{(B) } 14`: 14), parsed, as the items of
  the choice node; () when there is none. A text that cannot be parsed is kept as words."""
  index = text.find(f"({letter})")
  if index < 0:
    return ()
  head, rest = text[:index], text[index + 3:].strip()
  opened = head.count("{") - head.count("}")
  while opened > 0 and rest.startswith("}"):  # `\textbf{(B) } 14`: the letter's group closes.
    rest, opened = rest[1:].strip(), opened - 1
  if opened > 0 and rest.endswith("}" * opened):  # `\text{(B) 14}`: the group holds the text.
    rest = rest[:-opened]
  rest = _OPTION_SPACING_RE.sub("", rest).strip()
  if not rest:
    return ()
  try:
    return (parse_answer(rest, depth=depth + 1),)
  except (ParseError, RecursionError):
    return (Node("text", text=re.sub(r"\s+", " ", rest.lower())),)


def _fraction_text(value: Fraction) -> str:
  if value.denominator == 1:
    return str(value.numerator)
  return f"\\frac{{{value.numerator}}}{{{value.denominator}}}"


def _parse_membership(membership: re.Match, rest: str) -> Node:
  """`x \\in [-2, 7]`: the set with its variable (so `-2 \\le y \\le 7` is another variable);
  `x \\notin S`: the reals without S."""
  variable = membership.group(1).replace("{", "").replace("}", "")
  node = parse_answer(rest, depth=1)
  if membership.group(2) == "in":
    return dataclasses.replace(node, variable=variable)
  return Node("diff", items=(Node("scalar", text="\\mathbb{R}"), node), variable=variable)


def _parse_time(text: str) -> Node | None:
  """`7:45`, `7:45 p.m.`, `\\text{7:45 PM}`, `19:45`, `6 a.m.`, `6 o'clock` -> Node('time')."""
  plain = re.sub(r"\s+", " ", _TEXT_GROUP_RE.sub(r" \1 ", text)).strip()
  plain = re.sub(r"^(?:12(?::00)? )?noon$", "12:00 pm", plain, flags=re.IGNORECASE)
  plain = re.sub(r"^(?:12(?::00)? )?midnight$", "12:00 am", plain, flags=re.IGNORECASE)
  match = _TIME_RE.match(plain)
  if match is None:
    return None
  hour_text, minutes, half, oclock = match.groups()
  if minutes is None and not half and not oclock:
    return None
  hour, minute = int(hour_text), int(minutes or 0)
  if hour > 24 or minute >= 60 or (half and not 1 <= hour <= 12):
    return None
  if half:
    form = half.lower() + "m"
  elif hour == 0 or hour > 12 or (hour_text.startswith("0") and minutes is not None):
    form = "24"
  else:
    form = ""
  return Node("time", text=f"{hour}:{minute:02d}", brackets=form)


def _unit_vector(text: str, depth: int) -> Node | None:
  """`3\\uniti - \\unitj + 2\\unitk` (from `\\mathbf{i}` ...) -> a column vector."""
  terms = re.findall(r"([-+]?[^-+]*?)\\unit([ijk])", text.replace(" ", ""))
  rest = re.sub(r"([-+]?[^-+]*?)\\unit([ijk])", "", text.replace(" ", ""))
  if not terms or rest.strip("+ "):
    return None
  coefficients: dict[str, str] = {}
  for coefficient, axis in terms:
    coefficient = coefficient.replace("\\cdot", "").replace("*", "")
    if coefficient in ("", "+"):
      coefficient = "1"
    elif coefficient == "-":
      coefficient = "-1"
    if axis in coefficients:
      return None
    coefficients[axis] = coefficient
  axes = "ijk" if "k" in coefficients else "ij"
  rows = tuple(Node("seq", items=(parse_answer(coefficients.get(axis, "0"), depth=depth + 1),),
                    brackets="[]") for axis in axes)
  return Node("matrix", text="ijk", items=rows)


_MATRIX_PAIR_RE = re.compile(
    r"(\\begin\{([pbvBV]?matrix)\}.*?\\end\{\2\})\s*([-+]|\\cdot|\\times)?\s*"
    r"(\\begin\{([pbvBV]?matrix)\}.*?\\end\{\5\})", re.S)
_MAX_MATRIX_SIDE = 8


def _matrix_arithmetic(text: str, depth: int) -> Node | None:
  """`A + B`, `A - B` or the product `A B` of two written matrices: the matrix of unevaluated
  entries (`(1)+(5)`, `(1)\\cdot(5)+(2)\\cdot(7)`), so that unwritten arithmetic is judged
  like `2 + 3` against 5. None when the shapes do not fit or an entry is not a plain value."""
  match = _MATRIX_PAIR_RE.fullmatch(text)
  if match is None:
    return None
  left = parse_answer(match.group(1), depth=depth + 1)
  right = parse_answer(match.group(4), depth=depth + 1)
  if left.kind != "matrix" or right.kind != "matrix":
    return None
  rows_a = [[cell.text for cell in row.items] for row in left.items]
  rows_b = [[cell.text for cell in row.items] for row in right.items]
  cells = [cell for row in left.items + right.items for cell in row.items]
  if any(cell.kind != "scalar" or cell.unit or cell.percent for cell in cells) or any(
      len(rows) > _MAX_MATRIX_SIDE or len({len(row) for row in rows}) != 1
      or len(rows[0]) > _MAX_MATRIX_SIDE for rows in (rows_a, rows_b)):
    return None
  op = match.group(3) or ""
  if op in ("+", "-"):
    if len(rows_a) != len(rows_b) or len(rows_a[0]) != len(rows_b[0]):
      return None
    entries = [[f"({a}){op}({b})" for a, b in zip(row_a, row_b)]
               for row_a, row_b in zip(rows_a, rows_b)]
  else:
    if len(rows_a[0]) != len(rows_b):
      return None
    entries = [["+".join(f"({row_a[k]})\\cdot({rows_b[k][j]})" for k in range(len(rows_b)))
                for j in range(len(rows_b[0]))] for row_a in rows_a]
  return Node("matrix", text="computed", items=tuple(
      Node("seq", items=tuple(parse_answer(entry, depth=depth + 1) for entry in row),
           brackets="[]") for row in entries))


def _scaled_matrix(factor: str, matrix: Node, depth: int) -> Node:
  """`\\frac12 \\begin{pmatrix}2\\\\4\\end{pmatrix}`: the factor is multiplied into each entry."""
  if matrix.kind != "matrix":
    raise ParseError("a factor before something that is not a matrix")
  factor = factor.strip()
  factor = {"-": "-1", "+": "1"}.get(factor, factor)  # `-\begin{pmatrix}...`: a sign is a factor.
  rows = []
  for row in matrix.items:
    cells = []
    for cell in row.items:
      if cell.kind != "scalar" or cell.unit or cell.percent:
        raise ParseError("unsupported matrix entry")
      cells.append(parse_answer(f"({factor})\\cdot({cell.text})", depth=depth + 1))
    rows.append(Node("seq", items=tuple(cells), brackets="[]"))
  return Node("matrix", text="scaled", items=tuple(rows))


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
           "\\geq": ">=", ">=": ">=", "\\neq": "!="}
  return Node("ineq", items=tuple(parse_answer(p, depth=depth + 1) for p in parts),
              brackets=" ".join(canon[o] for o in ops))


# `\lambda` is a Greek letter; a bare `lambda` is Python.
_CODE_RE = re.compile(r"__\w|\bimport\b|(?<!\\)\blambda\b|\('|\b(?:exec|eval|system)\s*\(")
_NOT_MATH_RE = re.compile(r"__|[\"`#@?;]|\('|\bimport\b|(?<!\\)\blambda\b")


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


_LABEL_DECORATION_RE = re.compile(
    r"_\{[^{}]*\}|_\\?\w+|\\(?:angle|measuredangle|overline|overrightarrow|overleftrightarrow|vec|"
    r"widehat|triangle|arc|overarc|mathbf|hat|bar|mathrm)(?![a-zA-Z])|[|{}' ]|\^\{?\\prime\}?")
_GREEK_RE = re.compile(r"\\(?:alpha|beta|gamma|delta|theta|phi|varphi|psi|omega|lambda|mu|sigma|rho|"
                       r"tau|Delta|Theta|Phi|Omega)(?![a-zA-Z])")
_FUNCTION_CALL_RE = re.compile(
    r"^([a-zA-Z](?:_\{?\w+\}?)?(?:\^\{?-1\}?|')?)\(([a-z](?:,[a-z])*)\)$")


def is_label(node: Node) -> bool:
  """True for the name part of a labelled answer: `x`, `PQ`, `|PQ|`, `V_1`, `\\angle ABC`, `f(x)`,
  `\\mathbf{A}\\mathbf{x}`, a tuple of names `(a, b)`, a ratio of names `V_1:V_2`, or arithmetic
  on names of geometric quantities (`\\frac{NO}{BO}`, `[ABC]`, `m\\angle A`)."""
  if node.kind in ("seq", "ratio"):
    return bool(node.items) and all(is_label(item) for item in node.items)
  if node.kind == "text":  # \text{Area} = 12
    return bool(re.fullmatch(r"[a-z][a-z ]{0,30}", node.text))
  if node.kind == "choice":  # `\mathbf{M} = ...`: a capital letter on its own reads as a choice.
    return True
  if node.kind != "scalar" or node.unit or node.percent or node.base:
    return False
  if _FUNCTION_CALL_RE.match(node.text):
    return True
  stripped = _GREEK_RE.sub("a", _LABEL_DECORATION_RE.sub("", node.text))
  return bool(re.fullmatch(r"[A-Za-z]{1,6}", stripped)) or _is_segment_expression(node.text)


# Names of geometric quantities: a segment `AB` (2+ capitals), `\overline{AB}`, an area `[ABC]`,
# an angle `\angle ABC` or `m\angle A`.
_SEGMENT_NAME_RE = re.compile(
    r"(?:m\s*)?\\(?:angle|measuredangle)\s*\{?[A-Z]{1,3}\}?|\\overline\{[A-Z]{2,}\}|\[[A-Z]{3,}\]|"
    r"(?<![A-Za-z\\])[A-Z]{2,}(?![A-Za-z])")
_ARITHMETIC_ONLY_RE = re.compile(
    r"(?:[\d\s+\-*/^(){}.]|\\(?:frac|cdot|times|sqrt|div)(?![a-zA-Z]))*")


def _is_segment_expression(text: str) -> bool:
  """`\\frac{NO}{BO}`, `AB + BC`, `[ABC]`, `m\\angle A`: a side built only from names of geometric
  quantities and arithmetic names what the answer measures (it is a label)."""
  if len(text) > 80 or not _SEGMENT_NAME_RE.search(text):
    return False
  return bool(_ARITHMETIC_ONLY_RE.fullmatch(_SEGMENT_NAME_RE.sub(" ", text)))


def function_call(node: Node) -> tuple[str, str] | None:
  """(name, argument list) of a label like `g(t)`; None for other labels."""
  match = _FUNCTION_CALL_RE.match(node.text) if node.kind == "scalar" else None
  return (match.group(1), match.group(2)) if match else None


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
  if node.kind == "time":
    return f"time:{node.text}{node.brackets}"
  if node.kind in ("ratio", "diff", "ineq"):
    return f"{node.kind}:{node.brackets}:" + "|".join(answer_key(item) for item in node.items)
  if node.kind == "eq":
    if len(node.items) == 2 and is_simple_variable(node.items[0]):
      return answer_key(node.items[1])
    return "=".join(answer_key(item) for item in node.items)
  keys = [answer_key(item) for item in node.items]
  if node.kind in ("set", "list", "union"):
    return node.kind[0] + node.text + "{" + ",".join(sorted(keys)) + "}"
  if node.kind == "matrix":
    return "M[" + ";".join(keys) + "]"
  return node.brackets[:1] + ",".join(keys) + node.brackets[1:]
