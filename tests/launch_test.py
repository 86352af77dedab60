"""The experiment launcher: run names, commands, result collection, table and plot."""

import json
import subprocess
import sys
from pathlib import Path

import pytest
from absl import app

from deepseekmath_jax import pipeline

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "experiments"))

import launch  # noqa: E402

EXPERIMENT = '''"""Toy sweep."""
BASE = "configs/eval.py:tiny"
RESULTS = {"acc": "stages.grpo.greedy_accuracy", "k": "stages.grpo.k"}
def get_sweep():
  return [{"grpo.beta": b} for b in (0.0, 0.04)]
'''


def test_collect_and_write(tmp_path):
  exp = tmp_path / "toy.py"
  exp.write_text(EXPERIMENT)
  module = launch.load_experiment(exp)
  sweep = module.get_sweep()
  assert launch.run_name(sweep[1]) == "grpo.beta=0.04"
  cmd = launch.command(module.BASE, tmp_path / "r", sweep[1])
  assert cmd[-1] == "--config.grpo.beta=0.04" and "--config=configs/eval.py:tiny" in cmd
  root = tmp_path / "runs"
  (root / "grpo.beta=0.0").mkdir(parents=True)
  (root / "grpo.beta=0.0" / "report.json").write_text(
      json.dumps({"stages": {"grpo": {"greedy_accuracy": 0.5, "k": 8}}}))
  rows = launch.collect(root, sweep, module.RESULTS)
  assert rows[0]["status"] == "done" and rows[0]["acc"] == 0.5 and rows[0]["k"] == 8
  assert rows[1]["status"] == "missing" and "acc" not in rows[1]
  launch.write_results(root, rows, module.RESULTS, "Toy sweep")
  table = (root / "results.md").read_text()
  assert "| grpo.beta=0.0 | done | 0.5000 | 8 |" in table
  assert (root / "results.png").stat().st_size > 1000


def test_dry_run_prints_commands(tmp_path):
  exp = tmp_path / "toy.py"
  exp.write_text(EXPERIMENT)
  proc = subprocess.run([sys.executable, "experiments/launch.py", f"--experiment={exp}",
                         f"--root={tmp_path / 'runs'}", "--dry_run", "--alsologtostderr",
                         "--set=seed=1,grpo.beta=9"],
                        cwd=REPO, capture_output=True, text=True, timeout=120)
  assert proc.returncode == 0, proc.stderr
  assert "--config.grpo.beta=0.04" in proc.stderr  # a sweep point's value beats --set
  assert proc.stderr.count("--config.seed=1") == 2
  assert "| grpo.beta=0.0 | missing |" in proc.stdout


def test_set_parses_key_values():
  assert launch.parse_set(["seed=1", "reuse_from=runs/a=b"]) == {"seed": "1",
                                                                 "reuse_from": "runs/a=b"}
  with pytest.raises(app.UsageError, match="'seed' is not key=value"):
    launch.parse_set(["seed"])


def test_every_experiment_sets_existing_keys():
  """Each experiment's COMMON and sweep overrides name real keys of its (locked) base config."""
  files = sorted(p for p in (REPO / "experiments").glob("*.py")
                 if "\ndef get_sweep" in p.read_text() and p.name != "launch.py")
  assert len(files) >= 6
  for path in files:
    module = launch.load_experiment(path)
    if "\nRESULTS = " not in path.read_text():
      assert module.RESULTS == launch.GRPO_RESULTS, path.name  # the launcher's default columns
    config_file, arg = module.BASE.split(":")
    for point in module.get_sweep():
      config = pipeline.base_config(Path(config_file).stem, arg)
      config.lock()
      overrides = {k: v for k, v in {**getattr(module, "COMMON", {}), **point}.items()
                   if not k.startswith("_")}
      config.update_from_flattened_dict(overrides)  # KeyError/TypeError on a bad key or value
      for key, value in overrides.items():
        node = config
        for part in key.split("."):
          node = node[part]
        assert node == value, (path.name, key)
