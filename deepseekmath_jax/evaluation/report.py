"""Writing an evaluation report: report.json, report.md, problems.jsonl and PNG plots.

matplotlib (Agg backend, no display needed) draws the plots; the Markdown is plain tables so the
report reads in any viewer. File names are fixed so scripts can find them:

  report.json          everything below except per-problem rows
  report.md            the same, as tables
  problems.jsonl       one row per problem: verdicts, answers, confidence signals
  accuracy_by_subject.png, accuracy_by_level.png   (when the benchmark has subjects / levels)
  k_curves.png         maj@k and pass@k against k (when there are several samples)
  reasons.png          verifier reason counts for the top-1 responses, relaxed and strict
  calibration.png      accuracy of the majority answer against sample agreement, with the
                       expected calibration error (when problems have several samples)
  temperature_sweep.png, paraphrase.png             (when the audit ran them)
"""

from __future__ import annotations

import json
import os
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # pylint: disable=g-import-not-at-top


def _pct(x: float | None) -> str:
  return "n/a" if x is None else f"{100 * x:.2f}"


def _bar(path: str, labels: list[str], series: dict[str, list[float]], title: str,
         ylabel: str) -> None:
  fig, ax = plt.subplots(figsize=(max(6, 0.9 * len(labels) + 2), 4))
  width = 0.8 / max(1, len(series))
  for i, (name, values) in enumerate(series.items()):
    xs = [x + i * width for x in range(len(labels))]
    ax.bar(xs, values, width=width, label=name)
  ax.set_xticks([x + 0.4 - width / 2 for x in range(len(labels))])
  ax.set_xticklabels(labels, rotation=30, ha="right")
  ax.set_ylabel(ylabel)
  ax.set_title(title)
  if len(series) > 1:
    ax.legend()
  fig.tight_layout()
  fig.savefig(path, dpi=100)
  plt.close(fig)


def _plot_groups(path: str, groups: dict[str, dict], title: str) -> None:
  labels = list(groups)
  _bar(path, labels,
       {"top-1 relaxed": [100 * (g["top1"] or 0) for g in groups.values()],
        "top-1 strict": [100 * (g["top1_strict"] or 0) for g in groups.values()]},
       title, "accuracy (%)")


def _plot_k_curves(path: str, summary: dict, title: str) -> None:
  ks = summary["ks"]
  fig, ax = plt.subplots(figsize=(6, 4))
  ax.plot(ks, [100 * summary["overall"][f"maj@{k}"] for k in ks], "o-", label="maj@k")
  ax.plot(ks, [100 * summary["overall"][f"pass@{k}"] for k in ks], "s-", label="pass@k")
  ax.set_xscale("log", base=2)
  ax.set_xticks(ks, [str(k) for k in ks])
  ax.minorticks_off()
  ax.set_xlabel("k")
  ax.set_ylabel(f"accuracy (%), {summary['mode']}")
  ax.set_title(title)
  ax.legend()
  ax.grid(alpha=0.3)
  fig.tight_layout()
  fig.savefig(path, dpi=100)
  plt.close(fig)


def _plot_reasons(path: str, summary: dict, title: str) -> None:
  relaxed, strict = summary["reasons_top1"], summary["reasons_top1_strict"]
  labels = sorted(set(relaxed) | set(strict), key=lambda r: -relaxed.get(r, 0))
  _bar(path, labels, {"relaxed": [relaxed.get(r, 0) for r in labels],
                      "strict": [strict.get(r, 0) for r in labels]}, title, "top-1 responses")


def plot_calibration(path: str, calibration: dict, title: str) -> None:
  """Reliability diagram: majority-answer accuracy per agreement bin against the diagonal."""
  bins = calibration["bins"]
  fig, ax = plt.subplots(figsize=(5, 4.2))
  ax.plot([0, 100], [0, 100], color="gray", linestyle="--", linewidth=1, label="calibrated")
  width = 100 / calibration["num_bins"]
  ax.bar([100 * b["lo"] for b in bins], [100 * b["accuracy"] for b in bins], width=width,
         align="edge", alpha=0.5, edgecolor="black", label="accuracy of the majority")
  ax.plot([100 * b["mean_agreement"] for b in bins], [100 * b["accuracy"] for b in bins], "o",
          color="black")
  for b in bins:
    ax.annotate(f"n={b['n']}", (100 * (b["lo"] + b["hi"]) / 2, 100 * b["accuracy"]),
                textcoords="offset points", xytext=(0, 4), ha="center", fontsize=7)
  ece = calibration["ece"]
  ax.set_xlim(0, 100)
  ax.set_ylim(0, 105)
  ax.set_xlabel("agreement: share of samples in the majority (%)")
  ax.set_ylabel("majority answer correct (%)")
  ax.set_title(f"{title}\nECE = {100 * ece:.1f} points" if ece is not None else title)
  ax.legend(loc="upper left", fontsize=8)
  ax.grid(alpha=0.3)
  fig.tight_layout()
  fig.savefig(path, dpi=100)
  plt.close(fig)


def monitoring_markdown(m: dict | None) -> list[str]:
  """The report's monitoring section (empty without several samples per problem)."""
  if not m:
    return []
  cal = m["calibration"]
  rules = m["rules"]
  lines = [f"## Monitoring ({m['num_problems']} problems with several samples)", "",
           "| figure | value (%) |", "|---|---|",
           f"| top-2 disagreement (runner-up holds >= {rules['runner_up_min_count']} samples "
           f"and >= {_pct(rules['runner_up_min_share'])}%) | "
           f"{_pct(m['top2_disagreement_rate'])} |",
           f"| any disagreement (>= 2 distinct answers) | {_pct(m['any_disagreement_rate'])} |",
           f"| majority answer passes relaxed, fails strict | "
           f"{_pct(m['majority_relaxed_not_strict_rate'])} |",
           f"| escalated (any reason) | {_pct(m['escalation_rate'])} |"]
  for reason, rate in m["escalation_rate_by_reason"].items():
    lines.append(f"| escalated: {reason} | {_pct(rate)} |")
  lines += ["", f"Escalation uses `solve`'s rule (agreement below "
            f"{_pct(rules['min_agreement'])}% is low); not checked here: "
            f"{', '.join(m['reasons_not_checked'])}.", "",
            f"Calibration ({m['mode']} verdicts of the majority answer): expected calibration "
            f"error **{_pct(cal['ece'])}** points.", "",
            "| agreement bin | problems | mean agreement | accuracy |", "|---|---|---|---|"]
  for b in cal["bins"]:
    lines.append(f"| {_pct(b['lo'])}-{_pct(b['hi'])} | {b['n']} | {_pct(b['mean_agreement'])} "
                 f"| {_pct(b['accuracy'])} |")
  return lines + [""]


def _plot_temperature(path: str, rows: list[dict], title: str) -> None:
  fig, ax = plt.subplots(figsize=(6, 4))
  ts = [r["temperature"] for r in rows]
  for key in ("pass@1", "maj@n", "pass@n"):
    ax.plot(ts, [100 * (r[key] or 0) for r in rows], "o-", label=key)
  ax.set_xlabel("temperature")
  ax.set_ylabel("accuracy (%)")
  ax.set_title(title)
  ax.legend()
  ax.grid(alpha=0.3)
  fig.tight_layout()
  fig.savefig(path, dpi=100)
  plt.close(fig)


def _markdown(report: dict[str, Any]) -> str:
  s = report["summary"]
  o = s["overall"]
  lines = [f"# Evaluation report: {report['benchmark']} ({report.get('split', 'test')})", ""]
  src = report.get("source", {})
  if src:
    lines += [f"Source: `{json.dumps(src, sort_keys=True)}`", ""]
  lines += [
      f"Headline mode: **{s['mode']}**. Top-1 accuracy: **{_pct(s['headline_top1'])}%** over "
      f"{s['num_problems']} problems ({s['num_missing']} without a response, counted wrong).", "",
      "| metric | value (%) |", "|---|---|",
      f"| top-1 (relaxed) | {_pct(o['top1'])} |",
      f"| top-1 (strict) | {_pct(o['top1_strict'])} |",
      f"| strict-vs-relaxed gap | {_pct(s['strict_relaxed_gap'])} |",
  ]
  for k in s["ks"]:
    lines.append(f"| maj@{k} ({s['mode']}) | {_pct(o[f'maj@{k}'])} |")
  for k in s["ks"]:
    lines.append(f"| pass@{k} ({s['mode']}) | {_pct(o[f'pass@{k}'])} |")
  lines.append("")
  inp = report.get("input")
  if inp:
    lines += ["## Input accounting", "",
              "| lines | matched | malformed | unknown ids | duplicates | missing problems |",
              "|---|---|---|---|---|---|",
              f"| {inp['num_lines']} | {inp['num_matched']} | {inp['num_malformed']} | "
              f"{inp['num_unknown_ids']} | {inp['num_duplicates']} | "
              f"{inp['num_missing_problems']} |", ""]
    for lineno, why in inp["malformed_lines"]:
      lines.append(f"- line {lineno}: malformed: {why}")
    for lineno, pid in inp["unknown_id_lines"]:
      lines.append(f"- line {lineno}: unknown id `{pid}`")
    for lineno, pid in inp["duplicate_lines"]:
      lines.append(f"- line {lineno}: duplicate id `{pid}` (first occurrence kept)")
    lines.append("")
  k_top = s["ks"][-1] if s["ks"] else None
  for title, groups in (("By subject", s["by_subject"]), ("By level", s["by_level"])):
    if len(groups) < 2:
      continue
    extra = f" maj@{k_top} | pass@{k_top} |" if k_top else ""
    lines += [f"## {title}", "", "| group | n | top-1 | top-1 strict |" + extra,
              "|---|---|---|---|" + ("---|---|" if k_top else "")]
    for name, g in groups.items():
      row = f"| {name} | {g['n']} | {_pct(g['top1'])} | {_pct(g['top1_strict'])} |"
      if k_top:
        row += f" {_pct(g[f'maj@{k_top}'])} | {_pct(g[f'pass@{k_top}'])} |"
      lines.append(row)
    lines.append("")
  lines += ["## Verifier reasons (top-1)", "", "| reason | relaxed | strict |", "|---|---|---|"]
  for r in sorted(set(s["reasons_top1"]) | set(s["reasons_top1_strict"])):
    lines.append(f"| {r} | {s['reasons_top1'].get(r, 0)} | {s['reasons_top1_strict'].get(r, 0)} |")
  c = s["confidence"]
  lines += ["", "## Confidence signals", "",
            f"- mean answer agreement among samples: {_pct(c['mean_agreement'])}%",
            f"- problems whose samples disagree (agreement < {c['disagreement_threshold']}): "
            f"{c['num_disagreement']}",
            f"- top-1 accuracy where samples agree / disagree: {_pct(c['top1_when_agreeing'])}% / "
            f"{_pct(c['top1_when_disagreeing'])}%",
            f"- problems whose top-1 verdict differs between relaxed and strict: "
            f"{c['num_strict_relaxed_differ']}", ""]
  lines += monitoring_markdown(s.get("monitoring"))
  tools = report.get("tools")
  if tools:
    lines += ["## Tool-integrated reasoning", "",
              f"Prompt format `{report.get('source', {}).get('prompt_format', '?')}`; each "
              "```python block ran in the sandbox (deepseekmath_jax/tools).", "",
              "| figure | value |", "|---|---|"]
    for key, value in tools.items():
      shown = f"{value:.4g}" if isinstance(value, float) else value
      lines.append(f"| {key} | {shown} |")
    lines.append("")
  audit = report.get("audit", {})
  if "length_split" in audit:
    ls = audit["length_split"]
    lines += ["## Audit: problem length", "", f"Median question length: {ls['median_chars']} "
              "characters.", "", "| half | n | mean chars | top-1 | top-1 strict |",
              "|---|---|---|---|---|"]
    for half in ("short", "long"):
      g = ls[half]
      if g:
        lines.append(f"| {half} | {g['n']} | {g['mean_chars']:.0f} | {_pct(g['top1'])} | "
                     f"{_pct(g['top1_strict'])} |")
    lines.append("")
  if "error_taxonomy" in audit:
    et = audit["error_taxonomy"]
    lines += ["## Audit: error taxonomy (top-1)", "", "| reason | count | share (%) |",
              "|---|---|---|"]
    for r, n in et["counts"].items():
      lines.append(f"| {r} | {n} | {_pct(et['shares'][r])} |")
    if et["strict_only_failures"]:
      lines += ["", "Accepted by relaxed, rejected by strict: " + ", ".join(
          f"{r} {n}" for r, n in et["strict_only_failures"].items())]
    lines += ["", "Examples:", ""]
    for r, exs in et["examples"].items():
      for ex in exs:
        lines.append(f"- {r}: `{ex['id']}` pred `{ex['pred']}` ref `{ex['ref']}`")
    lines.append("")
  if "temperature_sweep" in audit:
    lines += ["## Audit: temperature sweep", "",
              "| T | n | pass@1 | maj@n | pass@n | agreement | no answer |",
              "|---|---|---|---|---|---|---|"]
    for r in audit["temperature_sweep"]:
      lines.append(f"| {r['temperature']} | {r['n']} | {_pct(r['pass@1'])} | {_pct(r['maj@n'])} "
                   f"| {_pct(r['pass@n'])} | {_pct(r['mean_agreement'])} | "
                   f"{_pct(r['no_answer_rate'])} |")
    lines.append("")
  if "paraphrase" in audit:
    pp = audit["paraphrase"]
    lines += ["## Audit: prompt paraphrases", "", "| template | top-1 |", "|---|---|"]
    for name, acc in pp["accuracy_by_template"].items():
      lines.append(f"| {name} | {_pct(acc)} |")
    lines += ["", f"Spread: {_pct(pp['accuracy_spread'])} points; problems that flip between "
              f"wordings: {_pct(pp['flip_rate'])}%.", ""]
  lines += ["## Plots", ""] + [f"![{p}]({p})" for p in report.get("plots", [])]
  return "\n".join(lines) + "\n"


def write_report(report: dict[str, Any], problem_rows: list[dict], output_dir: str) -> list[str]:
  """Writes the report files into output_dir; returns the paths written."""
  os.makedirs(output_dir, exist_ok=True)
  s = report["summary"]
  name = report["benchmark"]
  plots = []
  if len(s["by_subject"]) > 1:
    _plot_groups(os.path.join(output_dir, "accuracy_by_subject.png"), s["by_subject"],
                 f"{name}: top-1 accuracy by subject")
    plots.append("accuracy_by_subject.png")
  if len(s["by_level"]) > 1:
    _plot_groups(os.path.join(output_dir, "accuracy_by_level.png"), s["by_level"],
                 f"{name}: top-1 accuracy by level")
    plots.append("accuracy_by_level.png")
  if len(s["ks"]) > 1:
    _plot_k_curves(os.path.join(output_dir, "k_curves.png"), s, f"{name}: maj@k and pass@k")
    plots.append("k_curves.png")
  _plot_reasons(os.path.join(output_dir, "reasons.png"), s, f"{name}: verifier reasons (top-1)")
  plots.append("reasons.png")
  if s.get("monitoring"):
    plot_calibration(os.path.join(output_dir, "calibration.png"), s["monitoring"]["calibration"],
                     f"{name}: accuracy vs agreement")
    plots.append("calibration.png")
  audit = report.get("audit", {})
  if audit.get("temperature_sweep"):
    _plot_temperature(os.path.join(output_dir, "temperature_sweep.png"),
                      audit["temperature_sweep"], f"{name}: accuracy vs temperature")
    plots.append("temperature_sweep.png")
  if audit.get("paraphrase"):
    accs = audit["paraphrase"]["accuracy_by_template"]
    _bar(os.path.join(output_dir, "paraphrase.png"), list(accs),
         {"top-1": [100 * (a or 0) for a in accs.values()]},
         f"{name}: top-1 by prompt wording", "accuracy (%)")
    plots.append("paraphrase.png")
  report = dict(report, plots=plots)

  paths = []
  path = os.path.join(output_dir, "report.json")
  with open(path, "w") as f:
    json.dump(report, f, indent=2, sort_keys=False)
  paths.append(path)
  path = os.path.join(output_dir, "report.md")
  with open(path, "w") as f:
    f.write(_markdown(report))
  paths.append(path)
  path = os.path.join(output_dir, "problems.jsonl")
  with open(path, "w") as f:
    for row in problem_rows:
      f.write(json.dumps(row, ensure_ascii=False) + "\n")
  paths.append(path)
  return paths + [os.path.join(output_dir, p) for p in plots]
