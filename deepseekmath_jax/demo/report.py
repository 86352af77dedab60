r"""The pipeline's report: `<workdir>/report.json`, `report.md` and PNG plots.

It gathers what every stage left behind (each stage's DONE.json, the trainers'
metrics.jsonl, the corpus report, the evaluation reports) and states the two findings the demo
exists to check, with their numbers:

* GRPO's gain: held-out greedy accuracy of the GRPO checkpoint minus the SFT checkpoint's,
  under identical decoding (the paper's Table 5 comparison of Instruct and RL), and whether it
  is at least 10 points.
* Fig. 7 of arXiv:2402.03300: RL raises maj@K but not pass@K ("RL enhances Maj@K but not
  Pass@K"; it makes the output distribution more robust rather than adding capability). We
  report the change of both from SFT to GRPO at the largest k, and whether maj@k rose more.

It also shows `solve` (deepseekmath_jax/solve) answering a few held-out problems with the GRPO
checkpoint (band, majority answer, agreement, verifier status, escalation), and the monitoring
figures of each checkpoint's evaluation (top-2 disagreement, majority answers that pass relaxed
but fail strict, escalation rate, expected calibration error; evaluation/monitoring.py).

Plots: losses.png (pretraining train/held-out loss, SFT loss), grpo.png (reward, KL,
completion length, accuracy and the share of written equations that are right, per step),
accuracy_by_stage.png (greedy, maj@k, pass@k per checkpoint), k_curves.png (maj@k and pass@k
against k per checkpoint), calibration.png (the GRPO checkpoint's majority-answer accuracy
against sample agreement).
"""

from __future__ import annotations

import json
import os
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # pylint: disable=g-import-not-at-top,wrong-import-position

from deepseekmath_jax import metrics as metrics_lib  # pylint: disable=wrong-import-position
from deepseekmath_jax.evaluation import report as eval_report  # pylint: disable=wrong-import-position
from deepseekmath_jax.verifier import steps as verifier_steps  # pylint: disable=wrong-import-position

EVALUATED = ("pretrain", "sft", "grpo")
GAIN_TARGET_POINTS = 10.0


def _metrics(workdir: str, stage: str) -> list[dict[str, Any]]:
  path = os.path.join(workdir, stage, "metrics.jsonl")
  return metrics_lib.read_metrics(path) if os.path.exists(path) else []


def _series(records: list[dict[str, Any]], key: str) -> tuple[list[int], list[float]]:
  pairs = [(r["step"], r[key]) for r in records if r.get(key) is not None]
  return [p[0] for p in pairs], [p[1] for p in pairs]


def _pct(x: float | None) -> str:
  return "–" if x is None else f"{100 * x:.1f}%"


def corpus_summary(workdir: str) -> dict[str, Any]:
  """Corpus counts and whether the planted duplicates and contamination were removed."""
  from deepseekmath_jax.corpus import shards  # pylint: disable=g-import-not-at-top
  with open(os.path.join(workdir, "data", "manifest.json"), encoding="utf-8") as f:
    manifest = json.load(f)
  with open(os.path.join(workdir, "corpus", "report.json"), encoding="utf-8") as f:
    corpus = json.load(f)
  kept = [d for d in shards.read_corpus(os.path.join(workdir, "corpus"))]
  kept_urls = {d["url"] for d in kept}
  # A duplicate pair is resolved when at most one of its two documents was kept (dedup keeps
  # the first of a group in pool order, which may be the copy).
  planted = {kind: dict(planted=len(pairs), removed=sum(
      not (p["copy"] in kept_urls and p["original"] in kept_urls) for p in pairs))
             for kind, pairs in (("exact_duplicates", manifest["planted_exact_duplicates"]),
                                 ("near_duplicates", manifest["planted_near_duplicates"]))}
  urls = manifest["planted_contaminated"]
  planted["contaminated"] = dict(planted=len(urls), removed=sum(u not in kept_urls for u in urls))
  math_kept = sum(u.startswith("https://worksheets.") for u in kept_urls)
  prose_kept = sum(u.startswith("https://docs.") for u in kept_urls)
  return dict(
      documents_in=corpus.get("documents_in"), documents_out=corpus.get("documents_out"),
      dropped=corpus.get("dropped"), planted=planted,
      math_documents_in_pool=manifest["math_documents"], math_documents_kept=math_kept,
      prose_documents_in_pool=manifest["prose_documents"], prose_documents_kept=prose_kept,
      sft_examples=manifest["sft_examples"], sft_decontaminated=manifest["sft_decontaminated"],
      rl_questions=manifest["rl_questions"], rl_decontaminated=manifest["rl_decontaminated"],
      eval_problems=manifest["eval_problems"], decontam_ngram=manifest["decontam_ngram"])


def findings(evaluation: dict[str, dict[str, Any]]) -> dict[str, Any]:
  """GRPO-vs-SFT gain and the Fig. 7 maj@k-vs-pass@k comparison (points = percentage points)."""
  sft, rl = evaluation.get("sft"), evaluation.get("grpo")
  if not sft or not rl:
    return {}
  gain = 100 * (rl["greedy_accuracy"] - sft["greedy_accuracy"])
  maj = 100 * (rl["maj_at_k"] - sft["maj_at_k"])
  pas = 100 * (rl["pass_at_k"] - sft["pass_at_k"])
  return dict(grpo_greedy_gain_points=round(gain, 2),
              grpo_gain_at_least_10_points=bool(gain >= GAIN_TARGET_POINTS),
              k=rl["k"], maj_at_k_gain_points=round(maj, 2), pass_at_k_gain_points=round(pas, 2),
              maj_at_k_rose_more_than_pass_at_k=bool(maj > pas))


def _plot_losses(workdir: str, path: str) -> None:
  fig, axes = plt.subplots(1, 2, figsize=(10, 3.6))
  pt = _metrics(workdir, "pretrain")
  for key, label in (("loss", "train"), ("eval/loss", "held-out")):
    x, y = _series(pt, key)
    axes[0].plot(x, y, label=label, marker="." if label == "held-out" else None)
  axes[0].set_title("pretraining loss")
  x, y = _series(_metrics(workdir, "sft"), "loss")
  axes[1].plot(x, y, label="train (responses)")
  axes[1].set_title("SFT loss")
  for ax in axes:
    ax.set_xlabel("step")
    ax.legend()
    ax.grid(alpha=0.3)
  fig.tight_layout()
  fig.savefig(path, dpi=110)
  plt.close(fig)


def _plot_grpo(workdir: str, path: str) -> None:
  records = _metrics(workdir, "grpo")
  keys = (("reward_mean", "reward"), ("kl", "KL to reference"),
          ("completion_length_mean", "completion length (tokens)"),
          ("accuracy", "training accuracy (samples)"),
          ("arithmetic_accuracy", "written equations right (samples)"))
  fig, axes = plt.subplots(1, len(keys), figsize=(18, 3.3))
  for ax, (key, title) in zip(axes, keys):
    x, y = _series(records, key)
    ax.plot(x, y, alpha=0.35, label="per step")
    if len(y) >= 5:  # a step is only B questions: show the trend too
      window = 5
      smooth = [sum(y[i - window + 1:i + 1]) / window for i in range(window - 1, len(y))]
      ax.plot(x[window - 1:], smooth, label=f"mean of {window}")
      ax.legend(fontsize=7)
    ax.set_title(title)
    ax.set_xlabel("GRPO step")
    ax.grid(alpha=0.3)
  fig.tight_layout()
  fig.savefig(path, dpi=110)
  plt.close(fig)


def _plot_stages(evaluation: dict[str, dict[str, Any]], path: str) -> None:
  stages = [s for s in EVALUATED if s in evaluation]
  k = evaluation[stages[-1]]["k"] if stages else 0
  bars = (("greedy_accuracy", "greedy"), ("maj_at_k", f"maj@{k}"), ("pass_at_k", f"pass@{k}"))
  fig, ax = plt.subplots(figsize=(6.5, 3.8))
  width = 0.8 / len(bars)
  for i, (key, label) in enumerate(bars):
    xs = [j + (i - 1) * width for j in range(len(stages))]
    ys = [100 * (evaluation[s][key] or 0.0) for s in stages]
    ax.bar(xs, ys, width, label=label)
    for x, y in zip(xs, ys):
      ax.text(x, y + 0.5, f"{y:.0f}", ha="center", fontsize=8)
  ax.set_xticks(range(len(stages)), stages)
  ax.set_ylabel("held-out accuracy (%)")
  ax.set_title("accuracy by stage (identical decoding)")
  ax.legend()
  fig.tight_layout()
  fig.savefig(path, dpi=110)
  plt.close(fig)


def _plot_k_curves(evaluation: dict[str, dict[str, Any]], path: str) -> None:
  fig, ax = plt.subplots(figsize=(6.5, 3.8))
  for stage in EVALUATED:
    if stage not in evaluation:
      continue
    ev = evaluation[stage]
    ks = [int(k) for k in ev["maj_curve"]]
    line = ax.plot(ks, [100 * v for v in ev["maj_curve"].values()], marker="o",
                   label=f"{stage} maj@k")[0]
    ax.plot(ks, [100 * v for v in ev["pass_curve"].values()], marker="s", linestyle="--",
            color=line.get_color(), label=f"{stage} pass@k")
  ax.set_xscale("log", base=2)
  ax.set_xlabel("k (samples)")
  ax.set_ylabel("held-out accuracy (%)")
  ax.set_title("maj@k and pass@k (cf. arXiv:2402.03300 Fig. 7)")
  ax.legend(fontsize=7, ncol=3)
  ax.grid(alpha=0.3)
  fig.tight_layout()
  fig.savefig(path, dpi=110)
  plt.close(fig)


def monitoring_by_stage(workdir: str) -> dict[str, dict[str, Any]]:
  """Each evaluated checkpoint's monitoring figures, from its evaluation's report.json."""
  out = {}
  for stage in EVALUATED:
    path = os.path.join(workdir, f"eval_{stage}", "report.json")
    if not os.path.exists(path):
      continue
    with open(path, encoding="utf-8") as f:
      monitoring = json.load(f)["summary"].get("monitoring")
    if monitoring:
      out[stage] = monitoring
  return out


def _cell(text: str, limit: int = 40) -> str:
  """Model text as one Markdown table cell: one line, `|` escaped, at most `limit` chars."""
  text = " ".join(str(text).split())
  text = text if len(text) <= limit else text[:limit - 1] + "…"
  return text.replace("|", "\\|") or "–"


def _solve_markdown(solve: dict[str, Any] | None,
                    monitoring: dict[str, dict[str, Any]]) -> list[str]:
  lines = []
  if solve:
    n = solve["n_problems"]
    lines += ["## Answering single questions: `solve` on the GRPO checkpoint", "",
              f"`python -m deepseekmath_jax.solve` on the first {n} held-out problems: each is "
              "routed to a band (fast: at most 4 samples; slow: k), the samples vote by the "
              "verifier's answer key, and the answer is escalated to a human for the reasons "
              "listed (`solve/solutions.jsonl` has every sample).", "",
              "| problem | band | answer | reference | agreement | verifier | escalation |",
              "|---|---|---|---|---|---|---|"]
    for r in solve["rows"]:
      agree = f"{round(r['agreement'] * r['num_samples'])}/{r['num_samples']}"
      lines.append(f"| {r['id']} | {r['band']} | {_cell(r['answer'])} | "
                   f"{_cell(r['reference'])} | "
                   f"{agree} | {r['verifier']} | "
                   f"{', '.join(r['escalation_reasons']) or 'no'} |")
    lines += ["", f"Majority answer right on {solve['majority_correct']} of {n}; escalated "
              f"{solve['escalated']} of {n}.", ""]
  if monitoring:
    lines += ["## Monitoring: agreement, escalation and calibration", "",
              "Over each checkpoint's sampled solutions of the held-out problems, with "
              "`solve`'s escalation rule against the reference:", "",
              "| checkpoint | top-2 disagreement | majority passes relaxed, fails strict | "
              "escalated | expected calibration error |", "|---|---|---|---|---|"]
    for stage, m in monitoring.items():
      ece = m["calibration"]["ece"]
      lines.append(f"| {stage} | {_pct(m['top2_disagreement_rate'])} | "
                   f"{_pct(m['majority_relaxed_not_strict_rate'])} | "
                   f"{_pct(m['escalation_rate'])} | "
                   f"{'–' if ece is None else f'{100 * ece:.1f} points'} |")
    lines += ["", "![calibration](calibration.png)", ""]
  return lines


def _markdown(report: dict[str, Any]) -> str:
  ev, f, c = report["evaluation"], report["findings"], report["corpus"]
  k = f.get("k", max((e["k"] for e in ev.values()), default=0))
  n = max((e["n_problems"] for e in ev.values()), default=0)
  lines = [f"# DeepSeekMath pipeline demo ({report['variant']})", "",
           f"Every stage on one machine in {report['total_seconds'] / 60:.1f} minutes of stage "
           f"time: generated data → corpus engine → tokenizer → pretraining → SFT → GRPO → "
           f"evaluation of each checkpoint on {n} held-out problems with the same decoding "
           f"(zero-shot chat CoT prompt; greedy top-1; {k} samples at "
           f"T={report['eval_temperature']} for maj@{k} and pass@{k}).", "",
           "## Held-out accuracy by stage", "",
           f"| checkpoint | greedy | maj@{k} | pass@{k} | problems | written equations right "
           f"(greedy) |", "|---|---|---|---|---|---|"]
  for stage in EVALUATED:
    if stage in ev:
      e = ev[stage]
      lines.append(f"| {stage} | {_pct(e['greedy_accuracy'])} | {_pct(e['maj_at_k'])} | "
                   f"{_pct(e['pass_at_k'])} | {e['n_problems']} | "
                   f"{_pct(e.get('greedy_arithmetic_accuracy'))} |")
  lines += ["", "The last column is the share of `a op b = c` claims in the greedy solutions "
            "that are right (`verifier.steps`): a right answer can come from wrong steps.", "",
            "![accuracy by stage](accuracy_by_stage.png)", "![k curves](k_curves.png)", ""]
  if f:
    verdict = "yes" if f["grpo_gain_at_least_10_points"] else "no"
    fig7 = "yes" if f["maj_at_k_rose_more_than_pass_at_k"] else "no"
    lines += ["## Findings", "",
              f"- **GRPO vs SFT, greedy accuracy: {f['grpo_greedy_gain_points']:+.1f} points** "
              f"(at least {GAIN_TARGET_POINTS:.0f} points: {verdict}).",
              f"- **Fig. 7 (RL raises maj@K more than pass@K): {fig7}.** From SFT to GRPO, "
              f"maj@{k} changed by {f['maj_at_k_gain_points']:+.1f} points and pass@{k} by "
              f"{f['pass_at_k_gain_points']:+.1f} points.", ""]
  tpl = sorted({t for e in ev.values() for t in e["by_template"]})
  if tpl:
    lines += ["Greedy accuracy by problem template:", "",
              "| template | " + " | ".join(s for s in EVALUATED if s in ev) + " |",
              "|---|" + "---|" * len([s for s in EVALUATED if s in ev])]
    for t in tpl:
      lines.append(f"| {t} | " + " | ".join(_pct(ev[s]["by_template"].get(t)) for s in EVALUATED
                                             if s in ev) + " |")
    lines.append("")
  lines += _solve_markdown(report.get("solve"), report.get("monitoring", {}))
  lines += ["## Corpus engine", "",
            f"{c['documents_in']} pool documents in, {c['documents_out']} kept. Dropped: " +
            ", ".join(f"{k} {v}" for k, v in (c["dropped"] or {}).items() if v) + ".", "",
            f"- math documents kept: {c['math_documents_kept']} of "
            f"{c['math_documents_in_pool']}; stdlib prose kept: {c['prose_documents_kept']} of "
            f"{c['prose_documents_in_pool']}."]
  for kind, p in c["planted"].items():
    lines.append(f"- planted {kind.replace('_', ' ')}: {p['removed']} of {p['planted']} "
                 f"removed.")
  dropped = c["dropped"] or {}
  organic = dict(duplicate_near=dropped.get("duplicate_near", 0) -
                 c["planted"]["near_duplicates"]["removed"],
                 contaminated=dropped.get("contaminated", 0) -
                 c["planted"]["contaminated"]["removed"])
  lines.append(f"- beyond the planted ones: {organic['duplicate_near']} near-duplicates and "
               f"{organic['contaminated']} documents sharing a {c['decontam_ngram']}-word "
               f"window with a held-out question (generated problems with the same numbers "
               f"and names) were removed.")
  lines += [f"- SFT pairs: {c['sft_examples']} ({c['sft_decontaminated']} dropped by "
            f"{c['decontam_ngram']}-gram decontamination); RL questions: {c['rl_questions']} "
            f"({c['rl_decontaminated']} dropped).", "",
            "## Training", "", "![losses](losses.png)", "", "![GRPO](grpo.png)", "",
            "## Stage wall times", "", "| stage | seconds |", "|---|---|"]
  for stage, seconds in report["stage_seconds"].items():
    lines.append(f"| {stage} | {seconds:.0f} |")
  lines += ["", "Per-checkpoint evaluation reports (per-problem verdicts, reasons, plots): "
            "`eval_pretrain/`, `eval_sft/`, `eval_grpo/`. Corpus report: `corpus/report.md`.", ""]
  return "\n".join(lines)


def greedy_arithmetic_accuracy(eval_dir: str) -> float | None:
  """Share of the written equations in an evaluation's greedy solutions that are right."""
  path = os.path.join(eval_dir, "problems.jsonl")
  if not os.path.exists(path):
    return None
  with open(path, encoding="utf-8") as f:
    verdicts = [e.correct for line in f if line.strip()
                for e in verifier_steps.check_equations(json.loads(line).get("top1_response")
                                                        or "")]
  return sum(verdicts) / len(verdicts) if verdicts else None


def write(config: Any, workdir: str, done: dict[str, dict[str, Any] | None]) -> dict[str, Any]:
  """Writes report.json, report.md and the PNGs into `workdir`; returns a short summary."""
  evaluation = {s: {k: v for k, v in done[f"eval_{s}"].items() if k != "seconds"}
                for s in EVALUATED if done.get(f"eval_{s}")}
  for stage, e in evaluation.items():
    e["greedy_arithmetic_accuracy"] = greedy_arithmetic_accuracy(
        os.path.join(workdir, f"eval_{stage}"))
  stage_seconds = {s: d.get("seconds", 0.0) for s, d in done.items() if d}
  grpo_records = _metrics(workdir, "grpo")
  training = dict(
      pretrain_final_loss=done.get("pretrain", {}).get("loss"),
      pretrain_heldout_loss=done.get("pretrain", {}).get("eval/loss"),
      sft_final_loss=done.get("sft", {}).get("loss"),
      grpo_steps=len(grpo_records),
      grpo_reward_first=grpo_records[0].get("reward_mean") if grpo_records else None,
      grpo_reward_last=grpo_records[-1].get("reward_mean") if grpo_records else None,
      grpo_kl_last=grpo_records[-1].get("kl") if grpo_records else None)
  solve = done.get("solve")
  monitoring = monitoring_by_stage(workdir)
  report = dict(variant=config.variant, seed=config.seed,
                eval_temperature=config.eval.temperature, evaluation=evaluation,
                findings=findings(evaluation), corpus=corpus_summary(workdir), training=training,
                solve={k: v for k, v in solve.items() if k != "seconds"} if solve else None,
                monitoring=monitoring, stage_seconds=stage_seconds,
                total_seconds=sum(stage_seconds.values()))
  with open(os.path.join(workdir, "report.json"), "w", encoding="utf-8") as f:
    json.dump(report, f, indent=1)
  _plot_losses(workdir, os.path.join(workdir, "losses.png"))
  _plot_grpo(workdir, os.path.join(workdir, "grpo.png"))
  _plot_stages(evaluation, os.path.join(workdir, "accuracy_by_stage.png"))
  _plot_k_curves(evaluation, os.path.join(workdir, "k_curves.png"))
  files = ["report.json", "report.md", "losses.png", "grpo.png", "accuracy_by_stage.png",
           "k_curves.png"]
  last = [stage for stage in EVALUATED if stage in monitoring][-1:]
  if last:
    eval_report.plot_calibration(os.path.join(workdir, "calibration.png"),
                                 monitoring[last[0]]["calibration"],
                                 f"{last[0]} checkpoint: accuracy vs agreement")
    files.append("calibration.png")
  with open(os.path.join(workdir, "report.md"), "w", encoding="utf-8") as f:
    f.write(_markdown(report))
  return dict(findings=report["findings"], files=files)
