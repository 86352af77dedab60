"""The whole pipeline, `configs/pipeline.py:smoke`, end to end; then a restart skips every stage."""

import json
import os
from pathlib import Path
import subprocess
import sys
import time

import pytest

from configs import pipeline as pipeline_config
from deepseekmath_jax import pipeline
from deepseekmath_jax import solve
from deepseekmath_jax.corpus import shards
from deepseekmath_jax.metrics import read_metrics


@pytest.fixture(scope="module")
def smoke_run(tmp_path_factory):
  workdir = str(tmp_path_factory.mktemp("pipeline_smoke"))
  config = pipeline_config.get_config("smoke")
  config.lock()
  results = pipeline.run(config, workdir)
  return config, workdir, results


def test_every_stage_done(smoke_run):
  _, workdir, results = smoke_run
  assert list(results) == list(pipeline.STAGES)
  for stage in pipeline.STAGES:
    done = pipeline.read_done(workdir, stage)
    assert done is not None and done["seconds"] >= 0, stage


def test_data_and_corpus_counts(smoke_run):
  config, workdir, _ = smoke_run
  with open(os.path.join(workdir, "data", "manifest.json")) as f:
    manifest = json.load(f)
  d = config.data
  assert manifest["eval_problems"] == d.eval_problems
  assert manifest["math_documents"] == d.math_docs + d.drill_docs
  assert manifest["pool_documents"] == (manifest["math_documents"] + manifest["prose_documents"] +
                                        d.exact_duplicates + d.near_duplicates +
                                        d.contaminated_docs)
  with open(os.path.join(workdir, "corpus", "report.json")) as f:
    corpus = json.load(f)
  assert corpus["documents_in"] == manifest["pool_documents"]
  assert corpus["documents_in"] == corpus["documents_out"] + sum(corpus["dropped"].values())
  kept = list(shards.read_corpus(os.path.join(workdir, "corpus")))
  assert len(kept) == corpus["documents_out"]
  kept_urls = {doc["url"] for doc in kept}
  assert not kept_urls & set(manifest["planted_contaminated"])
  for pair in manifest["planted_exact_duplicates"] + manifest["planted_near_duplicates"]:
    assert not (pair["copy"] in kept_urls and pair["original"] in kept_urls), pair
  # The classifier keeps the worksheets and drops most of the stdlib prose.
  math_kept = sum(u.startswith("https://worksheets.") for u in kept_urls)
  assert math_kept >= 0.8 * manifest["math_documents"] - d.contaminated_docs
  assert sum(u.startswith("https://docs.") for u in kept_urls) <= 0.2 * d.prose_docs


def test_trainers_logged(smoke_run):
  config, workdir, _ = smoke_run
  assert os.path.exists(os.path.join(workdir, "tokenizer", "tokenizer.model"))
  for stage, steps in (("pretrain", config.pretrain.steps), ("sft", config.sft.steps)):
    records = read_metrics(os.path.join(workdir, stage, "metrics.jsonl"))
    assert max(r["step"] for r in records) == steps and all("loss" in r for r in records
                                                           if "eval/loss" not in r)
  grpo = read_metrics(os.path.join(workdir, "grpo", "metrics.jsonl"))
  assert [r["step"] for r in grpo] == list(range(1, config.grpo.steps + 1))
  for key in ("reward_mean", "kl", "accuracy", "completion_length_mean"):
    assert all(key in r for r in grpo), key


def test_report(smoke_run):
  config, workdir, _ = smoke_run
  with open(os.path.join(workdir, "report.json")) as f:
    report = json.load(f)
  for stage in ("pretrain", "sft", "grpo"):
    ev = report["evaluation"][stage]
    assert ev["n_problems"] == config.eval.num_problems
    assert ev["k"] == config.eval.num_samples
    for key in ("greedy_accuracy", "maj_at_k", "pass_at_k"):
      assert 0.0 <= ev[key] <= 1.0, (stage, key)
    assert ev["maj_at_k"] <= ev["pass_at_k"] + 1e-9  # a correct vote needs a correct sample
  f = report["findings"]
  gain = 100 * (report["evaluation"]["grpo"]["greedy_accuracy"] -
                report["evaluation"]["sft"]["greedy_accuracy"])
  assert f["grpo_greedy_gain_points"] == pytest.approx(gain, abs=0.01)
  assert f["grpo_gain_at_least_10_points"] == (gain >= 10)
  assert set(report["stage_seconds"]) == set(pipeline.STAGES[:-1])
  for name in ("report.md", "losses.png", "grpo.png", "accuracy_by_stage.png", "k_curves.png"):
    assert os.path.getsize(os.path.join(workdir, name)) > 0, name
  markdown = open(os.path.join(workdir, "report.md")).read()
  assert "GRPO vs SFT" in markdown and "maj@4" in markdown
  for stage in ("pretrain", "sft", "grpo"):
    assert os.path.exists(os.path.join(workdir, f"eval_{stage}", "report.json"))


def test_solve_section_and_monitoring(smoke_run):
  config, workdir, _ = smoke_run
  done = pipeline.read_done(workdir, "solve")
  with open(os.path.join(workdir, "solve", "solutions.jsonl")) as f:
    rows = [json.loads(line) for line in f]
  assert done["n_problems"] == len(rows) == config.solve.num_problems
  for r in rows:
    assert r["band"] in ("fast", "slow")    # the demo model writes no programs: tools off
    k = config.solve.k
    assert r["num_samples"] == len(r["samples"]) == (min(k, 4) if r["band"] == "fast" else k)
    assert r["escalate"] == bool(r["escalation_reasons"])
    assert r["verifier_status"]["status"] in ("correct", "wrong")
    if not r["answer"]:
      assert "no_answer" in r["escalation_reasons"]
    elif r["verifier_status"]["status"] == "wrong":
      assert "verifier_disagrees_with_majority" in r["escalation_reasons"]
  assert done["escalated"] == sum(r["escalate"] for r in rows)
  assert done["majority_correct"] == sum(r["verifier_status"]["status"] == "correct"
                                         for r in rows)
  with open(os.path.join(workdir, "report.json")) as f:
    report = json.load(f)
  assert report["solve"]["rows"] == done["rows"]
  for stage in ("pretrain", "sft", "grpo"):
    m = report["monitoring"][stage]
    assert m["num_problems"] == config.eval.num_problems
    assert 0.0 <= m["calibration"]["ece"] <= 1.0
    assert sum(b["n"] for b in m["calibration"]["bins"]) == m["num_problems"]
    assert os.path.getsize(os.path.join(workdir, f"eval_{stage}", "calibration.png")) > 0
    assert "## Monitoring" in open(os.path.join(workdir, f"eval_{stage}", "report.md")).read()
  markdown = open(os.path.join(workdir, "report.md")).read()
  assert "`solve` on the GRPO checkpoint" in markdown
  assert "![calibration](calibration.png)" in markdown
  assert os.path.getsize(os.path.join(workdir, "calibration.png")) > 0


def test_solve_command_line_on_the_grpo_workdir(smoke_run):
  """`python -m deepseekmath_jax.solve` on a trained workdir (the smoke run's GRPO checkpoint)."""
  _, workdir, _ = smoke_run
  with open(os.path.join(workdir, "data", "eval.jsonl")) as f:
    problem = json.loads(f.readline())
  proc = subprocess.run(
      [sys.executable, "-m", "deepseekmath_jax.solve",
       f"--checkpoint={os.path.join(workdir, 'grpo')}", f"--question={problem['question']}",
       f"--reference={problem['answer']}", "--k=3", "--json", "--config.max_new_tokens=24",
       "--config.tokenizer.kind=sentencepiece",
       f"--config.tokenizer.path={os.path.join(workdir, 'tokenizer', 'tokenizer.model')}"],
      cwd=Path(__file__).resolve().parents[1], env=dict(os.environ, JAX_PLATFORMS="cpu"),
      capture_output=True, text=True, timeout=600)
  assert proc.returncode == 0, proc.stderr[-3000:]
  out = json.loads(proc.stdout)
  assert out["band"] in solve.BANDS and out["question"] == problem["question"]
  assert out["num_samples"] == 3   # k=3: under the fast band's cap of 4 too
  assert out["verifier_status"]["status"] in ("correct", "wrong")
  assert out["escalate"] == bool(out["escalation_reasons"])


def test_tool_integrated_evaluation_on_the_smoke_model(smoke_run, tmp_path):
  """The paper's tool prompt and sandboxed decoding on the smoke run's GRPO checkpoint (the
  demo model is not trained to write programs; this is where the tool path runs end to end)."""
  from deepseekmath_jax import config_lib  # pylint: disable=g-import-not-at-top
  from deepseekmath_jax import sharding  # pylint: disable=g-import-not-at-top
  from deepseekmath_jax.data import tokenizer as tokenizer_lib  # pylint: disable=g-import-not-at-top
  from deepseekmath_jax.demo import pool  # pylint: disable=g-import-not-at-top
  from deepseekmath_jax.evaluation import generate  # pylint: disable=g-import-not-at-top
  from deepseekmath_jax.evaluation import run as eval_run  # pylint: disable=g-import-not-at-top
  from deepseekmath_jax.tools import Sandbox  # pylint: disable=g-import-not-at-top
  config, workdir, _ = smoke_run
  rules = config_lib.AXIS_RULES
  mesh = sharding.make_mesh(config_lib.mesh_config(data=-1))
  tokenizer = tokenizer_lib.SentencePieceTokenizer.load(
      os.path.join(workdir, "tokenizer", "tokenizer.model"))
  model = pipeline.load_checkpoint_model(config, os.path.join(workdir, "grpo"), mesh, rules)
  problems = pool.read_eval_problems(os.path.join(workdir, "data"), 4)
  tool_log = []
  with Sandbox(num_workers=1, timeout_s=5.0) as box:
    generate_fn = generate.make_generate_fn(
        model, tokenizer, batch_size=4, max_new_tokens=config.eval.max_new_tokens,
        max_prompt_len=config.eval.max_prompt_len, stop_strings=pipeline.STOP_STRINGS,
        mesh=mesh, rules=rules, sandbox=box, max_tool_calls=2, tool_log=tool_log)
    report = eval_run.evaluate_model(pipeline.BENCHMARK, problems, generate_fn,
                                     prompt_format="tool", num_samples=2, tool_log=tool_log,
                                     output_dir=str(tmp_path))
  assert len(tool_log) == 4 * (1 + 2)            # greedy + 2 samples per problem
  t = report["tools"]
  assert t["tool_calls_per_sample"] == sum(len(r) for r in tool_log) / len(tool_log)
  assert 0.0 <= t["accuracy_with_tool"] <= 1.0
  assert report["summary"]["monitoring"]["num_problems"] == 4
  md = (tmp_path / "report.md").read_text()
  assert "## Tool-integrated reasoning" in md and "| tool_calls_per_sample |" in md


def test_restart_skips_finished_stages(smoke_run):
  config, workdir, results = smoke_run
  start = time.perf_counter()
  again = pipeline.run(config, workdir)
  assert time.perf_counter() - start < 10
  assert again == results


def test_reuse_links_finished_stages_and_stop_after_ends_early(smoke_run, tmp_path):
  _, source, results = smoke_run
  config = pipeline_config.get_config("smoke")
  config.reuse_from = source
  config.reuse_stages = ("data", "corpus", "tokenizer", "pretrain", "sft")
  config.stop_after = "sft"
  workdir = str(tmp_path / "reuse")
  again = pipeline.run(config, workdir)
  assert list(again) == ["data", "corpus", "tokenizer", "pretrain", "sft"]
  assert again["sft"] == results["sft"]
  assert os.path.islink(os.path.join(workdir, "sft"))
  assert not os.path.exists(os.path.join(workdir, "grpo"))
  assert pipeline.run(config, workdir) == again  # already linked: nothing new

  clash = tmp_path / "clash"
  (clash / "data").mkdir(parents=True)
  with pytest.raises(ValueError, match="exists; reuse needs a fresh workdir"):
    pipeline.run(config, str(clash))
  config.stop_after = "nonsense"
  with pytest.raises(ValueError, match="config.stop_after='nonsense'"):
    pipeline.run(config, str(tmp_path / "other"))
  config.stop_after = ""
  config.reuse_from = str(tmp_path / "unfinished")
  os.makedirs(config.reuse_from)
  with pytest.raises(ValueError, match="stage 'data' is not finished"):
    pipeline.run(config, str(tmp_path / "third"))


def test_grpo_stage_takes_the_pipelines_rate_schedule(tmp_path):
  config = pipeline_config.get_config("smoke")
  assert pipeline.grpo_config(config, str(tmp_path)).opt.schedule == "constant"   # §4.2
  config.grpo.lr_schedule = "multistep"
  config.grpo.peak_lr = 3e-4
  opt = pipeline.grpo_config(config, str(tmp_path)).opt
  assert (opt.schedule, opt.peak_lr) == ("multistep", 3e-4)
