"""Optimizer schedules, the train step (loss, accumulation, finite guard) and metrics maths."""

import json
import os

from absl.testing import absltest
import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
from flax import nnx

from deepseekmath_jax import config_lib
from deepseekmath_jax import metrics
from deepseekmath_jax import sharding
from deepseekmath_jax.model import Transformer, count_params
from deepseekmath_jax.trainers import optim
from deepseekmath_jax.trainers import train_lib


def _opt(**overrides) -> ml_collections.ConfigDict:
  cfg = config_lib.opt_config(schedule="multistep", peak_lr=1.0, warmup_steps=10)
  cfg.update(overrides)
  return cfg


class ScheduleTest(absltest.TestCase):

  def test_multistep_boundaries_at_80_and_90_percent(self):
    lr = optim.learning_rate_schedule(_opt(), total_steps=100)
    got = {s: float(lr(s)) for s in (0, 9, 10, 79, 80, 89, 90, 99)}
    self.assertAlmostEqual(got[0], 0.1, places=6)     # warmup: (0 + 1) / 10
    self.assertAlmostEqual(got[9], 1.0, places=6)     # peak at the end of warmup
    self.assertAlmostEqual(got[79], 1.0, places=6)
    self.assertAlmostEqual(got[80], 0.316, places=6)  # arXiv:2402.03300 §2.2.1
    self.assertAlmostEqual(got[89], 0.316, places=6)
    self.assertAlmostEqual(got[90], 0.1, places=6)
    self.assertAlmostEqual(got[99], 0.1, places=6)

  def test_paper_7b_schedule(self):
    lr = optim.learning_rate_schedule(_opt(peak_lr=4.2e-4, warmup_steps=2000), 50_000)
    self.assertAlmostEqual(float(lr(999)), 4.2e-4 / 2, delta=1e-10)
    self.assertAlmostEqual(float(lr(39_999)), 4.2e-4, delta=1e-10)
    self.assertAlmostEqual(float(lr(40_000)), 0.316 * 4.2e-4, delta=1e-10)
    self.assertAlmostEqual(float(lr(45_000)), 0.1 * 4.2e-4, delta=1e-10)

  def test_cosine_and_constant(self):
    cos = optim.learning_rate_schedule(_opt(schedule="cosine", end_lr_frac=0.1), 110)
    self.assertAlmostEqual(float(cos(9)), 1.0, places=6)
    self.assertAlmostEqual(float(cos(60)), 0.55, places=5)  # halfway down
    self.assertAlmostEqual(float(cos(110)), 0.1, places=6)
    const = optim.learning_rate_schedule(_opt(schedule="constant", warmup_steps=0), 10)
    self.assertEqual([float(const(s)) for s in (0, 5, 9)], [1.0, 1.0, 1.0])

  def test_bad_schedule_names_the_key(self):
    with self.assertRaisesRegex(ValueError, "config.opt.schedule"):
      optim.learning_rate_schedule(_opt(schedule="linear"), 10)

  def test_decay_mask_skips_norm_scales_even_when_stacked(self):
    params = {"embed": jnp.ones((8, 4)), "blocks": {"input_norm": {"scale": jnp.ones((2, 4))},
                                                    "mlp": {"up_proj": jnp.ones((2, 4, 8))}},
              "final_norm": {"scale": jnp.ones(4)}}
    mask = optim.decay_mask(params)
    self.assertEqual(mask, {"embed": True, "blocks": {"input_norm": {"scale": False},
                                                      "mlp": {"up_proj": True}},
                            "final_norm": {"scale": False}})


def _model_cfg():
  return config_lib.model_config("tiny", num_layers=1, vocab_size=64, max_seq_len=32)


def _setup() -> train_lib.TrainSetup:
  cfg = _model_cfg()
  mesh = sharding.make_mesh(config_lib.mesh_config())
  # A large Adam ε makes the first update ≈ lr·g, linear in the gradient, so parameters
  # compare as tightly as gradients (with the default ε it is lr·sign(g), which flips for
  # near-zero gradients under any change of summation order).
  opt_cfg = _opt(peak_lr=1e-2, warmup_steps=0, eps=1.0)
  return train_lib.setup_training(lambda: Transformer(cfg, rngs=nnx.Rngs(0)), mesh,
                                  config_lib.AXIS_RULES, opt_cfg, 10)


def _fresh_state(setup):
  # numpy init (the model's own init is tested elsewhere and costs an XLA compile).
  rng = np.random.default_rng(0)
  params = jax.tree.map(lambda x: (rng.normal(size=x.shape) * 0.05).astype(x.dtype),
                        setup.abstract_state["params"])
  return setup.init_state(params, seed=0)


def _batch(seed=0, b=4, l=16):
  rng = np.random.default_rng(seed)
  tokens = rng.integers(0, 64, (b, l + 1)).astype(np.int32)
  segment_ids = np.ones((b, l), np.int32)
  segment_ids[:, l // 2:] = 2           # two packed documents per row
  segment_ids[0, -3:] = 0               # some padding
  positions = np.concatenate([np.arange(l // 2), np.arange(l - l // 2)])[None].repeat(b, 0)
  loss_mask = (segment_ids > 0).astype(np.float32)
  loss_mask[1, :5] = 0.0
  return dict(inputs=tokens[:, :-1], targets=tokens[:, 1:], positions=positions.astype(np.int32),
              segment_ids=segment_ids, loss_mask=loss_mask)


def _copy(tree):
  return jax.tree.map(lambda x: np.array(x), tree)


class TrainStepTest(absltest.TestCase):

  @classmethod
  def setUpClass(cls):
    super().setUpClass()
    cls.setup = _setup()
    cls.step1 = staticmethod(train_lib.jit_train_step(
        train_lib.make_train_step(cls.setup.graphdef, cls.setup.tx, cls.setup.schedule),
        cls.setup))

  def test_cross_entropy_matches_numpy(self):
    rng = np.random.default_rng(0)
    logits = rng.normal(size=(2, 3, 5)).astype(np.float32)
    targets = rng.integers(0, 5, (2, 3)).astype(np.int32)
    mask = np.array([[1, 0, 1], [1, 1, 0]], np.float32)
    ce, z = train_lib.cross_entropy(jnp.asarray(logits), jnp.asarray(targets), jnp.asarray(mask))
    log_z = np.log(np.exp(logits).sum(-1))
    nll = log_z - np.take_along_axis(logits, targets[..., None], -1)[..., 0]
    np.testing.assert_allclose(float(ce), (nll * mask).sum(), rtol=1e-6)
    np.testing.assert_allclose(float(z), (log_z ** 2 * mask).sum(), rtol=1e-6)

  def test_grad_accumulation_equals_large_batch(self):
    step2 = train_lib.jit_train_step(
        train_lib.make_train_step(self.setup.graphdef, self.setup.tx, self.setup.schedule,
                                  num_microbatches=2), self.setup)
    batch = train_lib.device_batch(_batch(), self.setup)
    big, big_metrics = self.step1(_fresh_state(self.setup), batch)
    acc, acc_metrics = step2(_fresh_state(self.setup), batch)
    np.testing.assert_allclose(float(acc_metrics["loss"]), float(big_metrics["loss"]),
                               rtol=1e-6)
    np.testing.assert_allclose(float(acc_metrics["grad_norm"]),
                               float(big_metrics["grad_norm"]), rtol=1e-5)
    jax.tree.map(lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-9),
                 _copy(acc["params"]), _copy(big["params"]))
    # And the update moved the parameters (the comparison is not vacuous).
    fresh = _copy(_fresh_state(self.setup)["params"])
    moved = np.abs(fresh["lm_head"] - np.asarray(big["params"]["lm_head"])).max()
    self.assertGreater(float(moved), 1e-5)

  def test_non_finite_step_changes_nothing_but_the_step(self):
    state = _fresh_state(self.setup)
    before = _copy(state)
    poisoned = _batch()
    poisoned["loss_mask"] = poisoned["loss_mask"] * np.float32("nan")
    state, m = self.step1(state, train_lib.device_batch(poisoned, self.setup))
    self.assertFalse(bool(m["finite"]))
    self.assertTrue(np.isnan(float(m["loss"])))
    after = _copy(state)
    jax.tree.map(np.testing.assert_array_equal, after["params"], before["params"])
    jax.tree.map(np.testing.assert_array_equal, after["opt"]["opt_state"],
                 before["opt"]["opt_state"])
    self.assertEqual(int(after["opt"]["step"]), 1)
    # A good step afterwards is applied, at the first step of the schedule.
    state, m = self.step1(state, train_lib.device_batch(_batch(), self.setup))
    self.assertTrue(bool(m["finite"]))
    self.assertAlmostEqual(float(m["lr"]), 1e-2, places=7)
    self.assertFalse(np.array_equal(np.asarray(state["params"]["lm_head"]),
                                    before["params"]["lm_head"]))

  def test_state_layout_and_count_is_replicated(self):
    shardings = jax.tree.leaves(self.setup.state_sharding)
    self.assertTrue(all(isinstance(s, jax.sharding.NamedSharding) for s in shardings))
    state = _fresh_state(self.setup)
    count = train_lib.update_count(state["opt"]["opt_state"])
    self.assertEqual(count.sharding, self.setup.state_sharding["opt"]["step"])


class BadStepCounterTest(absltest.TestCase):

  def test_raises_after_consecutive_bad_steps_only(self):
    counter = train_lib.BadStepCounter(max_bad_steps=3)
    for step, ok in enumerate([False, False, True, False, False], start=1):
      counter.update(step, ok, 0.0, 0.0)
    self.assertEqual(counter.consecutive, 2)
    with self.assertRaisesRegex(train_lib.NonFiniteLossError, "3 consecutive steps"):
      counter.update(6, False, float("nan"), float("inf"))


class MetricsTest(absltest.TestCase):

  def test_flops_count_matches_the_model(self):
    cfg = config_lib.model_config("tiny")
    abstract = sharding.abstract_model(lambda: Transformer(cfg, rngs=nnx.Rngs(0)), None,
                                       config_lib.AXIS_RULES)
    total = count_params(abstract)
    # Every parameter but the input embedding and the norm scales is in a matmul.
    norms = (2 * cfg.num_layers + 1) * cfg.embed_dim
    self.assertEqual(metrics.matmul_params(cfg) + cfg.vocab_size * cfg.embed_dim + norms, total)
    seq = 128
    self.assertEqual(metrics.flops_per_token(cfg, seq),
                     6 * metrics.matmul_params(cfg) + 12 * cfg.num_layers * seq * 4 * 16)
    # 7B: 6 x 6.49e9 matmul parameters (30 x (4·4096² + 3·4096·11008) + 4096·102400)
    # plus 12·30·4096·4096 for attention at 4K.
    big = config_lib.model_config("deepseekmath_7b")
    self.assertAlmostEqual(metrics.flops_per_token(big, 4096) / 1e9, 44.98, delta=0.01)

  def test_mfu_and_peak(self):
    self.assertAlmostEqual(metrics.mfu(1000.0, 1e6, 1e10), 0.1)
    self.assertEqual(metrics.mfu(1000.0, 1e6, 0.0), 0.0)
    self.assertGreater(metrics.measure_matmul_peak_flops(size=128, repeats=2), 1e6)

  def test_writer_truncates_on_resume_and_writes_null_for_nan(self):
    workdir = self.create_tempdir().full_path
    writer = metrics.MetricsWriter(workdir, enabled=True)
    for step in range(1, 6):
      writer.write(step, {"loss": float(step), "lr": np.float32(0.1)})
    writer.write(6, {"loss": float("nan")})
    writer.close()
    with open(os.path.join(workdir, "metrics.jsonl"), "a") as f:
      f.write('{"step": 7, "lo')  # torn line of a killed process
    records = [json.loads(l) for l in open(os.path.join(workdir, "metrics.jsonl"))
               if l.endswith("}\n")]
    self.assertIsNone(records[-1]["loss"])
    writer = metrics.MetricsWriter(workdir, resume_step=3, enabled=True)
    writer.write(4, {"loss": 40.0})
    writer.close()
    got = metrics.read_metrics(os.path.join(workdir, "metrics.jsonl"))
    self.assertEqual([(r["step"], r["loss"]) for r in got], [(1, 1.0), (2, 2.0), (3, 3.0),
                                                             (4, 40.0)])
    self.assertTrue(os.listdir(os.path.join(workdir, "tensorboard")))

  def test_progress_line_has_rate_and_eta(self):
    progress = metrics.Progress(total_steps=100, start_step=0, tokens_per_step=1000)
    rates = progress.update(10)
    line = progress.line(10, {"loss": 2.5}, rates)
    self.assertRegex(line,
                     r"step 10/100 \| loss 2.5 \| .* steps/s \| .* tok/s \| ETA \d+:\d\d:\d\d")


if __name__ == "__main__":
  absltest.main()
