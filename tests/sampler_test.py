"""The group sampler against a naive full-recompute reference, and its stopping rules.

Compiles are the cost here (seconds each on CPU), so the tests share a few programs: one greedy
program (3 prompts -> 4 rows, prompts bucketed to 8 slots, 10 new tokens) serves most tests,
because eos/pad ids, stop sequences and temperature are traced values, not static settings.
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

from deepseekmath_jax import config_lib, sharding
from deepseekmath_jax.model import Transformer
from deepseekmath_jax.rl import sampler
from deepseekmath_jax.rl.sampler import generate

T = 10
PAD = 0
NO_EOS = 255 + 1000        # outside the vocabulary: never sampled
REF_LEN = 32               # naive reference buffer (prompt + completion fit)


@pytest.fixture(scope="module")
def model():
  cfg = config_lib.model_config("tiny")
  return sharding.create_model(lambda: Transformer(cfg, rngs=nnx.Rngs(0)), None,
                               config_lib.AXIS_RULES)


@pytest.fixture(scope="module")
def prompts():
  rs = np.random.RandomState(0)
  return [[1] + rs.randint(3, 256, n - 1).tolist() for n in (3, 7, 5)]


@nnx.jit
def _forward(model, tokens_1xL):
  return model(tokens_1xL)


def _reference_logits(model, sequence):
  """Full-forward logits [len, V] (no cache); right padding is invisible under causality."""
  buf = np.zeros((1, REF_LEN), np.int32)
  buf[0, :len(sequence)] = sequence
  return np.asarray(_forward(model, jnp.asarray(buf)))[0, :len(sequence)]


def _naive_greedy(model, prompt, steps, eos_id=NO_EOS):
  seq = list(prompt)
  for _ in range(steps):
    seq.append(int(np.argmax(_reference_logits(model, seq)[-1])))
    if seq[-1] == eos_id:
      break
  return seq[len(prompt):]


def _greedy(model, prompts, **kw):
  kw = dict(num_samples=1, max_new_tokens=T, rng=jax.random.key(0), temperature=0.0,
            eos_id=NO_EOS, pad_id=PAD) | kw
  return generate(model, prompts, **kw)


@pytest.fixture(scope="module")
def greedy_ref(model, prompts):
  return [_naive_greedy(model, p, T) for p in prompts]


def test_greedy_equals_naive_full_recompute(model, prompts, greedy_ref):
  out = _greedy(model, prompts, num_samples=3)
  assert out.tokens.shape == (3, 3, T) and out.tokens.dtype == np.int32
  for b in range(3):
    for g in range(3):
      np.testing.assert_array_equal(out.tokens[b, g], greedy_ref[b])
  np.testing.assert_array_equal(out.lengths, T)
  assert out.truncated.all()                       # no EOS: every row hit the budget
  np.testing.assert_array_equal(out.prompt_lengths, [3, 7, 5])
  assert out.num_truncated_prompts == 0 and out.decode_steps == T
  # Greedy log-probs are under temperature 1.
  for b in range(3):
    logits = _reference_logits(model, prompts[b] + greedy_ref[b])
    logp = jax.nn.log_softmax(logits[len(prompts[b]) - 1:-1], axis=-1)
    np.testing.assert_allclose(out.logprobs[b, 0],
                               np.take_along_axis(logp, np.asarray(greedy_ref[b])[:, None], 1)[:, 0],
                               atol=1e-4)


def test_eos_stops_a_row_and_pads_after_it(model, prompts, greedy_ref):
  eos = greedy_ref[1][4]                 # row 1 produces this token at step 4 (or earlier)
  out = _greedy(model, prompts, eos_id=eos, pad_id=7)
  for b in range(3):
    # The naive greedy loop with an EOS check ends at the first EOS of the plain greedy run.
    ref = greedy_ref[b][:greedy_ref[b].index(eos) + 1] if eos in greedy_ref[b] else greedy_ref[b]
    n = len(ref)
    assert out.lengths[b, 0] == n
    np.testing.assert_array_equal(out.tokens[b, 0, :n], ref)
    np.testing.assert_array_equal(out.tokens[b, 0, n:], 7)
    np.testing.assert_array_equal(out.logprobs[b, 0, n:], 0.0)
    assert out.truncated[b, 0] == (ref[-1] != eos)
  assert out.lengths[1, 0] <= 5 and out.tokens[1, 0, out.lengths[1, 0] - 1] == eos


def test_stop_sequences_stop_and_are_kept(model, prompts, greedy_ref):
  stop = greedy_ref[2][3:5]
  out = _greedy(model, prompts, stop_sequences=[stop, [250, 251, 252]])
  for b in range(3):
    ref = greedy_ref[b]
    ends = [i + 2 for i in range(T - 1) if ref[i:i + 2] == stop]
    n = ends[0] if ends else T
    assert out.lengths[b, 0] == n
    np.testing.assert_array_equal(out.tokens[b, 0, :n], ref[:n])
    np.testing.assert_array_equal(out.tokens[b, 0, n:], PAD)
    assert out.truncated[b, 0] == (not ends)
  assert out.lengths[2, 0] <= 5


def test_stop_sequence_in_prompt_does_not_stop(model, prompts, greedy_ref):
  out = _greedy(model, prompts, stop_sequences=[prompts[1][-2:]])
  for b in range(3):
    ref = greedy_ref[b]
    if not any(ref[i:i + 2] == prompts[1][-2:] for i in range(T - 1)):
      assert out.lengths[b, 0] == T


def test_early_exit_when_every_row_ends(model, prompts):
  # A zero LM head makes every logit equal: greedy picks token 0 at every step.
  zero = nnx.clone(model)
  zero.lm_head[...] = jnp.zeros_like(zero.lm_head[...])
  out = _greedy(zero, prompts, eos_id=0, pad_id=5)
  assert out.decode_steps == 1                     # the loop did no decode step at all
  np.testing.assert_array_equal(out.lengths, 1)
  np.testing.assert_array_equal(out.tokens[:, :, 0], 0)
  np.testing.assert_array_equal(out.tokens[:, :, 1:], 5)
  assert not out.truncated.any()
  # Stop sequence [0, 0]: rows end after two tokens, and so does the loop.
  out = _greedy(zero, prompts, stop_sequences=[[0, 0]])
  assert out.decode_steps == 2
  np.testing.assert_array_equal(out.lengths, 2)
  # Without EOS the loop runs to the budget.
  assert _greedy(zero, prompts).decode_steps == T


def test_prompt_truncation_keeps_the_end_and_is_counted(model, prompts):
  long_prompts = [prompts[0], prompts[1] + [9, 10, 11, 12], prompts[2] + [13, 14, 15, 16]]
  out = _greedy(model, long_prompts, max_prompt_len=8)
  assert out.num_truncated_prompts == 2
  np.testing.assert_array_equal(out.prompt_lengths, [3, 8, 8])
  for b in range(3):
    np.testing.assert_array_equal(out.tokens[b, 0], _naive_greedy(model, long_prompts[b][-8:], T))


def test_sampling_groups_differ_and_are_reproducible(model, prompts):
  kw = dict(num_samples=4, max_new_tokens=T, temperature=0.7, eos_id=NO_EOS, pad_id=PAD)
  a = generate(model, prompts, rng=jax.random.key(1), **kw)
  b = generate(model, prompts, rng=jax.random.key(1), **kw)
  c = generate(model, prompts, rng=jax.random.key(2), **kw)
  np.testing.assert_array_equal(a.tokens, b.tokens)
  np.testing.assert_array_equal(a.logprobs, b.logprobs)
  assert (a.tokens != c.tokens).any()
  for p in range(3):                               # the G samples of a prompt differ
    assert len({tuple(row) for row in a.tokens[p]}) > 1
  # A prompt's samples do not depend on the other prompts in the batch.
  others = generate(model, [prompts[0], [1, 2], [1, 3, 4, 5]], rng=jax.random.key(1), **kw)
  np.testing.assert_array_equal(others.tokens[0], a.tokens[0])
  # Log-probs: log_softmax(logits / temperature) of a full forward at the sampled tokens.
  for p in range(3):
    for g in range(4):
      seq = prompts[p] + a.tokens[p, g].tolist()
      logits = _reference_logits(model, seq)[len(prompts[p]) - 1:-1] / 0.7
      logp = np.asarray(jax.nn.log_softmax(logits, axis=-1))
      expected = np.take_along_axis(logp, a.tokens[p, g][:, None], 1)[:, 0]
      np.testing.assert_allclose(a.logprobs[p, g], expected, atol=1e-4)


@pytest.mark.parametrize("filters", [dict(top_k=1), dict(top_p=1e-6)])
def test_top_k_one_and_tiny_top_p_equal_greedy(model, prompts, greedy_ref, filters):
  out = generate(model, prompts, num_samples=2, max_new_tokens=T, rng=jax.random.key(3),
                 temperature=1.0, eos_id=NO_EOS, pad_id=PAD, **filters)
  for b in range(3):
    for g in range(2):
      np.testing.assert_array_equal(out.tokens[b, g], greedy_ref[b])


def test_filter_logits_top_k_and_top_p():
  logits = jnp.log(jnp.asarray([[0.5, 0.2, 0.15, 0.1, 0.05]]))
  kept = lambda x: np.isfinite(np.asarray(x))[0].tolist()
  assert kept(sampler._filter_logits(logits, 0, None)) == [True] * 5
  assert kept(sampler._filter_logits(logits, 2, None)) == [True, True, False, False, False]
  assert kept(sampler._filter_logits(logits, 0, 0.6)) == [True, True, False, False, False]
  assert kept(sampler._filter_logits(logits, 0, 0.5)) == [True, False, False, False, False]
  assert kept(sampler._filter_logits(logits, 0, 0.86)) == [True, True, True, True, False]
  assert kept(sampler._filter_logits(logits, 3, 0.99)) == [True, True, True, False, False]


def test_draw_categorical_matches_the_softmax_and_never_draws_masked_tokens():
  probs = np.asarray([0.0, 0.5, 0.0, 0.2, 0.25, 0.05, 0.0], np.float32)   # zeros: masked
  n = 40_000
  logits = jnp.broadcast_to(jnp.log(jnp.asarray(probs)), (n, probs.size))
  keys = jax.random.split(jax.random.key(0), n)
  draws = np.asarray(jax.jit(sampler.draw_categorical)(keys, logits))
  freq = np.bincount(draws, minlength=probs.size) / n
  assert freq[probs == 0].sum() == 0
  # Binomial standard error at n = 40k is at most 0.0025: 5 of them.
  np.testing.assert_allclose(freq, probs, atol=0.0125)
  # A single token with mass is always drawn, wherever it sits.
  for index in (0, 3, 6):
    one = jnp.full((8, 7), -jnp.inf).at[:, index].set(0.0)
    assert set(np.asarray(sampler.draw_categorical(keys[:8], one)).tolist()) == {index}


def test_same_bucket_reuses_the_compiled_program(model, prompts):
  compiles = []
  listener = lambda name, *a, **k: compiles.append(name) if "backend_compile" in name else None
  jax.monitoring.register_event_duration_secs_listener(listener)
  try:
    _greedy(model, prompts)
    before = len(compiles)
    # Other lengths (same 8-slot bucket), another row count (same 4-row bucket), other ids.
    _greedy(model, [[1, 2], [1, 3, 4, 5, 6, 7, 8, 9], [1], [1, 5]], eos_id=3, pad_id=4,
            stop_sequences=[[5, 6, 7]])
    assert len(compiles) == before
  finally:
    jax.monitoring.unregister_event_duration_listener(listener)


def test_buckets():
  assert [sampler.bucket_length(n) for n in (1, 8, 9, 100)] == [8, 8, 16, 128]
  assert [sampler.bucket_rows(n) for n in (1, 3, 5, 9, 17)] == [1, 4, 8, 16, 24]
  assert sampler.bucket_rows(3, multiple=8) == 8 and sampler.bucket_rows(9, multiple=4) == 16


def test_bad_arguments_raise(model):
  with pytest.raises(ValueError, match="empty prompts"):
    _greedy(model, [[1], []])
  with pytest.raises(ValueError, match="top_p"):
    _greedy(model, [[1]], top_p=0.0)
  with pytest.raises(ValueError, match="max_new_tokens"):
    _greedy(model, [[1]], max_new_tokens=0)


class _ByteTokenizer:
  """Characters are token ids (latin-1); BOS 1, EOS 2, pad 0."""
  bos_id, eos_id, pad_id = 1, 2, 0

  def encode(self, text, add_bos=False):
    return [self.bos_id] * add_bos + [ord(c) for c in text]

  def decode(self, ids):
    return "".join(chr(i) for i in ids)


def test_generate_text_cuts_at_stop_strings(model):
  tok = _ByteTokenizer()
  texts = ["ab", "hello", "xyz"]
  full = sampler.generate_text(model, tok, texts, num_samples=2, max_new_tokens=T,
                               temperature=0.0)
  assert all(len(c[0]) == T and c[0] == c[1] for c in full)   # nothing stops these
  stop = full[2][0][4:6]
  cut = sampler.generate_text(model, tok, texts, num_samples=2, max_new_tokens=T,
                              temperature=0.0, stop_strings=[stop, "\n\n"])
  for before, after in zip(full, cut):
    assert after == [sampler.cut_at_stop(before[0], [stop])] * 2
  assert cut[2][0] == full[2][0][:full[2][0].find(stop)] and len(cut[2][0]) <= 4


def test_runs_on_a_mesh(model, prompts, greedy_ref):
  mesh = sharding.make_mesh(config_lib.mesh_config(), jax.devices()[:1])
  out = _greedy(model, prompts, mesh=mesh)
  for b in range(3):
    np.testing.assert_array_equal(out.tokens[b, 0], greedy_ref[b])
