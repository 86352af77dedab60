r"""GRPO reinforcement learning, Algorithm 1 of arXiv:2402.03300: `run(config, workdir)`.

  python -m deepseekmath_jax.main --config=configs/grpo.py:tiny --workdir=/tmp/grpo_tiny

The loop, as in the paper's Algorithm 1 (iterative GRPO):

  for iteration = 1..I:                      (config.num_iterations; steps split evenly)
    π_ref ← π_θ                              (a frozen copy of the parameters, no gradients)
    for each step of the iteration:
      sample B questions; π_θold ← π_θ
      G completions per question from π_θold (rl/sampler.py, one shared prompt prefill)
      rewards (rl/rewards.py, in a background thread) while the device computes the
        π_θold and π_ref log-probs of the same completions
      [dynamic sampling: rounds of `questions_per_round` questions (more than B oversamples),
        groups whose rewards are all equal dropped, at most `max_sampling_rounds` rounds;
        the log-probs are then computed for the B kept groups only; every drop is counted]
      one jitted update: group advantages (vmapped over groups) and μ passes over M
        minibatches of the GRPO loss (rl/grpo_step.py)
    [a reward model, when used, is retrained on the iteration's rule-judged samples with
     10% replay of historical data (§4.1.4); see reward_model.py]

With `config.grpo.tools.enabled` the rollouts are tool-integrated (rl/tool_rollout.py): the
policy's ```python blocks run in a sandbox (deepseekmath_jax/tools) and their output blocks
are appended; those output tokens are the environment's, so `model_token_mask` removes them
from the loss mask (no loss, no KL, no token count). With several processes only process 0
has a sandbox; it runs the programs and broadcasts their results (tool_rollout.run_programs).

One "step" is one exploration stage: B·G completions (config.batch_size) and μ·M optimizer
updates. Checkpoints hold params, optimizer state, the reference params, the reward model, the
step (the iteration follows from it), the question iterator's state and the counters, so a run
killed at any point continues exactly (sampling keys are `fold_in(seed, step, round)`; the rule
reward is deterministic). Metrics go to metrics.jsonl and TensorBoard with TRL/verl names.
"""

from __future__ import annotations

import functools
import os
import signal
import time
from typing import Any

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
from absl import logging
from flax import nnx

from deepseekmath_jax import checkpoint as checkpoint_lib
from deepseekmath_jax import data as data_lib
from deepseekmath_jax import config_lib
from deepseekmath_jax import metrics as metrics_lib
from deepseekmath_jax import sharding
from deepseekmath_jax.model import Transformer
from deepseekmath_jax.rl import grpo_lib
from deepseekmath_jax.rl import grpo_step
from deepseekmath_jax.rl import questions as questions_lib
from deepseekmath_jax.rl import reward_model as rm_lib
from deepseekmath_jax.rl import rewards as rewards_lib
from deepseekmath_jax.rl import sampler
from deepseekmath_jax.rl import tool_rollout
from deepseekmath_jax.trainers import pretrain
from deepseekmath_jax.trainers import train_lib
from deepseekmath_jax.verifier import steps as verifier_steps

CHECKPOINT_DIR = "checkpoints"
_COUNTERS = ("prompts_truncated", "prompts_dropped", "questions_bad_records", "questions_read",
             "dropped_groups", "surplus_groups", "underfilled_groups", "sampling_rounds",
             "reward_failures", "reward_timeouts", "verifier_timeouts", "empty_completions",
             "skipped_updates")


# ----------------------------------------------------------------------------------------------
# Configuration checks
# ----------------------------------------------------------------------------------------------


def check_config(config: ml_collections.ConfigDict) -> None:
  """Clear errors naming the key, before anything expensive happens."""
  if config.stage != "grpo":
    raise ValueError(f"config.stage={config.stage!r}: this trainer runs 'grpo'")
  G = int(config.group_size)
  if G < 2:
    raise ValueError(f"config.group_size={G}: GRPO needs G >= 2 samples per question (the "
                     "advantage is relative to the group; one sample has nothing to compare "
                     "with)")
  if config.batch_size % G:
    raise ValueError(f"config.batch_size={config.batch_size} completions is not divisible by "
                     f"config.group_size={G}: a step holds whole groups")
  B = config.batch_size // G
  if B % config.grpo.num_minibatches:
    raise ValueError(f"config.batch_size/config.group_size = {B} questions per step is not "
                     f"divisible by config.grpo.num_minibatches={config.grpo.num_minibatches}")
  for key in ("total_steps", "checkpoint_every", "num_iterations", "log_every", "max_bad_steps"):
    if int(config[key]) <= 0:
      raise ValueError(f"config.{key} must be positive, got {config[key]}")
  for key in ("num_updates", "num_minibatches", "grad_accum_steps", "max_sampling_rounds"):
    if int(config.grpo[key]) <= 0:
      raise ValueError(f"config.grpo.{key} must be positive, got {config.grpo[key]}")
  per_minibatch = B // config.grpo.num_minibatches
  if per_minibatch % config.grpo.grad_accum_steps:
    raise ValueError(f"{per_minibatch} questions per minibatch (config.batch_size/"
                     f"config.group_size/config.grpo.num_minibatches) is not divisible by "
                     f"config.grpo.grad_accum_steps={config.grpo.grad_accum_steps}: each "
                     "accumulation chunk holds whole groups")
  if int(config.grpo.questions_per_round) < 0:
    raise ValueError(f"config.grpo.questions_per_round must be >= 0 (0 = the batch's "
                     f"{B} questions), got {config.grpo.questions_per_round}")
  if int(config.grpo.questions_per_round) and not config.grpo.dynamic_sampling:
    raise ValueError("config.grpo.questions_per_round is set but config.grpo.dynamic_sampling "
                     "is off: without it a step samples exactly the batch's questions")
  if config.grpo.objective not in ("grpo", "rft"):
    raise ValueError(f"config.grpo.objective={config.grpo.objective!r}: grpo | rft")
  if config.rollout.policy not in ("current", "reference"):
    raise ValueError(f"config.rollout.policy={config.rollout.policy!r}: current (on-policy) | "
                     "reference (the frozen π_ref, offline RFT)")
  if config.grpo.objective == "rft" and (config.grpo.supervision != "outcome" or
                                         config.grpo.beta):
    raise ValueError("config.grpo.objective='rft' takes the 0/1 outcome reward and no KL: set "
                     "config.grpo.supervision='outcome' and config.grpo.beta=0")
  if config.rollout.policy == "reference" and config.grpo.objective != "rft":
    raise ValueError("config.rollout.policy='reference' samples off-policy; only "
                     "config.grpo.objective='rft' (offline RFT) is defined for it")
  if config.grpo.supervision not in ("outcome", "process"):
    raise ValueError(f"config.grpo.supervision={config.grpo.supervision!r}: outcome | process")
  step_terms = [k for k in ("process_rm", "arithmetic") if float(config.reward.weights[k])]
  if config.grpo.supervision == "process" and not step_terms:
    raise ValueError("config.grpo.supervision='process' needs a step reward: a process reward "
                     "model (config.reward.weights.process_rm > 0) or exact arithmetic checks "
                     "(config.reward.weights.arithmetic > 0)")
  if len(step_terms) > 1 and config.grpo.supervision == "process":
    raise ValueError("config.reward.weights: process_rm and arithmetic both give step rewards; "
                     "use one of them")
  if config.grpo.supervision == "outcome" and config.reward.weights.process_rm:
    raise ValueError("config.reward.weights.process_rm > 0 needs config.grpo.supervision="
                     "'process'")
  for key, choices in (("aggregation", grpo_lib.AGGREGATIONS),
                       ("kl_estimator", grpo_lib.KL_ESTIMATORS),
                       ("scale_rewards", grpo_lib.SCALE_REWARDS)):
    if config.grpo[key] not in choices:
      raise ValueError(f"config.grpo.{key}={config.grpo[key]!r} is not one of {choices}")
  needed = config.questions.max_prompt_len + config.rollout.max_new_tokens
  if needed > config.model.max_seq_len:
    raise ValueError(f"config.questions.max_prompt_len + config.rollout.max_new_tokens = "
                     f"{needed} exceeds config.model.max_seq_len={config.model.max_seq_len}")
  if not any(float(w) for w in config.reward.weights.values()):
    raise ValueError("config.reward.weights: every reward term has weight 0")
  tools = config.grpo.get("tools")
  if tools is not None and tools.enabled and (
      int(tools.max_tool_calls) < 1 or float(tools.timeout_s) <= 0 or int(tools.num_workers) < 1):
    raise ValueError(f"config.grpo.tools: max_tool_calls={tools.max_tool_calls} (>= 1), "
                     f"timeout_s={tools.timeout_s} (> 0), num_workers={tools.num_workers} "
                     "(>= 1) when tools are enabled")


def _tools_enabled(config: ml_collections.ConfigDict) -> bool:
  tools = config.grpo.get("tools")
  return tools is not None and bool(tools.enabled)


def _make_sandbox(config: ml_collections.ConfigDict):
  """The sandbox of tool-integrated rollouts (config.grpo.tools) on the process that runs the
  programs; None when tools are disabled, and on every process but 0 of a multi-process run."""
  if not _tools_enabled(config):
    return None
  if jax.process_index() != 0:
    # Process 0 runs every program and broadcasts the results (tool_rollout.run_programs):
    # untrusted code runs on one host only, and a deadline that expires on one host and not
    # on another cannot make the rollouts, which every process shares, diverge.
    logging.info("tool programs run on process 0; process %d receives their results",
                 jax.process_index())
    return None
  from deepseekmath_jax.tools import Sandbox  # pylint: disable=g-import-not-at-top
  tools = config.grpo.tools
  return Sandbox(num_workers=int(tools.num_workers), timeout_s=float(tools.timeout_s),
                 memory_mb=int(tools.memory_mb), output_limit=int(tools.output_limit))


def settings_from_config(config: ml_collections.ConfigDict) -> grpo_step.GRPOSettings:
  g = config.grpo
  return grpo_step.GRPOSettings(
      epsilon=float(g.epsilon), epsilon_high=float(g.epsilon_high) or None, beta=float(g.beta),
      kl_estimator=g.kl_estimator, aggregation=g.aggregation, scale_rewards=g.scale_rewards,
      adv_eps=float(g.adv_eps), std_ddof=int(g.std_ddof), num_updates=int(g.num_updates),
      num_minibatches=int(g.num_minibatches), grad_accum_steps=int(g.grad_accum_steps),
      supervision=g.supervision,
      temperature=float(config.rollout.temperature) or 1.0,
      log_ratio_clamp=float(g.log_ratio_clamp),
      logprob_chunk_size=int(g.logprob_chunk_size) or None, objective=g.objective,
      old_is_current=(int(g.num_updates) * int(g.num_minibatches) == 1
                      and config.rollout.policy == "current"))


def _init_source(config: ml_collections.ConfigDict) -> str:
  """`init_from` as pretrain.initial_params reads it: a bare HF directory becomes `hf:PATH`."""
  source = config.init_from
  if source and not source.startswith("hf:") and os.path.exists(
      os.path.join(source, "config.json")):
    return "hf:" + source
  return source


def _tokenizer(config: ml_collections.ConfigDict, workdir: str):
  tok_cfg = config.tokenizer
  source = config.init_from
  if (tok_cfg.kind == "train_sentencepiece_on_source" and not tok_cfg.path and source and
      os.path.exists(os.path.join(source, "tokenizer.model"))):
    # A run initialized from another run's workdir uses that run's tokenizer.
    tok_cfg = ml_collections.ConfigDict(tok_cfg.to_dict())
    tok_cfg.path = os.path.join(source, "tokenizer.model")
  data_cfg = config_lib.data_config("sft", dict(config.questions.sources))
  return data_lib.build_tokenizer(tok_cfg, data_cfg, workdir)


# ----------------------------------------------------------------------------------------------
# Rollouts
# ----------------------------------------------------------------------------------------------


class Round:
  """One sampling round: its groups' completions, scoring sequences and rewards (numpy).

  `result` is the RewardResult, or a Future of it until `wait()`: the rewards are computed
  on host processes while the device does other work.
  """

  def __init__(self, qs, samples, batch, seq, result, group_size):
    self.qs, self.samples, self.batch, self.seq = qs, samples, batch, seq
    self.result = result
    self.G = group_size

  def wait(self) -> float:
    """Resolves the rewards; returns the seconds spent waiting for them."""
    if not isinstance(self.result, rewards_lib.RewardResult):
      t0 = time.perf_counter()
      self.result = rewards_from_process_zero(self.result.result())
      return time.perf_counter() - t0
    return 0.0

  def rewards_BxG(self) -> np.ndarray:
    """Outcome rewards; under process supervision each completion's mean step reward."""
    st = self.result.steps
    if st is None:
      return self.result.rewards.reshape(-1, self.G)
    total = np.where(st.mask_NxS, st.rewards_NxS, 0.0).sum(1)
    return (total / np.maximum(st.mask_NxS.sum(1), 1)).reshape(-1, self.G)

  def zero_std_B(self) -> np.ndarray:
    """Groups whose rewards are all equal (no policy-gradient signal)."""
    if self.result.steps is not None:
      st = self.result.steps
      r = np.where(st.mask_NxS, st.rewards_NxS, np.nan).reshape(len(self.qs), -1)
      return np.nanmax(r, axis=1, initial=-np.inf) <= np.nanmin(r, axis=1, initial=np.inf)
    r = self.rewards_BxG()
    return r.max(axis=1) <= r.min(axis=1)


def rewards_from_process_zero(result: rewards_lib.RewardResult) -> rewards_lib.RewardResult:
  """Process 0's rewards on every process of a multi-process run.

  Every process samples and grades the same global rollouts, and the rewards are a function
  of the completions, but a verifier deadline can expire on one host and not on another; the
  update, and dynamic sampling's choice of groups, must see one set of rewards on all hosts.
  """
  if jax.process_count() == 1:
    return result
  from jax.experimental import multihost_utils  # pylint: disable=g-import-not-at-top
  steps = result.steps
  tree = dict(rewards=result.rewards, correct=result.correct.astype(np.int32),
              per_term=result.per_term,
              steps=None if steps is None else (steps.rewards_NxS, steps.ends_NxS,
                                                steps.mask_NxS.astype(np.int32)))
  tree = multihost_utils.broadcast_one_to_all(tree)
  if steps is not None:
    steps = rewards_lib.StepRewards(tree["steps"][0], tree["steps"][1],
                                    tree["steps"][2].astype(bool))
  return rewards_lib.RewardResult(
      rewards=tree["rewards"], steps=steps, correct=tree["correct"].astype(bool),
      per_term=tree["per_term"], counts=result.counts, seconds=result.seconds)


def _decode(tokenizer, tokens: np.ndarray, length: int, stop_strings) -> tuple[list[int], str]:
  ids = [int(t) for t in tokens[:length]]
  text = rewards_lib.decode_completion(tokenizer, ids)
  if stop_strings:
    text = sampler.cut_at_stop(text, stop_strings)
  return ids, text


def _pad_steps(steps: rewards_lib.StepRewards, S: int) -> rewards_lib.StepRewards:
  n, s = steps.rewards_NxS.shape
  if s > S:
    raise ValueError(f"process reward gave {s} steps; config.reward_model.max_steps={S}")
  pad = lambda x, v: np.pad(x, ((0, 0), (0, S - s)), constant_values=v)
  return rewards_lib.StepRewards(pad(steps.rewards_NxS, 0.0), pad(steps.ends_NxS, -1),
                                 pad(steps.mask_NxS, False))


def select_groups(rounds: list[Round], B: int, *,
                  dynamic_sampling: bool) -> tuple[list[tuple[int, int]], np.ndarray, dict]:
  """The B groups of the update batch as (round, group) pairs, their validity, and counts.

  Without dynamic sampling: the first round's groups, in order (rewards not needed). With it,
  groups with non-zero reward spread are taken first, in sampling order; if fewer than B
  exist after the last round, the batch is filled with dropped groups marked invalid
  (`group_valid` False: no loss, no statistics) and counted as underfilled.
  """
  if not dynamic_sampling:
    return ([(0, b) for b in range(B)], np.ones((B,), bool),
            {"dropped_groups": 0, "surplus_groups": 0, "underfilled_groups": 0})
  picks, dropped = [], []
  for r_index, rnd in enumerate(rounds):
    zero = rnd.zero_std_B()
    for b in range(len(rnd.qs)):
      (dropped if zero[b] else picks).append((r_index, b))
  chosen = picks[:B]
  valid = [True] * len(chosen)
  fill = dropped[:B - len(chosen)]
  chosen += fill
  valid += [False] * len(fill)
  # Sampled groups = in the loss + dropped (all rewards equal) + surplus (beyond B) - fill.
  counts = {"dropped_groups": len(dropped), "surplus_groups": max(len(picks) - B, 0),
            "underfilled_groups": B - min(len(picks), B)}
  return chosen, np.asarray(valid, bool), counts


def gather_sequences(rounds: list[Round], chosen: list[tuple[int, int]]) -> dict[str, np.ndarray]:
  """The chosen groups' scoring sequences (inputs, positions, segment_ids) [B, G, P + T]."""
  return {k: np.stack([rounds[r].seq[k][b] for r, b in chosen]) for k in rounds[0].seq}


def assemble_batch(rounds: list[Round], B: int, *, dynamic_sampling: bool,
                   mask_truncated: bool, max_steps: int,
                   selection: tuple | None = None) -> tuple[dict[str, np.ndarray], dict]:
  """The update batch of B groups from one or more rounds (rewards resolved), and counts.

  `selection` is `select_groups`'s result when the caller already has it. The batch holds
  the sequences, `loss_mask`, `group_valid`, the rewards (outcome or step) and
  `sampler_logp` (the sampler's log-probs of the same tokens); the trainer adds the π_θold
  and π_ref log-probs.
  """
  chosen, group_valid, counts = selection or select_groups(rounds, B,
                                                           dynamic_sampling=dynamic_sampling)
  cat = lambda f: np.stack([f(rounds[r], b) for r, b in chosen])
  out = gather_sequences(rounds, chosen)
  lengths = cat(lambda rnd, b: rnd.samples.lengths[b])
  mask = np.arange(rounds[0].samples.tokens.shape[-1]) < lengths[..., None]
  if mask_truncated:
    # Overlong masking (DAPO): a completion cut by the token budget is out of the loss.
    mask &= ~cat(lambda rnd, b: rnd.samples.truncated[b])[..., None]
  samples = rounds[0].samples
  if getattr(samples, "model_token_mask", None) is not None:
    # Tool-output tokens are the environment's, not the policy's: no loss, no token count.
    mask &= cat(lambda rnd, b: rnd.samples.model_token_mask[b]).astype(bool)
  mask &= group_valid[:, None, None]
  out["loss_mask"] = mask.astype(np.float32)
  out["sampler_logp"] = cat(lambda rnd, b: rnd.samples.logprobs[b])
  out["group_valid"] = group_valid
  if rounds[0].result.steps is not None:
    G = rounds[0].G

    def steps_of(rnd, b, field):
      st = _pad_steps(rnd.result.steps, max_steps)
      return getattr(st, field)[b * G:(b + 1) * G]

    out["step_rewards"] = cat(lambda rnd, b: steps_of(rnd, b, "rewards_NxS")).astype(np.float32)
    out["step_ends"] = cat(lambda rnd, b: steps_of(rnd, b, "ends_NxS")).astype(np.int32)
    out["step_mask"] = cat(lambda rnd, b: steps_of(rnd, b, "mask_NxS"))
  else:
    out["rewards"] = cat(lambda rnd, b: rnd.rewards_BxG()[b]).astype(np.float32)
  return out, counts


# ----------------------------------------------------------------------------------------------
# The run
# ----------------------------------------------------------------------------------------------


def run(config: ml_collections.ConfigDict, workdir: str) -> dict[str, Any]:
  """Runs GRPO per `config` in `workdir` (resuming when it holds a checkpoint).

  Returns a summary: start and final step, the last step's metrics, the counters.
  """
  check_config(config)
  jax.config.update("jax_threefry_partitionable", True)
  os.makedirs(workdir, exist_ok=True)
  checkpoint_lib.save_model_config(workdir, config.model)
  mesh = sharding.make_mesh(config.mesh)
  rules = tuple(tuple(r) for r in config.axis_rules)
  G = int(config.group_size)
  B = config.batch_size // G
  P = int(config.questions.max_prompt_len)
  T = int(config.rollout.max_new_tokens)
  questions_per_round = int(config.grpo.questions_per_round) or B
  settings = settings_from_config(config)
  steps_per_iteration = -(-config.total_steps // config.num_iterations)

  tokenizer = train_lib.process_zero_first(lambda: _tokenizer(config, workdir), "tokenizer")
  if tokenizer.vocab_size > config.model.vocab_size:
    raise ValueError(f"the tokenizer has {tokenizer.vocab_size} ids but config.model."
                     f"vocab_size={config.model.vocab_size}")
  make_model = lambda: Transformer(config.model, rngs=nnx.Rngs(config.seed))
  updates_per_step = settings.num_updates * settings.num_minibatches
  setup = train_lib.setup_training(make_model, mesh, rules, config.opt,
                                   config.total_steps * updates_per_step)
  # One global question stream, read the same way by every process: each step's rollouts
  # are sampled as one global batch over the whole mesh (each device decodes its rows) and
  # every host holds all completions (the sampler gathers them), so the host-side logic
  # (rewards, group selection, batch assembly) is the same on all processes and the result
  # does not depend on the process count. Rewards are graded on every host.
  question_iter = questions_lib.make_question_iterator(
      config.questions.sources, seed=config.seed, shuffle=config.questions.shuffle)
  encoder = questions_lib.QuestionEncoder(tokenizer, config.questions.sources, max_prompt_len=P,
                                          long_prompt=config.questions.long_prompt)

  rm = rm_lib.RewardModelRunner.from_config(config, tokenizer, mesh, rules, workdir)
  sandbox = _make_sandbox(config)

  ckpt = checkpoint_lib.Checkpointer(os.path.join(workdir, CHECKPOINT_DIR),
                                     max_to_keep=config.ckpt.max_to_keep,
                                     async_save=config.ckpt.async_save)
  abstract = dict(setup.abstract_state, ref=setup.abstract_state["params"])
  if rm is not None:
    abstract["rm"] = rm.setup.abstract_state
  restored = ckpt.restore(abstract, data_iter=question_iter)
  copy_params = jax.jit(lambda p: jax.tree.map(jnp.copy, p),
                        out_shardings=setup.state_sharding["params"])
  counters = {k: 0 for k in _COUNTERS}
  if restored is not None:
    start_step, items = restored
    state = {"params": items["params"], "opt": items["opt"]}
    ref_params = items["ref"]
    meta = items["meta"]
    counters.update({k: int(v) for k, v in meta.get("counters", {}).items()})
    encoder.counts.update({k: int(v) for k, v in meta.get("encoder_counts", {}).items()})
    if rm is not None:
      rm.restore(items["rm"], meta.get("rm", {}), start_step)
    logging.info("resumed from %s at step %d", ckpt.directory, start_step)
  else:
    start_step = 0
    cfg = ml_collections.ConfigDict(config.to_dict())
    cfg.init_from = _init_source(config)
    state = setup.init_state(pretrain.initial_params(cfg, setup), config.seed)
    ref_params = copy_params(state["params"])
    if rm is not None:
      rm.initialize(policy=nnx.merge(setup.graphdef, state["params"], setup.rest),
                    question_iter=question_iter, encoder=encoder, rng_seed=config.seed)
  bad_steps = train_lib.BadStepCounter(config.max_bad_steps,
                                       counters.get("bad_consecutive", 0) if restored else 0)

  reward_terms = {}
  accuracy = rewards_lib.AccuracyReward(strict=config.reward.strict,
                                        deadline_s=config.reward.verifier_deadline_s)
  for name, weight in config.reward.weights.items():
    if float(weight):
      term = accuracy if name == "accuracy" else rewards_lib.make_term(
          name, config.reward, reward_model_scorer=None if rm is None else rm.scorer(name),
          tokenizer=tokenizer, per_step=config.grpo.supervision == "process",
          max_steps=int(config.reward_model.max_steps))
      reward_terms[name] = (term, float(weight))
  reward_computer = rewards_lib.RewardComputer(reward_terms, deadline_s=config.reward.deadline_s,
                                               accuracy=accuracy)
  stop_ids = sampler.stop_token_sequences(
      tokenizer, tuple(config.rollout.stop_strings))
  logprob_fn = grpo_step.jit_logprobs(setup, P, temperature=settings.temperature,
                                      chunk_size=settings.logprob_chunk_size)
  update_fn = grpo_step.jit_update(
      grpo_step.make_update(setup.graphdef, setup.tx, setup.schedule, settings, P), setup)

  writer = metrics_lib.MetricsWriter(workdir, resume_step=start_step)
  progress = metrics_lib.Progress(config.total_steps, start_step, config.batch_size * T)
  summary: dict[str, Any] = {"start_step": start_step}
  base_key = jax.random.key(config.seed)

  def sample_round(step: int, round_index: int, num_questions: int) -> Round:
    """Samples G completions for each of `num_questions` questions; rewards start."""
    qs = questions_lib.next_questions(question_iter, encoder, num_questions)
    policy = ref_params if config.rollout.policy == "reference" else state["params"]
    model = nnx.merge(setup.graphdef, policy, setup.rest)
    t0 = time.perf_counter()
    rng = jax.random.fold_in(jax.random.fold_in(base_key, step), round_index)
    if _tools_enabled(config):
      samples = tool_rollout.generate_with_tools(
          model, tokenizer, [q.prompt_ids for q in qs], num_samples=G, max_new_tokens=T,
          rng=rng, sandbox=sandbox, max_tool_calls=int(config.grpo.tools.max_tool_calls),
          temperature=config.rollout.temperature, top_p=config.rollout.top_p,
          top_k=config.rollout.top_k, stop_strings=tuple(config.rollout.stop_strings),
          max_prompt_len=P, mesh=mesh, rules=rules)
    else:
      samples = sampler.generate(
          model, [q.prompt_ids for q in qs], num_samples=G, max_new_tokens=T, rng=rng,
          temperature=config.rollout.temperature, top_p=config.rollout.top_p,
          top_k=config.rollout.top_k, eos_id=tokenizer.eos_id, pad_id=tokenizer.pad_id,
          stop_sequences=stop_ids, max_prompt_len=P, mesh=mesh, rules=rules)
    timing["time_sampling"] += time.perf_counter() - t0
    ids_texts = [_decode(tokenizer, samples.tokens[b, g], int(samples.lengths[b, g]),
                         config.rollout.stop_strings) for b in range(len(qs)) for g in range(G)]
    batch = rewards_lib.RolloutBatch(
        questions=[q.question for q in qs for _ in range(G)],
        references=[q.reference for q in qs for _ in range(G)],
        prompt_ids=[q.prompt_ids for q in qs for _ in range(G)],
        completion_ids=[ids for ids, _ in ids_texts],
        completions=[text for _, text in ids_texts],
        truncated=samples.truncated.reshape(-1))
    seq = grpo_step.build_sequences([q.prompt_ids for q in qs], samples.tokens, samples.lengths,
                                    P, tokenizer.pad_id)
    return Round(qs, samples, batch, seq, reward_computer.submit(batch), G)

  def logprobs(seq: dict[str, np.ndarray],
               sampler_logp: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """π_θold and π_ref log-probs of the update batch's completions.

    With one update per step π_θold is the update's own forward (GRPOSettings.old_is_current)
    and the sampler's log-probs ride along, to be compared with it.
    """
    t0 = time.perf_counter()
    policy = ref_params if config.rollout.policy == "reference" else state["params"]
    seq = on_mesh(seq)
    old_logp = sampler_logp if settings.old_is_current else logprob_fn(policy, seq)
    # With β = 0 the KL is not in the loss; `track_kl` still measures it (one more forward).
    ref_logp = (logprob_fn(ref_params, seq) if settings.beta > 0 or config.grpo.track_kl
                else old_logp)
    old_logp, ref_logp = train_lib.host_array(old_logp), train_lib.host_array(ref_logp)
    timing["time_logprobs"] += time.perf_counter() - t0
    return old_logp, ref_logp

  def on_mesh(arrays: dict[str, np.ndarray]) -> dict[str, jax.Array]:
    """Host arrays (the same on every process) laid out over the mesh's batch axes."""
    return train_lib.global_arrays(arrays, grpo_step.batch_shardings(mesh, rules, arrays))

  def wait(rnd: Round) -> None:
    timing["time_reward_wait"] += rnd.wait()
    timing["time_reward"] += rnd.result.seconds

  def rollouts(step: int) -> tuple[list[Round], dict[str, np.ndarray], dict[str, int]]:
    """This step's sampling rounds and the update batch with its log-probs."""
    assemble = functools.partial(assemble_batch, B=B,
                                 dynamic_sampling=config.grpo.dynamic_sampling,
                                 mask_truncated=config.grpo.mask_truncated,
                                 max_steps=int(config.reward_model.max_steps))
    if not config.grpo.dynamic_sampling:
      # The batch is the round: its log-probs are computed on the device while the verifier
      # grades the same completions on host processes; rewards change timing, not results.
      rounds = [sample_round(step, 0, B)]
      selection = select_groups(rounds, B, dynamic_sampling=False)
      chosen = selection[0]
      old_logp, ref_logp = logprobs(
          gather_sequences(rounds, chosen),
          np.stack([rounds[0].samples.logprobs[b] for _, b in chosen]))
      wait(rounds[0])
      batch, counts = assemble(rounds, selection=selection)
    else:
      # Rewards decide which groups enter the batch; only those are scored.
      rounds = []
      for round_index in range(config.grpo.max_sampling_rounds):
        rounds.append(sample_round(step, round_index, questions_per_round))
        wait(rounds[-1])
        if sum(int((~r.zero_std_B()).sum()) for r in rounds) >= B:
          break
      batch, counts = assemble(rounds)
      old_logp, ref_logp = logprobs({k: batch[k] for k in rounds[0].seq},
                                    batch["sampler_logp"])
    batch["old_logp"], batch["ref_logp"] = old_logp, ref_logp
    return rounds, batch, counts

  step = start_step
  timing: dict[str, float] = {}
  summary["preempted"] = False
  try:
    with train_lib.Preemption() as preemption:
      while step < config.total_steps:
        step_start = time.perf_counter()
        timing = dict(time_sampling=0.0, time_logprobs=0.0, time_reward=0.0,
                      time_reward_wait=0.0, time_update=0.0)
        iteration = step // steps_per_iteration
        if step % steps_per_iteration == 0:
          ref_params = copy_params(state["params"])  # Alg. 1: π_ref ← π_θ each iteration

        rounds, batch, selection = rollouts(step)
        sampler_logp = batch.pop("sampler_logp")

        t0 = time.perf_counter()
        state, update_metrics = update_fn(state, on_mesh(batch))
        update_metrics = jax.device_get(update_metrics)
        timing["time_update"] = time.perf_counter() - t0
        step += 1
        if step == config.debug.sigterm_at_step:
          os.kill(os.getpid(), signal.SIGTERM)  # test hook: a real signal, a known step
        if rm is not None:
          rm.record(step, iteration, rounds)

        scalars = step_metrics(rounds, batch, sampler_logp, update_metrics, selection, counters,
                               encoder)
        finite = bool(update_metrics["finite"])
        bad_steps.update(step, finite, float(update_metrics["loss"]),
                         float(update_metrics["grad_norm"]))
        counters["bad_consecutive"] = bad_steps.consecutive
        scalars.update(timing)
        scalars["time_step"] = time.perf_counter() - step_start
        scalars["iteration"] = iteration
        if step % config.log_every == 0 or step == config.total_steps:
          rates = progress.update(step)
          scalars["tokens_per_s"] = scalars["completion_tokens"] / max(scalars["time_step"], 1e-9)
          scalars["steps_per_s"] = rates["steps_per_s"]
          writer.write(step, scalars)
          logging.info("%s", progress.line(step, {k: scalars[k] for k in (
              "reward_mean", "accuracy", "kl", "entropy", "completion_length_mean")}, rates))
        summary["metrics"] = scalars

        end_of_iteration = step % steps_per_iteration == 0
        if rm is not None and end_of_iteration and step < config.total_steps:
          rm.retrain(iteration, policy=nnx.merge(setup.graphdef, state["params"], setup.rest),
                     step=step)
        # Preemption (SIGTERM, or JAX's sync service on multi-host): save this step and stop.
        stop = ((preemption.requested and jax.process_count() == 1)
                or ckpt.reached_preemption(step))
        if (step % config.checkpoint_every == 0 or step == config.total_steps
            or end_of_iteration or stop):
          items = {"params": state["params"], "opt": state["opt"], "ref": ref_params}
          if rm is not None:
            items["rm"] = rm.state
          ckpt.save(step, items, data_iter=question_iter,
                    meta={"counters": counters, "encoder_counts": encoder.counts,
                          "iteration": iteration, "stage": "grpo",
                          "rm": {} if rm is None else rm.meta()})
        if step == config.debug.kill_at_step:
          # Test hook: SIGKILL after the checkpoints are committed; with several processes
          # only the last one dies (a host failure) and the others fail at a collective.
          ckpt.wait()
          writer.flush()
          if jax.process_index() == jax.process_count() - 1:
            os.kill(os.getpid(), signal.SIGKILL)
        if stop:
          logging.warning("preemption requested: saved step %d, exiting", step)
          summary["preempted"] = True
          break
  finally:
    ckpt.close()
    writer.close()
    reward_computer.close()
    if sandbox is not None:
      sandbox.close()
  summary["step"] = step
  summary["counters"] = dict(counters)
  return summary


def step_metrics(rounds: list[Round], batch: dict[str, np.ndarray], sampler_logp: np.ndarray,
                 upd: dict[str, Any], selection: dict[str, int], counters: dict[str, int],
                 encoder: questions_lib.QuestionEncoder) -> dict[str, float]:
  """The step's scalars (TRL/verl names where they exist) and the updated run counters.

  Reward and length statistics are over every completion sampled this step (all rounds), as
  TRL logs them; loss, KL, clipping and entropy are over the update batch's masked tokens.
  """
  rewards_BxG = np.concatenate([r.rewards_BxG() for r in rounds])
  rm = {k: float(v) for k, v in jax.device_get(grpo_lib.reward_metrics(rewards_BxG)).items()}
  lengths = np.concatenate([r.samples.lengths.reshape(-1) for r in rounds])
  truncated = np.concatenate([r.samples.truncated.reshape(-1) for r in rounds])
  correct = np.concatenate([r.result.correct for r in rounds])
  empty = sum(sum(1 for t in r.batch.completions if not t.strip()) for r in rounds)
  # Written arithmetic: the share of `a op b = c` claims in the completions that are right.
  equations = [e.correct for r in rounds for t in r.batch.completions
               for e in verifier_steps.check_equations(t)]
  out = dict(rm)
  out["arithmetic_accuracy"] = float(np.mean(equations)) if equations else 0.0
  out["equations_per_completion"] = len(equations) / max(len(correct), 1)
  out.update(
      accuracy=float(correct.mean()),
      completion_length_mean=float(lengths.mean()),
      completion_length_max=int(lengths.max()),
      completion_length_min=int(lengths.min()),
      clipped_completion_ratio=float(truncated.mean()),
      completion_tokens=int(lengths.sum()),
      empty_completions_step=empty,
  )
  # Sampler vs trainer: the same tokens under the same parameters in the two programs
  # (peers.md §8D). A gap here biases the importance ratio. With one update per step the
  # update measures it against its own forward; otherwise against the π_θold pass here.
  if "logprob_diff_sampler_trainer" in upd:
    out["logprob_diff_sampler_trainer"] = float(upd["logprob_diff_sampler_trainer"])
    out["logprob_diff_sampler_trainer_max"] = float(upd["logprob_diff_sampler_trainer_max"])
  else:
    mask = batch["loss_mask"] > 0
    diff = np.abs(sampler_logp - batch["old_logp"])[mask]
    out["logprob_diff_sampler_trainer"] = float(diff.mean()) if diff.size else 0.0
    out["logprob_diff_sampler_trainer_max"] = float(diff.max()) if diff.size else 0.0
  for name in rounds[0].result.per_term:
    out[f"reward/{name}_mean"] = float(np.concatenate([r.result.per_term[name]
                                                       for r in rounds]).mean())
  for key in ("loss", "kl", "clip_ratio", "clip_ratio/low", "clip_ratio/high", "entropy",
              "grad_norm", "lr", "pg_loss", "ratio_mean", "ratio_max", "approx_kl_old",
              "loss_first", "advantage_abs_mean"):
    out[key] = float(upd[key])
  out["num_loss_tokens"] = float(batch["loss_mask"].sum())
  if getattr(rounds[0].samples, "tool_results", None) is not None:
    # Tool-integrated rollouts (§4.4's tool setting): calls, failures, environment tokens.
    out.update(tool_rollout.tool_call_metrics(
        [res for r in rounds for per_q in r.samples.tool_results for res in per_q]))
    out["tool_output_tokens"] = float(sum(
        int(r.samples.lengths.sum() - r.samples.model_token_mask.sum()) for r in rounds))
  out["frac_groups_in_loss"] = float(batch["group_valid"].mean())
  # Run counters (cumulative, so they reconcile across resumes).
  counters["dropped_groups"] += selection["dropped_groups"]
  counters["underfilled_groups"] += selection["underfilled_groups"]
  counters["surplus_groups"] += selection["surplus_groups"]
  counters["sampling_rounds"] += len(rounds)
  counters["empty_completions"] += empty
  counters["skipped_updates"] += int(upd["num_skipped_updates"])
  for r in rounds:
    for key, value in r.result.counts.items():
      if key.startswith("reward_failures") or key.startswith("reward_nonfinite"):
        counters["reward_failures"] += value
      elif key.startswith("reward_timeouts"):
        counters["reward_timeouts"] += value
      elif key == "verifier/timeout":
        counters["verifier_timeouts"] += value
  for key in ("prompts_truncated", "prompts_dropped", "questions_bad_records", "questions_read"):
    counters[key] = encoder.counts[key]
  out.update({k: v for k, v in counters.items() if k != "bad_consecutive"})
  out["dropped_groups_step"] = selection["dropped_groups"]
  out["sampling_rounds_step"] = len(rounds)
  return out
