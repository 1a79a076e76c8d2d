#!/usr/bin/env bash
# `make bench`: CPU kernel and model benchmarks of prunus against PyTorch and
# OpenBLAS measured in the same run, printed as prunus/peer ratios.
#   run_bench.sh BUILD/prunus
# Environment:
#   BENCH_THREADS  threads for every side (default 2)
#   BENCH_ARGS     extra prunus_bench/peers.py options, e.g. "--quick" or "--only conv"
#   BENCH_OUT      directory for the CSV files (default: a fresh temporary directory)
# Benchmarks are not tests: numbers from a machine that is busy with other
# work are noisy; both sides take the best of several repetitions.
set -euo pipefail

if [ $# -ne 1 ]; then
  echo "usage: $0 BUILD/prunus   (normally run by 'make bench')" >&2
  exit 2
fi
here="$(cd "$(dirname "$0")" && pwd)"
build_dir="$(dirname "$1")"
bench="$build_dir/prunus_bench"
if [ ! -x "$bench" ]; then
  echo "run_bench.sh: $bench not found; build it with 'make bench' or 'make $bench'" >&2
  exit 1
fi
threads="${BENCH_THREADS:-2}"
extra=(${BENCH_ARGS:-})
out="${BENCH_OUT:-$(mktemp -d -t prunus-bench.XXXXXX)}"
mkdir -p "$out"
out="$(cd "$out" && pwd)"
bench="$(cd "$build_dir" && pwd)/prunus_bench"  # absolute: the bench runs from the repository root

# The peers run on Debian's python3 with python3-torch and numpy on OpenBLAS.
python=/usr/bin/python3
if ! "$python" -c 'import torch, numpy' 2>/dev/null; then
  echo "run_bench.sh: installing python3-torch, python3-numpy and libopenblas0 (Debian packages)"
  if [ "$(id -u)" = 0 ]; then sudo=; else sudo=sudo; fi
  $sudo apt-get install -y python3-torch python3-numpy libopenblas0
fi

# The pruned-models group times the committed compact models against their dense architectures.
compact=()
while IFS= read -r file; do compact+=(--compact "$file"); done < <(
  cd "$here/../.." && find experiments/results -name compact.bin -not -path '*superseded*' | sort)

echo "== prunus ($bench, $threads threads)"
"$bench" --list-shapes "${extra[@]}" > "$out/shapes.csv"
(cd "$here/../.." && "$bench" --threads "$threads" --csv "$out/prunus.csv" "${compact[@]}" "${extra[@]}")

echo
echo "== peers (PyTorch, OpenBLAS through numpy; $threads threads)"
# OpenBLAS picks its kernels from the CPU it finds: do not let a forced core
# type or cache size from the environment pick them for it.
env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE \
  "$python" "$here/peers.py" --shapes "$out/shapes.csv" --threads "$threads" --csv "$out/peers.csv" "${extra[@]}"

"$python" "$here/compare.py" "$out/prunus.csv" "$out/peers.csv"
echo
echo "CSV files: $out"
