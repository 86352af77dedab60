"""The jitted pieces of a GRPO step: completion log-probs and the policy update.

`make_update(...)` returns the pure function run under one `jax.jit` per Algorithm-1 step
(arXiv:2402.03300 §4.1): from the rewards of B groups of G completions it computes the
group-relative advantages (outcome or process supervision; `grpo_lib`, vmapped over the group
axis), then runs μ passes over `num_minibatches` minibatches of questions (a `lax.scan` of
μ·M optimizer updates), each minimizing `grpo_lib.grpo_loss` (Eq. 3 with the k3 KL of Eq. 4)
against the stored π_θold and π_ref log-probs. Groups are never split across minibatches, so
per-group statistics stay exact.

Gradient accumulation (`grad_accum_steps` K > 1) trades time for memory without changing the
algorithm: each minibatch's gradient is the sum over K chunks of whole groups (a `lax.scan`),
then one optimizer update, as before. Each chunk's loss is weighted by its share of the
minibatch's normalizer (`chunk_loss_weights`), so the summed gradient equals the one-pass
gradient of Eq. 3 up to float summation order.

Sequences: each completion is scored as [prompt left-padded to P ; completion padded to T]
with its own positions and segment ids (0 = padding), so padding never changes a log-prob.
The logits of completion token t come from position P - 1 + t; only those T positions go
through the LM head, and `grpo_lib.token_logprobs_and_entropy` can chunk them. As in the
sampler, each prompt is run once and shared by its G completions as a key/value prefix
(`completion_hidden_states`), gradients included: B·P + B·G·T positions instead of
B·G·(P + T).

Why the log-probs are a separate jitted function (`make_logprob_fn`): the trainer computes
π_θold and π_ref log-probs on the device while the verifier grades the same completions on
host processes (see rewards.py). Under μ = 1 with one minibatch the paper's ratio is exactly
1; here it is 1 up to float reassociation between the two programs (~1e-6), which the
`ratio_*` metrics show.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable, Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import optax
from flax import nnx

from deepseekmath_jax import sharding
from deepseekmath_jax.model.kv_cache import KVCache
from deepseekmath_jax.rl import grpo_lib
from deepseekmath_jax.trainers import train_lib

State = dict[str, Any]


@dataclasses.dataclass(frozen=True)
class GRPOSettings:
  """Static settings of the update (hashable: they are baked into the compiled step)."""
  epsilon: float = 0.2
  epsilon_high: float | None = None
  beta: float = 0.04
  kl_estimator: str = "k3"
  aggregation: str = "paper"
  scale_rewards: str = "group"
  adv_eps: float = 1e-4
  std_ddof: int = 1
  num_updates: int = 1                 # μ
  num_minibatches: int = 1
  grad_accum_steps: int = 1            # K chunks of whole groups per optimizer update
  supervision: str = "outcome"         # outcome | process
  temperature: float = 1.0
  log_ratio_clamp: float = 20.0
  logprob_chunk_size: int | None = None
  # "grpo": Eq. 3. "rft": rejection-sampling fine-tuning as the paper's unified paradigm
  # writes it (§5.2.1, Eq. 10-11): gradient coefficient I(o) = the 0/1 reward, no ratio, no
  # KL; offline RFT samples from the frozen SFT policy, online RFT from the current one.
  objective: str = "grpo"
  # μ·M = 1 with rollouts from the current policy: at the one update π_θold = π_θ, so Eq. 3's
  # ratio is exactly 1 and π_θold's log-probs are the update's own, held constant (the same
  # value and gradient). The trainer then skips the separate π_θold forward, and the batch's
  # `old_logp` carries the sampler's log-probs, used only to measure sampler vs trainer.
  old_is_current: bool = False


# ----------------------------------------------------------------------------------------------
# Host side: sequences
# ----------------------------------------------------------------------------------------------


def build_sequences(prompt_ids: Sequence[Sequence[int]], tokens_BxGxT: np.ndarray,
                    lengths_BxG: np.ndarray, prompt_len: int,
                    pad_id: int) -> dict[str, np.ndarray]:
  """[prompt ; completion] rows for scoring: inputs, positions, segment_ids [B, G, P + T].

  Prompts longer than `prompt_len` keep their last tokens (the sampler does the same).
  """
  B, G, T = tokens_BxGxT.shape
  P = prompt_len
  inputs = np.full((B, G, P + T), pad_id, np.int32)
  valid = np.zeros((B, G, P + T), bool)
  for b, ids in enumerate(prompt_ids):
    ids = list(ids)[-P:]
    inputs[b, :, P - len(ids):P] = ids
    valid[b, :, P - len(ids):P] = True
  inputs[:, :, P:] = tokens_BxGxT
  valid[:, :, P:] = np.arange(T) < lengths_BxG[..., None]
  positions = np.maximum(np.cumsum(valid, axis=-1) - 1, 0).astype(np.int32)
  return {"inputs": inputs, "positions": positions, "segment_ids": valid.astype(np.int32)}


# ----------------------------------------------------------------------------------------------
# Device side
# ----------------------------------------------------------------------------------------------


def completion_hidden_states(model: Any, seq: dict[str, jax.Array],
                             prompt_len: int) -> jax.Array:
  """Final hidden states [B*G, T, D] that predict the T completion tokens of `seq`.

  The prompt is run once per question and its keys/values are the shared prefix of its G
  completions (`KVCache.as_prefix`, as in the sampler), so training, like sampling, never
  recomputes a prompt G times. Gradients flow through the prefix into the prompt's
  activations. Row b*G+g holds completion g of question b; position t predicts token t
  (the prompt's last state predicts the first token).
  """
  B, G, L = seq["inputs"].shape
  P, T = prompt_len, L - prompt_len
  prompt = {k: v[:, 0, :P] for k, v in seq.items()}   # the G copies of a prompt are equal
  cache = KVCache.init(model.cfg, B, P)
  prompt_hidden_BxPxD, cache = model.hidden_states(
      prompt["inputs"], positions=prompt["positions"], segment_ids=prompt["segment_ids"],
      cache=cache)
  cache = cache.as_prefix(group_size=G, max_len=T)
  completion = {k: v[:, :, P:].reshape(B * G, T) for k, v in seq.items()}
  hidden_NxTxD, _ = model.hidden_states(
      completion["inputs"], positions=completion["positions"],
      segment_ids=completion["segment_ids"], cache=cache)
  first_NxD = jnp.repeat(prompt_hidden_BxPxD[:, -1], G, axis=0)
  return jnp.concatenate([first_NxD[:, None], hidden_NxTxD[:, :T - 1]], axis=1)


def completion_logprobs(graphdef: nnx.GraphDef, params: Any, rest: Any, seq: dict[str, jax.Array],
                        prompt_len: int, *, temperature: float,
                        chunk_size: int | None = None,
                        with_entropy: bool = False) -> tuple[jax.Array, jax.Array | None]:
  """log π(o_t | q, o_<t) [B, G, T] (and entropies) of the completion part of `seq`."""
  B, G, L = seq["inputs"].shape
  model = nnx.merge(graphdef, params, rest)
  logits_NxTxV = model.logits(completion_hidden_states(model, seq, prompt_len))
  targets_NxT = seq["inputs"][:, :, prompt_len:].reshape(B * G, L - prompt_len)
  if with_entropy:
    logp, entropy = grpo_lib.token_logprobs_and_entropy(
        logits_NxTxV, targets_NxT, chunk_size=chunk_size, temperature=temperature)
    return logp.reshape(B, G, -1), entropy.reshape(B, G, -1)
  logp = grpo_lib.token_logprobs(logits_NxTxV, targets_NxT, chunk_size=chunk_size,
                                 temperature=temperature)
  return logp.reshape(B, G, -1), None


def advantages(batch: dict[str, jax.Array], s: GRPOSettings) -> jax.Array:
  """Per-token Â [B, G, T] from the batch's rewards (§4.1.2 outcome, §4.1.3 process)."""
  mask = batch["loss_mask"]
  B, G, T = mask.shape
  if s.objective == "rft":
    # GC(q, o) = I(o): 1 for a correct completion, 0 otherwise (rewards are the 0/1 rule).
    correct_BxG = (batch["rewards"] > 0).astype(mask.dtype) * batch["group_valid"][:, None]
    return correct_BxG[..., None] * mask
  if s.supervision == "process":
    valid_steps = batch["step_mask"] & batch["group_valid"][:, None, None]
    adv = grpo_lib.process_advantages(batch["step_rewards"], batch["step_ends"], valid_steps, T,
                                      eps=s.adv_eps, ddof=s.std_ddof)
    return adv * mask
  valid_BxG = jnp.broadcast_to(batch["group_valid"][:, None], (B, G))
  adv_BxG = grpo_lib.outcome_advantages(batch["rewards"], eps=s.adv_eps,
                                        scale_rewards=s.scale_rewards, valid_BxG=valid_BxG,
                                        ddof=s.std_ddof)
  return grpo_lib.broadcast_advantages(adv_BxG, mask)


def _minibatches(x: jax.Array, num: int) -> jax.Array:
  """[B, ...] -> [num, B/num, ...], consecutive questions per minibatch."""
  return x.reshape((num, x.shape[0] // num) + x.shape[1:])


def chunk_loss_weights(mask_KxCxGxT: jax.Array, aggregation: str) -> jax.Array:
  """w_k such that Σ_k w_k·L_k = L for the losses L_k of K chunks of whole groups [K].

  L_k = grpo_lib.aggregate_tokens over chunk k; L over the K chunks together. Each aggregation
  is a sum of per-token (or per-sample) terms over one normalizer, so w_k = (chunk k's
  normalizer) / (the whole normalizer): "paper" (Eq. 3, 1/G Σ_i 1/|o_i| Σ_t) divides by the
  samples with at least one loss token (each sample's 1/|o_i| lies inside its chunk),
  "token_mean" by the loss tokens, "constant" by B·G·L (so w_k = 1/K). A chunk with nothing
  in the loss has L_k = 0 (and w_k = 0 under "paper" and "token_mean").
  """
  if aggregation not in grpo_lib.AGGREGATIONS:
    raise ValueError(f"aggregation={aggregation!r} is not one of {grpo_lib.AGGREGATIONS}")
  maskf = mask_KxCxGxT.astype(jnp.float32)
  if aggregation == "paper":
    counts_K = (maskf.sum(-1) > 0).astype(jnp.float32).sum((1, 2))
  elif aggregation == "token_mean":
    counts_K = maskf.sum((1, 2, 3))
  else:
    counts_K = jnp.full(mask_KxCxGxT.shape[:1], float(np.prod(mask_KxCxGxT.shape[1:3])))
  return counts_K / jnp.maximum(counts_K.sum(), 1.0)


# How each metric of one loss evaluation combines over chunks (the rest are token means).
_LOSS_METRICS = ("loss", "objective", "pg_loss", "kl_loss")   # weighted like the loss
_SUM_METRICS = ("num_tokens",)
_MAX_METRICS = ("ratio_max", "logprob_diff_sampler_trainer_max")
_MIN_METRICS = ("ratio_min",)


def combine_chunk_metrics(metrics_K: dict[str, jax.Array], loss_weight_K: jax.Array,
                          tokens_K: jax.Array) -> dict[str, jax.Array]:
  """The metrics of the K chunks together, equal to those of one pass over the minibatch."""
  total_tokens = tokens_K.sum()
  token_weight_K = tokens_K / jnp.maximum(total_tokens, 1.0)
  has_tokens_K = tokens_K > 0
  out = {}
  for key, value_K in metrics_K.items():
    if key in _LOSS_METRICS:
      out[key] = jnp.sum(loss_weight_K * value_K)
    elif key in _SUM_METRICS:
      out[key] = value_K.sum()
    elif key in _MAX_METRICS + _MIN_METRICS:
      # A chunk without loss tokens reports 1 (ratios) or 0 (diffs): not a value of any token.
      is_max = key in _MAX_METRICS
      extreme = jnp.where(has_tokens_K, value_K, -jnp.inf if is_max else jnp.inf)
      extreme = extreme.max() if is_max else extreme.min()
      out[key] = jnp.where(total_tokens > 0, extreme, value_K[0])
    else:
      out[key] = jnp.sum(token_weight_K * value_K)
  return out


def make_minibatch_grad(graphdef: nnx.GraphDef, settings: GRPOSettings,
                        prompt_len: int) -> Callable[..., tuple[Any, dict[str, jax.Array]]]:
  """`(params, rest, mb) -> (grads, metrics)`: ∇ of Eq. 3's loss over one minibatch.

  `mb`: the batch's sequences, loss_mask, old_logp, ref_logp and `advantages` [B', G, ...] for
  the minibatch's B' questions. With `grad_accum_steps` K > 1 the gradient is the sum over K
  chunks of B'/K whole groups of ∇(w_k·L_k) (`chunk_loss_weights`): the same gradient and
  metrics (`combine_chunk_metrics`), with one chunk's activations alive at a time.
  """
  s = settings
  K = s.grad_accum_steps
  if K < 1:
    raise ValueError(f"grad_accum_steps must be >= 1, got {K}")
  loss_kwargs = dict(epsilon=s.epsilon, beta=s.beta, aggregation=s.aggregation,
                     epsilon_high=s.epsilon_high, kl_estimator=s.kl_estimator,
                     log_ratio_clamp=s.log_ratio_clamp)

  def loss_fn(params, rest, mb):
    seq = {k: mb[k] for k in ("inputs", "positions", "segment_ids")}
    logp, entropy = completion_logprobs(graphdef, params, rest, seq, prompt_len,
                                        temperature=s.temperature,
                                        chunk_size=s.logprob_chunk_size, with_entropy=True)
    T = logp.shape[-1]
    # RFT has no importance ratio: with old = logp held constant, ρ = 1 and the gradient is
    # I(o)·∇log π, fine-tuning on the correct samples whoever drew them (§5.2.1).
    reuse_logp = s.objective == "rft" or s.old_is_current
    old_logp = jax.lax.stop_gradient(logp) if reuse_logp else mb["old_logp"]
    loss, metrics = grpo_lib.grpo_loss(logp, old_logp, mb["ref_logp"], mb["advantages"],
                                       mb["loss_mask"], constant_length=T, **loss_kwargs)
    maskf = mb["loss_mask"].astype(jnp.float32)
    num_tokens = jnp.maximum(maskf.sum(), 1.0)
    if s.old_is_current:
      # Sampler vs trainer: the same tokens under the same parameters in two programs.
      diff = jnp.abs(jax.lax.stop_gradient(logp) - mb["old_logp"]) * maskf
      metrics["logprob_diff_sampler_trainer"] = diff.sum() / num_tokens
      metrics["logprob_diff_sampler_trainer_max"] = diff.max()
    metrics["entropy"] = jnp.sum(jax.lax.stop_gradient(entropy) * maskf) / num_tokens
    return loss, metrics

  grad_fn = jax.grad(loss_fn, has_aux=True)

  def weighted_loss_fn(params, rest, chunk, weight):
    loss, metrics = loss_fn(params, rest, chunk)
    return loss * weight, metrics

  weighted_grad_fn = jax.grad(weighted_loss_fn, has_aux=True)

  def shard_questions(mb):
    return {k: sharding.shard(v, ("act_batch",) + (None,) * (v.ndim - 1)) for k, v in mb.items()}

  def minibatch_grad(params, rest, mb):
    if K == 1:
      return grad_fn(params, rest, shard_questions(mb))
    questions = mb["loss_mask"].shape[0]
    if questions % K:
      raise ValueError(f"{questions} questions per minibatch are not divisible by "
                       f"grad_accum_steps={K} (chunks hold whole groups)")
    chunks = {k: _minibatches(v, K) for k, v in mb.items()}
    loss_weight_K = chunk_loss_weights(chunks["loss_mask"], s.aggregation)

    def one_chunk(grads_sum, xs):
      chunk, weight = xs
      grads, metrics = weighted_grad_fn(params, rest, shard_questions(chunk), weight)
      return jax.tree.map(jnp.add, grads_sum, grads), metrics

    zeros = jax.tree.map(lambda p: jnp.zeros(p.shape, jnp.float32), params)
    grads, metrics_K = jax.lax.scan(one_chunk, zeros, (chunks, loss_weight_K))
    grads = jax.tree.map(lambda g, p: g.astype(p.dtype), grads, params)
    tokens_K = chunks["loss_mask"].astype(jnp.float32).sum((1, 2, 3))
    return grads, combine_chunk_metrics(metrics_K, loss_weight_K, tokens_K)

  return minibatch_grad


def make_update(graphdef: nnx.GraphDef, tx: optax.GradientTransformation,
                schedule: optax.Schedule, settings: GRPOSettings,
                prompt_len: int) -> Callable[..., tuple[State, dict[str, jax.Array]]]:
  """The pure GRPO update `(state, rest, batch) -> (state, metrics)`; see module docstring.

  `batch`: inputs/positions/segment_ids [B, G, P + T]; loss_mask, old_logp, ref_logp
  [B, G, T]; group_valid [B]; rewards [B, G] (outcome) or step_rewards/step_ends/step_mask
  [B, G, S] (process). With `grad_accum_steps` K > 1 each minibatch's gradient and metrics are
  accumulated over K chunks of B/(M·K) questions (`make_minibatch_grad`: the memory of one
  chunk, the same update). Metrics are means over the μ·M updates, plus `loss_first` (the
  loss of the first minibatch before any update) and `finite` (all updates finite; a
  non-finite one is skipped, as in train_lib).
  """
  s = settings
  M = s.num_minibatches
  minibatch_grad = make_minibatch_grad(graphdef, settings, prompt_len)  # checks K divides B/M

  def update(state: State, rest: Any, batch: dict[str, jax.Array]):
    B = batch["loss_mask"].shape[0]
    if B % M:
      raise ValueError(f"{B} questions per step are not divisible by {M} minibatches")
    adv_BxGxT = advantages(batch, s)
    keys = ("inputs", "positions", "segment_ids", "loss_mask", "old_logp", "ref_logp")
    mbs = {k: _minibatches(batch[k], M) for k in keys}
    mbs["advantages"] = _minibatches(adv_BxGxT, M)

    def one_update(carry, index):
      params, opt_state = carry
      mb = jax.tree.map(lambda x: jax.lax.dynamic_index_in_dim(x, index % M, keepdims=False),
                        mbs)
      grads, metrics = minibatch_grad(params, rest, mb)
      params, opt_state, grad_norm, finite = train_lib.apply_if_finite(
          tx, params, opt_state, grads, metrics["loss"])
      metrics = dict(metrics, grad_norm=grad_norm, finite=finite.astype(jnp.float32))
      return (params, opt_state), metrics

    lr = schedule(train_lib.update_count(state["opt"]["opt_state"]))
    (params, opt_state), per_update = jax.lax.scan(
        one_update, (state["params"], state["opt"]["opt_state"]),
        jnp.arange(s.num_updates * M))
    metrics = {k: v.mean() for k, v in per_update.items() if k != "finite"}
    metrics["finite"] = per_update["finite"].min() > 0
    metrics["num_skipped_updates"] = jnp.sum(1.0 - per_update["finite"])
    metrics["loss_first"] = per_update["loss"][0]
    metrics["lr"] = lr
    metrics["advantage_abs_mean"] = jnp.sum(jnp.abs(adv_BxGxT)) / jnp.maximum(
        batch["loss_mask"].sum(), 1.0)
    opt = dict(opt_state=opt_state, step=state["opt"]["step"] + 1, rng=state["opt"]["rng"])
    return dict(params=params, opt=opt), metrics

  return update


def batch_shardings(mesh: Any, rules: Any, batch: dict[str, Any]) -> dict[str, Any]:
  """Each leaf sharded over the act_batch axes on its leading (question) dimension."""
  return {k: sharding.batch_sharding(mesh, rules, np.ndim(v)) for k, v in batch.items()}


class JitUpdate:
  """`update` jitted with the state's shardings (state donated), one program per batch shape.

  `lower(state, batch)` lowers the program a call with that batch runs (arrays or
  `jax.ShapeDtypeStruct`s; experiments/aot_compile.py).
  """

  def __init__(self, update: Callable[..., Any], setup: Any):
    self.update, self.setup = update, setup
    self._compiled: dict[tuple, Any] = {}

  def _program(self, batch: dict[str, Any]) -> train_lib.MeshProgram:
    key = tuple(sorted((k, np.shape(v)) for k, v in batch.items()))
    if key not in self._compiled:
      setup, repl = self.setup, sharding.replicated(self.setup.mesh)
      self._compiled[key] = train_lib.MeshProgram(jax.jit(
          self.update,
          in_shardings=(setup.state_sharding, repl, batch_shardings(setup.mesh, setup.rules,
                                                                    batch)),
          out_shardings=(setup.state_sharding, repl), donate_argnums=(0,)), setup)
    return self._compiled[key]

  def __call__(self, state: State, batch: dict[str, Any]):
    return self._program(batch)(state, batch)

  def lower(self, state: State, batch: dict[str, Any]) -> jax.stages.Lowered:
    return self._program(batch).lower(state, batch)


def jit_update(update: Callable[..., Any], setup: Any) -> JitUpdate:
  """Jits `update` with the state's shardings, donating the state."""
  return JitUpdate(update, setup)


def jit_logprobs(setup: Any, prompt_len: int, *, temperature: float,
                 chunk_size: int | None) -> train_lib.MeshProgram:
  """`(params, seq) -> logp [B, G, T]` jitted once per shape (π_θold and π_ref share it)."""
  fn = functools.partial(completion_logprobs, setup.graphdef, prompt_len=prompt_len,
                         temperature=temperature, chunk_size=chunk_size)
  jitted = jax.jit(lambda params, rest, seq: fn(params, rest, seq)[0],
                   in_shardings=(setup.state_sharding["params"], sharding.replicated(setup.mesh),
                                 sharding.batch_sharding(setup.mesh, setup.rules, 3)),
                   out_shardings=sharding.batch_sharding(setup.mesh, setup.rules, 3))
  return train_lib.MeshProgram(jitted, setup)
