"""Labelled evaluation of a corpus run: precision, recall and F1 against known math pages.

The classifier's held-out metrics (report `recall.iterations[*].heldout`) measure how well it
separates the seed from random pool pages; they say nothing about the math pages of the pool
it never saw, which is what the iterative recall of arXiv:2402.03300 §2.1 is for. Given a
labels file (`config.labels_path`), the report also gives, per recall iteration and for the
final output, precision, recall and F1 over the labelled pool documents, every labelled math
document that was not kept with the stage that dropped it and its score, and every kept
non-math document.

Labels file: jsonl, one document per line, with a label `math` or `non-math` (fields `label`
or `label_guess`; any other value, e.g. `unsure`, leaves the document unlabelled and is
counted) and one key among `doc_id`, `source` (the pool file), `file` (a path relative to the
labels file's folder, as in `../shared/data/web/manifest.jsonl`) and `url`.
"""

from __future__ import annotations

import collections
import dataclasses
import json
import os
from typing import Any, Iterable

from deepseekmath_jax.corpus import dedup
from deepseekmath_jax.corpus import readers

_LABELS = {"math": 1, "non-math": 0}


@dataclasses.dataclass
class Labels:
  """Label lookups by doc_id, source path and normalized URL; `skipped` counts by value."""
  by_doc_id: dict[str, int] = dataclasses.field(default_factory=dict)
  by_source: dict[str, int] = dataclasses.field(default_factory=dict)
  by_url: dict[str, int] = dataclasses.field(default_factory=dict)
  skipped: collections.Counter = dataclasses.field(default_factory=collections.Counter)
  path: str = ""

  def __len__(self) -> int:
    return len(self.by_doc_id) + len(self.by_source) + len(self.by_url)

  def label_of(self, doc: dict) -> int | None:
    """1 (math), 0 (non-math) or None (unlabelled) for a pool document."""
    if doc.get("doc_id") in self.by_doc_id:
      return self.by_doc_id[doc["doc_id"]]
    source = doc.get("source")
    if source and os.path.realpath(source) in self.by_source:
      return self.by_source[os.path.realpath(source)]
    url = dedup.normalize_url(doc.get("url"))
    if url is not None and url in self.by_url:
      return self.by_url[url]
    return None


def read_labels(path: str) -> Labels:
  """Reads a labels jsonl; raises ValueError naming the file and line of a bad row."""
  if not os.path.exists(path):
    raise FileNotFoundError(f"labels file {path} does not exist (config.labels_path or "
                            "config.recall.calibration_labels)")
  out = Labels(path=path)
  base = os.path.dirname(os.path.abspath(path))
  with open(path, encoding="utf-8") as f:
    for line_no, row in readers.jsonl_rows(f, path):
      if not isinstance(row, dict):
        raise ValueError(f"{path}:{line_no}: expected a JSON object")
      value = row.get("label", row.get("label_guess"))
      if not isinstance(value, str):
        raise ValueError(f"{path}:{line_no}: no `label` (or `label_guess`) string")
      if value not in _LABELS:
        out.skipped[value] += 1
        continue
      label = _LABELS[value]
      if isinstance(row.get("doc_id"), str):
        out.by_doc_id[row["doc_id"]] = label
      elif isinstance(row.get("source"), str):
        out.by_source[os.path.realpath(row["source"])] = label
      elif isinstance(row.get("file"), str):
        out.by_source[os.path.realpath(os.path.join(base, row["file"]))] = label
      elif isinstance(row.get("url"), str) and dedup.normalize_url(row["url"]):
        out.by_url[dedup.normalize_url(row["url"])] = label
      else:
        raise ValueError(f"{path}:{line_no}: no key among doc_id, source, file, url")
  return out


def scores(predicted: Iterable[bool], labels: Iterable[int]) -> dict:
  """Precision, recall and F1 of `predicted` (kept) over labelled documents (1 = math)."""
  tp = fp = fn = tn = 0
  for kept, label in zip(predicted, labels):
    if kept and label:
      tp += 1
    elif kept:
      fp += 1
    elif label:
      fn += 1
    else:
      tn += 1
  precision = tp / (tp + fp) if tp + fp else 0.0
  recall = tp / (tp + fn) if tp + fn else 0.0
  f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
  return dict(math=tp + fn, non_math=fp + tn, math_kept=tp, non_math_kept=fp,
              precision=round(precision, 4), recall=round(recall, 4), f1=round(f1, 4),
              non_math_kept_fraction=round(fp / max(fp + tn, 1), 4))


def evaluate(labels: Labels, fates: list[dict], iteration_kept: list[set[str]],
             exclude: set[str] = frozenset()) -> dict:
  """The labelled evaluation of one run.

  Args:
    labels: from `read_labels`.
    fates: one dict per document read: `doc_id`, `source`, `url`, `stage` (`kept` or the drop
      reason), `score` (p(math), None if it never reached the classifier), `iteration`
      (recall iteration that first collected it, 0 if none), `chars`, optional `detail`.
    iteration_kept: per recall iteration, the doc_ids it selected.
    exclude: doc_ids left out (the pages that calibrated the threshold).
  """
  labelled = [(fate, labels.label_of(fate)) for fate in fates if fate["doc_id"] not in exclude]
  labelled = [(fate, label) for fate, label in labelled if label is not None]
  per_iteration = []
  for i, kept in enumerate(iteration_kept, 1):
    row = scores([f["doc_id"] in kept for f, _ in labelled], [l for _, l in labelled])
    per_iteration.append(dict(iteration=i, **row))
  final = scores([f["stage"] == "kept" for f, _ in labelled], [l for _, l in labelled])
  missed = [_row(f) for f, label in labelled if label and f["stage"] != "kept"]
  kept_non_math = [_row(f) for f, label in labelled if not label and f["stage"] == "kept"]
  return dict(labels_path=labels.path, labelled_documents=len(labelled),
              unlabelled_documents=len(fates) - len(exclude) - len(labelled),
              calibration_documents=len(exclude),
              skipped_label_values=dict(labels.skipped),
              final=final, iterations=per_iteration,
              missed_math_by_stage=dict(collections.Counter(m["stage"] for m in missed)),
              missed_math=sorted(missed, key=lambda m: (m["stage"], -(m["score"] or 0))),
              kept_non_math=sorted(kept_non_math, key=lambda m: -(m["score"] or 0)))


def _row(fate: dict) -> dict:
  return dict(doc_id=fate["doc_id"], source=os.path.basename(fate.get("source") or ""),
              url=fate.get("url"), stage=fate["stage"],
              score=None if fate.get("score") is None else round(float(fate["score"]), 4),
              iteration=int(fate.get("iteration") or 0), chars=fate.get("chars"),
              detail=fate.get("detail"))


def markdown(evaluation: dict) -> list[str]:
  """The report.md section for a labelled evaluation."""
  e = evaluation
  f = e["final"]
  lines = ["## Against the labels", "",
           f"Labels: `{e['labels_path']}`; {e['labelled_documents']} labelled documents "
           f"({f['math']} math, {f['non_math']} non-math), {e['unlabelled_documents']} "
           f"unlabelled, {e.get('calibration_documents', 0)} left out (they calibrated the "
           "threshold). Recall counts every labelled math document read, whatever stage "
           "dropped it.", "",
           "| iteration | math kept | non-math kept | precision | recall | F1 |",
           "|---|---|---|---|---|---|"]
  for row in e["iterations"] + [dict(f, iteration="final output")]:
    lines.append(f"| {row['iteration']} | {row['math_kept']}/{row['math']} | "
                 f"{row['non_math_kept']}/{row['non_math']} | {row['precision']:.3f} | "
                 f"{row['recall']:.3f} | {row['f1']:.3f} |")
  lines += ["", "Missed math documents (stage that dropped them, p(math)):", ""]
  lines += [f"- `{m['source'] or m['doc_id']}`{' ' + m['url'] if m['url'] else ''}: "
            f"{m['stage']}" + (f", score {m['score']:.3f}" if m["score"] is not None else "")
            + (f" ({m['detail']})" if m.get("detail") else "") for m in e["missed_math"]]
  lines += ["(none)"] if not e["missed_math"] else []
  lines += ["", "Kept non-math documents:", ""]
  lines += [f"- `{m['source'] or m['doc_id']}`{' ' + m['url'] if m['url'] else ''}: score "
            f"{m['score']:.3f}, iteration {m['iteration']}" for m in e["kept_non_math"]]
  lines += ["(none)"] if not e["kept_non_math"] else []
  return lines + [""]


def split_pages(labels_path: str, seed_fraction: float, calibration_fraction: float = 0.0,
                seed: int = 0) -> tuple[list[str], list[str], list[str]]:
  """Splits the HTML pages of a labels file (rows with `file`) three ways, stratified by label
  and `source_tag`: seed pages (a `seed_fraction` of the math pages), calibration pages (a
  `calibration_fraction` of the math and of the non-math pages) and evaluation pages (the
  rest, unlabelled pages included). A page used to train or to calibrate is never scored as
  an evaluation page. Returns the three lists of absolute paths."""
  import numpy as np  # only here

  base = os.path.dirname(os.path.abspath(labels_path))
  groups: dict[tuple[str, str], list[str]] = collections.defaultdict(list)
  with open(labels_path, encoding="utf-8") as f:
    for line in f:
      row = json.loads(line) if line.strip() else {}
      path = row.get("file")
      if isinstance(path, str) and path.endswith((".html", ".htm")):
        label = row.get("label", row.get("label_guess"))
        groups[(label if label in _LABELS else "", str(row.get("source_tag", "")))].append(
            os.path.join(base, path))
  rng = np.random.default_rng(seed)
  seed_files, calibration_files, eval_files = [], [], []
  for (label, _), files in sorted(groups.items()):
    files = [files[i] for i in rng.permutation(len(files))] if label else files
    n_seed = int(len(files) * seed_fraction) if label == "math" else 0
    n_cal = int(round(len(files) * calibration_fraction)) if label else 0
    seed_files += files[:n_seed]
    calibration_files += files[n_seed:n_seed + n_cal]
    eval_files += files[n_seed + n_cal:]
  return sorted(seed_files), sorted(calibration_files), sorted(eval_files)


def write_subset(labels_path: str, files: list[str], out_path: str) -> int:
  """Writes the rows of `labels_path` whose `file` is one of `files` (absolute paths) to
  `out_path` with an absolute `source`, e.g. a calibration or evaluation split of it.
  Returns the number of rows written."""
  base = os.path.dirname(os.path.abspath(labels_path))
  wanted = {os.path.realpath(p) for p in files}
  n = 0
  with open(labels_path, encoding="utf-8") as f, open(out_path, "w", encoding="utf-8") as out:
    for line in f:
      row = json.loads(line) if line.strip() else {}
      path = row.get("file")
      if isinstance(path, str) and os.path.realpath(os.path.join(base, path)) in wanted:
        label = row.get("label", row.get("label_guess"))
        out.write(json.dumps(dict(source=os.path.join(base, path), label=label)) + "\n")
        n += 1
  return n
