"""fastText-style classifier: learns math vs non-math, metrics, save/load, stable hashing."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from deepseekmath_jax.corpus import classifier as C
from deepseekmath_jax.corpus import tokens

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
needs_data = pytest.mark.skipif(not DATA.exists(), reason=f"{DATA} absent (shared test data)")


def _negatives(n):
  """Non-math text: docstrings of the standard library."""
  import argparse, collections, email.message, http.client, logging, pathlib, subprocess as sp
  import tarfile, threading, unittest, urllib.request, zipfile, json as js, csv, socket, ssl
  docs = []
  for module in (argparse, collections, email.message, http.client, logging, pathlib, sp,
                 tarfile, threading, unittest, urllib.request, zipfile, js, csv, socket, ssl):
    for name in dir(module):
      doc = getattr(getattr(module, name), "__doc__", None)
      if isinstance(doc, str) and len(doc) > 120 and doc not in docs:
        docs.append(doc)
  return docs[:n]


@needs_data
def test_learns_math_vs_docstrings_and_round_trips(tmp_path):
  rows = [json.loads(l) for l in open(DATA / "math" / "math_train.jsonl")][:300]
  pos = [r["problem"] + "\n" + r["solution"] for r in rows]
  neg = _negatives(300)
  texts, labels = pos + neg, np.array([1] * len(pos) + [0] * len(neg))
  order = np.random.default_rng(0).permutation(len(texts))
  train, test = order[: int(0.8 * len(order))], order[int(0.8 * len(order)):]
  config = C.ClassifierConfig(dim=32, buckets=1 << 14, lr=0.5, epochs=5, max_tokens=300)
  hashes = [C.doc_hashes(t, config.max_tokens) for t in texts]
  model = C.MathClassifier.train([hashes[i] for i in train], labels[train], config)
  scores = model.predict_hashes([hashes[i] for i in test])
  metrics = C.binary_metrics(scores, labels[test])
  assert metrics["auc"] > 0.95 and metrics["precision"] > 0.85 and metrics["recall"] > 0.85
  model.save(str(tmp_path / "m"))
  loaded = C.MathClassifier.load(str(tmp_path / "m"))
  np.testing.assert_allclose(loaded.predict_hashes([hashes[i] for i in test]), scores, atol=2e-3)
  # Texts and hashes give the same score.
  assert abs(model.predict([texts[test[0]]])[0] - scores[0]) < 1e-6


def test_min_count_vocabulary_and_ngram_features():
  config = C.ClassifierConfig(dim=8, buckets=64, min_count=3)
  docs = [C.doc_hashes("a a a b b c", 100)]
  vocab = C.build_vocab(docs, 3)
  assert list(vocab) == [tokens.token_hash("a")]
  model = C.MathClassifier(config, vocab, np.zeros((1 + 64, 8), np.float32),
                           np.zeros(8, np.float32), 0.0)
  ids = model.features(docs[0])
  # 3 vocabulary hits (a a a) + 5 bigrams + 4 trigrams, n-gram rows offset by the vocabulary.
  assert len(ids) == 3 + 5 + 4 and (ids[:3] == 0).all() and (ids[3:] >= 1).all()


def test_auc_matches_pairwise_definition():
  rng = np.random.default_rng(1)
  scores = rng.integers(0, 5, 200).astype(float)  # many ties
  labels = rng.integers(0, 2, 200)
  pos, neg = scores[labels == 1], scores[labels == 0]
  brute = ((pos[:, None] > neg[None, :]).sum() + 0.5 * (pos[:, None] == neg[None, :]).sum()) / (
      len(pos) * len(neg))
  assert abs(C.roc_auc(scores, labels) - brute) < 1e-12


def test_hashes_are_stable_across_processes():
  code = ("from deepseekmath_jax.corpus import tokens; "
          "print(int(tokens.ngram_hashes(tokens.token_hashes(['x','+','y']), 2)[1]))")
  out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                       env={"PYTHONHASHSEED": "123", "PATH": ""}, cwd=Path(__file__).parents[1])
  here = int(tokens.ngram_hashes(tokens.token_hashes(["x", "+", "y"]), 2)[1])
  assert int(out.stdout) == here


def test_math_token_view_classes_and_delimiters():
  text = r"Lemma. For \(x \in \mathbb{R}\) and ∀ y ∈ ℝ, \[ a = b \]."
  words = tokens.feature_tokens(text)
  n = words.index(tokens.THEOREM_CLASS)
  assert words[:n].count("$") == 4 and "\\(" not in words  # \( \) \[ \] read as $
  assert sorted(words[n:]) == sorted(
      [tokens.THEOREM_CLASS] + [tokens.SPAN_CLASS] * 4 + [tokens.TEX_CLASS] * 2 +
      [tokens.SYMBOL_CLASS] * 3)
  plain = tokens.feature_tokens(text, math_features=False)  # the word view
  assert "$" not in plain and not any(t.startswith("<") for t in plain)
  assert tokens.feature_tokens(text, 3) == ["lemma", ".", "for", tokens.THEOREM_CLASS]
  assert len(C.doc_hashes(text, 2000)) == len(words)
  assert len(C.doc_hashes(text, 2000, math_features=False)) == len(plain)


def test_dollars_delimit_math_by_pandocs_rule():
  money = tokens.feature_tokens("Top up $100, get a $25 bonus; plans from $9.99 or \\$5.")
  assert money.count(tokens.DOLLAR) == 4 and tokens.SPAN_CLASS not in money
  script = tokens.feature_tokens('URL="//$dbhost/db" \\\n -e USER=$dbuser \\\n')
  assert script.count(tokens.DOLLAR) == 2 and tokens.SPAN_CLASS not in script
  math = tokens.feature_tokens("Let $25$ and $2x+1$ and $2 + 3 = 5$ and $$\\frac{1}{2}\n$$.")
  assert tokens.DOLLAR not in math and math.count(tokens.SPAN_CLASS) == 10


def test_saved_classifier_keeps_its_view_and_threshold(tmp_path):
  config = C.ClassifierConfig(dim=8, buckets=64, epochs=1, min_count=1, math_features=False)
  model = C.MathClassifier.train([C.doc_hashes("x + y", 100, False)], [1], config)
  model.save(str(tmp_path / "m"), threshold=0.3)
  assert C.MathClassifier.load(str(tmp_path / "m")).config.math_features is False
  assert C.saved_threshold(str(tmp_path / "m")) == 0.3
  saved = json.loads((tmp_path / "m.json").read_text())
  del saved["math_features"], saved["threshold"]  # a classifier saved before the token classes
  (tmp_path / "m.json").write_text(json.dumps(saved))
  assert C.MathClassifier.load(str(tmp_path / "m")).config.math_features is False
  assert C.saved_threshold(str(tmp_path / "m")) is None


def test_classifier_of_another_feature_view_is_refused(tmp_path):
  config = C.ClassifierConfig(dim=8, buckets=64, epochs=1, min_count=1, math_features=True)
  model = C.MathClassifier.train([C.doc_hashes("$x + y$", 100)], [1], config)
  model.save(str(tmp_path / "m"))
  assert C.MathClassifier.load(str(tmp_path / "m")).config.math_features is True
  saved = json.loads((tmp_path / "m.json").read_text())
  del saved["feature_view"]   # saved before the view was versioned: view 1
  (tmp_path / "m.json").write_text(json.dumps(saved))
  with pytest.raises(ValueError, match="math-feature view 1.*retrain"):
    C.MathClassifier.load(str(tmp_path / "m"))
