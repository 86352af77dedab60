"""Answers a response commits to in words: answer lines, concluding sentences, a final object.

Written by hand (no sentence splitter of a well-kept library knows LaTeX math spans). Everything
here reads only the tail of a response (`TAIL_CHARS`): the math-span tokenizer is one pass over
delimiter tokens, and every regex is either anchored or applied to one sentence.

Rules (README "Answer verifier", "Extraction"):
- an answer line: "Answer", "Answer:", "Final Answer:", "**Answer:**" at the start of a line or a
  sentence commits to what follows on that line (up to "I hope it is correct"), or to the math
  span that starts right after a bare "Answer" (`Answer \\[ 9 \\]`, on following lines too);
- a concluding sentence: the response's last sentence, when it starts with a conclusion marker
  ("Therefore", "Thus", "So", "We find that", "The solution is", ...) or ends with "is the
  solution/answer";
- a final object: the last sentence ends with one math span placed after "is"/"are"/"="/":"
  ("The sum is $A + B$", "Here is a zero matrix: $M$").
A sentence that is a question, ends with a colon, supposes ("if", "let", "assume"), plans
("need to", "want", "check") or negates ("not", "no") commits to nothing.

The value a sentence states (`statement_value`): the math span or number right after its last
"is"/"are"/"="/":"/"equals" (several joined by commas or "and"/"or" form a list), else its last
math span, else its only number; a sentence with several numbers and no such word states none.
"""

from __future__ import annotations

import bisect
import dataclasses
import functools
import re

TAIL_CHARS = 4000
_DELIMITER_RE = re.compile(r"\\\$|\$\$|\$|\\\[|\\\]|\\\(|\\\)")
_CLOSERS = {"$": "$", "$$": "$$", "\\[": "\\]", "\\(": "\\)"}
_INLINE = ("$", "\\(")  # Inline math does not cross a line break.
_CURRENCY_RE = re.compile(r"\d[^$]*[\s=+*/-]")
# Chat-template and end-of-text tokens a sampler may leave at the end of a response.
_END_TOKEN_RE = re.compile(r"(?:<\|[A-Za-z_]{1,24}\|>|</s>|<eos>|\[/?INST\])[ \t]*"
                           r"(?:user|assistant|system)?\s*$")
_HOPE_RE = re.compile(r"I hope it is correct\s*[.!]?\s*$", re.IGNORECASE)
_ABBREVIATIONS = ("e.g", "i.e", "dr", "mr", "mrs", "ms", "vs", "st", "etc", "cf", "approx")
MASK = "\x00"  # Stands for every character of a math span in a masked text.
# Sentence ends outside math: ". " (not after an abbreviation), a line break before a capital,
# heading or list item, a math span followed by a capitalized word ("$y = 6$ So, ..."), and a
# capitalized conclusion marker ("P(A) = 2/3 Therefore, ...").
_SENTENCE_END_RE = re.compile(
    r"[.!?](?=\s)|\n(?=[ \t]*(?:[A-Z#>|]|\*\*|[-*][ \t]|\d+[.)][ \t]))"
    r"|(?<=\x00)[ \t]*(?=[A-Z][a-z])"
    r"|(?<![A-Za-z])(?=(?:Therefore|Thus|Hence|So|Finally|Consequently|In conclusion)(?![a-z]))")
_CONCLUSION_START_RE = re.compile(
    r"(?:therefore|thus|hence|so|consequently|in conclusion|in summary|to conclude|in total|"
    r"altogether|all in all|overall|finally|as a result|this (?:gives|yields|means|shows)|"
    r"we (?:find|found|get|got|obtain|obtained|conclude|concluded|see|have found|can conclude)"
    r"|the (?:final )?(?:solution|answer|result)s? (?:is|are)|the solution set is|"
    r"that is|i\.e\.)(?![a-z])", re.IGNORECASE)
_CONCLUSION_END_RE = re.compile(r"(?:is|are|as|be) (?:the|our|my) (?:final |only )?(?:solution|"
                                r"answer|result)s?\W*$", re.IGNORECASE)
# Words outside math that make a sentence non-committal: a supposition, a plan, a negation, a
# hedge.
_NON_COMMITTAL_RE = re.compile(
    r"\b(?:if|suppose|supposing|assume|assuming|let|let's|need|needs|want|wants|try|check|"
    r"whether|not|no|cannot|can't|isn't|aren't|doesn't|don't|never|unless|verify|guess|maybe|"
    r"perhaps|possibly|depending)\b",
    re.IGNORECASE)
_PLAIN_OBJECT_EXCLUDED_START_RE = re.compile(
    r"(?:let|suppose|assume|if|consider|since|because|given|note|recall|where|when we|to|"
    r"substitut\w*|plug\w*|first|next|then|now)\b", re.IGNORECASE)
# A relation presented as "the (given) equation (to solve) is ..." restates a problem rather than
# answering it ("the equation of the line is ..." does answer); without a conclusion marker, words of the problem
# ("the given expression", "the question") make any sentence a restatement.
_RESTATED_SUBJECT_RE = re.compile(
    r"[ \t,]*(?:the|this|that|our)[ \t]+(?:(?:given|original|initial|resulting|new)[ \t]+)?"
    r"(?:equations?|inequality|inequalities|system)(?:[ \t]+(?:to[ \t]+solve|to[ \t]+be[ \t]+"
    r"solved|we[ \t]+(?:need|have|want)[ \t]+to[ \t]+solve))?[ \t]*(?:is|are|becomes|reads|:)"
    r"(?![a-z])", re.IGNORECASE)
_RESTATEMENT_RE = re.compile(
    r"\b(?:given|original|initial)[ \t]+(?:expression|equation|inequality|system|sum|product|"
    r"number|fraction|polynomial|function|quantity)s?\b|\b(?:problem|question|asked|asks)\b",
    re.IGNORECASE)
_PIVOT_RE = re.compile(r"(?:(?<![A-Za-z])(?:is|are|was|were|equals|(?:must|will|would|should|"
                       r"can|could|might|may) be|being|becomes|giving|"
                       r"gives|yielding|yields|get|gets|obtain|making)"
                       r"(?![A-Za-z])|=|:(?=[ \t]|$))")
# Words after a stated value that derive another one from it (its last math span is the value).
_CONSEQUENCE_RE = re.compile(r"(?<![A-Za-z])(?:so|hence|thus|therefore|giving|yielding|then|"
                             r"which gives|implies|means)(?![A-Za-z])", re.IGNORECASE)
_FILLER_RE = re.compile(r"[ \t]*(?:(?:exactly|just|only|then|equal to|about|now)[ \t]+)*")
# A clock time ("7:45 p.m.") or a number (digit groups "12,000", "400 000") with its percent
# sign; never a piece of a time.
_NUMBER_RE = re.compile(r"(?<![\w.:])(?:\d{1,2}:\d{2}(?:[ \t]?[ap]\.?m\.?|[ \t]?[AP]M)?|-?(?:\d{1,3}"
                        r"(?: \d{3})+(?!\d)|\d[\d,]*)(?:\.\d+)?(?:/\d+)?(?![\w:])(?:[ \t]?(?:%|\\%|"
                        r"percent(?![a-z])))?)")
# After a number, the rest of an expression ("1.2*60 = 72"): the number is not a stated value.
_OPERATOR_AFTER_RE = re.compile(r"[ \t]*(?:[-+*/×^=]|x[ \t]*\d)")
_LIST_SEPARATOR_RE = re.compile(r"[ \t]*(?:,[ \t]*(?:and|or)?|and|or)[ \t]*")
_RELATION_RE = re.compile(r"=|<|>|\\(?:le|ge|leq|geq|lt|gt|ne|neq|approx|leqslant|geqslant)"
                          r"(?![a-zA-Z])")
_ANSWER_LINE_RE = re.compile(r"(?:^|(?<=\n)|(?<=[.!?] ))[ \t>#*_-]*(?:final[ \t]+)?answer"
                             r"(?![a-z])[ \t*_]*(:?)[ \t*_]*", re.IGNORECASE)


@dataclasses.dataclass(frozen=True)
class Span:
  """A math span of a text: `start`/`end` include the delimiters; `body` is the inside."""
  start: int
  end: int
  body: str


def strip_end_noise(text: str) -> str:
  """Drops trailing whitespace, chat-template tokens and "I hope it is correct." (bounded)."""
  for _ in range(16):
    stripped = text.rstrip()
    tail = stripped[-64:]
    match = _END_TOKEN_RE.search(tail) or _HOPE_RE.search(tail)
    if match is not None:
      stripped = stripped[:len(stripped) - len(tail) + match.start()]
    if stripped == text:
      return text
    text = stripped
  return text.rstrip()


def math_spans(text: str) -> list[Span]:
  """The math spans of `text`, left to right, in one pass over its delimiters.

  `$...$` and `\\(...\\)` end on their own line (an opener with no closer on the line is literal
  text, such as a dollar sign); `$$...$$` and `\\[...\\]` may span lines. Unclosed: literal.
  A `$` before a digit whose would-be span ends in a space or an operator (`$400 + $60`,
  `$15*13=$195`) is a currency sign.
  """
  spans = []
  opener = None  # (token, start, end of the opener, index of the next line break)
  for match in _DELIMITER_RE.finditer(text):
    token = match.group(0)
    if token == "\\$":
      continue
    if opener is not None:
      open_token, open_start, open_end, line_end = opener
      if open_token in _INLINE and 0 <= line_end < match.start():
        opener = None  # The inline opener was a literal character; read this token afresh.
      elif open_token == "$" and _CURRENCY_RE.fullmatch(text, open_end, match.start()):
        opener = None  # "$400 + $60 = $460": dollar signs, not math; this one may open math.
      elif token == _CLOSERS[open_token] or (open_token == "$" and token == "$$"):
        spans.append(Span(open_start, match.start() + 1 if token == "$$" and open_token == "$"
                          else match.end(), text[open_end:match.start()]))
        opener = None
        if token == "$$" and open_token == "$":
          opener = ("$", match.start() + 1, match.end(), text.find("\n", match.end()))
        continue
      else:
        continue
    if token in _CLOSERS:
      opener = (token, match.start(), match.end(), text.find("\n", match.end()))
  return spans


def _masked(text: str, spans: list[Span]) -> str:
  """`text` with every math span replaced by "M"s of the same length (positions kept)."""
  pieces, position = [], 0
  for span in spans:
    pieces.append(text[position:span.start])
    pieces.append(MASK * (span.end - span.start))
    position = span.end
  pieces.append(text[position:])
  return "".join(pieces)


@dataclasses.dataclass(frozen=True)
class Sentence:
  """A sentence of a text: its words with math masked, and its math spans (relative offsets)."""
  text: str
  masked: str
  spans: tuple[Span, ...]

  @functools.cached_property
  def span_starts(self) -> list[int]:
    return [span.start for span in self.spans]


def _sentence(text: str, masked: str, spans: list[Span], start: int, end: int) -> Sentence:
  inner = tuple(Span(s.start - start, s.end - start, s.body) for s in spans
                if s.start >= start and s.end <= end)
  return Sentence(text[start:end], masked[start:end], inner)


def _is_boundary(masked: str, match: re.Match) -> bool:
  if match.group(0) != ".":
    return True
  word = re.search(r"[A-Za-z.]{1,6}$", masked[max(0, match.start() - 6):match.start()])
  return word is None or word.group(0).lower() not in _ABBREVIATIONS


def last_sentence(text: str) -> Sentence | None:
  """The last sentence of a response's tail (end noise stripped), or None for an empty text."""
  tail = strip_end_noise(text[-TAIL_CHARS:])
  if not tail.strip():
    return None
  spans = math_spans(tail)
  masked = _masked(tail, spans)
  end = len(masked.rstrip())
  body_end = end - 1 if masked[end - 1:end] in (".", "!", "?") else end
  start = 0
  for match in _SENTENCE_END_RE.finditer(masked, 0, body_end):
    if _is_boundary(masked, match):
      start = match.end()
  while start < end and masked[start].isspace():
    start += 1
  return _sentence(tail, masked, spans, start, end)


def _span_at(sentence: Sentence, position: int) -> Span | None:
  index = bisect.bisect_left(sentence.span_starts, position)
  if index < len(sentence.spans) and sentence.spans[index].start == position:
    return sentence.spans[index]
  return None


def tidy_math(body: str) -> str:
  """A math span's inside without the punctuation that ends its sentence (`= 66673.`, `-56,`)."""
  body = body.strip()
  while body.endswith((".", ",", ";")) and not body.endswith(("\\.", "\\,", "\\;")):
    body = body[:-1].rstrip()
  return body


def _value_at(sentence: Sentence, position: int) -> tuple[list[str], int]:
  """The math span(s) or number(s) that start at `position` (a list joined by , and/or), and
  the position after them."""
  values = []
  masked = sentence.masked
  while True:
    position = _FILLER_RE.match(masked, position).end()
    span = _span_at(sentence, position)
    if span is not None and tidy_math(span.body):
      values.append(tidy_math(span.body))
      position = span.end
    else:
      if masked.startswith("$", position):
        position += 1  # A currency sign ("= $460").
      number = _NUMBER_RE.match(masked, position)
      if number is None or _OPERATOR_AFTER_RE.match(masked, number.end()):
        return values, position
      values.append(number.group(0).rstrip(","))
      position = number.end()
    separator = _LIST_SEPARATOR_RE.match(masked, position)
    if separator is None or separator.end() == position:
      return values, position
    following = _FILLER_RE.match(masked, separator.end()).end()
    if _span_at(sentence, following) is None and not _NUMBER_RE.match(masked, following):
      return values, position
    position = separator.end()


def statement_value(sentence: Sentence) -> str | None:
  """The value a sentence states (module docstring), or None."""
  masked = sentence.masked
  for pivot in reversed(list(_PIVOT_RE.finditer(masked))):
    values, end = _value_at(sentence, pivot.end())
    if not values:
      continue
    later = [span for span in sentence.spans if span.start >= end]
    if not later or not _CONSEQUENCE_RE.search(masked, end, later[0].start):
      return ", ".join(values)
    break  # A consequence follows ("... are $P$, so $\tan x = 1$"): its last math span.
  if sentence.spans:
    return tidy_math(sentence.spans[-1].body) or None
  numbers = {m.group(0).rstrip(",") for m in _NUMBER_RE.finditer(masked)}
  return numbers.pop() if len(numbers) == 1 else None


def _opening(sentence: Sentence) -> str:
  """The sentence's words without a list marker, heading or bold markup at its start."""
  return re.sub(r"^[ \t]*(?:[-*>#]+[ \t]*|\d+[.)][ \t]+|\*\*|__)*", "", sentence.masked)


def _restates(opening: str) -> bool:
  """Whether the sentence's subject, after any conclusion marker, is an equation or the like."""
  marker = _CONCLUSION_START_RE.match(opening)
  return _RESTATED_SUBJECT_RE.match(opening, marker.end() if marker else 0) is not None


def _non_committal(sentence: Sentence) -> bool:
  masked = sentence.masked.rstrip()
  return masked.endswith(("?", ":")) or _NON_COMMITTAL_RE.search(masked) is not None


def concluding_answer(text: str) -> str | None:
  """The value of a final sentence that starts with a conclusion marker or ends with "is the
  answer". Without math, its number must end a complete sentence ("." or "!")."""
  sentence = last_sentence(text)
  if sentence is None or _non_committal(sentence):
    return None
  opening = _opening(sentence)
  if not (_CONCLUSION_START_RE.match(opening) or _CONCLUSION_END_RE.search(sentence.masked)):
    return None
  if not sentence.spans and not sentence.masked.rstrip().endswith((".", "!")):
    return None  # "So the total is 12" cut off: maybe 120.
  if sentence.spans and not sentence.masked.rstrip().endswith((".", "!", MASK)):
    words_after = sentence.masked[sentence.spans[-1].end:]
    if re.search(r"[A-Za-z]{2,}", words_after) and not _CONCLUSION_END_RE.search(words_after):
      return None  # Ends mid-sentence after its last math: a cut-off response.
  value = statement_value(sentence)
  if value and _RELATION_RE.search(value) and _restates(opening):
    return None  # "So the equation to solve is $2x + 1 = 9$." restates what is to be solved.
  return value


def final_object(text: str) -> str | None:
  """A last sentence that presents one math span after "is"/"are"/"="/":" at its end."""
  sentence = last_sentence(text)
  if sentence is None or not sentence.spans or _non_committal(sentence):
    return None
  span = sentence.spans[-1]
  if sentence.masked[span.end:].strip() not in ("", ".", "!"):
    return None
  before = sentence.masked[:span.start].rstrip()
  opening = _opening(Sentence(before, before, ()))
  if (_PLAIN_OBJECT_EXCLUDED_START_RE.match(opening) or _RESTATEMENT_RE.search(before)
      or (_RELATION_RE.search(span.body) and _restates(opening))):
    return None  # A setup or a restated problem ("The given equation is $x + 2 = 5$.").
  if re.search(r"(?<![A-Za-z])(?:is|are|equals)[ \t]*:?$|=$", before):
    pass
  elif before.endswith(":"):
    if _RELATION_RE.search(span.body) or len(re.findall(r"[A-Za-z]+", before)) > 8:
      return None  # "Combine like terms: $3x = 6$" is a step, not a presented object.
  else:
    return None
  return tidy_math(span.body) or None


def _first_sentence(line: str) -> str:
  spans = math_spans(line)
  masked = _masked(line, spans)
  for match in _SENTENCE_END_RE.finditer(masked):
    if _is_boundary(masked, match):
      return line[:match.start()]
  return line


def answer_line(text: str) -> tuple[int, str] | None:
  """The last answer line of the tail: (its position in the tail, the answer), or None."""
  tail = strip_end_noise(text[-TAIL_CHARS:])
  last = None
  for match in _ANSWER_LINE_RE.finditer(tail):
    last = match
  if last is None:
    return None
  rest = tail[last.end():]
  if not last.group(1):  # A bare "Answer" must be followed by math, a number or a line break.
    if not re.match(r"[ \t]*(?:\$|\\\[|\\\(|-?\d|\(|\n|$)", rest):
      return None
  lead = len(rest) - len(rest.lstrip())
  spans = math_spans(rest)
  if spans and spans[0].start == lead:
    after = rest[spans[0].end:].split("\n", 1)[0].strip()
    if after in ("", ".", "!"):
      body = tidy_math(spans[0].body)
      return (last.start(), body) if body else None
  stripped_rest = rest.strip()
  line = _first_sentence(stripped_rest.split("\n", 1)[0].strip()).strip()
  if not re.search(r"[A-Za-z0-9]", line):
    return None  # Only a delimiter: "Answer $" whose math does not close on its line.
  line_spans = math_spans(line)
  masked = _masked(line, line_spans)
  outside_words = re.findall(r"(?<![\\a-zA-Z])[a-zA-Z]{2,}", masked)
  if len(outside_words) <= 2:
    return last.start(), line.rstrip(".").strip()
  sentence = Sentence(line, masked, tuple(line_spans))
  if _non_committal(sentence):
    return None
  if stripped_rest[len(line):].strip(" \t\n.!"):
    return None  # More reasoning follows: "Answer:" began the solution, it did not end it.
  value = statement_value(sentence)
  return (last.start(), value) if value else None
