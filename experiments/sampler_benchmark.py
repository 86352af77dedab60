"""Group sampler throughput against its naive baselines, measured side by side in one run.

Cases (new tokens per second; every row runs the full budget: EOS is an id outside the
vocabulary, so all methods do the same work):

  cache       ours (`rl.sampler.generate`: KV cache, prompt prefilled once per group) vs
              `no_cache`: the same sampling with a full forward over the whole [prompt + T]
              buffer at every step (no KV cache), jitted as one `fori_loop`. Its per-step cost
              does not depend on the step, so it is timed over `--naive_steps` steps and its
              rate is that of a full run.
  prefix      ours vs `repeated`: the same sampler with each prompt repeated G times and one
              sample per row (what Tunix's native sampler does, google/tunix#122): G prefills
              per prompt and G copies of the prompt's keys/values read at each step.
  draw        one decode step's token draw for R rows over V tokens: ours
              (`sampler.draw_categorical`, inverse CDF, one uniform per row) vs
              `jax.random.categorical` (Gumbel-max, V random variates per row), both from the
              same per-row keys. Rates are rows drawn per second.

Each method is compiled first (not timed), then timed `--repeats` times, ours and the baseline
alternating (shared machines: load then hits both alike); the median is reported.

  python experiments/sampler_benchmark.py            # prints a table and JSON
  python experiments/sampler_benchmark.py --output=/tmp/sampler_benchmark.json
"""

from __future__ import annotations

import functools
import json
import statistics
import time

import jax
import jax.numpy as jnp
import numpy as np
from absl import app
from absl import flags
from flax import nnx

from deepseekmath_jax import config_lib, sharding
from deepseekmath_jax.model import Transformer, count_params
from deepseekmath_jax.rl import sampler

_MODEL = flags.DEFINE_string("model", "small", "config_lib model variant.")
_NEW_TOKENS = flags.DEFINE_integer("new_tokens", 256, "Completion length T.")
_CACHE_PROMPT = flags.DEFINE_integer("cache_prompt_len", 64, "Prompt length, cache case.")
_CACHE_PROMPTS = flags.DEFINE_integer("cache_prompts", 2, "Prompts, cache case.")
_CACHE_G = flags.DEFINE_integer("cache_group", 4, "Samples per prompt, cache case.")
_PREFIX_PROMPT = flags.DEFINE_integer("prefix_prompt_len", 256,
                                      "Prompt length, prefix case (as long as T by default).")
_PREFIX_PROMPTS = flags.DEFINE_integer("prefix_prompts", 2, "Prompts, prefix case.")
_PREFIX_G = flags.DEFINE_integer("prefix_group", 16, "Samples per prompt, prefix case.")
_NAIVE_STEPS = flags.DEFINE_integer("naive_steps", 32, "Steps timed for the no-cache baseline.")
_REPEATS = flags.DEFINE_integer("repeats", 3, "Timed runs per method (median reported).")
_DRAW_ROWS = flags.DEFINE_integer("draw_rows", 256, "Rows, draw case (the demo's B*G).")
_DRAW_VOCAB = flags.DEFINE_integer("draw_vocab", 1024, "Vocabulary, draw case (the demo's).")
_CASES = flags.DEFINE_list("cases", ["cache", "prefix", "draw"], "Cases to run.")
_OUTPUT = flags.DEFINE_string("output", "", "Also write the JSON here.")


def _prompts(num: int, length: int, vocab: int, seed: int) -> list[list[int]]:
  rs = np.random.RandomState(seed)
  return [[1] + rs.randint(3, vocab, length - 1).tolist() for _ in range(num)]


def _median_seconds(fns, repeats: int) -> list[float]:
  """Median wall time of each function; runs alternate so that machine load hits all alike."""
  for fn in fns:
    jax.block_until_ready(fn())                       # compile + warm up
  times = [[] for _ in fns]
  for _ in range(repeats):
    for fn, ts in zip(fns, times):
      start = time.perf_counter()
      jax.block_until_ready(fn())
      ts.append(time.perf_counter() - start)
  return [statistics.median(ts) for ts in times]


@functools.partial(nnx.jit, static_argnames=("steps", "temperature"))
def _no_cache_loop(model, buffer_RxL, prompt_len: int, rng, *, steps: int, temperature: float):
  """Naive sampling: full forward over the whole buffer at every step, no KV cache."""
  r, total = buffer_RxL.shape
  slot_L = jnp.arange(total)
  row_ids_R = jnp.arange(r, dtype=jnp.int32)

  def body(i, buffer_RxL):
    filled = prompt_len + i
    segment_RxL = jnp.broadcast_to((slot_L < filled).astype(jnp.int32), (r, total))
    logits_RxLxV = model(buffer_RxL, segment_ids=segment_RxL)
    logits_RxV = jax.lax.dynamic_index_in_dim(logits_RxLxV, filled - 1, axis=1, keepdims=False)
    tokens_R, _ = sampler._sample(logits_RxV, rng, i, row_ids_R, jnp.float32(temperature),
                                  jnp.float32(1.0), greedy=False, top_k=0, use_top_p=False)
    return jax.lax.dynamic_update_slice(buffer_RxL, tokens_R[:, None], (0, filled))

  return jax.lax.fori_loop(0, steps, body, buffer_RxL)


def _generate_fn(model, prompts, group, new_tokens, vocab):
  return lambda: sampler.generate(model, prompts, num_samples=group, max_new_tokens=new_tokens,
                                  rng=jax.random.key(0), temperature=1.0, eos_id=vocab + 1,
                                  pad_id=0).tokens


def _case_cache(model, vocab: int) -> dict:
  t, p, bp, g = _NEW_TOKENS.value, _CACHE_PROMPT.value, _CACHE_PROMPTS.value, _CACHE_G.value
  prompts = _prompts(bp, p, vocab, seed=0)
  rows = bp * g
  buffer = np.zeros((rows, p + t), np.int32)
  buffer[:, :p] = np.repeat(np.asarray(prompts, np.int32), g, axis=0)
  steps = min(_NAIVE_STEPS.value, t)
  ours, naive = _median_seconds(
      [_generate_fn(model, prompts, g, t, vocab),
       lambda: _no_cache_loop(model, jnp.asarray(buffer), p, jax.random.key(0), steps=steps,
                              temperature=1.0)], _REPEATS.value)
  ours_tps, naive_tps = rows * t / ours, rows * steps / naive
  return dict(case="cache", prompts=bp, group=g, prompt_len=p, new_tokens=t,
              ours_tokens_per_s=ours_tps, baseline="no_cache", baseline_tokens_per_s=naive_tps,
              baseline_steps_timed=steps, speedup=ours_tps / naive_tps, target=3.0)


def _case_prefix(model, vocab: int) -> dict:
  t, p, bp, g = _NEW_TOKENS.value, _PREFIX_PROMPT.value, _PREFIX_PROMPTS.value, _PREFIX_G.value
  prompts = _prompts(bp, p, vocab, seed=1)
  repeated = [q for q in prompts for _ in range(g)]
  ours, base = _median_seconds([_generate_fn(model, prompts, g, t, vocab),
                                _generate_fn(model, repeated, 1, t, vocab)], _REPEATS.value)
  rows = bp * g
  return dict(case="prefix", prompts=bp, group=g, prompt_len=p, new_tokens=t,
              ours_tokens_per_s=rows * t / ours, baseline="repeated_prompts",
              baseline_tokens_per_s=rows * t / base, speedup=base / ours, target=1.5)


def _case_draw(model, vocab: int) -> dict:
  del model, vocab
  r, v = _DRAW_ROWS.value, _DRAW_VOCAB.value
  logits_RxV = jax.random.normal(jax.random.key(0), (r, v))
  rows_R = jnp.arange(r, dtype=jnp.int32)

  def keys(step):
    return jax.vmap(jax.random.fold_in, in_axes=(None, 0))(
        jax.random.fold_in(jax.random.key(1), step), rows_R)

  # 32 draws per call, as 32 decode steps would make, so per-call overhead does not dominate.
  def many(draw):
    return jax.jit(lambda x: jax.lax.map(lambda i: draw(keys(i), x), jnp.arange(32)))

  ours_fn = many(sampler.draw_categorical)
  gumbel_fn = many(lambda k, x: jax.vmap(jax.random.categorical)(k, x))
  ours, base = _median_seconds([lambda: ours_fn(logits_RxV), lambda: gumbel_fn(logits_RxV)],
                               _REPEATS.value)
  return dict(case="draw", prompts=r, group=1, prompt_len=0, new_tokens=v,
              ours_tokens_per_s=32 * r / ours, baseline="gumbel_categorical",
              baseline_tokens_per_s=32 * r / base, speedup=base / ours, target=1.0)


def main(argv):
  del argv
  cfg = config_lib.model_config(_MODEL.value)
  model = sharding.create_model(lambda: Transformer(cfg, rngs=nnx.Rngs(0)), None,
                                config_lib.AXIS_RULES)
  cases = {"cache": _case_cache, "prefix": _case_prefix, "draw": _case_draw}
  results = [cases[name](model, cfg.vocab_size) for name in _CASES.value]
  header = f"{'case':<8}{'B x G':>9}{'prompt':>8}{'new':>6}{'ours tok/s':>12}" \
           f"{'baseline':>18}{'base tok/s':>12}{'speedup':>9}{'target':>8}"
  print(f"model={_MODEL.value} ({count_params(model) / 1e6:.1f}M params), "
        f"device={jax.devices()[0].device_kind}")
  print(header)
  for r in results:
    print(f"{r['case']:<8}{r['prompts']:>5} x{r['group']:>2}{r['prompt_len']:>8}"
          f"{r['new_tokens']:>6}{r['ours_tokens_per_s']:>12.1f}{r['baseline']:>18}"
          f"{r['baseline_tokens_per_s']:>12.1f}{r['speedup']:>8.2f}x{r['target']:>7.1f}x")
  report = dict(model=_MODEL.value, params=count_params(model),
                device=jax.devices()[0].device_kind, results=results)
  print(json.dumps(report, indent=1))
  if _OUTPUT.value:
    with open(_OUTPUT.value, "w", encoding="utf-8") as f:
      json.dump(report, f, indent=1)


if __name__ == "__main__":
  app.run(main)
