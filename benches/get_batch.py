#!/usr/bin/env python3
"""GetBatch against per-object GETs on the built-in AIS cluster: objects/s and client CPU per
object, side by side.

`ringload serve --protocol ais` (1 proxy, 1 target) is pinned to CPU 0 and the client to CPU 1.
ringload first PUTs the objects (16 KiB each by default), then runs alternate (per-object
GETs, GetBatch at --batch, ...) for --seconds each with 8 connections on one core. Objects are
`ops.get.count` for plain GETs and `ops.get_batch.objects` for batches; client CPU is user +
sys of the client process alone, from wait4's rusage (see vs_wrk.measured). Medians of each
series are printed as JSON; a run with any error aborts the bench.

Usage: benches/get_batch.py [--runs 5] [--seconds 5] [--objects 4096] [--size 16K] [--batch 64]
                            [--ringload target/release/ringload]
Needs taskset (util-linux). Loopback only.
"""

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from vs_wrk import free_port, measured, wait_port  # noqa: E402


def run(binary, args, secs):
    """One client run on CPU 1: (objects, cpu seconds, the result document)."""
    cmd = [binary, "run", "--cores", "1", "--driver", "uring", "--duration", f"{secs}s",
           "--statsinterval", "60s", "--json"] + args
    out, cpu, _ = measured(cmd)
    doc = json.loads(out)
    ops = doc["ops"]
    batch = "get_batch" in ops and ops["get_batch"]["count"] > 0
    op = ops["get_batch" if batch else "get"]
    if op["errors"]:
        sys.exit(f"ringload run had errors: {op['errors_by_kind']}")
    objects = op["objects"] if batch else op["count"]
    return objects, cpu, doc


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--seconds", type=int, default=5)
    ap.add_argument("--objects", type=int, default=4096)
    ap.add_argument("--size", default="16K")
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--ringload", default="target/release/ringload")
    a = ap.parse_args()
    if not shutil.which("taskset"):
        sys.exit("taskset is missing (apt-get install util-linux)")
    port = free_port()
    serve = subprocess.Popen(["taskset", "-c", "0", a.ringload, "serve", "--protocol", "ais",
                              "--listen", f"127.0.0.1:{port}", "--targets", "1", "--cores", "1"],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_port(port)
        common = ["--protocol", "ais", "--endpoint", f"http://127.0.0.1:{port}", "--bucket", "b"]
        put = subprocess.run([a.ringload, "run", *common, "--pctput", "100", "--maxputs", str(a.objects),
                              "--minsize", a.size, "--maxsize", a.size, "--numworkers", "16",
                              "--statsinterval", "60s", "--json"], capture_output=True, text=True)
        if put.returncode != 0:
            sys.exit(f"the PUTs failed ({put.returncode}):\n{put.stdout}\n{put.stderr}")
        get = common + ["--numworkers", "8"]
        plain, batched = [], []
        for _ in range(a.runs):
            plain.append(run(a.ringload, get, a.seconds))
            batched.append(run(a.ringload, get + ["--get-batchsize", str(a.batch)], a.seconds))
        ops = lambda x: x[0] / a.seconds
        cpu_us = lambda x: x[1] / x[0] * 1e6
        report = {
            "object_size": a.size, "batch": a.batch, "seconds": a.seconds, "runs": a.runs,
            "get_objects_per_s": statistics.median(map(ops, plain)),
            "batch_objects_per_s": statistics.median(map(ops, batched)),
            "get_cpu_us_per_object": statistics.median(map(cpu_us, plain)),
            "batch_cpu_us_per_object": statistics.median(map(cpu_us, batched)),
            "runs_get": [[round(ops(x)), round(cpu_us(x), 2)] for x in plain],
            "runs_batch": [[round(ops(x)), round(cpu_us(x), 2)] for x in batched],
            "load": os.getloadavg(),
        }
    finally:
        serve.terminate()
        serve.wait()
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
