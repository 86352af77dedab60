"""A tiny TFDS builder for the data pipeline tests (importable, so grain workers can load it)."""

import tensorflow_datasets as tfds


class DsmToyText(tfds.core.GeneratorBasedBuilder):
  """`{"text": ...}` records: 40 in `train`, 8 in `test`."""

  VERSION = tfds.core.Version("1.0.0")

  def _info(self) -> tfds.core.DatasetInfo:
    return tfds.core.DatasetInfo(
        builder=self, features=tfds.features.FeaturesDict({"text": tfds.features.Text()}))

  def _split_generators(self, dl_manager):
    del dl_manager
    return {"train": self._generate_examples("train", 40),
            "test": self._generate_examples("test", 8)}

  def _generate_examples(self, split, n):
    for i in range(n):
      yield i, {"text": f"{split} document {i}: {i} + {i} = {2 * i}."}


def build(data_dir: str) -> str:
  """Prepares the dataset as array_record under `data_dir`; returns its name."""
  DsmToyText(data_dir=data_dir, file_format="array_record").download_and_prepare()
  return DsmToyText.name
