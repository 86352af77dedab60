"""Multi-process start-up: `--distributed` and two real JAX processes on this machine."""

import os
import socket
import subprocess
import sys
from pathlib import Path

from deepseekmath_jax import main

REPO = Path(__file__).resolve().parents[1]

_CHILD = """
import jax
from deepseekmath_jax import main
assert main.initialize_distributed("auto")
print("process", jax.process_index(), "of", jax.process_count(), "devices", jax.device_count())
"""


def test_multi_process_environment_detection():
  assert not main.multi_process_environment({})
  assert not main.multi_process_environment({"SLURM_NTASKS": "1", "TPU_WORKER_HOSTNAMES": "a"})
  assert main.multi_process_environment({"SLURM_NTASKS": "4"})
  assert main.multi_process_environment({"OMPI_COMM_WORLD_SIZE": "2"})
  assert main.multi_process_environment({"TPU_WORKER_HOSTNAMES": "host-0,host-1"})
  assert main.multi_process_environment({"JAX_COORDINATOR_ADDRESS": "10.0.0.1:1234"})
  assert not main.initialize_distributed("off", {"SLURM_NTASKS": "4"})
  assert not main.initialize_distributed("auto", {})


def test_two_processes_form_one_jax_runtime():
  with socket.socket() as s:
    s.bind(("localhost", 0))
    port = s.getsockname()[1]
  procs = []
  for pid in range(2):
    env = dict(os.environ, JAX_COORDINATOR_ADDRESS=f"localhost:{port}", JAX_NUM_PROCESSES="2",
               JAX_PROCESS_ID=str(pid), JAX_PLATFORMS="cpu")
    procs.append(subprocess.Popen([sys.executable, "-c", _CHILD], cwd=REPO, env=env,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
  outs = [p.communicate(timeout=120) for p in procs]
  for p, (out, err) in zip(procs, outs):
    assert p.returncode == 0, err[-2000:]
  assert sorted(o.strip() for o, _ in outs) == ["process 0 of 2 devices 2",
                                                "process 1 of 2 devices 2"]
