"""Recall helpers: domain discovery (flag, propose, accept prefixes) and page selection."""

import ml_collections
import numpy as np
import pytest

from deepseekmath_jax.corpus import recall


def _cfg(**kw):
  base = dict(domain_threshold=0.10, min_domain_pages=3, prefix_depth=1, auto_prefixes=True,
              prefix_threshold=0.5, min_prefix_pages=2, select="threshold", threshold=0.5,
              token_budget=0)
  base.update(kw)
  return ml_collections.ConfigDict(base)


URLS = (["https://mathoverflow.net/questions/%d" % i for i in range(6)] +
        ["https://mathoverflow.net/users/%d" % i for i in range(4)] +
        ["https://news.example.com/story/%d" % i for i in range(20)] + [None])


def test_domain_discovery_flags_domains_and_accepts_prefixes(tmp_path):
  selected = np.zeros(len(URLS), bool)
  selected[[0, 1, 2, 3]] = True   # 4/10 of mathoverflow, 4/6 of /questions
  selected[10] = True             # 1/20 of news: under the 10% bar
  found = recall.domain_discovery(URLS, selected, _cfg(), set())
  assert [d["domain"] for d in found["flagged_domains"]] == ["mathoverflow.net"]
  assert {p["prefix"] for p in found["proposed_prefixes"]} == {
      "mathoverflow.net/questions", "mathoverflow.net/users"}
  assert [(a["prefix"], a["by"]) for a in found["accepted_prefixes"]] == [
      ("mathoverflow.net/questions", "auto")]
  # Human review instead of the automatic rule.
  reviewed = tmp_path / "prefixes.txt"
  reviewed.write_text("# accepted by a reviewer\nhttps://www.mathoverflow.net/users/\n")
  found = recall.domain_discovery(URLS, selected, _cfg(auto_prefixes=False),
                                  recall.read_reviewed_prefixes(str(reviewed)))
  assert [(a["prefix"], a["by"]) for a in found["accepted_prefixes"]] == [
      ("mathoverflow.net/users", "reviewed")]
  assert recall.under_prefixes("https://mathoverflow.net/users/7", {"mathoverflow.net/users"})
  assert not recall.under_prefixes("https://mathoverflow.net/usersx", {"mathoverflow.net/users"})


def test_select_threshold_and_budget():
  scores = np.array([0.9, 0.2, 0.8, 0.7, 0.6])
  n_tokens = np.array([100, 100, 100, 100, 100])
  assert recall.select(scores, n_tokens, _cfg()).tolist() == [True, False, True, True, True]
  budget = recall.select(scores, n_tokens, _cfg(select="budget", token_budget=250))
  assert budget.tolist() == [True, False, True, False, False]


def test_calibrate_threshold_maximizes_f1_between_the_classes():
  math = np.array([0.9, 0.4, 0.35, 0.3])
  prose = np.array([0.32, 0.1, 0.05, 0.02])
  # Keeping all four math pages costs one prose page (F1 8/9); the cut at 0.35 keeps three
  # and no prose (F1 6/7 < 8/9), so the cut goes midway below 0.3 and above 0.1.
  assert recall.calibrate_threshold(math, prose, 0.05) == pytest.approx(0.2)
  assert recall.calibrate_threshold(np.array([0.9, 0.8]), np.array([0.1]), 0.05) == (
      pytest.approx(0.45))
  assert recall.calibrate_threshold(np.array([0.9]), np.array([0.01]), 0.6) == 0.6  # floor
  assert recall.calibrate_threshold(np.array([]), np.array([0.1]), 0.5) == 0.5


@pytest.mark.parametrize("pu_correction", [False, True])
def test_run_recall_draws_by_identity_not_by_position(pu_correction):
  """The same documents in another order give the same scores and selection per document."""
  from deepseekmath_jax.corpus import classifier as classifier_lib
  rng = np.random.default_rng(0)
  words = [f"w{i}" for i in range(40)]
  math = [" ".join(["$x^2$", "\\frac", "theorem"] + list(rng.choice(words, 30)))
          for _ in range(30)]
  prose = [" ".join(list(rng.choice(words, 15)) + [f"p{i}" for i in rng.integers(0, 40, 18)])
           for _ in range(30)]
  texts = math + prose
  clf = classifier_lib.ClassifierConfig(dim=16, epochs=30, lr=0.5, min_count=1, buckets=1 << 10,
                                        max_tokens=100, seed=0)
  view = lambda t: classifier_lib.doc_hashes(t, clf.max_tokens, clf.math_features)
  seed = [view(t) for t in math[:10]]
  cfg = _cfg(iterations=2, negatives_per_positive=1.0, max_pool_negatives_fraction=0.5,
             crossfit=True, heldout_fraction=0.2, reviewed_prefixes="", threshold=0.495,
             pu_correction=pu_correction)

  def run(order):
    result = recall.run_recall([view(texts[i]) for i in order], [None] * len(order),
                               np.full(len(order), 30),
                               [seed[i] for i in np.argsort(order[:10])], [], cfg, clf, None,
                               doc_keys=[f"doc{i}" for i in order])
    back = np.argsort(order)
    return result.scores[back], result.selected[back], result.threshold

  scores, selected, threshold = run(np.arange(len(texts)))
  scores_p, selected_p, threshold_p = run(np.random.default_rng(1).permutation(len(texts)))
  np.testing.assert_allclose(scores_p, scores, rtol=1e-6)
  assert (selected_p == selected).all() and threshold_p == pytest.approx(threshold)
  assert scores[:30].min() > scores[30:].max()  # it learned something to compare
  if not pu_correction:
    assert selected[:30].all() and not selected[30:].any()


def test_pu_correction_only_against_unlabelled_negatives():
  """score / c >= threshold when the negatives are pool pages; with known negatives the score
  is p(math | x) already and the cut stays at the threshold."""
  from deepseekmath_jax.corpus import classifier as classifier_lib
  rng = np.random.default_rng(0)
  words = [f"w{i}" for i in range(40)]
  math = [" ".join(["$x^2$", "\\frac"] + list(rng.choice(words, 30))) for _ in range(30)]
  prose = [" ".join(f"p{i}" for i in rng.integers(0, 40, 30)) for _ in range(30)]
  clf = classifier_lib.ClassifierConfig(dim=16, epochs=5, lr=0.5, min_count=1, buckets=1 << 10,
                                        max_tokens=100, seed=0)
  view = lambda t: classifier_lib.doc_hashes(t, clf.max_tokens, clf.math_features)
  pool = [view(t) for t in math[10:] + prose]
  cfg = _cfg(iterations=1, negatives_per_positive=1.0, max_pool_negatives_fraction=0.5,
             crossfit=True, heldout_fraction=0.2, reviewed_prefixes="", pu_correction=True)

  def threshold(extra_negatives):
    result = recall.run_recall(pool, [None] * len(pool), np.full(len(pool), 30),
                               [view(t) for t in math[:10]], extra_negatives, cfg, clf, None)
    return result.iterations[0]["labelled_frequency"], result.threshold

  c, corrected = threshold([])
  assert 0 < c < 1 and corrected == pytest.approx(0.5 * c, abs=1e-4)
  c_known, cut = threshold([view(t) for t in prose[:5]])
  assert c_known is not None and cut == 0.5
