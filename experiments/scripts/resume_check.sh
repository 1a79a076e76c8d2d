#!/usr/bin/env bash
# Checks that `prunus train --resume` gives the same model as an uninterrupted
# run: trains LeNet for 3 short epochs once straight through, then again while
# killing the process with SIGKILL in the middle of epoch 2 (after the first
# checkpoint), resumes it, and compares the two final.bin files byte for byte.
#
#   bash experiments/scripts/resume_check.sh [path/to/prunus]
#
# Data: Fashion-MNIST from /usr/share/datasets/fashion-mnist (`make deps`), or
# MNIST in data/mnist or ../shared/data/mnist. Only the 10,000 t10k images are
# used (for training and validation), so it takes a few minutes on 2 cores.
set -euo pipefail
cd "$(dirname "$0")/../.."
PRUNUS=${1:-build/prunus}
[ -x "$PRUNUS" ] || { echo "resume_check: $PRUNUS not found; run make first" >&2; exit 1; }

DATA=""
for dir in data/fashion-mnist /usr/share/datasets/fashion-mnist data/mnist ../shared/data/mnist; do
  if [ -f "$dir/t10k-images-idx3-ubyte.gz" ]; then DATA=$dir; break; fi
done
[ -n "$DATA" ] || { echo "resume_check: no Fashion-MNIST or MNIST found; \`make deps\` installs Fashion-MNIST" >&2; exit 1; }

WORK=$(mktemp -d /tmp/prunus_resume_check.XXXXXX)
trap 'kill -9 "${PID:-0}" 2>/dev/null || true; rm -rf "$WORK"' EXIT
RUN=$WORK/run
ARGS=(--config experiments/configs/mnist_lenet.conf
      --set data.path="$DATA"
      --set data.train_files=t10k-images-idx3-ubyte.gz,t10k-labels-idx1-ubyte.gz
      --set data.val_files=t10k-images-idx3-ubyte.gz,t10k-labels-idx1-ubyte.gz
      --set data.augment=true --set train.epochs=3 --set train.threads=2
      --set out.dir="$RUN")

echo "== uninterrupted run ($DATA)"
"$PRUNUS" train "${ARGS[@]}" 2>/dev/null | grep -E '^train [0-9]|^final'
mv "$RUN/final.bin" "$WORK/uninterrupted.bin"
rm -rf "$RUN"

echo "== interrupted run"
"$PRUNUS" train "${ARGS[@]}" >"$WORK/interrupted.log" 2>&1 &
PID=$!
while [ ! -f "$RUN/checkpoint.bin" ]; do
  kill -0 "$PID" 2>/dev/null || { cat "$WORK/interrupted.log"; echo "resume_check: the run ended early" >&2; exit 1; }
  sleep 0.5
done
# The first checkpoint is written after epoch 1 (its log line just before):
# let a quarter of an epoch pass, so the kill lands inside epoch 2's training.
FIRST_EPOCH_SECONDS=$(awk -F, '$1=="train" && $2==1 {printf "%d", $9}' "$RUN/log.csv")
sleep $(( FIRST_EPOCH_SECONDS / 4 + 1 ))
kill -9 "$PID"
wait "$PID" 2>/dev/null || true
PID=""
[ ! -f "$RUN/final.bin" ] || { echo "resume_check: the run finished before it was killed" >&2; exit 1; }
DONE=$(grep -c '^train,' "$RUN/log.csv")
echo "killed with SIGKILL during epoch $((DONE + 1)) (checkpoint after epoch $DONE present)"

echo "== resumed run"
"$PRUNUS" train "${ARGS[@]}" --resume 2>/dev/null | grep -E '^resuming|^train [0-9]|^final'

if cmp "$WORK/uninterrupted.bin" "$RUN/final.bin"; then
  echo "resume_check: PASS (final.bin identical, $(stat -c %s "$RUN/final.bin") bytes)"
else
  echo "resume_check: FAIL (final.bin differs)" >&2
  exit 1
fi
