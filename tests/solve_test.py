"""`solve`: the routing rule, the safety rule, every escalation reason, and the command line on a
Hugging Face checkpoint directory (a real model in a real process). solve on a trained workdir
(the smoke pipeline's GRPO checkpoint, in process and on the command line) is in
tests/pipeline_test.py."""

import json
import os
from pathlib import Path
import subprocess
import sys

import pytest

from deepseekmath_jax import solve
from deepseekmath_jax.evaluation import metrics
from deepseekmath_jax.evaluation import monitoring
from deepseekmath_jax.evaluation import prompts
from deepseekmath_jax.tools import Sandbox
from tiny_hf_checkpoint import write_tiny_llama

REPO = Path(__file__).resolve().parents[1]
WORD_PROBLEM = "Mia buys 3 pens at 4 dollars each. How much does she pay?"


@pytest.fixture()
def config():
  c = solve.default_config()
  c.lock()
  return c


# ----------------------------------------------------------------------------------------------
# Routing
# ----------------------------------------------------------------------------------------------


def test_short_arithmetic_question_is_fast_and_gets_fewer_samples(config):
  r = solve.route(WORD_PROBLEM, config.routing, tools=True)
  assert r.band == "fast" and "57 characters <= 160" in r.reasons[0]
  assert solve.num_samples("fast", 8, config.routing) == config.routing.fast_max_samples == 4
  assert solve.num_samples("fast", 2, config.routing) == 2
  assert solve.num_samples("slow", 8, config.routing) == 8
  assert solve.num_samples("tool", 8, config.routing) == 8
  with pytest.raises(ValueError, match="k must be >= 1"):
    solve.num_samples("slow", 0, config.routing)


@pytest.mark.parametrize("question,why", [
    (WORD_PROBLEM + " " + "She also buys some paper for the pens, and " * 4, "characters > 160"),
    ("Let $x = 3$. What is $x + 4$?", "math symbol"),
    ("What is 3 \\cdot 4?", "math symbol '\\\\'"),
    ("A triangle has sides 3, 4 and 5. What is its area?", "'triangle', 'area'"),
    ("Find all integers n with n < 3 and n > 1.", "math symbol '<'"),
    ("What is the probability of two heads in 2 tosses?", "'probability'"),
    ("Why is the derivative of a constant zero?", "no number"),
])
def test_slow_band_rules(config, question, why):
  r = solve.route(question, config.routing, tools=True)
  assert r.band == "slow", r
  assert any(why in reason for reason in r.reasons), r.reasons


@pytest.mark.parametrize("question,cue", [
    ("Compute exactly 17 times 23 times 29.", "compute_exactly"),
    ("Find the exact value of 7/13 as a decimal.", "exact_value"),
    ("Give 22/7 to 6 decimal places.", "decimal_places"),
    ("What is the remainder when 2 to the 40 is divided by 7?", "remainder"),
    ("What are the last 3 digits of 7 to the 100?", "last_digits"),
    ("What is the sum of the digits of 2 to the 50?", "digit_sum"),
    ("How many zeros end 30!?", "factorial"),
    ("Write the prime factorization of 360.", "prime_factorization"),
    ("Use Python to add 5 and 6.", "use_code"),
    ("What is 1,234,567 plus 2?", "7-digit integer"),
])
def test_tool_band_cues_and_tools_switch(config, question, cue):
  r = solve.route(question, config.routing, tools=True)
  assert r.band == "tool" and any(cue in reason for reason in r.reasons), r
  # Without tool generation the question is routed by the other rules, and the output says so.
  off = solve.route(question, config.routing, tools=False)
  assert off.band in ("fast", "slow") and off.band != "tool"
  if off.band == "slow":
    assert any(reason.startswith("tool cue, but tools are off") for reason in off.reasons)
  config.unlock()
  config.routing.tools = False
  assert solve.route(question, config.routing, tools=True).band != "tool"


def test_thresholds_are_configurable(config):
  config.unlock()
  config.routing.fast_max_chars = 40
  assert solve.route(WORD_PROBLEM, config.routing, tools=True).band == "slow"
  config.routing.fast_max_chars = 160
  config.routing.tool_min_digits = 2
  r = solve.route("What is 12 times 34?", config.routing, tools=True)
  assert r.band == "tool" and r.reasons == ("2-digit integer (>= 2)",)
  config.routing.tool_min_digits = 7
  assert solve.route("What is 123456 times 2?", config.routing, tools=True).band == "fast"


@pytest.mark.parametrize("question,category", [
    ("A child weighs 20 kg and the dose is 15 mg/kg. How many milligrams is one dose?", "dosage"),
    ("A patient takes 2 tablets of a medication every 6 hours. How many in 2 days?", "medicine"),
    ("A loan of 1000 dollars has an interest rate of 5% a year. What is owed after 2 years?",
     "finance"),
    ("Income of 50000 dollars is taxed at 20%. How much tax is due?", "tax"),
    ("A contract pays 300 dollars a day for 12 days. What is the total?", "law"),
    ("A load-bearing beam holds 400 kg. Is 3 times 120 kg safe?", "structural"),
])
def test_safety_rule_matches_each_category(config, question, category):
  assert category in solve.safety_categories(question, config.safety)


def test_safety_rule_leaves_ordinary_problems_alone(config):
  for q in (WORD_PROBLEM, "Tom has 12 apples and gives away 5. How many are left?",
            "The taxi ride costs 2 dollars a mile. What do 7 miles cost?",
            "Find all real numbers $x$ with $x^2 = 4$."):
    assert solve.safety_categories(q, config.safety) == [], q


# ----------------------------------------------------------------------------------------------
# Escalation reasons (real verifier on hand-written samples)
# ----------------------------------------------------------------------------------------------


def _assess(config, samples, **kw):
  kw.setdefault("band", "fast")
  return solve.assess(kw.pop("question", WORD_PROBLEM), samples, config=config, **kw)


def test_unanimous_right_answer_is_not_escalated(config):
  s = _assess(config, ["3 * 4 = 12. The answer is 12."] * 3 + ["3 x 4 is $\\boxed{12.0}$"],
              reference="12")
  assert (s.answer, s.agreement, s.escalate, s.escalation_reasons) == ("12", 1.0, False, ())
  assert s.distinct_answers == ({"answer": "12", "count": 4},)
  assert s.verifier_status["status"] == "correct" and not s.verifier_status["relaxed_not_strict"]
  assert s.arithmetic_check == dict(equations=3, correct=3, share=1.0, scope="majority samples")
  assert s.tool_status is None


def test_verifier_disagrees_with_majority(config):
  s = _assess(config, ["3 * 4 = 13, \\boxed{13}"] * 3 + ["\\boxed{12}"], reference="12")
  assert s.answer == "13" and s.verifier_status["status"] == "wrong"
  assert s.verifier_status["reason"] == "wrong_value"
  assert s.escalation_reasons == ("verifier_disagrees_with_majority",)
  assert s.arithmetic_check["share"] == 0.0   # the majority's written step is wrong too
  # Without a reference the same samples are not checked and not escalated.
  s = _assess(config, ["3 * 4 = 13, \\boxed{13}"] * 3 + ["\\boxed{12}"])
  assert s.verifier_status["status"] == "not_checked" and not s.escalate


def test_low_agreement(config):
  s = _assess(config, ["\\boxed{12}", "\\boxed{12}", "\\boxed{13}", "\\boxed{11}", "\\boxed{10}"])
  assert s.agreement == pytest.approx(0.4) and s.escalation_reasons == ("low_agreement",)
  assert len(s.distinct_answers) == 4


def test_candidates_differ(config):
  s = _assess(config, ["\\boxed{12}"] * 5 + ["\\boxed{13}"] * 3)
  assert s.agreement == pytest.approx(5 / 8)   # above min_agreement 0.6: not low
  assert s.escalation_reasons == ("candidates_differ",)
  # One stray answer is not a material runner-up.
  s = _assess(config, ["\\boxed{12}"] * 7 + ["\\boxed{13}"])
  assert not s.escalate


def test_votes_group_equivalent_forms(config):
  s = _assess(config, ["\\boxed{\\frac{1}{2}}", "\\boxed{0.5}", "The answer is 1/2.",
                       "\\boxed{2}"], question="What is 1 divided by 2?")
  assert s.agreement == 0.75 and s.distinct_answers[0]["count"] == 3 and not s.escalate


def test_safety_critical_request(config):
  q = "Income of 50000 dollars is taxed at 20%. How much tax is due?"
  s = _assess(config, ["\\boxed{10000}"] * 4, question=q, band="slow", reference="10000")
  assert s.escalation_reasons == ("safety_critical_request",)
  assert s.safety_categories == ("tax",) and s.verifier_status["status"] == "correct"


def test_no_answer(config):
  s = _assess(config, ["3 * 4 = 12 so she pays", "I am not sure how to do it", ""],
              reference="12")
  assert s.answer == "" and s.agreement == 0.0 and s.distinct_answers == ()
  assert s.escalation_reasons == ("no_answer",)
  assert s.verifier_status["reason"] == "no_answer"
  assert s.arithmetic_check["scope"] == "all samples" and s.arithmetic_check["equations"] == 1


def test_relaxed_but_not_strict_is_reported(config):
  s = _assess(config, ["\\boxed{25}"] * 4, question="What percent of 40 is 10?",
              reference="25\\%")
  assert s.verifier_status["status"] == "correct"
  assert s.verifier_status["relaxed_not_strict"] is True
  assert s.verifier_status["reason_strict"] == "format_mismatch"
  assert "passes relaxed but fails strict" in s.format()


def test_tool_band_confirmed_and_tool_failed():
  config = solve.default_config()
  question = "What is 123 times 456? Compute exactly."
  good = "```python\nprint(123 * 456)\n```\n```output\n56088\n```\nSo \\boxed{56088}."
  with Sandbox(num_workers=1, timeout_s=5.0) as box:
    ok = box.run("print(123 * 456)")
    crash = box.run("print(123 * 456 / 0)")
    other = box.run("print(123 * 465)")
  assert (ok.status, crash.status) == ("ok", "error")
  s = solve.assess(question, [good] * 3, band="tool", config=config,
                   tool_results=[[ok], [crash], []])
  assert s.tool_status["status"] == "confirmed" and s.tool_status["majority_printed"] == 1
  assert s.tool_status["runs_by_status"] == {"ok": 1, "error": 1}
  assert not s.escalate
  s = solve.assess(question, [good] * 3, band="tool", config=config,
                   tool_results=[[crash], [crash], []])
  assert s.tool_status["status"] == "failed" and s.escalation_reasons == ("tool_failed",)
  s = solve.assess(question, [good] * 2, band="tool", config=config,
                   tool_results=[[other], [other]])
  assert s.tool_status["status"] == "printed_other_answer"
  assert s.escalation_reasons == ("tool_failed",)
  s = solve.assess(question, [good] * 2, band="tool", config=config, tool_results=[[], []])
  assert s.tool_status["status"] == "no_code" and s.escalation_reasons == ("tool_failed",)


def test_reasons_combine_in_a_fixed_order(config):
  q = "A patient takes 3 pills a day. How many pills in 4 days?"
  s = _assess(config, ["\\boxed{7}", "\\boxed{7}", "\\boxed{12}", "\\boxed{12}", "\\boxed{1}"],
              question=q, reference="12")
  assert s.answer == "7"   # tie 2-2: the answer seen first wins, as in maj@k
  assert s.escalation_reasons == ("verifier_disagrees_with_majority", "low_agreement",
                                  "candidates_differ", "safety_critical_request")
  assert list(s.escalation_reasons) == [r for r in monitoring.ESCALATION_REASONS
                                        if r in s.escalation_reasons]


def test_solve_and_the_evaluation_report_share_the_rule(config):
  """The evaluation's monitoring figures apply solve's rule to graded samples."""
  samples = ["\\boxed{12}"] * 5 + ["\\boxed{13}"] * 3
  s = _assess(config, samples, reference="13")
  grades = tuple(metrics.SampleGrade(correct=a == "13", correct_strict=a == "13",
                                     reason="correct" if a == "13" else "wrong_value",
                                     reason_strict="correct" if a == "13" else "wrong_value",
                                     pred=a, key=a)
                 for a in [solve.committed_answer(t) for t in samples])
  result = metrics.ProblemResult("p", "s", None, 10, "13", grades[0], grades)
  m = metrics.monitoring_summary([result], rules=monitoring.EscalationRules(
      **config.escalation.to_dict()))
  assert s.escalation_reasons == ("verifier_disagrees_with_majority", "candidates_differ")
  assert [r for r, rate in m["escalation_rate_by_reason"].items() if rate] == list(
      s.escalation_reasons)
  # configs/solve.py's thresholds are the library defaults.
  assert monitoring.EscalationRules(**config.escalation.to_dict()) == monitoring.EscalationRules()


def test_format_and_json(config):
  s = _assess(config, ["3 * 4 = 12, \\boxed{12}", "\\boxed{12}", "\\boxed{13}"],
              reference="12", band_reasons=("short",))
  block = s.format()
  for text in ("Band:       fast (short)", "Answer:     12", "2/3 samples (67%)",
               "answers: 12 x2, 13 x1", "Verifier:   correct against reference 12",
               "Tool:       not used", "1 of 1 written equations right",
               "Escalate:   no"):
    assert text in block, (text, block)
  out = json.loads(json.dumps(s.to_json()))
  assert out["answer"] == "12" and out["escalate"] is False and "samples" not in out
  assert len(s.to_json(with_samples=True)["samples"]) == 3


def test_read_questions_counts_and_skips_bad_lines(tmp_path):
  path = tmp_path / "q.jsonl"
  path.write_text("\n".join([
      json.dumps({"question": WORD_PROBLEM, "reference": "12", "id": "a"}),
      "{not json",
      json.dumps(["a list"]),
      json.dumps({"question": "  "}),
      json.dumps({"question": "What is 2+2?", "answer": 4}),
      json.dumps({"question": "What is 1+1?", "reference": {"x": 1}}),
      "",
  ]) + "\n")
  records, counts = solve.read_questions(str(path))
  assert [r["id"] for r in records] == ["a", "line5"]
  assert records[1]["reference"] == "4"
  assert counts == dict(lines=6, kept=2, dropped=dict(malformed_json=1, not_an_object=1,
                                                      no_question=1, bad_reference=1))
  assert counts["lines"] == counts["kept"] + sum(counts["dropped"].values())


# ----------------------------------------------------------------------------------------------
# Real checkpoints, real processes
# ----------------------------------------------------------------------------------------------


def _env():
  return dict(os.environ, JAX_PLATFORMS="cpu")


def _solve_cli(*flags):
  return subprocess.run([sys.executable, "-m", "deepseekmath_jax.solve", *flags,
                         "--config.max_new_tokens=12"],
                        cwd=REPO, env=_env(), capture_output=True, text=True, timeout=600)


@pytest.fixture(scope="module")
def hf_dir(tmp_path_factory):
  """A random 2-layer LlamaForCausalLM with a byte-level BPE tokenizer.json that fits it."""
  return write_tiny_llama(tmp_path_factory.mktemp("hf"), [
      WORD_PROBLEM, "The answer is \\boxed{12}.", "```python\nprint(3)\n```"] * 8, 300)


def test_cli_on_a_hugging_face_directory(tmp_path, hf_dir):
  path = hf_dir
  questions = tmp_path / "q.jsonl"
  questions.write_text("\n".join([
      json.dumps({"id": "pens", "question": WORD_PROBLEM, "reference": "12"}),
      json.dumps({"id": "tri", "question": "A triangle has sides 3, 4 and 5. What is its area?"}),
      "{broken",
  ]) + "\n")
  proc = _solve_cli(f"--checkpoint=hf:{path}", f"--questions={questions}", "--k=5")
  assert proc.returncode == 0, proc.stderr[-3000:]
  blocks = proc.stdout.strip().split("\n\n")
  assert len(blocks) == 2, proc.stdout
  for text in ("Question:   Mia buys 3 pens", "Band:       fast", "/4 samples",
               "Verifier:   ", "Escalate:   YES"):
    assert text in blocks[0], (text, blocks[0])
  for text in ("Band:       slow", "'triangle', 'area'", "/5 samples",
               "Verifier:   not checked (no reference)"):
    assert text in blocks[1], (text, blocks[1])
  # A random model commits to no answer, or to a wrong one: either way a human should look.
  assert "no_answer" in blocks[0] or "verifier_disagrees_with_majority" in blocks[0]
  assert ":3: not JSON" in proc.stderr
  assert "2 questions kept, dropped {'malformed_json': 1}" in proc.stderr
  assert "solve: 2 question(s), " in proc.stderr


def test_cli_rejects_bad_flag_combinations(tmp_path):
  proc = _solve_cli(f"--checkpoint={tmp_path}")
  assert proc.returncode != 0 and "exactly one of --question and --questions" in proc.stderr
  proc = _solve_cli(f"--checkpoint={tmp_path}", "--questions=q.jsonl", "--reference=3")
  assert proc.returncode != 0 and "--reference goes with --question" in proc.stderr


def test_tool_band_end_to_end():
  """A tool-cue question goes through tool-integrated sampling with a real sandbox: a model that
  writes one program, reads its output and boxes 42 (tests/tools_fixtures.py)."""
  import tools_fixtures as fx  # pylint: disable=g-import-not-at-top
  tok = fx.tool_tokenizer()
  model = fx.bigram_model(tok, {}, tok.eos_id)
  config = solve.default_config()
  config.max_new_tokens = 40
  assert config.tool_prompt_format == "tool" and "tool" in prompts.FORMATS
  question = "Compute exactly 6 times 7."
  with Sandbox(num_workers=1, timeout_s=5.0) as box:
    for program, status, reasons in (("print(6*7)\n", "confirmed", ()),
                                     ("print(1/0)\n", "failed", ("tool_failed",)),
                                     ("print(2+3)\n", "printed_other_answer", ("tool_failed",))):
      ids = {name: fx.token(tok, text) for name, text in (
          ("open", fx.OPEN), ("close", fx.CLOSE), ("code", program), ("answer", fx.ANSWER),
          ("nl", "\n"))}
      fx.set_successors(model, {ids["open"]: ids["code"], ids["code"]: ids["close"],
                                ids["close"]: ids["nl"], ids["nl"]: ids["answer"],
                                ids["answer"]: tok.eos_id}, ids["open"])
      s = solve.solve(question, model=model, tokenizer=tok, reference="42", k=2, config=config,
                      sandbox=box)
      assert s.band == "tool" and s.band_reasons == ("tool cue 'compute_exactly'",)
      assert s.num_samples == 2 and s.answer == "42" and s.agreement == 1.0
      assert "```output" in s.solution and s.verifier_status["status"] == "correct"
      t = s.tool_status
      assert t["status"] == status and t["samples_with_code"] == 2 and t["runs"] == 2, t
      assert t["runs_ok"] == (0 if status == "failed" else 2)
      assert s.escalation_reasons == reasons
