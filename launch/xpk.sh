#!/bin/bash
# A trainer as an xpk workload (a JobSet on a GKE cluster of TPU slices).
#
#   IMAGE=us-docker.pkg.dev/my-project/dsm/deepseekmath_jax:latest \
#     docker build -f launch/Dockerfile.tpu -t "$IMAGE" . && docker push "$IMAGE"
#   CLUSTER=dsm-v5p PROJECT=my-project ZONE=us-east5-a TPU_TYPE=v5p-256 \
#   IMAGE=us-docker.pkg.dev/my-project/dsm/deepseekmath_jax:latest \
#     launch/xpk.sh configs/grpo.py:deepseekmath_7b /mnt/runs/grpo_7b \
#     --config.init_from=/mnt/runs/sft_7b
#
# Arguments: CONFIG WORKDIR [--config.key=value ...]. WORKDIR must be a volume every pod mounts
# at the same path (Filestore, or a bucket through the GCS FUSE CSI driver). GKE sets
# TPU_WORKER_HOSTNAMES in each pod, so main.py's jax.distributed auto-detection forms the
# runtime. A pod failure restarts the whole JobSet (MAX_RESTARTS), which resumes from the
# workdir's last checkpoint.
#
# Knobs: NUM_SLICES (1), WORKLOAD (dsm-<stage>-<time>), MAX_RESTARTS (3), PRIORITY (medium),
# DSM_LIBTPU_INIT_ARGS (exported as LIBTPU_INIT_ARGS).
set -euo pipefail
if [[ $# -lt 2 ]]; then
  echo "usage: CLUSTER=... TPU_TYPE=... IMAGE=... launch/xpk.sh CONFIG WORKDIR [--config.k=v ...]" >&2
  exit 2
fi
: "${CLUSTER:?set CLUSTER (the GKE cluster xpk created)}"
: "${TPU_TYPE:?set TPU_TYPE (e.g. v5p-256)}"
: "${IMAGE:?set IMAGE (built from launch/Dockerfile.tpu and pushed)}"
stage="$(basename "${1%%:*}" .py)"
WORKLOAD="${WORKLOAD:-dsm-${stage//_/-}-$(date +%m%d-%H%M)}"

command="python -m deepseekmath_jax.main"
for arg in --config="$1" --workdir="$2" "${@:3}"; do
  command+=" $(printf '%q' "$arg")"
done
if [[ -n "${DSM_LIBTPU_INIT_ARGS:-}" ]]; then
  command="LIBTPU_INIT_ARGS=$(printf '%q' "$DSM_LIBTPU_INIT_ARGS") $command"
fi
echo "workload $WORKLOAD on $CLUSTER ($TPU_TYPE x ${NUM_SLICES:-1}): $command"
exec xpk workload create --cluster="$CLUSTER" --workload="$WORKLOAD" \
  --tpu-type="$TPU_TYPE" --num-slices="${NUM_SLICES:-1}" --docker-image="$IMAGE" \
  --max-restarts="${MAX_RESTARTS:-3}" --priority="${PRIORITY:-medium}" \
  ${PROJECT:+--project="$PROJECT"} ${ZONE:+--zone="$ZONE"} --command="$command"
