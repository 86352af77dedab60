"""Finds the final answer in a model response or a reference solution.

Order (DESIGN.md "Verifier semantics"; paper_spec.md §5.5 for the official order it refines):
1. the last `\\boxed{...}` / `\\fbox{...}` / `\\boxed 5` (braces matched by depth, so nested
   `\\frac{}{}` inside the box are kept). Boxes that end the response together (`\\boxed{2}` and
   `\\boxed{3}`) are one multi-part answer. An empty, unclosed or truncated last box is no answer.
2. the GSM8K `#### X` line;
3. the Minerva sentence "Final Answer: The final answer is X. I hope it is correct.";
4. "The answer is X" (the last occurrence, up to the end of its line or sentence);
5. a bare answer (a short response that is only math, `$...$`, or a word): taken whole;
6. only when asked for (`last_number_fallback=True`, never in strict mode): the last number in
   the text. By default a response that commits to no answer has none (`no_answer`), in relaxed
   mode too: a number that merely ends the reasoning is not an answer.

Scanning is linear (`str.rfind` and a brace counter): a 100 000-deep nest of braces or a long
response costs one pass. Regexes are anchored or applied to short slices only.
"""

from __future__ import annotations

import re

_BOX_RE = re.compile(r"\\(?:boxed|fbox)(?![a-zA-Z])")
_LAST_NUMBER_RE = re.compile(r"-?\d[\d,]*(?:\.\d+)?|-?\.\d+")
# What may stand between boxes that end a text together: spacing (`\\quad`, `\\ `), math
# delimiters (`\\)` and `\\(`), commas and the words "and"/"or", bare or in `\\text{ and }`.
_BETWEEN_BOXES_RE = re.compile(
    r"^(?:[\s$,;.~]|\\[()]|\\q?quad(?![a-zA-Z])|\\[,;:! ]|\\text\{\s*(?:and|or|,)?\s*\}"
    r"|(?<![a-zA-Z\\])(?:and|or)(?![a-zA-Z]))*(?:[a-zA-Z]\s*=)?[\s$]*$")
_BARE_WORD_RE = re.compile(r"(?<![\\a-zA-Z])[a-zA-Z]{2,}")
_ANSWER_IS_RE = re.compile(r"answer\s+is\s*:?", re.IGNORECASE)
MAX_BARE_CHARS = 100


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


def last_boxed(text: str, *, group: bool = True) -> tuple[bool, str | None]:
  """Returns (found_a_box, content). content is None for an empty/unclosed last box.

  With `group`, boxes that end the text together ("\\boxed{2} and \\boxed{3}") are joined by ", ".
  """
  found, parts = final_boxes(text, group=group)
  return found, (", ".join(parts) if parts else None)


def final_boxes(text: str, *, group: bool = True,
                alternatives: bool = True) -> tuple[bool, list[str]]:
  """Returns (found_a_box, the contents of the boxes that end the text together).

  The list is empty for an empty/unclosed last box; without `group` it holds the last box only.
  Without `alternatives`, boxes joined by "or" are one answer in two forms (a reference's
  `\\boxed{15\\frac{39}{40}}, or \\boxed{\\frac{639}{40}}`): the last one is kept.
  """
  starts = [match for match in _BOX_RE.finditer(text)]
  if not starts:
    return False, []
  last = starts[-1]
  content, end = _box_content(text, last.end())
  if content is None or not content.strip():
    return True, []
  contents = [content]
  if group:
    next_start = last.start()
    for match in reversed(starts[:-1]):
      previous, previous_end = _box_content(text, match.end())
      if previous is None or not previous.strip():
        break
      between = text[previous_end:next_start]
      if previous_end > next_start or not _BETWEEN_BOXES_RE.match(between):
        break
      if not alternatives and re.search(r"\bor\b", between):
        break
      contents.insert(0, previous)
      next_start = match.start()
    if len(contents) > 1 and len(set(c.strip() for c in contents)) == 1:
      contents = contents[-1:]  # The same answer boxed twice.
  return True, [c.strip() for c in contents]


def _tidy(answer: str) -> str:
  answer = answer.strip()
  answer = answer.lstrip(":").strip()
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


def _answer_is(text: str) -> str | None:
  matches = list(_ANSWER_IS_RE.finditer(text[-4000:]))
  if not matches:
    return None
  tail = text[-4000:][matches[-1].end():]
  line = tail.split("\n", 1)[0].strip()
  # End of sentence: ". " or a final "." (not a decimal point).
  sentence = re.split(r"(?<!\d)\.(?:\s|$)|\.\s", line, maxsplit=1)[0]
  return _tidy(sentence) or None


def _bare(text: str) -> str | None:
  """A short response that is only an answer ("$\\frac12$", "x = 5", "Monday")."""
  stripped = text.strip()
  if not stripped or "\n" in stripped or len(stripped) > MAX_BARE_CHARS:
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
  found_box, boxes = final_boxes(text)
  if found_box:
    return boxes
  for finder in (_gsm8k_line, _minerva, _answer_is, _bare):
    answer = finder(text)
    if answer:
      return [answer]
  if strict or not last_number_fallback:
    return []
  number = _last_number(text)
  return [number] if number else []


def extract_reference(reference: str) -> str:
  """The final answer of a reference: a GSM8K answer (`#### n`), a MATH solution or a bare answer.

  MATH references are the last box (the rule that gives MATH500's `answer` field for all 500
  rows); boxes that end the reference together (`\\boxed{4}, \\boxed{9}`) are one list.
  Returns "" when nothing can be found.
  """
  gsm8k = _gsm8k_line(reference)
  if gsm8k is not None:
    return gsm8k.replace(",", "")
  found_box, boxes = final_boxes(reference, alternatives=False)
  if found_box:
    return ", ".join(boxes)
  return reference.strip()
