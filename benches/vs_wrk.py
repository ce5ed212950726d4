#!/usr/bin/env python3
"""ringload against wrk on the same nginx, side by side (alternating runs, medians).

nginx is pinned to CPU 0 and every client to CPU 1. Client cost is CPU time (user + sys) from
getrusage of the client process, so it counts only the client's own work:
  * small: µs of client CPU per 1 KiB GET, 64 connections;
  * large: client CPU-seconds per GiB of 64 MiB GETs, 8 connections;
  * rss:   ringload's peak RSS with 1,000 connections doing 1 GiB PUTs (built-in target on CPU 0,
           since nginx would write a terabyte to disk).
Runs alternate (wrk, ringload, wrk, ...) and medians are reported with the ratio to wrk.

Usage: benches/vs_wrk.py [--runs 5] [--seconds 8] [--ringload target/release/ringload]
Needs nginx, wrk and taskset (util-linux). Loopback only. The same comparison over https is
benches/vs_wrk_tls.py, which uses this file's nginx starter and measurement.
"""

import argparse
import json
import os
import re
import resource
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port, seconds=5.0):
    end = time.time() + seconds
    while time.time() < end:
        try:
            socket.create_connection(("127.0.0.1", port), 0.2).close()
            return
        except OSError:
            time.sleep(0.02)
    sys.exit(f"nothing listens on port {port}")


def write_objects(d):
    """data/b/small (1 KiB) and data/b/big (64 MiB) under d, plus logs/ and tmp/."""
    for sub in ("data/b", "logs", "tmp"):
        os.makedirs(os.path.join(d, sub), exist_ok=True)
    with open(os.path.join(d, "data/b/small"), "wb") as f:
        f.write(os.urandom(1024))
    # Written in 1 MiB pieces: this process's RSS is inherited by the clients it forks, and
    # getrusage's peak RSS would then report it instead of the client's own.
    with open(os.path.join(d, "data/b/big"), "wb") as f:
        for _ in range(64):
            f.write(os.urandom(1 << 20))


def run_nginx(d, servers, wait_ports):
    """nginx (1 worker, pinned to CPU 0) with the given `server { ... }` blocks; waits for
    every port in wait_ports."""
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
    client_body_temp_path {d}/tmp/body; proxy_temp_path {d}/tmp/proxy;
    fastcgi_temp_path {d}/tmp/fcgi; uwsgi_temp_path {d}/tmp/uwsgi; scgi_temp_path {d}/tmp/scgi;
{servers}
}}
"""
    path = os.path.join(d, "nginx.conf")
    with open(path, "w") as f:
        f.write(conf)
    subprocess.run(["taskset", "-c", "0", "nginx", "-c", path, "-p", d], check=True)
    for port in wait_ports:
        wait_port(port)


def start_nginx(d, port):
    write_objects(d)
    run_nginx(d, f"    server {{ listen 127.0.0.1:{port}; root {d}/data; }}", [port])


def stop_nginx(d):
    try:
        with open(os.path.join(d, "nginx.pid")) as f:
            os.kill(int(f.read().strip()), 15)
    except (OSError, ValueError):
        pass


def measured(cmd):
    """Runs cmd on CPU 1; returns (stdout, cpu seconds, peak RSS KiB) of that process alone.

    CPU comes from wait4's rusage. Peak RSS is sampled from /proc/PID/status (VmHWM) every 20 ms:
    rusage's maxrss would report this Python process's own RSS, which a spawned child inherits
    as its high-water mark until exec."""
    p = subprocess.Popen(["taskset", "-c", "1"] + cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    hwm = [0]

    def sample():
        while p.returncode is None:
            try:
                with open(f"/proc/{p.pid}/status") as f:
                    for line in f:
                        if line.startswith("VmHWM:"):
                            hwm[0] = max(hwm[0], int(line.split()[1]))
            except (OSError, ValueError):
                return
            time.sleep(0.02)

    t = threading.Thread(target=sample, daemon=True)
    t.start()
    _, status, ru = os.wait4(p.pid, 0)
    out = p.stdout.read()
    err = p.stderr.read()
    p.returncode = os.waitstatus_to_exitcode(status)
    if p.returncode != 0:
        sys.exit(f"failed ({p.returncode}): {' '.join(cmd)}\n{out}\n{err}")
    return out, ru.ru_utime + ru.ru_stime, hwm[0]


def wrk(url, conns, secs):
    out, cpu, rss = measured(["wrk", "-t1", f"-c{conns}", f"-d{secs}s", url])
    reqs = int(re.search(r"(\d+) requests in", out).group(1))
    m = re.search(r"([\d.]+)([KMG]?B) read", out)
    scale = {"B": 1, "KB": 1 << 10, "MB": 1 << 20, "GB": 1 << 30}[m.group(2)]
    return {"requests": reqs, "bytes": float(m.group(1)) * scale, "cpu": cpu, "rss_kib": rss}


def ringload(binary, args, secs, tmp):
    res = os.path.join(tmp, f"r-{time.time_ns()}.json")
    cmd = [binary, "run", "--cores", "1", "--driver", "uring", "--duration", f"{secs}s",
           "--statsinterval", "60s", "--result", res] + args
    _, cpu, rss = measured(cmd)
    with open(res) as f:
        doc = json.load(f)
    op = doc["ops"]["put" if "--pctput" in args else "get"]
    if op["errors"]:
        sys.exit(f"ringload run had errors: {op['errors_by_kind']}")
    # ringload reports its own VmHWM at exit, which the sampler may miss by up to 20 ms.
    rss = max(rss, doc.get("peak_rss_bytes", 0) // 1024)
    return {"requests": op["count"], "bytes": op["bytes"], "cpu": cpu, "rss_kib": rss,
            "tls": doc.get("tls")}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--seconds", type=int, default=8)
    ap.add_argument("--ringload", default="target/release/ringload")
    ap.add_argument("--only", choices=["small", "large", "rss"], action="append")
    a = ap.parse_args()
    for tool in ("nginx", "wrk", "taskset"):
        if not shutil.which(tool):
            sys.exit(f"{tool} is missing (apt-get install nginx wrk util-linux)")
    only = a.only or ["small", "large", "rss"]
    tmp = tempfile.mkdtemp(prefix="ringload-bench-")
    port = free_port()
    start_nginx(tmp, port)
    base = f"http://127.0.0.1:{port}"
    lists = {}
    for name in ("small", "big"):
        lists[name] = os.path.join(tmp, f"{name}.list")
        with open(lists[name], "w") as f:
            f.write(name + "\n")
    report = {}
    try:
        if "small" in only:
            w, r = [], []
            for _ in range(a.runs):
                w.append(wrk(f"{base}/b/small", 64, a.seconds))
                r.append(ringload(a.ringload, ["--endpoint", base, "--bucket", "b", "--filelist", lists["small"],
                                               "--numworkers", "64"], a.seconds, tmp))
            us = lambda x: x["cpu"] / x["requests"] * 1e6
            mw, mr = statistics.median(map(us, w)), statistics.median(map(us, r))
            report["small"] = {"wrk_us_per_req": mw, "ringload_us_per_req": mr, "ratio": mr / mw,
                               "wrk_req_s": statistics.median(x["requests"] / a.seconds for x in w),
                               "ringload_req_s": statistics.median(x["requests"] / a.seconds for x in r),
                               "wrk_peak_rss_mib": statistics.median(x["rss_kib"] / 1024 for x in w),
                               "ringload_peak_rss_mib": statistics.median(x["rss_kib"] / 1024 for x in r),
                               "runs_wrk": [round(us(x), 3) for x in w], "runs_ringload": [round(us(x), 3) for x in r]}
        if "large" in only:
            w, r = [], []
            for _ in range(a.runs):
                w.append(wrk(f"{base}/b/big", 8, a.seconds))
                r.append(ringload(a.ringload, ["--endpoint", base, "--bucket", "b", "--filelist", lists["big"],
                                               "--numworkers", "8"], a.seconds, tmp))
            cpg = lambda x: x["cpu"] / (x["bytes"] / (1 << 30))
            mw, mr = statistics.median(map(cpg, w)), statistics.median(map(cpg, r))
            report["large"] = {"wrk_cpu_s_per_gib": mw, "ringload_cpu_s_per_gib": mr, "ratio": mr / mw,
                               "wrk_gib_s": statistics.median(x["bytes"] / (1 << 30) / a.seconds for x in w),
                               "ringload_gib_s": statistics.median(x["bytes"] / (1 << 30) / a.seconds for x in r),
                               "wrk_peak_rss_mib": statistics.median(x["rss_kib"] / 1024 for x in w),
                               "ringload_peak_rss_mib": statistics.median(x["rss_kib"] / 1024 for x in r),
                               "runs_wrk": [round(cpg(x), 4) for x in w], "runs_ringload": [round(cpg(x), 4) for x in r]}
        if "rss" in only:
            sp = free_port()
            srv = subprocess.Popen(["taskset", "-c", "0", a.ringload, "serve", "--listen", f"127.0.0.1:{sp}"],
                                   stdout=subprocess.DEVNULL)
            wait_port(sp)
            try:
                runs = [ringload(a.ringload, ["--endpoint", f"http://127.0.0.1:{sp}", "--pctput", "100",
                                              "--minsize", "1G", "--maxsize", "1G", "--numworkers", "1000"],
                                 a.seconds, tmp) for _ in range(a.runs)]
            finally:
                srv.terminate()
                srv.wait()
            report["rss"] = {"peak_rss_mib": statistics.median(x["rss_kib"] / 1024 for x in runs),
                             "max_peak_rss_mib": max(x["rss_kib"] / 1024 for x in runs),
                             "put_gib_s": statistics.median(x["bytes"] / (1 << 30) / a.seconds for x in runs)}
    finally:
        stop_nginx(tmp)
        shutil.rmtree(tmp, ignore_errors=True)
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
