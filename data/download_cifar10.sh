#!/usr/bin/env bash
# Fetches the official CIFAR-10 binary tarball, checks its md5 and unpacks it
# into data/cifar-10-batches-bin (next to this script), where prunus looks first.
#
#   bash data/download_cifar10.sh                 download (curl or wget), verify, unpack
#   bash data/download_cifar10.sh path/to.tar.gz  verify and unpack a tarball you already have
#
# Nothing is left half-done: the tarball is downloaded to a temporary file and
# unpacked into a temporary folder, and only a verified, complete folder is
# moved into place.
set -euo pipefail

readonly URL="https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz"
readonly MD5="c32a1d4ab5d03f1284b67883e8d87530"
readonly RECORD_FILES="data_batch_1.bin data_batch_2.bin data_batch_3.bin data_batch_4.bin data_batch_5.bin test_batch.bin"
readonly RECORD_FILE_BYTES=30730000   # 10,000 records of 3,073 bytes

data_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
target="$data_dir/cifar-10-batches-bin"

fail() { echo "download_cifar10.sh: $*" >&2; exit 1; }

file_size() { wc -c < "$1" | tr -d ' '; }

# True when every record file is present with the right size.
complete() {
  local dir="$1" name
  for name in $RECORD_FILES; do
    [ -f "$dir/$name" ] && [ "$(file_size "$dir/$name")" = "$RECORD_FILE_BYTES" ] || return 1
  done
}

md5_of() {
  if command -v md5sum > /dev/null; then md5sum "$1" | cut -d' ' -f1
  elif command -v md5 > /dev/null; then md5 -q "$1"            # macOS
  else fail "neither md5sum nor md5 is installed: cannot verify the download"
  fi
}

if complete "$target"; then
  echo "CIFAR-10 is already in $target: nothing to do."
  exit 0
fi
[ -e "$target" ] && fail "$target exists but is incomplete (missing files or wrong sizes): move it away and rerun"

work="$(mktemp -d "$data_dir/.cifar10-download.XXXXXX")"
trap 'rm -rf "$work"' EXIT INT TERM

if [ $# -ge 1 ]; then
  tarball="$1"
  [ -f "$tarball" ] || fail "no such file: $tarball"
else
  tarball="$work/cifar-10-binary.tar.gz"
  echo "Downloading $URL (about 163 MB) ..."
  if command -v curl > /dev/null; then
    curl --fail --location --retry 3 --output "$tarball" "$URL" || fail "download failed: $URL"
  elif command -v wget > /dev/null; then
    wget --tries=3 --output-document="$tarball" "$URL" || fail "download failed: $URL"
  else
    fail "neither curl nor wget is installed: download $URL yourself and pass its path to this script"
  fi
fi

echo "Checking md5 ..."
actual="$(md5_of "$tarball")"
[ "$actual" = "$MD5" ] || fail "md5 of $tarball is $actual, expected $MD5 (corrupt or wrong file; delete it and retry)"

echo "Unpacking ..."
tar -xzf "$tarball" -C "$work" --no-same-owner cifar-10-batches-bin \
  || fail "could not unpack $tarball (expected a cifar-10-batches-bin folder inside)"
complete "$work/cifar-10-batches-bin" || fail "the tarball's cifar-10-batches-bin folder is incomplete"
mv "$work/cifar-10-batches-bin" "$target"

echo "CIFAR-10 is ready in $target:"
ls -l "$target"
