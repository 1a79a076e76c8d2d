#!/usr/bin/env bash
# Runs every fuzz target in BUILD/fuzz/ for SECONDS each, from the seed corpus
# the tests wrote (BUILD/seeds/<target>/), and prints one line per target:
# executions, corpus size and findings (crash-, leak-, oom-, timeout- files).
# Exits 1 when any target found anything. Usage: run.sh BUILD SECONDS [TARGET...]
# The corpus grows in BUILD/corpus/<target>/ and is reused by the next run;
# logs and findings are in BUILD/fuzz-logs/<target>/.
set -uo pipefail
build=$1 seconds=$2
shift 2
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  for f in "$build"/fuzz/fuzz_*; do targets+=("$(basename "$f")"); done
fi
machine="$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //') ($(nproc) cores)"
echo "fuzzing ${#targets[@]} targets for ${seconds}s each on $machine, $(date -u +%Y-%m-%dT%H:%MZ)"
printf '%-18s %12s %10s %8s %s\n' target executions exec/s corpus findings
total_findings=0
for target in "${targets[@]}"; do
  corpus="$build/corpus/$target" logs="$build/fuzz-logs/$target"
  mkdir -p "$corpus" "$logs"
  rm -f "$logs"/crash-* "$logs"/leak-* "$logs"/oom-* "$logs"/timeout-*
  # -rss_limit_mb: an input that makes the parser take 2 GB is a finding (a missing size check).
  "$build/fuzz/$target" -max_total_time="$seconds" -rss_limit_mb=2048 -timeout=20 -print_final_stats=1 \
    -artifact_prefix="$logs/" "$corpus" "$build/seeds/$target" > "$logs/log.txt" 2>&1
  executions=$(grep -m1 'stat::number_of_executed_units' "$logs/log.txt" | awk '{print $2}')
  rate=$(grep -m1 'stat::average_exec_per_sec' "$logs/log.txt" | awk '{print $2}')
  findings=$(find "$logs" -name 'crash-*' -o -name 'leak-*' -o -name 'oom-*' -o -name 'timeout-*' | wc -l)
  if [ -z "$executions" ]; then findings=$((findings + 1)); executions="(stopped: see $logs/log.txt)"; fi
  total_findings=$((total_findings + findings))
  printf '%-18s %12s %10s %8s %s\n' "$target" "$executions" "${rate:--}" "$(ls "$corpus" | wc -l)" "$findings"
done
echo "findings in all: $total_findings"
[ "$total_findings" -eq 0 ]
