#!/usr/bin/env bash
# The GPU check, for a machine with an NVIDIA GPU (written for an H100):
# builds with CUDA=1 CUDNN=1, runs prunus_gpu_tests (every CUDA kernel against
# the CPU reference), runs prunus_gpu_bench (every conv version and batch norm
# against cuDNN on the ResNet-56 and VGG-16 layer shapes), and writes a
# markdown summary to OUTFILE (full logs to OUTFILE.log). About 3-5 minutes on
# 16 cores and an H100; each step has a timeout so the whole stays under 8.
#
#   tests/gpu/run.sh OUTFILE
#
# Where the machine lacks doctest/stb/zlib headers, run tests/gpu/prepare_deps.sh
# first on a machine that has them and bring the .gpu-deps folder along.
set -uo pipefail
out=${1:?usage: tests/gpu/run.sh OUTFILE}
case "$out" in /*) ;; *) out="$PWD/$out" ;; esac
cd "$(dirname "$0")/../.."
root=$PWD
start=$(date +%s)
log="$out.log"
: > "$log"
elapsed() { echo $(( $(date +%s) - start )); }
note() { echo "run.sh [$(elapsed)s] $*" | tee -a "$log"; }

command -v nvcc >/dev/null 2>&1 || export PATH=/usr/local/cuda/bin:$PATH
if ! command -v nvcc >/dev/null 2>&1; then
  note "nvcc not found (PATH and /usr/local/cuda/bin): cannot build the CUDA code"
  printf '# prunus GPU check\n\nFAILED: nvcc not found.\n' > "$out"
  exit 1
fi

# Headers a bare CUDA image may lack: the carried copies from prepare_deps.sh.
deps=$root/.gpu-deps
if [ -d "$deps/include" ]; then
  export CPLUS_INCLUDE_PATH="$deps/include${CPLUS_INCLUDE_PATH:+:$CPLUS_INCLUDE_PATH}"
fi
# The link name libz.so may be missing where only the runtime libz.so.1 is installed.
if ! echo 'int main() { return 0; }' | g++ -x c++ - -lz -o /dev/null >/dev/null 2>&1; then
  z=$(ldconfig -p | awk '/libz\.so\.1 .*x86-64/ { print $NF; exit }')
  if [ -n "$z" ]; then
    mkdir -p "$deps/lib" && ln -sf "$z" "$deps/lib/libz.so"
    export LIBRARY_PATH="$deps/lib${LIBRARY_PATH:+:$LIBRARY_PATH}"
    note "linking zlib through $z"
  fi
fi

# cuDNN: the CUDA toolkit's or the system's, else the pip wheel beside PyTorch.
cuda_home=$(dirname "$(dirname "$(command -v nvcc)")")
cudnn_args=(CUDNN=1)
if [ ! -f "$cuda_home/include/cudnn.h" ] && [ ! -f /usr/include/cudnn.h ] &&
   [ ! -f /usr/include/x86_64-linux-gnu/cudnn.h ] && [ ! -f /usr/local/include/cudnn.h ]; then
  wheel=$(python3 -c 'import nvidia.cudnn; print(list(nvidia.cudnn.__path__)[0])' 2>/dev/null || true)
  if [ -n "$wheel" ] && [ -f "$wheel/include/cudnn.h" ]; then
    lib=$(ls "$wheel"/lib/libcudnn.so* 2>/dev/null | head -1)
    cudnn_args=(CUDNN=1 "CUDNN_INCLUDE=$wheel/include" "CUDNN_LIBDIR=$wheel/lib" "CUDNN_LIB=-l:$(basename "$lib")")
    note "using cuDNN from the pip wheel at $wheel"
  else
    cudnn_args=(CUDNN=0)
    note "cuDNN not found: building without the cuDNN reference (no comparison)"
  fi
fi

note "building: make CUDA=1 ${cudnn_args[*]} BUILD=build-gpu"
make -j"$(nproc)" CUDA=1 "${cudnn_args[@]}" BUILD=build-gpu build-gpu/prunus_gpu_tests build-gpu/prunus_gpu_bench \
  >> "$log" 2>&1
build_rc=$?
if [ $build_rc -ne 0 ]; then
  note "build FAILED (rc $build_rc)"
  { printf '# prunus GPU check\n\nFAILED: the build failed (rc %s). End of the log:\n\n```\n' "$build_rc"
    grep -E "error|Error" "$log" | head -40
    tail -30 "$log"
    printf '```\n'; } > "$out"
  exit 1
fi
note "build done"

note "GPU tests (PRUNUS_CUDA_SYNC_CHECK=1: each launch is checked where it happens)"
PRUNUS_CUDA_SYNC_CHECK=1 timeout 180 ./build-gpu/prunus_gpu_tests > build-gpu/tests.log 2>&1
tests_rc=$?
cat build-gpu/tests.log >> "$log"
note "GPU tests rc $tests_rc"

remaining=$(( 400 - $(elapsed) ))
[ $remaining -lt 60 ] && remaining=60
note "benchmark (timeout ${remaining}s)"
timeout "$remaining" ./build-gpu/prunus_gpu_bench --out build-gpu/bench.md > build-gpu/bench.stdout 2> build-gpu/bench.err
bench_rc=$?
cat build-gpu/bench.err >> "$log"
note "benchmark rc $bench_rc"

# With time to spare: the GPU tests again under compute-sanitizer's memcheck
# (out-of-bounds and misaligned device accesses), which a passing run can hide.
sanitizer=$(command -v compute-sanitizer || ls "$cuda_home"/bin/compute-sanitizer 2>/dev/null || true)
memcheck="not run"
remaining=$(( 470 - $(elapsed) ))
if [ -n "$sanitizer" ] && [ $remaining -ge 60 ]; then
  note "memcheck (timeout ${remaining}s)"
  timeout "$remaining" "$sanitizer" --tool memcheck --leak-check no --error-exitcode 9 \
    ./build-gpu/prunus_gpu_tests -ts='gpu_*' > build-gpu/memcheck.log 2>&1
  memcheck_rc=$?
  cat build-gpu/memcheck.log >> "$log"
  case $memcheck_rc in
    0) memcheck="clean" ;;
    9) memcheck="ERRORS (see the log)" ;;
    124) memcheck="timed out" ;;
    *) memcheck="failed (rc $memcheck_rc)" ;;
  esac
  note "memcheck: $memcheck"
fi

{
  printf '# prunus GPU check (tests/gpu/run.sh)\n\n'
  printf -- '- date: %s\n' "$(date -u '+%Y-%m-%d %H:%M UTC')"
  printf -- '- commit: %s\n' "$(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
  printf -- '- GPU: %s\n' "$(nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>/dev/null || echo unknown)"
  printf -- '- nvcc: %s\n' "$(nvcc --version | tail -2 | head -1)"
  printf -- '- build: make CUDA=1 %s\n' "${cudnn_args[*]}"
  printf -- '- total time: %ss\n\n' "$(elapsed)"
  if grep -q "SKIPPED: no CUDA device" build-gpu/tests.log; then
    tests_status="NOT RUN on a GPU: no CUDA device visible (emulated suites: $([ $tests_rc -eq 0 ] && echo passed || echo FAILED))"
  else
    tests_status=$([ $tests_rc -eq 0 ] && echo PASSED || echo "FAILED (rc $tests_rc)")
  fi
  printf '## GPU tests: %s\n\n```\n' "$tests_status"
  grep -E "^\[doctest\] (test cases|assertions)|SKIPPED|ERROR|FATAL" build-gpu/tests.log | head -60
  printf '```\n\n'
  printf '## compute-sanitizer memcheck of the GPU tests: %s\n\n' "$memcheck"
  grep -E "^========= (Invalid|Program hit|ERROR SUMMARY)" build-gpu/memcheck.log 2>/dev/null | head -20
  printf '\n'
  if [ $bench_rc -eq 0 ] && [ -s build-gpu/bench.md ]; then
    cat build-gpu/bench.md
  elif [ $bench_rc -eq 0 ] && grep -q SKIPPED build-gpu/bench.stdout; then
    printf '## Benchmark: NOT RUN (no CUDA device visible)\n'
  else
    printf '## Benchmark: FAILED (rc %s)\n\n```\n' "$bench_rc"
    tail -20 build-gpu/bench.err
    printf '```\n\nPartial output:\n\n'
    cat build-gpu/bench.stdout
  fi
} > "$out"
note "summary written to $out"
[ $tests_rc -eq 0 ] && [ $bench_rc -eq 0 ]
