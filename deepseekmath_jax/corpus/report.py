"""The dataset report: report.json (machine), report.md (people), funnel.png (a glance).

The report reconciles every record: documents_in = documents_out + sum(dropped), and building
it raises if that does not hold, so a run can never end with documents lost silently.
It also carries per-stage counts, token counts, domain and source proportions, dedup rates,
contamination hits with examples, classifier metrics per recall iteration, and a manifest of
sha256 hashes for the inputs, the config and the output shards.
"""

from __future__ import annotations

import collections
import hashlib
import json
import os
from typing import Any

from deepseekmath_jax.corpus import labels as labels_lib
from deepseekmath_jax.corpus import stages
from deepseekmath_jax.corpus import tokens


def sha256_file(path: str) -> str:
  digest = hashlib.sha256()
  with open(path, "rb") as f:
    for block in iter(lambda: f.read(1 << 20), b""):
      digest.update(block)
  return digest.hexdigest()


def _kind(source: str) -> str:
  lower = source.lower()
  for kind, suffixes in (("warc", (".warc", ".warc.gz", ".wet", ".wet.gz", ".arc.gz")),
                         ("html", (".html", ".htm", ".xhtml", ".html.gz", ".htm.gz")),
                         ("jsonl", (".jsonl", ".jsonl.gz", ".ndjson"))):
    if lower.endswith(suffixes):
      return kind
  return "other"


def _proportions(counter: collections.Counter, total: int, top: int) -> list[dict]:
  return [dict(name=name, count=count, fraction=round(count / max(total, 1), 4))
          for name, count in counter.most_common(top)]


def build_report(*, config: Any, inputs: list[str], documents_in: int, documents_out: int,
                 dropped: collections.Counter, malformed: collections.Counter,
                 reader_ignored: collections.Counter, stage_counts: list[tuple[str, int]],
                 extracted: list[dict], kept: list[dict], dup_dropped: dict[str, list[dict]],
                 contamination: dict[str, list[dict]], decontaminator: Any,
                 recall_stats: list[dict], shard_files: list[str], seed_count: int,
                 elapsed: float, runner: str, workers: int) -> dict:
  """Assembles the report dict; raises RuntimeError if the counts do not reconcile."""
  dropped = {reason: int(dropped.get(reason, 0)) for reason in stages.DROP_REASONS}
  if documents_in != documents_out + sum(dropped.values()):
    raise RuntimeError(f"corpus counts do not reconcile: in={documents_in} out={documents_out} "
                       f"dropped={dropped}")
  top = config.report.top_k
  examples = config.report.examples
  counter_name = tokens.TokenCounter(config.report.sentencepiece_model or None).name
  kept_tokens = sum(d["tokens"] for d in kept)
  entering = dict(stage_counts)
  after_url = entering["extracted"] - dropped["duplicate_url"]
  after_exact = after_url - dropped["duplicate_exact"]
  config_json = config.to_json_best_effort(sort_keys=True)
  outputs = []
  for path in shard_files:
    outputs.append(dict(path=os.path.basename(path), bytes=os.path.getsize(path),
                        sha256=sha256_file(path)))
  return dict(
      documents_in=documents_in,
      documents_out=documents_out,
      dropped=dropped,
      malformed=dict(malformed),
      reader_ignored_records=dict(reader_ignored),
      stage_counts=[dict(stage=s, documents=n) for s, n in stage_counts],
      tokens=dict(tokenizer=counter_name,
                  extracted=int(sum(d["tokens"] for d in extracted)), kept=int(kept_tokens)),
      extraction=dict(extractors=dict(collections.Counter(d["extractor"] for d in extracted)),
                      formulas_rewritten=int(sum(d.get("formulas", 0) for d in extracted))),
      dedup=dict(
          url_rate=round(dropped["duplicate_url"] / max(entering["extracted"], 1), 4),
          exact_rate=round(dropped["duplicate_exact"] / max(after_url, 1), 4),
          near_rate=round(dropped["duplicate_near"] / max(after_exact, 1), 4),
          near_threshold=config.dedup.threshold, num_perm=config.dedup.num_perm,
          examples={k: [dict(doc_id=d["doc_id"], url=d.get("url")) for d in v[:examples]]
                    for k, v in dup_dropped.items()}),
      contamination=dict(
          ngram=config.decontam.ngram, enabled=bool(config.decontam.enabled),
          benchmark_texts=dict(decontaminator.texts) if decontaminator else {},
          documents_per_benchmark={k: len(v) for k, v in sorted(contamination.items())},
          examples={k: v[:examples] for k, v in sorted(contamination.items())}),
      recall=dict(seed_documents=seed_count, iterations=recall_stats),
      domains=_proportions(collections.Counter(d["domain"] for d in kept), len(kept), top),
      domain_tokens=_proportions(_token_counter(kept, "domain"), kept_tokens, top),
      source_kinds=_proportions(collections.Counter(_kind(d["source"]) for d in kept),
                                len(kept), top),
      sources=_proportions(collections.Counter(os.path.basename(d["source"]) for d in kept),
                           len(kept), top),
      manifest=dict(
          inputs=[dict(path=p, bytes=os.path.getsize(p), sha256=sha256_file(p))
                  for p in inputs],
          config_sha256=hashlib.sha256(config_json.encode("utf-8")).hexdigest(),
          config=json.loads(config_json),
          outputs=outputs),
      runtime=dict(runner=runner, workers=workers, seconds=round(elapsed, 2),
                   documents_per_second=round(documents_in / max(elapsed, 1e-9), 2)),
  )


def _token_counter(docs: list[dict], key: str) -> collections.Counter:
  counter: collections.Counter = collections.Counter()
  for doc in docs:
    counter[doc[key]] += doc["tokens"]
  return counter


def _table(rows: list[dict], columns: list[str]) -> list[str]:
  if not rows:
    return ["(none)", ""]
  lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
  for row in rows:
    lines.append("| " + " | ".join(_fmt(row.get(c)) for c in columns) + " |")
  return lines + [""]


def _fmt(value: Any) -> str:
  if isinstance(value, float):
    return f"{value:.3f}"
  return str(value).replace("|", "\\|") if value is not None else "-"


def to_markdown(report: dict) -> str:
  """A person-readable summary of the report."""
  r = report
  lines = ["# Math corpus report", "",
           f"**{r['documents_out']:,} of {r['documents_in']:,} documents kept** "
           f"({r['tokens']['kept']:,} tokens; tokenizer: {r['tokens']['tokenizer']}). "
           f"Runner: {r['runtime']['runner']}, {r['runtime']['workers']} workers, "
           f"{r['runtime']['seconds']} s.", "",
           "Every document read is accounted for: documents in = kept + dropped.", "",
           "## Funnel", ""]
  lines += _table(r["stage_counts"], ["stage", "documents"])
  lines += ["## Dropped, by reason", ""]
  lines += _table([dict(reason=k, documents=v) for k, v in r["dropped"].items()],
                  ["reason", "documents"])
  if r["malformed"]:
    lines += ["Malformed records by cause:", ""]
    lines += _table([dict(cause=k, records=v) for k, v in sorted(r["malformed"].items())],
                    ["cause", "records"])
  if r["reader_ignored_records"]:
    lines += ["WARC records that are not documents (not counted as input): " + ", ".join(
        f"{k}={v}" for k, v in sorted(r["reader_ignored_records"].items())), ""]
  d = r["dedup"]
  lines += ["## Deduplication", "",
            f"URL {d['url_rate']:.1%}, exact text {d['exact_rate']:.1%}, near-duplicate "
            f"{d['near_rate']:.1%} (MinHash, {d['num_perm']} permutations, Jaccard >= "
            f"{d['near_threshold']}).", ""]
  lines += ["## Recall iterations (classifier trained on seed + random pool negatives)", "",
            f"Seed documents: {r['recall']['seed_documents']:,}.", ""]
  rows = []
  for it in r["recall"]["iterations"]:
    held = it.get("heldout") or {}
    rows.append(dict(iteration=it["iteration"], threshold=it.get("threshold"),
                     positives=it["positives"],
                     negatives=it["pool_negatives"] + it["extra_negatives"],
                     precision=held.get("precision"), recall=held.get("recall"),
                     auc=held.get("auc"), selected=it["selected"],
                     tokens=it["selected_tokens"],
                     recollected=it["fraction_of_previous_recollected"],
                     flagged_domains=len(it["flagged_domains"]),
                     accepted_prefixes=len(it["accepted_prefixes"]),
                     added_to_seed=it["added_to_seed"]))
  lines += _table(rows, ["iteration", "threshold", "positives", "negatives", "precision",
                         "recall", "auc",
                         "selected", "tokens", "recollected", "flagged_domains",
                         "accepted_prefixes", "added_to_seed"])
  last = r["recall"]["iterations"][-1] if r["recall"]["iterations"] else None
  if last and last["flagged_domains"]:
    lines += ["Math domains flagged in the last iteration (> threshold of pages collected):", ""]
    lines += _table(last["flagged_domains"], ["domain", "pages", "collected", "fraction"])
  if last and last["accepted_prefixes"]:
    lines += ["Accepted URL prefixes (their pages join the seed):", ""]
    lines += _table(last["accepted_prefixes"], ["prefix", "pages", "collected", "by"])
  if r.get("labels"):
    lines += labels_lib.markdown(r["labels"])
  c = r["contamination"]
  lines += ["## Benchmark contamination", "",
            f"Exact {c['ngram']}-gram match (shorter benchmark texts: whole-text match). "
            "Benchmark texts indexed: " + ", ".join(
                f"{k}={v:,}" for k, v in c["benchmark_texts"].items()) + ".", ""]
  lines += _table([dict(benchmark=k, documents=v)
                   for k, v in c["documents_per_benchmark"].items()], ["benchmark", "documents"])
  for bench, examples in c["examples"].items():
    for ex in examples:
      lines.append(f"- {bench}: `{ex['url'] or ex['doc_id']}` matched \"{ex['gram']}\"")
  lines += ["", "## Kept documents by domain", ""]
  lines += _table(r["domains"], ["name", "count", "fraction"])
  lines += ["## Kept documents by source", ""]
  lines += _table(r["source_kinds"], ["name", "count", "fraction"])
  lines += _table(r["sources"], ["name", "count", "fraction"])
  e = r["extraction"]
  lines += ["## Extraction", "",
            "Extractors: " + ", ".join(f"{k}={v}" for k, v in sorted(e["extractors"].items()))
            + f"; formulas rewritten as TeX: {e['formulas_rewritten']:,}.", "",
            "## Manifest", "", f"Config sha256: `{r['manifest']['config_sha256']}`", ""]
  lines += _table([dict(path=x["path"], bytes=x["bytes"], sha256=x["sha256"][:16])
                   for x in r["manifest"]["outputs"]], ["path", "bytes", "sha256"])
  lines += [f"{len(r['manifest']['inputs'])} input files; their sha256 are in report.json.", ""]
  return "\n".join(lines)


def plot_funnel(report: dict, path: str) -> None:
  import matplotlib  # only for the plot
  matplotlib.use("Agg")
  import matplotlib.pyplot as plt
  stages_ = [s["stage"] for s in report["stage_counts"]]
  counts = [s["documents"] for s in report["stage_counts"]]
  fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 3.5))
  ax1.barh(stages_[::-1], counts[::-1], color="tab:blue")
  ax1.set_title("documents after each stage")
  reasons = [k for k, v in report["dropped"].items() if v]
  ax2.barh(reasons[::-1], [report["dropped"][k] for k in reasons][::-1], color="tab:red")
  ax2.set_title("dropped, by reason")
  fig.tight_layout()
  fig.savefig(path, dpi=100)
  plt.close(fig)


def write_report(report: dict, workdir: str) -> None:
  """Writes report.json, report.md and funnel.png into `workdir`."""
  with open(os.path.join(workdir, "report.json"), "w") as f:
    json.dump(report, f, indent=1, sort_keys=False, default=str)
  with open(os.path.join(workdir, "report.md"), "w") as f:
    f.write(to_markdown(report))
  plot_funnel(report, os.path.join(workdir, "funnel.png"))
