"""Benchmark loaders: GSM8K, MATH and MATH500 from local jsonl files into `Problem` records.

The paper evaluates on the GSM8K test set (1,319 problems) and the full MATH test set (5,000
problems) (arXiv:2402.03300 §5.1, Table 2 and 5); MATH500 (the PRM800K test split, Lightman et al.
2023) is the 500-problem subset most peers report. The file layouts are the ones under
`../shared/data` (each folder's NOTICE.md documents them):

  gsm8k/{train,test}.jsonl        {"question", "answer"}; the answer ends with `#### <n>`
  math/math_{train,test}.jsonl    {"unique_id", "problem", "level", "type", "solution"}
  math/math500/test.jsonl         {"problem", "solution", "answer", "subject", "level", "unique_id"}

`data_dir` may be the shared data root (holding `gsm8k/` and `math/`) or the benchmark's own
folder. A malformed line in a benchmark file is an error naming the file and line: a benchmark with
a silently dropped problem would report a wrong denominator.

Problem ids are the dataset's own where it has one (MATH's `unique_id`, e.g.
`test/algebra/1.json`); GSM8K has none, so its id is `<split>/<line index>` (`test/0` ..
`test/1318`), the 0-based position in the upstream file.

`Problem.reference` is the text handed to the verifier: the GSM8K answer (the verifier reads its
`####` line), the MATH solution (the verifier reads its last `\\boxed{}`), and MATH500's bare
`answer` field. Extracting the final answer is the verifier's job, not the loader's.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
from typing import Any, Callable, Iterator

BENCHMARKS = ("gsm8k", "math", "math500")


@dataclasses.dataclass(frozen=True)
class Problem:
  """One benchmark problem.

  Attributes:
    id: stable id used to match predictions (see module docstring).
    question: the problem statement, as given to the model.
    reference: the reference text handed to the verifier (GSM8K answer, MATH solution or bare
      answer).
    subject: MATH subject (`Algebra`, ...); `"gsm8k"` for GSM8K.
    level: MATH difficulty 1..5, or None (GSM8K, and MATH's two `Level ?` training problems).
    raw: the record as read from the file.
  """
  id: str
  question: str
  reference: str
  subject: str
  level: int | None
  raw: dict[str, Any] = dataclasses.field(repr=False, compare=False, hash=False)


class BenchmarkFormatError(ValueError):
  """A benchmark file has a malformed line (the message names the file and line)."""


def _read_jsonl(path: str) -> Iterator[tuple[int, dict[str, Any]]]:
  """Yields (1-based line number, object) for each non-blank line; errors name file:line."""
  if not os.path.exists(path):
    raise FileNotFoundError(f"benchmark file not found: {path}")
  with open(path, encoding="utf-8") as f:
    for lineno, line in enumerate(f, start=1):
      if not line.strip():
        continue
      try:
        obj = json.loads(line)
      except json.JSONDecodeError as e:
        raise BenchmarkFormatError(f"{path}:{lineno}: not valid JSON ({e.msg})") from None
      if not isinstance(obj, dict):
        raise BenchmarkFormatError(f"{path}:{lineno}: expected a JSON object, got "
                                   f"{type(obj).__name__}")
      yield lineno, obj


def _field(obj: dict[str, Any], key: str, kind: type, path: str, lineno: int) -> Any:
  if key not in obj:
    raise BenchmarkFormatError(f"{path}:{lineno}: missing key {key!r} (keys: {sorted(obj)})")
  value = obj[key]
  if not isinstance(value, kind) or isinstance(value, bool):
    raise BenchmarkFormatError(f"{path}:{lineno}: key {key!r} should be {kind.__name__}, got "
                               f"{type(value).__name__}")
  return value


def parse_math_level(value: Any, path: str, lineno: int) -> int | None:
  """MATH levels are `"Level 3"` (MATH) or `3` (MATH500); `"Level ?"` (2 train rows) is None."""
  if isinstance(value, int) and not isinstance(value, bool):
    return value
  if isinstance(value, str):
    m = re.fullmatch(r"\s*Level\s+(\d+|\?)\s*", value)
    if m:
      return None if m.group(1) == "?" else int(m.group(1))
  raise BenchmarkFormatError(f"{path}:{lineno}: unrecognised level {value!r}")


def read_gsm8k_file(path: str, split: str) -> list[Problem]:
  """Reads a GSM8K jsonl file (`question`, `answer` with a `#### n` line)."""
  problems = []
  for index, (lineno, obj) in enumerate(_read_jsonl(path)):
    question = _field(obj, "question", str, path, lineno)
    answer = _field(obj, "answer", str, path, lineno)
    if "####" not in answer:
      raise BenchmarkFormatError(f"{path}:{lineno}: GSM8K answer has no '####' final-answer line")
    problems.append(Problem(id=f"{split}/{index}", question=question, reference=answer,
                            subject="gsm8k", level=None, raw=obj))
  return problems


def read_math_file(path: str) -> list[Problem]:
  """Reads a MATH jsonl file (`unique_id`, `problem`, `level`, `type`, `solution`)."""
  problems = []
  for lineno, obj in _read_jsonl(path):
    problems.append(Problem(
        id=_field(obj, "unique_id", str, path, lineno),
        question=_field(obj, "problem", str, path, lineno),
        reference=_field(obj, "solution", str, path, lineno),
        subject=_field(obj, "type", str, path, lineno),
        level=parse_math_level(obj.get("level"), path, lineno),
        raw=obj))
  return problems


def read_math500_file(path: str) -> list[Problem]:
  """Reads the MATH500 jsonl file (PRM800K schema; the reference is its bare `answer`)."""
  problems = []
  for lineno, obj in _read_jsonl(path):
    _field(obj, "solution", str, path, lineno)
    problems.append(Problem(
        id=_field(obj, "unique_id", str, path, lineno),
        question=_field(obj, "problem", str, path, lineno),
        reference=_field(obj, "answer", str, path, lineno),
        subject=_field(obj, "subject", str, path, lineno),
        level=parse_math_level(obj.get("level"), path, lineno),
        raw=obj))
  return problems


def _candidates(data_dir: str, relpaths: list[str]) -> str:
  """The first existing `data_dir/relpath`; the error lists every place looked at."""
  tried = [os.path.join(data_dir, rel) for rel in relpaths]
  for path in tried:
    if os.path.isfile(path):
      return path
  raise FileNotFoundError(f"no benchmark file under {data_dir!r}; looked for: {tried}")


def benchmark_file(benchmark: str, data_dir: str, split: str = "test") -> str:
  """Path of a benchmark split's file under `data_dir` (the data root or the benchmark folder)."""
  if benchmark == "gsm8k":
    return _candidates(data_dir, [f"gsm8k/{split}.jsonl", f"{split}.jsonl"])
  if benchmark == "math":
    return _candidates(data_dir, [f"math/math_{split}.jsonl", f"math_{split}.jsonl"])
  if benchmark == "math500":
    if split != "test":
      raise ValueError(f"math500 has only a 'test' split, not {split!r}")
    return _candidates(data_dir, ["math/math500/test.jsonl", "math500/test.jsonl", "test.jsonl"])
  raise ValueError(f"unknown benchmark {benchmark!r}; known: {list(BENCHMARKS)}")


_READERS: dict[str, Callable[..., list[Problem]]] = {
    "gsm8k": read_gsm8k_file,
    "math": lambda path, split: read_math_file(path),
    "math500": lambda path, split: read_math500_file(path),
}


def load_benchmark(benchmark: str, data_dir: str, split: str = "test") -> list[Problem]:
  """Loads a benchmark split as `Problem`s, in file order. Duplicate ids are an error."""
  path = benchmark_file(benchmark, data_dir, split)
  problems = _READERS[benchmark](path, split)
  seen: set[str] = set()
  for p in problems:
    if p.id in seen:
      raise BenchmarkFormatError(f"{path}: duplicate problem id {p.id!r}")
    seen.add(p.id)
  return problems
