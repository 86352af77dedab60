"""GRPO with tool-integrated rollouts: tool-output tokens are out of the loss, a tiny run works."""

import importlib.util
import json
import os

import jax
import numpy as np
import pytest
from flax import nnx

from deepseekmath_jax import config_lib
from deepseekmath_jax.model import hf_io
from deepseekmath_jax.rl import grpo_lib
from deepseekmath_jax.rl import grpo_step
from deepseekmath_jax.rl import rewards
from deepseekmath_jax.rl import tool_rollout
from deepseekmath_jax.tools import Sandbox
from deepseekmath_jax.trainers import grpo

import tools_fixtures as fx
from conftest import REPO

T = 26                     # two program/output cycles (10 tokens each) and a cut output block
P = 16


@pytest.fixture(scope="module")
def tok():
  return fx.tool_tokenizer()


@pytest.fixture(scope="module")
def model(tok):
  return fx.bigram_model(tok, {}, tok.eos_id)


def _ids(tok):
  return {name: fx.token(tok, s) for name, s in (
      ("open", fx.OPEN), ("close", fx.CLOSE), ("code", "print(6*7)\n"), ("answer", fx.ANSWER),
      ("nl", "\n"))}


def _looping(tok, model):
  i = _ids(tok)
  fx.set_successors(model, {i["open"]: i["code"], i["code"]: i["close"], i["close"]: i["nl"],
                            i["nl"]: i["open"]}, i["open"])


def _tool_round(tok, model, box):
  """A real rollout of 1 question x 2 samples; each ends inside an output block."""
  _looping(tok, model)
  prompt = tok.encode("Question 6: what is 6 * 7?\nAssistant:", add_bos=True)[-P:]
  samples = tool_rollout.generate_with_tools(model, tok, [prompt], num_samples=2,
                                             max_new_tokens=T, rng=jax.random.key(0),
                                             sandbox=box, max_tool_calls=5)
  seq = grpo_step.build_sequences([prompt], samples.tokens, samples.lengths, P, tok.pad_id)
  result = rewards.RewardResult(rewards=np.asarray([1.0, 0.0], np.float32), steps=None,
                                correct=np.zeros(2, bool), per_term={}, counts={}, seconds=0.0)
  return grpo.Round([None], samples, None, seq, result, 2)


def test_tool_tokens_get_no_loss_and_no_gradient(tok, model):
  with Sandbox(num_workers=1) as box:
    rnd = _tool_round(tok, model, box)
  s = rnd.samples
  assert s.tool_calls.tolist() == [[3, 3]] and s.truncated.all()
  batch, _ = grpo.assemble_batch([rnd], 1, dynamic_sampling=False, mask_truncated=False,
                                 max_steps=4)
  mask = batch["loss_mask"]
  # Zero exactly on the tool-output tokens (and padding); one on every model token.
  np.testing.assert_array_equal(mask, s.model_token_mask.astype(np.float32))
  env = (s.model_token_mask == 0) & (np.arange(T) < s.lengths[..., None])
  assert env.sum() == 2 * (T - 9) and not mask[env].any()
  last_model = max(np.flatnonzero(s.model_token_mask[0, g]).max() for g in range(2))
  assert last_model < T - 1                                    # trailing output tokens exist

  # The gradient of the GRPO loss of a (random) policy on these sequences.
  fx.randomize(model, seed=1)
  graphdef, params, rest = nnx.split(model, nnx.Param, ...)
  seq = {k: batch[k] for k in ("inputs", "positions", "segment_ids")}
  adv = grpo_lib.broadcast_advantages(np.asarray([[1.0, -1.0]], np.float32), np.ones_like(mask))
  logp0 = np.asarray(jax.jit(lambda p, sq: grpo_step.completion_logprobs(
      graphdef, p, rest, sq, P, temperature=1.0)[0])(params, seq))

  @jax.jit
  def grad(params, seq, old, loss_mask):
    def loss(p):
      logp, _ = grpo_step.completion_logprobs(graphdef, p, rest, seq, P, temperature=1.0)
      return grpo_lib.grpo_loss(logp, old, old, adv, loss_mask, epsilon=0.2, beta=0.04)[0]
    return jax.grad(loss)(params)

  # Alter the output-block tokens after the last model token (they cannot change the model
  # tokens' context), and poison their stored log-probs.
  altered = dict(seq, inputs=seq["inputs"].copy())
  tail = np.zeros_like(env)
  tail[..., last_model + 1:] = env[..., last_model + 1:]
  altered["inputs"][..., P:][tail] = (altered["inputs"][..., P:][tail] + 7) % tok.vocab_size
  poisoned = np.where(tail, np.nan, logp0).astype(np.float32)
  flat = lambda g: np.concatenate([np.ravel(x) for x in jax.tree.leaves(g)])
  base = flat(grad(params, seq, logp0, mask))
  assert np.abs(base).max() > 0
  np.testing.assert_array_equal(flat(grad(params, altered, poisoned, mask)), base)
  # Without the tool mask the same change does move the gradient: the test can fail.
  length_mask = (np.arange(T) < s.lengths[..., None]).astype(np.float32)
  unmasked = flat(grad(params, seq, logp0, length_mask))
  unmasked_altered = flat(grad(params, altered, logp0, length_mask))
  assert np.abs(unmasked - unmasked_altered).max() > 1e-4


def _grpo_config():
  spec = importlib.util.spec_from_file_location("grpo_config", REPO / "configs" / "grpo.py")
  module = importlib.util.module_from_spec(spec)
  spec.loader.exec_module(module)
  return module.get_config("tiny")


def test_bad_tool_settings_are_clear_errors():
  config = _grpo_config()
  config.grpo.tools.enabled = True
  config.grpo.tools.max_tool_calls = 0
  with pytest.raises(ValueError, match="config.grpo.tools: max_tool_calls=0"):
    grpo.check_config(config)


def test_a_tiny_tool_integrated_grpo_run(tok, model, tmp_path):
  # The policy starts from a checkpoint that writes one program, reads its output and answers.
  i = _ids(tok)
  fx.set_successors(model, {i["open"]: i["code"], i["code"]: i["close"], i["close"]: i["nl"],
                            i["nl"]: i["answer"], i["answer"]: tok.eos_id}, i["open"])
  hf_dir = tmp_path / "hf"
  hf_io.save_hf_checkpoint(model, str(hf_dir))
  fx.tool_tokenizer(str(tmp_path / "tools"))                   # tools.model, the same pieces
  config = _grpo_config()
  config.total_steps = 2
  config.checkpoint_every = 2
  config.init_from = f"hf:{hf_dir}"
  config.model.vocab_size = tok.vocab_size
  config.tokenizer = config_lib.tokenizer_config("sentencepiece", path=str(tmp_path /
                                                                          "tools.model"))
  config.grpo.tools.enabled = True
  config.grpo.tools.max_tool_calls = 1
  config.grpo.tools.num_workers = 1
  summary = grpo.run(config, str(tmp_path / "run"))
  assert summary["step"] == 2
  with open(tmp_path / "run" / "metrics.jsonl", encoding="utf-8") as f:
    records = [json.loads(line) for line in f]
  output_tokens = len(tok.encode("\n```output\n42\n```\n"))
  for r in records:
    assert r["tool_calls_per_sample"] == 1.0 and r["tool_samples_with_call"] == 1.0
    assert r["tool_error_rate"] == 0.0 and r["tool_timeout_rate"] == 0.0
    assert r["tool_output_tokens"] == 16 * output_tokens
    # Only the five model tokens of each of the 16 completions are in the loss.
    assert r["num_loss_tokens"] == 16 * 5
    assert r["completion_length_mean"] == 5 + output_tokens
  assert os.path.isdir(tmp_path / "run" / "checkpoints")
