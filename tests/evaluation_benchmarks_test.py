"""Benchmark loaders on the real data files, their error messages, and the tfds builders."""

import json
import os
from pathlib import Path

import grain
import pytest
import tensorflow_datasets as tfds

from deepseekmath_jax.evaluation import benchmarks
from deepseekmath_jax.evaluation import tfds_builders

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
needs_data = pytest.mark.skipif(not DATA.is_dir(), reason=f"shared data not found at {DATA}")


@needs_data
def test_gsm8k_loader_real_files():
  test = benchmarks.load_benchmark("gsm8k", str(DATA), "test")
  train = benchmarks.load_benchmark("gsm8k", str(DATA), "train")
  assert len(test) == 1319 and len(train) == 7473
  p = test[0]
  assert p.id == "test/0" and test[-1].id == "test/1318"
  assert p.question.startswith("Janet\u2019s ducks lay 16 eggs")
  assert p.reference.rstrip().endswith("#### 18")
  assert p.subject == "gsm8k" and p.level is None and p.raw["question"] == p.question
  # The benchmark's own folder works as data_dir too.
  assert benchmarks.load_benchmark("gsm8k", str(DATA / "gsm8k"))[5] == test[5]


@needs_data
def test_math_loader_real_files():
  test = benchmarks.load_benchmark("math", str(DATA), "test")
  train = benchmarks.load_benchmark("math", str(DATA), "train")
  assert len(test) == 5000 and len(train) == 7500
  assert test[0].id == "test/algebra/1.json" and test[0].level == 3
  assert test[0].subject == "Algebra" and "\\boxed{2}" in test[0].reference
  assert {p.level for p in test} == {1, 2, 3, 4, 5}
  assert len({p.subject for p in test}) == 7
  # Two training problems are "Level ?" upstream: kept, with an unknown level.
  assert sum(p.level is None for p in train) == 2


@needs_data
def test_math500_loader_real_file_is_a_subset_of_math_test():
  m500 = benchmarks.load_benchmark("math500", str(DATA))
  assert len(m500) == 500
  p = m500[0]
  assert p.id == "test/precalculus/807.json" and p.level == 2 and p.subject == "Precalculus"
  assert p.reference == "\\left( 3, \\frac{\\pi}{2} \\right)"  # the bare `answer` field
  math_test = {q.id: q for q in benchmarks.load_benchmark("math", str(DATA))}
  assert all(q.id in math_test for q in m500)
  assert all(math_test[q.id].question == q.question for q in m500)
  with pytest.raises(ValueError, match="only a 'test' split"):
    benchmarks.load_benchmark("math500", str(DATA), "train")


def _write(tmp_path, name, lines):
  path = tmp_path / name
  path.write_text("\n".join(lines) + "\n", encoding="utf-8")
  return path


def test_bad_lines_name_file_and_line(tmp_path):
  good = json.dumps({"question": "1+1?", "answer": "2\n#### 2"})
  _write(tmp_path, "test.jsonl", [good, "{not json"])
  with pytest.raises(benchmarks.BenchmarkFormatError, match=r"test\.jsonl:2: not valid JSON"):
    benchmarks.load_benchmark("gsm8k", str(tmp_path))
  _write(tmp_path, "test.jsonl", [good, "", json.dumps({"question": "x"})])
  with pytest.raises(benchmarks.BenchmarkFormatError, match=r"test\.jsonl:3: missing key 'answer'"):
    benchmarks.load_benchmark("gsm8k", str(tmp_path))
  _write(tmp_path, "test.jsonl", [json.dumps({"question": "x", "answer": "no final line"})])
  with pytest.raises(benchmarks.BenchmarkFormatError, match=r":1: GSM8K answer has no '####'"):
    benchmarks.load_benchmark("gsm8k", str(tmp_path))
  row = {"unique_id": "test/a/1.json", "problem": "p", "level": "Level six", "type": "Algebra",
         "solution": "\\boxed{1}"}
  _write(tmp_path, "math_test.jsonl", [json.dumps(row)])
  with pytest.raises(benchmarks.BenchmarkFormatError, match=r":1: unrecognised level"):
    benchmarks.load_benchmark("math", str(tmp_path))
  row["level"] = "Level 2"
  _write(tmp_path, "math_test.jsonl", [json.dumps(row), json.dumps(row)])
  with pytest.raises(benchmarks.BenchmarkFormatError, match="duplicate problem id"):
    benchmarks.load_benchmark("math", str(tmp_path))
  row["problem"] = 7
  _write(tmp_path, "math_test.jsonl", [json.dumps(row)])
  with pytest.raises(benchmarks.BenchmarkFormatError, match="'problem' should be str"):
    benchmarks.load_benchmark("math", str(tmp_path))


def test_missing_files_and_unknown_benchmark(tmp_path):
  with pytest.raises(FileNotFoundError, match="looked for"):
    benchmarks.load_benchmark("math", str(tmp_path))
  with pytest.raises(ValueError, match="unknown benchmark"):
    benchmarks.load_benchmark("aime", str(tmp_path))


@needs_data
def test_tfds_builders_from_local_files_read_back_with_data_source_and_grain(tmp_path):
  out = str(tmp_path / "tfds")
  for name, split, tfds_name in (("math500", "test", "dsm_math500"),
                                 ("gsm8k", "test", "dsm_gsm8k")):
    tfds_builders.build(name, out, manual_dir=str(DATA))
    source = tfds.data_source(tfds_name, split=split, data_dir=out)
    expected = benchmarks.load_benchmark(name, str(DATA), split)
    assert len(source) == len(expected)
    # Order is the file's order (shuffling disabled), and records decode to equal Problems.
    for i in (0, 1, len(expected) // 2, len(expected) - 1):
      got = tfds_builders.decode(source[i])
      assert got == expected[i] and got.raw == expected[i].raw
  train = tfds.data_source("dsm_gsm8k", split="train", data_dir=out)
  assert len(train) == 7473
  loader = grain.MapDataset.source(tfds.data_source("dsm_math500", split="test", data_dir=out))
  problems = list(loader.map(tfds_builders.decode).batch(100)[0])
  assert [p.id for p in problems[:3]] == [
      p.id for p in benchmarks.load_benchmark("math500", str(DATA))[:3]]


@needs_data
def test_math_tar_layout_reader(tmp_path):
  """The download path reads the original release layout MATH/<split>/<subject>/<n>.json."""
  rows = [json.loads(line) for line in
          (DATA / "math" / "math_test.jsonl").read_text(encoding="utf-8").splitlines()[:3]]
  for row in rows:
    _, subject_dir, name = row["unique_id"].split("/")
    folder = tmp_path / "MATH" / "test" / subject_dir
    folder.mkdir(parents=True, exist_ok=True)
    original = {k: v for k, v in row.items() if k != "unique_id"}
    (folder / name).write_text(json.dumps(original), encoding="utf-8")
  got = tfds_builders._read_math_tar(str(tmp_path), "test")
  expected = benchmarks.read_math_file(str(DATA / "math" / "math_test.jsonl"))[:3]
  assert sorted(p.id for p in got) == sorted(p.id for p in expected)
  by_id = {p.id: p for p in expected}
  assert all(p == by_id[p.id] for p in got)
