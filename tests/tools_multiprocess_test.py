"""Tool-integrated GRPO as two JAX processes on this machine, the way a 2-host slice runs it.

The policy is the tool tests' "bigram" Transformer (tests/tools_fixtures.py) with two forks of
equal probability: after ```` ```python ```` it writes one of three programs (`print(6*7)`,
`print(2+3)`: `ok`; `print(1/0)`: `error`), and after the output block it either answers
`\\boxed{42}` or stops; the format reward (±0.1) makes the rewards, and so the advantages and
the loss, differ within groups. `configs/grpo.py:tiny` with tools runs 2 steps:

* as 1 process with 4 CPU devices, and as 2 processes with 2 devices each (loopback
  coordinator), started like `tests/trainer_multiprocess_test.py` does, through the real
  entrypoint (`deepseekmath_jax.main`);
* each process records what it saw by wrapping, not replacing, three functions: the rollouts
  `tool_rollout.generate_with_tools` returned (tokens, masks, tool statuses, outputs and
  seconds), the rewards `grpo.rewards_from_process_zero` returned, and how many `Sandbox`es it
  built and programs it ran through `Sandbox.run_batch`.

Checked: the three processes' rollouts and rewards are identical; the 2-process run's two
processes hold the same program seconds (wall-clock times, which no second run of the programs
would reproduce: process 1 received them); only process 0 built a sandbox and ran programs;
per-step metrics equal the 1-process run's: counts and rewards exactly, loss, KL, gradient norm
and entropy to 1e-4 relative plus 1e-9 absolute. The tolerance is that of the GRPO check in
tests/trainer_multiprocess_test.py, for the same reason: the runs differ only in how the
gradient all-reduce sums the devices' partial sums (float32 rounding, which Adam carries into
step 2), and the loss is a difference of nearly equal terms, so its relative rounding is
larger than the parameters'.

`tool_rollout.run_programs` alone, on 2 processes: a large non-ASCII output, an error, a
forbidden import and a timeout reach process 1 (which has no sandbox) as process 0 got them.

Run in its own pytest process (the Makefile's `*_multiprocess_test.py` line).
"""

import json
import subprocess
import sys
from pathlib import Path

import jax.numpy as jnp
import numpy as np
import pytest

from deepseekmath_jax.model import hf_io

import tools_fixtures as fx
from trainer_multiprocess_test import _env, _free_port, _records

REPO = Path(__file__).resolve().parents[1]
STEPS = 2

# The entrypoint under recording wrappers; argv[1] is where the record goes.
_CHILD = """
import json, sys
record_path = sys.argv.pop(1)
from absl import app
from deepseekmath_jax import main as entry
from deepseekmath_jax.rl import tool_rollout
from deepseekmath_jax.tools import sandbox as sandbox_lib
from deepseekmath_jax.trainers import grpo

record = dict(rollouts=[], rewards=[], sandboxes=0, programs_run=0)

def wrap(owner, name, after):
  inner = getattr(owner, name)
  def wrapper(*args, **kwargs):
    out = inner(*args, **kwargs)
    after(args, out)
    return out
  setattr(owner, name, wrapper)

def rollout(args, s):
  record["rollouts"].append(dict(
      tokens=s.tokens.tolist(), lengths=s.lengths.tolist(),
      model_token_mask=s.model_token_mask.tolist(),
      results=[[[[r.status, r.stdout, r.error, r.seconds] for r in rs] for rs in per_q]
               for per_q in s.tool_results]))

def sandbox_built(args, out):
  record["sandboxes"] += 1

def programs(args, out):
  record["programs_run"] += len(out)

wrap(tool_rollout, "generate_with_tools", rollout)
wrap(grpo, "rewards_from_process_zero",
     lambda args, r: record["rewards"].append(r.rewards.tolist()))
wrap(sandbox_lib.Sandbox, "__init__", sandbox_built)
wrap(sandbox_lib.Sandbox, "run_batch", programs)
try:
  app.run(entry.main, flags_parser=entry.parse_flags)
finally:
  with open(record_path, "w") as f:
    json.dump(record, f)
"""


# tool_rollout.run_programs alone, on 2 processes: process 0 runs, process 1 has no sandbox.
_RUN_PROGRAMS_CHILD = """
import dataclasses, json
import jax
from deepseekmath_jax import main
main.initialize_distributed("auto")
from deepseekmath_jax.rl import tool_rollout
from deepseekmath_jax.tools import Sandbox
box = Sandbox(num_workers=1, timeout_s=1.0) if jax.process_index() == 0 else None
batches = [["print('\\u00e9' * 3000)", "print(1/0)", "import os", "while True: pass"],
           ["print(2 + 3)"]]
out = [[dataclasses.asdict(r) for r in tool_rollout.run_programs(box, codes)]
       for codes in batches]
print(json.dumps(dict(results=out)))
"""


def test_run_programs_broadcasts_process_zero_results(tmp_path):
  """Large non-ASCII output (over the smallest buffer), an error, a forbidden import and a
  timeout arrive on process 1 exactly as process 0's sandbox gave them."""
  port = _free_port()
  procs = [subprocess.Popen(
      [sys.executable, "-c", _RUN_PROGRAMS_CHILD], cwd=REPO, stdout=subprocess.PIPE,
      stderr=subprocess.PIPE, text=True,
      env=_env(1, tmp_path / "cache", JAX_COORDINATOR_ADDRESS=f"localhost:{port}",
               JAX_NUM_PROCESSES="2", JAX_PROCESS_ID=str(pid))) for pid in range(2)]
  outs = [p.communicate(timeout=180) for p in procs]
  for p, (_, err) in zip(procs, outs):
    assert p.returncode == 0, err[-3000:]
  zero, one = [json.loads(out.strip().splitlines()[-1])["results"] for out, _ in outs]
  assert one == zero
  first, second = zero
  assert [r["status"] for r in first] == ["ok", "error", "forbidden", "timeout"]
  assert first[0]["stdout"] == "\u00e9" * 3000 + "\n"
  assert len(json.dumps(first)) > 4096
  assert [(r["status"], r["stdout"]) for r in second] == [("ok", "5\n")]


def _branching_policy(tok):
  """The fixtures' bigram model with two equal-probability forks (see module docstring)."""
  i = {s: fx.token(tok, s) for s in fx.SYMBOLS + ("\n",)}
  ok_42, error, ok_5 = i["print(6*7)\n"], i["print(1/0)\n"], i["print(2+3)\n"]
  model = fx.bigram_model(tok, {
      i[fx.OPEN]: ok_42, ok_42: i[fx.CLOSE], error: i[fx.CLOSE], ok_5: i[fx.CLOSE],
      i[fx.CLOSE]: i["\n"], i["\n"]: i[fx.ANSWER], i[fx.ANSWER]: tok.eos_id}, i[fx.OPEN])
  embed = np.asarray(model.embed[...])
  head = np.array(model.lm_head[...])
  for token, alternatives in ((i[fx.OPEN], (error, ok_5)), (i["\n"], (tok.eos_id,))):
    row = int(np.argmax(embed[token]))           # the token's one-hot slot
    head[row, list(alternatives)] = head[row].max()
  model.lm_head.set_value(jnp.asarray(head))
  return model


def _start(root: Path, name: str, args: list[str], *, processes: int,
           devices: int) -> list[subprocess.Popen]:
  port = _free_port()
  procs = []
  for pid in range(processes):
    extra = (dict(JAX_COORDINATOR_ADDRESS=f"localhost:{port}", JAX_NUM_PROCESSES=str(processes),
                  JAX_PROCESS_ID=str(pid)) if processes > 1 else {})
    log = open(root / f"{name}.{pid}.log", "w")  # pylint: disable=consider-using-with
    procs.append(subprocess.Popen(
        [sys.executable, "-c", _CHILD, str(root / f"{name}.{pid}.json"),
         f"--workdir={root / name}", *args],
        cwd=REPO, env=_env(devices, root / f"cache_{name}", **extra), stdout=log,
        stderr=subprocess.STDOUT))
  return procs


def _finish(root: Path, name: str, procs: list[subprocess.Popen]) -> list[dict]:
  for pid, p in enumerate(procs):
    rc = p.wait(timeout=300)
    assert rc == 0, f"{name} process {pid} exited {rc}:\n" + (
        root / f"{name}.{pid}.log").read_text()[-3000:]
  return [json.loads((root / f"{name}.{pid}.json").read_text()) for pid in range(len(procs))]


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
  root = tmp_path_factory.mktemp("tools_mp")
  tok = fx.tool_tokenizer(str(root / "tools"))                 # tools.model
  hf_io.save_hf_checkpoint(_branching_policy(tok), str(root / "hf"))
  args = ["--config=configs/grpo.py:tiny", f"--config.total_steps={STEPS}",
          f"--config.checkpoint_every={STEPS}", f"--config.init_from=hf:{root / 'hf'}",
          f"--config.model.vocab_size={tok.vocab_size}", "--config.tokenizer.kind=sentencepiece",
          f"--config.tokenizer.path={root / 'tools.model'}", "--config.grpo.tools.enabled=true",
          "--config.grpo.tools.max_tool_calls=1", "--config.grpo.tools.num_workers=1",
          "--config.rollout.max_new_tokens=40", "--config.reward.weights.format=0.1"]
  one = _start(root, "one", args, processes=1, devices=4)
  two = _start(root, "two", args, processes=2, devices=2)
  return dict(root=root, one=_finish(root, "one", one), two=_finish(root, "two", two))


def _without_seconds(rollouts: list[dict]) -> list[dict]:
  return [dict(r, results=[[[res[:3] for res in rs] for rs in per_q] for per_q in r["results"]])
          for r in rollouts]


def test_rollouts_and_rewards_are_the_same_on_every_process(runs):
  (one,), (two_0, two_1) = runs["one"], runs["two"]
  assert len(one["rollouts"]) == STEPS and len(one["rewards"]) == STEPS
  # The programs' wall-clock seconds come from process 0's sandbox: process 1 holds them too.
  assert two_1["rollouts"] == two_0["rollouts"]
  assert two_1["rewards"] == two_0["rewards"] == one["rewards"]
  assert _without_seconds(two_0["rollouts"]) == _without_seconds(one["rollouts"])
  # The forks were taken both ways, so the comparison covers distinct rollouts.
  statuses = [res[0] for r in one["rollouts"] for per_q in r["results"] for rs in per_q
              for res in rs]
  assert len(statuses) == STEPS * 16 and {"ok", "error"} == set(statuses)
  assert len({x for step in one["rewards"] for x in step}) > 1
  masks = np.asarray(one["rollouts"][0]["model_token_mask"])
  lengths = np.asarray(one["rollouts"][0]["lengths"])
  assert ((masks == 0) & (np.arange(masks.shape[-1]) < lengths[..., None])).any()


def test_only_process_zero_runs_programs(runs):
  (one,), (two_0, two_1) = runs["one"], runs["two"]
  calls = sum(1 for r in one["rollouts"] for per_q in r["results"] for rs in per_q for _ in rs)
  assert one["sandboxes"] == 1 and one["programs_run"] == calls == STEPS * 16
  assert two_0["sandboxes"] == 1 and two_0["programs_run"] == calls
  assert two_1["sandboxes"] == 0 and two_1["programs_run"] == 0


def test_two_processes_train_like_one(runs):
  root = runs["root"]
  a, b = _records(root / "one"), _records(root / "two")
  assert [r["step"] for r in a] == [r["step"] for r in b] == list(range(1, STEPS + 1))
  for x, y in zip(a, b):
    for key in ("reward_mean", "accuracy", "completion_length_mean", "completion_tokens",
                "num_loss_tokens", "tool_calls_per_sample", "tool_error_rate",
                "tool_output_tokens", "questions_read"):
      assert x[key] == y[key], (x["step"], key)
    for key in ("loss", "kl", "grad_norm", "entropy"):
      assert y[key] == pytest.approx(x[key], rel=1e-4, abs=1e-9), (x["step"], key)
  assert all(r["grad_norm"] > 0.0 for r in a) and a[-1]["kl"] > 0.0   # a real update
  assert sorted(int(p.name) for p in (root / "two" / "checkpoints").iterdir()) == [STEPS]
