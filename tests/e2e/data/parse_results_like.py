#!/usr/bin/env python3
"""Reads aisloader -json -stats-output files the way AIStore's aisloader-composer result
parser does, so a test can check that ringload's files satisfy it: the whole file is one JSON
array, the last element holds the run totals under "get" and "put", min/max latency are
compared with integers (so they must be JSON numbers), and count, bytes, errors, latency and
throughput go through int() (a number or a numeric string), as consolidate_results.py does. Any mismatch raises, and the script exits non-zero.

usage: parse_results_like.py BENCH_TYPE FILE...   (BENCH_TYPE: get or put)
"""
import json
import sys


def summarize(bench_type, paths):
    lowest, highest, lat_sum, tput_sum, count = 10**18, 0, 0, 0, 0
    for path in paths:
        with open(path, encoding="utf-8") as f:
            results = json.loads(f.read())
        last = results[-1][bench_type]
        # min()/max() against an int raise TypeError when the value is a string.
        lowest = min(last["min_latency"], lowest)
        highest = max(last["max_latency"], highest)
        for key in ("count", "bytes", "errors"):
            int(last[key])
        lat_sum += int(last["latency"])
        tput_sum += int(last["throughput"])
        count += 1
    if count == 0:
        raise SystemExit("no files")
    avg = lat_sum // count
    print(f"{bench_type}: min {lowest}ns avg {avg}ns max {highest}ns throughput {tput_sum}B/s")
    return lowest, avg, highest, tput_sum


if __name__ == "__main__":
    if len(sys.argv) < 3 or sys.argv[1] not in ("get", "put"):
        raise SystemExit(__doc__)
    summarize(sys.argv[1], sys.argv[2:])
