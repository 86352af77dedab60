"""End to end: the real web sample + planted documents -> shards, report, read back (local).

One run (module fixture) on ../shared/data/web (all pages and WARC files) plus a jsonl of
planted documents: an exact duplicate, a near duplicate, a URL duplicate, a page containing a
GSM8K test question, malformed lines and a too-short record. Seed: MATH and GSM8K train.
"""

import importlib.util
import json
from pathlib import Path

import pytest

from deepseekmath_jax import corpus
from deepseekmath_jax.corpus import pipeline

REPO = Path(__file__).resolve().parents[1]
DATA = REPO.parent / "shared" / "data"
WEB = DATA / "web"
pytestmark = pytest.mark.skipif(not WEB.exists(), reason=f"{WEB} absent (shared test data)")


def _rows(path, start, stop):
  with open(path) as f:
    return [json.loads(line) for line in f][start:stop]


def _math(start, stop, only=None):
  rows = _rows(DATA / "math" / "math_train.jsonl", start, stop)
  if only is not None:
    rows = [r for i, r in enumerate(rows, start) if i in only]
  return "\n\n".join(r["problem"] + "\n" + r["solution"] for r in rows)


# MATH train rows that share no 10-gram with MATH/GSM8K test (about a quarter of MATH train
# does: shared phrasing and Asymptote boilerplate), so planted "clean" pages stay clean.
_CLEAN = {1000, 1002, 1003, 1004, 1005, 1006, 1008, 1009, 1010, 1011, 1012, 1015, 1044, 1045,
          1046, 1047, 1049, 1050, 1051, 1052, 1053, 1056, 1058, 1059}


@pytest.fixture(scope="module")
def run(tmp_path_factory):
  tmp = tmp_path_factory.mktemp("corpus")
  seed = tmp / "seed.jsonl"
  with open(seed, "w") as f:
    for row in _rows(DATA / "math" / "math_train.jsonl", 0, 250) + _rows(
        DATA / "gsm8k" / "train.jsonl", 0, 250):
      f.write(json.dumps(row) + "\n")
  base = _math(1000, 1016, _CLEAN)
  gsm_question = _rows(DATA / "gsm8k" / "test.jsonl", 5, 6)[0]["question"]
  words = base.split()
  near = " ".join(w if i not in (40, 200, 400) else "changed" for i, w in enumerate(words))
  import argparse  # non-math text under the math domain: domain discovery adds it to the seed
  planted = [
      {"url": "https://math.example.org/questions/1", "text": base},               # kept
      {"url": "https://math.example.org/questions/2", "text": base},               # exact dup
      {"url": "https://math.example.org/questions/3", "text": near},               # near dup
      {"url": "HTTPS://www.math.example.org/questions/1/", "text": _math(1100, 1105)},  # url dup
      {"url": "https://math.example.org/questions/4",
       "text": _math(1200, 1206) + "\n\nHomework: " + gsm_question},              # contaminated
      {"url": "https://math.example.org/questions/5", "text": _math(1044, 1060, _CLEAN)},  # kept
      {"url": "https://math.example.org/questions/6", "text": argparse.__doc__ * 3},
      {"url": "https://short.example.org/", "text": "too short"},
  ]
  pool = tmp / "pool"
  pool.mkdir()
  with open(pool / "planted.jsonl", "w") as f:
    for row in planted:
      f.write(json.dumps(row) + "\n")
    f.write("{not json\n")
    f.write(json.dumps({"url": "https://math.example.org/x"}) + "\n")
  spec = importlib.util.spec_from_file_location("corpus_config", REPO / "configs" / "corpus.py")
  module = importlib.util.module_from_spec(spec)
  spec.loader.exec_module(module)
  config = module.get_config("tiny")
  config.pool = f"{WEB / 'pages'},{WEB / 'warc'},{pool}"
  config.seed_path = str(seed)
  config.data_dir = str(DATA)
  config.num_workers = 2
  workdir = tmp / "work"
  report = pipeline.run(config, str(workdir))
  planted_ids = [f"{pool / 'planted.jsonl'}#{i:09d}" for i in range(10)]
  return report, workdir, planted_ids


def test_counts_reconcile(run):
  report, _, _ = run
  n_html = len(list((WEB / "pages").glob("*.html")))
  assert report["documents_in"] == n_html + 24 + 10  # pages, WARC/WET documents, planted lines
  assert report["documents_in"] == report["documents_out"] + sum(report["dropped"].values())
  assert report["dropped"]["malformed"] == 2
  assert report["malformed"] == {"bad_json": 1, "missing_text_field": 1}
  counts = [s["documents"] for s in report["stage_counts"]]
  assert counts == sorted(counts, reverse=True) and counts[-1] == report["documents_out"]


def test_planted_duplicates_and_contamination_removed(run):
  report, workdir, ids = run
  examples = report["dedup"]["examples"]
  assert ids[1] in [e["doc_id"] for e in examples["duplicate_exact"]]
  assert ids[2] in [e["doc_id"] for e in examples["duplicate_near"]]
  assert ids[3] in [e["doc_id"] for e in examples["duplicate_url"]]
  hits = report["contamination"]["examples"]["gsm8k_test"]
  assert ids[4] in [h["doc_id"] for h in hits]
  kept = {d["doc_id"]: d for d in corpus.read_corpus(str(workdir))}
  assert ids[0] in kept and ids[5] in kept
  assert not {ids[1], ids[2], ids[3], ids[4], ids[7]} & set(kept)


def test_recall_keeps_mostly_math_pages(run):
  report, workdir, _ = run
  labels = {str(WEB / json.loads(line)["file"]): json.loads(line)["label_guess"]
            for line in open(WEB / "manifest.jsonl")}
  kept_pages = [d for d in corpus.read_corpus(str(workdir)) if d["source"] in labels]
  math = [d for d in kept_pages if labels[d["source"]] in ("math", "unsure")]
  assert kept_pages and len(math) >= 0.6 * len(kept_pages)
  first = report["recall"]["iterations"][0]
  assert first["heldout"]["auc"] > 0.9
  assert "math.example.org" in [d["domain"] for d in first["flagged_domains"]]
  assert first["added_to_seed"] >= 1  # the uncollected page under math.example.org/questions


def test_shards_read_back_with_provenance(run):
  report, workdir, _ = run
  docs = list(corpus.read_corpus(str(workdir)))
  assert len(docs) == report["documents_out"] > 0
  threshold = report["recall"]["iterations"][-1]["threshold"]  # PU-corrected, below 0.5
  assert 0 < threshold <= 0.5
  for doc in docs:
    assert doc["text"] and {"url", "source", "iteration", "score"} <= set(doc)
    assert doc["iteration"] >= 1 and doc["score"] >= threshold - 1e-4
  assert len(report["manifest"]["outputs"]) == 2
  assert all(len(x["sha256"]) == 64 for x in report["manifest"]["inputs"])


def test_report_files(run):
  _, workdir, _ = run
  md = (workdir / "report.md").read_text()
  for heading in ("## Funnel", "## Dropped, by reason", "## Recall iterations",
                  "## Benchmark contamination", "## Manifest"):
    assert heading in md
  assert json.loads((workdir / "report.json").read_text())["documents_out"] >= 1
  assert (workdir / "funnel.png").stat().st_size > 1000


def test_tfds_builder_reads_the_shards(run, tmp_path):
  from deepseekmath_jax.corpus.tfds_builder import MathCorpus
  report, workdir, _ = run
  builder = MathCorpus(shards_dir=str(workdir), data_dir=str(tmp_path / "tfds"))
  builder.download_and_prepare(file_format="array_record")
  source = builder.as_data_source(split="train")
  assert len(source) == report["documents_out"]
  texts = {source[i]["text"].decode() if isinstance(source[i]["text"], bytes)
           else source[i]["text"] for i in range(len(source))}
  assert texts == {d["text"] for d in corpus.read_corpus(str(workdir))}


def test_missing_keys_are_clear_errors(tmp_path):
  import ml_collections
  config = ml_collections.ConfigDict(dict(runner="local", pool="", seed_path=""))
  with pytest.raises(ValueError, match="config.pool"):
    pipeline.run(config, str(tmp_path))
