#!/bin/bash
# One SLURM task of launch/slurm_gpu.sbatch: the environment of one JAX process, then main.py.
#
#   slurm_task.sh CONFIG WORKDIR [--config.key=value ...]
#
# Reads SLURM_* (set by srun) and DSM_PROCESS_PER=gpu|node. Testable without a cluster: run it
# once per task with SLURM_JOB_ID, SLURM_STEP_NODELIST, SLURM_NTASKS, SLURM_PROCID and
# SLURM_LOCALID set (tests/launch_scripts_test.py does, with 2 tasks on one machine).
set -euo pipefail
if [[ $# -lt 2 ]]; then
  echo "usage: slurm_task.sh CONFIG WORKDIR [--config.key=value ...]" >&2
  exit 2
fi
CONFIG="$1"
WORKDIR="$2"
shift 2
REPO="${DSM_REPO:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}"
cd "$REPO"
PYTHON="${DSM_PYTHON:-$REPO/.venv/bin/python}"

for var in SLURM_JOB_ID SLURM_STEP_NODELIST SLURM_NTASKS SLURM_PROCID SLURM_LOCALID; do
  if [[ -z "${!var:-}" ]]; then
    echo "slurm_task.sh: $var is not set (run under srun)" >&2
    exit 2
  fi
done

# XLA GPU flags (all accepted by jaxlib 0.10.2; an unknown flag aborts XLA at start-up):
#   latency hiding scheduler    overlap collectives with compute
#   triton gemm off             cuBLAS for the bf16 matmuls
#   combine thresholds 128 MiB  fewer, larger all-gathers / reduce-scatters / all-reduces
#                               (FSDP gathers each layer's weights once per step)
#   pipelined collectives       start the next layer's gathers inside the scanned loop
#   while-loop double buffering overlap across iterations of the scanned layers
DEFAULT_XLA_FLAGS="--xla_gpu_enable_latency_hiding_scheduler=true
  --xla_gpu_enable_triton_gemm=false
  --xla_gpu_all_reduce_combine_threshold_bytes=134217728
  --xla_gpu_all_gather_combine_threshold_bytes=134217728
  --xla_gpu_reduce_scatter_combine_threshold_bytes=134217728
  --xla_gpu_enable_pipelined_all_gather=true
  --xla_gpu_enable_pipelined_reduce_scatter=true
  --xla_gpu_enable_pipelined_all_reduce=true
  --xla_gpu_enable_while_loop_double_buffering=true"
export XLA_FLAGS="${XLA_FLAGS:-} $(echo ${DSM_XLA_FLAGS:-$DEFAULT_XLA_FLAGS})"
# 90% of each GPU's memory to XLA's allocator (the rest for cuDNN/NCCL workspaces).
export XLA_PYTHON_CLIENT_MEM_FRACTION="${XLA_PYTHON_CLIENT_MEM_FRACTION:-0.9}"
export CUDA_DEVICE_MAX_CONNECTIONS="${CUDA_DEVICE_MAX_CONNECTIONS:-1}"

if [[ "${DSM_PROCESS_PER:-gpu}" == node ]]; then
  # JAX's SLURM detection gives each process the GPU of its SLURM_LOCALID; a process per node
  # drives all of the node's GPUs instead.
  count="${SLURM_GPUS_ON_NODE:-$(nvidia-smi -L 2>/dev/null | wc -l)}"
  export JAX_LOCAL_DEVICE_IDS="$(seq -s, 0 $((count - 1)))"
fi

# Compute in bfloat16 (parameters and optimizer moments stay in config.model.param_dtype);
# DSM_DTYPE= (empty) keeps the config's dtype, e.g. for a stage without a model.
DTYPE_FLAG=()
if [[ -n "${DSM_DTYPE-bfloat16}" ]]; then
  DTYPE_FLAG=(--config.model.dtype="${DSM_DTYPE-bfloat16}")
fi

echo "task $SLURM_PROCID of $SLURM_NTASKS (local $SLURM_LOCALID) on $(hostname): $CONFIG"
exec "$PYTHON" -m deepseekmath_jax.main --config="$CONFIG" --workdir="$WORKDIR" \
  --distributed=on "${DTYPE_FLAG[@]}" "$@"
