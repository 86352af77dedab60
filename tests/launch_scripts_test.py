"""launch/: the scripts parse, and what they run works on this machine.

* every script passes `bash -n`;
* launch/slurm_task.sh, run once per task with the variables srun sets for a 2-task job
  (SLURM_JOB_ID, SLURM_STEP_NODELIST, SLURM_NTASKS, SLURM_PROCID, SLURM_LOCALID), makes
  main.py form a 2-process JAX runtime through JAX's own SLURM detection and train
  (its XLA GPU flags are parsed by this jaxlib too: an unknown flag would abort XLA);
* the worker command launch/tpu_pod.sh hands to `gcloud ... ssh --worker=all --command` and
  the one launch/xpk.sh hands to `xpk workload create --command` run main.py with the
  arguments as given. There is no cloud here: a `gcloud` / `xpk` executable first on PATH
  records its argv, and the recorded command is then run by bash.
"""

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
LAUNCH = REPO / "launch"
SCRIPTS = sorted(p for p in LAUNCH.iterdir() if p.suffix in (".sh", ".sbatch"))


def test_scripts_exist_and_parse():
  assert {p.name for p in SCRIPTS} >= {"slurm_gpu.sbatch", "slurm_task.sh", "tpu_pod.sh",
                                        "xpk.sh"}
  for script in SCRIPTS:
    result = subprocess.run(["bash", "-n", str(script)], capture_output=True, text=True)
    assert result.returncode == 0, f"{script.name}: {result.stderr}"
    assert os.access(script, os.X_OK), f"{script.name} is not executable"


def test_sbatch_script_runs_one_task_script_per_process():
  text = (LAUNCH / "slurm_gpu.sbatch").read_text()
  assert "#SBATCH --ntasks-per-node=8" in text and "#SBATCH --gpus-per-node=8" in text
  assert "srun" in text and "launch/slurm_task.sh" in text
  usage = subprocess.run(["bash", str(LAUNCH / "slurm_gpu.sbatch")], capture_output=True,
                         text=True)
  assert usage.returncode == 2 and "usage" in usage.stderr


def _free_port() -> int:
  with socket.socket() as s:
    s.bind(("localhost", 0))
    return s.getsockname()[1]


def _clean_env(**extra: str) -> dict[str, str]:
  env = {k: v for k, v in os.environ.items()
         if not k.startswith(("JAX_", "SLURM_", "DSM_")) and k != "XLA_FLAGS"}
  env.update(JAX_PLATFORMS="cpu", **extra)
  return env


def test_slurm_task_script_forms_a_two_process_jax_runtime(tmp_path):
  workdir = tmp_path / "run"
  port = _free_port()
  procs = []
  for task in range(2):
    # What srun sets for task `task` of a 2-task step on one node; JAX_COORDINATOR_PORT
    # replaces the port JAX derives from the job id, so that the test picks a free one.
    env = _clean_env(SLURM_JOB_ID="4242", SLURM_STEP_NODELIST="localhost", SLURM_NTASKS="2",
                     SLURM_PROCID=str(task), SLURM_LOCALID=str(task),
                     SLURM_STEP_NUM_NODES="1", JAX_COORDINATOR_PORT=str(port),
                     DSM_PYTHON=sys.executable,
                     XLA_FLAGS="--xla_force_host_platform_device_count=2")
    log = open(tmp_path / f"task{task}.log", "w")  # pylint: disable=consider-using-with
    procs.append(subprocess.Popen(
        ["bash", str(LAUNCH / "slurm_task.sh"), "configs/pretrain.py:tiny", str(workdir),
         "--config.total_steps=2", "--config.checkpoint_every=2", "--config.eval.every=0",
         "--config.metrics.peak_flops_per_s=1e12"],
        cwd=tmp_path, env=env, stdout=log, stderr=subprocess.STDOUT))
  for task, p in enumerate(procs):
    rc = p.wait(timeout=300)
    assert rc == 0, (tmp_path / f"task{task}.log").read_text()[-3000:]
  logs = [(tmp_path / f"task{t}.log").read_text() for t in range(2)]
  for task, log in enumerate(logs):
    assert f"task {task} of 2 (local {task})" in log
    assert f"jax.distributed: process {task} of 2" in log
  records = [json.loads(l) for l in (workdir / "metrics.jsonl").read_text().splitlines()]
  assert [r["step"] for r in records] == [1, 2]
  assert sorted(p.name for p in (workdir / "checkpoints" / "2" / "data_iter").glob("proc*")) == [
      "process_0-of-2.json", "process_1-of-2.json"]
  config = json.loads((workdir / "model_config.json").read_text())
  assert config["dtype"] == "bfloat16"


def _recorder(bin_dir: Path, name: str) -> Path:
  """An executable `name` that appends its argv (JSON) to bin_dir/<name>.calls."""
  bin_dir.mkdir(exist_ok=True)
  tool = bin_dir / name
  tool.write_text(f"#!{sys.executable}\nimport json, sys\n"
                  f"open({str(bin_dir / (name + '.calls'))!r}, 'a').write("
                  "json.dumps(sys.argv[1:]) + '\\n')\n")
  tool.chmod(0o755)
  return bin_dir / f"{name}.calls"


def _flag(argv: list[str], name: str) -> str:
  values = [a.split("=", 1)[1] for a in argv if a.startswith(f"--{name}=")]
  assert len(values) == 1, argv
  return values[0]


# An argument with a space and a quote must reach main.py intact: as the stage it fails the
# run at once with an error that quotes it back.
ODD_VALUE = "it's no stage"


def test_tpu_pod_script_runs_main_on_every_worker(tmp_path):
  calls = _recorder(tmp_path / "bin", "gcloud")
  env = _clean_env(PATH=f"{tmp_path / 'bin'}:{os.environ['PATH']}", TPU_NAME="dsm-v5p-128",
                   ZONE="us-east5-a", PROJECT="my-project")
  result = subprocess.run(["bash", str(LAUNCH / "tpu_pod.sh"), "configs/pretrain.py:tiny",
                           str(tmp_path / "run"), f"--config.stage={ODD_VALUE}"],
                          env=env, capture_output=True, text=True, timeout=60)
  assert result.returncode == 0, result.stderr
  (argv,) = [json.loads(l) for l in calls.read_text().splitlines()]
  assert argv[:5] == ["compute", "tpus", "tpu-vm", "ssh", "dsm-v5p-128"]
  assert "--worker=all" in argv and "--zone=us-east5-a" in argv
  command = _flag(argv, "command")
  # The worker's checkout is ~/deepseekmath_jax: here, a home whose checkout is this one.
  home = tmp_path / "home"
  home.mkdir()
  (home / "deepseekmath_jax").symlink_to(REPO)
  run = subprocess.run(["bash", "-c", command], env=_clean_env(HOME=str(home)),
                       capture_output=True, text=True, timeout=300)
  assert run.returncode != 0
  assert f"config.stage={ODD_VALUE!r}" in run.stdout + run.stderr
  assert (home / f"deepseekmath_{socket.gethostname()}.log").exists()


def test_xpk_script_creates_a_workload_running_main(tmp_path):
  calls = _recorder(tmp_path / "bin", "xpk")
  env = _clean_env(PATH=f"{tmp_path / 'bin'}:{os.environ['PATH']}", CLUSTER="dsm",
                   TPU_TYPE="v5p-256", IMAGE="gcr.io/p/dsm:1", NUM_SLICES="2")
  result = subprocess.run(["bash", str(LAUNCH / "xpk.sh"), "configs/grpo.py:tiny",
                           str(tmp_path / "run"), f"--config.stage={ODD_VALUE}"],
                          env=env, capture_output=True, text=True, timeout=60)
  assert result.returncode == 0, result.stderr
  (argv,) = [json.loads(l) for l in calls.read_text().splitlines()]
  assert argv[:2] == ["workload", "create"]
  assert _flag(argv, "tpu-type") == "v5p-256" and _flag(argv, "num-slices") == "2"
  assert _flag(argv, "docker-image") == "gcr.io/p/dsm:1"
  assert _flag(argv, "workload").startswith("dsm-grpo-")
  # The container's `python` is the one with the package installed.
  run = subprocess.run(["bash", "-c", _flag(argv, "command")], cwd=REPO,
                       env=_clean_env(PATH=f"{Path(sys.executable).parent}:{os.environ['PATH']}"),
                       capture_output=True, text=True, timeout=300)
  assert run.returncode != 0
  assert f"config.stage={ODD_VALUE!r}" in run.stdout + run.stderr


@pytest.mark.parametrize("script", ["tpu_pod.sh", "xpk.sh", "slurm_task.sh"])
def test_scripts_refuse_missing_settings(script, tmp_path):
  result = subprocess.run(["bash", str(LAUNCH / script), "configs/pretrain.py:tiny",
                           str(tmp_path / "run")], env=_clean_env(), capture_output=True,
                          text=True, timeout=60)
  assert result.returncode != 0
  assert any(word in result.stderr for word in ("TPU_NAME", "CLUSTER", "SLURM_JOB_ID"))
