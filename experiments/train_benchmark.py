r"""Train-step throughput and MFU on this machine, and the input pipeline's rate against it.

Question: how close does the jitted train step (trainers/train_lib.py) get to the machine's
own float32 matmul rate, and can the grain pipeline feed it?

  .venv/bin/python experiments/train_benchmark.py               # tiny + ~20M model
  .venv/bin/python experiments/train_benchmark.py --shapes=20m:16x512 --steps=3

For each (model, batch x seq) the step is compiled once, then `--steps` steps are timed
back to back (state donated, one `block_until_ready` at the end). MFU = model FLOPs per
token (metrics.flops_per_token: 6N + 12·layers·L·d_attn) x tokens/s over the float32
matmul FLOP/s measured in the same process (best of a few 1024² and 2048² products, right
before and right after each row's timed steps; the higher one is used, so MFU is
conservative on a shared machine). The input
pipeline (data.make_train_iterator on the generated text of configs/pretrain.py:tiny,
sentencepiece vocab 256) is timed at the same batch shape and compared with the step's
token consumption. Output: a table and one JSON line per row.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time

from absl import app
from absl import flags

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

# pylint: disable=g-import-not-at-top,wrong-import-position
import jax
import numpy as np
from flax import nnx

from deepseekmath_jax import config_lib
from deepseekmath_jax import data as data_lib
from deepseekmath_jax import metrics
from deepseekmath_jax import sharding
from deepseekmath_jax.model import Transformer, count_params
from deepseekmath_jax.trainers import train_lib

_SHAPES = flags.DEFINE_string(
    "shapes", "tiny:8x64,tiny:32x256,20m:4x256,20m:8x512",
    "Comma-separated model:BATCHxSEQ; models: tiny (configs/pretrain.py:tiny), demo "
    "(configs/pipeline.py:demo's model) and 20m.")
_STEPS = flags.DEFINE_integer("steps", 4, "Timed steps per shape (after one compile step).")
_INPUT_BATCHES = flags.DEFINE_integer("input_batches", 30, "Batches timed for the pipeline.")

MODELS = {
    "tiny": config_lib.model_config("tiny"),
    # configs/pipeline.py:demo: 4 layers, d 128, 4 heads of 32, SwiGLU 384, vocab 1024.
    "demo": config_lib.model_config("tiny", vocab_size=1024, num_layers=4, embed_dim=128,
                                    num_heads=4, num_kv_heads=4, head_dim=32, mlp_dim=384,
                                    max_seq_len=256),
    # ~20M parameters: 8 layers, d 384, 6 heads of 64, SwiGLU 1024, vocab 8192, untied.
    "20m": config_lib.model_config("small", vocab_size=8192, num_layers=8, embed_dim=384,
                                   num_heads=6, num_kv_heads=6, head_dim=64, mlp_dim=1024,
                                   max_seq_len=1024),
}


def _peak() -> float:
  return max(metrics.measure_matmul_peak_flops(size=s, repeats=3) for s in (1024, 2048))


def _random_batch(batch: int, seq: int, vocab: int, seed: int = 0) -> dict[str, np.ndarray]:
  rng = np.random.default_rng(seed)
  tokens = rng.integers(0, vocab, (batch, seq + 1)).astype(np.int32)
  return dict(inputs=tokens[:, :-1], targets=tokens[:, 1:],
              positions=np.broadcast_to(np.arange(seq, dtype=np.int32), (batch, seq)).copy(),
              segment_ids=np.ones((batch, seq), np.int32),
              loss_mask=np.ones((batch, seq), np.float32))


def time_train_step(model_cfg, batch: int, seq: int, steps: int) -> dict[str, float]:
  """Tokens/s of the jitted train step (AdamW, clipping, finite guard) on random tokens."""
  mesh = sharding.make_mesh(config_lib.mesh_config())
  opt_cfg = config_lib.opt_config(schedule="multistep", peak_lr=1e-3, warmup_steps=10)
  make = lambda: Transformer(model_cfg, rngs=nnx.Rngs(0))
  setup = train_lib.setup_training(make, mesh, config_lib.AXIS_RULES, opt_cfg, 1000)
  rng = np.random.default_rng(0)
  params = jax.tree.map(lambda x: (rng.normal(size=x.shape) * 0.02).astype(x.dtype),
                        setup.abstract_state["params"])
  state = setup.init_state(params, seed=0)
  step = train_lib.jit_train_step(
      train_lib.make_train_step(setup.graphdef, setup.tx, setup.schedule), setup)
  device_batch = train_lib.device_batch(_random_batch(batch, seq, model_cfg.vocab_size), setup)
  start = time.perf_counter()
  state, out = step(state, device_batch)
  jax.block_until_ready(out)
  compile_s = time.perf_counter() - start
  start = time.perf_counter()
  for _ in range(steps):
    state, out = step(state, device_batch)
  jax.block_until_ready((state, out))
  seconds = time.perf_counter() - start
  return dict(tokens_per_s=steps * batch * seq / seconds, step_s=seconds / steps,
              compile_s=compile_s, loss=float(out["loss"]))


def time_input_pipeline(batch: int, seq: int, num_batches: int, workdir: str) -> float:
  """Tokens/s that make_train_iterator delivers (configs/pretrain.py:tiny data)."""
  from configs import pretrain  # pylint: disable=import-outside-toplevel
  config = pretrain.get_config("tiny")
  tokenizer = data_lib.build_tokenizer(config.tokenizer, config.data, workdir)
  iterator = data_lib.make_train_iterator(config.data, tokenizer, seed=0, batch_size=batch,
                                          seq_len=seq)
  next(iterator)  # start-up (mixture statistics, first packing round) is not throughput
  start = time.perf_counter()
  for _ in range(num_batches):
    next(iterator)
  return num_batches * batch * seq / (time.perf_counter() - start)


def main(argv):
  del argv
  rows = []
  workdir = tempfile.mkdtemp(prefix="train_benchmark_")
  for spec in _SHAPES.value.split(","):
    name, shape = spec.split(":")
    batch, seq = (int(v) for v in shape.split("x"))
    model_cfg = MODELS[name]
    abstract = sharding.abstract_model(lambda: Transformer(model_cfg, rngs=nnx.Rngs(0)), None,
                                       config_lib.AXIS_RULES)
    # The machine is shared: the peak is measured right before and right after each row,
    # and the higher of the two is the denominator.
    peak_before = _peak()
    step = time_train_step(model_cfg, batch, seq, _STEPS.value)
    peak = max(peak_before, _peak())
    input_tps = time_input_pipeline(batch, seq, _INPUT_BATCHES.value, workdir)
    rows.append(dict(model=name, params=count_params(abstract), batch=batch, seq=seq,
                     flops_per_token=metrics.flops_per_token(model_cfg, seq), **step,
                     input_tokens_per_s=input_tps, peak_flops_per_s=peak))
  print(f"\ndevices: {jax.devices()}\n")
  header = ("model", "params", "BxL", "tok/s", "step s", "GFLOP/s", "peak GFLOP/s", "MFU",
            "input tok/s", "input/train")
  print("| " + " | ".join(header) + " |")
  print("|" + "---|" * len(header))
  for r in rows:
    r["model_flops_per_s"] = r["tokens_per_s"] * r["flops_per_token"]
    r["mfu"] = metrics.mfu(r["tokens_per_s"], r["flops_per_token"], r["peak_flops_per_s"])
    r["input_over_train"] = r["input_tokens_per_s"] / r["tokens_per_s"]
    print(f"| {r['model']} | {r['params'] / 1e6:.2f}M | {r['batch']}x{r['seq']} | "
          f"{r['tokens_per_s']:.0f} | {r['step_s']:.3f} | {r['model_flops_per_s'] / 1e9:.1f} | "
          f"{r['peak_flops_per_s'] / 1e9:.1f} | {100 * r['mfu']:.1f}% | "
          f"{r['input_tokens_per_s']:.0f} | {r['input_over_train']:.1f}x |")
  print()
  for r in rows:
    print(json.dumps(r))


if __name__ == "__main__":
  app.run(main)
