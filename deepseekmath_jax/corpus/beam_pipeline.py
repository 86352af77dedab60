"""The corpus stage on Apache Beam, for Common Crawl scale (Dataflow, Flink, Spark, Direct).

  python -m deepseekmath_jax.main --config=configs/corpus.py:beam --workdir=DIR \\
      --config.pool=/mnt/cc/warc_dir --config.seed_path=SEED \\
      --config.classifier_path=DIR0/classifier/iteration_4 \\
      --config.beam_options="--runner=DataflowRunner --project=P --region=R ..."

Input paths are read with local file I/O: a local or mounted filesystem every worker sees
(object stores such as gs:// are not read directly yet).

It runs the same stage functions as the local runner (stages.process_record, dedup keys,
the classifier, the decontaminator), with every cross-document step done by the engine:
URL and exact dedup are `GroupByKey` on the key (the smallest doc_id is kept), near-dedup is a
`GroupByKey` on MinHash LSH band keys (no in-memory index), and the drop decisions are joined
back to documents by doc_id with `CoGroupByKey`. Shards are written one per worker after a
`GroupByKey` on the shard index. Counts per drop reason are combined by the engine and
reconciled by the driver, which writes report.json/report.md.

The classifier is trained on the driver (as fastText is: one machine, 1M examples): either a
model saved by a local run (`classifier_path`, e.g. the last recall iteration of a run on a
sample), or one trained here on the seed and negatives (`negative_path`, or the first pool
documents read on the driver). Recall iterations at scale are successive runs: review the
domains and prefixes in the report, add accepted pages to the seed, retrain, rerun.
"""

from __future__ import annotations

import collections
import json
import os
import shlex
from typing import Any, Iterable

import numpy as np
from absl import logging

from deepseekmath_jax.corpus import classifier as classifier_lib
from deepseekmath_jax.corpus import dedup
from deepseekmath_jax.corpus import readers
from deepseekmath_jax.corpus import recall
from deepseekmath_jax.corpus import report as report_lib
from deepseekmath_jax.corpus import shards
from deepseekmath_jax.corpus import stages


def _keep_first(key_and_docs: tuple[str, Iterable[dict]], reason: str) -> Iterable[dict]:
  """Within a group of documents sharing a key: the smallest doc_id is kept."""
  _, docs = key_and_docs
  ordered = sorted(docs, key=lambda d: d["doc_id"])
  yield ordered[0]
  for doc in ordered[1:]:
    yield dict(doc_id=doc["doc_id"], source=doc["source"], url=doc["url"], dropped=reason)


def _near_drop_ids(key_and_members: tuple[str, Iterable[tuple[str, np.ndarray]]],
                   threshold: float) -> Iterable[str]:
  _, members = key_and_members
  members = list(members)
  if len(members) > 1:
    yield from dedup.near_duplicates_in_bucket(members, threshold)


def _apply_drops(joined: tuple[str, dict], reason: str) -> Iterable[dict]:
  _, groups = joined
  for doc in groups["docs"]:
    if groups["drop"]:
      yield dict(doc_id=doc["doc_id"], source=doc["source"], url=doc["url"], dropped=reason)
    else:
      yield doc


def train_on_driver(config: Any, inputs: list[str]) -> classifier_lib.MathClassifier:
  """A classifier from the seed + negatives (negative_path, or the first pool documents)."""
  clf_config = classifier_lib.ClassifierConfig.from_config(config.classifier, config.seed)
  seed = readers.split_passages(readers.read_seed(config.seed_path, config.seed_max_docs or None),
                                config.seed_passage_words)
  if config.negative_path:
    negatives = readers.read_seed(config.negative_path, len(seed))
  else:
    opts = stages.ExtractOptions.from_config(config)
    negatives = []
    for path in inputs:
      for raw in readers.read_path(path, config.max_record_bytes):
        doc = stages.process_record(raw, opts)
        if "dropped" not in doc:
          negatives.append(doc["text"])
        if len(negatives) >= len(seed):
          break
      if len(negatives) >= len(seed):
        break
  hashes = [classifier_lib.doc_hashes(t, clf_config.max_tokens, clf_config.math_features)
            for t in seed + negatives]
  labels = [1] * len(seed) + [0] * len(negatives)
  # The same examples train the same model whatever order the seed files were listed in.
  order = recall.canonical_training_order(hashes, f"{clf_config.seed}:driver")
  return classifier_lib.MathClassifier.train([hashes[i] for i in order],
                                             [labels[i] for i in order], clf_config)


def scoring_threshold(config: Any, model_path: str, opts: stages.ExtractOptions) -> float:
  """`recall.threshold`, or with `recall.calibration_labels` or `recall.pu_correction` the
  threshold the local run saved with the classifier. The documents' token view must be the
  one the classifier was trained on, so a mismatch of `classifier.math_features` is an
  error."""
  model = classifier_lib.MathClassifier.load(model_path)
  if model.config.math_features != opts.math_features:
    raise ValueError(f"{model_path}.json: the classifier was trained with math_features="
                     f"{model.config.math_features}, config.classifier.math_features="
                     f"{opts.math_features}")
  saved = classifier_lib.saved_threshold(model_path)
  if (config.recall.calibration_labels or config.recall.get("pu_correction")) and (
      saved is not None):
    return float(saved)
  return float(config.recall.threshold)


class _Score:
  """Adds the classifier score; marks pages below the threshold as not_math."""

  def __init__(self, model_path: str, threshold: float):
    self.model_path, self.threshold, self.model = model_path, threshold, None

  def __call__(self, doc: dict) -> dict:
    if self.model is None:  # loaded once per worker process
      self.model = classifier_lib.MathClassifier.load(self.model_path)
    score = float(self.model.predict_hashes([doc["hashes"]])[0])
    if score < self.threshold:
      return dict(doc_id=doc["doc_id"], source=doc["source"], url=doc["url"],
                  dropped="not_math")
    return dict(doc, score=score)


class _Decontaminate:
  def __init__(self, config_json: str):
    self.config_json, self.decontaminator = config_json, None

  def __call__(self, doc: dict) -> dict:
    if self.decontaminator is None:
      import ml_collections
      from deepseekmath_jax.corpus import pipeline
      config = ml_collections.ConfigDict(json.loads(self.config_json))
      self.decontaminator = pipeline.build_decontaminator(config) or False
    if self.decontaminator:
      hits = self.decontaminator.check(doc["text"])
      if hits:
        return dict(doc_id=doc["doc_id"], source=doc["source"], url=doc["url"],
                    dropped="contaminated", hits=[(h.benchmark, h.gram) for h in hits])
    return doc


def _write_shard(index_and_docs: tuple[int, Iterable[dict]], directory: str,
                 num_shards: int) -> str:
  from array_record.python import array_record_module
  index, docs = index_and_docs
  path = os.path.join(directory, shards.SHARD_PATTERN.format(index=index, count=num_shards))
  writer = array_record_module.ArrayRecordWriter(path, "group_size:1")
  for doc in sorted(docs, key=lambda d: d["doc_id"]):
    writer.write(json.dumps(doc, ensure_ascii=False).encode("utf-8"))
  writer.close()
  return path


def run(config: Any, workdir: str) -> dict:
  import apache_beam as beam  # the optional `beam` extra
  from apache_beam.options.pipeline_options import PipelineOptions

  os.makedirs(workdir, exist_ok=True)
  inputs = readers.list_inputs(config.pool)
  model_path = config.classifier_path
  if not model_path:
    model_path = os.path.join(workdir, "classifier", "driver")
    train_on_driver(config, inputs).save(model_path)
  opts = stages.ExtractOptions.from_config(config)
  threshold = scoring_threshold(config, model_path, opts)
  bands, rows = dedup.lsh_params(config.dedup.threshold, config.dedup.num_perm)
  shard_dir = os.path.join(workdir, "shards")
  os.makedirs(shard_dir, exist_ok=True)
  counts_path = os.path.join(workdir, "beam_counts")
  num_shards = config.num_shards
  options = PipelineOptions(shlex.split(config.beam_options))

  def is_doc(d):
    return "dropped" not in d

  with beam.Pipeline(options=options) as p:
    records = (p | "Files" >> beam.Create(inputs)
               | "Read" >> beam.FlatMap(lambda path: readers.read_path(
                   path, config.max_record_bytes))
               | "Reshuffle" >> beam.Reshuffle()
               | "Extract" >> beam.Map(stages.process_record, opts))
    drops = [records | "DropsExtract" >> beam.Filter(lambda d: not is_doc(d))]
    docs = records | "Docs" >> beam.Filter(is_doc)
    if config.dedup.url:
      with_url = docs | "HasUrl" >> beam.Filter(lambda d: d["norm_url"] is not None)
      no_url = docs | "NoUrl" >> beam.Filter(lambda d: d["norm_url"] is None)
      grouped = (with_url | "UrlKey" >> beam.Map(lambda d: (d["norm_url"], d))
                 | "UrlGroup" >> beam.GroupByKey()
                 | "UrlFirst" >> beam.FlatMap(_keep_first, "duplicate_url"))
      drops.append(grouped | "UrlDrops" >> beam.Filter(lambda d: not is_doc(d)))
      docs = ((grouped | "UrlKept" >> beam.Filter(is_doc), no_url) | "UrlMerge" >> beam.Flatten())
    if config.dedup.exact:
      grouped = (docs | "TextKey" >> beam.Map(lambda d: (d["text_hash"], d))
                 | "TextGroup" >> beam.GroupByKey()
                 | "TextFirst" >> beam.FlatMap(_keep_first, "duplicate_exact"))
      drops.append(grouped | "TextDrops" >> beam.Filter(lambda d: not is_doc(d)))
      docs = grouped | "TextKept" >> beam.Filter(is_doc)
    if config.dedup.near:
      drop_ids = (docs | "Bands" >> beam.FlatMap(lambda d: [
          (key, (d["doc_id"], d["signature"])) for key in dedup.band_keys(d["signature"],
                                                                         bands, rows)])
                  | "BandGroup" >> beam.GroupByKey()
                  | "NearPairs" >> beam.FlatMap(_near_drop_ids, config.dedup.threshold)
                  | "NearDistinct" >> beam.Distinct()
                  | "NearKey" >> beam.Map(lambda doc_id: (doc_id, True)))
      joined = ({"docs": docs | "IdKey" >> beam.Map(lambda d: (d["doc_id"], d)),
                 "drop": drop_ids} | "NearJoin" >> beam.CoGroupByKey()
                | "NearApply" >> beam.FlatMap(_apply_drops, "duplicate_near"))
      drops.append(joined | "NearDrops" >> beam.Filter(lambda d: not is_doc(d)))
      docs = joined | "NearKept" >> beam.Filter(is_doc)
    scored = docs | "Score" >> beam.Map(_Score(model_path, threshold))
    drops.append(scored | "NotMath" >> beam.Filter(lambda d: not is_doc(d)))
    clean = (scored | "Math" >> beam.Filter(is_doc)
             | "Decontam" >> beam.Map(_Decontaminate(config.to_json_best_effort())))
    drops.append(clean | "Contaminated" >> beam.Filter(lambda d: not is_doc(d)))
    kept = (clean | "Kept" >> beam.Filter(is_doc)
            | "Output" >> beam.Map(lambda d: stages.output_record(d, 1, d["score"])))
    _ = (kept | "ShardKey" >> beam.Map(
        lambda d: (int(dedup.text_hash(d["doc_id"]), 16) % num_shards, d))
         | "ShardGroup" >> beam.GroupByKey()
         | "WriteShards" >> beam.Map(_write_shard, shard_dir, num_shards))
    counts = ((drops | "AllDrops" >> beam.Flatten()
               | "Reason" >> beam.Map(lambda d: json.dumps(
                   ["dropped", d["dropped"], d.get("detail", ""),
                    [list(h) for h in d.get("hits", [])][:1], d.get("url") or d["doc_id"]]))),
              kept | "KeptRow" >> beam.Map(lambda d: json.dumps(
                  ["kept", d["domain"], d["tokens"], [], d["url"] or d["doc_id"]])))
    _ = (counts | "AllRows" >> beam.Flatten()
         | "WriteCounts" >> beam.io.WriteToText(counts_path, file_name_suffix=".jsonl"))
  for index in range(num_shards):  # shards no document hashed to: empty, like the local runner
    path = os.path.join(shard_dir, shards.SHARD_PATTERN.format(index=index, count=num_shards))
    if not os.path.exists(path):
      _write_shard((index, []), shard_dir, num_shards)
  return _report(config, workdir, inputs, counts_path)


def _report(config: Any, workdir: str, inputs: list[str], counts_path: str) -> dict:
  """Reads the engine's per-document rows back and writes the reconciled report."""
  dropped, malformed = collections.Counter(), collections.Counter()
  domains, hits = collections.Counter(), collections.defaultdict(list)
  kept = kept_tokens = 0
  folder = os.path.dirname(counts_path)
  for name in sorted(os.listdir(folder)):
    if not name.startswith(os.path.basename(counts_path)):
      continue
    with open(os.path.join(folder, name)) as f:
      for line in f:
        kind, a, b, hit, where = json.loads(line)
        if kind == "kept":
          kept += 1
          kept_tokens += b
          domains[a] += 1
        else:
          dropped[a] += 1
          if a == "malformed":
            malformed[b] += 1
          for bench, gram in hit:
            hits[bench].append(dict(url=where, doc_id=where, gram=gram))
  documents_in = kept + sum(dropped.values())
  full = {reason: int(dropped.get(reason, 0)) for reason in stages.DROP_REASONS}
  report = dict(documents_in=documents_in, documents_out=kept, dropped=full,
                malformed=dict(malformed), tokens=dict(kept=kept_tokens),
                contamination=dict(documents_per_benchmark={k: len(v) for k, v in hits.items()},
                                   examples={k: v[:5] for k, v in hits.items()}),
                domains=[dict(name=k, count=v) for k, v in domains.most_common(20)],
                manifest=dict(inputs=[dict(path=p, sha256=report_lib.sha256_file(p))
                                      for p in inputs],
                              outputs=[os.path.basename(p) for p in shards.shard_paths(workdir)]),
                runtime=dict(runner="beam", options=config.beam_options))
  if documents_in != kept + sum(full.values()):
    raise RuntimeError(f"beam corpus counts do not reconcile: {report}")
  with open(os.path.join(workdir, "report.json"), "w") as f:
    json.dump(report, f, indent=1)
  with open(os.path.join(workdir, "report.md"), "w") as f:
    f.write("# Math corpus report (Beam)\n\n"
            f"**{kept:,} of {documents_in:,} documents kept** ({kept_tokens:,} tokens).\n\n"
            "| reason | documents |\n|---|---|\n" + "".join(
                f"| {k} | {v} |\n" for k, v in full.items()) + "\n")
  logging.info("beam corpus: %d in, %d kept, dropped %s", documents_in, kept, full)
  return report
