#!/usr/bin/env bash
# The CIFAR-10 / ResNet-20 experiments, one after the other (each resumable: re-running this script
# continues where it stopped, since `prunus prune` resumes at the first unfinished stage and
# `prunus train --resume` at the last finished epoch):
#   1. the full method to -50% FLOPs (its baseline is shared by the comparisons below)
#   2. the comparisons at equal FLOPs: slimming, swp, l1norm, full_plain_l1
#   3. the dense reference trained for the pipeline's whole 35 epochs
# On 2 quiet CPU cores ResNet-20 trains at about 800 images/s (about 1 minute an epoch): a 35-epoch run takes about 40 minutes.
#   bash experiments/scripts/run_cifar10_resnet20.sh [path/to/prunus]
set -euo pipefail
cd "$(dirname "$0")/../.."
PRUNUS=${1:-build/prunus}
[ -x "$PRUNUS" ] || { echo "run_cifar10_resnet20: $PRUNUS not found; run make first" >&2; exit 1; }
CONFIGS=experiments/configs

"$PRUNUS" prune --config $CONFIGS/cifar10_resnet20_prune.conf
for method in slimming swp l1norm full_plain_l1; do
  "$PRUNUS" prune --config $CONFIGS/cifar10_resnet20_prune_$method.conf
done
"$PRUNUS" train --config $CONFIGS/cifar10_resnet20_dense35.conf --resume

echo "== summaries"
for dir in runs/cifar10_resnet20_prune runs/cifar10_resnet20_prune_{slimming,swp,l1norm,full_plain_l1}; do
  echo "$dir: $(grep -E '"(flops_reduction|val_accuracy_change)"' "$dir/summary.json" | tr -d '\n ')"
done
echo "runs/cifar10_resnet20_dense35: $(grep -A2 '"final_val"' runs/cifar10_resnet20_dense35/summary.json | tr -d '\n ')"
