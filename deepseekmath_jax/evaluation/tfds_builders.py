"""tfds dataset builders for GSM8K, MATH and MATH500, so `tfds.data_source` + grain can feed them.

tensorflow-datasets writes and indexes the array_record shards; grain reads them by random
access (`grain.MapDataset.source(tfds.data_source(...))`). No TensorFlow is needed: building in
the array_record format and `tfds.data_source` work without it (`as_dataset` does not).

Builders (registered under names that do not clash with tfds' own catalogue):

  dsm_gsm8k     splits train/test
  dsm_math      splits train/test (Hendrycks MATH, all 12,500 problems)
  dsm_math500   split test (the PRM800K 500-problem MATH test subset)

Every record has the `benchmarks.Problem` fields: `id`, `question`, `reference`, `subject`,
`level` (-1 when unknown) and `raw` (the source line as JSON). Order is the source files' order
(`disable_shuffling=True`), so a record's index is the problem's position.

Sources: a manual dir holding the local files (the layout of `benchmarks.benchmark_file`; pass
`download_config=tfds.download.DownloadConfig(manual_dir=...)`), else the original public URLs
when online. Parsing is `benchmarks`' (one reader for both paths); a bad line is an error naming
the file and line.

  builder = tfds_builders.DsmMath500(data_dir=DIR, file_format="array_record")
  builder.download_and_prepare(
      download_config=tfds.download.DownloadConfig(manual_dir="../shared/data"))
  source = tfds.data_source("dsm_math500", split="test", data_dir=DIR)
"""

from __future__ import annotations

import json
import os
import tarfile
from typing import Any, Iterator

import numpy as np
import tensorflow_datasets as tfds

from deepseekmath_jax.evaluation import benchmarks

# Original public locations, used when no manual dir is given.
_GSM8K_URL = ("https://raw.githubusercontent.com/openai/grade-school-math/"
              "master/grade_school_math/data/{split}.jsonl")
_MATH_TAR_URL = "https://people.eecs.berkeley.edu/~hendrycks/MATH.tar"
# prm800k keeps its splits in Git LFS; the Hub copy is byte-identical (see data/math/NOTICE.md).
_MATH500_URL = "https://huggingface.co/datasets/HuggingFaceH4/MATH-500/resolve/main/test.jsonl"

_MANUAL_INSTRUCTIONS = """\
Point `manual_dir` at a folder holding the local jsonl files, either the data root
(gsm8k/{train,test}.jsonl, math/math_{train,test}.jsonl, math/math500/test.jsonl) or the
benchmark's own folder. Without a manual dir the builder downloads the original files.
"""


def _features() -> tfds.features.FeaturesDict:
  return tfds.features.FeaturesDict({
      "id": tfds.features.Text(),
      "question": tfds.features.Text(),
      "reference": tfds.features.Text(),
      "subject": tfds.features.Text(),
      "level": np.int32,
      "raw": tfds.features.Text(),
  })


def _example(p: benchmarks.Problem) -> dict[str, Any]:
  return {"id": p.id, "question": p.question, "reference": p.reference, "subject": p.subject,
          "level": -1 if p.level is None else p.level,
          "raw": json.dumps(p.raw, ensure_ascii=False, sort_keys=True)}


def _manual_dir(dl_manager: tfds.download.DownloadManager) -> str | None:
  """The manual dir if one was given and is non-empty, else None (download instead)."""
  try:
    return os.fspath(dl_manager.manual_dir)
  except AssertionError:  # tfds' way of saying "no manual dir"
    return None


class _Builder(tfds.core.GeneratorBasedBuilder):
  """Shared info; subclasses define the splits."""

  VERSION = tfds.core.Version("1.0.0")
  RELEASE_NOTES = {"1.0.0": "Initial release."}
  MANUAL_DOWNLOAD_INSTRUCTIONS = _MANUAL_INSTRUCTIONS
  _DESCRIPTION = ""
  _HOMEPAGE = ""

  def _info(self) -> tfds.core.DatasetInfo:
    # `DatasetInfo(builder=self)`: tfds' config-file helper needs a source directory.
    return tfds.core.DatasetInfo(builder=self, description=self._DESCRIPTION,
                                 features=_features(), homepage=self._HOMEPAGE,
                                 disable_shuffling=True)

  def _generate_examples(self, problems: list[benchmarks.Problem]
                         ) -> Iterator[tuple[str, dict[str, Any]]]:
    for p in problems:
      yield p.id, _example(p)


class DsmGsm8k(_Builder):
  """GSM8K (Cobbe et al. 2021, arXiv:2110.14168): 7,473 train and 1,319 test problems."""

  _DESCRIPTION = "GSM8K grade-school math word problems; reference = answer with '#### n'."
  _HOMEPAGE = "https://github.com/openai/grade-school-math"

  def _split_generators(self, dl_manager):
    manual = _manual_dir(dl_manager)
    out = {}
    for split in ("train", "test"):
      path = (benchmarks.benchmark_file("gsm8k", manual, split) if manual
              else dl_manager.download(_GSM8K_URL.format(split=split)))
      out[split] = self._generate_examples(benchmarks.read_gsm8k_file(os.fspath(path), split))
    return out


def _read_math_tar(root: str, split: str) -> list[benchmarks.Problem]:
  """The original MATH release: MATH/<split>/<subject_dir>/<n>.json, one problem per file."""
  problems = []
  split_dir = os.path.join(root, "MATH", split)
  for subject_dir in sorted(os.listdir(split_dir)):
    for name in sorted(os.listdir(os.path.join(split_dir, subject_dir)),
                       key=lambda n: (len(n), n)):
      path = os.path.join(split_dir, subject_dir, name)
      with open(path, encoding="utf-8") as f:
        obj = json.load(f)
      obj = {"unique_id": f"{split}/{subject_dir}/{name}", **obj}
      problems.append(benchmarks.Problem(
          id=obj["unique_id"], question=obj["problem"], reference=obj["solution"],
          subject=obj["type"], level=benchmarks.parse_math_level(obj["level"], path, 1), raw=obj))
  return problems


class DsmMath(_Builder):
  """MATH (Hendrycks et al. 2021, arXiv:2103.03874): 7,500 train and 5,000 test problems."""

  _DESCRIPTION = "MATH competition problems; reference = the full solution (answer boxed)."
  _HOMEPAGE = "https://github.com/hendrycks/math"

  def _split_generators(self, dl_manager):
    manual = _manual_dir(dl_manager)
    if manual:
      return {split: self._generate_examples(
          benchmarks.read_math_file(benchmarks.benchmark_file("math", manual, split)))
              for split in ("train", "test")}
    root = os.fspath(dl_manager.download_and_extract(_MATH_TAR_URL))
    return {split: self._generate_examples(_read_math_tar(root, split))
            for split in ("train", "test")}


class DsmMath500(_Builder):
  """MATH500 (Lightman et al. 2023, arXiv:2305.20050): the PRM800K MATH test subset."""

  _DESCRIPTION = "500 MATH test problems (PRM800K split); reference = the bare answer."
  _HOMEPAGE = "https://github.com/openai/prm800k"

  def _split_generators(self, dl_manager):
    manual = _manual_dir(dl_manager)
    path = (benchmarks.benchmark_file("math500", manual) if manual
            else dl_manager.download(_MATH500_URL))
    return {"test": self._generate_examples(benchmarks.read_math500_file(os.fspath(path)))}


BUILDERS = {"gsm8k": DsmGsm8k, "math": DsmMath, "math500": DsmMath500}


def build(benchmark: str, data_dir: str, manual_dir: str | None = None) -> tfds.core.DatasetBuilder:
  """Builds (or reuses) a benchmark's array_record dataset under data_dir; returns the builder."""
  if benchmark not in BUILDERS:
    raise ValueError(f"unknown benchmark {benchmark!r}; known: {sorted(BUILDERS)}")
  builder = BUILDERS[benchmark](data_dir=data_dir, file_format="array_record")
  builder.download_and_prepare(
      download_config=tfds.download.DownloadConfig(manual_dir=manual_dir))
  return builder


def decode(record: dict[str, Any]) -> benchmarks.Problem:
  """A `tfds.data_source` record (bytes for text) back into a Problem."""
  text = lambda v: v.decode("utf-8") if isinstance(v, bytes) else str(v)
  level = int(record["level"])
  return benchmarks.Problem(id=text(record["id"]), question=text(record["question"]),
                            reference=text(record["reference"]), subject=text(record["subject"]),
                            level=None if level < 0 else level, raw=json.loads(text(record["raw"])))
