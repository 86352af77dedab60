"""Tool-integrated rollouts through the real model, sampler and sandbox (tools_fixtures)."""

import jax
import numpy as np
import pytest

from deepseekmath_jax.rl import sampler
from deepseekmath_jax.rl import tool_rollout
from deepseekmath_jax.tools import Sandbox

import tools_fixtures as fx

T = 128              # one budget for every test: the compiled programs are shared
PROMPT = "Question 6: what is 6 * 7?\nAssistant:"
OPEN_PROMPT = PROMPT + " Compute it.\n```python\nprint(2+3)\n"   # a block open in the prompt


@pytest.fixture(scope="module")
def tok():
  return fx.tool_tokenizer()


@pytest.fixture(scope="module")
def bigram(tok):
  """One model for the module (creating one compiles its initializer); tests set its weights."""
  return fx.bigram_model(tok, {}, tok.eos_id)


@pytest.fixture(scope="module")
def box():
  with Sandbox(num_workers=2, timeout_s=5.0) as sb:
    yield sb


def _ids(tok):
  return {name: fx.token(tok, s) for name, s in (
      ("open", fx.OPEN), ("close", fx.CLOSE), ("six_seven", "print(6*7)\n"),
      ("div0", "print(1/0)\n"), ("answer", fx.ANSWER), ("nl", "\n"))}


def _one_call_model(tok, model, code="six_seven"):
  """prompt -> ```python / code / ``` -> [output block] -> answer -> EOS."""
  i = _ids(tok)
  fx.set_successors(model, {i["open"]: i[code], i[code]: i["close"], i["close"]: i["nl"],
                            i["nl"]: i["answer"], i["answer"]: tok.eos_id}, i["open"])
  return model


def _generate(model, tok, box, prompts, **kw):
  args = dict(num_samples=2, max_new_tokens=T, rng=jax.random.key(0), sandbox=box,
              max_tool_calls=2, temperature=1.0)
  args.update(kw)
  return tool_rollout.generate_with_tools(model, tok, [tok.encode(p, add_bos=True)
                                                       for p in prompts], **args)


def test_one_program_runs_and_its_output_is_an_environment_segment(tok, bigram, box):
  model = _one_call_model(tok, bigram)
  s = _generate(model, tok, box, [PROMPT])
  want = ("```python\nprint(6*7)\n```\n```output\n42\n```\n" + fx.ANSWER)
  env = tok.encode("\n```output\n42\n```\n")
  i = _ids(tok)
  for g in range(2):
    n = int(s.lengths[0, g])
    ids = s.tokens[0, g, :n].tolist()
    assert ids == [i["open"], i["six_seven"], i["close"]] + env + [i["answer"], tok.eos_id]
    assert tok.decode(ids[:-1]) == want
    # 1 exactly on the tokens the model sampled, 0 on the output block and on padding.
    mask = [1, 1, 1] + [0] * len(env) + [1, 1]
    assert s.model_token_mask[0, g, :n].tolist() == mask
    assert not s.model_token_mask[0, g, n:].any()
    # Log-probs of model tokens only: ~0 (the forced token has probability ~1), exactly 0 on
    # the output block.
    logp = s.logprobs[0, g, :n]
    assert np.all(logp[np.array(mask) == 0] == 0.0)
    assert np.all(np.abs(logp[np.array(mask) == 1]) < 1e-3)
    assert s.tool_calls[0, g] == 1 and not s.truncated[0, g]
    [result] = s.tool_results[0][g]
    assert result.status == "ok" and result.stdout == "42\n"
  assert s.rounds == 2


def test_the_block_can_open_in_the_prompt(tok, bigram, box):
  # The prompt already holds an open block with its program: the model only closes it.
  i = _ids(tok)
  model = bigram
  fx.set_successors(model, {i["close"]: i["nl"], i["nl"]: i["answer"],
                                i["answer"]: tok.eos_id}, i["close"])
  traces = tool_rollout.generate_text_with_tools(
      model, tok, [OPEN_PROMPT], num_samples=1,
      max_new_tokens=T, temperature=0.0, sandbox=box, max_tool_calls=1)
  [[trace]] = traces
  assert trace.text == "```\n```output\n5\n```\n" + fx.ANSWER
  assert [r.stdout for r in trace.tool_results] == ["5\n"]
  assert trace.num_model_tokens == 3 and not trace.truncated


def test_max_tool_calls_and_errors(tok, bigram, box):
  # A model that writes a failing program again and again: it gets two calls, the third block
  # ends the completion.
  i = _ids(tok)
  model = bigram
  fx.set_successors(model, {i["open"]: i["div0"], i["div0"]: i["close"],
                                i["close"]: i["nl"], i["nl"]: i["open"]}, i["open"])
  s = _generate(model, tok, box, [PROMPT])
  block = "```python\nprint(1/0)\n```"
  out = "\n```output\nZeroDivisionError: division by zero\n```\n"
  for g in range(2):
    text = tok.decode(s.tokens[0, g, :s.lengths[0, g]].tolist())
    assert text == block + out + block + out + block
    assert [r.status for r in s.tool_results[0][g]] == ["error", "error"]
  assert s.tool_calls.tolist() == [[2, 2]] and s.rounds == 3
  m = tool_rollout.tool_call_metrics([r for b in s.tool_results for r in b])
  assert m["tool_calls_per_sample"] == 2.0 and m["tool_error_rate"] == 1.0
  assert m["tool_timeout_rate"] == 0.0 and m["tool_samples_with_call"] == 1.0


def test_the_budget_cuts_an_output_block(tok, bigram, box):
  # The looping model with calls to spare runs until the budget, which ends inside a block.
  i = _ids(tok)
  model = bigram
  fx.set_successors(model, {i["open"]: i["six_seven"], i["six_seven"]: i["close"],
                                i["close"]: i["nl"], i["nl"]: i["open"]}, i["open"])
  s = _generate(model, tok, box, [PROMPT], max_tool_calls=100)
  env = tok.encode("\n```output\n42\n```\n")
  cycle = [i["open"], i["six_seven"], i["close"]] + env
  cycle_mask = [1, 1, 1] + [0] * len(env)
  reps = T // len(cycle) + 1
  assert T % len(cycle) > 3                          # the cut falls in an output block
  for g in range(2):
    assert s.tokens[0, g].tolist() == (cycle * reps)[:T]
    assert s.model_token_mask[0, g].tolist() == (cycle_mask * reps)[:T]
    assert s.lengths[0, g] == T and s.truncated[0, g]
    assert s.tool_calls[0, g] == T // len(cycle) + 1


def test_without_tool_calls_it_is_the_plain_sampler(tok, bigram, box):
  model = _one_call_model(tok, bigram)
  prompts = [tok.encode(OPEN_PROMPT, add_bos=True)]   # the greedy program of the test above
  s = _generate(model, tok, box, [OPEN_PROMPT], max_tool_calls=0, temperature=0.0)
  plain = sampler.generate(model, prompts, num_samples=2, max_new_tokens=T,
                           rng=jax.random.key(0), temperature=0.0, eos_id=tok.eos_id,
                           pad_id=tok.pad_id)
  np.testing.assert_array_equal(s.tokens, plain.tokens)
  np.testing.assert_array_equal(s.lengths, plain.lengths)
  assert s.model_token_mask.sum() == plain.lengths.sum() and s.tool_calls.sum() == 0
  assert s.rounds == 1


def test_an_untrained_model_samples_through_the_loop(tok, bigram, box):
  model = bigram
  fx.randomize(model, seed=3)
  s = _generate(model, tok, box, [PROMPT])      # the shapes of the first test: no compile
  assert s.tokens.shape == s.model_token_mask.shape == (1, 2, T)
  valid = np.arange(T)[None, None] < s.lengths[..., None]
  assert not s.model_token_mask[~valid].any() and not s.logprobs[~valid].any()
  # Tool-output tokens are exactly the output blocks the host appended.
  for b in range(1):
    for g in range(2):
      env = int(valid[b, g].sum() - s.model_token_mask[b, g].sum())
      assert (env > 0) == (s.tool_calls[b, g] > 0)
