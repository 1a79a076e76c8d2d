#!/usr/bin/env bash
# Copies the few build-time headers a bare CUDA machine may lack (doctest,
# stb_image, zlib) into .gpu-deps/ (ignored by git) so that they can travel
# with the working tree to a lent GPU machine; tests/gpu/run.sh uses them
# when the machine has none of its own. Run here, before the device run, and
# carry .gpu-deps.
set -euo pipefail
cd "$(dirname "$0")/../.."
deps=.gpu-deps/include
mkdir -p "$deps/doctest" "$deps/stb"
cp /usr/include/doctest/doctest.h "$deps/doctest/"
cp /usr/include/stb/stb_image.h "$deps/stb/"
cp /usr/include/zlib.h /usr/include/zconf.h "$deps/" 2>/dev/null ||
  cp /usr/include/zlib.h /usr/include/x86_64-linux-gnu/zconf.h "$deps/"
if [ -d .git ] && ! grep -qx '/.gpu-deps/' .git/info/exclude 2>/dev/null; then
  echo '/.gpu-deps/' >> .git/info/exclude
fi
du -sh .gpu-deps
