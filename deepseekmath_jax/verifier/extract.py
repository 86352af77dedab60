"""Finds the final answer in a model response or a reference solution.

Order (DESIGN.md "Verifier semantics"; paper_spec.md §5.5 for the official order it refines):
1. the last `\\boxed{...}` / `\\fbox{...}` / `\\boxed 5` (braces matched by depth, so nested
   `\\frac{}{}` inside the box are kept). Boxes that end the response together (`\\boxed{2}` and
   `\\boxed{3}`, `y_1 = \\boxed{2}` and `y_2 = \\boxed{3}`) are one multi-part answer. An empty,
   unclosed or truncated last box is no answer. A final-answer statement after the last box
   ("Final Answer: ...", "The final answer is $X$") that states a value overrides it. Boxes
   joined by "or" are alternatives, and a value offered after the last box as another possible
   answer ("(though 13 is also possible)") is a hedge (`FinalAnswer`; grading.py judges both);
2. the GSM8K `#### X` line;
3. the Minerva sentence "Final Answer: The final answer is X. I hope it is correct.";
4. the later of an answer line ("Answer: ...", "**Final Answer:** ...", `Answer \\[ 9 \\]`) and
   "The answer is X" (the last occurrence, up to the end of its line or sentence);
5. a concluding last sentence ("Therefore, ... is $(7, 6)$.", "$x \\ge 5$ is the solution.");
6. a bare answer (a short response that is only math, `$...$`, or a word): taken whole;
7. a last sentence that presents one math object after "is" or a colon ("The sum is $A+B$");
8. only when asked for (`last_number_fallback=True`, never in strict mode): the last number in
   the text. By default a response that commits to no answer has none (`no_answer`), in relaxed
   mode too: a number that merely ends the reasoning is not an answer.
Rules 4, 5 and 7 are in `sentences.py`. Every answer found is repaired for escaping artifacts
(`repair_escapes`).

Scanning is linear (`str.rfind`, a brace counter, one pass over math delimiters): a 100 000-deep
nest of braces or a long response costs one pass. Regexes are anchored or applied to short
slices only.
"""

from __future__ import annotations

import dataclasses
import re

from deepseekmath_jax.verifier import arith
from deepseekmath_jax.verifier import sentences

_BOX_RE = re.compile(r"\\(?:boxed|fbox)(?![a-zA-Z])")
_LAST_NUMBER_RE = re.compile(r"-?\d[\d,]*(?:\.\d+)?|-?\.\d+")
# What may stand between boxes that end a text together: spacing (`\\quad`, `\\ `), math
# delimiters (`\\)` and `\\(`), commas and the words "and"/"or", bare or in `\\text{ and }`.
_BETWEEN_BOXES_RE = re.compile(
    r"^(?:[\s$,;.~]|\\[()]|\\q?quad(?![a-zA-Z])|\\[,;:! ]|\\text\{\s*(?:and|or|,)?\s*\}"
    r"|(?<![a-zA-Z\\])(?:and|or)(?![a-zA-Z]))*(?:[a-zA-Z]\s*=)?$")
# Any other short separator joins boxes too (`\\text{ for part (a) and }`, " papers and ",
# `\\) and \\( y_2 = `), unless it ends a sentence, says the boxes differ or derive one from the
# other (a relation, an arrow, a binary operation, "then", "so", "not", "is", ...).
MAX_BOX_SEPARATOR_CHARS = 60
_LABEL_BEFORE_BOX_RE = re.compile(
    r"(?:\\?[A-Za-z]{1,12}(?:_\{?[\w+-]{1,8}\}?)?(?:\([A-Za-z0-9]{1,3}\))?|\([A-Za-z0-9]{1,3}\))"
    r"[ \t]*[=:][ \t]*(?:\$|\\[(\[])?[ \t]*$")
_SEPARATOR_STOP_RE = re.compile(
    r"[.!?](?:\s|$)|\n\s*\n|[=<>^*/]|\\(?:Rightarrow|Longrightarrow|implies|to|rightarrow|iff|ne"
    r"|neq|approx|le|ge|leq|geq|lt|gt|times|cdot|div)(?![a-zA-Z])|(?<![+])\+(?![+])"
    r"|(?<![-])-(?![-])"
    r"|(?<![A-Za-z])(?:then|so|thus|hence|therefore|wait|actually|but|no|not|instead|rather|gives?"
    r"|becomes?|equals?|means|implies|which|is|are|was|were|correct|incorrect|wrong|check|verify"
    r"|yields?|simplifies|reduces|i\.?e)(?![A-Za-z])", re.IGNORECASE)
_BARE_WORD_RE = re.compile(r"(?<![\\a-zA-Z])[a-zA-Z]{2,}")
_ANSWER_IS_RE = re.compile(r"answer\s+is\s*:?", re.IGNORECASE)
_ANSWER_IS_FILLER_RE = re.compile(r"^\s*(?:(?:then|thus|therefore|simply|just|indeed)\b,?\s*)+",
                                  re.IGNORECASE)
_VERDICT_WORD_RE = re.compile(r"(?:indeed |also |not |in)?(?:correct|right|wrong|valid|"
                              r"reasonable|confirmed|consistent|as follows|below|above)",
                              re.IGNORECASE)
_FINAL_ANSWER_IS_RE = re.compile(r"final\s+answer\s+is\s*:?", re.IGNORECASE)
# A value in a statement: a digit, a LaTeX command, a sign of an expression, or one letter.
_STATES_VALUE_RE = re.compile(r"[\d\\^_=+*/()\[\]{}<>]|^\s*\$?[A-Za-z]\$?\s*$")
MAX_BARE_CHARS = 100
# Command names that a doubled backslash (`\\frac`, left by escaping a string twice) stands
# for. A doubled backslash before anything else is a LaTeX row break (`1 & 2 \\ 3 & 4`).
_ESCAPED_COMMANDS = (
    "frac", "dfrac", "tfrac", "left", "right", "boxed", "sqrt", "le", "ge", "leq", "geq", "lt",
    "gt", "ne", "neq", "pi", "text", "mathrm", "mathbf", "textbf", "cdot", "times", "div", "pm",
    "mp", "infty", "cup", "cap", "in", "circ", "approx", "overline", "angle", "binom", "dbinom",
    "log", "ln", "sin", "cos", "tan", "sec", "csc", "cot", "exp", "alpha", "beta", "gamma",
    "delta", "theta", "lambda", "mu", "sigma", "omega", "phi", "emptyset", "varnothing",
    "mathbb", "operatorname", "dots", "ldots", "cdots", "quad", "qquad", "sum", "prod", "lfloor",
    "rfloor", "lceil", "rceil", "degree", "setminus", "mid", "cdotp", "sim", "equiv")
_ESCAPED_COMMAND_RE = re.compile(r"(?<!\\)\\\\(?=(?:" + "|".join(_ESCAPED_COMMANDS) +
                                 r")(?![a-zA-Z]))")
_TWICE_ESCAPED_RE = re.compile(r"(?<!\\)\\\\(?=(?:begin|end|" + "|".join(_ESCAPED_COMMANDS) +
                               r")(?![a-zA-Z]))")
_ENVIRONMENT_RE = re.compile(r"\\(begin|end)\{[a-zA-Z*]{1,20}\}")
_GLUED_SPACING_RE = re.compile(r"(\\q?quad)(?=[a-zA-Z])")


def repair_escapes(answer: str) -> str:
  """Undoes escaping artifacts: a text escaped twice (`\\\\left(\\\\frac{1}{5}...`: every run of
  backslashes even, at least one doubled before a command name) is halved whole; otherwise a
  doubled backslash before a known command name is read as one, outside matrix and array
  environments (where `\\\\` is a row break). A spacing command glued to letters (`\\quadx_2`)
  gets its space back."""
  if "\\" not in answer:
    return answer
  runs = re.findall(r"\\+", answer)
  if all(len(run) % 2 == 0 for run in runs) and _TWICE_ESCAPED_RE.search(answer):
    answer = answer.replace("\\\\", "\\")
  elif "\\\\" in answer:
    pieces, position, depth = [], 0, 0
    for match in _ENVIRONMENT_RE.finditer(answer):
      if match.group(1) == "begin":
        if depth == 0:
          pieces.append(_ESCAPED_COMMAND_RE.sub(r"\\", answer[position:match.start()]))
          position = match.start()
        depth += 1
      elif depth > 0:
        depth -= 1
        if depth == 0:
          pieces.append(answer[position:match.end()])
          position = match.end()
    rest = answer[position:]
    pieces.append(rest if depth > 0 else _ESCAPED_COMMAND_RE.sub(r"\\", rest))
    answer = "".join(pieces)
  return _GLUED_SPACING_RE.sub(r"\1 ", answer)


def _box_content(text: str, start: int) -> tuple[str | None, int]:
  """Reads the box whose keyword ends at `start`: returns (content or None, end index)."""
  pos = start
  while pos < len(text) and text[pos] == " ":
    pos += 1
  if pos >= len(text):
    return None, pos
  if text[pos] != "{":
    # \boxed 5 or \boxed{} written without braces: the next token.
    match = re.compile(r"[^\s$]+").match(text, pos)
    if match is None:
      return None, pos
    return match.group(0).rstrip(".,"), match.end()
  depth = 0
  for index in range(pos, len(text)):
    char = text[index]
    if char == "{" and text[index - 1] != "\\":
      depth += 1
    elif char == "}" and text[index - 1] != "\\":
      depth -= 1
      if depth == 0:
        return text[pos + 1:index], index + 1
  return None, len(text)  # Unclosed: a truncated response.


def _boxes_join(between: str, alternatives: bool) -> bool:
  """Whether two boxes with `between` between them end the text together (one answer)."""
  if not alternatives and re.search(r"\bor\b", between):
    return False
  # Trailing spacing is cut first so that the pattern never backtracks over a long gap.
  if _BETWEEN_BOXES_RE.match(between.rstrip(" \t\n\r\f\v$")):
    return True
  if len(between) > MAX_BOX_SEPARATOR_CHARS:
    return False
  label = _LABEL_BEFORE_BOX_RE.search(between)
  if label is not None:
    between = between[:label.start()]
  return _SEPARATOR_STOP_RE.search(between) is None


def last_boxed(text: str, *, group: bool = True) -> tuple[bool, str | None]:
  """Returns (found_a_box, content). content is None for an empty/unclosed last box.

  With `group`, boxes that end the text together ("\\boxed{2} and \\boxed{3}") are joined by ", ".
  """
  found, parts = final_boxes(text, group=group)
  return found, (", ".join(parts) if parts else None)


# A value offered after the final box as another possible answer: "(though 13 is also
# possible)", ", or maybe $13$", ". It might also be 13." The offer must name the value right
# after "or"/"maybe"/"perhaps"/"possibly", after "might/could/may (also) be", or right before
# "is (also) possible/plausible/valid/likely".
_HEDGE_VALUE = r"(?P<value{n}>\$[^$]{{1,80}}\$|\\\(.{{1,80}}?\\\)|-?\d[\d,]*(?:\.\d+)?(?:/\d+)?)"
_HEDGE_RE = re.compile(
    r"(?<![A-Za-z])(?:or|maybe|perhaps|possibly)\s+"
    r"(?:(?:maybe|perhaps|possibly|even|also|just)\s+)*"
    + _HEDGE_VALUE.format(n=1) +
    r"|(?<![A-Za-z])(?:might|could|may)\s+(?:also\s+|just\s+|well\s+)?(?:be|equal)\s+"
    + _HEDGE_VALUE.format(n=2) +
    r"|" + _HEDGE_VALUE.format(n=3) +
    r"\s+(?:is|are|seems|would be|could be|might be)\s+(?:also\s+|equally\s+)?"
    r"(?:possible|plausible|valid|likely|an option|a possibility)", re.IGNORECASE)
# Words that make the other value a form of the same answer, a check, or a rejected candidate.
_HEDGE_NEUTRAL_RE = re.compile(
    r"check|verif|confirm|substitut|plug|written|express|equivalent|approximat|\\approx|rounded|"
    r"decimal|fraction|percent|degree|radian|i\.e\.|in other words|simplif|same|extraneous|"
    r"reject|discard|invalid|exclude|(?<![A-Za-z])(?:not|no|never)(?![A-Za-z])|n't", re.IGNORECASE)
MAX_HEDGE_CHARS = 300


@dataclasses.dataclass(frozen=True)
class FinalAnswer:
  """The final answer of a response: its parts (one per final box, else one item; [] when none),
  whether final boxes were joined by "or" (`\\boxed{6} or \\boxed{5}`: alternatives), and a
  value offered after the final box as another possible answer (a hedge), when there is one."""
  parts: list[str]
  or_joined: bool = False
  hedge: str | None = None


def _same_value(text_a: str, text_b: str) -> bool:
  """Whether two short answers are visibly one value (`12` and `12`, `0.5` and `\\frac12`)."""
  a, b = (re.sub(r"\s|\$|\\[()]", "", t).rstrip(".").replace(",", "") for t in (text_a, text_b))
  if a == b:
    return True
  try:
    value_a, value_b = arith.try_evaluate(a), arith.try_evaluate(b)
  except arith.TooLarge:
    return False
  return (value_a is not None and value_b is not None and value_a.exact is not None
          and value_a.exact == value_b.exact)


def hedge_after(text: str, end: int, parts: list[str]) -> str | None:
  """Another value offered, right after the final box (ending at `end`), as a possible answer
  instead of the boxed one; None when the text after the box commits to the box (a verification,
  another form of the same value, a rejected candidate, or nothing)."""
  after = text[end:end + MAX_HEDGE_CHARS]
  if not re.search(r"\d|\$|\\\(", after):
    return None
  for sentence in re.split(r"(?<=[.!?])\s+|\n\s*\n", after)[:3]:
    if _HEDGE_NEUTRAL_RE.search(sentence):
      continue
    for match in _HEDGE_RE.finditer(sentence):
      value = next(v for v in match.group("value1", "value2", "value3") if v)
      if not any(_same_value(value, part) for part in parts):
        return value.strip("$").strip()
  return None


def final_boxes(text: str, *, group: bool = True,
                alternatives: bool = True) -> tuple[bool, list[str]]:
  """Returns (found_a_box, the contents of the boxes that end the text together).

  The list is empty for an empty/unclosed last box; without `group` it holds the last box only.
  Without `alternatives`, boxes joined by "or" are one answer in two forms (a reference's
  `\\boxed{15\\frac{39}{40}}, or \\boxed{\\frac{639}{40}}`): the last one is kept.
  """
  found, parts, _, _ = _final_boxes(text, group, alternatives)
  return found, parts


def _final_boxes(text: str, group: bool,
                 alternatives: bool) -> tuple[bool, list[str], int, bool]:
  """`final_boxes`, the end index of the last box (-1 when there is none) and whether the boxes
  kept were joined by "or"."""
  starts = [match for match in _BOX_RE.finditer(text)]
  if not starts:
    return False, [], -1, False
  last = starts[-1]
  content, end = _box_content(text, last.end())
  if content is None or not content.strip():
    return True, [], end, False
  contents = [content]
  or_joined = False
  if group:
    next_start = last.start()
    for match in reversed(starts[:-1]):
      previous, previous_end = _box_content(text, match.end())
      if previous is None or not previous.strip():
        break
      between = text[previous_end:next_start]
      if previous_end > next_start or not _boxes_join(between, alternatives):
        break
      contents.insert(0, previous)
      or_joined = or_joined or bool(re.search(r"(?<![A-Za-z])or(?![A-Za-z])", between))
      next_start = match.start()
    if len(contents) > 1 and len(set(c.strip() for c in contents)) == 1:
      contents, or_joined = contents[-1:], False  # The same answer boxed twice.
  return True, [c.strip() for c in contents], end, or_joined


def _tidy(answer: str) -> str:
  answer = answer.strip()
  answer = answer.lstrip(":").strip()
  quoted = re.fullmatch(r'(\\?"|“)(.+)(\\?"|”)', answer)
  if quoted is not None:  # "Final answer is \"$12$\"": quotes (or escaped ones) around it.
    answer = quoted.group(2).strip()
  if answer.endswith(".") and not re.search(r"\d\.$", answer[:-1] + "x"):
    answer = answer[:-1]
  return answer.strip()


def _gsm8k_line(text: str) -> str | None:
  index = text.rfind("####")
  if index < 0:
    return None
  line = text[index + 4:].split("\n", 1)[0]
  return _tidy(line) or None


def _minerva(text: str) -> str | None:
  end = text.rfind("I hope it is correct")
  if end < 0:
    return None
  start = text.rfind("final answer is", 0, end)
  if start < 0:
    return None
  answer = text[start + len("final answer is"):end].strip()
  answer = re.sub(r"\.\s*$", "", answer)
  return _tidy(answer) or None


def _answer_is(text: str, pattern: re.Pattern = _ANSWER_IS_RE) -> tuple[int, str] | None:
  """The last "answer is X" of the tail: (position in the tail, X up to its sentence's end)."""
  tail = text[-sentences.TAIL_CHARS:]
  matches = list(pattern.finditer(tail))
  if not matches:
    return None
  line = tail[matches[-1].end():].split("\n", 1)[0].strip()
  # End of sentence: ". " or a final "." (not a decimal point).
  sentence = re.split(r"(?<!\d)\.(?:\s|$)|\.\s", line, maxsplit=1)[0]
  answer = _tidy(_ANSWER_IS_FILLER_RE.sub("", sentence))
  if not answer or _VERDICT_WORD_RE.fullmatch(answer):
    return None  # "This shows that our answer is correct." states no value.
  return matches[-1].start(), answer


def _stated_answer(text: str) -> str | None:
  """The later of the last answer line and the last "answer is" (rule 4)."""
  line = sentences.answer_line(text)
  answer_is = _answer_is(text)
  if line is None or answer_is is None:
    found = line or answer_is
    return found[1] if found else None
  return line[1] if line[0] >= answer_is[0] else answer_is[1]


def _final_statement_after(text: str, end: int) -> str | None:
  """A final-answer statement after the last box that states a value (it overrides the box)."""
  after = text[end:]
  if not re.search(r"answer", after[-sentences.TAIL_CHARS:], re.IGNORECASE):
    return None
  stated = _minerva(after)
  if stated is None:
    found = sentences.answer_line(after) or _answer_is(after, _FINAL_ANSWER_IS_RE)
    stated = found[1] if found else None
  if stated is None or not _STATES_VALUE_RE.search(stated):
    return None
  return stated


def _bare(text: str) -> str | None:
  """A short response that is only an answer ("$\\frac12$", "x = 5", "Monday")."""
  stripped = text.strip()
  if (not stripped or "\n" in stripped or len(stripped) > MAX_BARE_CHARS
      or stripped.endswith("?")):  # A question is not an answer.
    return None
  if re.fullmatch(r"\$[^$]+\$\.?|\\\(.+\\\)\.?|\\\[.+\\\]\.?", stripped):
    return _tidy(stripped)
  outside_math = re.sub(r"\$[^$]*\$|\\text\{[^{}]*\}", " ", stripped)
  if len(_BARE_WORD_RE.findall(outside_math)) <= 2 and not re.search(r"[.!?:]\s", stripped):
    return _tidy(stripped)
  return None


def _last_number(text: str) -> str | None:
  last = None
  for last in _LAST_NUMBER_RE.finditer(text[-20000:]):
    pass
  return last.group(0).replace(",", "") if last is not None else None


def extract_answer(text: str, *, strict: bool = False,
                   last_number_fallback: bool = False) -> str | None:
  """The final answer of a model response, or None when it commits to none.

  Several boxes that end the response together are joined by ", " (`extract_answers` keeps them
  apart). last_number_fallback: when nothing else is found, the last number of the text (the
  official GSM8K evaluation's rule); ignored in strict mode.
  """
  answers = extract_answers(text, strict=strict, last_number_fallback=last_number_fallback)
  return ", ".join(answers) if answers else None


def extract_answers(text: str, *, strict: bool = False,
                    last_number_fallback: bool = False) -> list[str]:
  """The final answer as a list of parts: one per final box (`\\boxed{4}, \\boxed{9}`), else one
  item (or none). See `extract_answer`."""
  return final_answer(text, strict=strict, last_number_fallback=last_number_fallback).parts


def final_answer(text: str, *, strict: bool = False,
                 last_number_fallback: bool = False) -> FinalAnswer:
  """`extract_answers` with what grading needs to know besides the parts: final boxes joined by
  "or" (alternatives: one answer list against a list reference, a hedge against a single one)
  and a value offered after the final box as another possible answer (a hedge)."""
  found_box, boxes, end, or_joined = _final_boxes(text, True, True)
  if found_box:
    later = _final_statement_after(text, end)
    if later:
      return FinalAnswer([repair_escapes(later)])
    hedge = hedge_after(text, end, boxes) if boxes else None
    return FinalAnswer([repair_escapes(box) for box in boxes], or_joined and len(boxes) > 1,
                       repair_escapes(hedge) if hedge else None)
  for finder in (_gsm8k_line, _minerva, _stated_answer, sentences.concluding_answer, _bare,
                 sentences.final_object):
    answer = finder(text)
    if answer:
      return FinalAnswer([repair_escapes(answer)])
  if strict or not last_number_fallback:
    return FinalAnswer([])
  number = _last_number(text)
  return FinalAnswer([number] if number else [])


def extract_reference(reference: str) -> str:
  """The final answer of a reference: a GSM8K answer (`#### n`), a MATH solution or a bare answer.

  MATH references are the last box (the rule that gives MATH500's `answer` field for all 500
  rows); boxes that end the reference together (`\\boxed{4}, \\boxed{9}`) are one list. A
  reference without a box that states its answer ("Final Answer: The final answer is $28\\%$.
  I hope it is correct.", "Answer: 12", "The answer is 12") is read like a response's answer;
  any other is a bare answer, taken whole. Returns "" when nothing can be found.
  """
  gsm8k = _gsm8k_line(reference)
  if gsm8k is not None:
    return repair_escapes(gsm8k.replace(",", ""))
  found_box, boxes = final_boxes(reference, alternatives=False)
  if found_box:
    return repair_escapes(", ".join(boxes))
  stated = _minerva(reference) or _stated_answer(reference)
  return repair_escapes(stated or reference.strip())
