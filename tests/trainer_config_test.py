"""configs/pretrain.py and configs/sft.py: variants load, keys match what the code reads."""

from absl.testing import absltest
from absl.testing import parameterized

from configs import pretrain
from configs import sft
from deepseekmath_jax import data
from deepseekmath_jax.data import sources
from deepseekmath_jax.trainers import pretrain as pretrain_trainer

_VARIANTS = [("pretrain_" + v, pretrain, v) for v in ("tiny", "1b", "deepseekmath_7b")] + [
    ("sft_" + v, sft, v) for v in ("tiny", "deepseekmath_7b")]


class ConfigTest(parameterized.TestCase):

  @parameterized.named_parameters(*_VARIANTS)
  def test_variant_has_the_trainer_keys(self, module, variant):
    config = module.get_config(variant)
    self.assertGreater(config.total_steps, 0)
    self.assertGreater(config.checkpoint_every, 0)
    self.assertIsInstance(config.seed, int)
    self.assertIn(config.stage, ("pretrain", "sft"))
    pretrain_trainer.check_config(config)
    # The data and tokenizer blocks carry exactly the keys the data package reads.
    self.assertEqual(set(config.data), set(data.default_data_config()))
    self.assertEqual(set(config.tokenizer), set(data.default_tokenizer_config()))
    for name in config.data.sources:
      self.assertEqual(set(config.data.sources[name]),
                       set(sources.source_config(config.data.sources[name].kind)), name)

  def test_tiny_is_the_default_and_accepts_overrides(self):
    self.assertEqual(pretrain.get_config().model.num_layers, 2)
    self.assertEqual(pretrain.get_config("tiny,steps=7").total_steps, 7)
    with self.assertRaisesRegex(ValueError, "unknown variant"):
      pretrain.get_config("13b")

  def test_paper_7b_pretraining(self):
    config = pretrain.get_config("deepseekmath_7b")
    tokens_per_step = config.batch_size * config.seq_len
    self.assertAlmostEqual(tokens_per_step / 10e6, 1.0, delta=0.005)   # 10M tokens (§2.3)
    self.assertAlmostEqual(tokens_per_step * config.total_steps / 500e9, 1.0, delta=0.001)
    self.assertEqual((config.opt.peak_lr, config.opt.warmup_steps), (4.2e-4, 2000))
    self.assertEqual((config.opt.b1, config.opt.b2, config.opt.weight_decay), (0.9, 0.95, 0.1))
    self.assertEqual(config.opt.schedule, "multistep")
    weights = {n: s.weight for n, s in config.data.sources.items()}
    self.assertAlmostEqual(sum(weights.values()), 1.0)
    self.assertEqual(weights["math_corpus"], 0.56)

  def test_paper_sft(self):
    config = sft.get_config("deepseekmath_7b")
    self.assertEqual((config.seq_len, config.batch_size, config.total_steps), (4096, 256, 500))
    self.assertEqual((config.opt.schedule, config.opt.peak_lr), ("constant", 5e-5))
    self.assertEqual(config.data.mode, "sft")

  def test_sft_stage_needs_sft_data(self):
    config = sft.get_config("tiny")
    config.data.mode = "pretrain"
    with self.assertRaisesRegex(ValueError, "config.data.mode"):
      pretrain_trainer.check_config(config)


if __name__ == "__main__":
  absltest.main()
