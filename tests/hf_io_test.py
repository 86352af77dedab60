"""Hugging Face interop: logits parity with transformers, save -> from_pretrained, errors."""

import json

import jax.numpy as jnp
import numpy as np
import pytest
import torch
import transformers
from flax import nnx

from deepseekmath_jax.model import hf_io

VOCAB = 96


def _hf_model(tmp_path, *, kv_heads, tied, name="hf"):
  cfg = transformers.LlamaConfig(
      vocab_size=VOCAB, hidden_size=64, intermediate_size=112, num_hidden_layers=2,
      num_attention_heads=4, num_key_value_heads=kv_heads, max_position_embeddings=64,
      rms_norm_eps=1e-6, rope_theta=10000.0, tie_word_embeddings=tied)
  torch.manual_seed(kv_heads * 10 + tied)
  model = transformers.LlamaForCausalLM(cfg).eval()
  path = tmp_path / name
  model.save_pretrained(path)
  return model, path


def _hf_logits(model, tokens):
  with torch.no_grad():
    return model(torch.tensor(tokens)).logits.numpy()


@nnx.jit
def _fwd(model, tokens):
  return model(tokens)


TOKENS = np.random.RandomState(0).randint(0, VOCAB, (2, 11))


@pytest.mark.parametrize("kv_heads,tied", [(4, False), (2, False), (4, True), (1, True)])
def test_logits_match_transformers_and_roundtrip(tmp_path, kv_heads, tied):
  hf_model, path = _hf_model(tmp_path, kv_heads=kv_heads, tied=tied)
  ours = hf_io.load_hf_checkpoint(path)
  ref = _hf_logits(hf_model, TOKENS)
  np.testing.assert_allclose(np.asarray(_fwd(ours, jnp.asarray(TOKENS))), ref, atol=1e-4)
  # Save ours, load with transformers: same logits.
  out = tmp_path / "ours"
  hf_io.save_hf_checkpoint(ours, out)
  reloaded = transformers.AutoModelForCausalLM.from_pretrained(out).eval()
  assert reloaded.config.num_key_value_heads == kv_heads
  assert reloaded.config.tie_word_embeddings == tied
  np.testing.assert_allclose(_hf_logits(reloaded, TOKENS), ref, atol=1e-4)


def test_sharded_checkpoint_and_scan_layers(tmp_path):
  hf_model, path = _hf_model(tmp_path, kv_heads=2, tied=False)
  ours = hf_io.load_hf_checkpoint(path)
  out = tmp_path / "sharded"
  hf_io.save_hf_checkpoint(ours, out, max_shard_bytes=40_000, dtype="bfloat16")
  index = json.loads((out / "model.safetensors.index.json").read_text())
  assert len(set(index["weight_map"].values())) > 1
  reloaded = transformers.AutoModelForCausalLM.from_pretrained(out, dtype=torch.float32).eval()
  ref = _hf_logits(hf_model, TOKENS)
  np.testing.assert_allclose(_hf_logits(reloaded, TOKENS), ref, atol=0.1)  # bf16 weights
  scanned = hf_io.load_hf_checkpoint(out, scan_layers=True)
  np.testing.assert_allclose(np.asarray(_fwd(scanned, jnp.asarray(TOKENS))),
                             _hf_logits(reloaded, TOKENS), atol=1e-4)


def test_errors_name_the_file_or_tensor(tmp_path):
  with pytest.raises(hf_io.CheckpointError, match="missing file .*config.json"):
    hf_io.load_hf_checkpoint(tmp_path)
  _, path = _hf_model(tmp_path, kv_heads=2, tied=False)
  cfg = json.loads((path / "config.json").read_text())

  bad = dict(cfg, architectures=["MistralForCausalLM"], model_type="mistral")
  (path / "config.json").write_text(json.dumps(bad))
  with pytest.raises(hf_io.CheckpointError, match="unsupported architecture"):
    hf_io.load_hf_checkpoint(path)
  (path / "config.json").write_text(json.dumps(cfg))

  tensors = {n: np.array(v) for n, v in _read_all(path / "model.safetensors").items()}
  broken = dict(tensors)
  del broken["model.layers.1.mlp.up_proj.weight"]
  hf_io.write_safetensors(broken, path / "model.safetensors")
  with pytest.raises(hf_io.CheckpointError, match=r"missing tensor model\.layers\.1\.mlp\.up_proj"):
    hf_io.load_hf_checkpoint(path)

  broken = dict(tensors)
  broken["model.layers.0.self_attn.k_proj.weight"] = np.zeros((5, 64), np.float32)
  hf_io.write_safetensors(broken, path / "model.safetensors")
  with pytest.raises(hf_io.CheckpointError, match=r"model\.layers\.0\.self_attn\.k_proj"):
    hf_io.load_hf_checkpoint(path)

  (path / "model.safetensors").unlink()
  with pytest.raises(hf_io.CheckpointError, match="missing file .*model.safetensors"):
    hf_io.load_hf_checkpoint(path)


def _read_all(path):
  f = hf_io._SafetensorsFile(path)
  return {n: f.tensor(n) for n in f.header}
