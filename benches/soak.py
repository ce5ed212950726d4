#!/usr/bin/env python3
"""A long mixed run that shows what grows: RSS and descriptors of the client every 10 s.

`ringload serve` (plain HTTP, its own process) is pinned to CPU 0 and the client to CPU 1. The
client runs --numworkers 8000 connections, 20% PUT of 4 KiB objects and 80% GET of the names it
has PUT so far, for --minutes (default 10). Every --every seconds (default 10) this script
samples the client's VmRSS from /proc/PID/status and its open descriptors from /proc/PID/fd.

What to expect (docs/reliability.md, "Long runs"): the descriptor count stays constant (one
socket per connection plus a few), and RSS grows only by the names the run keeps for its later
GETs: 8 bytes per successful PUT (a u64 counter per name, in a Vec that doubles, so up to 16
bytes per name right after a doubling). The script prints one markdown table for
benches/RESULTS.md and checks both claims: it exits 1 when the descriptors moved or when RSS grew
by more than 16 bytes per PUT plus 8 MiB of slack.

Usage: benches/soak.py [--minutes 10] [--every 10] [--conns 8000] [--ringload target/release/ringload]
Needs taskset (util-linux). Loopback only. Every load is bounded by --minutes.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from vs_wrk import free_port, wait_port  # noqa: E402


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def fds(pid):
    return len(os.listdir(f"/proc/{pid}/fd"))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--minutes", type=float, default=10)
    ap.add_argument("--every", type=float, default=10)
    ap.add_argument("--conns", type=int, default=8000)
    ap.add_argument("--ringload", default="target/release/ringload")
    a = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix="ringload-soak-")
    res = os.path.join(tmp, "soak.json")
    port = free_port()
    srv = subprocess.Popen(["taskset", "-c", "0", a.ringload, "serve", "--listen", f"127.0.0.1:{port}"],
                           stdout=subprocess.DEVNULL)
    wait_port(port)
    secs = int(a.minutes * 60)
    cmd = ["taskset", "-c", "1", a.ringload, "run", "--endpoint", f"http://127.0.0.1:{port}",
           "--bucket", "soak", "--numworkers", str(a.conns), "--pctput", "20", "--minsize", "4K",
           "--maxsize", "4K", "--cores", "1", "--duration", f"{secs}s", "--statsinterval", "60s",
           "--result", res]
    client = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    samples = []
    start = time.time()
    try:
        while client.poll() is None:
            time.sleep(a.every)
            try:
                sample = (time.time() - start, rss_kib(client.pid), fds(client.pid))
            except OSError:
                break
            # A process that is exiting (or a zombie) shows no memory and no descriptors.
            if client.poll() is None and sample[1] > 0:
                samples.append(sample)
        err = client.stderr.read()
        if client.wait() != 0:
            sys.exit(f"the client failed ({client.returncode}):\n{err}")
    finally:
        if client.poll() is None:
            client.kill()
        srv.terminate()
        srv.wait()
    with open(res) as f:
        doc = json.load(f)
    put, get = doc["ops"]["put"], doc["ops"]["get"]
    print(f"command: {' '.join(cmd)}\n")
    print("| t (s) | RSS (MiB) | descriptors |")
    print("|---|---|---|")
    for t, r, n in samples:
        print(f"| {t:.0f} | {r / 1024:.1f} | {n} |")
    # The first sample is taken once every connection is open; growth is measured from there.
    steady = [s for s in samples if s[0] >= 20] or samples
    grew = (steady[-1][1] - steady[0][1]) * 1024
    per_put = grew / max(put["count"], 1)
    fd_set = sorted({n for _, _, n in steady})
    print(f"\nPUTs {put['count']:,} (errors {put['errors']}), GETs {get['count']:,} "
          f"(errors {get['errors']}), peak RSS {doc.get('peak_rss_bytes', 0) / 2**20:.1f} MiB")
    print(f"RSS growth from t={steady[0][0]:.0f} s to the end: {grew / 2**20:.2f} MiB = "
          f"{per_put:.1f} bytes per PUT; descriptors seen after t=20 s: {fd_set}")
    ok = len(fd_set) == 1 and grew <= 16 * put["count"] + 8 * 2**20
    print("verdict:", "descriptors constant, RSS within the per-name cost" if ok else "FAILED")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
