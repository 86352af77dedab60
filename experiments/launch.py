r"""Runs an experiment: a base config swept by `get_sweep()`, one workdir per run, one table.

  .venv/bin/python experiments/launch.py --experiment=experiments/grpo_kl_beta.py \
      --root=runs/grpo_kl_beta [--dry_run] [--only=0,2] [--set=key=value,...]

An experiment file names its question in the docstring and defines:

  BASE = "configs/pipeline.py:demo"          # config file and argument
  RESULTS = {"greedy (GRPO)": "evaluation.grpo.greedy_accuracy", ...}   # report.json paths
                                             # (optional: GRPO_RESULTS below by default)
  COMMON = {"reuse_from": "runs/demo"}       # optional: overrides of every run (not in names)
  def get_sweep() -> list[dict]:             # one dict of --config overrides per run
    return [{"grpo.loss.beta": b} for b in (0.0, 0.04)]

A sweep point may carry `"_name"`: its run's name (else one is made from its overrides).

Each run is `python -m deepseekmath_jax.main --config=BASE --workdir=ROOT/<run name>
--config.<key>=<value> ...` in its own process. A run whose workdir already holds
`report.json` is not run again (runs resume from their workdirs anyway). The launcher then
reads every run's `report.json` and writes `results.json`, `results.md` and `results.png`
in ROOT.
"""

from __future__ import annotations

import importlib.util
import json
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from absl import app
from absl import flags
from absl import logging

REPO = Path(__file__).resolve().parents[1]

_EXPERIMENT = flags.DEFINE_string("experiment", None, "Path to an experiment file.")
_ROOT = flags.DEFINE_string("root", None, "Folder for the runs (default runs/<experiment>).")
_DRY_RUN = flags.DEFINE_bool("dry_run", False, "Print the commands, run nothing.")
_ONLY = flags.DEFINE_list("only", [], "Run only these sweep indices.")
_COLLECT_ONLY = flags.DEFINE_bool("collect_only", False, "Only collect existing results.")
_SET = flags.DEFINE_list(
    "set", [], "key=value overrides of every run, applied after the experiment's COMMON, e.g. "
    "reuse_from=runs/demo_seed1,seed=1 to repeat an experiment from another demo run.")


def parse_set(items: list[str]) -> dict[str, str]:
  """`--set` items as {key: value}; an item without `=` is an error naming it."""
  out = {}
  for item in items:
    key, sep, value = item.partition("=")
    if not sep or not key:
      raise app.UsageError(f"--set: {item!r} is not key=value")
    out[key] = value
  return out


# The columns of an experiment without RESULTS: the GRPO checkpoint's held-out accuracy (the
# pipeline's report.json) and the KL to π_ref on the last GRPO step.
GRPO_RESULTS = {
    "greedy": "evaluation.grpo.greedy_accuracy",
    "maj@8": "evaluation.grpo.maj_at_k",
    "pass@8": "evaluation.grpo.pass_at_k",
    "KL (last step)": "training.grpo_kl_last",
}


def load_experiment(path: str | Path) -> Any:
  path = Path(path)
  spec = importlib.util.spec_from_file_location(f"experiment_{path.stem}", path)
  if spec is None or not path.exists():
    raise FileNotFoundError(f"no experiment file {path}")
  module = importlib.util.module_from_spec(spec)
  spec.loader.exec_module(module)
  for name in ("BASE", "get_sweep"):
    if not hasattr(module, name):
      raise AttributeError(f"{path} does not define {name}")
  if not hasattr(module, "RESULTS"):
    module.RESULTS = GRPO_RESULTS
  return module


def run_name(overrides: dict[str, Any]) -> str:
  """A readable, filesystem-safe name for one sweep point, e.g. `grpo.beta=0.04`."""
  if "_name" in overrides:
    return re.sub(r"[^A-Za-z0-9_.=,+-]", "_", str(overrides["_name"]))[:150]
  if not overrides:
    return "base"
  parts = [f"{k}={v}" for k, v in sorted(overrides.items())]
  return re.sub(r"[^A-Za-z0-9_.=,+-]", "_", ",".join(parts))[:150]


def command(base: str, workdir: Path, overrides: dict[str, Any]) -> list[str]:
  cmd = [sys.executable, "-m", "deepseekmath_jax.main", f"--config={base}",
         f"--workdir={workdir}"]
  return cmd + [f"--config.{k}={v}" for k, v in sorted(overrides.items()) if k != "_name"]


def lookup(report: dict, dotted: str) -> Any:
  value: Any = report
  for part in dotted.split("."):
    if not isinstance(value, dict) or part not in value:
      return None
    value = value[part]
  return value


def collect(root: Path, sweep: list[dict], results: dict[str, str]) -> list[dict]:
  rows = []
  for overrides in sweep:
    name = run_name(overrides)
    report_path = root / name / "report.json"
    row = {"run": name, "overrides": {k: v for k, v in overrides.items() if k != "_name"},
           "status": "missing"}
    if report_path.exists():
      report = json.loads(report_path.read_text())
      row["status"] = "done"
      row.update({label: lookup(report, path) for label, path in results.items()})
    rows.append(row)
  return rows


def write_results(root: Path, rows: list[dict], results: dict[str, str], title: str) -> None:
  (root / "results.json").write_text(json.dumps(rows, indent=2))
  labels = list(results)
  fmt = lambda v: f"{v:.4f}" if isinstance(v, float) else ("–" if v is None else str(v))
  lines = [f"# {title}", "", "| run | status | " + " | ".join(labels) + " |",
           "|---|---|" + "---|" * len(labels)]
  for row in rows:
    lines.append(f"| {row['run']} | {row['status']} | " +
                 " | ".join(fmt(row.get(label)) for label in labels) + " |")
  (root / "results.md").write_text("\n".join(lines) + "\n")

  import matplotlib  # local: only the plot needs it
  matplotlib.use("Agg")
  import matplotlib.pyplot as plt
  numeric = [l for l in labels if any(isinstance(r.get(l), (int, float)) for r in rows)]
  if not numeric:
    return
  fig, ax = plt.subplots(figsize=(max(6, 1.2 * len(rows) * len(numeric)), 4))
  width = 0.8 / len(numeric)
  for i, label in enumerate(numeric):
    values = [r.get(label) if isinstance(r.get(label), (int, float)) else 0.0 for r in rows]
    ax.bar([x + i * width for x in range(len(rows))], values, width, label=label)
  ax.set_xticks([x + width * (len(numeric) - 1) / 2 for x in range(len(rows))])
  ax.set_xticklabels([r["run"] for r in rows], rotation=20, ha="right", fontsize=8)
  ax.set_title(title)
  ax.legend(fontsize=8)
  fig.tight_layout()
  fig.savefig(root / "results.png", dpi=120)
  plt.close(fig)


def main(argv):
  del argv
  if not _EXPERIMENT.value:
    raise app.UsageError("--experiment is required")
  experiment = load_experiment(_EXPERIMENT.value)
  root = Path(_ROOT.value or REPO / "runs" / Path(_EXPERIMENT.value).stem)
  root.mkdir(parents=True, exist_ok=True)
  sweep = list(experiment.get_sweep())
  extra = parse_set(_SET.value)
  chosen = [int(i) for i in _ONLY.value] or list(range(len(sweep)))
  start = time.time()
  if not _COLLECT_ONLY.value:
    for n, index in enumerate(chosen):
      overrides = sweep[index]
      workdir = root / run_name(overrides)
      cmd = command(experiment.BASE, workdir,
                    {**getattr(experiment, "COMMON", {}), **extra, **overrides})
      if (workdir / "report.json").exists():
        logging.info("[%d/%d] %s: done already", n + 1, len(chosen), workdir.name)
        continue
      elapsed = time.time() - start
      eta = elapsed / n * (len(chosen) - n) if n else float("nan")
      logging.info("[%d/%d] %s (elapsed %.0fs, ETA %.0fs)\n  %s", n + 1, len(chosen),
                   workdir.name, elapsed, eta, " ".join(cmd))
      if _DRY_RUN.value:
        continue
      proc = subprocess.run(cmd, cwd=REPO)
      if proc.returncode:
        logging.error("run %s failed with exit code %d", workdir.name, proc.returncode)
  rows = collect(root, sweep, experiment.RESULTS)
  title = (experiment.__doc__ or Path(_EXPERIMENT.value).stem).strip().splitlines()[0]
  write_results(root, rows, experiment.RESULTS, title)
  print((root / "results.md").read_text())


if __name__ == "__main__":
  app.run(main)
