#!/bin/bash
# compare_runs.sh DIR_A DIR_B: byte-compares two pipeline output dirs run with the same out.dir.
# Text files: byte-identical, or identical once lines with img/s or seconds are dropped.
# .bin: the exported safetensors (every tensor + the architecture) byte-identical, and
# the checkpoint's entries (names, sizes) identical but for metrics.csv and compact.*_images_per_second,
# the timings (img/s, seconds) that differ between any two runs.
A=$1; B=$2; P=${PRUNUS:-$(pwd)/build/prunus}; status=0
for f in $(cd $A && find . -type f | sort); do
  if cmp -s $A/$f $B/$f; then echo "identical      $f"; continue; fi
  case $f in
    *.bin)
      $P export --checkpoint $A/$f --out /tmp/ea.safetensors --format safetensors >/dev/null 2>&1
      $P export --checkpoint $B/$f --out /tmp/eb.safetensors --format safetensors >/dev/null 2>&1
      if cmp -s /tmp/ea.safetensors /tmp/eb.safetensors; then t=same; else t=DIFF; status=1; fi
      ea=$(cd $A && $P info --checkpoint $f --entries 2>&1 | grep -vE "metrics.csv|images_per_second" | md5sum); eb=$(cd $B && $P info --checkpoint $f --entries 2>&1 | grep -vE "metrics.csv|images_per_second" | md5sum)
      [ "$ea" = "$eb" ] && e=same || e=differ
      echo "tensors $t, entries $e  $f";;
    *)
      if diff <(grep -vE "img/s|seconds|images_per_second|speedup|data_wait|_s\"|\"(dense|masked|compact)\": [0-9.]+,?$" $A/$f) <(grep -vE "img/s|seconds|images_per_second|speedup|data_wait|_s\"|\"(dense|masked|compact)\": [0-9.]+,?$" $B/$f) >/dev/null; then
        echo "same but timing $f"
      else
        case $f in *log.csv)
          # columns 8-10 are img/s, seconds, data wait
          if diff <(cut -d, -f1-7,11- $A/$f) <(cut -d, -f1-7,11- $B/$f) >/dev/null; then echo "same but timing $f"; else echo "DIFF           $f"; status=1; fi;;
        *) echo "DIFF           $f"; status=1;; esac
      fi;;
  esac
done
exit $status
