"""Hugging Face LLaMA-format checkpoints in and out (DeepSeekMath-7B is LlamaForCausalLM).

  model = load_hf_checkpoint("path/to/deepseek-math-7b-rl")            # one host, one device
  model = load_hf_checkpoint(path, mesh=mesh, rules=config.axis_rules)  # sharded placement
  save_hf_checkpoint(model, "out_dir")   # transformers.AutoModelForCausalLM loads it

Safetensors files are read through a small memory-mapped reader instead of the
`safetensors` package because its numpy backend has no bfloat16 (the 7B checkpoints are
bf16) and its flax backend puts each whole tensor on one device. With a mesh every device
copies only its own slice out of the mapped file (`jax.make_array_from_callback`), so the
full model is never materialized on one device. Writing uses the same format.
"""

from __future__ import annotations

import json
import os
import struct as pystruct
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import jax
import ml_collections
import ml_dtypes
import numpy as np
from flax import nnx

from deepseekmath_jax import config_lib, sharding
from deepseekmath_jax.model.transformer import Transformer

_DTYPES = {
    "F64": np.float64, "F32": np.float32, "F16": np.float16, "BF16": ml_dtypes.bfloat16,
    "I64": np.int64, "I32": np.int32, "I16": np.int16, "I8": np.int8, "U8": np.uint8,
    "BOOL": np.bool_,
}
_DTYPE_NAMES = {np.dtype(v): k for k, v in _DTYPES.items()}
_SUPPORTED_ARCHS = ("LlamaForCausalLM",)


class CheckpointError(ValueError):
  """A Hugging Face checkpoint that cannot be read; the message names the file/tensor."""


# ----------------------------------------------------------------------------- safetensors


def _read_header(path: Path) -> tuple[dict, int]:
  try:
    with open(path, "rb") as f:
      raw = f.read(8)
      if len(raw) != 8:
        raise CheckpointError(f"{path}: truncated safetensors file (no header)")
      (n,) = pystruct.unpack("<Q", raw)
      if n > 100 * 2**20:
        raise CheckpointError(f"{path}: implausible safetensors header length {n}")
      header = json.loads(f.read(n))
  except FileNotFoundError:
    raise CheckpointError(f"missing file {path}") from None
  except (json.JSONDecodeError, UnicodeDecodeError) as e:
    raise CheckpointError(f"{path}: corrupt safetensors header ({e})") from None
  header.pop("__metadata__", None)
  return header, 8 + n


class _SafetensorsFile:
  """Memory-mapped tensors of one .safetensors file (slices read lazily)."""

  def __init__(self, path: Path):
    self.path = path
    self.header, self.offset = _read_header(path)
    self._mmap = None

  def tensor(self, name: str) -> np.ndarray:
    info = self.header[name]
    if info["dtype"] not in _DTYPES:
      raise CheckpointError(f"{self.path}: tensor {name} has unsupported dtype {info['dtype']}")
    if self._mmap is None:
      self._mmap = np.memmap(self.path, dtype=np.uint8, mode="r")
    start, end = info["data_offsets"]
    dtype = np.dtype(_DTYPES[info["dtype"]])
    expected = int(np.prod(info["shape"], dtype=np.int64)) * dtype.itemsize
    if end - start != expected or self.offset + end > self._mmap.size:
      raise CheckpointError(f"{self.path}: tensor {name} data is truncated or inconsistent")
    return self._mmap[self.offset + start:self.offset + end].view(dtype).reshape(info["shape"])


def write_safetensors(tensors: dict[str, np.ndarray], path: str | os.PathLike,
                      metadata: dict[str, str] | None = None) -> None:
  """Writes numpy arrays (bfloat16 included) in the safetensors format."""
  header, offset, order = {}, 0, sorted(tensors)
  for name in order:
    arr = tensors[name]
    header[name] = {"dtype": _DTYPE_NAMES[arr.dtype], "shape": list(arr.shape),
                    "data_offsets": [offset, offset + arr.nbytes]}
    offset += arr.nbytes
  if metadata:
    header["__metadata__"] = metadata
  blob = json.dumps(header, separators=(",", ":")).encode()
  blob += b" " * (-len(blob) % 8)  # data aligned to 8 bytes, as the reference writer does
  with open(path, "wb") as f:
    f.write(pystruct.pack("<Q", len(blob)))
    f.write(blob)
    for name in order:
      f.write(np.ascontiguousarray(tensors[name]).tobytes())


class _TensorIndex:
  """Name -> file for a checkpoint directory (single file or sharded with an index)."""

  def __init__(self, path: Path):
    index = path / "model.safetensors.index.json"
    single = path / "model.safetensors"
    if index.exists():
      try:
        weight_map = json.loads(index.read_text())["weight_map"]
      except (json.JSONDecodeError, KeyError) as e:
        raise CheckpointError(f"{index}: not a safetensors index ({e})") from None
      files = {f: _SafetensorsFile(path / f) for f in sorted(set(weight_map.values()))}
      self.where = {n: files[f] for n, f in weight_map.items()}
    elif single.exists():
      f = _SafetensorsFile(single)
      self.where = {n: f for n in f.header}
    else:
      raise CheckpointError(f"missing file {single} (or {index})")

  def get(self, name: str) -> np.ndarray:
    if name not in self.where:
      raise CheckpointError(f"missing tensor {name} in checkpoint")
    f = self.where[name]
    if name not in f.header:
      raise CheckpointError(f"missing tensor {name} in {f.path}")
    return f.tensor(name)


# ----------------------------------------------------------------------------- config


def config_from_hf(hf: dict, source: str = "config.json", **overrides) -> ml_collections.ConfigDict:
  """Our `config.model` from a Hugging Face LLaMA config.json dict."""
  archs = hf.get("architectures") or []
  if hf.get("model_type") != "llama" or not any(a in _SUPPORTED_ARCHS for a in archs):
    raise CheckpointError(f"{source}: unsupported architecture {archs or hf.get('model_type')}; "
                          f"supported: {_SUPPORTED_ARCHS} (model_type llama)")
  if hf.get("rope_scaling"):
    raise CheckpointError(f"{source}: rope_scaling={hf['rope_scaling']} is not supported")
  if hf.get("attention_bias") or hf.get("mlp_bias"):
    raise CheckpointError(f"{source}: attention/MLP biases are not supported")
  if hf.get("hidden_act", "silu") != "silu":
    raise CheckpointError(f"{source}: hidden_act={hf['hidden_act']} is not supported")
  try:
    heads = hf["num_attention_heads"]
    cfg = dict(
        vocab_size=hf["vocab_size"], num_layers=hf["num_hidden_layers"],
        embed_dim=hf["hidden_size"], num_heads=heads,
        num_kv_heads=hf.get("num_key_value_heads") or heads,
        head_dim=hf.get("head_dim") or hf["hidden_size"] // heads,
        mlp_dim=hf["intermediate_size"], max_seq_len=hf.get("max_position_embeddings", 4096),
        tie_embeddings=bool(hf.get("tie_word_embeddings", False)),
        rope_theta=float(hf.get("rope_theta", 10000.0)), norm_eps=float(hf["rms_norm_eps"]))
  except KeyError as e:
    raise CheckpointError(f"{source}: missing key {e.args[0]}") from None
  base = config_lib.model_config("tiny")
  base.update(cfg)
  base.update(overrides)
  return base


def config_to_hf(cfg: Any, dtype: str, bos_id: int | None = None,
                 eos_id: int | None = None) -> dict:
  if bos_id is None and eos_id is None and cfg.vocab_size > 100001:
    bos_id, eos_id = 100000, 100001  # the DeepSeek tokenizer's BOS/EOS
  out = {
      "architectures": ["LlamaForCausalLM"], "model_type": "llama",
      "vocab_size": cfg.vocab_size, "hidden_size": cfg.embed_dim,
      "intermediate_size": cfg.mlp_dim, "num_hidden_layers": cfg.num_layers,
      "num_attention_heads": cfg.num_heads, "num_key_value_heads": cfg.num_kv_heads,
      "head_dim": cfg.head_dim, "hidden_act": "silu",
      "max_position_embeddings": cfg.max_seq_len, "rms_norm_eps": cfg.norm_eps,
      "rope_theta": cfg.rope_theta, "rope_scaling": None,
      "tie_word_embeddings": bool(cfg.tie_embeddings), "attention_bias": False,
      "mlp_bias": False, "attention_dropout": 0.0, "initializer_range": 0.02,
      "torch_dtype": dtype, "dtype": dtype, "use_cache": True,
  }
  if bos_id is not None:
    out["bos_token_id"] = bos_id
  if eos_id is not None:
    out["eos_token_id"] = eos_id
  return out


# ----------------------------------------------------------------------------- name mapping
# Our parameter path -> (HF tensor name, HF array -> ours, ours -> HF array). HF stores
# Linear weights as [out, in]; ours are [in, out] with heads split out.


def _mapping(cfg: Any) -> dict[tuple, tuple[str, Callable, Callable]]:
  d, h, k, e = cfg.embed_dim, cfg.num_heads, cfg.num_kv_heads, cfg.head_dim
  qkv_in = lambda n: (lambda w: w.T.reshape(d, n, e))
  qkv_out = lambda n: (lambda w: w.reshape(d, n * e).T)
  linear = (lambda w: w.T, lambda w: w.T)
  ident = (lambda w: w, lambda w: w)
  per_layer = {
      ("attn", "q_proj"): ("self_attn.q_proj.weight", qkv_in(h), qkv_out(h)),
      ("attn", "k_proj"): ("self_attn.k_proj.weight", qkv_in(k), qkv_out(k)),
      ("attn", "v_proj"): ("self_attn.v_proj.weight", qkv_in(k), qkv_out(k)),
      ("attn", "o_proj"): ("self_attn.o_proj.weight", lambda w: w.T.reshape(h, e, d),
                           lambda w: w.reshape(h * e, d).T),
      ("mlp", "gate_proj"): ("mlp.gate_proj.weight", *linear),
      ("mlp", "up_proj"): ("mlp.up_proj.weight", *linear),
      ("mlp", "down_proj"): ("mlp.down_proj.weight", *linear),
      ("input_norm", "scale"): ("input_layernorm.weight", *ident),
      ("post_attn_norm", "scale"): ("post_attention_layernorm.weight", *ident),
  }
  out = {("embed",): ("model.embed_tokens.weight", *ident),
         ("final_norm", "scale"): ("model.norm.weight", *ident)}
  if not cfg.tie_embeddings:
    out[("lm_head",)] = ("lm_head.weight", *linear)
  if cfg.scan_layers:
    for sub, (name, fin, fout) in per_layer.items():
      out[("blocks",) + sub] = (f"model.layers.{{}}.{name}", fin, fout)
  else:
    for i in range(cfg.num_layers):
      for sub, (name, fin, fout) in per_layer.items():
        out[("blocks", i) + sub] = (f"model.layers.{i}.{name}", fin, fout)
  return out


def _path_key(path: Sequence[Any]) -> tuple:
  return tuple(p.key if hasattr(p, "key") else p for p in path)


# ----------------------------------------------------------------------------- load / save


def load_hf_checkpoint(path: str | os.PathLike, *, mesh: jax.sharding.Mesh | None = None,
                       rules: Sequence = config_lib.AXIS_RULES, dtype: str = "float32",
                       param_dtype: str = "float32", scan_layers: bool = False) -> Transformer:
  """Builds our Transformer with the weights of a LLaMA-format Hugging Face checkpoint.

  Args:
    path: directory with config.json and model.safetensors, or sharded *.safetensors with
      model.safetensors.index.json.
    mesh: when given, every parameter is created directly with its logical sharding.
    rules: logical axis rules (config.axis_rules).
    dtype / param_dtype: compute and storage dtypes of the built model.
    scan_layers: build the layer-stacked variant.
  """
  path = Path(path)
  cfg_file = path / "config.json"
  if not cfg_file.exists():
    raise CheckpointError(f"missing file {cfg_file}")
  try:
    hf_cfg = json.loads(cfg_file.read_text())
  except json.JSONDecodeError as e:
    raise CheckpointError(f"{cfg_file}: invalid JSON ({e})") from None
  cfg = config_from_hf(hf_cfg, str(cfg_file), dtype=dtype, param_dtype=param_dtype,
                       scan_layers=scan_layers)
  tensors = _TensorIndex(path)
  mapping = _mapping(cfg)

  make = lambda: Transformer(cfg, rngs=nnx.Rngs(0))
  abstract = sharding.abstract_model(make, mesh, rules)
  graphdef, abs_state = nnx.split(abstract)
  flat = nnx.to_flat_state(abs_state)
  leaves = []
  for key_path, var in flat:
    key = _path_key(key_path)
    if key not in mapping:
      raise CheckpointError(f"no Hugging Face tensor is mapped to parameter {'/'.join(map(str, key))}")
    name, to_ours, _ = mapping[key]
    target = np.dtype(var.dtype)
    shape = tuple(var.shape)

    stacked = cfg.scan_layers and key[0] == "blocks"

    def host_value(name=name, to_ours=to_ours, shape=shape, stacked=stacked):
      def convert(tensor_name):
        hf_arr = tensors.get(tensor_name)
        try:
          return to_ours(hf_arr)
        except ValueError:
          raise CheckpointError(f"tensor {tensor_name} has shape {list(hf_arr.shape)}, which "
                                f"does not fit parameter shape {list(shape)}") from None

      if stacked:
        value = np.stack([convert(name.format(i)) for i in range(cfg.num_layers)])
      else:
        value = convert(name)
      if value.shape != shape:
        raise CheckpointError(f"tensor {name} has shape {list(value.shape)} after conversion, "
                              f"expected {list(shape)}")
      return value

    value = host_value()
    if mesh is None:
      arr = jax.numpy.asarray(np.asarray(value, dtype=target))
    else:
      concrete = jax.sharding.NamedSharding(mesh, var.sharding.spec)
      arr = jax.make_array_from_callback(
          shape, concrete, lambda idx, v=value: np.asarray(v[idx], dtype=target))
    leaves.append((key_path, var.replace(arr)))
  state = nnx.from_flat_state(leaves)
  return nnx.merge(graphdef, state)


def save_hf_checkpoint(model: Transformer, path: str | os.PathLike, *, dtype: str = "float32",
                       max_shard_bytes: int = 5 * 2**30, bos_id: int | None = None,
                       eos_id: int | None = None) -> None:
  """Writes config.json and safetensors (sharded with an index above max_shard_bytes).

  bos_id/eos_id go into config.json (default: DeepSeek's 100000/100001 when the vocab
  holds them, else omitted).
  """
  path = Path(path)
  path.mkdir(parents=True, exist_ok=True)
  cfg = model.cfg
  mapping = _mapping(cfg)
  np_dtype = np.dtype(ml_dtypes.bfloat16 if dtype == "bfloat16" else dtype)
  tensors: dict[str, np.ndarray] = {}
  for key_path, var in nnx.to_flat_state(nnx.state(model, nnx.Param)):
    name, _, to_hf = mapping[_path_key(key_path)]
    value = np.asarray(jax.device_get(_gather(var[...])))
    if "{}" in name:
      for i in range(cfg.num_layers):
        tensors[name.format(i)] = np.asarray(to_hf(value[i]), dtype=np_dtype)
    else:
      tensors[name] = np.asarray(to_hf(value), dtype=np_dtype)
  shards, current, size = [], {}, 0
  for name in sorted(tensors):
    if current and size + tensors[name].nbytes > max_shard_bytes:
      shards.append(current)
      current, size = {}, 0
    current[name] = tensors[name]
    size += tensors[name].nbytes
  shards.append(current)
  meta = {"format": "pt"}
  if len(shards) == 1:
    write_safetensors(shards[0], path / "model.safetensors", meta)
  else:
    weight_map = {}
    for i, shard in enumerate(shards):
      fname = f"model-{i + 1:05d}-of-{len(shards):05d}.safetensors"
      write_safetensors(shard, path / fname, meta)
      weight_map.update({n: fname for n in shard})
    total = sum(t.nbytes for t in tensors.values())
    (path / "model.safetensors.index.json").write_text(json.dumps(
        {"metadata": {"total_size": total}, "weight_map": weight_map}, indent=2))
  (path / "config.json").write_text(json.dumps(config_to_hf(cfg, dtype, bos_id, eos_id),
                                                   indent=2))


def _gather(x: jax.Array) -> jax.Array:
  """A fully addressable copy of x (all-gathers across hosts in multi-process runs)."""
  if jax.process_count() > 1 and not x.is_fully_addressable:
    from jax.experimental import multihost_utils  # local: only multi-host needs it
    return multihost_utils.process_allgather(x, tiled=True)
  return x
