"""Recall helpers: domain discovery (flag, propose, accept prefixes) and page selection."""

import numpy as np
import ml_collections

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
