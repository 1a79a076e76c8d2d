#!/usr/bin/python3
"""Joins prunus_bench's and peers.py's CSV rows and prints prunus/peer
ratios (above 1: prunus is faster), with the geometric mean per group.

  compare.py prunus.csv peers.csv
"""
import csv
import math
import sys
from collections import defaultdict


def read_rows(path):
    with open(path) as f:
        return list(csv.DictReader(f))


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    ours = read_rows(sys.argv[1])
    peers = defaultdict(dict)  # (group, name, pass) -> {peer: value}
    for row in read_rows(sys.argv[2]):
        if row["group"] == "sgemm":  # the pass names the peer
            peers[(row["group"], row["name"], "gemm")][row["pass"]] = float(row["value"])
        else:
            peers[(row["group"], row["name"], row["pass"])]["torch"] = float(row["value"])
    ratios = defaultdict(lambda: defaultdict(list))  # group -> peer -> ratios
    current = None
    for row in ours:
        key = (row["group"], row["name"], row["pass"])
        if row["group"] != current:
            current = row["group"]
            print(f"\n{current}: prunus vs peers ({row['unit']}; ratio = prunus / peer)")
            print(f"  {'name':34s} {'pass':10s} {'prunus':>9s} {'torch':>9s} {'ratio':>6s}"
                  + (f" {'openblas':>9s} {'ratio':>6s}" if current == "sgemm" else ""))
        value = float(row["value"])
        line = f"  {row['name']:34s} {row['pass']:10s} {value:9.1f}"
        for peer in ("torch", "openblas") if current == "sgemm" else ("torch",):
            theirs = peers.get(key, {}).get(peer)
            if theirs:
                ratios[current][peer].append(value / theirs)
                line += f" {theirs:9.1f} {value / theirs:6.2f}"
            else:
                line += f" {'-':>9s} {'-':>6s}"
        print(line)
    print("\ngeometric mean of prunus / peer:")
    for group, by_peer in ratios.items():
        for peer, values in by_peer.items():
            mean = math.exp(sum(math.log(v) for v in values) / len(values))
            print(f"  {group:8s} vs {peer:9s} {mean:5.2f}  ({len(values)} rows)")


main()
