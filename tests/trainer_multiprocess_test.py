"""Training as two JAX processes on this machine, the way a 2-host slice runs it.

Each run is `python -m deepseekmath_jax.main` started twice (JAX_COORDINATOR_ADDRESS on
loopback, JAX_NUM_PROCESSES=2, JAX_PROCESS_ID=0/1, 2 CPU devices each), with a mesh over all
4 devices. What is checked:

* pretrain and GRPO give the losses of one process with 4 devices and the same global batch
  (pretrain: `data.num_shards=2` makes the single process read the two processes' record
  shards; GRPO: every process reads the one global question stream);
* checkpoints are one orbax checkpoint per step (each process writes its own array shards
  and its iterator state), metrics.jsonl and TensorBoard are written by process 0 only;
* SIGKILL of one process mid-run, then a restart of both, continues from the last checkpoint
  with the per-step losses of an uninterrupted run;
* a checkpoint of 2 processes x 2 devices restores on 1 process x 1 device and the other way
  round (orbax reshards on restore; every array's fingerprint is checked).

Tolerance: the runs differ only in how the gradient all-reduce sums the 4 devices' partial
sums (in one process's memory vs across processes), i.e. float32 rounding (eps 1.2e-7), which
Adam carries forward. Pretrain losses agree to ~1e-7 relative; the test allows 1e-5 (a wrong
row, shard or step shifts them by 1e-2 and more). The GRPO loss is a difference of nearly
equal terms (ratio ~1, loss ~1e-5), so its rounding is larger relative to it: 1e-4 relative
plus 1e-9 absolute; the sampled tokens and rewards must be identical.

Run in its own pytest process (the Makefile's `*_multiprocess_test.py` line): about a minute
of the machine's two cores per trainer.
"""

import importlib.util
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import jax
import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[1]
PRETRAIN = ["--config=configs/pretrain.py:tiny", "--config.total_steps=12",
            "--config.checkpoint_every=4", "--config.mesh.data=1", "--config.mesh.fsdp=-1",
            "--config.metrics.peak_flops_per_s=1e12"]
GRPO = ["--config=configs/grpo.py:tiny", "--config.total_steps=4", "--config.checkpoint_every=2"]
LOSS_RTOL = 1e-5


def _free_port() -> int:
  with socket.socket() as s:
    s.bind(("localhost", 0))
    return s.getsockname()[1]


def _env(devices: int, cache: Path, **extra: str) -> dict[str, str]:
  env = {k: v for k, v in os.environ.items() if not k.startswith("JAX_") and k != "XLA_FLAGS"}
  env.update(JAX_PLATFORMS="cpu", XLA_FLAGS=f"--xla_force_host_platform_device_count={devices}",
             JAX_COMPILATION_CACHE_DIR=str(cache), **extra)
  return env


def _start(cmd: list[str], logs: Path, *, processes: int, devices: int,
           cache: Path) -> list[subprocess.Popen]:
  """`cmd` as `processes` JAX processes of one runtime (or one plain process)."""
  port = _free_port()
  procs = []
  for pid in range(processes):
    extra = (dict(JAX_COORDINATOR_ADDRESS=f"localhost:{port}", JAX_NUM_PROCESSES=str(processes),
                  JAX_PROCESS_ID=str(pid)) if processes > 1 else {})
    log = open(f"{logs}.{pid}.log", "w")  # pylint: disable=consider-using-with
    procs.append(subprocess.Popen(cmd, cwd=REPO, env=_env(devices, cache, **extra),
                                  stdout=log, stderr=subprocess.STDOUT))
  return procs


def _main(workdir: Path, args: list[str]) -> list[str]:
  return [sys.executable, "-m", "deepseekmath_jax.main", f"--workdir={workdir}", *args]


def _wait(procs: list[subprocess.Popen], logs: Path, timeout: float = 300) -> None:
  for pid, p in enumerate(procs):
    rc = p.wait(timeout=timeout)
    assert rc == 0, f"process {pid} exited {rc}:\n" + Path(f"{logs}.{pid}.log").read_text()[-3000:]


def _records(workdir: Path) -> list[dict]:
  return [json.loads(l) for l in (workdir / "metrics.jsonl").read_text().splitlines()]


def _losses(workdir: Path, key: str = "loss") -> dict[int, float]:
  out = {}
  for r in _records(workdir):
    if key in r:
      assert r["step"] not in out, f"step {r['step']} written twice (only process 0 writes)"
      out[r["step"]] = r[key]
  return out


@pytest.fixture(scope="module")
def pretrain_runs(tmp_path_factory):
  """One process x 4 devices; two processes x 2 devices killed after step 6, then restarted."""
  from deepseekmath_jax import data as data_lib  # pylint: disable=g-import-not-at-top
  root = tmp_path_factory.mktemp("pretrain")
  one, two = root / "one", root / "two"
  # The tokenizer every run would train from the data, trained once here.
  config = tiny_config()
  data_lib.build_tokenizer(config.tokenizer, config.data, str(root))
  tokenizer = str(root / "tokenizer.model")
  args = PRETRAIN + [f"--config.tokenizer.path={tokenizer}"]
  ref = _start(_main(one, args + ["--config.data.num_shards=2"]), root / "one",
               processes=1, devices=4, cache=root / "cache1")
  first = _start(_main(two, args + ["--config.debug.kill_at_step=6"]), root / "two_a",
                 processes=2, devices=2, cache=root / "cache2")
  # The last process SIGKILLs itself after step 6; the survivor blocks in its next collective
  # (JAX would abort it after the heartbeat timeout); the job's manager stops it, as SLURM or
  # a JobSet does when one task of a job fails.
  assert first[1].wait(timeout=300) == -signal.SIGKILL
  time.sleep(2)
  if first[0].poll() is None:
    first[0].send_signal(signal.SIGKILL)
  first[0].wait(timeout=60)
  before_restart = _losses(two)
  checkpoints_at_kill = sorted(int(p.name) for p in (two / "checkpoints").iterdir())
  second = _start(_main(two, args), root / "two_b", processes=2, devices=2,
                  cache=root / "cache2")
  _wait(ref, root / "one")
  _wait(second, root / "two_b")
  return dict(one=one, two=two, before_restart=before_restart,
              checkpoints_at_kill=checkpoints_at_kill, logs=root, tokenizer=tokenizer)


def test_pretrain_two_processes_equal_one_process(pretrain_runs):
  ref = _losses(pretrain_runs["one"])
  before = pretrain_runs["before_restart"]
  assert sorted(ref) == list(range(1, 13))
  assert set(range(1, 7)) <= set(before)          # the uninterrupted part of the 2-process run
  for step, loss in before.items():
    assert loss == pytest.approx(ref[step], rel=LOSS_RTOL), step
  assert pretrain_runs["checkpoints_at_kill"] == [4]
  # Held-out loss: each process packs the whole eval set and evaluates its rows.
  evals_one = _losses(pretrain_runs["one"], "eval/loss")
  evals_two = _losses(pretrain_runs["two"], "eval/loss")
  assert sorted(evals_two) == sorted(evals_one) == [10, 12]
  for step in evals_one:
    assert evals_two[step] == pytest.approx(evals_one[step], rel=LOSS_RTOL)


def test_pretrain_resumes_after_sigkill_with_the_same_losses(pretrain_runs):
  ref, two = _losses(pretrain_runs["one"]), _losses(pretrain_runs["two"])
  assert sorted(two) == list(range(1, 13))        # steps 5-6 of the killed run were dropped
  for step in ref:
    assert two[step] == pytest.approx(ref[step], rel=LOSS_RTOL), step
  log = Path(f"{pretrain_runs['logs'] / 'two_b'}.0.log").read_text()
  assert "at step 4" in log and "resumed from" in log


def test_pretrain_checkpoint_and_metrics_written_once(pretrain_runs):
  two = pretrain_runs["two"]
  steps = sorted(int(p.name) for p in (two / "checkpoints").iterdir())
  assert steps == [4, 8, 12]
  last = two / "checkpoints" / "12"
  # One orbax checkpoint: each process wrote its own array shards and iterator state.
  assert sorted(p.name for p in (last / "params").glob("ocdbt.process_*")) == [
      "ocdbt.process_0", "ocdbt.process_1"]
  assert sorted(p.name for p in (last / "data_iter").glob("process_*")) == [
      "process_0-of-2.json", "process_1-of-2.json"]
  # Process 0 alone writes metrics: one TensorBoard event file per launch (killed + restart).
  assert len(list((two / "tensorboard").glob("events.out.tfevents.*"))) == 2


_RESTORE_CHILD = """
import json, sys
import jax
from deepseekmath_jax import checkpoint, main
main.initialize_distributed("auto")
sys.path.insert(0, "tests")
from trainer_multiprocess_test import tiny_setup
setup = tiny_setup(fsdp=-1)
step, items = checkpoint.Checkpointer(sys.argv[1], read_only=True).restore(
    setup.abstract_state)
embed = items["params"]["embed"]
state = {"params": items["params"], "opt": items["opt"]}
print(json.dumps(dict(step=step, fingerprints=checkpoint.tree_fingerprint(state),
                      embed_shards=len(embed.addressable_shards),
                      fully_addressable=embed.is_fully_addressable)))
"""


def tiny_config():
  """configs/pretrain.py:tiny as the runs here use it (12 steps)."""
  spec = importlib.util.spec_from_file_location("pretrain_config",
                                                REPO / "configs" / "pretrain.py")
  module = importlib.util.module_from_spec(spec)
  spec.loader.exec_module(module)
  config = module.get_config("tiny")
  config.total_steps = 12
  return config


def tiny_setup(fsdp: int = 1):
  """The tiny pretrain config's model and optimizer laid out on all devices (fsdp x data)."""
  from deepseekmath_jax import sharding  # pylint: disable=g-import-not-at-top
  from deepseekmath_jax.trainers import pretrain, train_lib  # pylint: disable=g-import-not-at-top
  config = tiny_config()
  config.mesh.data, config.mesh.fsdp = 1, fsdp
  jax.config.update("jax_threefry_partitionable", True)
  make_model = pretrain._make_model_fn(config)  # pylint: disable=protected-access
  return train_lib.setup_training(make_model, sharding.make_mesh(config.mesh),
                                  tuple(tuple(r) for r in config.axis_rules), config.opt,
                                  config.total_steps)


def test_checkpoint_reshards_between_two_processes_and_one_device(pretrain_runs, tmp_path):
  from deepseekmath_jax import checkpoint  # pylint: disable=g-import-not-at-top
  from deepseekmath_jax import data as data_lib  # pylint: disable=g-import-not-at-top
  assert jax.process_count() == 1 and jax.device_count() == 1
  setup = tiny_setup()
  two = pretrain_runs["two"]
  ckpt = checkpoint.Checkpointer(str(two / "checkpoints"))
  # The iterator state is per process: resuming the run on one process is refused clearly,
  # and the (good) checkpoint is not set aside as corrupt.
  config = tiny_config()
  config.tokenizer.path = pretrain_runs["tokenizer"]
  tokenizer = data_lib.build_tokenizer(config.tokenizer, config.data)
  iterator = data_lib.make_train_iterator(config.data, tokenizer, seed=0, batch_size=8,
                                          seq_len=64)
  with pytest.raises(checkpoint.ProcessLayoutError, match="process_0-of-2.json"):
    ckpt.restore(setup.abstract_state, data_iter=iterator)
  assert ckpt.all_steps() == [4, 8, 12]
  # 2 processes x 2 devices -> 1 device: restore verifies each array's fingerprint.
  step, items = ckpt.restore(setup.abstract_state)
  ckpt.close()
  assert step == 12
  state = {"params": items["params"], "opt": items["opt"]}
  ref_step, ref_items = checkpoint.Checkpointer(
      str(pretrain_runs["one"] / "checkpoints"), read_only=True).restore(setup.abstract_state)
  assert ref_step == 12
  for a, b in zip(jax.tree.leaves(state["params"]), jax.tree.leaves(ref_items["params"])):
    np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-4, atol=1e-5)

  # 1 device -> 2 processes x 2 devices with the parameters sharded over both (fsdp 4).
  single = checkpoint.Checkpointer(str(tmp_path / "single"), async_save=False)
  single.save(12, state)
  single.close()
  procs = [subprocess.Popen([sys.executable, "-c", _RESTORE_CHILD, str(tmp_path / "single")],
                            cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=_env(2, tmp_path / "cache", JAX_COORDINATOR_ADDRESS=addr,
                                     JAX_NUM_PROCESSES="2", JAX_PROCESS_ID=str(pid)))
           for addr in [f"localhost:{_free_port()}"] for pid in range(2)]
  outs = [p.communicate(timeout=180) for p in procs]
  for p, (out, err) in zip(procs, outs):
    assert p.returncode == 0, err[-3000:]
  results = [json.loads(out.strip().splitlines()[-1]) for out, _ in outs]
  expected = checkpoint.tree_fingerprint(state)
  for r in results:
    assert r["step"] == 12 and r["fingerprints"] == expected
    assert r["embed_shards"] == 2 and not r["fully_addressable"]


def test_grpo_two_processes_equal_one_process(tmp_path):
  one, two = tmp_path / "one", tmp_path / "two"
  ref = _start(_main(one, GRPO), tmp_path / "one", processes=1, devices=4,
               cache=tmp_path / "cache1")
  multi = _start(_main(two, GRPO), tmp_path / "two", processes=2, devices=2,
                 cache=tmp_path / "cache2")
  _wait(ref, tmp_path / "one")
  _wait(multi, tmp_path / "two")
  a, b = _records(one), _records(two)
  assert [r["step"] for r in a] == [r["step"] for r in b] == [1, 2, 3, 4]
  for x, y in zip(a, b):
    for key in ("reward_mean", "accuracy", "completion_length_mean", "completion_tokens",
                "num_loss_tokens", "questions_read"):
      assert x[key] == y[key], (x["step"], key)
    for key in ("loss", "kl", "grad_norm", "entropy"):
      assert y[key] == pytest.approx(x[key], rel=1e-4, abs=1e-9), (x["step"], key)
  assert sorted(int(p.name) for p in (two / "checkpoints").iterdir()) == [2, 4]


def test_fixed_num_shards_gives_the_same_global_batches_on_any_process_count(tmp_path):
  from deepseekmath_jax import data as data_lib  # pylint: disable=g-import-not-at-top
  config = tiny_config()
  tokenizer = data_lib.build_tokenizer(config.tokenizer, config.data, str(tmp_path))
  make = lambda shards, i, n, rows: data_lib.make_train_iterator(  # pylint: disable=g-long-lambda
      _with_shards(config.data, shards),
      tokenizer, seed=0, batch_size=rows, seq_len=64, process_index=i, process_count=n)
  one = make(2, 0, 1, 8)
  two = [make(0, i, 2, 4) for i in range(2)]
  for _ in range(4):
    batch = next(one)
    halves = [next(it) for it in two]
    for key in batch:
      np.testing.assert_array_equal(batch[key], np.concatenate([h[key] for h in halves]))
  with pytest.raises(ValueError, match="num_shards=3 is not a multiple of the 2 processes"):
    make(3, 0, 2, 4)
  with pytest.raises(ValueError, match="batch size 3 is not a multiple of the 2 shards"):
    make(2, 0, 1, 3)


def _with_shards(data_config, num_shards: int):
  data_config = data_config.copy_and_resolve_references()
  data_config.num_shards = num_shards
  return data_config
