"""Word tokens, stable hashes of word n-grams, and token counting for the corpus engine.

The classifier (hashed word n-grams, arXiv:2402.03300 §2.1 uses fastText) and decontamination
(exact 10-gram match, §2.1) both need word n-grams hashed the same way on every machine and in
every process. Python's `hash` of a str is salted per process, so tokens are hashed with
blake2b (hashlib, 64 bits) and n-grams are combined with a polynomial hash in numpy (uint64
arithmetic wraps, which is what we want).

Token counts in the report use `TokenCounter`: by default a regex tokenizer (each run of
letters, each single digit and each other non-space character is one token; digits are split
as the DeepSeek tokenizer does, §1.4 of the spec), or a sentencepiece model if one is given.
"""

from __future__ import annotations

import functools
import hashlib
import re

import numpy as np

# Classifier features: lower-cased words, numbers, and single math symbols (`\frac`, `=`, `^`
# are strong math signals, so keep them as tokens). TeX's `\(..\)` and `\[..\]` delimiters are
# read as `$`, so a page typed with them (plasTeX blueprints, MathJax pages) shows the same math
# spans as the `$`-delimited seed text and the formulas rewritten from markup.
_FEATURE_TOKEN = re.compile(r"\\[a-zA-Z]+|\\[()\[\]]|[^\W\d_]+|\d+|[^\w\s]", re.UNICODE)
# A `$` delimits math only by Pandoc's rule for TeX math (`tex_math_dollars`): the opening `$`
# has a non-space character to its right, the closing one a non-space character to its left and
# no digit right after it, both on one line (`$$` display math may span lines); `\$` is a
# literal dollar. Any other `$` (prices, `$25 bonus with $100`, shell or PHP variables) reads
# as DOLLAR and counts as no class, so a price list or a script does not look like formulas.
_DOLLARS = re.compile(r"(?<!\\)\$\$?")
DOLLAR = "<dollar>"
# The version of the math-feature view (`feature_tokens(..., math_features=True)`); a saved
# classifier records it and refuses to load under another (1: token classes and TeX delimiters
# as `$`; 2: `$` a delimiter only by Pandoc's rule, other dollars DOLLAR).
FEATURE_VIEW = 2
_PLAIN_TOKEN = re.compile(r"\\[a-zA-Z]+|[^\W\d_]+|\d+|[^\w\s]", re.UNICODE)
# Token classes: every token of a class also counts as the class token, so the classifier sees
# "a TeX command" or "a math symbol" even for commands and symbols its seed never used
# (`\mathbb`, `\sharp`, Lean's `∀`, `ℝ`). They are appended after the words (`class_tokens`).
TEX_CLASS, SPAN_CLASS, SYMBOL_CLASS, THEOREM_CLASS = ("<tex-command>", "<math-span>",
                                                      "<math-symbol>", "<theorem-word>")
_THEOREM_WORDS = frozenset((
    "theorem", "lemma", "proof", "corollary", "proposition", "definition", "conjecture",
    "axiom", "qed", "lemmas", "theorems", "proofs", "iff"))
# Decontamination: only letters and digits, so `$x^2$` and `\(x^2\)` give the same n-grams.
_ALNUM_TOKEN = re.compile(r"[^\W_]+", re.UNICODE)
# Report counting: letter runs, single digits, single symbols.
_COUNT_TOKEN = re.compile(r"[^\W\d_]+|\d|[^\w\s]", re.UNICODE)
_PRIME = np.uint64(1099511628211)  # FNV-64 prime, a good multiplier for combining hashes


def _token_class(token: str) -> str | None:
  if token[0] == "\\":
    return TEX_CLASS
  if token == "$":
    return SPAN_CLASS
  if len(token) == 1 and token > "\u2000" and (
      "\u2100" <= token <= "\u214f" or "\u2190" <= token <= "\u22ff" or
      "\u27c0" <= token <= "\u2aff"):  # letterlike (ℝ), arrows, operators, relations
    return SYMBOL_CLASS
  if token in _THEOREM_WORDS:
    return THEOREM_CLASS
  return None


def math_dollars(text: str) -> set[int]:
  """Offsets of the `$` characters that delimit TeX math (Pandoc's rule, above)."""
  marked: set[int] = set()
  open_at, open_len, line_end = -1, 0, 0
  for match in _DOLLARS.finditer(text):
    start, end = match.start(), match.end()
    if open_at >= 0 and open_len == 1 and start > line_end:
      open_at = -1  # inline math ends on its line
    if open_at >= 0 and end - start == open_len and (open_len == 2 or (
        not text[start - 1].isspace() and not text[end:end + 1].isdigit())):
      marked.update(range(open_at, open_at + open_len))
      marked.update(range(start, end))
      open_at = -1
    elif open_at < 0 and (end - start == 2 or text[end:end + 1].strip()):
      open_at, open_len = start, end - start
      line_end = text.find("\n", end)
      line_end = len(text) if line_end < 0 else line_end
  return marked


def class_tokens(words: list[str]) -> list[str]:
  """The class token of each word that has one, in order (see TEX_CLASS..THEOREM_CLASS)."""
  return [c for c in map(_token_class, words) if c is not None]


def feature_tokens(text: str, max_tokens: int | None = None,
                   math_features: bool = True) -> list[str]:
  """Lower-cased classifier tokens (the first `max_tokens` words when given), then the class
  tokens of those words. `math_features=False` is the plain word view (no classes, `\\(` read
  as two symbols)."""
  if not math_features:
    out = []
    for match in _PLAIN_TOKEN.finditer(text):
      out.append(match.group().lower())
      if max_tokens is not None and len(out) >= max_tokens:
        break
    return out
  words = []
  delimiters = math_dollars(text) if "$" in text else set()
  for match in _FEATURE_TOKEN.finditer(text):
    word = match.group()
    if word == "$":
      words.append("$" if match.start() in delimiters else DOLLAR)
    else:
      words.append("$" if word in ("\\(", "\\)", "\\[", "\\]") else word.lower())
    if max_tokens is not None and len(words) >= max_tokens:
      break
  return words + class_tokens(words)


def alnum_tokens(text: str) -> list[str]:
  """Lower-cased letter/digit runs, the units of the decontamination n-grams."""
  return _ALNUM_TOKEN.findall(text.lower())


@functools.lru_cache(maxsize=1 << 20)
def token_hash(token: str) -> int:
  return int.from_bytes(hashlib.blake2b(token.encode("utf-8"), digest_size=8).digest(), "little")


def token_hashes(tokens: list[str]) -> np.ndarray:
  """uint64 hash per token, stable across processes and machines."""
  return np.fromiter((token_hash(t) for t in tokens), dtype=np.uint64, count=len(tokens))


def ngram_hashes(hashes_T: np.ndarray, n: int) -> np.ndarray:
  """Hash of every contiguous n-gram: h = ((h0 * P + h1) * P + h2) ... (uint64, wraps)."""
  if len(hashes_T) < n:
    return np.zeros((0,), np.uint64)
  out = hashes_T[: len(hashes_T) - n + 1].copy()
  with np.errstate(over="ignore"):
    for k in range(1, n):
      out = out * _PRIME + hashes_T[k: len(hashes_T) - n + 1 + k]
  return out


class TokenCounter:
  """Counts tokens for the dataset report: regex (default) or a sentencepiece model."""

  def __init__(self, sentencepiece_model: str | None = None):
    self.name = "regex (letter runs, single digits, single symbols)"
    self._sp = None
    if sentencepiece_model:
      import sentencepiece  # only when asked for
      self._sp = sentencepiece.SentencePieceProcessor(model_file=sentencepiece_model)
      self.name = f"sentencepiece ({sentencepiece_model})"

  def __call__(self, text: str) -> int:
    if self._sp is not None:
      return len(self._sp.encode(text))
    return len(_COUNT_TOKEN.findall(text))
