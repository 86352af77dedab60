"""Checkpointer: round trip with the grain iterator, and fallback from damaged checkpoints."""

import os

from absl import logging
from absl.testing import absltest
import grain
import jax
import jax.numpy as jnp
import numpy as np

from deepseekmath_jax import checkpoint


def _state(value: float) -> dict:
  return {"params": {"w": jnp.full((64, 32), value, jnp.float32),
                     "blocks": {0: {"scale": jnp.arange(16, dtype=jnp.bfloat16)}}},
          "opt": {"count": jnp.asarray(int(value), jnp.int32),
                  "rng": jax.random.key_data(jax.random.key(int(value)))}}


def _iterator():
  return iter(grain.MapDataset.range(1000).shuffle(seed=3).batch(4).to_iter_dataset())


def _files(step_dir: str, item: str) -> list[str]:
  out = []
  for root, _, names in os.walk(os.path.join(step_dir, item)):
    out += [os.path.join(root, n) for n in names]
  return out


class CheckpointerTest(absltest.TestCase):

  def setUp(self):
    super().setUp()
    self.dir = os.path.join(self.create_tempdir().full_path, "checkpoints")
    self.abstract = checkpoint.abstract_tree(_state(0.0))

  def _save_steps(self, steps=(1, 2)) -> checkpoint.Checkpointer:
    ckpt = checkpoint.Checkpointer(self.dir, max_to_keep=5)
    it = _iterator()
    for step in steps:
      for _ in range(step):  # the iterator advances between checkpoints
        next(it)
      ckpt.save(step, _state(float(step)), data_iter=it, meta={"note": f"s{step}"})
    ckpt.close()
    return checkpoint.Checkpointer(self.dir, max_to_keep=5)

  def test_round_trip_restores_state_iterator_and_meta(self):
    ckpt = checkpoint.Checkpointer(self.dir)
    it = _iterator()
    for _ in range(3):
      next(it)
    ckpt.save(3, _state(3.0), data_iter=it, meta={"bad_consecutive": 2})
    expected_next = next(it)
    ckpt.close()

    fresh = _iterator()
    step, items = checkpoint.Checkpointer(self.dir).restore(self.abstract, data_iter=fresh)
    self.assertEqual(step, 3)
    jax.tree.map(np.testing.assert_array_equal, items["params"], _state(3.0)["params"])
    jax.tree.map(np.testing.assert_array_equal, items["opt"], _state(3.0)["opt"])
    self.assertEqual(items["meta"]["bad_consecutive"], 2)
    np.testing.assert_array_equal(next(fresh), expected_next)

  def test_truncated_latest_falls_back_with_warning(self):
    ckpt = self._save_steps()
    for path in _files(os.path.join(self.dir, "2"), "params"):
      with open(path, "r+b") as f:
        f.truncate(os.path.getsize(path) // 2)
    with self.assertLogs(logger="absl", level="WARNING") as logs:
      step, items = ckpt.restore(self.abstract, data_iter=_iterator())
    self.assertEqual(step, 1)
    jax.tree.map(np.testing.assert_array_equal, items["params"], _state(1.0)["params"])
    self.assertTrue(any("checkpoint step 2" in m and "falling back" in m for m in logs.output),
                    logs.output)
    # The bad step is moved aside, so step 2 can be written again.
    self.assertEqual(ckpt.all_steps(), [1])
    self.assertLen(os.listdir(self.dir + "_corrupt"), 1)
    self.assertTrue(ckpt.save(2, _state(2.0)))
    ckpt.wait()
    self.assertEqual(ckpt.restore(self.abstract)[0], 2)

  def test_bit_flip_of_same_size_is_caught_by_fingerprint(self):
    ckpt = self._save_steps()
    # Rewrite the stored array data with different values of the same shape: orbax reads
    # it back without complaint; only the fingerprint in meta tells.
    tampered = checkpoint.Checkpointer(self.dir + "_tmp")
    tampered.save(2, {"params": _state(7.0)["params"], "opt": _state(2.0)["opt"]})
    tampered.close()
    import shutil  # pylint: disable=g-import-not-at-top
    shutil.rmtree(os.path.join(self.dir, "2", "params"))
    shutil.copytree(os.path.join(self.dir + "_tmp", "2", "params"),
                    os.path.join(self.dir, "2", "params"))
    with self.assertLogs(logger="absl", level="WARNING") as logs:
      step, _ = ckpt.restore(self.abstract)
    self.assertEqual(step, 1)
    self.assertTrue(any("fingerprint" in m for m in logs.output), logs.output)

  def test_corrupt_step_does_not_move_the_iterator(self):
    ckpt = self._save_steps()
    os.remove(os.path.join(self.dir, "1", "meta", "metadata"))
    for path in _files(os.path.join(self.dir, "2"), "opt"):
      with open(path, "wb") as f:
        f.write(b"garbage")
    it = _iterator()
    first = next(_iterator())
    with self.assertLogs(logger="absl", level="WARNING"):
      self.assertIsNone(ckpt.restore(self.abstract, data_iter=it))
    np.testing.assert_array_equal(next(it), first)

  def test_read_only_never_moves_anything(self):
    self._save_steps().close()
    os.remove(os.path.join(self.dir, "2", "meta", "metadata"))
    other = checkpoint.Checkpointer(self.dir, read_only=True)
    with self.assertLogs(logger="absl", level="WARNING"):
      step, items = other.restore(self.abstract, items=("params",))
    self.assertEqual(step, 1)
    self.assertNotIn("opt", items)
    self.assertTrue(os.path.isdir(os.path.join(self.dir, "2")))

  def test_fingerprint_sees_a_swap_and_dtypes(self):
    x = jnp.arange(10, dtype=jnp.float32)
    swapped = x.at[0].set(1.0).at[1].set(0.0)
    self.assertNotEqual(checkpoint.tree_fingerprint(x), checkpoint.tree_fingerprint(swapped))
    tree = {"a": jnp.ones(3, jnp.bfloat16), "b": jnp.ones(2, jnp.int8),
            "c": jnp.ones(2, bool), "k": jax.random.key(0)}
    self.assertLen(checkpoint.tree_fingerprint(tree), 4)

  def test_reserved_names_are_rejected(self):
    ckpt = checkpoint.Checkpointer(self.dir)
    with self.assertRaisesRegex(ValueError, "reserved"):
      ckpt.save(1, {"meta": {"x": jnp.ones(2)}})
    ckpt.close()


if __name__ == "__main__":
  absltest.main()
