#!/usr/bin/env bash
# Throughput of data-parallel training on one machine: ResNet-20 on CIFAR-10
# data_batch_1 (10,000 images, augmented, batch 128), one epoch each, as
#   1 process x 1 thread, 1 process x 2 threads, 2 ranks x 1 thread (mpirun),
# and the time the ranks spent in collectives. Run it on an otherwise idle machine.
#   bash experiments/scripts/distributed_scaling.sh [path/to/prunus] > experiments/results/distributed/scaling.txt
set -euo pipefail
cd "$(dirname "$0")/../.."
PRUNUS=${1:-build/prunus}
DATA=../shared/data/cifar-10-batches-bin
[ -f "$DATA/data_batch_1.bin" ] || { echo "distributed_scaling: CIFAR-10 not found in $DATA" >&2; exit 1; }
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMP_WAIT_POLICY=passive
WORK=$(mktemp -d /tmp/prunus_scaling.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
ARGS=(--config experiments/configs/cifar10_resnet20.conf --set data.path="$DATA"
      --set data.train_files=data_batch_1.bin --set data.val_files=data_batch_5.bin --set data.test_files=
      --set train.epochs=1 --set train.warmup_epochs=0)
echo "machine: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(nproc) cores," \
     "$(grep -o -m1 -w avx512f /proc/cpuinfo || echo no-avx512); $(git rev-parse --short HEAD); $(date -u +%Y-%m-%dT%H:%MZ)"
run() {
  local label=$1; shift
  local line
  line=$("$@" "${ARGS[@]}" --set out.dir="$WORK/$label" --overwrite 2>/dev/null | grep '^train 1/1')
  printf '%-26s %s\n' "$label" "$(echo "$line" | grep -o '[0-9]* img/s.*')"
}
run "1 process x 1 thread" "$PRUNUS" train --set train.threads=1
run "1 process x 2 threads" "$PRUNUS" train --set train.threads=2
run "2 ranks x 1 thread" mpirun --oversubscribe -np 2 -x OMP_WAIT_POLICY "$PRUNUS" train --set train.threads=1
