#!/bin/bash
# A trainer on a Cloud TPU VM pod slice: main.py on every worker host at once.
#
#   TPU_NAME=dsm-v5p-128 ZONE=us-east5-a PROJECT=my-project DSM_SETUP=1 \
#     launch/tpu_pod.sh configs/pretrain.py:deepseekmath_7b /mnt/runs/pt_7b \
#     --config.init_from=hf:/mnt/models/deepseek-coder-v1.5-7b
#
# Arguments: CONFIG WORKDIR [--config.key=value ...]. WORKDIR must be one directory every
# worker sees at the same path (a Filestore/NFS mount, or a bucket mounted with gcsfuse):
# checkpoints are written by all hosts together, metrics and the tokenizer by host 0.
#
# DSM_SETUP=1 first copies this checkout to ~/deepseekmath_jax on every worker and installs it
# with jax[tpu] into ~/deepseekmath_jax/.venv (once per slice, or after a code change).
# main.py then calls jax.distributed.initialize(), which finds the slice's hosts by itself
# (TPU_WORKER_HOSTNAMES on each VM). Each host's log goes to ~/deepseekmath_<host>.log there
# and to this terminal. DSM_LIBTPU_INIT_ARGS, when set, is exported as LIBTPU_INIT_ARGS.
set -euo pipefail
if [[ $# -lt 2 ]]; then
  echo "usage: TPU_NAME=... ZONE=... [PROJECT=...] launch/tpu_pod.sh CONFIG WORKDIR [--config.k=v ...]" >&2
  exit 2
fi
: "${TPU_NAME:?set TPU_NAME (the TPU VM slice)}"
: "${ZONE:?set ZONE (the zone of the slice)}"
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
GCLOUD=(gcloud compute tpus tpu-vm)
TARGET=("$TPU_NAME" --zone="$ZONE" ${PROJECT:+--project="$PROJECT"} --worker=all)
JAX_VERSION="$(sed -n 's/.*"jax==\([0-9.]*\)".*/\1/p' "$REPO/setup.py")"

if [[ "${DSM_SETUP:-0}" == 1 ]]; then
  archive="$(mktemp -d)/deepseekmath_jax.tar.gz"
  tar -C "$REPO" -czf "$archive" --exclude=./.venv --exclude='./.venv-*' --exclude=./runs \
    --exclude=.git .
  "${GCLOUD[@]}" scp "$archive" "${TARGET[0]}:~/" "${TARGET[@]:1}"
  "${GCLOUD[@]}" ssh "${TARGET[@]}" --command="set -e
    mkdir -p ~/deepseekmath_jax && tar -C ~/deepseekmath_jax -xzf ~/deepseekmath_jax.tar.gz
    cd ~/deepseekmath_jax && python3 -m venv .venv
    .venv/bin/pip install --quiet --upgrade pip
    .venv/bin/pip install --quiet -e . 'jax[tpu]==$JAX_VERSION'"
fi

# The command each worker runs, with every argument quoted for its shell.
run="set -o pipefail; cd ~/deepseekmath_jax &&"
if [[ -n "${DSM_LIBTPU_INIT_ARGS:-}" ]]; then
  run+=" LIBTPU_INIT_ARGS=$(printf '%q' "$DSM_LIBTPU_INIT_ARGS")"
fi
run+=" .venv/bin/python -m deepseekmath_jax.main"
for arg in --config="$1" --workdir="$2" "${@:3}"; do
  run+=" $(printf '%q' "$arg")"
done
run+=" 2>&1 | tee -a ~/deepseekmath_\$(hostname).log"
echo "on every worker of $TPU_NAME: $run"
exec "${GCLOUD[@]}" ssh "${TARGET[@]}" --command="$run"
