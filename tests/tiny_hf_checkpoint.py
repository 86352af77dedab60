"""A tiny Hugging Face checkpoint for the tests that load one: a random 2-layer
LlamaForCausalLM and a byte-level BPE `tokenizer.json` trained on the test's own texts."""

import json
from pathlib import Path
from typing import Sequence


def write_tiny_llama(path: Path, texts: Sequence[str], vocab_size: int) -> Path:
  """Writes tokenizer.json, tokenizer_config.json and the model's weights into `path`."""
  import tokenizers  # pylint: disable=g-import-not-at-top
  import torch  # pylint: disable=g-import-not-at-top
  import transformers  # pylint: disable=g-import-not-at-top
  from tokenizers import decoders, models, pre_tokenizers, trainers  # pylint: disable=g-import-not-at-top
  from deepseekmath_jax.data import tokenizer as tok_lib  # pylint: disable=g-import-not-at-top
  tok = tokenizers.Tokenizer(models.BPE())
  tok.pre_tokenizer = pre_tokenizers.Sequence([
      pre_tokenizers.Digits(individual_digits=True),
      pre_tokenizers.ByteLevel(add_prefix_space=False)])
  tok.decoder = decoders.ByteLevel()
  tok.train_from_iterator(texts, trainer=trainers.BpeTrainer(
      vocab_size=vocab_size, special_tokens=[tok_lib.DEEPSEEK_BOS, tok_lib.DEEPSEEK_EOS],
      initial_alphabet=pre_tokenizers.ByteLevel.alphabet()))
  tok.save(str(path / "tokenizer.json"))
  (path / "tokenizer_config.json").write_text(json.dumps({
      "bos_token": tok_lib.DEEPSEEK_BOS, "eos_token": tok_lib.DEEPSEEK_EOS}))
  cfg = transformers.LlamaConfig(
      vocab_size=tok.get_vocab_size(), hidden_size=32, intermediate_size=64,
      num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2,
      max_position_embeddings=256, rms_norm_eps=1e-6, bos_token_id=0, eos_token_id=1)
  torch.manual_seed(0)
  transformers.LlamaForCausalLM(cfg).save_pretrained(path)
  return path
