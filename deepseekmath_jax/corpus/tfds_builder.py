"""A tfds builder over corpus shards, so pretraining can read the corpus as a tfds dataset.

  builder = MathCorpus(shards_dir=WORKDIR, data_dir=TFDS_DIR)
  builder.download_and_prepare(file_format="array_record")
  source = builder.as_data_source(split="train")  # random access, no TensorFlow needed
  grain.MapDataset.source(source) ...

tfds writes its own array_record files with typed features (text, url, source, iteration,
score) and a dataset_info.json that records the split sizes. We use `data_source`, which works
without TensorFlow (stack notes: `as_dataset` needs TF).
"""

from __future__ import annotations

import hashlib

import numpy as np
import tensorflow_datasets as tfds

from deepseekmath_jax.corpus import shards


class MathCorpus(tfds.core.GeneratorBasedBuilder):
  """The math corpus kept by the corpus engine (arXiv:2402.03300 §2.1)."""

  VERSION = tfds.core.Version("1.0.0")
  RELEASE_NOTES = {"1.0.0": "Documents kept by deepseekmath_jax.corpus, with provenance."}

  def __init__(self, *, shards_dir: str, **kwargs):
    self._shards_dir = shards_dir
    super().__init__(**kwargs)

  def _info(self) -> tfds.core.DatasetInfo:
    # DatasetInfo(builder=self, ...) rather than dataset_info_from_configs, which needs the
    # builder to live in a tfds-registered folder (stack notes, gotcha 6).
    return tfds.core.DatasetInfo(
        builder=self,
        description="Math web documents recalled, deduplicated and decontaminated.",
        features=tfds.features.FeaturesDict({
            "text": tfds.features.Text(),
            "url": tfds.features.Text(),
            "source": tfds.features.Text(),
            "iteration": tfds.features.Scalar(dtype=np.int32),
            "score": tfds.features.Scalar(dtype=np.float32),
        }),
        supervised_keys=None,
    )

  def _split_generators(self, dl_manager):
    del dl_manager  # the shards are local
    return {"train": self._generate_examples()}

  def _generate_examples(self):
    for doc in shards.read_corpus(self._shards_dir):
      key = hashlib.sha1((doc.get("doc_id") or doc["text"]).encode("utf-8")).hexdigest()
      yield key, {"text": doc["text"], "url": doc.get("url") or "",
                  "source": doc.get("source") or "", "iteration": int(doc.get("iteration", 0)),
                  "score": float(doc.get("score", 0.0))}
