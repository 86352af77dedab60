"""Metric functions against hand-computed values and brute-force enumeration."""

import itertools
import math

import pytest

from deepseekmath_jax.evaluation import metrics


def _g(key, correct, *, strict=None, reason=None):
  """A SampleGrade with answer key `key` (None = no answer)."""
  strict = correct if strict is None else strict
  reason = reason or ("correct" if correct else ("no_answer" if key is None else "wrong_value"))
  return metrics.SampleGrade(correct=correct, correct_strict=strict, reason=reason,
                             reason_strict="correct" if strict else
                             ("format_mismatch" if correct else reason),
                             pred=key or "", key=key)


def _brute_pass_at_k(n, c, k):
  """Fraction of k-subsets of n samples (c correct) that contain a correct one."""
  outcomes = [True] * c + [False] * (n - c)
  subsets = list(itertools.combinations(range(n), k))
  return sum(any(outcomes[i] for i in s) for s in subsets) / len(subsets)


@pytest.mark.parametrize("n", [1, 2, 3, 5, 8, 10])
def test_pass_at_k_matches_brute_force_enumeration(n):
  for c in range(n + 1):
    for k in range(1, n + 1):
      assert metrics.pass_at_k(n, c, k) == pytest.approx(_brute_pass_at_k(n, c, k), abs=1e-12)


def test_pass_at_k_closed_form_and_hand_values():
  assert metrics.pass_at_k(4, 1, 1) == pytest.approx(0.25)
  assert metrics.pass_at_k(4, 1, 2) == pytest.approx(0.5)  # 1 - C(3,2)/C(4,2) = 1 - 3/6
  assert metrics.pass_at_k(5, 2, 2) == pytest.approx(0.7)  # 1 - C(3,2)/C(5,2) = 1 - 3/10
  assert metrics.pass_at_k(10, 0, 5) == 0.0
  assert metrics.pass_at_k(10, 6, 5) == 1.0  # n - c = 4 < k
  # Large n stays stable and equals the binomial ratio.
  assert metrics.pass_at_k(200, 13, 64) == pytest.approx(
      1 - math.comb(187, 64) / math.comb(200, 64), rel=1e-9)


def test_pass_at_k_rejects_bad_arguments():
  with pytest.raises(ValueError, match="k <= n"):
    metrics.pass_at_k(3, 1, 4)
  with pytest.raises(ValueError, match="c <= n"):
    metrics.pass_at_k(3, 4, 1)


def test_majority_vote_counts_ties_and_no_answers():
  assert metrics.majority_vote(["a", "b", "b", "a", "c"]) == (0, 2)  # tie a/b: a seen first
  assert metrics.majority_vote(["b", "a", "a", "b"]) == (0, 2)
  assert metrics.majority_vote([None, "x", None, "y", "y"]) == (3, 2)
  assert metrics.majority_vote([None, None]) == (None, 0)
  assert metrics.majority_vote([]) == (None, 0)


def test_maj_at_k_uses_first_k_samples_and_representative_grade():
  samples = [_g("7", False), _g("5", True), _g("5", True), _g("7", False), _g("7", False)]
  assert metrics.maj_at_k(samples, 1) is False   # only "7"
  assert metrics.maj_at_k(samples, 2) is False   # tie 7/5 -> 7 (first)
  assert metrics.maj_at_k(samples, 3) is True    # 5 x2
  assert metrics.maj_at_k(samples, 4) is False   # tie 2/2 -> 7 (first)
  assert metrics.maj_at_k(samples, 5) is False   # 7 x3
  assert metrics.maj_at_k([_g(None, False), _g(None, False)], 2) is False
  # Strict mode judges the majority's strict verdict.
  loose = [_g("1/2", True, strict=False), _g("1/2", True, strict=False), _g("2", False)]
  assert metrics.maj_at_k(loose, 3) is True
  assert metrics.maj_at_k(loose, 3, strict=True) is False
  with pytest.raises(ValueError):
    metrics.maj_at_k(samples, 6)


def test_confidence_signals():
  r = metrics.ProblemResult("p", "Algebra", 2, 50, "5", _g("5", True),
                            (_g("5", True), _g("4", False), _g(None, False), _g("5", True)))
  c = metrics.confidence(r)
  assert c.agreement == pytest.approx(0.5)  # 2 of 4 samples carry "5"
  assert c.num_distinct_answers == 2
  assert c.majority_answer == "5" and c.majority_reason == "correct"
  assert c.top1_reason == "correct"
  assert not c.disagreement   # 0.5 is not below the 0.5 threshold
  assert metrics.confidence(r, threshold=0.6).disagreement
  split = metrics.ProblemResult("q", "Algebra", 2, 50, "5", _g("1", False),
                                (_g("1", False), _g("2", False), _g("3", False)))
  assert metrics.confidence(split).disagreement
  # Samples without an answer lower agreement but do not "disagree".
  blank = metrics.ProblemResult("n", "x", None, 5, "5", _g(None, False),
                                (_g(None, False), _g(None, False), _g("5", True)))
  c = metrics.confidence(blank)
  assert c.agreement == pytest.approx(1 / 3) and not c.disagreement
  assert c.majority_answer == "5" and c.top1_reason == "no_answer"
  single = metrics.ProblemResult("s", "x", None, 5, "5", _g("1", False), (_g("1", False),))
  assert not metrics.confidence(single).disagreement  # one sample cannot disagree


def test_default_ks():
  assert metrics.default_ks(1) == [1]
  assert metrics.default_ks(8) == [1, 2, 4, 8]
  assert metrics.default_ks(6) == [1, 2, 4, 6]
  assert metrics.default_ks(0) == []


def _results():
  """Three problems with 4 samples each, one missing problem; values checked by hand below."""
  p1 = (_g("3", True), _g("3", True), _g("4", False), _g("3", True))             # c=3
  p2 = (_g("9", False), _g("8", True, strict=False), _g("9", False), _g(None, False))  # c=1
  p3 = (_g("1/2", True, strict=False), _g("2", False), _g("2", False), _g("1/2", True,
                                                                          strict=False))  # c=2
  return [
      metrics.ProblemResult("a", "Algebra", 1, 10, "3", p1[0], p1),
      metrics.ProblemResult("b", "Geometry", 1, 30, "8", p2[0], p2),
      metrics.ProblemResult("c", "Algebra", 3, 20, "1/2", p3[0], p3),
      metrics.ProblemResult("d", "Geometry", None, 40, "0", None, ()),
  ]


def test_summarize_hand_computed():
  s = metrics.summarize(_results())
  o = s["overall"]
  assert s["ks"] == [1, 2, 4] and s["num_problems"] == 4 and s["num_missing"] == 1
  assert o["top1"] == pytest.approx(2 / 4)          # a, c right; b wrong; d missing
  assert o["top1_strict"] == pytest.approx(1 / 4)   # c is right only in relaxed mode
  assert s["strict_relaxed_gap"] == pytest.approx(0.25)
  # pass@1 = mean over problems of c/n: (3/4 + 1/4 + 2/4 + 0) / 4.
  assert o["pass@1"] == pytest.approx((0.75 + 0.25 + 0.5) / 4)
  # pass@2: a 1-C(1,2)/C(4,2)=1, b 1-C(3,2)/C(4,2)=0.5, c 1-C(2,2)/C(4,2)=5/6, d 0.
  assert o["pass@2"] == pytest.approx((1 + 0.5 + 5 / 6) / 4)
  assert o["pass@4"] == pytest.approx(3 / 4)
  # maj@4: a "3" right; b "9" wrong; c tie 1/2 vs 2 -> "1/2" first -> right; d wrong.
  assert o["maj@4"] == pytest.approx(2 / 4)
  assert s["by_subject"]["Algebra"]["top1"] == pytest.approx(1.0)
  assert s["by_subject"]["Geometry"]["top1"] == pytest.approx(0.0)
  assert s["by_level"]["1"]["n"] == 2 and s["by_level"]["?"]["n"] == 1
  assert s["reasons_top1"] == {"correct": 2, "missing": 1, "wrong_value": 1}
  assert s["reasons_top1_strict"]["format_mismatch"] == 1
  assert s["reasons_samples"]["no_answer"] == 1
  c = s["confidence"]
  assert c["num_strict_relaxed_differ"] == 1
  # agreements: a 3/4, b 2/4, c 2/4 -> none below 0.5.
  assert c["mean_agreement"] == pytest.approx((0.75 + 0.5 + 0.5) / 3)
  assert c["num_disagreement"] == 0


def test_summarize_strict_headline_changes_maj_and_pass():
  s = metrics.summarize(_results(), strict=True)
  assert s["mode"] == "strict" and s["headline_top1"] == pytest.approx(0.25)
  # strict: c has no strictly correct sample, b's "8" is not strictly correct either.
  assert s["overall"]["pass@4"] == pytest.approx(1 / 4)
  assert s["overall"]["maj@4"] == pytest.approx(1 / 4)


def test_summarize_counts_problems_short_of_samples_as_wrong():
  results = _results()[:2] + [metrics.ProblemResult("e", "Algebra", 1, 5, "1", _g("1", True),
                                                   (_g("1", True), _g("1", True)))]
  s = metrics.summarize(results, ks=[1, 4])
  assert s["problems_short_of_samples"] == {"1": 0, "4": 1}
  assert s["overall"]["pass@4"] == pytest.approx((1 + 1 + 0) / 3)


def test_monitoring_figures_hand_computed():
  m = metrics.summarize(_results())["monitoring"]
  # a: 3,3,4,3 -> "3" 3/4, right, stray runner-up: no escalation.
  # b: 9,8,9,- -> "9" 2/4, wrong: verifier_disagrees_with_majority + low_agreement.
  # c: 1/2,2,2,1/2 -> tie, "1/2" first, 2/4, right in relaxed only: low_agreement +
  #    candidates_differ (runner-up 2 samples, 50%). d has no samples and is left out.
  assert m["num_problems"] == 3 and m["mode"] == "relaxed"
  assert m["top2_disagreement_rate"] == pytest.approx(1 / 3)
  assert m["any_disagreement_rate"] == pytest.approx(1.0)
  assert m["majority_relaxed_not_strict_rate"] == pytest.approx(1 / 3)
  assert m["escalation_rate"] == pytest.approx(2 / 3)
  assert m["escalation_rate_by_reason"] == pytest.approx(dict(
      verifier_disagrees_with_majority=1 / 3, low_agreement=2 / 3, candidates_differ=1 / 3,
      no_answer=0.0))
  assert m["reasons_not_checked"] == ["safety_critical_request", "tool_failed"]
  cal = m["calibration"]
  assert [(b["lo"], b["n"], b["accuracy"]) for b in cal["bins"]] == [(0.5, 2, 0.5), (0.7, 1, 1.0)]
  assert cal["ece"] == pytest.approx(1 / 3 * 0.25)        # only a's bin is off (75% vs 100%)
  strict = metrics.summarize(_results(), strict=True)["monitoring"]["calibration"]
  assert strict["ece"] == pytest.approx(2 / 3 * 0.5 + 1 / 3 * 0.25)   # c is wrong in strict
  # One sample per problem: no monitoring figures.
  single = [metrics.ProblemResult("s", "x", None, 5, "5", _g("5", True), (_g("5", True),))]
  assert metrics.summarize(single)["monitoring"] is None


def test_calibration_bins_and_errors():
  from deepseekmath_jax.evaluation import monitoring  # pylint: disable=g-import-not-at-top
  cal = monitoring.calibration([1.0, 1.0, 0.25, 0.25, 0.25, 0.25], [1, 1, 1, 0, 0, 0],
                               num_bins=4)
  assert [(b["lo"], b["hi"], b["n"]) for b in cal["bins"]] == [(0.25, 0.5, 4), (0.75, 1.0, 2)]
  assert cal["ece"] == pytest.approx(0.0)                  # 25% agreement, 25% right; 1.0, 1.0
  cal = monitoring.calibration([0.9, 0.9], [False, False], num_bins=10)
  assert cal["ece"] == pytest.approx(0.9)
  assert monitoring.calibration([], [])["ece"] is None
  with pytest.raises(ValueError, match="2 agreements for 1 verdicts"):
    monitoring.calibration([0.5, 0.5], [True])
  with pytest.raises(ValueError, match=r"\[0, 1\]"):
    monitoring.calibration([1.5], [True])


def test_report_has_monitoring_section_and_calibration_plot(tmp_path):
  from deepseekmath_jax.evaluation import report as report_lib  # pylint: disable=g-import-not-at-top
  paths = report_lib.write_report({"benchmark": "toy", "summary": metrics.summarize(_results())},
                                  [], str(tmp_path))
  assert str(tmp_path / "calibration.png") in paths
  assert (tmp_path / "calibration.png").stat().st_size > 0
  md = (tmp_path / "report.md").read_text()
  assert "## Monitoring (3 problems with several samples)" in md
  assert "| escalated: low_agreement | 66.67 |" in md
  assert "expected calibration error **8.33** points" in md
  assert "![calibration.png](calibration.png)" in md
