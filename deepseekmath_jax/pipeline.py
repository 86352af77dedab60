r"""The whole DeepSeekMath pipeline, end to end, as one resumable run: `run(config, workdir)`.

  python -m deepseekmath_jax.main --config=configs/pipeline.py:demo --workdir=runs/demo

The stages of arXiv:2402.03300 in order, each in its own sub-workdir of `workdir`:

  data           generated word problems with checked solutions, stdlib prose, planted
                 duplicates and contamination (demo/pool.py)
  corpus         the corpus engine on that pool: classifier recall, dedup, decontamination
                 against the held-out problems (§2.1; corpus/pipeline.py)
  tokenizer      SentencePiece BPE trained on the kept corpus (digits split, §1.4)
  pretrain       a small model from scratch on the corpus (the continued-pretraining stage
                 at toy scale, §2.3; trainers/pretrain.py)
  sft            chat-format chain-of-thought SFT from the pretrained model (§3.2)
  grpo           GRPO with the verifier's rule reward on RL questions (§4; trainers/grpo.py)
  eval_pretrain  evaluation of each checkpoint on the held-out problems with one decoding
  eval_sft       setup: the zero-shot chat CoT prompt, greedy top-1, and n samples at one
  eval_grpo      temperature for maj@k / pass@k (§5.1, Fig. 7; evaluation/run.py)
  solve          `solve` on the first held-out problems with the GRPO checkpoint: band, majority
                 answer, agreement, verifier status, escalation (deepseekmath_jax/solve)
  report         report.md, report.json and PNG plots in `workdir` (demo/report.py)

Each stage writes `<stage>/DONE.json` (its summary and wall time) when it finishes; a restarted
run skips finished stages, and the trainers inside a stage resume from their own checkpoints,
so killing the run at any moment loses at most the work since a trainer's last checkpoint.
Trainer configs are the stage's own config file (configs/corpus.py, configs/grpo.py) or the
shared `config_lib.trainer_config` helper, with the demo's settings from `config` on top.
"""

from __future__ import annotations

import importlib.util
import json
import os
import time
from pathlib import Path
from typing import Any, Callable

import ml_collections
from absl import logging

from deepseekmath_jax import config_lib
from deepseekmath_jax.demo import pool

STAGES = ("data", "corpus", "tokenizer", "pretrain", "sft", "grpo", "eval_pretrain",
          "eval_sft", "eval_grpo", "solve", "report")
EVALUATED = ("pretrain", "sft", "grpo")
DONE_FILE = "DONE.json"
BENCHMARK = "demo_word_problems"
# A solution is one paragraph, so a blank line ends a completion, for every checkpoint alike
# (it also ends the chat turn, "\n\nUser:"). The pretrained model would otherwise go on to the
# next "Question:" of its documents, as base models do under few-shot prompts (§5.4).
STOP_STRINGS = ("\n\n",)
# Share of the demo's wall time each stage took on the reference run; only for the ETA.
_STAGE_WEIGHTS = dict(data=0.002, corpus=0.006, tokenizer=0.001, pretrain=0.15, sft=0.022,
                      grpo=0.77, eval_pretrain=0.02, eval_sft=0.014, eval_grpo=0.014,
                      solve=0.004, report=0.001)
_CONFIGS_DIR = Path(__file__).resolve().parents[1] / "configs"


def stage_dir(workdir: str, stage: str) -> str:
  return os.path.join(workdir, stage)


def read_done(workdir: str, stage: str) -> dict[str, Any] | None:
  path = os.path.join(stage_dir(workdir, stage), DONE_FILE)
  if not os.path.exists(path):
    return None
  with open(path, encoding="utf-8") as f:
    return json.load(f)


def _write_done(workdir: str, stage: str, summary: dict[str, Any]) -> None:
  path = os.path.join(stage_dir(workdir, stage), DONE_FILE)
  with open(path + ".tmp", "w", encoding="utf-8") as f:
    json.dump(summary, f, indent=1, default=str)
  os.replace(path + ".tmp", path)


def base_config(name: str, arg: str) -> ml_collections.ConfigDict:
  """`configs/<name>.py:get_config(arg)`, the stage's own defaults (loaded like main.py does)."""
  path = _CONFIGS_DIR / f"{name}.py"
  spec = importlib.util.spec_from_file_location(f"pipeline_configs_{name}", path)
  module = importlib.util.module_from_spec(spec)
  spec.loader.exec_module(module)
  return module.get_config(arg)


# ----------------------------------------------------------------------------------------------
# Stage configs (pure: config + workdir -> the stage's config)
# ----------------------------------------------------------------------------------------------


def corpus_config(config: ml_collections.ConfigDict, workdir: str) -> ml_collections.ConfigDict:
  data = stage_dir(workdir, "data")
  c = base_config("corpus", "tiny")
  c.seed = config.seed
  c.pool = os.path.join(data, "pool.jsonl")
  c.seed_path = os.path.join(data, "seed.jsonl")
  c.seed_max_docs = 0
  c.negative_path = os.path.join(data, "negatives.jsonl")
  c.recall.negatives_per_positive = config.corpus.negatives_per_positive
  c.num_workers = config.corpus.num_workers
  c.num_shards = config.corpus.num_shards
  c.recall.iterations = config.corpus.recall_iterations
  c.classifier.dim = config.corpus.classifier_dim
  c.classifier.epochs = config.corpus.classifier_epochs
  c.decontam.ngram = config.data.decontam_ngram
  c.decontam.benchmarks = f"{BENCHMARK}={os.path.join(data, 'eval.jsonl')}:question"
  return c


def _tokenizer_path(workdir: str) -> str:
  return os.path.join(stage_dir(workdir, "tokenizer"), "tokenizer.model")


def trainer_config(config: ml_collections.ConfigDict, workdir: str,
                   stage: str) -> ml_collections.ConfigDict:
  """The pretrain or SFT trainer's config (the keys trainers/pretrain.py reads)."""
  s = config[stage]
  if stage == "pretrain":
    source = config_lib.source_config("array_record",
                                      path=os.path.join(stage_dir(workdir, "corpus"), "shards"))
    data = config_lib.data_config("pretrain", dict(corpus=source))
    data.eval_holdout_records = 64       # held-out documents for the loss curve
    opt = config_lib.opt_config(schedule="multistep", peak_lr=s.peak_lr,
                                warmup_steps=s.warmup_steps)
  else:
    source = config_lib.source_config("jsonl", path=os.path.join(stage_dir(workdir, "data"),
                                                                 "sft.jsonl"))
    data = config_lib.data_config("sft", dict(sft=source))
    data.mixture_unit = "documents"
    opt = config_lib.opt_config(schedule="constant", peak_lr=s.peak_lr, warmup_steps=0)
  data.eval_max_batches = 2
  data.read_threads = 1
  tokenizer = config_lib.tokenizer_config("sentencepiece", path=_tokenizer_path(workdir))
  recipe = dict(model="tiny", steps=s.steps, checkpoint_every=max(1, s.steps // 4),
                batch_size=s.batch_size, seq_len=s.seq_len, num_microbatches=1)
  c = config_lib.trainer_config(stage=stage, recipe=recipe, data=data, tokenizer=tokenizer,
                                opt=opt, tiny=True)
  c.seed = config.seed
  c.model = ml_collections.ConfigDict(config.model.to_dict())
  c.log_every = max(1, s.steps // 30)
  c.eval.every = s.eval_every if stage == "pretrain" else 0
  c.ckpt.async_save = False
  if stage == "sft":
    c.init_from = stage_dir(workdir, "pretrain")
  return c


def grpo_config(config: ml_collections.ConfigDict, workdir: str) -> ml_collections.ConfigDict:
  """configs/grpo.py's CPU defaults with the demo's model, data and RL settings."""
  s = config.grpo
  c = base_config("grpo", "tiny")
  c.seed = config.seed
  c.model = ml_collections.ConfigDict(config.model.to_dict())
  c.tokenizer = config_lib.tokenizer_config("sentencepiece", path=_tokenizer_path(workdir))
  c.init_from = stage_dir(workdir, "sft")
  c.total_steps = s.steps
  c.num_iterations = s.num_iterations
  c.checkpoint_every = max(1, s.steps // 4)
  c.group_size = s.group_size
  c.batch_size = s.questions_per_step * s.group_size
  c.questions.sources = ml_collections.ConfigDict(dict(rl=config_lib.source_config(
      "jsonl", path=os.path.join(stage_dir(workdir, "data"), "rl.jsonl"),
      prompt_field="question", response_field="answer")))
  c.questions.max_prompt_len = config.eval.max_prompt_len
  c.grpo = ml_collections.ConfigDict(s.loss.to_dict())
  c.rollout = ml_collections.ConfigDict(s.rollout.to_dict())
  c.rollout.stop_strings = STOP_STRINGS
  c.reward = ml_collections.ConfigDict(s.reward.to_dict())
  c.reward_model = ml_collections.ConfigDict(s.reward_model.to_dict())
  c.reward_model.model = ml_collections.ConfigDict(config.model.to_dict())
  c.opt.peak_lr = s.peak_lr
  c.opt.schedule = s.lr_schedule
  c.ckpt.async_save = False
  return c


# ----------------------------------------------------------------------------------------------
# Stages
# ----------------------------------------------------------------------------------------------


def _stage_data(config, workdir, out):
  cfg = ml_collections.ConfigDict(config.data.to_dict())
  cfg.seed = config.seed
  return pool.build(cfg, out)


def _stage_corpus(config, workdir, out):
  from deepseekmath_jax.corpus import pipeline as corpus_pipeline  # pylint: disable=g-import-not-at-top
  report = corpus_pipeline.run(corpus_config(config, workdir), out)
  return {k: report[k] for k in ("documents_in", "documents_out", "dropped") if k in report}


def _stage_tokenizer(config, workdir, out):
  from deepseekmath_jax.corpus import shards  # pylint: disable=g-import-not-at-top
  from deepseekmath_jax.data import tokenizer as tokenizer_lib  # pylint: disable=g-import-not-at-top
  texts = []
  for doc in shards.read_corpus(stage_dir(workdir, "corpus")):
    texts.append(doc["text"])
    if len(texts) >= config.tokenizer.train_num_docs:
      break
  tok = tokenizer_lib.train_sentencepiece(texts, _tokenizer_path(workdir)[:-len(".model")],
                                          config.tokenizer.vocab_size, byte_fallback=True)
  if tok.vocab_size > config.model.vocab_size:
    raise ValueError(f"tokenizer has {tok.vocab_size} pieces > config.model.vocab_size="
                     f"{config.model.vocab_size}")
  return dict(vocab_size=tok.vocab_size, documents=len(texts), path=_tokenizer_path(workdir))


def _stage_trainer(stage: str):
  def run_stage(config, workdir, out):
    from deepseekmath_jax.trainers import pretrain  # pylint: disable=g-import-not-at-top
    return pretrain.run(trainer_config(config, workdir, stage), out)
  return run_stage


def _stage_grpo(config, workdir, out):
  from deepseekmath_jax.trainers import grpo  # pylint: disable=g-import-not-at-top
  summary = grpo.run(grpo_config(config, workdir), out)
  return {k: summary.get(k) for k in ("start_step", "step", "counters", "preempted")}


def load_checkpoint_model(config: ml_collections.ConfigDict, run_dir: str, mesh, rules):
  """The newest parameters of a trainer workdir, as a `Transformer` on `mesh`."""
  from deepseekmath_jax.evaluation import generate  # pylint: disable=g-import-not-at-top
  return generate.load_model(run_dir, config.model, mesh, rules, config.seed)


def make_generate_fn(config: ml_collections.ConfigDict, model, tokenizer, mesh, rules,
                     label: str) -> Callable[[list[str], int, float], list[list[str]]]:
  """`generate_fn(prompts, n, temperature)` for evaluation.run, with progress lines.

  The sampling key depends only on the seed, so every checkpoint is decoded identically.
  """
  from deepseekmath_jax.evaluation import generate  # pylint: disable=g-import-not-at-top
  e = config.eval
  return generate.make_generate_fn(
      model, tokenizer, batch_size=e.batch_size, max_new_tokens=e.max_new_tokens,
      max_prompt_len=e.max_prompt_len, stop_strings=STOP_STRINGS, seed=config.seed, mesh=mesh,
      rules=rules, label=label)


def _stage_eval(evaluated: str):
  def run_stage(config, workdir, out):
    from deepseekmath_jax import sharding  # pylint: disable=g-import-not-at-top
    from deepseekmath_jax.data import tokenizer as tokenizer_lib  # pylint: disable=g-import-not-at-top
    from deepseekmath_jax.evaluation import run as eval_run  # pylint: disable=g-import-not-at-top
    rules = config_lib.AXIS_RULES
    mesh = sharding.make_mesh(config_lib.mesh_config(data=-1))
    tokenizer = tokenizer_lib.SentencePieceTokenizer.load(_tokenizer_path(workdir))
    model = load_checkpoint_model(config, stage_dir(workdir, evaluated), mesh, rules)
    problems = pool.read_eval_problems(stage_dir(workdir, "data"), config.eval.num_problems)
    generate_fn = make_generate_fn(config, model, tokenizer, mesh, rules, f"eval_{evaluated}")
    report = eval_run.evaluate_model(
        BENCHMARK, problems, generate_fn, split="heldout", prompt_format="zero_shot_cot",
        num_samples=config.eval.num_samples, temperature=config.eval.temperature,
        output_dir=out)
    return summarize_eval(report)
  return run_stage


def summarize_eval(report: dict[str, Any]) -> dict[str, Any]:
  """The figures report.json keeps per evaluated stage."""
  s = report["summary"]
  overall = s["overall"]
  ks = s["ks"]
  k = max(ks) if ks else 0
  return dict(
      greedy_accuracy=overall["top1"], maj_at_k=overall.get(f"maj@{k}"),
      pass_at_k=overall.get(f"pass@{k}"), k=k, n_problems=s["num_problems"],
      maj_curve={str(j): overall[f"maj@{j}"] for j in ks},
      pass_curve={str(j): overall[f"pass@{j}"] for j in ks},
      by_template={t: g["top1"] for t, g in s["by_subject"].items()},
      by_steps={lv: g["top1"] for lv, g in s["by_level"].items()},
      reasons_top1=s["reasons_top1"], temperature=report["source"]["temperature"])


def solve_config(config: ml_collections.ConfigDict) -> ml_collections.ConfigDict:
  """configs/solve.py with the evaluation's decoding and the demo's model and stop strings.

  The demo model was never trained to write programs, so the tool band is off: a question with
  a tool cue is routed by the other rules (and the output says so).
  """
  c = base_config("solve", "")
  e = config.eval
  c.seed = config.seed
  c.k = config.solve.k
  c.temperature = e.temperature
  c.max_new_tokens = e.max_new_tokens
  c.max_prompt_len = e.max_prompt_len
  c.batch_size = e.batch_size
  c.stop_strings = STOP_STRINGS
  c.routing.tools = False
  c.model = ml_collections.ConfigDict(config.model.to_dict())
  return c


def _stage_solve(config, workdir, out):
  from deepseekmath_jax import sharding  # pylint: disable=g-import-not-at-top
  from deepseekmath_jax import solve as solve_lib  # pylint: disable=g-import-not-at-top
  from deepseekmath_jax.data import tokenizer as tokenizer_lib  # pylint: disable=g-import-not-at-top
  rules = config_lib.AXIS_RULES
  mesh = sharding.make_mesh(config_lib.mesh_config(data=-1))
  tokenizer = tokenizer_lib.SentencePieceTokenizer.load(_tokenizer_path(workdir))
  model = load_checkpoint_model(config, stage_dir(workdir, "grpo"), mesh, rules)
  problems = pool.read_eval_problems(stage_dir(workdir, "data"), config.solve.num_problems)
  solutions = solve_lib.solve_batch(
      [p.question for p in problems], model=model, tokenizer=tokenizer,
      references=[p.reference for p in problems], config=solve_config(config), mesh=mesh,
      rules=rules)
  with open(os.path.join(out, "solutions.jsonl"), "w", encoding="utf-8") as f:
    for problem, solution in zip(problems, solutions):
      f.write(json.dumps(dict(id=problem.id, **solution.to_json(with_samples=True)),
                         ensure_ascii=False) + "\n")
  by_reason: dict[str, int] = {}
  for solution in solutions:
    for reason in solution.escalation_reasons:
      by_reason[reason] = by_reason.get(reason, 0) + 1
  return dict(
      checkpoint="grpo", n_problems=len(solutions),
      escalated=sum(s.escalate for s in solutions), escalated_by_reason=by_reason,
      majority_correct=sum(s.verifier_status["status"] == "correct" for s in solutions),
      bands={band: sum(s.band == band for s in solutions) for band in solve_lib.BANDS},
      rows=[dict(id=p.id, band=s.band, answer=s.answer, reference=s.verifier_status["reference"],
                 verifier=s.verifier_status["status"], agreement=s.agreement,
                 num_samples=s.num_samples, escalation_reasons=list(s.escalation_reasons))
            for p, s in zip(problems, solutions)])


def _stage_report(config, workdir, out):
  from deepseekmath_jax.demo import report as report_lib  # pylint: disable=g-import-not-at-top
  del out
  return report_lib.write(config, workdir, {s: read_done(workdir, s) for s in STAGES[:-1]})


_RUNNERS = dict(data=_stage_data, corpus=_stage_corpus, tokenizer=_stage_tokenizer,
                pretrain=_stage_trainer("pretrain"), sft=_stage_trainer("sft"),
                grpo=_stage_grpo, eval_pretrain=_stage_eval("pretrain"),
                eval_sft=_stage_eval("sft"), eval_grpo=_stage_eval("grpo"),
                solve=_stage_solve, report=_stage_report)


def _clock(seconds: float) -> str:
  seconds = int(max(seconds, 0))
  return f"{seconds // 3600}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"


def reuse_stages(config: ml_collections.ConfigDict, workdir: str) -> list[str]:
  """Links `config.reuse_stages` finished in `config.reuse_from` into `workdir`.

  Experiments that differ only from some stage on (an RL method, a KL coefficient) share one
  run's data, tokenizer, pretraining and SFT this way instead of repeating them. A linked stage
  is read, never written: every stage after it runs in `workdir` itself.
  """
  if not config.reuse_from:
    return []
  source = os.path.abspath(config.reuse_from)
  linked = []
  for stage in config.reuse_stages:
    if stage not in STAGES:
      raise ValueError(f"config.reuse_stages: unknown stage {stage!r}; stages: {STAGES}")
    if read_done(source, stage) is None:
      raise ValueError(f"config.reuse_from={config.reuse_from!r}: stage {stage!r} is not "
                       f"finished there (no {stage}/{DONE_FILE})")
    target = stage_dir(workdir, stage)
    if os.path.islink(target) and os.path.realpath(target) == os.path.realpath(
        stage_dir(source, stage)):
      continue
    if os.path.exists(target):
      raise ValueError(f"config.reuse_from: {target} exists; reuse needs a fresh workdir")
    os.symlink(stage_dir(source, stage), target)
    linked.append(stage)
  return linked


def run(config: ml_collections.ConfigDict, workdir: str) -> dict[str, Any]:
  """Runs every unfinished stage in order; returns {stage: its DONE summary}."""
  os.makedirs(workdir, exist_ok=True)
  if config.stop_after and config.stop_after not in STAGES:
    raise ValueError(f"config.stop_after={config.stop_after!r}: not a stage; stages: {STAGES}")
  for stage in reuse_stages(config, workdir):
    logging.info("pipeline: %s reused from %s", stage, config.reuse_from)
  start = time.perf_counter()
  done_weight, spent = 0.0, 0.0   # over stages run in this process, for the ETA
  results = {}
  for index, stage in enumerate(STAGES, 1):
    previous = read_done(workdir, stage)
    if previous is not None:
      logging.info("pipeline [%d/%d] %s: already done (%.0f s), skipped", index, len(STAGES),
                   stage, previous.get("seconds", 0.0))
      results[stage] = previous
      if stage == config.stop_after:
        return results
      continue
    remaining = sum(_STAGE_WEIGHTS[s] for s in STAGES[index - 1:] if read_done(workdir, s) is None)
    eta = f"ETA {_clock(spent / done_weight * remaining)}" if done_weight else "ETA ?"
    logging.info("pipeline [%d/%d] %s: starting; elapsed %s, %s", index, len(STAGES), stage,
                 _clock(time.perf_counter() - start), eta)
    out = stage_dir(workdir, stage)
    os.makedirs(out, exist_ok=True)
    t0 = time.perf_counter()
    summary = _RUNNERS[stage](config, workdir, out) or {}
    seconds = time.perf_counter() - t0
    if summary.get("preempted"):
      # The trainer saved its state; the stage is not done and resumes on the next start.
      logging.warning("pipeline: %s preempted after %s; run again to resume", stage,
                      _clock(seconds))
      results[stage] = summary
      return results
    summary = dict(summary, seconds=round(seconds, 1))
    _write_done(workdir, stage, summary)
    results[stage] = read_done(workdir, stage)  # as a restart will read it
    done_weight += _STAGE_WEIGHTS[stage]
    spent += seconds
    logging.info("pipeline [%d/%d] %s: done in %s", index, len(STAGES), stage, _clock(seconds))
    if stage == config.stop_after:
      logging.info("pipeline: stopped after %s (config.stop_after); %s this run", stage,
                    _clock(time.perf_counter() - start))
      return results
  logging.info("pipeline: all stages done; %s this run; report in %s",
               _clock(time.perf_counter() - start), os.path.join(workdir, "report.md"))
  return results
