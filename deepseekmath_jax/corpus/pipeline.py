"""The corpus stage, local runner: pool -> math corpus shards + report (arXiv:2402.03300 §2.1).

  python -m deepseekmath_jax.main --config=configs/corpus.py:local --workdir=DIR \\
      --config.pool=POOL_DIR --config.seed_path=SEED_PATH

Order of the stages follows the paper: the pool is deduplicated (URL, exact text, MinHash
near-duplicates) before recall, the classifier recalls math pages over `recall.iterations`
iterations with domain discovery, and the recalled pages are decontaminated against the
benchmarks. Extraction and per-document keys run on all local cores (process pool);
dedup grouping, training and scoring run in this process. `config.runner=beam` hands the
same stage functions to Apache Beam instead (beam_pipeline.py).

Every record read is accounted for: documents_in = documents_out + sum(dropped.values()).
"""

from __future__ import annotations

import collections
import concurrent.futures
import functools
import multiprocessing
import os
import time
from typing import Any, Callable, Iterable, Iterator

import numpy as np
from absl import logging

from deepseekmath_jax.corpus import classifier as classifier_lib
from deepseekmath_jax.corpus import decontam
from deepseekmath_jax.corpus import dedup
from deepseekmath_jax.corpus import labels as labels_lib
from deepseekmath_jax.corpus import readers
from deepseekmath_jax.corpus import recall
from deepseekmath_jax.corpus import report as report_lib
from deepseekmath_jax.corpus import shards
from deepseekmath_jax.corpus import stages


class Progress:
  """Logs records done, rate and ETA (by input bytes) at most every `interval` seconds."""

  def __init__(self, stage: str, total_bytes: int, interval: float = 10.0):
    self.stage, self.total_bytes, self.interval = stage, max(total_bytes, 1), interval
    self.start = self.last = time.time()
    self.records = 0
    self.bytes_done = 0

  def update(self, records: int = 0, bytes_done: int = 0, force: bool = False) -> None:
    self.records += records
    self.bytes_done += bytes_done
    now = time.time()
    if not force and now - self.last < self.interval:
      return
    self.last = now
    elapsed = max(now - self.start, 1e-9)
    frac = min(self.bytes_done / self.total_bytes, 1.0)
    eta = elapsed * (1 - frac) / frac if frac > 0 else float("nan")
    logging.info("%s: %d records, %.1f records/s, %.1f%% of input bytes, ETA %.0fs",
                 self.stage, self.records, self.records / elapsed, 100 * frac, eta)


def num_workers(config: Any) -> int:
  return config.num_workers if config.num_workers > 0 else (os.cpu_count() or 1)


def bounded_map(fn: Callable, items: Iterable, workers: int) -> Iterator:
  """fn over items, in order, on `workers` processes, with at most 4*workers in flight.

  forkserver, not fork: the parent may hold threads (JAX, grain) that fork would copy badly.
  """
  if workers <= 1:
    yield from map(fn, items)
    return
  context = multiprocessing.get_context("forkserver")
  with concurrent.futures.ProcessPoolExecutor(workers, mp_context=context) as pool:
    pending: collections.deque = collections.deque()
    for item in items:
      pending.append(pool.submit(fn, item))
      if len(pending) >= 4 * workers:
        yield pending.popleft().result()
    while pending:
      yield pending.popleft().result()


def _record_batches(inputs: list[str], max_bytes: int, batch_size: int,
                    stats: readers.ReaderStats, progress: Progress) -> Iterator[list]:
  batch: list[readers.RawRecord] = []
  for path in inputs:
    for record in readers.read_path(path, max_bytes, stats):
      batch.append(record)
      if len(batch) >= batch_size:
        yield batch
        batch = []
    progress.update(bytes_done=os.path.getsize(path))
  if batch:
    yield batch


def extract_pool(config: Any, inputs: list[str], stats: readers.ReaderStats
                 ) -> tuple[list[dict], list[dict]]:
  """Runs `stages.process_record` over the pool on all cores: (documents, dropped markers)."""
  opts = stages.ExtractOptions.from_config(config)
  progress = Progress("extract", sum(os.path.getsize(p) for p in inputs))
  fn = functools.partial(stages.process_batch, opts=opts)
  docs, dropped = [], []
  batches = _record_batches(inputs, config.max_record_bytes, config.batch_size, stats, progress)
  for results in bounded_map(fn, batches, num_workers(config)):
    for result in results:
      (dropped if "dropped" in result else docs).append(result)
    progress.update(records=len(results))
  progress.update(force=True)
  return docs, dropped


def deduplicate(docs: list[dict], cfg: Any) -> tuple[list[dict], dict[str, list[dict]]]:
  """URL, exact and near dedup in doc_id order (the first of a group is kept)."""
  docs = sorted(docs, key=lambda d: d["doc_id"])
  dropped: dict[str, list[dict]] = {"duplicate_url": [], "duplicate_exact": [],
                                    "duplicate_near": []}
  if cfg.url:
    seen, kept = set(), []
    for doc in docs:
      key = doc["norm_url"]
      if key is not None and key in seen:
        dropped["duplicate_url"].append(doc)
      else:
        seen.add(key)
        kept.append(doc)
    docs = kept
  if cfg.exact:
    seen, kept = set(), []
    for doc in docs:
      if doc["text_hash"] in seen:
        dropped["duplicate_exact"].append(doc)
      else:
        seen.add(doc["text_hash"])
        kept.append(doc)
    docs = kept
  if cfg.near:
    drop = dedup.find_near_duplicates({d["doc_id"]: d["signature"] for d in docs},
                                      cfg.threshold, cfg.num_perm)
    dropped["duplicate_near"] = [d for d in docs if d["doc_id"] in drop]
    docs = [d for d in docs if d["doc_id"] not in drop]
  return docs, dropped


def _require(config: Any, key: str) -> str:
  value = config.get(key)
  if not value:
    raise ValueError(f"config.{key} is required (set --config.{key}=PATH)")
  return value


def build_decontaminator(config: Any) -> decontam.Decontaminator | None:
  if not config.decontam.enabled:
    return None
  benchmarks = decontam.parse_benchmarks(config.decontam.benchmarks, config.data_dir)
  return decontam.Decontaminator(benchmarks, n=config.decontam.ngram,
                                 min_short=config.decontam.min_short,
                                 max_text_frequency=config.decontam.max_text_frequency,
                                 prune_markup=config.decontam.get("prune_markup", True))


def run(config: Any, workdir: str) -> dict:
  """Runs the corpus engine; writes `<workdir>/shards/`, `report.json`, `report.md`."""
  if config.runner == "beam":
    from deepseekmath_jax.corpus import beam_pipeline  # optional dependency
    return beam_pipeline.run(config, workdir)
  if config.runner != "local":
    raise ValueError(f"config.runner={config.runner!r}; expected 'local' or 'beam'")
  start = time.time()
  os.makedirs(workdir, exist_ok=True)
  inputs = readers.list_inputs(_require(config, "pool"))
  seed_path = _require(config, "seed_path")
  # Label files are read first, so a bad one fails before hours of extraction.
  labels = labels_lib.read_labels(config.labels_path) if config.get("labels_path") else None
  known = (labels_lib.read_labels(config.recall.calibration_labels)
           if config.get("recall") and config.recall.get("calibration_labels") else None)
  logging.info("corpus: %d input files, %d workers", len(inputs), num_workers(config))

  stats = readers.ReaderStats()
  docs, dropped_markers = extract_pool(config, inputs, stats)
  documents_in = len(docs) + len(dropped_markers)
  stage_counts = [("read", documents_in), ("extracted", len(docs))]

  docs, dup_dropped = deduplicate(docs, config.dedup)
  stage_counts.append(("deduplicated", len(docs)))

  clf_config = classifier_lib.ClassifierConfig.from_config(config.classifier, config.seed)
  seed_texts = readers.read_seed(seed_path, config.seed_max_docs or None)
  if not seed_texts:
    raise ValueError(f"config.seed_path={seed_path!r} holds no seed documents")
  seed_texts = readers.split_passages(seed_texts, config.seed_passage_words)
  view = functools.partial(classifier_lib.doc_hashes, max_tokens=clf_config.max_tokens,
                           math_features=clf_config.math_features)
  seed_hashes = [view(t) for t in seed_texts]
  extra_negatives = [view(t) for t in (
      readers.read_seed(config.negative_path) if config.negative_path else [])]
  n_tokens = np.array([d["tokens"] for d in docs], np.int64)
  calibration = None
  if known is not None:
    calibration = np.array([-1 if (label := known.label_of(d)) is None else label
                            for d in docs], np.int8)
  result = recall.run_recall([d["hashes"] for d in docs], [d["url"] for d in docs], n_tokens,
                             seed_hashes, extra_negatives, config.recall, clf_config,
                             os.path.join(workdir, "classifier"), calibration,
                             doc_keys=[d["text_hash"] for d in docs])
  not_math = [d for d, keep in zip(docs, result.selected) if not keep]
  kept = [(d, int(it), float(s)) for d, keep, it, s in zip(
      docs, result.selected, result.first_iteration, result.scores) if keep]
  stage_counts.append(("recalled", len(kept)))

  decontaminator = build_decontaminator(config)
  contaminated, hits = [], collections.defaultdict(list)
  if decontaminator is not None:
    clean = []
    for doc, iteration, score in kept:
      found = decontaminator.check(doc["text"])
      if found:
        contaminated.append(doc)
        for hit in found:
          hits[hit.benchmark].append(dict(doc_id=doc["doc_id"], url=doc["url"], gram=hit.gram))
      else:
        clean.append((doc, iteration, score))
    kept = clean
  stage_counts.append(("decontaminated", len(kept)))

  out_records = [stages.output_record(d, it, s) for d, it, s in kept]
  shard_files = shards.write_shards(out_records, os.path.join(workdir, "shards"),
                                    config.num_shards)
  dropped = collections.Counter(m["dropped"] for m in dropped_markers)
  dropped.update({k: len(v) for k, v in dup_dropped.items()})
  dropped.update(not_math=len(not_math), contaminated=len(contaminated))
  report = report_lib.build_report(
      config=config, inputs=inputs, documents_in=documents_in, documents_out=len(out_records),
      dropped=dropped, malformed=collections.Counter(
          m["detail"] for m in dropped_markers if m["dropped"] == "malformed"),
      reader_ignored=stats.ignored, stage_counts=stage_counts, extracted=docs_for_report(
          docs, dup_dropped), kept=out_records, dup_dropped=dup_dropped,
      contamination=dict(hits), decontaminator=decontaminator, recall_stats=result.iterations,
      shard_files=shard_files, seed_count=len(seed_texts), elapsed=time.time() - start,
      runner="local", workers=num_workers(config))
  if labels is not None:  # pages that calibrated the threshold are not evaluation pages
    report["labels"] = labels_lib.evaluate(
        labels, document_fates(dropped_markers, dup_dropped, docs, result, contaminated),
        [{d["doc_id"] for d, keep in zip(docs, mask) if keep}
         for mask in result.iteration_selected],
        exclude=set() if calibration is None else {
            d["doc_id"] for d, c in zip(docs, calibration) if c >= 0})
  report_lib.write_report(report, workdir)
  logging.info("corpus: %d in, %d kept, dropped %s; report in %s", documents_in,
               len(out_records), dict(dropped), workdir)
  return report


def document_fates(dropped_markers: list[dict], dup_dropped: dict[str, list[dict]],
                   docs: list[dict], result: recall.RecallResult,
                   contaminated: list[dict]) -> list[dict]:
  """What happened to every document read: the stage that dropped it (or `kept`), its score
  and the recall iteration that first collected it (for the labelled evaluation)."""
  fates = [dict(doc_id=m["doc_id"], source=m["source"], url=m["url"], stage=m["dropped"],
                score=None, iteration=0, detail=m.get("detail")) for m in dropped_markers]
  for reason, group in dup_dropped.items():
    fates += [dict(doc_id=d["doc_id"], source=d["source"], url=d["url"], stage=reason,
                   score=None, iteration=0, chars=len(d["text"])) for d in group]
  dirty = {d["doc_id"] for d in contaminated}
  for doc, keep, it, score in zip(docs, result.selected, result.first_iteration, result.scores):
    stage = "not_math" if not keep else "contaminated" if doc["doc_id"] in dirty else "kept"
    fates.append(dict(doc_id=doc["doc_id"], source=doc["source"], url=doc["url"], stage=stage,
                      score=float(score), iteration=int(it), chars=len(doc["text"])))
  return fates


def docs_for_report(docs: list[dict], dup_dropped: dict[str, list[dict]]) -> list[dict]:
  """All extracted documents (kept after dedup + dropped as duplicates), for token totals."""
  return list(docs) + [d for group in dup_dropped.values() for d in group]
