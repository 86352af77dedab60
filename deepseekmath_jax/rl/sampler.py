"""Group sampler: G completions per prompt from one shared prompt prefill (GRPO, §4.1).

`generate(model, prompts, num_samples=G, ...)` returns G completions for each of B prompts as
numpy arrays (`Samples`): tokens, per-token log-probs, lengths and truncation flags.

How it works, and why:

* Host side, the prompts (different lengths) are left-padded to a bucketed length P (a power
  of two, capped at `max_prompt_len`) and the batch to a bucketed row count, so calls with
  similar shapes reuse one compiled program (`jax.jit` keyed on the bucketed shapes and the
  code-path settings (greedy or not, top-k, top-p on or off), which are static; temperature,
  top-p mass, EOS/pad ids and stop sequences are traced values). Each row carries its own RoPE positions (0 at its first
  real token) and segment ids (0 marks padding), so padding changes nothing in the result.
* Inside one jit: the B prompts are prefilled once into a KV cache of B rows; the cache becomes
  the shared prefix of a decode cache of B*G rows (`KVCache.as_prefix`: row b*G+g reads prompt
  row b). The prompt is neither recomputed nor copied G times, which is what the peers' native
  samplers do (Tunix repeats prompts with `np.repeat`, google/tunix#122).
* The decode loop is a `lax.while_loop` that stops as soon as every row has ended (EOS, a stop
  token sequence, or the token budget), so a batch of short answers costs short-answer time.
* Sampling: greedy (temperature 0), temperature, top-k, top-p. Each row draws from its own key
  `fold_in(fold_in(rng, step), b*G+g)`, so a prompt's samples depend on the key, the prompt
  and its index b, not on the other prompts or the padding rows added for bucketing.
* Log-probs are those of the sampled token under softmax(logits / temperature) (temperature 1
  when greedy), before top-k/top-p truncation: the behaviour policy's log-probs that GRPO's
  importance ratio and sampler-vs-trainer diagnostics need (the vLLM temperature pitfall of
  huggingface/trl#4159 does not arise: the scaling is explicit here).
* With a mesh, the batch is sharded over the `act_batch` mesh axes (rows are padded to a
  multiple of their size); parameters keep their own sharding.

Written by hand: no JAX sampler shares one prompt prefill across the G samples of a group.

Shape letters: B prompts, G samples per prompt, R = B*G decode rows, P prompt slots,
T new tokens, V vocabulary, M longest stop sequence.
"""

from __future__ import annotations

import dataclasses
import functools
import math
from collections.abc import Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

from deepseekmath_jax import config_lib, sharding
from deepseekmath_jax.model.kv_cache import KVCache

_CACHE_LOGICAL = ("act_batch", "act_kv_heads", None, None)   # a layer's [B, K, S, E]


@dataclasses.dataclass
class Samples:
  """G completions for each of B prompts (numpy arrays).

  Attributes:
    tokens: int32 [B, G, T] completion tokens (T = max_new_tokens); pad_id after the end.
      EOS and stop-sequence tokens are part of the completion when produced.
    logprobs: float32 [B, G, T] log-prob of each sampled token under
      softmax(logits / temperature) (temperature 1 when greedy), before top-k/top-p; 0 at pad.
    lengths: int32 [B, G] completion lengths (EOS / stop tokens included).
    truncated: bool [B, G] True when a completion used all max_new_tokens without EOS/stop.
    prompt_lengths: int32 [B] prompt lengths after truncation to max_prompt_len.
    num_truncated_prompts: prompts that were longer than max_prompt_len.
    decode_steps: tokens produced per row by the decode loop before it stopped (the longest
      completion; < T when every row ended early).
  """
  tokens: np.ndarray
  logprobs: np.ndarray
  lengths: np.ndarray
  truncated: np.ndarray
  prompt_lengths: np.ndarray
  num_truncated_prompts: int
  decode_steps: int = 0


def bucket_length(n: int, minimum: int = 8) -> int:
  """The padded length for n tokens: the next power of two (at least `minimum`)."""
  return max(minimum, 1 << max(0, n - 1).bit_length())


def bucket_rows(n: int, multiple: int = 1) -> int:
  """Padded row count: a power of two up to 8, then a multiple of 8; divisible by `multiple`."""
  rows = bucket_length(n, minimum=1) if n <= 8 else -(-n // 8) * 8
  return -(-rows // multiple) * multiple


def batch_shards(mesh: Any, rules: sharding.Rules) -> int:
  """How many ways the act_batch logical axis is split on `mesh` (1 without a mesh)."""
  if mesh is None:
    return 1
  axes = sharding.logical_to_spec(("act_batch",), rules)[0]
  if axes is None:
    return 1
  axes = (axes,) if isinstance(axes, str) else axes
  return math.prod(mesh.shape[a] for a in axes)


def _filter_logits(logits_RxV: jax.Array, top_k: int,
                   top_p: float | jax.Array | None) -> jax.Array:
  """Masks (to -inf) the tokens outside the top-k (0: off), then outside the top-p nucleus.

  `top_k` is static (it sets a shape); `top_p` may be traced, None turns it off.
  """
  neg_inf = jnp.asarray(-jnp.inf, logits_RxV.dtype)
  vocab = logits_RxV.shape[-1]
  sorted_RxK = None
  if 0 < top_k < vocab:
    sorted_RxK, _ = jax.lax.top_k(logits_RxV, top_k)           # descending
    logits_RxV = jnp.where(logits_RxV < sorted_RxK[:, -1:], neg_inf, logits_RxV)
  if top_p is not None:
    if sorted_RxK is None:
      sorted_RxK = -jnp.sort(-logits_RxV, axis=-1)
    probs_RxK = jax.nn.softmax(sorted_RxK, axis=-1)
    mass_before_RxK = jnp.cumsum(probs_RxK, axis=-1) - probs_RxK
    # The smallest set whose mass reaches top_p; the most likely token is always kept.
    keep_R = jnp.maximum(jnp.sum(mass_before_RxK < top_p, axis=-1), 1)
    threshold_R = jnp.take_along_axis(sorted_RxK, keep_R[:, None] - 1, axis=-1)
    logits_RxV = jnp.where(logits_RxV < threshold_R, neg_inf, logits_RxV)
  return logits_RxV


def draw_categorical(keys_R: jax.Array, logits_RxV: jax.Array) -> jax.Array:
  """One token per row from softmax(logits_RxV), by inverting the CDF with one uniform.

  `jax.random.categorical` (the Gumbel-max trick) draws V random variates per row; here one
  per row and a cumulative sum give the same distribution. Masked (-inf) tokens have zero
  mass and are never drawn: the draw is the first index whose CDF exceeds u·total, which
  cannot be a zero-mass index, and a rounding overflow is clamped to the last token with mass.
  """
  u_R = jax.vmap(jax.random.uniform)(keys_R)
  probs_RxV = jax.nn.softmax(logits_RxV, axis=-1)
  cdf_RxV = jnp.cumsum(probs_RxV, axis=-1)
  drawn_R = jnp.sum(cdf_RxV <= (u_R * cdf_RxV[:, -1])[:, None], axis=-1)
  vocab = logits_RxV.shape[-1]
  last_R = vocab - 1 - jnp.argmax(probs_RxV[:, ::-1] > 0, axis=-1)
  return jnp.minimum(drawn_R, last_R).astype(jnp.int32)


def _sample(logits_RxV: jax.Array, rng: jax.Array, step: jax.Array, row_ids_R: jax.Array,
            temperature: jax.Array, top_p: jax.Array, *, greedy: bool, top_k: int,
            use_top_p: bool) -> tuple[jax.Array, jax.Array]:
  """Next tokens [R] and their log-probs [R] under softmax(logits / temperature)."""
  logits_RxV = logits_RxV.astype(jnp.float32)
  if greedy:
    tokens_R = jnp.argmax(logits_RxV, axis=-1).astype(jnp.int32)
  else:
    logits_RxV = logits_RxV / temperature
    filtered_RxV = _filter_logits(logits_RxV, top_k, top_p if use_top_p else None)
    step_key = jax.random.fold_in(rng, step)
    keys_R = jax.vmap(jax.random.fold_in, in_axes=(None, 0))(step_key, row_ids_R)
    tokens_R = draw_categorical(keys_R, filtered_RxV)
  logp_RxV = jax.nn.log_softmax(logits_RxV, axis=-1)
  token_logp_R = jnp.take_along_axis(logp_RxV, tokens_R[:, None], axis=-1)[:, 0]
  return tokens_R, token_logp_R


@dataclasses.dataclass(frozen=True)
class _Program:
  """Static settings of one compiled generation program (shapes and code paths only).

  Values that do not change the program (temperature, top_p, eos/pad ids, stop sequences)
  are traced arguments, so e.g. a temperature sweep or another prompt format's stop strings
  reuse the compiled program.
  """
  num_samples: int
  max_new_tokens: int
  greedy: bool
  top_k: int
  use_top_p: bool


def _shard_cache(cache: KVCache) -> KVCache:
  def constrain(stack):
    if stack is None:
      return None
    if isinstance(stack, tuple):
      return tuple(sharding.shard(x, _CACHE_LOGICAL) for x in stack)
    return sharding.shard(stack, (None,) + _CACHE_LOGICAL)      # stacked layers [N, ...]
  return cache.replace(k=constrain(cache.k), v=constrain(cache.v),
                       prefix_k=constrain(cache.prefix_k), prefix_v=constrain(cache.prefix_v))


def _stop_hits(window_RxM: jax.Array, stops_SxM: jax.Array, stop_len_S: jax.Array,
               num_tokens: jax.Array) -> jax.Array:
  """Rows [R] whose last tokens (right-aligned in the window) equal a stop sequence."""
  m = window_RxM.shape[1]
  in_stop_SxM = jnp.arange(m)[None, :] >= m - stop_len_S[:, None]
  equal_RxSxM = window_RxM[:, None, :] == stops_SxM[None]
  hit_RxS = jnp.all(equal_RxSxM | ~in_stop_SxM[None], axis=-1)
  # A stop sequence must lie inside the completion, and empty (padding) entries never hit.
  hit_RxS &= (stop_len_S > 0)[None] & (stop_len_S <= num_tokens)[None]
  return jnp.any(hit_RxS, axis=-1)


@functools.partial(nnx.jit, static_argnames=("program",))
def _generate_jit(model: nnx.Module, prompt_BxP: jax.Array, prompt_len_B: jax.Array,
                  real_B: jax.Array, rng: jax.Array, temperature: jax.Array, top_p: jax.Array,
                  eos_id: jax.Array, pad_id: jax.Array, stops_SxM: jax.Array,
                  stop_len_S: jax.Array, *, program: _Program):
  """Prefill once, decode B*G rows in a while_loop; returns device arrays."""
  b, p = prompt_BxP.shape
  g, t = program.num_samples, program.max_new_tokens
  r = b * g
  m = stops_SxM.shape[1]

  # Prefill: left-padded prompts, positions counted from each row's first real token.
  slot_P = jnp.arange(p, dtype=jnp.int32)
  pad_B = p - prompt_len_B
  segment_BxP = (slot_P[None] >= pad_B[:, None]).astype(jnp.int32)
  positions_BxP = jnp.maximum(slot_P[None] - pad_B[:, None], 0)
  prefix = _shard_cache(KVCache.init(model.cfg, b, p))
  hidden_BxPxD, prefix = model.hidden_states(prompt_BxP, positions=positions_BxP,
                                             segment_ids=segment_BxP, cache=prefix)
  # Only the last slot's logits are needed (left padding puts every prompt's end there).
  first_logits_BxV = model.logits(hidden_BxPxD[:, -1:])[:, 0]
  # Decoding feeds tokens 0..T-2 back (the last token is never fed): T-1 own slots.
  cache = _shard_cache(prefix.as_prefix(group_size=g, max_len=max(t - 1, 1)))

  def rows(x_B):
    return sharding.shard(jnp.repeat(x_B, g, axis=0), ("act_batch",))

  prompt_len_R = rows(prompt_len_B)
  row_ids_R = jnp.arange(r, dtype=jnp.int32)

  def record(i, tokens_R, logp_R, out):
    """Writes step i's tokens into the outputs and updates which rows have ended."""
    tokens_RxT, logp_RxT, lengths_R, done_R, window_RxM = out
    active_R = ~done_R
    tokens_R = jnp.where(active_R, tokens_R, pad_id)
    logp_R = jnp.where(active_R, logp_R, 0.0)
    tokens_RxT = jax.lax.dynamic_update_slice(tokens_RxT, tokens_R[:, None], (0, i))
    logp_RxT = jax.lax.dynamic_update_slice(logp_RxT, logp_R[:, None], (0, i))
    lengths_R = jnp.where(active_R, i + 1, lengths_R)
    window_RxM = jnp.concatenate([window_RxM[:, 1:], tokens_R[:, None]], axis=1)
    stop_R = (tokens_R == eos_id) | _stop_hits(window_RxM, stops_SxM, stop_len_S, i + 1)
    done_R = done_R | (active_R & stop_R)
    return tokens_RxT, logp_RxT, lengths_R, done_R, window_RxM

  out = (sharding.shard(jnp.full((r, t), pad_id, jnp.int32), ("act_batch", None)),
         sharding.shard(jnp.zeros((r, t), jnp.float32), ("act_batch", None)),
         jnp.zeros((r,), jnp.int32),
         ~rows(real_B),                       # padding rows are done from the start
         jnp.full((r, m), -1, jnp.int32))
  sample = functools.partial(_sample, rng=rng, row_ids_R=row_ids_R, temperature=temperature,
                             top_p=top_p, greedy=program.greedy, top_k=program.top_k,
                             use_top_p=program.use_top_p)
  tokens_R, logp_R = sample(rows(first_logits_BxV), step=jnp.int32(0))
  out = record(0, tokens_R, logp_R, out)

  def cond(carry):
    i, _, _, out = carry
    return (i < t) & ~jnp.all(out[3])

  def body(carry):
    i, cache, last_R, out = carry
    logits_Rx1xV, cache = model(last_R[:, None], positions=(prompt_len_R + i - 1)[:, None],
                                segment_ids=jnp.ones((r, 1), jnp.int32), cache=cache)
    tokens_R, logp_R = sample(logits_Rx1xV[:, 0], step=i)
    out = record(i, tokens_R, logp_R, out)
    return i + 1, cache, tokens_R, out

  steps, _, _, out = jax.lax.while_loop(cond, body, (jnp.int32(1), cache, tokens_R, out))
  tokens_RxT, logp_RxT, lengths_R, done_R, _ = out
  truncated_R = rows(real_B) & ~done_R
  return (tokens_RxT.reshape(b, g, t), logp_RxT.reshape(b, g, t), lengths_R.reshape(b, g),
          truncated_R.reshape(b, g), steps)


def _to_numpy(x: jax.Array) -> np.ndarray:
  if isinstance(x, jax.Array) and not x.is_fully_addressable:
    from jax.experimental import multihost_utils  # only multi-process runs need it
    x = multihost_utils.process_allgather(x, tiled=True)
  return np.asarray(x)


def generate(model: nnx.Module, prompts: Sequence[Sequence[int]], *, num_samples: int,
             max_new_tokens: int, rng: jax.Array, temperature: float = 1.0,
             top_p: float = 1.0, top_k: int = 0, eos_id: int, pad_id: int,
             stop_sequences: Sequence[Sequence[int]] = (), max_prompt_len: int | None = None,
             prompt_slots: int | None = None, mesh: Any = None,
             rules: sharding.Rules = config_lib.AXIS_RULES) -> Samples:
  """Samples `num_samples` completions for each prompt; see the module docstring.

  Args:
    model: a `Transformer` (sharded on `mesh` when one is given).
    prompts: token ids per prompt (BOS included by the caller), of any lengths >= 1.
    num_samples: G, completions per prompt.
    max_new_tokens: T, the token budget per completion.
    rng: a `jax.random.key`; the same key gives the same samples.
    temperature: softmax temperature; 0 means greedy (argmax).
    top_p: nucleus mass kept (1 = off).
    top_k: tokens kept (0 = off).
    eos_id: ends a completion (kept in it). An id outside the vocabulary never ends one.
    pad_id: fills the tokens after a completion's end.
    stop_sequences: token sequences that end a completion once it ends with one of them (the
      stop tokens are kept). Only the completion is searched, not the prompt.
    max_prompt_len: longer prompts keep their last `max_prompt_len` tokens (counted).
    prompt_slots: pad prompts to at least this many slots (a caller whose prompt lengths
      vary a lot, such as the tool loop's continuations, keeps one compiled program).
    mesh: a device mesh to shard the batch over (its `act_batch` axes), or None.
    rules: logical axis rules.

  Returns:
    `Samples` with arrays [B, G, T] / [B, G] / [B].
  """
  prepared = _prepare(prompts, num_samples=num_samples, max_new_tokens=max_new_tokens,
                      temperature=temperature, top_p=top_p, top_k=top_k, eos_id=eos_id,
                      pad_id=pad_id, stop_sequences=stop_sequences,
                      max_prompt_len=max_prompt_len, prompt_slots=prompt_slots, mesh=mesh,
                      rules=rules)
  with sharding.mesh_rules(mesh, rules):
    arrays = prepared.arrays
    if mesh is not None:
      arrays = tuple(jax.device_put(x, sharding.batch_sharding(mesh, rules, x.ndim))
                     for x in arrays)
    out = _generate_jit(model, *arrays, rng, *prepared.settings, program=prepared.program)
  b = len(prepared.lengths)
  tokens, logprobs, comp_lengths, truncated, steps = (_to_numpy(x) for x in out)
  tokens, logprobs = tokens[:b], logprobs[:b]
  comp_lengths, truncated = comp_lengths[:b], truncated[:b]
  if prepared.program.num_samples != num_samples:
    tokens, logprobs, comp_lengths, truncated = (
        np.repeat(x, num_samples, axis=1) for x in (tokens, logprobs, comp_lengths, truncated))
  return Samples(tokens=tokens.astype(np.int32), logprobs=logprobs.astype(np.float32),
                 lengths=comp_lengths.astype(np.int32), truncated=truncated.astype(bool),
                 prompt_lengths=prepared.lengths,
                 num_truncated_prompts=prepared.num_truncated, decode_steps=int(steps))


def lower_generate(model: nnx.Module, prompts: Sequence[Sequence[int]], *, num_samples: int,
                   max_new_tokens: int, temperature: float = 1.0, top_p: float = 1.0,
                   top_k: int = 0, eos_id: int = 1, pad_id: int = 0,
                   stop_sequences: Sequence[Sequence[int]] = (),
                   max_prompt_len: int | None = None, mesh: Any = None,
                   rules: sharding.Rules = config_lib.AXIS_RULES) -> jax.stages.Lowered:
  """Lowers the program `generate` would run for these arguments, without running it.

  `model` may be abstract (`nnx.eval_shape`); the batch goes in as sharded
  `jax.ShapeDtypeStruct`s, so the mesh may hold devices this process cannot run on (AOT
  compilation for a TPU topology, experiments/aot_compile.py).
  """
  prepared = _prepare(prompts, num_samples=num_samples, max_new_tokens=max_new_tokens,
                      temperature=temperature, top_p=top_p, top_k=top_k, eos_id=eos_id,
                      pad_id=pad_id, stop_sequences=stop_sequences,
                      max_prompt_len=max_prompt_len, mesh=mesh, rules=rules)
  arrays = tuple(jax.ShapeDtypeStruct(
      x.shape, x.dtype,
      sharding=None if mesh is None else sharding.batch_sharding(mesh, rules, x.ndim))
                 for x in prepared.arrays)
  rng = jax.eval_shape(lambda: jax.random.key(0))
  with sharding.mesh_rules(mesh, rules):
    return _generate_jit.lower(model, *arrays, rng, *prepared.settings,
                               program=prepared.program)


@dataclasses.dataclass
class _Prepared:
  """`generate`'s host-side inputs: bucketed prompt arrays, traced settings, the program."""
  arrays: tuple[np.ndarray, ...]       # prompt [B', P], prompt lengths [B'], real rows [B']
  settings: tuple[Any, ...]
  program: _Program
  lengths: np.ndarray                  # prompt lengths of the B real prompts (truncated)
  num_truncated: int


def _prepare(prompts: Sequence[Sequence[int]], *, num_samples: int, max_new_tokens: int,
             temperature: float, top_p: float, top_k: int, eos_id: int, pad_id: int,
             stop_sequences: Sequence[Sequence[int]], max_prompt_len: int | None, mesh: Any,
             rules: sharding.Rules, prompt_slots: int | None = None) -> _Prepared:
  """Checks the arguments, buckets and pads the prompts and stop sequences."""
  if num_samples < 1 or max_new_tokens < 1:
    raise ValueError(f"num_samples ({num_samples}) and max_new_tokens ({max_new_tokens}) "
                     "must be >= 1")
  if temperature < 0 or not 0 < top_p <= 1 or top_k < 0:
    raise ValueError(f"bad sampling settings: temperature={temperature} (>= 0), "
                     f"top_p={top_p} (in (0, 1]), top_k={top_k} (>= 0)")
  if max_prompt_len is not None and max_prompt_len < 1:
    raise ValueError(f"max_prompt_len must be >= 1, got {max_prompt_len}")
  prompts = [list(map(int, q)) for q in prompts]
  if not prompts:
    raise ValueError("no prompts")
  empty = [i for i, q in enumerate(prompts) if not q]
  if empty:
    raise ValueError(f"empty prompts at indices {empty[:10]} (include BOS)")
  stops = tuple(tuple(int(x) for x in q) for q in stop_sequences if len(q))
  num_truncated = 0
  if max_prompt_len is not None:
    num_truncated = sum(len(q) > max_prompt_len for q in prompts)
    prompts = [q[-max_prompt_len:] for q in prompts]
  lengths = np.asarray([len(q) for q in prompts], np.int32)

  # Greedy samples of one prompt are all the same: decode one row and repeat it.
  g = 1 if temperature == 0 else num_samples
  b = len(prompts)
  padded_b = bucket_rows(b, batch_shards(mesh, rules))
  p = max(bucket_length(int(lengths.max())), int(prompt_slots or 0))
  if max_prompt_len is not None:
    p = min(p, max_prompt_len)
  prompt_BxP = np.full((padded_b, p), pad_id, np.int32)
  for i, q in enumerate(prompts):
    prompt_BxP[i, p - len(q):] = q
  prompt_len_B = np.zeros((padded_b,), np.int32)
  prompt_len_B[:b] = lengths
  real_B = np.arange(padded_b) < b
  # Stop sequences right-aligned in a [S, M] array, both bucketed (at least 4 x 4, so that
  # "no stop sequences" and a few short ones share one program).
  num_stops = bucket_length(len(stops), minimum=4)
  m = bucket_length(max([len(q) for q in stops], default=1), minimum=4)
  stops_SxM = np.full((num_stops, m), -1, np.int32)
  stop_len_S = np.zeros((num_stops,), np.int32)
  for i, q in enumerate(stops):
    stops_SxM[i, m - len(q):] = q
    stop_len_S[i] = len(q)
  program = _Program(num_samples=g, max_new_tokens=int(max_new_tokens),
                     greedy=temperature == 0, top_k=int(top_k), use_top_p=top_p < 1.0)
  settings = (np.float32(temperature if temperature > 0 else 1.0), np.float32(top_p),
              np.int32(eos_id), np.int32(pad_id), stops_SxM, stop_len_S)
  return _Prepared(arrays=(prompt_BxP, prompt_len_B, real_B), settings=settings,
                   program=program, lengths=lengths, num_truncated=int(num_truncated))


def stop_token_sequences(tokenizer: Any, stop_strings: Sequence[str]) -> list[list[int]]:
  """Token spellings of each stop string: alone and after a word (for early stopping only).

  A model can spell a string with other tokens than these; such completions run on to EOS
  or the budget, and `generate_text` still cuts their text exactly.
  """
  seqs = []
  for text in stop_strings:
    seqs.append(tokenizer.encode(text))
    head = tokenizer.encode("a")
    joined = tokenizer.encode("a" + text)
    if joined[:len(head)] == head and len(joined) > len(head):
      seqs.append(joined[len(head):])
  unique = []
  for q in seqs:
    if q and q not in unique:
      unique.append(q)
  return unique


def cut_at_stop(text: str, stop_strings: Sequence[str]) -> str:
  """The text before the earliest occurrence of any stop string."""
  cut = len(text)
  for stop in stop_strings:
    i = text.find(stop)
    if i != -1:
      cut = min(cut, i)
  return text[:cut]


def generate_text(model: nnx.Module, tokenizer: Any, prompts: Sequence[str], *,
                  num_samples: int, max_new_tokens: int, temperature: float = 1.0,
                  top_p: float = 1.0, top_k: int = 0, stop_strings: Sequence[str] = (),
                  rng: jax.Array | None = None, batch_size: int = 32,
                  max_prompt_len: int | None = None, mesh: Any = None,
                  rules: sharding.Rules = config_lib.AXIS_RULES) -> list[list[str]]:
  """Text in, `num_samples` completions per prompt out, each cut at its first stop string.

  The prompts get BOS; completions are decoded without EOS and cut before the earliest stop
  string (exactly, on the decoded text). Stop strings are also given to the sampler as token
  sequences so that rows stop early. Prompts go in batches of `batch_size`.
  Fits the evaluation harness: `lambda ps, n, t: generate_text(model, tok, ps, num_samples=n,
  max_new_tokens=512, temperature=t)`.
  """
  rng = jax.random.key(0) if rng is None else rng
  stop_ids = stop_token_sequences(tokenizer, stop_strings)
  outputs: list[list[str]] = []
  for start in range(0, len(prompts), batch_size):
    chunk = [tokenizer.encode(text, add_bos=True) for text in prompts[start:start + batch_size]]
    samples = generate(model, chunk, num_samples=num_samples, max_new_tokens=max_new_tokens,
                       rng=jax.random.fold_in(rng, start), temperature=temperature,
                       top_p=top_p, top_k=top_k, eos_id=tokenizer.eos_id,
                       pad_id=tokenizer.pad_id, stop_sequences=stop_ids,
                       max_prompt_len=max_prompt_len, mesh=mesh, rules=rules)
    for row_tokens, row_lengths in zip(samples.tokens, samples.lengths):
      texts = []
      for ids, n in zip(row_tokens, row_lengths):
        ids = [int(x) for x in ids[:n]]
        if ids and ids[-1] == tokenizer.eos_id:
          ids = ids[:-1]
        texts.append(cut_at_stop(tokenizer.decode(ids), stop_strings))
      outputs.append(texts)
  return outputs
