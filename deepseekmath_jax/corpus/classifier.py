"""fastText-style math classifier in numpy (arXiv:2402.03300 §2.1).

The paper trains fastText (Joulin et al., 2016) with "vector dimension 256, learning rate 0.1,
the maximum length of word n-gram 3, the minimum number of word occurrences 3, and the number
of training epochs 3". This is the same model:

  features(doc) = ids of its words (vocabulary: words seen >= min_count times in training)
                  + hashed ids of its word 2-grams and 3-grams (`buckets` hash rows)
  h = mean of the embedding rows of the features      (dim 256)
  p(math | doc) = sigmoid(w . h + b)                   (linear output)

trained by per-example SGD with the learning rate decaying linearly to 0, as fastText does.
fastText's two-label softmax is a logistic output with one logit, which we use directly.

Why numpy and not the `fasttext` pip package or JAX: the `fasttext`/`fasttext-wheel` packages
are unmaintained (archived 2024) and their `predict` fails under numpy 2
(`np.array(..., copy=False)`), which this project pins. fastText's training is per-example
sparse SGD over variable-length feature lists: under `jax.jit` every document length is a new
shape (or must be padded), and the scatter-add into a large table per example buys nothing on
CPU. In numpy each step is one gather, one dot and one `np.add.at`.

Documents are represented by their token-hash arrays (`tokens.token_hashes`), computed once in
worker processes; the vocabulary is a sorted array of word hashes, so featurizing is vectorized.
"""

from __future__ import annotations

import dataclasses
import json
import os
import time
from typing import Any, Sequence

import numpy as np
from absl import logging

from deepseekmath_jax.corpus import tokens


@dataclasses.dataclass(frozen=True)
class ClassifierConfig:
  dim: int = 256            # §2.1: vector dimension 256
  lr: float = 0.1           # §2.1: learning rate 0.1
  ngrams: int = 3           # §2.1: maximum word n-gram length 3
  min_count: int = 3        # §2.1: minimum word occurrences 3
  epochs: int = 3           # §2.1: 3 epochs
  buckets: int = 1 << 18    # hash rows for word n-grams (fastText's default is 2M)
  max_tokens: int = 2000    # words read per document
  balance: bool = True      # weight each class by N / (2 N_class)
  math_features: bool = True  # token classes and TeX delimiters as `$` (tokens.feature_tokens)
  seed: int = 0

  @classmethod
  def from_config(cls, cfg: Any, seed: int) -> "ClassifierConfig":
    return cls(dim=cfg.dim, lr=cfg.lr, ngrams=cfg.ngrams, min_count=cfg.min_count,
               epochs=cfg.epochs, buckets=cfg.buckets, max_tokens=cfg.max_tokens,
               balance=cfg.balance, math_features=cfg.math_features, seed=seed)


def doc_hashes(text: str, max_tokens: int, math_features: bool = True) -> np.ndarray:
  """uint64 token hashes of a document: the classifier's view of it."""
  return tokens.token_hashes(tokens.feature_tokens(text, max_tokens, math_features))


def build_vocab(hash_arrays: Sequence[np.ndarray], min_count: int) -> np.ndarray:
  """Sorted uint64 word hashes seen at least `min_count` times."""
  if not hash_arrays:
    return np.zeros((0,), np.uint64)
  words, counts = np.unique(np.concatenate(hash_arrays), return_counts=True)
  return words[counts >= min_count]


class MathClassifier:
  """The trained model: vocabulary, embeddings, output weights."""

  def __init__(self, config: ClassifierConfig, vocab: np.ndarray, embed_NxD: np.ndarray,
               w_D: np.ndarray, b: float):
    self.config, self.vocab, self.embed_NxD, self.w_D, self.b = config, vocab, embed_NxD, w_D, b

  # Features ----------------------------------------------------------------------------------
  def features(self, hashes_T: np.ndarray) -> np.ndarray:
    """Row ids: vocabulary words, then hashed 2..n-grams (offset by the vocabulary size)."""
    vocab_size = len(self.vocab)
    parts = []
    if vocab_size and len(hashes_T):
      pos = np.minimum(np.searchsorted(self.vocab, hashes_T), vocab_size - 1)
      parts.append(pos[self.vocab[pos] == hashes_T].astype(np.int64))
    for n in range(2, self.config.ngrams + 1):
      grams = tokens.ngram_hashes(hashes_T, n)
      parts.append((grams % np.uint64(self.config.buckets)).astype(np.int64) + vocab_size)
    ids = np.concatenate(parts) if parts else np.zeros((0,), np.int64)
    return ids

  # Training ----------------------------------------------------------------------------------
  @classmethod
  def train(cls, hash_arrays: Sequence[np.ndarray], labels: Sequence[int],
            config: ClassifierConfig) -> "MathClassifier":
    """Per-example SGD, lr decaying linearly to 0 over all epochs (fastText's schedule)."""
    rng = np.random.default_rng(config.seed)
    vocab = build_vocab(list(hash_arrays), config.min_count)
    rows = len(vocab) + config.buckets
    # fastText: input rows uniform in +-1/dim, output zero.
    embed = rng.uniform(-1.0 / config.dim, 1.0 / config.dim, (rows, config.dim)).astype(
        np.float32)
    model = cls(config, vocab, embed, np.zeros((config.dim,), np.float32), 0.0)
    # Each document as (unique rows, weight of each row in the mean): one gather and one
    # in-place update per step; repeated n-grams get their repeated share, as in fastText.
    feats = []
    for hashes_T in hash_arrays:
      rows_F, counts_F = np.unique(model.features(hashes_T), return_counts=True)
      feats.append((rows_F, (counts_F / max(counts_F.sum(), 1)).astype(np.float32)))
    labels_N = np.asarray(labels, np.float32)
    # The paper's seed was balanced (500K positives, 500K negatives); when ours is not, weight
    # the classes equally so the bias does not simply learn the majority class.
    n_pos = max(float(labels_N.sum()), 1.0)
    n_neg = max(float(len(labels_N) - labels_N.sum()), 1.0)
    weight_N = np.where(labels_N > 0, len(labels_N) / (2 * n_pos), len(labels_N) / (2 * n_neg))
    if not config.balance:
      weight_N = np.ones_like(labels_N)
    total = config.epochs * len(feats)
    step, start = 0, time.time()
    for epoch in range(config.epochs):
      for i in rng.permutation(len(feats)):
        lr = config.lr * (1.0 - step / max(total, 1))
        step += 1
        rows_F, weights_F = feats[i]
        if len(rows_F) == 0:
          continue
        embed_FxD = model.embed_NxD[rows_F]
        hidden_D = weights_F @ embed_FxD
        z = float(hidden_D @ model.w_D) + model.b
        prob = 1.0 / (1.0 + np.exp(-z))
        g = lr * weight_N[i] * (labels_N[i] - prob)  # ascent on the log-likelihood
        grad_hidden_D = g * model.w_D
        model.w_D += g * hidden_D
        model.b += g
        embed_FxD += weights_F[:, None] * grad_hidden_D[None, :]
        model.embed_NxD[rows_F] = embed_FxD
      logging.info("classifier epoch %d/%d: %d examples, %.1f ex/s", epoch + 1, config.epochs,
                   len(feats), step / max(time.time() - start, 1e-9))
    return model

  # Scoring -----------------------------------------------------------------------------------
  def predict_hashes(self, hash_arrays: Sequence[np.ndarray]) -> np.ndarray:
    """p(math) per document."""
    out = np.zeros((len(hash_arrays),), np.float32)
    for i, hashes_T in enumerate(hash_arrays):
      ids = self.features(hashes_T)
      if len(ids) == 0:
        out[i] = 1.0 / (1.0 + np.exp(-self.b))
        continue
      z = float(self.embed_NxD[ids].mean(axis=0) @ self.w_D) + self.b
      out[i] = 1.0 / (1.0 + np.exp(-z))
    return out

  def predict(self, texts: Sequence[str]) -> np.ndarray:
    return self.predict_hashes([doc_hashes(t, self.config.max_tokens, self.config.math_features)
                                for t in texts])

  # Persistence -------------------------------------------------------------------------------
  def save(self, path: str, threshold: float | None = None) -> None:
    """Writes `<path>.npz` (vocabulary, rows, weights) and `<path>.json` (config and, when
    given, the selection threshold it was used with)."""
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    np.savez(path + ".npz", vocab=self.vocab, embed=self.embed_NxD.astype(np.float16),
                        w=self.w_D, b=np.float32(self.b))
    with open(path + ".json", "w") as f:
      json.dump(dict(dataclasses.asdict(self.config), feature_view=tokens.FEATURE_VIEW, **(
          {} if threshold is None else {"threshold": threshold})), f, indent=1)

  @classmethod
  def load(cls, path: str) -> "MathClassifier":
    with open(path + ".json") as f:
      saved = json.load(f)
    saved.pop("threshold", None)
    saved.setdefault("math_features", False)  # saved before token classes existed
    view = saved.pop("feature_view", 1)       # saved before the view was versioned
    if saved["math_features"] and view != tokens.FEATURE_VIEW:
      raise ValueError(f"{path}.json: the classifier was trained on math-feature view {view}, "
                       f"this code reads view {tokens.FEATURE_VIEW} (corpus/tokens.py "
                       "FEATURE_VIEW); retrain it")
    config = ClassifierConfig(**saved)
    data = np.load(path + ".npz")
    return cls(config, data["vocab"], data["embed"].astype(np.float32), data["w"],
               float(data["b"]))


# Metrics ---------------------------------------------------------------------------------------
def roc_auc(scores: np.ndarray, labels: np.ndarray) -> float:
  """Area under the ROC curve (Mann-Whitney U with average ranks for ties)."""
  scores, labels = np.asarray(scores, np.float64), np.asarray(labels).astype(bool)
  n_pos, n_neg = int(labels.sum()), int((~labels).sum())
  if n_pos == 0 or n_neg == 0:
    return float("nan")
  order = np.argsort(scores, kind="mergesort")
  ranks = np.empty(len(scores), np.float64)
  sorted_scores = scores[order]
  # Average ranks over ties.
  _, first, counts = np.unique(sorted_scores, return_index=True, return_counts=True)
  avg = first + (counts + 1) / 2.0
  ranks[order] = np.repeat(avg, counts)
  return float((ranks[labels].sum() - n_pos * (n_pos + 1) / 2.0) / (n_pos * n_neg))


def binary_metrics(scores: np.ndarray, labels: np.ndarray, threshold: float = 0.5) -> dict:
  """Precision, recall, F1, accuracy at `threshold`, and AUC."""
  labels = np.asarray(labels).astype(bool)
  pred = np.asarray(scores) >= threshold
  tp, fp = int((pred & labels).sum()), int((pred & ~labels).sum())
  fn = int((~pred & labels).sum())
  precision = tp / (tp + fp) if tp + fp else 0.0
  recall = tp / (tp + fn) if tp + fn else 0.0
  f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
  return dict(n=int(len(labels)), positives=int(labels.sum()), threshold=threshold,
              precision=precision, recall=recall, f1=f1,
              accuracy=float((pred == labels).mean()) if len(labels) else 0.0,
              auc=roc_auc(scores, labels))


def saved_threshold(path: str) -> float | None:
  """The selection threshold saved with a classifier (`save(..., threshold=)`), if any."""
  with open(path + ".json") as f:
    return json.load(f).get("threshold")
