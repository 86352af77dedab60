"""Reading a predictions file: one JSON object per line, matched to a benchmark's problems.

Format (any system's outputs can be scored this way):

  {"id": "test/algebra/1.json", "responses": ["... \\boxed{2}", "... \\boxed{3}"]}
  {"id": "test/algebra/2.json", "response": "... \\boxed{\\frac{1}{2}}"}

* `id`: the benchmark's problem id (`benchmarks.Problem.id`). An integer (or a string of digits
  that is not itself an id) is taken as the problem's 0-based position in the benchmark file.
* `responses`: a non-empty list of strings (the first is the top-1 response; all are samples
  for maj@k / pass@k), or `response`: one string. Other keys are ignored.

Bad lines are never lost silently: each line lands in exactly one bucket, and
`num_lines == num_matched + len(malformed) + len(unknown_ids) + len(duplicates)`.
Malformed lines (not JSON, not an object, invalid UTF-8, no id, no responses, non-string
responses), unknown ids and repeated ids (the first occurrence wins) are counted, listed with
their line numbers, logged, and skipped. Benchmark problems that no line answers are `missing`
and count as wrong.
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any, Sequence

from absl import logging

from deepseekmath_jax.evaluation import benchmarks

# How many bad lines to log one by one (all are counted and kept in the lists).
_MAX_LOGGED = 20


@dataclasses.dataclass
class Predictions:
  """A predictions file matched to a benchmark.

  Attributes:
    path: the file read.
    responses: problem id -> responses, for every matched line.
    num_lines: non-blank lines read.
    malformed: (line number, why) for each malformed line.
    unknown_ids: (line number, id) for lines whose id is not in the benchmark.
    duplicates: (line number, id) for repeated ids (the first occurrence is kept).
    missing: benchmark ids that no line answered, in benchmark order.
  """
  path: str
  responses: dict[str, list[str]]
  num_lines: int = 0
  malformed: list[tuple[int, str]] = dataclasses.field(default_factory=list)
  unknown_ids: list[tuple[int, str]] = dataclasses.field(default_factory=list)
  duplicates: list[tuple[int, str]] = dataclasses.field(default_factory=list)
  missing: list[str] = dataclasses.field(default_factory=list)

  def counts(self) -> dict[str, Any]:
    """JSON-ready accounting of the file (with the first bad lines, for the report)."""
    head = lambda items: [list(x) for x in items[:_MAX_LOGGED]]
    return {
        "path": self.path,
        "num_lines": self.num_lines,
        "num_matched": len(self.responses),
        "num_malformed": len(self.malformed),
        "num_unknown_ids": len(self.unknown_ids),
        "num_duplicates": len(self.duplicates),
        "num_missing_problems": len(self.missing),
        "num_responses": sum(len(r) for r in self.responses.values()),
        "malformed_lines": head(self.malformed),
        "unknown_id_lines": head(self.unknown_ids),
        "duplicate_lines": head(self.duplicates),
        "missing_ids": self.missing[:_MAX_LOGGED],
    }


def _responses_of(obj: dict[str, Any]) -> list[str] | str:
  """The responses of a line, or a string saying why the line is malformed."""
  if "responses" in obj:
    value = obj["responses"]
    if not isinstance(value, list) or not value:
      return "'responses' must be a non-empty list of strings"
    if not all(isinstance(r, str) for r in value):
      return "'responses' must contain only strings"
    return value
  if "response" in obj:
    if not isinstance(obj["response"], str):
      return "'response' must be a string"
    return [obj["response"]]
  return "no 'responses' or 'response' key"


def read_predictions(path: str, problems: Sequence[benchmarks.Problem]) -> Predictions:
  """Reads `path` and matches its lines to `problems` (see module docstring)."""
  ids = {p.id for p in problems}
  preds = Predictions(path=path, responses={})
  with open(path, "rb") as f:
    for lineno, raw in enumerate(f, start=1):
      try:
        line = raw.decode("utf-8")
      except UnicodeDecodeError as e:
        preds.num_lines += 1
        preds.malformed.append((lineno, f"invalid UTF-8 at byte {e.start}"))
        continue
      if not line.strip():
        continue
      preds.num_lines += 1
      try:
        obj = json.loads(line)
      except json.JSONDecodeError as e:
        preds.malformed.append((lineno, f"not valid JSON ({e.msg})"))
        continue
      if not isinstance(obj, dict):
        preds.malformed.append((lineno, f"expected a JSON object, got {type(obj).__name__}"))
        continue
      if "id" not in obj or not isinstance(obj["id"], (str, int)) or isinstance(obj["id"], bool):
        preds.malformed.append((lineno, "no 'id' (string or integer)"))
        continue
      responses = _responses_of(obj)
      if isinstance(responses, str):
        preds.malformed.append((lineno, responses))
        continue
      raw_id = obj["id"]
      problem_id = str(raw_id)
      if problem_id not in ids and str(raw_id).isdigit() and int(raw_id) < len(problems):
        problem_id = problems[int(raw_id)].id  # positional alias
      if problem_id not in ids:
        preds.unknown_ids.append((lineno, str(raw_id)))
      elif problem_id in preds.responses:
        preds.duplicates.append((lineno, problem_id))
      else:
        preds.responses[problem_id] = responses
  preds.missing = [p.id for p in problems if p.id not in preds.responses]
  for kind, items in (("malformed line", preds.malformed), ("unknown id", preds.unknown_ids),
                      ("duplicate id", preds.duplicates)):
    for lineno, what in items[:_MAX_LOGGED]:
      logging.warning("%s:%d: %s: %s", path, lineno, kind, what)
    if len(items) > _MAX_LOGGED:
      logging.warning("%s: %d more lines with a %s", path, len(items) - _MAX_LOGGED, kind)
  if preds.missing:
    logging.warning("%s: %d of %d benchmark problems have no prediction (counted wrong)",
                    path, len(preds.missing), len(problems))
  return preds
