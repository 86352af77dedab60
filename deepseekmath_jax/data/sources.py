"""Random-access record sources for the grain pipelines, and what a record must contain.

Every source has `__len__` and `__getitem__(i) -> dict` (grain's `RandomAccessDataSource`
protocol), so `grain.MapDataset.source(...)` can shard, shuffle and repeat it by index:

* `JsonlSource`: JSON-lines files. Scanned once when opened: each line is parsed and checked for
  the required fields; good lines are indexed by byte offset (records are re-read on access, so
  memory stays small), bad lines are counted by reason and logged as `file:line: reason`
  (`strict=True` raises instead). Meant for small and medium data (GSM8K, MATH, SFT sets).
* `ArrayRecordSource`: array_record files read through `grain.sources.ArrayRecordDataSource`;
  each record is UTF-8 JSON (the corpus engine's `<dir>/shards/*.array_record` shards hold
  `{"text": ...}`). Decoded lazily: a bad record raises `BadRecordError` naming file and record
  index; in the pipeline (`SkipBadRecords`) it is logged, counted and skipped.
* `tfds_source`: any prepared TFDS dataset through `tfds.data_source` (array_record on disk, no
  TensorFlow needed). `bytes` features are decoded as UTF-8.
* `MemorySource`: a list of strings or dicts (tests, Colab).
* `synthetic.SyntheticSource`: generated text (see synthetic.py).

`open_source(source_config, split)` builds any of them from a `config.data.sources.<name>`
ConfigDict; `document_from_record` turns a record into the text (pretrain) or the
prompt/response or chat messages (SFT) the tokenization step needs.
"""

from __future__ import annotations

import bisect
import collections
import dataclasses
import glob
import json
import os
from collections.abc import Sequence
from typing import Any

from absl import logging
import grain
import ml_collections
import numpy as np

from deepseekmath_jax.data import synthetic

_MAX_LOGGED_BAD_LINES = 10


class BadRecordError(ValueError):
  """A record that cannot be used; the message names its file and line or index."""

  def __init__(self, where: str, reason: str):
    super().__init__(f"{where}: {reason}")
    self.where, self.reason = where, reason


def expand_paths(path: str | Sequence[str], *, suffix: str = "") -> list[str]:
  """Comma-separated paths, globs, and directories (`dir/*{suffix}`, or for array_record also
  `dir/shards/*.array_record`, the corpus engine's layout), sorted, de-duplicated."""
  parts = [p.strip() for p in path.split(",")] if isinstance(path, str) else list(path)
  out = []
  for part in filter(None, parts):
    if os.path.isdir(part):
      found = sorted(glob.glob(os.path.join(part, f"*{suffix}")))
      if not found and suffix == ".array_record":
        found = sorted(glob.glob(os.path.join(part, "shards", f"*{suffix}")))
      if not found:
        raise FileNotFoundError(f"no *{suffix} files in directory {part}")
      out += found
    elif any(c in part for c in "*?["):
      found = sorted(glob.glob(part))
      if not found:
        raise FileNotFoundError(f"no files match {part}")
      out += found
    else:
      if not os.path.exists(part):
        raise FileNotFoundError(f"data file not found: {part}")
      out.append(part)
  if not out:
    raise ValueError(f"no data files given (path={path!r})")
  return list(dict.fromkeys(out))


def _check_fields(record: Any, required: Sequence[str]) -> str | None:
  """Why `record` lacks what the pipeline needs, or None."""
  if not isinstance(record, dict):
    return f"not a JSON object ({type(record).__name__})"
  for field in required:
    if field not in record:
      return f"missing field {field!r}"
    value = record[field]
    if not isinstance(value, (str, bytes, list)):
      return f"field {field!r} is a {type(value).__name__}, not text"
  return None


@dataclasses.dataclass
class ScanReport:
  """How the lines of a scanned source reconcile: lines == kept + sum(dropped.values())."""
  lines: int = 0
  kept: int = 0
  dropped: collections.Counter = dataclasses.field(default_factory=collections.Counter)

  def as_dict(self) -> dict[str, Any]:
    return dict(lines=self.lines, kept=self.kept, dropped=dict(self.dropped))


class JsonlSource:
  """JSON-lines files indexed by line offset; bad lines counted, logged and skipped."""

  def __init__(self, paths: str | Sequence[str], *, required_fields: Sequence[str] = ("text",),
               strict: bool = False):
    self.paths = expand_paths(paths, suffix=".jsonl")
    self.required_fields = tuple(required_fields)
    self.report = ScanReport()
    file_ids, offsets, lengths = [], [], []
    for file_id, path in enumerate(self.paths):
      with open(path, "rb") as f:
        offset = 0
        for line_number, line in enumerate(f, start=1):
          start, offset = offset, offset + len(line)
          self.report.lines += 1
          if not line.strip():
            self.report.dropped["blank line"] += 1
            continue
          try:
            reason = _check_fields(json.loads(line), self.required_fields)
          except (json.JSONDecodeError, UnicodeDecodeError) as e:
            reason = f"invalid JSON ({e.msg if hasattr(e, 'msg') else e})"
          if reason is not None:
            self._bad_line(path, line_number, reason, strict)
            continue
          file_ids.append(file_id)
          offsets.append(start)
          lengths.append(len(line))
          self.report.kept += 1
    self._file_ids = np.asarray(file_ids, np.int32)
    self._offsets = np.asarray(offsets, np.int64)
    self._lengths = np.asarray(lengths, np.int64)
    self._fds = None
    if self.report.dropped:
      logging.warning("jsonl %s: %s", ",".join(self.paths), self.report.as_dict())

  def _bad_line(self, path: str, line_number: int, reason: str, strict: bool):
    if strict:
      raise BadRecordError(f"{path}:{line_number}", reason)
    key = reason.split(" (")[0]
    self.report.dropped[key] += 1
    if sum(self.report.dropped.values()) <= _MAX_LOGGED_BAD_LINES:
      logging.warning("skipping %s:%d: %s", path, line_number, reason)

  def __len__(self) -> int:
    return len(self._offsets)

  def __getitem__(self, index: int) -> dict:
    if self._fds is None:  # Opened lazily, per process (grain workers unpickle a copy).
      self._fds = [os.open(p, os.O_RDONLY) for p in self.paths]
    # pread: no shared file position, so grain's reader threads can read concurrently.
    line = os.pread(self._fds[self._file_ids[index]], int(self._lengths[index]),
                    int(self._offsets[index]))
    return json.loads(line)

  def __getstate__(self):
    state = dict(self.__dict__)
    state["_fds"] = None
    return state

  def __del__(self):
    for fd in getattr(self, "_fds", None) or ():
      os.close(fd)

  def __repr__(self) -> str:
    return f"JsonlSource({self.paths}, records={len(self)})"


class ArrayRecordSource:
  """array_record files of UTF-8 JSON records, decoded lazily."""

  def __init__(self, paths: str | Sequence[str]):
    self.paths = expand_paths(paths, suffix=".array_record")
    self._sources = [grain.sources.ArrayRecordDataSource([p]) for p in self.paths]
    self._ends = np.cumsum([len(s) for s in self._sources]).tolist()

  def __len__(self) -> int:
    return self._ends[-1] if self._ends else 0

  def __getitem__(self, index: int) -> dict:
    file_id = bisect.bisect_right(self._ends, index)
    local = index - (self._ends[file_id - 1] if file_id else 0)
    raw = self._sources[file_id][local]
    try:
      record = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
      raise BadRecordError(f"{self.paths[file_id]}[record {local}]", f"invalid JSON: {e}") from e
    if not isinstance(record, dict):
      raise BadRecordError(f"{self.paths[file_id]}[record {local}]", "not a JSON object")
    record.setdefault("_where", f"{self.paths[file_id]}[record {local}]")
    return record

  def __repr__(self) -> str:
    return f"ArrayRecordSource({len(self.paths)} files, records={len(self)})"


class SkipBadRecords:
  """Wraps a source so that a record raising BadRecordError comes back as `{"_error": msg}`;
  `document_from_record` then raises it where the pipeline counts, logs and skips it."""

  def __init__(self, source):
    self.source = source

  def __len__(self) -> int:
    return len(self.source)

  def __getitem__(self, index: int) -> dict:
    try:
      return self.source[index]
    except BadRecordError as e:
      return {"_error": str(e)}

  def __repr__(self) -> str:
    return f"SkipBadRecords({self.source!r})"


class MemorySource:
  """A list of strings (records `{field: s}`) or dicts."""

  def __init__(self, items: Sequence[Any], *, field: str = "text"):
    self._items = [x if isinstance(x, dict) else {field: x} for x in items]

  def __len__(self) -> int:
    return len(self._items)

  def __getitem__(self, index: int) -> dict:
    return self._items[index]


def tfds_source(name: str, *, split: str, data_dir: str | None = None):
  """`tfds.data_source(name, split, data_dir)`: a prepared TFDS dataset, read without TF."""
  import tensorflow_datasets as tfds  # pylint: disable=g-import-not-at-top  (slow import)
  return tfds.data_source(name, split=split, data_dir=data_dir or None)


# ----------------------------------------------------------------------------------------------
# Source configs
# ----------------------------------------------------------------------------------------------


def source_config(kind: str, **overrides) -> ml_collections.ConfigDict:
  """A `config.data.sources.<name>` ConfigDict with every key (so configs can be locked).

  kind: synthetic | jsonl | array_record | tfds | memory.
  """
  cfg = ml_collections.ConfigDict(dict(
      kind=kind,
      weight=1.0,              # mixture weight (normalized over sources; see data.mixture_unit)
      path="",                 # jsonl/array_record: files, globs, dirs, comma-separated
      eval_path="",            # held-out files of the same kind ('' = none)
      tfds_name="",            # tfds: dataset name (with config/version, e.g. "foo/bar:1.0.0")
      tfds_data_dir="",        # tfds: data_dir ('' = TFDS default)
      split="train",           # tfds: training split
      eval_split="",           # tfds: held-out split ('' = none)
      texts=(),                # memory: the documents (str or dict records)
      eval_texts=(),           # memory: held-out documents
      num_records=10_000,      # synthetic: documents in the training split
      text_field="text",       # pretrain: the field holding the document text
      prompt_field="question",  # sft: the question field (GSM8K: question, MATH: problem)
      response_field="answer",  # sft: the answer field (GSM8K: answer, MATH: solution)
      messages_field="",       # sft: a chat list [{role, content}] field, used instead if set
      strict=False,            # jsonl: raise on the first bad line instead of skipping it
  ))
  unknown = set(overrides) - set(cfg)
  if unknown:
    raise ValueError(f"unknown source config keys {sorted(unknown)}; known: {sorted(cfg)}")
  cfg.update(overrides)
  return cfg


def required_fields(source_cfg: ml_collections.ConfigDict, mode: str) -> tuple[str, ...]:
  if mode == "pretrain":
    return (source_cfg.text_field,)
  if source_cfg.messages_field:
    return (source_cfg.messages_field,)
  return (source_cfg.prompt_field, source_cfg.response_field)


def open_source(source_cfg: ml_collections.ConfigDict, split: str, *, mode: str = "pretrain",
                name: str = "?"):
  """The records of one configured source; `split` is "train" or "eval".

  Returns None for split="eval" when the source configures no held-out data.
  """
  kind, is_eval = source_cfg.kind, split == "eval"
  if kind == "synthetic":
    # The held-out split is the same generator with another seed.
    return synthetic.SyntheticSource(
        max(1, source_cfg.num_records // 10) if is_eval else source_cfg.num_records,
        seed=1 if is_eval else 0, mode=mode)
  if kind == "memory":
    items = source_cfg.eval_texts if is_eval else source_cfg.texts
    return MemorySource(list(items), field=source_cfg.text_field) if items else None
  if kind in ("jsonl", "array_record"):
    path = source_cfg.eval_path if is_eval else source_cfg.path
    if not path:
      if is_eval:
        return None
      raise ValueError(f"data.sources.{name}.path is empty (kind={kind})")
    if kind == "jsonl":
      return JsonlSource(path, required_fields=required_fields(source_cfg, mode),
                         strict=source_cfg.strict)
    return ArrayRecordSource(path)
  if kind == "tfds":
    if not source_cfg.tfds_name:
      raise ValueError(f"data.sources.{name}.tfds_name is empty (kind=tfds)")
    tfds_split = source_cfg.eval_split if is_eval else source_cfg.split
    if not tfds_split:
      return None
    return tfds_source(source_cfg.tfds_name, split=tfds_split, data_dir=source_cfg.tfds_data_dir)
  raise ValueError(f"data.sources.{name}.kind={kind!r} unknown; known: synthetic, memory, "
                   "jsonl, array_record, tfds")


def _as_text(value: Any, where: str, field: str) -> str:
  if isinstance(value, np.ndarray) and value.ndim == 0:
    value = value.item()
  if isinstance(value, bytes):
    try:
      return value.decode("utf-8")
    except UnicodeDecodeError as e:
      raise BadRecordError(where, f"field {field!r} is not UTF-8: {e}") from e
  if not isinstance(value, str):
    raise BadRecordError(where, f"field {field!r} is a {type(value).__name__}, not text")
  return value


def document_from_record(record: Any, source_cfg: ml_collections.ConfigDict,
                         mode: str) -> dict[str, Any]:
  """`{"text": s}` (pretrain) or `{"prompt": q, "response": a}` / `{"messages": [...]}` (sft).

  Raises BadRecordError naming the record's file and index (array_record) or the source.
  """
  where = f"source kind={source_cfg.kind}"
  if not isinstance(record, dict):
    raise BadRecordError(where, f"record is a {type(record).__name__}, not a dict")
  if "_error" in record:
    where, _, reason = record["_error"].partition(": ")
    raise BadRecordError(where, reason)
  where = record.get("_where", where)
  for field in required_fields(source_cfg, mode):
    if field not in record:
      raise BadRecordError(where, f"missing field {field!r}")
  if mode == "pretrain":
    return {"text": _as_text(record[source_cfg.text_field], where, source_cfg.text_field)}
  if source_cfg.messages_field:
    messages = record[source_cfg.messages_field]
    if isinstance(messages, (str, bytes)):
      messages = json.loads(messages)
    if not isinstance(messages, list):
      raise BadRecordError(where, f"field {source_cfg.messages_field!r} is not a list")
    return {"messages": messages}
  return {"prompt": _as_text(record[source_cfg.prompt_field], where, source_cfg.prompt_field),
          "response": _as_text(record[source_cfg.response_field], where,
                               source_cfg.response_field)}
