"""Benchmark decontamination by exact n-gram match (arXiv:2402.03300 §2.1).

The paper: "any text segment containing a 10-gram string that matches exactly with any
sub-string from the evaluation benchmarks is removed from our math training corpus. For
benchmark texts that are shorter than 10 grams but have at least 3 grams, we employ exact
matching to filter out contaminated web pages." We remove the whole document.

Grams are lower-cased letter/digit runs (tokens.alnum_tokens), so `$x^2+1$`, `\\(x^2 + 1\\)`
and `x^2+1` give the same grams; n-grams are stable 64-bit hashes (tokens.ngram_hashes), kept
in a dict hash -> benchmark names. Benchmarks are jsonl files read here directly (GSM8K test,
MATH test, MATH500 by default; any list of {name, path, fields} in the config).
"""

from __future__ import annotations

import collections
import dataclasses
import os
import re
from typing import Iterable

import numpy as np

from deepseekmath_jax.corpus import readers
from deepseekmath_jax.corpus import tokens


_CALCULATOR = re.compile(r"<<[^<>]*>>")
# TeX markup in a benchmark text: command names (`\frac`, `\begin`) and environment names.
_TEX_NAMES = re.compile(r"\\(begin|end)\s*\{([a-zA-Z]+)\*?\}|\\([a-zA-Z]+)")


@dataclasses.dataclass(frozen=True)
class Benchmark:
  name: str
  path: str
  fields: tuple[str, ...]


@dataclasses.dataclass
class Hit:
  benchmark: str
  gram: str  # the matching words, for the report


class Decontaminator:
  """Index of benchmark n-grams; `check(text)` returns the hits (benchmark + matched words).

  An n-gram found in more than `max_text_frequency` texts of one benchmark is generic
  ("1 2 3 4 5 6 7 8 9 10") rather than the mark of a benchmark item, and is left out of the
  index: a page that copies an item still contains that item's distinctive n-grams. So is an
  n-gram made only of TeX markup (the command and environment names the benchmark texts use)
  and one-letter variables, however rare: "pmatrix a b c d end pmatrix begin pmatrix a" is
  `\\begin{pmatrix} a & b \\\\ c & d \\end{pmatrix}` written twice, which a TeX manual shares
  with a MATH solution without copying it. `pruned` reports how many were left out,
  `pruned_markup` how many of them for being markup.
  """

  def __init__(self, benchmarks: Iterable[Benchmark], n: int = 10, min_short: int = 3,
               max_text_frequency: int = 3, prune_markup: bool = True):
    self.n, self.min_short = n, min_short
    # length -> gram hash -> {benchmark: number of its texts containing the gram}
    counts: dict[int, dict[int, collections.Counter]] = collections.defaultdict(dict)
    markup_grams: set[int] = set()
    self.texts: dict[str, int] = {}
    benchmark_texts = [(bench.name, list(_read_texts(bench))) for bench in benchmarks]
    markup = {name.lower() for _, texts in benchmark_texts for text in texts
              for match in _TEX_NAMES.finditer(text) for name in match.groups() if name
              } if prune_markup else set()
    for name, texts in benchmark_texts:
      count = 0
      for text in texts:
        words = tokens.alnum_tokens(text)
        hashes_T = tokens.token_hashes(words)
        length = min(n, len(hashes_T))
        if length < n and length < min_short:
          continue
        grams_G = tokens.ngram_hashes(hashes_T, length)
        # Content words per gram (neither markup nor a one-letter variable).
        content_T = np.array([not prune_markup or not (w in markup or (
            len(w) == 1 and w.isalpha())) for w in words], np.int64)
        cumulative = np.concatenate([[0], np.cumsum(content_T)])
        empty_G = (cumulative[length:] - cumulative[:len(grams_G)]) == 0
        markup_grams.update(grams_G[empty_G].tolist())
        table = counts[length]
        for gram in set(grams_G[~empty_G].tolist()):
          table.setdefault(gram, collections.Counter())[name] += 1
        count += 1
      self.texts[name] = count
    # The same words are markup everywhere, so these grams are in no table.
    self.pruned_markup = len(markup_grams)
    self.pruned = self.pruned_markup
    # length -> (sorted gram hashes, benchmark names per gram)
    self.tables: dict[int, tuple[np.ndarray, list[tuple[str, ...]]]] = {}
    for length, table in sorted(counts.items()):
      kept = {g: tuple(sorted(c)) for g, c in table.items()
              if max(c.values()) <= max_text_frequency}
      self.pruned += len(table) - len(kept)
      keys = np.array(sorted(kept), dtype=np.uint64)
      self.tables[length] = (keys, [kept[int(k)] for k in keys])

  def check(self, text: str) -> list[Hit]:
    """All benchmarks this text contaminates (one example gram each); [] if clean."""
    words = tokens.alnum_tokens(text)
    hashes_T = tokens.token_hashes(words)
    found: dict[str, Hit] = {}
    for n, (keys, names) in self.tables.items():
      grams = tokens.ngram_hashes(hashes_T, n)
      if not len(grams) or not len(keys):
        continue
      pos = np.minimum(np.searchsorted(keys, grams), len(keys) - 1)
      for at in np.flatnonzero(keys[pos] == grams):
        for name in names[pos[at]]:
          found.setdefault(name, Hit(name, " ".join(words[at:at + n])))
    return list(found.values())


def _read_texts(bench: Benchmark) -> Iterable[str]:
  if not os.path.exists(bench.path):
    raise FileNotFoundError(f"benchmark {bench.name!r}: {bench.path} does not exist (set "
                            "config.decontam.benchmarks, or [] to skip decontamination)")
  with open(bench.path, encoding="utf-8") as f:
    for line_no, row in readers.jsonl_rows(f, bench.path):
      present = [row[k] for k in bench.fields if isinstance(row.get(k), str)]
      if not present:
        raise ValueError(f"{bench.path}:{line_no}: none of the fields {list(bench.fields)}")
      # GSM8K's calculator annotations (`<<16-3-4=9>>`) are not in copies on the web.
      yield from (_CALCULATOR.sub("", t) for t in present)


def parse_benchmarks(spec: str, data_dir: str) -> list[Benchmark]:
  """`name=path:field,field;name=path:field` -> Benchmarks; `{data_dir}` is substituted.

  A string (not a list) so that `--config.decontam.benchmarks=...` can set it.
  """
  out = []
  for part in filter(None, (p.strip() for p in spec.split(";"))):
    name, eq, rest = part.partition("=")
    path, colon, fields = rest.rpartition(":")
    if not eq or not colon or not name.strip() or not fields.strip():
      raise ValueError(f"config.decontam.benchmarks: bad entry {part!r}; expected "
                       "name=path:field[,field]")
    path = os.path.expanduser(path.strip().replace("{data_dir}", data_dir))
    out.append(Benchmark(name.strip(), path, tuple(f.strip() for f in fields.split(","))))
  return out
