"""A 7B stage compiled ahead of time for a TPU pod fits in HBM (experiments/aot_compile.py).

The script runs in a subprocess with the TPU venv's python (`make install-tpu` builds
.venv-tpu with the `tpu_aot` extra, i.e. libtpu); this pytest process never imports libtpu,
so its jax keeps the CPU backend. `make test` runs this file in its own pytest process.
`AOT_PYTHON` overrides the interpreter.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
AOT_PYTHON = os.environ.get("AOT_PYTHON", str(REPO / ".venv-tpu" / "bin" / "python"))
SCRIPT = "experiments/aot_compile.py"
GiB = 1 << 30


def _run(python: str, *args: str, timeout: float) -> subprocess.CompletedProcess:
  env = {k: v for k, v in os.environ.items() if k != "JAX_PLATFORMS"}
  return subprocess.run([python, SCRIPT, *args], cwd=REPO, env=env, capture_output=True,
                        text=True, timeout=timeout, check=False)


def _aot_python() -> str:
  if not os.path.exists(AOT_PYTHON):
    pytest.fail(f"{AOT_PYTHON} does not exist: build the TPU venv with `make install-tpu` "
                f"(or set AOT_PYTHON to a python with `pip install -e '.[tpu_aot]'`)")
  return AOT_PYTHON


def test_sft_7b_compiles_for_v5p_256_and_fits(tmp_path):
  out = tmp_path / "sft_v5p-256.json"
  proc = _run(_aot_python(), "--config=configs/sft.py:deepseekmath_7b", "--topology=v5p-256",
              f"--output={out}", timeout=900)
  assert proc.returncode == 0, proc.stderr[-3000:]
  assert "[aot] train_step:" in proc.stdout          # the progress line
  report = json.loads(out.read_text())
  assert report["stage"] == "sft" and report["topology"] == "v5p-256"
  assert report["num_devices"] == 128 and report["device_kind"] == "TPU v5"
  assert report["mesh"] == {"data": 1, "fsdp": 128, "tensor": 1}
  step = report["programs"]["train_step"]
  assert step["peak_bytes_per_device"] == (step["argument_bytes"] + step["output_bytes"]
                                           + step["temp_bytes"] - step["alias_bytes"])
  # The state really is sharded: float32 params + two Adam moments of 6,910,365,696
  # parameters over 128 devices, about 648 MB each (replicated it would be 83 GB).
  state_bytes = 6_910_365_696 * 4 * 3 / 128
  assert 0.95 * state_bytes <= step["argument_bytes"] <= 1.1 * state_bytes
  assert step["alias_bytes"] >= 0.95 * state_bytes    # the donated state is updated in place
  assert step["flops"] > 0
  hbm = report["hbm_bytes_per_device"]
  assert hbm == 95 * GiB
  assert step["total_bytes_per_device"] <= 0.9 * hbm
  assert step["fits"] and report["fits"]


def test_unknown_topology_is_a_clear_error():
  proc = _run(_aot_python(), "--config=configs/sft.py:deepseekmath_7b", "--topology=v5p-12",
              timeout=300)
  assert proc.returncode != 0
  assert "--topology='v5p-12' is not a known TPU slice" in proc.stderr
  assert "v5p-256" in proc.stderr and "v5e-256" in proc.stderr


def test_missing_libtpu_is_a_clear_error():
  """The main venv has no libtpu: the script says how to get it."""
  proc = _run(sys.executable, "--config=configs/sft.py:deepseekmath_7b", "--topology=v5p-256",
              timeout=300)
  assert proc.returncode != 0
  assert "libtpu is not installed" in proc.stderr and "tpu_aot" in proc.stderr
