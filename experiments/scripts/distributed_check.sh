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

source experiments/scripts/lenet_t10k.sh
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
export PRUNUS_DIST_TIMEOUT=30
MPIRUN=(mpirun --oversubscribe -np 2 -x OMP_WAIT_POLICY=passive -x PRUNUS_DIST_TIMEOUT)
WORK=$(mktemp -d /tmp/prunus_distributed_check.XXXXXX)
trap 'if [ -n "${PID:-}" ]; then kill -9 "$PID" 2>/dev/null || true; fi; rm -rf "$WORK"' EXIT
RUN=$WORK/run
lenet_t10k_args distributed_check "$RUN" 2 1
ARGS=("${LENET_ARGS[@]}")
DATA=$LENET_DATA

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

# stop_one_rank SIGNAL WHAT LIMIT: a 2-rank run with one rank sent SIGNAL mid-epoch must end within LIMIT
# seconds with a non-zero status; prints how long it took and the first error.
stop_one_rank() {
  local signal=$1 what=$2 limit=$3 rank status=0 since seconds
  start_run
  rank=$(pgrep -P "$PID" -f "prunus train" | tail -1)
  [ -n "$rank" ] || { echo "distributed_check: no rank process found under mpirun $PID" >&2; exit 1; }
  since=$(date +%s.%N)
  kill -"$signal" "$rank"
  wait "$PID" 2>/dev/null || status=$?
  PID=""
  seconds=$(echo "$(date +%s.%N) - $since" | bc)
  kill -KILL "$rank" 2>/dev/null || true
  echo "mpirun exit status $status, $(printf '%.1f' "$seconds") s after the $what"
  grep -E 'prunus: error|exited on signal' "$WORK/run.err" | sort -u | head -2 | sed "s|$WORK|WORK|g"
  [ "$status" -ne 0 ] || { echo "distributed_check: FAIL (mpirun reported success)" >&2; exit 1; }
  [ "$(echo "$seconds < $limit" | bc)" = 1 ] || { echo "distributed_check: FAIL (took $seconds s)" >&2; exit 1; }
}

echo "== one rank killed with SIGKILL mid-epoch"
stop_one_rank KILL kill 60
echo "kill: PASS (stopped within 60 s)"
echo "== one rank frozen with SIGSTOP mid-epoch (alive, so mpirun sees nothing: the collective timeout must act)"
stop_one_rank STOP "freeze (PRUNUS_DIST_TIMEOUT=$PRUNUS_DIST_TIMEOUT)" 90
grep -q 'waited 30 s for the other ranks' "$WORK/run.err" ||
  { cat "$WORK/run.err"; echo "distributed_check: FAIL (no timeout error)" >&2; exit 1; }
echo "freeze: PASS (stopped within 90 s)"
echo "distributed_check: PASS"
