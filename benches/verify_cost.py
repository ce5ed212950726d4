#!/usr/bin/env python3
"""What --verifyhash costs the client: CPU-seconds per GiB of 1 MiB GETs from nginx, with and
without verification, side by side.

nginx (WebDAV PUT on) is pinned to CPU 0 and the client to CPU 1. ringload first PUTs the
objects itself (so their bytes are its content pattern and verify), then runs alternate
(plain, verified, plain, ...) over the same names with 8 connections. Client cost is CPU time
(user + sys) of the client process alone, from wait4's rusage (see vs_wrk.measured). Medians of
each series and their ratio are printed as JSON; a run with any error (a verify error
included) aborts the bench.

Usage: benches/verify_cost.py [--runs 5] [--seconds 5] [--objects 64] [--ringload target/release/ringload]
Needs nginx and taskset (util-linux). Loopback only.
"""

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from vs_wrk import free_port, ringload, stop_nginx, wait_port  # noqa: E402


def start_nginx_dav(d, port):
    """nginx on CPU 0 serving d/data with GET and WebDAV PUT."""
    for sub in ("data/b", "logs", "tmp"):
        os.makedirs(os.path.join(d, sub), exist_ok=True)
    conf = f"""user root;
worker_processes 1;
worker_cpu_affinity 01;
pid {d}/nginx.pid;
error_log {d}/logs/error.log warn;
events {{ worker_connections 8192; }}
http {{
    access_log off;
    sendfile on; tcp_nopush on; tcp_nodelay on;
    keepalive_requests 100000000; keepalive_timeout 120s;
    client_max_body_size 0;
    client_body_temp_path {d}/tmp/body; proxy_temp_path {d}/tmp/proxy;
    fastcgi_temp_path {d}/tmp/fcgi; uwsgi_temp_path {d}/tmp/uwsgi; scgi_temp_path {d}/tmp/scgi;
    server {{
        listen 127.0.0.1:{port}; root {d}/data;
        dav_methods PUT; create_full_put_path on;
    }}
}}
"""
    path = os.path.join(d, "nginx.conf")
    with open(path, "w") as f:
        f.write(conf)
    subprocess.run(["taskset", "-c", "0", "nginx", "-c", path, "-p", d], check=True)
    wait_port(port)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--seconds", type=int, default=5)
    ap.add_argument("--objects", type=int, default=64)
    ap.add_argument("--ringload", default="target/release/ringload")
    a = ap.parse_args()
    for tool in ("nginx", "taskset"):
        if not shutil.which(tool):
            sys.exit(f"{tool} is missing (apt-get install nginx util-linux)")
    tmp = tempfile.mkdtemp(prefix="ringload-verify-bench-")
    port = free_port()
    start_nginx_dav(tmp, port)
    base = f"http://127.0.0.1:{port}"
    common = ["--endpoint", base, "--bucket", "b"]
    try:
        put = subprocess.run([a.ringload, "run", *common, "--pctput", "100", "--maxputs", str(a.objects),
                              "--minsize", "1M", "--maxsize", "1M", "--numworkers", "8", "--statsinterval", "60s",
                              "--result", os.path.join(tmp, "put.json")], capture_output=True, text=True)
        if put.returncode != 0:
            sys.exit(f"the PUTs failed ({put.returncode}):\n{put.stdout}\n{put.stderr}")
        names = sorted(os.listdir(os.path.join(tmp, "data/b")))
        if len(names) != a.objects:
            sys.exit(f"expected {a.objects} objects on disk, found {len(names)}")
        flist = os.path.join(tmp, "names.list")
        with open(flist, "w") as f:
            f.write("".join(n + "\n" for n in names))
        get = common + ["--filelist", flist, "--numworkers", "8"]
        plain, verified = [], []
        for _ in range(a.runs):
            plain.append(ringload(a.ringload, get, a.seconds, tmp))
            verified.append(ringload(a.ringload, get + ["--verifyhash"], a.seconds, tmp))
        cpg = lambda x: x["cpu"] / (x["bytes"] / (1 << 30))
        gib_s = lambda x: x["bytes"] / (1 << 30) / a.seconds
        mp, mv = statistics.median(map(cpg, plain)), statistics.median(map(cpg, verified))
        report = {"plain_cpu_s_per_gib": mp, "verified_cpu_s_per_gib": mv, "ratio": mv / mp,
                  "plain_gib_s": statistics.median(map(gib_s, plain)),
                  "verified_gib_s": statistics.median(map(gib_s, verified)),
                  "runs_plain": [round(cpg(x), 4) for x in plain],
                  "runs_verified": [round(cpg(x), 4) for x in verified]}
    finally:
        stop_nginx(tmp)
        shutil.rmtree(tmp, ignore_errors=True)
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
