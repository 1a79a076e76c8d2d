#!/bin/sh
# The interop cross-check against PyTorch and onnxruntime (cross_check.py), or a clean skip where a peer is
# missing. Run from the repository root: experiments/interop/cross_check.sh [OUTPUT_FILE]
#   peers: sudo apt-get install python3-torch; then, keeping Debian's numpy 1.x that its torch needs:
#     /usr/bin/python3 -m pip install --user --no-deps onnxruntime safetensors flatbuffers protobuf packaging
set -e
out=${1:-experiments/results/interop/cross_check.txt}
py=/usr/bin/python3
data=${CIFAR10_DIR:-../shared/data/cifar-10-batches-bin}
if ! $py -c 'import torch, onnxruntime, safetensors, numpy' 2>/dev/null; then
  echo "interop cross-check skipped: $py lacks torch, onnxruntime, safetensors or numpy"; exit 0
fi
if [ ! -f "$data/data_batch_1.bin" ]; then
  echo "interop cross-check skipped: no CIFAR-10 binaries in $data (set CIFAR10_DIR)"; exit 0
fi
[ -x build/prunus ] || { echo "build prunus first (make)"; exit 1; }
mkdir -p "$(dirname "$out")"
work=$(mktemp -d /tmp/prunus_interop_XXXXXX)
trap 'rm -rf "$work"' EXIT
set +e
$py experiments/interop/cross_check.py build/prunus "$data" "$work" > "$out.tmp" 2>&1
status=$?
cat "$out.tmp"
mv "$out.tmp" "$out"
echo "written: $out"
exit $status
