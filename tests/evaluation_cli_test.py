"""End to end: the evaluate CLI (a real subprocess), the eval stage, and the generate_fn hook."""

import json
import os
from pathlib import Path
import subprocess
import sys

import ml_collections
import pytest

from deepseekmath_jax.evaluation import benchmarks
from deepseekmath_jax.evaluation import prompts
from deepseekmath_jax.evaluation import run as run_lib

REPO = Path(__file__).resolve().parents[1]
DATA = REPO.parent / "shared" / "data"
pytestmark = pytest.mark.skipif(not DATA.is_dir(), reason=f"shared data not found at {DATA}")

WRONG = "so the answer is $\\boxed{-987654321}$."  # no MATH500 answer is this


def _right(p):
  return f"Working it out carefully, the answer is $\\boxed{{{p.reference}}}$."


def _predictions(problems):
  """Lines for MATH500 problems 0..34 in five groups; 35..39 get no line (missing).

  A 0-9   4 x right                    top1 1, maj@4 1, pass@1 1,   pass@4 1
  B 10-19 4 x wrong                    0 everywhere
  C 20-24 4 x no answer                0 everywhere
  D 25-29 wrong, right, right, right   top1 0, maj@4 1, pass@1 .75, pass@4 1
  E 30-34 right, wrong, wrong, none    top1 1, maj@4 0, pass@1 .25, pass@4 1
  """
  lines = []
  for i, p in enumerate(problems[:35]):
    r, w, none = _right(p), WRONG, "I could not finish this one."
    responses = ([r] * 4 if i < 10 else [w] * 4 if i < 20 else [none] * 4 if i < 25
                 else [w, r, r, r] if i < 30 else [r, w, w, none])
    # Problem 3 uses the positional alias (an integer id).
    lines.append(json.dumps({"id": 3 if i == 3 else p.id, "responses": responses}))
  lines.insert(5, "{this is not json")
  lines.insert(8, json.dumps({"id": "test/nowhere/1.json", "responses": ["\\boxed{1}"]}))
  lines.insert(9, json.dumps({"id": problems[0].id, "responses": [WRONG] * 4}))  # duplicate
  lines.insert(12, json.dumps({"id": problems[40].id, "responses": []}))  # malformed: empty
  lines.insert(13, "")  # blank lines are not records
  return lines


def _check_math500_report(report, n_problems):
  s, o = report["summary"], report["summary"]["overall"]
  assert s["num_problems"] == n_problems and s["num_missing"] == n_problems - 35
  assert s["ks"] == [1, 2, 4]
  assert o["top1"] == pytest.approx(15 / n_problems)          # A + E
  assert o["maj@4"] == pytest.approx(15 / n_problems)         # A + D
  assert o["pass@4"] == pytest.approx(20 / n_problems)        # A + D + E
  assert o["pass@1"] == pytest.approx((10 + 5 * 0.75 + 5 * 0.25) / n_problems)
  assert s["reasons_top1"]["correct"] == 15
  assert s["reasons_top1"]["no_answer"] == 5
  assert s["reasons_top1"]["missing"] == n_problems - 35
  assert s["confidence"]["num_disagreement"] == 0  # every problem has a 2-of-4 or larger bloc
  inp = report["input"]
  assert inp["num_lines"] == 39
  assert (inp["num_matched"], inp["num_malformed"], inp["num_unknown_ids"],
          inp["num_duplicates"]) == (35, 2, 1, 1)
  assert inp["num_lines"] == (inp["num_matched"] + inp["num_malformed"] + inp["num_unknown_ids"]
                              + inp["num_duplicates"])
  assert [line for line, _ in inp["malformed_lines"]] == [6, 13]


def test_cli_subprocess_writes_report_with_right_numbers(tmp_path):
  problems = benchmarks.load_benchmark("math500", str(DATA))
  preds = tmp_path / "preds.jsonl"
  preds.write_text("\n".join(_predictions(problems)) + "\n", encoding="utf-8")
  out = tmp_path / "report"
  proc = subprocess.run(
      [sys.executable, "-m", "deepseekmath_jax.evaluate", "--benchmark=math500",
       f"--data_dir={DATA}", f"--predictions={preds}", f"--output_dir={out}"],
      cwd=REPO, capture_output=True, text=True, timeout=300)
  assert proc.returncode == 0, proc.stderr[-3000:]
  assert "math500: top-1 3.00% relaxed" in proc.stdout
  assert "2 malformed, 1 unknown ids, 1 duplicates" in proc.stdout
  # Bad lines are named with file and line in the log.
  assert f"{preds}:6: malformed line" in proc.stderr

  for name in ("report.json", "report.md", "problems.jsonl", "accuracy_by_subject.png",
               "accuracy_by_level.png", "k_curves.png", "reasons.png"):
    assert (out / name).is_file(), name
  for png in out.glob("*.png"):
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
  report = json.loads((out / "report.json").read_text())
  _check_math500_report(report, 500)
  rows = [json.loads(l) for l in (out / "problems.jsonl").read_text().splitlines()]
  assert len(rows) == 500 and rows[0]["id"] == problems[0].id
  assert rows[0]["num_correct"] == 4            # the duplicate line did not replace it
  assert rows[27]["top1"]["correct"] is False and rows[27]["num_correct"] == 3
  assert rows[30]["confidence"]["majority_answer"] == "-987654321"
  assert rows[36]["missing"] is True and rows[36]["escalation"] is None
  # Each problem's escalation reasons, by the groups of _predictions.
  assert [rows[i]["escalation"] for i in (0, 10, 20, 25, 30)] == [
      [], ["verifier_disagrees_with_majority"], ["no_answer"], [],
      ["verifier_disagrees_with_majority", "low_agreement"]]
  md = (out / "report.md").read_text()
  assert "| top-1 (relaxed) | 3.00 |" in md and "line 6: malformed" in md
  assert "![k_curves.png](k_curves.png)" in md


def test_eval_stage_through_main(tmp_path):
  problems = benchmarks.load_benchmark("math500", str(DATA))
  preds = tmp_path / "preds.jsonl"
  preds.write_text("\n".join(_predictions(problems)) + "\n", encoding="utf-8")
  proc = subprocess.run(
      [sys.executable, "-m", "deepseekmath_jax.main", "--config=configs/eval.py:math500,tiny",
       f"--workdir={tmp_path / 'work'}", f"--config.predictions={preds}",
       f"--config.data_dir={DATA}"],
      cwd=REPO, capture_output=True, text=True, timeout=300)
  assert proc.returncode == 0, proc.stderr[-3000:]
  report = json.loads((tmp_path / "work" / "eval_math500" / "report.json").read_text())
  # tiny = the first 20 problems: groups A (right) and B (wrong).
  assert report["summary"]["num_problems"] == 20
  assert report["summary"]["overall"]["top1"] == pytest.approx(0.5)
  # Lines for problems beyond the first 20 are now unknown ids, still counted.
  assert report["input"]["num_unknown_ids"] == 1 + 15


def test_run_requires_predictions():
  config = ml_collections.ConfigDict({"predictions": ""})
  with pytest.raises(ValueError, match="config.predictions is empty"):
    run_lib.run(config, "/tmp/unused")


def test_gsm8k_predictions_in_process(tmp_path):
  problems = benchmarks.load_benchmark("gsm8k", str(DATA))[:6]
  answers = [p.reference.split("####")[-1].strip() for p in problems]
  lines = [json.dumps({"id": p.id, "response": f"Adding up, we get {a}. The answer is {a}."})
           for p, a in zip(problems[:4], answers)]
  lines.append(json.dumps({"id": problems[4].id, "response": "The answer is 123456789."}))
  preds = tmp_path / "gsm.jsonl"
  preds.write_text("\n".join(lines) + "\n")
  report = run_lib.evaluate_predictions("gsm8k", problems, str(preds), strict=True,
                                        output_dir=str(tmp_path / "out"))
  s = report["summary"]
  assert s["mode"] == "strict" and s["ks"] == [1]
  assert s["overall"]["top1"] == pytest.approx(4 / 6)
  assert s["headline_top1"] == pytest.approx(4 / 6)
  assert s["reasons_top1"] == {"correct": 4, "missing": 1, "wrong_value": 1}
  assert not (tmp_path / "out" / "accuracy_by_subject.png").exists()  # one subject only
  assert (tmp_path / "out" / "reasons.png").is_file()
  assert report["audit"]["length_split"]["short"]["n"] == 3


def test_evaluate_model_with_a_generate_fn(tmp_path):
  """The model-driven path: any sampler plugs in as generate_fn(prompts, n, temperature)."""
  problems = benchmarks.load_benchmark("math500", str(DATA))[:6]
  by_question = {p.question.strip(): p for p in problems}
  calls = []

  def generate_fn(batch, n, temperature):
    calls.append((len(batch), n, temperature))
    outputs = []
    for prompt in batch:
      p = next(p for q, p in by_question.items() if q in prompt)
      index = problems.index(p)
      # Greedy solves even-indexed problems; sampling adds one wrong answer per problem.
      if temperature == 0:
        text = _right(p) if index % 2 == 0 else WRONG
        outputs.append([text + "\n\nUser: and another question"] * n)
      else:
        outputs.append([WRONG] + [_right(p)] * (n - 1))
    return outputs

  report = run_lib.evaluate_model(
      "math500", problems, generate_fn, num_samples=4, temperature=0.7,
      sweep_temperatures=(0.0, 0.7), sweep_samples=3, paraphrases=True,
      output_dir=str(tmp_path / "out"))
  s = report["summary"]
  assert s["overall"]["top1"] == pytest.approx(0.5)     # greedy
  assert s["overall"]["maj@4"] == pytest.approx(1.0)    # 3 of 4 samples right
  assert s["overall"]["pass@1"] == pytest.approx(0.75)
  assert calls[:2] == [(6, 1, 0.0), (6, 4, 0.7)]
  sweep = report["audit"]["temperature_sweep"]
  assert [r["temperature"] for r in sweep] == [0.0, 0.7]
  assert sweep[0]["pass@1"] == pytest.approx(0.5) and sweep[1]["pass@1"] == pytest.approx(2 / 3)
  pp = report["audit"]["paraphrase"]
  assert len(pp["accuracy_by_template"]) == len(prompts.PARAPHRASE_TEMPLATES)
  assert pp["flip_rate"] == 0.0 and pp["num_solved_by_all"] == 3
  for name in ("temperature_sweep.png", "paraphrase.png", "k_curves.png"):
    assert (tmp_path / "out" / name).is_file()
  # problems.jsonl keeps each greedy completion as graded: cut at the chat stop string.
  rows = [json.loads(l) for l in (tmp_path / "out" / "problems.jsonl").read_text().splitlines()]
  assert [r["top1_response"] for r in rows] == [
      _right(p) if i % 2 == 0 else WRONG for i, p in enumerate(problems)]


def test_generate_fn_shape_errors_are_clear():
  problems = benchmarks.load_benchmark("math500", str(DATA))[:2]
  with pytest.raises(ValueError, match="returned 1 lists for 2 prompts"):
    run_lib.evaluate_model("math500", problems, lambda b, n, t: [["x"]])
  with pytest.raises(ValueError, match="must return 1 strings per prompt"):
    run_lib.evaluate_model("math500", problems, lambda b, n, t: [["x", "y"]] * len(b))
