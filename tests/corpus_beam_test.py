"""The Beam pipeline (DirectRunner) drops the same records as the local runner, reconciles,
and writes shards that read_corpus reads. Runs where the `beam` extra is installed."""

import importlib.util
import json
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
DATA = REPO.parent / "shared" / "data"
WEB = DATA / "web"
beam = pytest.importorskip("apache_beam", reason="apache-beam (the `beam` extra) not installed")
pytestmark = pytest.mark.skipif(not WEB.exists(), reason=f"{WEB} absent (shared test data)")


def _config(pool, seed, negatives):
  spec = importlib.util.spec_from_file_location("corpus_config", REPO / "configs" / "corpus.py")
  module = importlib.util.module_from_spec(spec)
  spec.loader.exec_module(module)
  config = module.get_config("tiny")
  config.pool, config.seed_path, config.negative_path = pool, seed, negatives
  config.decontam.benchmarks = "gsm8k_test={data_dir}/gsm8k/test.jsonl:question,answer"
  config.data_dir = str(DATA)
  config.num_workers = 1
  config.recall.iterations = 1
  return config


def test_beam_matches_local(tmp_path):
  from deepseekmath_jax import corpus
  from deepseekmath_jax.corpus import beam_pipeline, pipeline
  rows = [json.loads(l) for l in open(DATA / "math" / "math_train.jsonl")][:320]
  (tmp_path / "seed.jsonl").write_text("\n".join(json.dumps(r) for r in rows[:200]) + "\n")
  import argparse, logging, subprocess
  (tmp_path / "neg.txt").write_text(argparse.__doc__ + logging.__doc__ + subprocess.__doc__)
  text = "\n\n".join(r["problem"] + "\n" + r["solution"] for r in rows[300:310])
  pool = tmp_path / "pool"
  pool.mkdir()
  lines = [{"url": "https://m.org/a", "text": text}, {"url": "https://m.org/b", "text": text},
           {"url": "https://m.org/c", "text": text.replace("the", "teh", 3)},
           {"url": "https://m.org/a/", "text": "other " + text[:3000]}, {"text": "short"}]
  (pool / "p.jsonl").write_text("\n".join(json.dumps(l) for l in lines) + "\n{bad\n")
  pool_arg = f"{pool},{WEB / 'warc'}"
  local = pipeline.run(_config(pool_arg, str(tmp_path / "seed.jsonl"),
                               str(tmp_path / "neg.txt")), str(tmp_path / "local"))
  config = _config(pool_arg, str(tmp_path / "seed.jsonl"), str(tmp_path / "neg.txt"))
  config.classifier_path = str(tmp_path / "local" / "classifier" / "iteration_1")
  remote = beam_pipeline.run(config, str(tmp_path / "beam"))
  assert remote["documents_in"] == local["documents_in"]
  assert remote["documents_in"] == remote["documents_out"] + sum(remote["dropped"].values())
  for reason in ("malformed", "too_short", "duplicate_url", "duplicate_exact", "duplicate_near"):
    assert remote["dropped"][reason] == local["dropped"][reason], reason
  assert local["dropped"]["duplicate_exact"] == local["dropped"]["duplicate_near"] == 1, local["dropped"]
  kept = list(corpus.read_corpus(str(tmp_path / "beam")))
  assert len(kept) == remote["documents_out"]  # scores differ: local averages two folds
