#!/usr/bin/env python3
"""What the open loop and the live metrics cost: client CPU per request, side by side.

Against one nginx (pinned to CPU 0; every client on CPU 1), 1 KiB GETs:
  * closed: the closed loop with --numworkers 4, whose throughput X nginx and the four
    connections' round trips decide;
  * rate:   the open loop at that same throughput (--rate X, --numworkers 16, so every slot
    finds a free connection), which adds the schedule, the wake-ups and two more histograms;
  * scraped: the closed loop again with --metrics-listen and a scraper fetching /metrics every
    second (the reporter renders once per tick; the scrape is served by its own thread).
CPU is user + sys of the ringload process from wait4's rusage, per completed request. Runs
alternate (closed, rate, scraped, closed, ...) and medians are reported, with the ratios to the
closed loop. The bars: rate ≤ 1.05, scraped ≤ 1.01.

Usage: benches/rate_cost.py [--runs 5] [--seconds 8] [--ringload target/release/ringload]
Needs nginx and taskset. Loopback only.
"""

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import threading
import time
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from vs_wrk import free_port, measured, start_nginx, stop_nginx  # noqa: E402


def run(binary, base, lst, secs, tmp, extra):
    res = os.path.join(tmp, f"r-{time.time_ns()}.json")
    cmd = [binary, "run", "--cores", "1", "--driver", "uring", "--duration", f"{secs}s",
           "--statsinterval", "60s", "--endpoint", base, "--bucket", "b", "--filelist", lst,
           "--result", res] + extra
    _, cpu, _ = measured(cmd)
    with open(res) as f:
        doc = json.load(f)
    op = doc["ops"]["get"]
    if op["errors"]:
        sys.exit(f"ringload run had errors: {op['errors_by_kind']}")
    return {"requests": op["count"], "cpu": cpu, "doc": doc}


def scraper(port, stop, counts):
    url = f"http://127.0.0.1:{port}/metrics"
    while not stop.is_set():
        try:
            with urllib.request.urlopen(url, timeout=2) as r:
                r.read()
                counts[0] += 1
        except OSError:
            pass
        stop.wait(1.0)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--seconds", type=int, default=8)
    ap.add_argument("--ringload", default="target/release/ringload")
    a = ap.parse_args()
    for tool in ("nginx", "taskset"):
        if not shutil.which(tool):
            sys.exit(f"{tool} is missing (apt-get install nginx util-linux)")
    tmp = tempfile.mkdtemp(prefix="ringload-bench-")
    port = free_port()
    start_nginx(tmp, port)
    base = f"http://127.0.0.1:{port}"
    lst = os.path.join(tmp, "small.list")
    with open(lst, "w") as f:
        f.write("small\n")
    closed, rated, scraped, scrapes = [], [], [], []
    try:
        for _ in range(a.runs):
            c = run(a.ringload, base, lst, a.seconds, tmp, ["--numworkers", "4"])
            closed.append(c)
            x = int(c["requests"] / a.seconds)
            rated.append(run(a.ringload, base, lst, a.seconds, tmp,
                             ["--numworkers", "16", "--rate", str(x)]))
            mport = free_port()
            stop, n = threading.Event(), [0]
            t = threading.Thread(target=scraper, args=(mport, stop, n), daemon=True)
            t.start()
            scraped.append(run(a.ringload, base, lst, a.seconds, tmp,
                               ["--numworkers", "4", "--metrics-listen", f"127.0.0.1:{mport}"]))
            stop.set()
            t.join()
            scrapes.append(n[0])
    finally:
        stop_nginx(tmp)
        shutil.rmtree(tmp, ignore_errors=True)
    us = lambda x: x["cpu"] / x["requests"] * 1e6
    med = lambda runs: statistics.median(map(us, runs))
    mc, mr, ms = med(closed), med(rated), med(scraped)
    rps = lambda runs: statistics.median(x["requests"] / a.seconds for x in runs)
    report = {
        "closed_us_per_req": mc, "rate_us_per_req": mr, "scraped_us_per_req": ms,
        "rate_ratio": mr / mc, "scraped_ratio": ms / mc,
        "closed_req_s": rps(closed), "rate_req_s": rps(rated), "scraped_req_s": rps(scraped),
        "rate_kept": [x["doc"].get("rate", {}).get("kept") for x in rated],
        "scrapes_per_run": scrapes,
        "runs_closed": [round(us(x), 3) for x in closed],
        "runs_rate": [round(us(x), 3) for x in rated],
        "runs_scraped": [round(us(x), 3) for x in scraped],
    }
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
