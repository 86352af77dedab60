"""End-to-end runs of `python -m deepseekmath_jax.main` on the tiny configs (real processes).

The runs share a persistent XLA compilation cache, so only the first one compiles.
"""

import json
import os
import shutil
import signal
import subprocess
import sys

from absl.testing import absltest
import numpy as np
import orbax.checkpoint as ocp
import pytest

from deepseekmath_jax import metrics

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
_ENV = {}
_REFERENCE = {}


def setUpModule():
  cache = os.path.join(os.environ.get("PYTEST_TMPDIR", "/tmp"),
                       f"trainer_run_test_xla_cache_{os.getuid()}")
  _ENV.update(os.environ, JAX_PLATFORMS="cpu", JAX_COMPILATION_CACHE_DIR=cache,
              JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS="0",
              JAX_PERSISTENT_CACHE_MIN_ENTRY_SIZE_BYTES="0")


def _command(workdir: str, config: str, *overrides: str) -> list[str]:
  return [sys.executable, "-m", "deepseekmath_jax.main", f"--config={config}",
          f"--workdir={workdir}", *overrides]


def _run(workdir: str, *overrides: str, config: str = "configs/pretrain.py:tiny",
         timeout: float = 300) -> subprocess.CompletedProcess:
  return subprocess.run(_command(workdir, config, *overrides), cwd=REPO, env=_ENV,
                        capture_output=True, text=True, timeout=timeout)


def _steps(workdir: str) -> list[int]:
  directory = os.path.join(workdir, "checkpoints")
  return sorted(int(d) for d in os.listdir(directory) if d.isdigit())


def _train_records(workdir: str) -> list[dict]:
  return [r for r in metrics.read_metrics(os.path.join(workdir, "metrics.jsonl"))
          if "loss" in r]


def _params(workdir: str, step: int) -> dict:
  path = os.path.join(workdir, "checkpoints", str(step), "params")
  return ocp.StandardCheckpointer().restore(path)


def _flat(tree) -> dict:
  """{"blocks/0/attn/q_proj": array} (orbax restores integer keys as strings)."""
  import jax  # pylint: disable=g-import-not-at-top
  return {"/".join(str(getattr(k, "key", k)) for k in path): np.asarray(leaf)
          for path, leaf in jax.tree_util.tree_flatten_with_path(tree)[0]}


def _assert_trees_equal(a, b):
  flat_a, flat_b = _flat(a), _flat(b)
  assert sorted(flat_a) == sorted(flat_b)
  for key, value in flat_a.items():
    np.testing.assert_array_equal(value, flat_b[key], err_msg=key)


class TrainerRunTest(absltest.TestCase):

  @classmethod
  def reference(cls) -> str:
    """An uninterrupted tiny run (20 steps, checkpoints every 5), made once."""
    if "workdir" not in _REFERENCE:
      workdir = os.path.join(cls.base_dir, "reference")
      proc = _run(workdir)
      _REFERENCE.update(workdir=workdir, proc=proc)
    proc = _REFERENCE["proc"]
    assert proc.returncode == 0, proc.stderr[-5000:]
    return _REFERENCE["workdir"]

  @classmethod
  def setUpClass(cls):
    super().setUpClass()
    cls.base_dir = cls.create_tempdir_class()

  @classmethod
  def create_tempdir_class(cls) -> str:
    import tempfile  # pylint: disable=g-import-not-at-top
    path = tempfile.mkdtemp(prefix="trainer_run_test_")
    cls.addClassCleanup(shutil.rmtree, path, ignore_errors=True)
    return path

  def test_tiny_run_writes_metrics_checkpoints_and_events(self):
    workdir = self.reference()
    records = _train_records(workdir)
    self.assertEqual([r["step"] for r in records], list(range(1, 21)))
    for r in records:
      for key in ("loss", "lr", "grad_norm", "tokens_per_s", "mfu"):
        self.assertIsInstance(r[key], float, (key, r))
    self.assertLess(records[-1]["loss"], records[0]["loss"] - 1.0)  # it learns
    evals = [r for r in metrics.read_metrics(os.path.join(workdir, "metrics.jsonl"))
             if "eval/loss" in r]
    self.assertEqual([r["step"] for r in evals], [10, 20])
    self.assertAlmostEqual(evals[-1]["eval/perplexity"], np.exp(evals[-1]["eval/loss"]),
                           places=3)
    self.assertEqual(_steps(workdir), [10, 15, 20])  # keep the last 3
    self.assertTrue(any(f.startswith("events.out.tfevents")
                        for f in os.listdir(os.path.join(workdir, "tensorboard"))))
    self.assertRegex(_REFERENCE["proc"].stderr, r"step 20/20 \| loss .* tok/s \| ETA")
    # Saves are one line each; orbax's own INFO chatter is filtered out (main.QuietOrbaxInfo).
    self.assertEqual(_REFERENCE["proc"].stderr.count("checkpoint step "), 4)
    self.assertNotIn("checkpoint_manager.py", _REFERENCE["proc"].stderr)

  def test_sigkill_between_checkpoints_then_resume_is_exact(self):
    reference = self.reference()
    workdir = os.path.join(self.base_dir, "killed")
    killed = _run(workdir, "--config.debug.kill_at_step=13")
    self.assertEqual(killed.returncode, -signal.SIGKILL, killed.stderr[-3000:])
    self.assertEqual(_train_records(workdir)[-1]["step"], 13)
    self.assertEqual(_steps(workdir), [5, 10])  # steps 11-13 are lost work

    resumed = _run(workdir)
    self.assertEqual(resumed.returncode, 0, resumed.stderr[-5000:])
    self.assertIn("at step 10", resumed.stderr)
    got = [(r["step"], r["loss"], r["grad_norm"]) for r in _train_records(workdir)]
    want = [(r["step"], r["loss"], r["grad_norm"]) for r in _train_records(reference)]
    self.assertEqual(got, want)  # exact float equality, every step
    _assert_trees_equal(_params(workdir, 20), _params(reference, 20))

  def test_sigterm_saves_and_exits_zero_and_corrupt_latest_falls_back(self):
    reference = self.reference()
    workdir = os.path.join(self.base_dir, "preempted")
    # The run sends itself a real SIGTERM after step 12 (a test hook: a known step).
    proc = _run(workdir, "--config.debug.sigterm_at_step=12")
    self.assertEqual(proc.returncode, 0, proc.stderr[-5000:])
    self.assertIn("preemption requested: saved step 12", proc.stderr)
    self.assertEqual(_train_records(workdir)[-1]["step"], 12)
    self.assertEqual(_steps(workdir), [5, 10, 12])

    # Damage the newest checkpoint: the next run warns, sets it aside, resumes from step 10
    # and still ends exactly where the uninterrupted run did.
    for root, _, names in os.walk(os.path.join(workdir, "checkpoints", "12", "opt")):
      for name in names:
        with open(os.path.join(root, name), "r+b") as f:
          f.truncate(max(os.path.getsize(os.path.join(root, name)) // 3, 1))
    resumed = _run(workdir)
    self.assertEqual(resumed.returncode, 0, resumed.stderr[-5000:])
    self.assertRegex(resumed.stderr, r"checkpoint step 12 in .* cannot be used .* "
                                     "falling back to the previous checkpoint")
    self.assertIn("at step 10", resumed.stderr)
    self.assertTrue(os.listdir(os.path.join(workdir, "checkpoints_corrupt")))
    got = [(r["step"], r["loss"]) for r in _train_records(workdir)]
    self.assertEqual(got, [(r["step"], r["loss"]) for r in _train_records(reference)])
    _assert_trees_equal(_params(workdir, 20), _params(reference, 20))

  def test_init_from_another_run_and_from_hugging_face(self):
    reference = self.reference()
    from flax import nnx  # pylint: disable=g-import-not-at-top
    from configs import pretrain  # pylint: disable=g-import-not-at-top
    from deepseekmath_jax import config_lib, sharding  # pylint: disable=g-import-not-at-top
    from deepseekmath_jax.model import Transformer, hf_io  # pylint: disable=g-import-not-at-top
    from deepseekmath_jax.trainers import pretrain as trainer  # pylint: disable=g-import-not-at-top
    from deepseekmath_jax.trainers import train_lib  # pylint: disable=g-import-not-at-top
    config = pretrain.get_config("tiny")
    mesh = sharding.make_mesh(config_lib.mesh_config())
    setup = train_lib.setup_training(lambda: Transformer(config.model, rngs=nnx.Rngs(0)), mesh,
                                     config.axis_rules, config.opt, config.total_steps)
    want = _params(reference, 20)

    config.init_from = reference  # a run's workdir: its newest parameters
    from_run = trainer.initial_params(config, setup)
    _assert_trees_equal(from_run, want)

    # A Hugging Face directory written from those parameters loads back to the same values.
    hf_dir = os.path.join(self.base_dir, "hf")
    model = nnx.merge(setup.graphdef, from_run)
    hf_io.save_hf_checkpoint(model, hf_dir)
    config.init_from = f"hf:{hf_dir}"
    _assert_trees_equal(trainer.initial_params(config, setup), want)

    config.init_from = os.path.join(self.base_dir, "no_such_run")
    with self.assertRaisesRegex(FileNotFoundError, "config.init_from"):
      trainer.initial_params(config, setup)

  def test_workdir_records_its_architecture(self):
    reference = self.reference()
    import jax.numpy as jnp  # pylint: disable=g-import-not-at-top
    from flax import nnx  # pylint: disable=g-import-not-at-top
    from configs import pretrain  # pylint: disable=g-import-not-at-top
    from deepseekmath_jax import checkpoint, config_lib, sharding  # pylint: disable=g-import-not-at-top
    from deepseekmath_jax.evaluation import generate  # pylint: disable=g-import-not-at-top
    from deepseekmath_jax.model import Transformer  # pylint: disable=g-import-not-at-top
    from deepseekmath_jax.trainers import pretrain as trainer  # pylint: disable=g-import-not-at-top
    from deepseekmath_jax.trainers import train_lib  # pylint: disable=g-import-not-at-top
    config = pretrain.get_config("tiny")
    mesh = sharding.make_mesh(config_lib.mesh_config())
    self.assertEqual(checkpoint.load_model_config(reference).to_dict(), config.model.to_dict())

    # Evaluation reads the architecture from the workdir: no model config needed, and a
    # wrong one given is replaced by the saved one (only runtime keys are taken from it).
    runtime = config_lib.model_config("small", dtype="bfloat16")
    model = generate.load_model(reference, runtime, mesh, config.axis_rules)
    self.assertEqual(len(model.blocks), config.model.num_layers)
    self.assertEqual(model.cfg.dtype, "bfloat16")
    logits = generate.load_model(reference, None, mesh, config.axis_rules)(
        jnp.zeros((1, 4), jnp.int32))
    self.assertEqual(logits.shape, (1, 4, config.model.vocab_size))

    # Initializing a run of another architecture from it names the keys that differ.
    setup = train_lib.setup_training(lambda: Transformer(config.model, rngs=nnx.Rngs(0)), mesh,
                                     config.axis_rules, config.opt, config.total_steps)
    config.model.num_layers += 1
    config.model.mlp_dim *= 2
    config.model.dtype = "bfloat16"  # a runtime key: not an architecture difference
    config.init_from = reference
    with self.assertRaisesRegex(ValueError, r"mlp_dim: 128 there, 256 here; num_layers: 2 "
                                r"there, 3 here$"):
      trainer.initial_params(config, setup)

  def test_nan_steps_are_skipped_and_the_run_stops_after_max_bad_steps(self):
    workdir = os.path.join(self.base_dir, "nan")
    proc = _run(workdir, "--config.debug.nan_at_steps=7,8,9", "--config.max_bad_steps=3")
    self.assertNotEqual(proc.returncode, 0)
    self.assertIn("NonFiniteLossError", proc.stderr)
    self.assertIn("3 consecutive steps up to step 9", proc.stderr)
    records = {r["step"]: r for r in _train_records(workdir)}
    self.assertEqual([records[s]["skipped"] for s in (6, 7, 8)], [0, 1, 1])
    self.assertIsNone(records[7]["loss"])
    self.assertEqual(_steps(workdir), [5])  # nothing saved once steps went bad

  def test_sft_tiny_run_trains_on_response_tokens_only(self):
    workdir = os.path.join(self.base_dir, "sft")
    proc = _run(workdir, config="configs/sft.py:tiny")
    self.assertEqual(proc.returncode, 0, proc.stderr[-5000:])
    records = _train_records(workdir)
    self.assertEqual(records[-1]["step"], 20)
    self.assertEqual(_steps(workdir), [10, 15, 20])

    from configs import sft  # pylint: disable=g-import-not-at-top
    from deepseekmath_jax import data  # pylint: disable=g-import-not-at-top
    config = sft.get_config("tiny")
    tokenizer = data.build_tokenizer(config.tokenizer, config.data, workdir)
    batch = next(data.make_sft_iterator(config.data, tokenizer, seed=0, batch_size=4,
                                        seq_len=config.seq_len))
    checked = 0
    for row in range(4):
      seg, mask, tgt = (batch[k][row] for k in ("segment_ids", "loss_mask", "targets"))
      for s in set(seg[seg > 0].tolist()):
        in_seg = seg == s
        trained = tokenizer.decode(tgt[in_seg & (mask > 0)].tolist())
        prompt = tokenizer.decode(tgt[in_seg & (mask == 0)].tolist())
        if "Assistant" not in prompt:
          continue  # a document cut at the sequence end
        self.assertNotIn("User", trained)
        self.assertIn("answer", trained)
        checked += 1
    self.assertGreater(checked, 0)


if __name__ == "__main__":
  absltest.main()
