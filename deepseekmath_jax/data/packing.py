"""Language-model examples and their packing into fixed [B, L] batches (the batch contract).

A tokenized document of n tokens becomes one example, before packing:
  inputs    = ids                      (n,) int32
  targets   = ids[1:] + [pad]          (n,) int32  (the next token of the same document)
  loss_mask = 1.0 where a next token exists and counts, else 0.0  (n,) float32
so the target of a document's last position never crosses into the next packed document.
Pretraining counts every position but the last; SFT counts a position when its target is a
response token (the answer and its closing EOS), the prompt is context only.

Documents longer than L are cut into pieces of L tokens (positions restart at 0 in each
piece); a piece's last target is the document's real next token, so no transition is lost.
Examples are then packed with grain's `FirstFitPackIterDataset` (arXiv:2402.03300 §3.2 packs SFT
examples to 4K; §2.3 leaves pretraining packing unspecified, so we pack there too): grain
writes `<feature>_segment_ids` (1, 2, ... per document in a row, 0 = padding) and
`<feature>_positions`, and `to_batch_contract` renames them to the keys the trainer reads.
"""

from __future__ import annotations

from collections.abc import Sequence

import grain
import numpy as np

BATCH_KEYS = ("inputs", "targets", "positions", "segment_ids", "loss_mask")
_SEQUENCE_KEYS = ("inputs", "targets", "loss_mask")


def lm_example(ids: Sequence[int], pad_id: int,
               is_response: Sequence[int] | None = None) -> dict[str, np.ndarray]:
  """One document as an unpacked example (see the module docstring)."""
  ids_N = np.asarray(ids, np.int32)
  targets_N = np.empty_like(ids_N)
  targets_N[:-1] = ids_N[1:]
  targets_N[-1:] = pad_id
  if is_response is None:
    loss_mask_N = np.ones(len(ids_N), np.float32)
  else:
    # Position i predicts token i+1: it counts when token i+1 belongs to the response.
    loss_mask_N = np.zeros(len(ids_N), np.float32)
    loss_mask_N[:-1] = np.asarray(is_response, np.float32)[1:]
  loss_mask_N[-1:] = 0.0
  return {"inputs": ids_N, "targets": targets_N, "loss_mask": loss_mask_N}


def split_long(example: dict[str, np.ndarray], seq_len: int) -> list[dict[str, np.ndarray]]:
  """Cuts an example into pieces of at most `seq_len` positions."""
  n = len(example["inputs"])
  if n <= seq_len:
    return [example]
  return [{k: v[start:start + seq_len] for k, v in example.items()}
          for start in range(0, n, seq_len)]


class SplitLongExamples(grain.experimental.FlatMapTransform):
  """grain FlatMap form of `split_long` (one document may give several pieces)."""

  def __init__(self, seq_len: int):
    self.seq_len = seq_len
    self.max_fan_out = 1 << 20  # Not enforced by FlatMapIterDataset; documents can be long.

  def flat_map(self, element):
    return split_long(element, self.seq_len)


def pack(examples: grain.IterDataset, *, seq_len: int, num_bins: int, pad_id: int,
         seed: int) -> grain.IterDataset:
  """First-fit packs examples into rows of `seq_len`, in the batch-contract layout."""
  packed = grain.experimental.FirstFitPackIterDataset(
      examples,
      length_struct={k: seq_len for k in _SEQUENCE_KEYS},
      num_packing_bins=num_bins,
      seed=seed,
      shuffle_bins=True,
      padding_struct={"inputs": pad_id, "targets": pad_id, "loss_mask": 0.0},
  )
  return packed.map(to_batch_contract)


def to_batch_contract(row: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
  """Renames grain's packing outputs to the batch contract keys, with contract dtypes."""
  return {
      "inputs": row["inputs"].astype(np.int32),
      "targets": row["targets"].astype(np.int32),
      "positions": row["inputs_positions"].astype(np.int32),
      "segment_ids": row["inputs_segment_ids"].astype(np.int32),
      "loss_mask": row["loss_mask"].astype(np.float32),
  }


def empty_rows(num_rows: int, seq_len: int, pad_id: int) -> dict[str, np.ndarray]:
  """All-padding rows (segment id 0, no loss), to fill a final eval batch to its static shape."""
  return {
      "inputs": np.full((num_rows, seq_len), pad_id, np.int32),
      "targets": np.full((num_rows, seq_len), pad_id, np.int32),
      "positions": np.zeros((num_rows, seq_len), np.int32),
      "segment_ids": np.zeros((num_rows, seq_len), np.int32),
      "loss_mask": np.zeros((num_rows, seq_len), np.float32),
  }


def check_batch_contract(batch: dict[str, np.ndarray], batch_size: int, seq_len: int) -> None:
  """Raises ValueError if `batch` breaks the batch contract (keys, shapes, dtypes, masks)."""
  expected = {"inputs": np.int32, "targets": np.int32, "positions": np.int32,
              "segment_ids": np.int32, "loss_mask": np.float32}
  if set(batch) != set(expected):
    raise ValueError(f"batch keys {sorted(batch)} != {sorted(expected)}")
  for key, dtype in expected.items():
    if batch[key].shape != (batch_size, seq_len) or batch[key].dtype != dtype:
      raise ValueError(f"batch[{key!r}] is {batch[key].dtype}{batch[key].shape}, expected "
                       f"{np.dtype(dtype)}{(batch_size, seq_len)}")
  padding_BxL = batch["segment_ids"] == 0
  if np.any(batch["loss_mask"][padding_BxL] != 0):
    raise ValueError("loss_mask is nonzero on padding (segment_ids == 0)")
  # A position whose successor is in another segment ends a document: no loss may cross it.
  ends_BxL = np.ones_like(padding_BxL)
  ends_BxL[:, :-1] = batch["segment_ids"][:, 1:] != batch["segment_ids"][:, :-1]
  crossing_BxL = ends_BxL & (batch["loss_mask"] != 0)
  # Allowed only at the last column, where a long document was cut and the target is its
  # real next token.
  if np.any(crossing_BxL[:, :-1]):
    raise ValueError("loss_mask is nonzero at a document's last position (cross-document target)")
