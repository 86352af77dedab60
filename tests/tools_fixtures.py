"""Shared pieces of the tool tests: a tokenizer with fence tokens and a "bigram" Transformer.

An untrained model almost never writes a code block, so the tool loop is driven by a real
`Transformer` whose weights are set so that its next token depends only on the current one:
with the attention and MLP output projections at zero, the residual stream at a position is
that token's embedding, and the LM head maps it to a chosen successor. Its continuations are
therefore forced, token by token, through the real model, sampler and sandbox.
"""

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

from deepseekmath_jax import config_lib, sharding
from deepseekmath_jax.data import tokenizer as tokenizer_lib
from deepseekmath_jax.model import Transformer

OPEN = "```python\n"
CLOSE = "```"
OUTPUT = "```output\n"
ANSWER = "\\boxed{42}"
SYMBOLS = (OPEN, OUTPUT, CLOSE, "print(6*7)\n", "print(1/0)\n", "print(2+3)\n", ANSWER)
_CORPUS = [f"Question {i}: what is {i} + {i * 3}? Answer: {i * 4}.\nAssistant: we add them."
           for i in range(400)]


def tool_tokenizer(path=None):
  """A byte-fallback BPE tokenizer whose fences and test programs are single tokens."""
  return tokenizer_lib.train_sentencepiece(_CORPUS, path, vocab_size=372,
                                           user_defined_symbols=SYMBOLS)


def token(tokenizer, text: str) -> int:
  ids = tokenizer.encode(text)
  assert len(ids) == 1, (text, ids)
  return ids[0]


def bigram_model(tokenizer, successors: dict[int, int], default: int, *,
                 vocab_size=None) -> Transformer:
  """A tiny Transformer whose next token after token t is successors.get(t, default) (with a
  logit gap of 40, so sampling at temperature 1 draws it too)."""
  cfg = config_lib.model_config("tiny", vocab_size=vocab_size or tokenizer.vocab_size)
  model = sharding.create_model(lambda: Transformer(cfg, rngs=nnx.Rngs(0)), None,
                                config_lib.AXIS_RULES)
  set_successors(model, successors, default)
  return model


def set_successors(model: Transformer, successors: dict[int, int], default: int) -> None:
  """Sets `model`'s weights so that its next token after t is successors.get(t, default)."""
  D, V = model.cfg.embed_dim, model.cfg.vocab_size
  assert len(successors) < D
  slot = {t: i + 1 for i, t in enumerate(successors)}
  embed = np.zeros((V, D), np.float32)
  head = np.zeros((D, V), np.float32)
  for t in range(V):
    embed[t, slot.get(t, 0)] = 1.0
  head[0, default] = 5.0                           # RMSNorm scales a one-hot by sqrt(D) = 8
  for t, nxt in successors.items():
    head[slot[t], nxt] = 5.0
  model.embed.set_value(jnp.asarray(embed))
  model.lm_head.set_value(jnp.asarray(head))
  model.final_norm.scale.set_value(jnp.ones((D,), jnp.float32))
  for block in model.blocks:
    block.attn.o_proj.set_value(jnp.zeros(block.attn.o_proj.shape, jnp.float32))
    block.mlp.down_proj.set_value(jnp.zeros(block.mlp.down_proj.shape, jnp.float32))


def randomize(model: Transformer, seed: int) -> None:
  """Random weights (an untrained model): every parameter ~ N(0, 0.5^2)."""
  state = nnx.state(model, nnx.Param)
  leaves, treedef = jax.tree.flatten(state)
  keys = jax.random.split(jax.random.key(seed), len(leaves))
  nnx.update(model, jax.tree.unflatten(treedef, [
      0.5 * jax.random.normal(k, x.shape, x.dtype) for k, x in zip(keys, leaves)]))
