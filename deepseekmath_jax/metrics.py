"""Training metrics: metrics.jsonl + TensorBoard writers, progress lines, FLOPs and MFU.

`MetricsWriter` appends one JSON object per logged step to `<workdir>/metrics.jsonl` (keys
`step`, `loss`, ...) and mirrors the scalars to TensorBoard event files through
tensorboardX (no TensorFlow needed). Only process 0 writes. A resumed run first drops
the lines past the restored step, so the file reads as one uninterrupted run.

MFU is model FLOPs per second over the peak: model FLOPs per token follow the PaLM
accounting (Chowdhery et al. 2022, App. B): 6 FLOPs per matmul parameter (forward and
backward) plus 12·layers·L·(heads·head_dim) for attention scores and values. The peak is
either configured or measured here with a large matmul on the same devices, so an MFU
figure on a CPU is a ratio against that CPU's own float32 matmul rate.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Mapping
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np


def matmul_params(model_cfg: Any) -> int:
  """Parameters that take part in a matmul per token: all blocks plus the LM head.

  The input embedding is a gather (no FLOPs); with tied embeddings the same matrix is
  still multiplied once in the head, so the head counts either way.
  """
  d, h, k, e = model_cfg.embed_dim, model_cfg.num_heads, model_cfg.num_kv_heads, model_cfg.head_dim
  attn = d * h * e + 2 * d * k * e + h * e * d
  mlp = 3 * d * model_cfg.mlp_dim
  return model_cfg.num_layers * (attn + mlp) + d * model_cfg.vocab_size


def flops_per_token(model_cfg: Any, seq_len: int) -> float:
  """Training FLOPs (forward + backward) per token at sequence length `seq_len`.

  6·N for the matmul parameters N, plus 12·layers·L·(heads·head_dim) for the attention
  score and value matmuls (PaLM's count, which does not halve for causality).
  """
  attn = 12 * model_cfg.num_layers * seq_len * model_cfg.num_heads * model_cfg.head_dim
  return float(6 * matmul_params(model_cfg) + attn)


def measure_matmul_peak_flops(size: int = 2048, dtype: Any = jnp.float32, repeats: int = 5,
                              device: jax.Device | None = None) -> float:
  """Best-of-`repeats` FLOP/s of a square matmul on one device (the attainable peak).

  Multiply by the device count for a whole mesh (every process measures one of its own
  devices). On a shared CPU this moves by up to 2x between runs, so measure it in the same
  process as the figure it normalizes.
  """
  # A local device: in a multi-process run jax.devices()[0] may belong to another process.
  device = device or jax.local_devices()[0]
  key_a, key_b = jax.random.split(jax.random.key(0))
  a = jax.device_put(jax.random.normal(key_a, (size, size), dtype), device)
  b = jax.device_put(jax.random.normal(key_b, (size, size), dtype), device)
  # Several chained products per call so dispatch overhead does not count.
  chain = 4

  @jax.jit
  def product(a, b):
    for _ in range(chain):
      a = (a @ b) * (1.0 / size)
    return a

  product(a, b).block_until_ready()
  best = float("inf")
  for _ in range(repeats):
    start = time.perf_counter()
    product(a, b).block_until_ready()
    best = min(best, time.perf_counter() - start)
  return chain * 2.0 * size ** 3 / best


def mfu(tokens_per_s: float, flops_per_tok: float, peak_flops_per_s: float) -> float:
  """Model FLOPs utilization in [0, 1] (0 when no peak is known)."""
  if peak_flops_per_s <= 0:
    return 0.0
  return tokens_per_s * flops_per_tok / peak_flops_per_s


def _scalar(value: Any) -> float | int:
  value = np.asarray(value)
  if value.dtype.kind in "iub":
    return int(value)
  return float(value)


class MetricsWriter:
  """Appends scalars to `metrics.jsonl` and TensorBoard event files (process 0 only)."""

  def __init__(self, workdir: str, *, resume_step: int | None = None,
               enabled: bool | None = None):
    self.enabled = jax.process_index() == 0 if enabled is None else enabled
    self.path = os.path.join(workdir, "metrics.jsonl")
    self._tb = None
    self._file = None
    if not self.enabled:
      return
    os.makedirs(workdir, exist_ok=True)
    if resume_step is not None:
      truncate_metrics(self.path, resume_step)
    self._file = open(self.path, "a", encoding="utf-8")
    # Imported here so a process that only reads metrics does not load tensorboardX.
    from tensorboardX import SummaryWriter  # pylint: disable=g-import-not-at-top
    self._tb = SummaryWriter(logdir=os.path.join(workdir, "tensorboard"))

  def write(self, step: int, scalars: Mapping[str, Any]) -> None:
    """Writes one record; keys with a `/` prefix (e.g. `eval/loss`) keep it in TensorBoard."""
    if not self.enabled:
      return
    values = {k: _scalar(v) for k, v in scalars.items()}
    # NaN/inf are not JSON: they are written as null (the `skipped` flag says why).
    record = {"step": int(step)}
    record.update({k: v if np.isfinite(v) else None for k, v in values.items()})
    self._file.write(json.dumps(record) + "\n")
    self._file.flush()
    for key, value in values.items():
      self._tb.add_scalar(key if "/" in key else f"train/{key}", value, int(step))

  def flush(self) -> None:
    if self.enabled:
      self._file.flush()
      self._tb.flush()

  def close(self) -> None:
    if self.enabled:
      self._file.close()
      self._tb.close()
      self.enabled = False


def truncate_metrics(path: str, last_step: int) -> int:
  """Drops records with `step > last_step` (left by a run killed after its last checkpoint).

  Returns the number of records dropped. A torn last line (killed mid-write) is dropped too.
  """
  if not os.path.exists(path):
    return 0
  kept, dropped = [], 0
  with open(path, encoding="utf-8") as f:
    for line in f:
      try:
        record = json.loads(line)
      except json.JSONDecodeError:
        dropped += 1
        continue
      if record.get("step", 0) <= last_step:
        kept.append(line if line.endswith("\n") else line + "\n")
      else:
        dropped += 1
  tmp = path + ".tmp"
  with open(tmp, "w", encoding="utf-8") as f:
    f.writelines(kept)
  os.replace(tmp, path)
  return dropped


def read_metrics(path: str) -> list[dict[str, Any]]:
  """All records of a metrics.jsonl file, in order."""
  with open(path, encoding="utf-8") as f:
    return [json.loads(line) for line in f if line.strip()]


class Progress:
  """Rate and ETA for progress lines: steps/s and tokens/s over the last logging window."""

  def __init__(self, total_steps: int, start_step: int, tokens_per_step: int):
    self.total_steps = total_steps
    self.tokens_per_step = tokens_per_step
    self._step, self._time = start_step, time.perf_counter()

  def update(self, step: int) -> dict[str, float]:
    """Rates since the previous call; `step` is the number of steps done so far."""
    now = time.perf_counter()
    steps, seconds = step - self._step, max(now - self._time, 1e-9)
    self._step, self._time = step, now
    steps_per_s = steps / seconds
    remaining = max(self.total_steps - step, 0)
    return dict(steps_per_s=steps_per_s,
                tokens_per_s=steps_per_s * self.tokens_per_step,
                eta_s=remaining / steps_per_s if steps_per_s > 0 else float("inf"))

  def line(self, step: int, scalars: Mapping[str, Any], rates: Mapping[str, float]) -> str:
    eta = rates["eta_s"]
    if np.isfinite(eta):
      hours, rest = divmod(int(eta), 3600)
      eta_text = f"{hours}:{rest // 60:02d}:{rest % 60:02d}"
    else:
      eta_text = "?"
    parts = [f"step {step}/{self.total_steps}"]
    parts += [f"{k} {_scalar(v):.4g}" for k, v in scalars.items()]
    parts += [f"{rates['steps_per_s']:.2f} steps/s", f"{rates['tokens_per_s']:.0f} tok/s",
              f"ETA {eta_text}"]
    return " | ".join(parts)
