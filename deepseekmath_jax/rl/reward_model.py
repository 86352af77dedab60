r"""Neural reward models: outcome (ORM) and process (PRM), Math-Shepherd labels, replay.

The paper's RL reward is a trained reward model (arXiv:2402.03300 §4.2), built "following
Math-Shepherd" (Wang et al. 2023b) from rule judgments (§5.2.1), and retrained every RL
iteration on the policy's new samples "using a replay mechanism that incorporates 10% of
historical data" (§4.1.4). Here:

* `RewardModel`: the policy's transformer (`Transformer.hidden_states`) with a scalar head,
  one score per position. An outcome RM reads the score at the completion's last token, a
  process RM at each step's last token (steps are split by a configurable regex, newline by
  default as in Math-Shepherd; the paper leaves it open, §4.1.3). Scores are logits of
  P(correct); as rewards they are passed through a sigmoid.
* Training (`make_train_step`): binary cross-entropy at the labeled positions. Outcome labels
  are the verifier's judgment of the final answer; process labels are Math-Shepherd's: a step
  is good if rollouts continued from it reach the right answer (`hard`: any rollout, `soft`:
  the fraction). The last step's label is the completion's own judgment.
* `mix_with_replay`: new examples plus historical ones making up `replay_fraction` of the set.
* `RewardModelRunner`: what the GRPO trainer drives. It builds the initial RM from rule-judged
  samples of the initial policy (the paper trains its initial RM on the base model's samples;
  our bootstrap is the same recipe at the start of the run), records each step's samples in
  `<workdir>/reward_model/data.jsonl` (truncated to the restored step on resume, like
  metrics.jsonl, so a resumed run retrains on exactly the same data), and retrains at the end
  of each iteration. Its parameters and optimizer state are checkpointed with the policy's.

The RM keeps the backbone's LM head (unused), so any policy checkpoint (HF or a run's
workdir) initializes it unchanged; at 7B that is 0.4B idle parameters.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
from collections.abc import Callable, Sequence
from typing import Any

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
import optax
from absl import logging
from flax import nnx

from deepseekmath_jax import metrics as metrics_lib
from deepseekmath_jax import sharding
from deepseekmath_jax import verifier
from deepseekmath_jax.model import Transformer
from deepseekmath_jax.model.layers import _param
from deepseekmath_jax.rl import questions as questions_lib
from deepseekmath_jax.rl import rewards as rewards_lib
from deepseekmath_jax.rl import sampler
from deepseekmath_jax.trainers import train_lib


class RewardModel(nnx.Module):
  """Transformer backbone + a scalar value head: `model(tokens) -> scores [B, L]` (logits)."""

  def __init__(self, cfg: Any, *, rngs: nnx.Rngs):
    self.backbone = Transformer(cfg, rngs=rngs)
    pd = jnp.dtype(cfg.param_dtype)
    self.value_head = _param(rngs, (cfg.embed_dim,), ("embed",), pd)
    self.value_bias = _param(rngs, (1,), ("norm",), pd, nnx.initializers.zeros)

  def __call__(self, tokens_BxL: jax.Array, *, positions: jax.Array | None = None,
               segment_ids: jax.Array | None = None) -> jax.Array:
    hidden_BxLxD, _ = self.backbone.hidden_states(tokens_BxL, positions=positions,
                                                  segment_ids=segment_ids)
    w_D = self.value_head[...].astype(jnp.float32)
    return hidden_BxLxD.astype(jnp.float32) @ w_D + self.value_bias[...].astype(jnp.float32)[0]


@dataclasses.dataclass(frozen=True)
class Example:
  """One RM training sequence: tokens (prompt + completion) and labels at positions."""
  tokens: tuple[int, ...]
  positions: tuple[int, ...]
  labels: tuple[float, ...]

  def to_json(self) -> dict:
    return {"tokens": list(self.tokens), "positions": list(self.positions),
            "labels": list(self.labels)}

  @classmethod
  def from_json(cls, d: dict) -> "Example":
    return cls(tuple(d["tokens"]), tuple(d["positions"]), tuple(float(x) for x in d["labels"]))


# ----------------------------------------------------------------------------------------------
# Steps, labels, batches
# ----------------------------------------------------------------------------------------------


def step_ends(completion_ids: Sequence[int], decode_piece: Callable[[int], str], *,
              max_steps: int, separator: str = "\n") -> list[int]:
  """Indices of the last token of each step of a completion.

  Steps are separated by matches of the regex `separator` (Math-Shepherd's newline by
  default; `\\.(?=\\s)` makes each sentence a step). A step ends at the token holding the
  separator's last character, if the step has non-space text; the last token always ends the
  last step, and trailing separators belong to it. Past `max_steps`, the last step absorbs the
  rest (its end is the last token). An empty completion has no step.
  """
  text, owner = rewards_lib.piece_text(completion_ids, decode_piece)
  ends, start = [], 0
  for m in re.finditer(separator, text):
    if m.end() > m.start() and text[start:m.start()].strip():
      token = owner[m.end() - 1]
      if not ends or ends[-1] != token:
        ends.append(token)
      start = m.end()
  if completion_ids:
    last = len(completion_ids) - 1
    if text[start:].strip() or not ends:
      if not ends or ends[-1] != last:
        ends.append(last)
    else:
      ends[-1] = last  # trailing separators belong to the last step
  if len(ends) > max_steps:
    ends = ends[:max_steps - 1] + [len(completion_ids) - 1]
  return ends


def outcome_example(prompt_ids: Sequence[int], completion_ids: Sequence[int],
                    correct: bool) -> Example:
  """The ORM example: the label at the completion's last token (the prompt's if empty)."""
  tokens = tuple(prompt_ids) + tuple(completion_ids)
  return Example(tokens, (len(tokens) - 1,), (float(correct),))


def make_batch(examples: Sequence[Example], max_len: int, pad_id: int) -> dict[str, np.ndarray]:
  """Right-padded [N, L] inputs/positions/segment_ids and label/label_mask at positions.

  Longer sequences keep their first `max_len` tokens; labels past the cut are dropped.
  """
  n = len(examples)
  L = max_len
  inputs = np.full((n, L), pad_id, np.int32)
  segs = np.zeros((n, L), np.int32)
  labels = np.zeros((n, L), np.float32)
  label_mask = np.zeros((n, L), np.float32)
  for i, ex in enumerate(examples):
    toks = ex.tokens[:L]
    inputs[i, :len(toks)] = toks
    segs[i, :len(toks)] = 1
    for p, y in zip(ex.positions, ex.labels):
      if 0 <= p < len(toks):
        labels[i, p] = y
        label_mask[i, p] = 1.0
  positions = np.broadcast_to(np.arange(L, dtype=np.int32), (n, L)).copy()
  return {"inputs": inputs, "positions": positions, "segment_ids": segs, "labels": labels,
          "label_mask": label_mask}


def mix_with_replay(new: Sequence[Example], history: Sequence[Example], *,
                    replay_fraction: float, rng: np.random.Generator) -> list[Example]:
  """New examples plus historical ones drawn so they are `replay_fraction` of the result.

  §4.1.4's "a replay mechanism that incorporates 10% of historical data": we read it as a
  training set that is 10% historical, 90% new (the paper gives no more detail).
  """
  if not 0 <= replay_fraction < 1:
    raise ValueError(f"replay_fraction must be in [0, 1), got {replay_fraction}")
  new = list(new)
  if not history or replay_fraction == 0:
    return new
  num_old = int(round(len(new) * replay_fraction / (1 - replay_fraction))) if new else len(
      history)
  picks = rng.choice(len(history), size=min(num_old, len(history)), replace=False)
  return new + [history[i] for i in sorted(picks)]


def math_shepherd_labels(prompt_ids: Sequence[Sequence[int]],
                         completion_ids: Sequence[Sequence[int]],
                         step_ends: Sequence[Sequence[int]], final_correct: Sequence[bool],
                         references: Sequence[str], questions: Sequence[str], *,
                         rollout: Callable[[list[list[int]], int], list[list[str]]],
                         decode: Callable[[Sequence[int]], str], num_rollouts: int,
                         mode: str = "hard",
                         grade: Callable[..., list[Any]] = verifier.grade_batch
                         ) -> list[list[float]]:
  """Math-Shepherd step labels (Wang et al. 2023b), one list per completion.

  For each step but the last, `rollout(prefixes, num_rollouts)` continues the prefix
  prompt + completion[:end + 1] `num_rollouts` times; the step's label is 1 if any continuation
  reaches the right answer (`hard`) or the fraction that do (`soft`). The last step's label is
  the completion's own judgment, `final_correct`.
  """
  if mode not in ("hard", "soft"):
    raise ValueError(f"Math-Shepherd label mode must be hard | soft, got {mode!r}")
  prefixes, owners = [], []
  for i, ends in enumerate(step_ends):
    for j, end in enumerate(ends[:-1]):
      prefixes.append(list(prompt_ids[i]) + list(completion_ids[i][:end + 1]))
      owners.append((i, j, end))
  labels = [[0.0] * len(ends) for ends in step_ends]
  for i, ends in enumerate(step_ends):
    if ends:
      labels[i][-1] = float(final_correct[i])
  if not prefixes:
    return labels
  continuations = rollout(prefixes, num_rollouts)
  responses, refs, qs = [], [], []
  for (i, _, end), conts in zip(owners, continuations):
    head = decode(completion_ids[i][:end + 1])
    for cont in conts:
      responses.append(head + cont)
      refs.append(references[i])
      qs.append(questions[i])
  grades = grade(responses, refs, questions=qs)
  correct = np.asarray([g.correct for g in grades], np.float32).reshape(len(owners), num_rollouts)
  for (i, j, _), row in zip(owners, correct):
    labels[i][j] = float(row.max() if mode == "hard" else row.mean())
  return labels


def sampler_rollout(model: nnx.Module, tokenizer: Any, *, max_new_tokens: int,
                    temperature: float, rng: jax.Array, batch_size: int = 64,
                    mesh: Any = None, rules: Any = None) -> Callable[..., list[list[str]]]:
  """A `rollout` for `math_shepherd_labels` that continues prefixes with the sampler."""

  def rollout(prefixes: list[list[int]], n: int) -> list[list[str]]:
    out = []
    for start in range(0, len(prefixes), batch_size):
      kwargs = {} if rules is None else {"rules": rules}
      samples = sampler.generate(model, prefixes[start:start + batch_size], num_samples=n,
                                 max_new_tokens=max_new_tokens,
                                 rng=jax.random.fold_in(rng, start), temperature=temperature,
                                 eos_id=tokenizer.eos_id, pad_id=tokenizer.pad_id, mesh=mesh,
                                 **kwargs)
      for row_t, row_l in zip(samples.tokens, samples.lengths):
        texts = []
        for ids, length in zip(row_t, row_l):
          texts.append(rewards_lib.decode_completion(tokenizer, ids[:length]))
        out.append(texts)
    return out

  return rollout


# ----------------------------------------------------------------------------------------------
# Training and scoring
# ----------------------------------------------------------------------------------------------


def make_train_step(graphdef: nnx.GraphDef, tx: optax.GradientTransformation,
                    schedule: optax.Schedule) -> Callable[..., Any]:
  """`(state, rest, batch) -> (state, metrics)`: BCE at the labeled positions, one update."""

  def loss_fn(params, rest, batch):
    model = nnx.merge(graphdef, params, rest)
    scores = model(batch["inputs"], positions=batch["positions"],
                   segment_ids=batch["segment_ids"])
    w = batch["label_mask"]
    bce = optax.sigmoid_binary_cross_entropy(scores, batch["labels"])
    denom = jnp.maximum(w.sum(), 1.0)
    agree = ((scores > 0) == (batch["labels"] > 0.5)).astype(jnp.float32)
    return jnp.sum(bce * w) / denom, {"accuracy": jnp.sum(agree * w) / denom}

  grad_fn = jax.value_and_grad(loss_fn, has_aux=True)

  def step(state, rest, batch):
    (loss, aux), grads = grad_fn(state["params"], rest, batch)
    params, opt_state, grad_norm, finite = train_lib.apply_if_finite(
        tx, state["params"], state["opt"]["opt_state"], grads, loss)
    opt = dict(state["opt"], opt_state=opt_state, step=state["opt"]["step"] + 1)
    return dict(params=params, opt=opt), dict(loss=loss, grad_norm=grad_norm, finite=finite,
                                              **aux)

  return step


def make_setup(model_cfg: ml_collections.ConfigDict, *, lr: float, total_steps: int,
               mesh: Any, rules: Any, seed: int) -> train_lib.TrainSetup:
  """The RM's model + AdamW (constant lr) laid out on the mesh."""
  opt = ml_collections.ConfigDict(dict(schedule="constant", peak_lr=lr, warmup_steps=0,
                                       decay_fractions=(), decay_factors=(), end_lr_frac=0.0,
                                       b1=0.9, b2=0.95, eps=1e-8, weight_decay=0.0,
                                       grad_clip_norm=1.0, z_loss_weight=0.0))
  return train_lib.setup_training(lambda: RewardModel(model_cfg, rngs=nnx.Rngs(seed)), mesh,
                                  rules, opt, max(total_steps, 1))


class Trainer:
  """Holds an RM's state; `fit` trains on examples, `score` reads scores at positions."""

  def __init__(self, setup: train_lib.TrainSetup, state: dict[str, Any], *, max_len: int,
               pad_id: int):
    self.setup, self.state = setup, state
    self.max_len, self.pad_id = max_len, pad_id
    self._step = train_lib.jit_train_step(make_train_step(setup.graphdef, setup.tx,
                                                          setup.schedule), setup)
    repl = jax.sharding.NamedSharding(setup.mesh, jax.sharding.PartitionSpec())
    graphdef = setup.graphdef

    def forward(params, rest, batch):
      model = nnx.merge(graphdef, params, rest)
      return model(batch["inputs"], positions=batch["positions"],
                   segment_ids=batch["segment_ids"])

    self._forward = jax.jit(forward, in_shardings=(setup.state_sharding["params"], repl,
                                                   setup.batch_sharding()))

  def fit(self, examples: Sequence[Example], *, steps: int, batch_size: int,
          seed: int) -> list[float]:
    """`steps` updates on batches drawn (seeded, with replacement) from `examples`."""
    if not examples:
      raise ValueError("reward model: no training examples")
    rng = np.random.default_rng(seed)
    losses = []
    for _ in range(steps):
      idx = rng.integers(0, len(examples), size=batch_size)
      batch = make_batch([examples[i] for i in idx], self.max_len, self.pad_id)
      self.state, metrics = self._step(self.state, batch)
      losses.append(float(metrics["loss"]))
    return losses

  def score(self, token_rows: Sequence[Sequence[int]], positions: Sequence[Sequence[int]], *,
            batch_size: int = 64) -> list[np.ndarray]:
    """Logit scores at the given positions of each row (positions past max_len: last kept)."""
    out = []
    for start in range(0, len(token_rows), batch_size):
      rows = token_rows[start:start + batch_size]
      exs = [Example(tuple(r), (), ()) for r in rows]
      exs += [Example((self.pad_id,), (), ())] * (batch_size - len(exs))
      batch = make_batch(exs, self.max_len, self.pad_id)
      batch = {k: batch[k] for k in ("inputs", "positions", "segment_ids")}
      with sharding.mesh_rules(self.setup.mesh, self.setup.rules):
        scores = np.asarray(self._forward(self.state["params"], self.setup.rest, batch))
      for i, pos in enumerate(positions[start:start + batch_size]):
        pos = np.minimum(np.asarray(pos, np.int64), self.max_len - 1)
        out.append(scores[i, pos].astype(np.float32))
    return out


def _sigmoid(x: np.ndarray) -> np.ndarray:
  return 1.0 / (1.0 + np.exp(-x))


class OutcomeScorer:
  """Reward term: the ORM's P(correct) at each completion's last token."""

  def __init__(self, trainer: Trainer):
    self.trainer = trainer

  def __call__(self, batch: rewards_lib.RolloutBatch) -> np.ndarray:
    rows = [list(p) + list(c) for p, c in zip(batch.prompt_ids, batch.completion_ids)]
    scores = self.trainer.score(rows, [[len(r) - 1] for r in rows])
    return _sigmoid(np.concatenate(scores)).astype(np.float32)


class ProcessScorer:
  """Reward term: the PRM's P(step is good) at each step's last token."""

  def __init__(self, trainer: Trainer, decode_piece: rewards_lib.PieceDecoder, max_steps: int,
               separator: str):
    self.trainer, self.decode_piece, self.max_steps = trainer, decode_piece, max_steps
    self.separator = separator

  def __call__(self, batch: rewards_lib.RolloutBatch) -> rewards_lib.StepRewards:
    n, S = len(batch), self.max_steps
    ends = [step_ends(c, self.decode_piece, max_steps=S, separator=self.separator)
            for c in batch.completion_ids]
    rows = [list(p) + list(c) for p, c in zip(batch.prompt_ids, batch.completion_ids)]
    scores = self.trainer.score(rows, [[len(p) + e for e in es] if es else [len(p) - 1]
                                       for p, es in zip(batch.prompt_ids, ends)])
    rewards = np.zeros((n, S), np.float32)
    ends_NxS = np.full((n, S), -1, np.int32)
    mask = np.zeros((n, S), bool)
    for i, es in enumerate(ends):
      k = len(es)
      rewards[i, :k] = _sigmoid(scores[i][:k])
      ends_NxS[i, :k] = es
      mask[i, :k] = True
    return rewards_lib.StepRewards(rewards, ends_NxS, mask)


# ----------------------------------------------------------------------------------------------
# The GRPO trainer's reward model: bootstrap, per-step records, iterative retraining
# ----------------------------------------------------------------------------------------------

RM_DIR = "reward_model"


class RewardModelRunner:
  """The reward model of a GRPO run; see the module docstring (§4.1.4, §4.2)."""

  def __init__(self, config: ml_collections.ConfigDict, tokenizer: Any, mesh: Any, rules: Any,
               workdir: str, kind: str):
    self.config, self.tokenizer, self.kind = config, tokenizer, kind
    self.rcfg = config.reward_model
    self.mesh, self.rules = mesh, rules
    self.max_len = int(config.questions.max_prompt_len) + int(config.rollout.max_new_tokens)
    if self.max_len > self.rcfg.model.max_seq_len:
      raise ValueError(f"config.reward_model.model.max_seq_len={self.rcfg.model.max_seq_len} "
                       f"is shorter than prompt + completion ({self.max_len})")
    self.setup = make_setup(self.rcfg.model, lr=float(self.rcfg.lr),
                            total_steps=int(self.rcfg.train_steps) * (config.num_iterations + 1),
                            mesh=mesh, rules=rules, seed=config.seed)
    self.path = os.path.join(workdir, RM_DIR, "data.jsonl")
    os.makedirs(os.path.dirname(self.path), exist_ok=True)
    self.decode_piece = rewards_lib.PieceDecoder(tokenizer)
    self.trainer: Trainer | None = None
    self.num_trainings = 0
    self._recorded: dict[int, int] = {}

  @classmethod
  def from_config(cls, config: ml_collections.ConfigDict, tokenizer: Any, mesh: Any, rules: Any,
                  workdir: str) -> "RewardModelRunner | None":
    """None when no reward term uses a reward model."""
    w = config.reward.weights
    if float(w.outcome_rm) and float(w.process_rm):
      raise ValueError("config.reward.weights: use outcome_rm or process_rm, not both")
    if not float(w.outcome_rm) and not float(w.process_rm):
      return None
    return cls(config, tokenizer, mesh, rules, workdir,
               "process" if float(w.process_rm) else "outcome")

  # -- state ------------------------------------------------------------------------------

  @property
  def state(self) -> dict[str, Any]:
    return self.trainer.state

  def meta(self) -> dict[str, Any]:
    return {"kind": self.kind, "num_trainings": self.num_trainings}

  def _make_trainer(self, state: dict[str, Any]) -> None:
    self.trainer = Trainer(self.setup, state, max_len=self.max_len, pad_id=self.tokenizer.pad_id)

  def restore(self, state: dict[str, Any], meta: dict[str, Any], step: int) -> None:
    """Continues from a checkpoint at `step`: records past it are dropped."""
    self._make_trainer(state)
    self.num_trainings = int(meta.get("num_trainings", 0))
    metrics_lib.truncate_metrics(self.path, step)
    # Outcome samples are recorded as labeled examples, process samples as raw ones.
    recorded_kind = "example" if self.kind == "outcome" else "raw"
    for record in self._read():
      if record["kind"] == recorded_kind:
        self._recorded[record["iteration"]] = self._recorded.get(record["iteration"], 0) + 1

  def scorer(self, name: str) -> rewards_lib.RewardTerm:
    if name == "outcome_rm":
      return OutcomeScorer(self.trainer)
    return ProcessScorer(self.trainer, self.decode_piece, int(self.rcfg.max_steps),
                         self.rcfg.step_separator)

  # -- data -------------------------------------------------------------------------------

  def _read(self) -> list[dict]:
    if not os.path.exists(self.path):
      return []
    return metrics_lib.read_metrics(self.path)

  def _write(self, records: list[dict]) -> None:
    with open(self.path, "a", encoding="utf-8") as f:
      for r in records:
        f.write(json.dumps(r) + "\n")

  def _label(self, raws: list[dict], policy: nnx.Module | None,
             seed_offset: int) -> list[Example]:
    """Examples from raw samples: outcome labels, or Math-Shepherd step labels."""
    if self.kind == "outcome":
      return [outcome_example(r["prompt_ids"], r["completion_ids"], r["correct"]) for r in raws]
    S = int(self.rcfg.max_steps)
    ends = [step_ends(r["completion_ids"], self.decode_piece, max_steps=S,
                      separator=self.rcfg.step_separator) for r in raws]
    rollout = sampler_rollout(
        policy, self.tokenizer, max_new_tokens=int(self.config.rollout.max_new_tokens),
        temperature=float(self.config.rollout.temperature) or 1.0,
        rng=jax.random.fold_in(jax.random.key(self.config.seed), 2_000_003 + seed_offset),
        mesh=self.mesh, rules=self.rules)
    labels = math_shepherd_labels(
        [r["prompt_ids"] for r in raws], [r["completion_ids"] for r in raws], ends,
        [r["correct"] for r in raws], [r["reference"] for r in raws],
        [r["question"] for r in raws], rollout=rollout,
        decode=lambda ids: rewards_lib.decode_completion(self.tokenizer, ids),
        num_rollouts=int(self.rcfg.shepherd_rollouts), mode=self.rcfg.shepherd_label)
    out = []
    for r, es, ls in zip(raws, ends, labels):
      if es:
        offset = len(r["prompt_ids"])
        out.append(Example(tuple(r["prompt_ids"]) + tuple(r["completion_ids"]),
                           tuple(offset + e for e in es), tuple(ls)))
    return out

  def _raw_records(self, step: int, iteration: int, prompt_ids, completion_ids, correct,
                   questions, references) -> list[dict]:
    cap = int(self.rcfg.max_examples_per_iteration)
    have = self._recorded.get(iteration, 0)
    out = []
    for p, c, ok, q, ref in zip(prompt_ids, completion_ids, correct, questions, references):
      if have >= cap:
        break
      have += 1
      out.append({"step": step, "iteration": iteration, "kind": "raw", "prompt_ids": list(p),
                  "completion_ids": list(c), "correct": bool(ok), "question": q,
                  "reference": ref})
    self._recorded[iteration] = have
    return out

  def _store(self, raws: list[dict], policy: nnx.Module | None, seed_offset: int) -> None:
    """Outcome examples are stored labeled at once; process samples are labeled at retrain."""
    if self.kind == "outcome":
      self._write([dict(e.to_json(), step=r["step"], iteration=r["iteration"], kind="example")
                   for r, e in zip(raws, self._label(raws, policy, seed_offset))])
    else:
      self._write(raws)

  # -- the run's hooks --------------------------------------------------------------------

  def initialize(self, *, policy: nnx.Module, question_iter: Any, encoder: Any,
                 rng_seed: int) -> None:
    """The initial RM: backbone from `init_from`, trained on the policy's judged samples."""
    metrics_lib.truncate_metrics(self.path, -1)  # a fresh start: no records yet
    self._make_trainer(self.setup.init_state(self._initial_params(), rng_seed))
    num = int(self.rcfg.bootstrap_questions)
    if num <= 0:
      return
    G = int(self.config.group_size)
    qs = questions_lib.next_questions(question_iter, encoder, num)
    samples = sampler.generate(
        policy, [q.prompt_ids for q in qs], num_samples=G,
        max_new_tokens=int(self.config.rollout.max_new_tokens),
        rng=jax.random.fold_in(jax.random.key(rng_seed), 1_000_003),
        temperature=float(self.config.rollout.temperature), eos_id=self.tokenizer.eos_id,
        pad_id=self.tokenizer.pad_id, max_prompt_len=int(self.config.questions.max_prompt_len),
        mesh=self.mesh, rules=self.rules)
    completion_ids, texts = [], []
    for b in range(len(qs)):
      for g in range(G):
        ids = [int(t) for t in samples.tokens[b, g, :samples.lengths[b, g]]]
        completion_ids.append(ids)
        texts.append(rewards_lib.decode_completion(self.tokenizer, ids))
    refs = [q.reference for q in qs for _ in range(G)]
    questions = [q.question for q in qs for _ in range(G)]
    grades = verifier.grade_batch(texts, refs, strict=self.config.reward.strict,
                                  questions=questions)
    raws = self._raw_records(0, -1, [q.prompt_ids for q in qs for _ in range(G)],
                             completion_ids, [g.correct for g in grades], questions, refs)
    self._train_iteration(-1, raws, policy, step=0)

  def record(self, step: int, iteration: int, rounds: Sequence[Any]) -> None:
    """Keeps this step's rule-judged samples for the iteration's retraining."""
    raws = []
    for rnd in rounds:
      b = rnd.batch
      raws += self._raw_records(step, iteration, b.prompt_ids, b.completion_ids,
                                rnd.result.correct, b.questions, b.references)
    if raws:
      self._store(raws, None, step)

  def retrain(self, iteration: int, *, policy: nnx.Module, step: int) -> None:
    """§4.1.4: continue training on the iteration's samples plus 10% historical data."""
    if not self.rcfg.retrain_each_iteration:
      return
    raws = [r for r in self._read() if r["kind"] == "raw" and r["iteration"] == iteration]
    self._train_iteration(iteration, raws, policy, step=step)

  def _train_iteration(self, iteration: int, raws: list[dict], policy: nnx.Module, *,
                       step: int) -> None:
    if self.kind == "outcome":
      if iteration == -1:
        self._store(raws, policy, 0)
    else:
      examples = self._label(raws, policy, seed_offset=step)
      self._write([dict(e.to_json(), step=step, iteration=iteration, kind="example")
                   for e in examples])
    records = [r for r in self._read() if r["kind"] == "example"]
    new = [Example.from_json(r) for r in records if r["iteration"] == iteration]
    history = [Example.from_json(r) for r in records if r["iteration"] < iteration]
    rng = np.random.default_rng([self.config.seed, iteration + 1])
    data = mix_with_replay(new, history, replay_fraction=float(self.rcfg.replay_fraction),
                           rng=rng)
    if not data:
      logging.warning("reward model: no examples for iteration %d; not retrained", iteration)
      return
    losses = self.trainer.fit(data, steps=int(self.rcfg.train_steps),
                              batch_size=int(self.rcfg.batch_size),
                              seed=int(rng.integers(2**31)))
    self.num_trainings += 1
    logging.info("reward model (%s) trained for iteration %d on %d new + %d replayed "
                 "examples: loss %.4f -> %.4f", self.kind, iteration, len(new),
                 len(data) - len(new), losses[0], losses[-1])

  def _initial_params(self) -> Any:
    """Fresh RM parameters, the backbone loaded from reward_model.init_from / init_from."""
    from deepseekmath_jax.trainers import pretrain  # pylint: disable=g-import-not-at-top
    model = sharding.create_model(
        lambda: RewardModel(self.rcfg.model, rngs=nnx.Rngs(self.config.seed)), self.mesh,
        self.rules)
    params = nnx.to_pure_dict(nnx.state(model, nnx.Param))
    source = self.rcfg.init_from or self.config.init_from
    if not source:
      return params
    if not source.startswith("hf:") and os.path.exists(os.path.join(source, "config.json")):
      source = "hf:" + source
    backbone_setup = train_lib.setup_training(
        lambda: Transformer(self.rcfg.model, rngs=nnx.Rngs(self.config.seed)), self.mesh,
        self.rules, self.config.opt, 1)
    cfg = ml_collections.ConfigDict(dict(init_from=source, model=self.rcfg.model,
                                         seed=self.config.seed))
    params["backbone"] = pretrain.initial_params(cfg, backbone_setup)
    return params
