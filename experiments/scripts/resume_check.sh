#!/usr/bin/env bash
# Checks that an interrupted `prunus train` loses nothing: trains LeNet for 3
# short epochs once straight through, then twice more, stopped in the middle
# of epoch 2 (after the first checkpoint) by
#   SIGTERM: prunus finishes the step, saves a mid-epoch checkpoint, exits 143
#            with one line saying how to continue;
#   SIGKILL: nothing can be saved; the checkpoint after epoch 1 remains;
# resumes each with --resume and compares final.bin with the uninterrupted
# run's, byte for byte. Last, a run with lr 1e6 must stop with one sentence
# and leave a model that `prunus info` loads.
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

source experiments/scripts/lenet_t10k.sh
WORK=$(mktemp -d /tmp/prunus_resume_check.XXXXXX)
trap 'if [ -n "${PID:-}" ]; then kill -9 "$PID" 2>/dev/null || true; fi; rm -rf "$WORK"' EXIT  # never kill 0: that is the whole process group
RUN=$WORK/run
lenet_t10k_args resume_check "$RUN" 3 2
ARGS=("${LENET_ARGS[@]}")
DATA=$LENET_DATA

echo "== uninterrupted run ($DATA)"
"$PRUNUS" train "${ARGS[@]}" 2>/dev/null | grep -E '^train [0-9]|^final'
mv "$RUN/final.bin" "$WORK/uninterrupted.bin"
rm -rf "$RUN"

# interrupt_and_resume SIGNAL: the interrupted run, its resume and the byte comparison.
interrupt_and_resume() {
  local signal=$1
  rm -rf "$RUN"
  echo "== run stopped by SIG$signal"
  "$PRUNUS" train "${ARGS[@]}" >"$WORK/interrupted.out" 2>"$WORK/interrupted.err" &
  PID=$!
  while [ ! -f "$RUN/checkpoint.bin" ]; do
    kill -0 "$PID" 2>/dev/null || { cat "$WORK/interrupted.err"; echo "resume_check: the run ended early" >&2; exit 1; }
    sleep 0.5
  done
  # The first checkpoint is written after epoch 1 (its log line just before):
  # let a quarter of an epoch pass, so the signal lands inside epoch 2's training.
  local first_epoch_seconds
  first_epoch_seconds=$(awk -F, '$1=="train" && $2==1 {printf "%d", $9}' "$RUN/log.csv")
  sleep $(( first_epoch_seconds / 4 + 1 ))
  kill -"$signal" "$PID"
  local status=0
  wait "$PID" 2>/dev/null || status=$?
  PID=""
  [ ! -f "$RUN/final.bin" ] || { echo "resume_check: the run finished before the signal" >&2; exit 1; }
  echo "exit status $status"
  if [ "$signal" = TERM ]; then
    [ "$status" -eq 143 ] || { cat "$WORK/interrupted.err"; echo "resume_check: expected exit status 143" >&2; exit 1; }
    grep -v 'stop requested' "$WORK/interrupted.err" | grep -E '^prunus: ' | sed "s|$WORK|WORK|g"
    "$PRUNUS" info --checkpoint "$RUN/checkpoint.bin" | grep -m1 -i 'training state' | sed "s|$WORK|WORK|g" || true
  else
    echo "killed during epoch $(( $(grep -c '^train,' "$RUN/log.csv") + 1 )) (checkpoint after epoch $(grep -c '^train,' "$RUN/log.csv") present)"
  fi
  if ls "$RUN"/*.tmp >/dev/null 2>&1; then echo "temporary files left: $(ls "$RUN"/*.tmp)"; else echo "no temporary files left"; fi
  echo "== resumed"
  "$PRUNUS" train "${ARGS[@]}" --resume 2>/dev/null | grep -E '^resuming|^train [0-9]|^final' | sed "s|$WORK|WORK|g"
  if cmp "$WORK/uninterrupted.bin" "$RUN/final.bin"; then
    echo "SIG$signal: PASS (final.bin identical, $(stat -c %s "$RUN/final.bin") bytes)"
  else
    echo "SIG$signal: FAIL (final.bin differs)" >&2
    exit 1
  fi
}

interrupt_and_resume TERM
interrupt_and_resume KILL

echo "== diverging run (train.lr=1e6)"
rm -rf "$RUN"
status=0
"$PRUNUS" train "${ARGS[@]}" --set train.lr=1e6 >/dev/null 2>"$WORK/diverged.err" || status=$?
sed "s|$WORK|WORK|g" "$WORK/diverged.err"
echo "exit status $status, $(wc -l < "$WORK/diverged.err") line(s) on stderr"
[ "$status" -eq 1 ] && [ "$(wc -l < "$WORK/diverged.err")" -eq 1 ] || { echo "resume_check: FAIL (divergence)" >&2; exit 1; }
"$PRUNUS" info --checkpoint "$RUN/diverged.bin" > "$WORK/diverged_info.txt" || { echo "resume_check: FAIL (diverged.bin does not load)" >&2; exit 1; }
echo "prunus info --checkpoint WORK/run/diverged.bin: rc 0, $(grep -c . "$WORK/diverged_info.txt") lines"
echo "resume_check: PASS"
