"""A checkpoint as an evaluation sampler: `load_model`, `load_tokenizer`, `make_generate_fn`.

  model = load_model("hf:/path/deepseek-math-7b-rl", None, mesh, rules)
  tokenizer = load_tokenizer("hf:/path/deepseek-math-7b-rl")
  generate_fn = make_generate_fn(model, tokenizer, batch_size=64, max_new_tokens=1024,
                                 max_prompt_len=1024, stop_strings=("\\n\\nUser:",))
  run.evaluate_model("math500", problems, generate_fn, num_samples=64)

A checkpoint source is one of
  hf:PATH    a LLaMA-format Hugging Face checkpoint (DeepSeekMath-7B-Base/Instruct/RL): the
             architecture comes from its config.json (model/hf_io.py);
  RUN_DIR    a trainer's workdir (pretrain, sft, grpo): its newest parameters, read as
             `config.init_from` is (trainers/pretrain.py), and the architecture its trainer
             saved in `model_config.json` (checkpoint.py);
  HF_DIR     a bare directory holding config.json (and no `checkpoints/`): same as hf:HF_DIR.

`generate_fn(prompts, n, temperature)` draws the key of the batch at offset `lo` as
`fold_in(key(seed), lo)`: the keys depend only on the seed and the batch layout, so every
checkpoint evaluated with one config sees the same random numbers.
"""

from __future__ import annotations

import os
import time
from typing import Any, Callable, Sequence

from absl import logging
import ml_collections

from deepseekmath_jax import config_lib

GenerateFn = Callable[[list[str], int, float], list[list[str]]]
HF_PREFIX = "hf:"


def resolve_source(source: str) -> tuple[str, str]:
  """`("hf", path)` or `("run", workdir)` for a checkpoint source (see module docstring)."""
  if not source:
    raise ValueError("empty checkpoint source: give a run workdir, hf:PATH or a Hugging Face "
                     "directory")
  if source.startswith(HF_PREFIX):
    return "hf", source[len(HF_PREFIX):]
  from deepseekmath_jax.trainers import pretrain  # pylint: disable=g-import-not-at-top
  if os.path.isdir(os.path.join(source, pretrain.CHECKPOINT_DIR)):
    return "run", source
  if os.path.isfile(os.path.join(source, "config.json")):
    return "hf", source
  raise FileNotFoundError(f"checkpoint {source!r}: neither hf:PATH, a run workdir (no "
                          f"{pretrain.CHECKPOINT_DIR}/) nor a Hugging Face directory (no "
                          "config.json)")


def load_model(source: str, model_config: ml_collections.ConfigDict | None, mesh: Any,
               rules: Sequence, seed: int = 0):
  """The `Transformer` of a checkpoint source, its parameters placed on `mesh` (or None).

  Args:
    source: hf:PATH, a run workdir or a Hugging Face directory (see module docstring).
    model_config: `config.model`. A run workdir's architecture is the `model_config.json` its
      trainer saved, with this config's `checkpoint.RUNTIME_MODEL_KEYS` (dtypes, remat, ...)
      on top; this config is the architecture only for a workdir without that file. For
      Hugging Face sources the architecture is the checkpoint's; only `dtype`, `param_dtype`
      and `scan_layers` are taken from here (None: float32, unscanned).
    mesh: the device mesh, or None (one device).
    rules: logical axis rules.
    seed: seed of the (never materialized) initial model of a run workdir.
  """
  kind, path = resolve_source(source)
  rules = tuple(tuple(r) for r in rules)
  if kind == "hf":
    from deepseekmath_jax.model import hf_io  # pylint: disable=g-import-not-at-top
    m = model_config or ml_collections.ConfigDict(
        dict(dtype="float32", param_dtype="float32", scan_layers=False))
    model = hf_io.load_hf_checkpoint(path, mesh=mesh, rules=rules, dtype=m.dtype,
                                     param_dtype=m.param_dtype, scan_layers=m.scan_layers)
    logging.info("loaded Hugging Face checkpoint %s", path)
    return model
  from deepseekmath_jax import checkpoint as checkpoint_lib  # pylint: disable=g-import-not-at-top
  saved = checkpoint_lib.run_model_config(path, model_config)
  if saved is not None:
    model_config = saved   # the architecture the run trained; dtypes etc. from the caller
    logging.info("architecture of %s from its %s", path, checkpoint_lib.MODEL_CONFIG_FILE)
  elif model_config is None:
    raise ValueError(f"checkpoint {source!r} is a run workdir without "
                     f"{checkpoint_lib.MODEL_CONFIG_FILE}: its model config is needed")
  from flax import nnx  # pylint: disable=g-import-not-at-top
  from deepseekmath_jax.model import Transformer  # pylint: disable=g-import-not-at-top
  from deepseekmath_jax.trainers import pretrain  # pylint: disable=g-import-not-at-top
  from deepseekmath_jax.trainers import train_lib  # pylint: disable=g-import-not-at-top
  make = lambda: Transformer(model_config, rngs=nnx.Rngs(seed))
  opt = config_lib.opt_config(schedule="constant", peak_lr=0.0, warmup_steps=0)
  setup = train_lib.setup_training(make, mesh, rules, opt, 1)
  init = ml_collections.ConfigDict(dict(init_from=path, model=model_config, seed=seed))
  params = pretrain.initial_params(init, setup)
  return nnx.merge(setup.graphdef, params, setup.rest)


def load_tokenizer(source: str, tokenizer_config: ml_collections.ConfigDict | None = None):
  """The tokenizer for a checkpoint source.

  With `tokenizer_config.path` set, that file (kind `sentencepiece` or `hf_json`; an empty kind
  means `sentencepiece` for a `.model` file, else `hf_json`). Otherwise the checkpoint's own:
  a Hugging Face directory's tokenizer.json (+ tokenizer_config.json for the special tokens),
  or a run workdir's `tokenizer.model` (what `train_sentencepiece_on_source` saves there).
  """
  from deepseekmath_jax.data import tokenizer as tokenizer_lib  # pylint: disable=g-import-not-at-top
  cfg = ml_collections.ConfigDict(
      (tokenizer_config or config_lib.tokenizer_config("")).to_dict())
  if cfg.path:
    if not cfg.kind:
      cfg.kind = "sentencepiece" if cfg.path.endswith(".model") else "hf_json"
    return tokenizer_lib.build_tokenizer(cfg)
  kind, path = resolve_source(source)
  if kind == "hf":
    cfg.kind, cfg.path = "hf_json", path
    return tokenizer_lib.build_tokenizer(cfg)
  model_file = os.path.join(path, "tokenizer.model")
  if not os.path.isfile(model_file):
    raise FileNotFoundError(f"checkpoint {source!r}: no tokenizer.model in the run workdir; "
                            "set the tokenizer's path (config.tokenizer.path)")
  cfg.kind, cfg.path = "sentencepiece", model_file
  return tokenizer_lib.build_tokenizer(cfg)


def make_generate_fn(model, tokenizer, *, batch_size: int, max_new_tokens: int,
                     max_prompt_len: int | None, stop_strings: Sequence[str] = (),
                     seed: int = 0, mesh: Any = None,
                     rules: Sequence = config_lib.AXIS_RULES,
                     label: str = "eval", sandbox: Any = None, max_tool_calls: int = 4,
                     tool_log: list | None = None) -> GenerateFn:
  """`generate_fn(prompts, n, temperature)` for evaluation.run, with progress lines.

  Prompts go to the sampler `batch_size` at a time; completions are cut at the first stop
  string (the sampler also stops rows on them early). Temperature 0 is greedy.

  With a `tools.Sandbox`, completions are tool-integrated (rl/tool_rollout.py): each
  ```python block the model closes runs in the sandbox, its ```output block is appended and
  decoding goes on, up to `max_tool_calls` programs per completion; the texts returned hold
  the code and output blocks. Each completion's `ToolResult`s are appended to `tool_log`
  when one is given (for tool-call statistics).
  """
  import jax  # pylint: disable=g-import-not-at-top
  from deepseekmath_jax.rl import sampler  # pylint: disable=g-import-not-at-top
  from deepseekmath_jax.rl import tool_rollout  # pylint: disable=g-import-not-at-top
  rules = tuple(tuple(r) for r in rules)
  stop_strings = tuple(stop_strings)

  def sample(chunk: list[str], n: int, temperature: float, key) -> list[list[str]]:
    kwargs = dict(num_samples=n, max_new_tokens=max_new_tokens, temperature=temperature,
                  stop_strings=stop_strings, rng=key, batch_size=batch_size,
                  max_prompt_len=max_prompt_len, mesh=mesh, rules=rules)
    if sandbox is None:
      return sampler.generate_text(model, tokenizer, chunk, **kwargs)
    traces = tool_rollout.generate_text_with_tools(
        model, tokenizer, chunk, sandbox=sandbox, max_tool_calls=max_tool_calls, **kwargs)
    if tool_log is not None:
      tool_log.extend(t.tool_results for row in traces for t in row)
    return [[t.text for t in row] for row in traces]

  def generate_fn(prompts: list[str], n: int, temperature: float) -> list[list[str]]:
    out: list[list[str]] = []
    start = time.perf_counter()
    for lo in range(0, len(prompts), batch_size):
      chunk = prompts[lo:lo + batch_size]
      out += sample(chunk, n, temperature, jax.random.fold_in(jax.random.key(seed), lo))
      elapsed = time.perf_counter() - start
      rate = len(out) / max(elapsed, 1e-9)
      logging.info("%s: %s x%d: %d/%d prompts, %.1f prompts/s, ETA %.0f s", label,
                   "greedy" if temperature == 0 else f"T={temperature}", n, len(out),
                   len(prompts), rate, (len(prompts) - len(out)) / max(rate, 1e-9))
    return out

  return generate_fn
