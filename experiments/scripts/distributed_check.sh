#!/usr/bin/env bash
# Checks data-parallel `prunus train` under mpirun at the command line (the
# equivalence of N ranks and one process is tests/distributed/, `make dist-test`):
#   resume:  2 ranks stopped by SIGTERM inside epoch 2 agree on the step,
#            save one mid-epoch checkpoint and exit 143 (mpirun says 1);
#            `--resume` on 2 ranks ends with a
#            final.bin byte-identical to an uninterrupted 2-rank run's;
#   kill:    one rank killed (SIGKILL) mid-epoch: the other ranks and mpirun
#            stop within the collective timeout (PRUNUS_DIST_TIMEOUT=30 here)
#            with an error, not a hang;
#   freeze:  one rank stopped (SIGSTOP: alive, so mpirun notices nothing):
#            the other's next collective times out after PRUNUS_DIST_TIMEOUT
#            with one error naming it, and the run ends.
# LeNet on the 10,000 Fashion-MNIST (or MNIST) t10k images, 2 short epochs.
#
#   bash experiments/scripts/distributed_check.sh [path/to/prunus]
set -euo pipefail
cd "$(dirname "$0")/../.."
PRUNUS=${1:-build/prunus}
[ -x "$PRUNUS" ] || { echo "distributed_check: $PRUNUS not found; run make first" >&2; exit 1; }
command -v mpirun >/dev/null || { echo "distributed_check: mpirun not found (apt-get install openmpi-bin libopenmpi-dev)" >&2; exit 1; }

DATA=""
for dir in data/fashion-mnist /usr/share/datasets/fashion-mnist data/mnist ../shared/data/mnist; do
  if [ -f "$dir/t10k-images-idx3-ubyte.gz" ]; then DATA=$dir; break; fi
done
[ -n "$DATA" ] || { echo "distributed_check: no Fashion-MNIST or MNIST found; \`make deps\` installs Fashion-MNIST" >&2; exit 1; }

export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
export PRUNUS_DIST_TIMEOUT=30
MPIRUN=(mpirun --oversubscribe -np 2 -x OMP_WAIT_POLICY=passive -x PRUNUS_DIST_TIMEOUT)
WORK=$(mktemp -d /tmp/prunus_distributed_check.XXXXXX)
trap 'if [ -n "${PID:-}" ]; then kill -9 "$PID" 2>/dev/null || true; fi; rm -rf "$WORK"' EXIT
RUN=$WORK/run
ARGS=(--config experiments/configs/mnist_lenet.conf
      --set data.path="$DATA"
      --set data.train_files=t10k-images-idx3-ubyte.gz,t10k-labels-idx1-ubyte.gz
      --set data.val_files=t10k-images-idx3-ubyte.gz,t10k-labels-idx1-ubyte.gz
      --set data.augment=true --set train.epochs=2 --set train.threads=1
      --set out.dir="$RUN")

# start_run: a 2-rank run in the background; waits for the checkpoint after epoch 1, then a quarter epoch more.
start_run() {
  rm -rf "$RUN"
  "${MPIRUN[@]}" "$PRUNUS" train "${ARGS[@]}" >"$WORK/run.out" 2>"$WORK/run.err" &
  PID=$!
  while [ ! -f "$RUN/checkpoint.bin" ]; do
    kill -0 "$PID" 2>/dev/null || { cat "$WORK/run.err"; echo "distributed_check: the run ended early" >&2; exit 1; }
    sleep 0.5
  done
  sleep $(( $(awk -F, '$1=="train" && $2==1 {printf "%d", $9}' "$RUN/log.csv") / 4 + 1 ))
}

echo "== uninterrupted run, 2 ranks ($DATA)"
"${MPIRUN[@]}" "$PRUNUS" train "${ARGS[@]}" 2>/dev/null | grep -E '^train [0-9]|^final'
mv "$RUN/final.bin" "$WORK/uninterrupted.bin"

echo "== 2 ranks stopped by SIGTERM (sent to mpirun, which forwards it)"
start_run
kill -TERM "$PID"
status=0
wait "$PID" 2>/dev/null || status=$?
PID=""
# Each rank exits 143; mpirun itself, signalled, reports 1.
echo "mpirun exit status $status; what the ranks said (each once):"
grep -E '^prunus: stopped' "$WORK/run.err" | sed "s|$WORK|WORK|g" | sort | uniq -c
[ ! -f "$RUN/final.bin" ] || { echo "distributed_check: the run finished before the signal" >&2; exit 1; }
[ "$status" -ne 0 ] && [ "$(grep -E '^prunus: stopped' "$WORK/run.err" | sort -u | wc -l)" -eq 1 ] &&
  [ "$(grep -c -E '^prunus: stopped' "$WORK/run.err")" -eq 2 ] ||
  { cat "$WORK/run.err"; echo "distributed_check: FAIL (the ranks did not stop alike)" >&2; exit 1; }
echo "== resumed on 2 ranks"
"${MPIRUN[@]}" "$PRUNUS" train "${ARGS[@]}" --resume 2>/dev/null | grep -E '^resuming|^train [0-9]|^final' | sed "s|$WORK|WORK|g"
if cmp "$WORK/uninterrupted.bin" "$RUN/final.bin"; then
  echo "resume: PASS (final.bin identical, $(stat -c %s "$RUN/final.bin") bytes)"
else
  echo "distributed_check: FAIL (the resumed final.bin differs)" >&2
  exit 1
fi

echo "== one rank killed with SIGKILL mid-epoch"
start_run
rank=$(pgrep -P "$PID" -f "prunus train" | tail -1)
[ -n "$rank" ] || { echo "distributed_check: no rank process found under mpirun $PID" >&2; exit 1; }
killed_at=$(date +%s.%N)
kill -KILL "$rank"
status=0
wait "$PID" 2>/dev/null || status=$?
PID=""
seconds=$(echo "$(date +%s.%N) - $killed_at" | bc)
echo "mpirun exit status $status, $(printf '%.1f' "$seconds") s after the kill"
grep -E 'prunus: error|exited on signal|timed out|waited' "$WORK/run.err" | sort -u | head -3 | sed "s|$WORK|WORK|g"
[ "$status" -ne 0 ] || { echo "distributed_check: FAIL (mpirun reported success)" >&2; exit 1; }
if [ "$(echo "$seconds < 60" | bc)" = 1 ]; then echo "kill: PASS (stopped within 60 s)"; else echo "distributed_check: FAIL (took $seconds s)" >&2; exit 1; fi
echo "== one rank frozen with SIGSTOP mid-epoch (alive, so mpirun sees nothing: the collective timeout must act)"
start_run
rank=$(pgrep -P "$PID" -f "prunus train" | tail -1)
stopped_at=$(date +%s.%N)
kill -STOP "$rank"
status=0
wait "$PID" 2>/dev/null || status=$?
PID=""
seconds=$(echo "$(date +%s.%N) - $stopped_at" | bc)
kill -KILL "$rank" 2>/dev/null || true
echo "mpirun exit status $status, $(printf '%.1f' "$seconds") s after the freeze (PRUNUS_DIST_TIMEOUT=$PRUNUS_DIST_TIMEOUT)"
grep -E '^prunus: error' "$WORK/run.err" | head -1 | sed "s|$WORK|WORK|g"
[ "$status" -ne 0 ] && grep -q 'waited 30 s for the other ranks' "$WORK/run.err" ||
  { cat "$WORK/run.err"; echo "distributed_check: FAIL (no timeout error)" >&2; exit 1; }
if [ "$(echo "$seconds < 90" | bc)" = 1 ]; then echo "freeze: PASS (stopped within 90 s)"; else echo "distributed_check: FAIL (took $seconds s)" >&2; exit 1; fi
echo "distributed_check: PASS"
