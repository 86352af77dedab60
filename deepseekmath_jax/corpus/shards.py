"""Corpus shards: array_record files of UTF-8 JSON documents, and `read_corpus`.

`<workdir>/shards/corpus-00000-of-00004.array_record`; each record is one JSON object with at
least `text`, `url`, `source` (input file), `iteration` (recall iteration that collected it),
`score` (classifier p(math)), `domain`, `tokens`. array_record is what grain's
`ArrayRecordDataSource` reads with random access, so pretraining mixes and resumes without a
conversion step; `tfds_builder.py` wraps the same files as a tfds dataset.
"""

from __future__ import annotations

import glob
import json
import os
from typing import Iterable, Iterator

from array_record.python import array_record_module

SHARD_PATTERN = "corpus-{index:05d}-of-{count:05d}.array_record"


def shard_paths(directory: str) -> list[str]:
  """The shard files of a corpus directory (a workdir, or its `shards/` folder)."""
  for folder in (os.path.join(directory, "shards"), directory):
    paths = sorted(glob.glob(os.path.join(folder, "corpus-*-of-*.array_record")))
    if paths:
      return paths
  return []


def write_shards(docs: Iterable[dict], directory: str, num_shards: int) -> list[str]:
  """Writes documents round-robin into `num_shards` files; returns the paths."""
  os.makedirs(directory, exist_ok=True)
  for stale in glob.glob(os.path.join(directory, "corpus-*-of-*.array_record")):
    os.remove(stale)  # a rerun with a different shard count must not leave old shards
  paths = [os.path.join(directory, SHARD_PATTERN.format(index=i, count=num_shards))
           for i in range(num_shards)]
  # group_size:1 keeps random access cheap (one record per chunk), as grain recommends.
  writers = [array_record_module.ArrayRecordWriter(p, "group_size:1") for p in paths]
  try:
    for i, doc in enumerate(docs):
      writers[i % num_shards].write(json.dumps(doc, ensure_ascii=False).encode("utf-8"))
  finally:
    for writer in writers:
      writer.close()
  return paths


def read_shard(path: str) -> Iterator[dict]:
  reader = array_record_module.ArrayRecordReader(path)
  try:
    for start in range(0, reader.num_records(), 1024):
      for record in reader.read(list(range(start, min(start + 1024, reader.num_records())))):
        yield json.loads(record)
  finally:
    reader.close()


def read_corpus(directory: str) -> Iterator[dict]:
  """Yields every kept document (dicts with `text`, `url`, `source`, `iteration`, `score`).

  `directory` is a corpus workdir or its `shards/` folder.
  """
  paths = shard_paths(directory)
  if not paths:
    raise FileNotFoundError(f"no corpus shards (corpus-*-of-*.array_record) in {directory} "
                            "or its shards/ folder")
  for path in paths:
    yield from read_shard(path)
