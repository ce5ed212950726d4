#!/usr/bin/env python3
"""What the start barrier costs at 256, 512 and 1,024 ranks on one machine.

For each N, one `ringload serve` (plain HTTP, on loopback) and N separate processes
`ringload run --spec s.toml --rank R --cores 1` from one spec (`[run] barrier = true`,
results_dir on the local disk, one connection, 1 KiB PUTs for 1 s, closed loop or `--rate`
ops/s), started as fast as this script can spawn them. Every rank writes its result file with the `barrier` key
(`waited_s`, `lookups`), then `ringload merge` merges the run. Reported per N:

  * spawn:   seconds from the first process start to the last;
  * open:    seconds from the last rank's check-in (its `.barrier/rank-<r>` file's mtime)
             until every rank had passed (check-in + waited_s): what the barrier adds once the
             last rank is there; `pass spread`, the first pass to the last (the barrier's own
             share of the start skew); `pass->start`, from a rank's pass to its load's start
             (start_unix_ns: getting a CPU, the plan line, the engine's first connection);
             and the last start after the last process start;
  * wait:    each rank's wait at the barrier (min, p50, p90, max seconds);
  * skew:    `ringload merge`'s start_skew_ns (latest minus earliest rank start);
  * lookups: the file-system calls on barrier and result file names, all ranks together
             (the ranks count their own), and per second over the barrier's span (first
             check-in to the last pass): what an NFS server would see;
  * memory:  peak RSS (VmHWM) per process (median, max), and the lowest MemAvailable seen
             during the run, against MemAvailable before it;
  * uptime:  the load average before and after;
  * tcp:     host-wide ListenOverflows and RetransSegs during the run (a dropped SYN is
             retried 1 s later, which shows as start skew).

`--strace N` cross-checks the counters once: N ranks each under `strace -f -e trace=%file`,
counting the calls from a rank's first barrier call to its last that name the run directory,
a barrier file or a result file, against the sum of the ranks' `lookups`.

Usage: benches/barrier_scale.py [--ranks 256 512 1024] [--ringload target/debug/ringload]
                                [--rate 20] [--strace 16] [--pause 30] [--json OUT]
Loopback only; bounded: every run is killed after --timeout seconds.
"""

import argparse
import json
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time


def uptime():
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


def mem_available_kib():
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("MemAvailable:"):
                return int(line.split()[1])
    return 0


def tcp_counters():
    """Host-wide TCP counters that explain a late start: listen-queue overflows and
    retransmitted segments (a dropped SYN is retried after 1 s, 3 s, 7 s, ...)."""
    out = {}
    for path, names in (("/proc/net/netstat", ("ListenOverflows",)),
                        ("/proc/net/snmp", ("RetransSegs",))):
        with open(path) as f:
            lines = f.read().splitlines()
        for head, vals in zip(lines[::2], lines[1::2]):
            keys, nums = head.split()[1:], vals.split()[1:]
            for k, v in zip(keys, nums):
                if k in names:
                    out[k] = int(v)
    return out


def start_serve(binary):
    p = subprocess.Popen([binary, "serve", "--cores", "1"], stdout=subprocess.PIPE,
                         stderr=subprocess.DEVNULL, text=True)
    url = json.loads(p.stdout.readline())["url"]
    return p, url


def write_spec(tmp, run_id, ranks, url, rate):
    res = os.path.join(tmp, "results")
    spec = os.path.join(tmp, f"{run_id}.toml")
    with open(spec, "w") as f:
        f.write(f'[run]\nid = "{run_id}"\nranks = {ranks}\nbarrier = true\n'
                f'barrier_timeout = "10m"\nresults_dir = "{res}"\n'
                f'[target]\nprotocol = "http"\nendpoint = "{url}"\n'
                f'[workload]\nduration = "1s"\nnumworkers = 1\npctput = 100\n'
                f'minsize = "1KiB"\nmaxsize = "1KiB"\nstatsinterval = "60s"\n'
                + (f'rate = "{rate}"\n' if rate else ""))
    return spec, os.path.join(res, run_id)


def pct(xs, q):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(q * (len(xs) - 1) + 0.5))]


def run_once(binary, tmp, ranks, timeout, rate, strace=False):
    serve, url = start_serve(binary)
    run_id = f"b{ranks}{'s' if strace else ''}-{time.time_ns() % 10**8}"
    spec, run_dir = write_spec(tmp, run_id, ranks, url, rate)
    logs = os.path.join(tmp, f"{run_id}-logs")
    os.makedirs(logs)
    mem_before = mem_available_kib()
    low = [mem_before]
    done = threading.Event()

    def sample():
        while not done.wait(0.2):
            low[0] = min(low[0], mem_available_kib())

    threading.Thread(target=sample, daemon=True).start()
    load_before = uptime()
    tcp_before = tcp_counters()
    procs = []
    t_first = time.time_ns()
    try:
        for r in range(ranks):
            cmd = [binary, "run", "--spec", spec, "--rank", str(r), "--cores", "1"]
            if strace:
                cmd = ["strace", "-f", "-qq", "-e", "trace=%file", "-o",
                       os.path.join(logs, f"strace-{r}")] + cmd
            with open(os.path.join(logs, f"rank-{r}.err"), "w") as err:
                procs.append(subprocess.Popen(cmd, stdin=subprocess.DEVNULL,
                                              stdout=subprocess.DEVNULL, stderr=err))
        t_last = time.time_ns()
        deadline = time.monotonic() + timeout
        codes = []
        for p in procs:
            left = deadline - time.monotonic()
            try:
                codes.append(p.wait(timeout=max(left, 0.1)))
            except subprocess.TimeoutExpired:
                sys.exit(f"N={ranks}: ranks still running after {timeout} s; killed them all")
    finally:
        done.set()
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait()
        serve.send_signal(signal.SIGTERM)
        serve.wait()
    load_after = uptime()
    tcp_after = tcp_counters()
    failed = [r for r, c in enumerate(codes) if c != 0]
    if failed:
        with open(os.path.join(logs, f"rank-{failed[0]}.err")) as f:
            tail = f.read()[-2000:]
        sys.exit(f"N={ranks}: {len(failed)} ranks failed, e.g. rank {failed[0]}:\n{tail}")
    docs = []
    for r in range(ranks):
        with open(os.path.join(run_dir, f"rank-{r}.json")) as f:
            docs.append(json.load(f))
    out = os.path.join(tmp, f"{run_id}-merged")
    m = subprocess.run([binary, "merge", "--out", out, run_dir], capture_output=True, text=True)
    if m.returncode != 0:
        sys.exit(f"merge failed ({m.returncode}):\n{m.stderr}")
    with open(os.path.join(out, "summary.json")) as f:
        summary = json.load(f)
    starts = [d["start_unix_ns"] for d in docs]
    waits = [d["barrier"]["waited_s"] for d in docs]
    lookups = [d["barrier"]["lookups"] for d in docs]
    # A rank checks in just before its wait begins: its check-in file's mtime; it passed the
    # barrier `waited_s` later.
    checkins = [os.stat(os.path.join(run_dir, ".barrier", f"rank-{r}")).st_mtime_ns
                for r in range(ranks)]
    passes = [c + w * 1e9 for c, w in zip(checkins, waits)]
    span_s = (max(passes) - min(checkins)) / 1e9
    rss = [d.get("peak_rss_bytes", 0) / 2**20 for d in docs]
    fig = {
        "ranks": ranks,
        "rate": rate,
        "ranks_present": summary["ranks_present"],
        "ranks_missing": summary["ranks_missing"],
        "spawn_s": (t_last - t_first) / 1e9,
        "open_s": (max(passes) - max(checkins)) / 1e9,
        "pass_spread_s": (max(passes) - min(passes)) / 1e9,
        "pass_to_start_s": {"p50": pct([(s - p) / 1e9 for s, p in zip(starts, passes)], 0.5),
                            "max": max((s - p) / 1e9 for s, p in zip(starts, passes))},
        "after_spawn_s": (max(starts) - t_last) / 1e9,
        "wait_s": {"min": min(waits), "p50": pct(waits, 0.5), "p90": pct(waits, 0.9),
                   "max": max(waits)},
        "start_skew_s": summary["start_skew_ns"] / 1e9,
        "lookups": sum(lookups),
        "lookups_per_rank_max": max(lookups),
        "barrier_span_s": span_s,
        "lookups_per_s": sum(lookups) / span_s if span_s > 0 else 0.0,
        "rss_mib": {"p50": pct(rss, 0.5), "max": max(rss)},
        "mem_available_mib": {"before": mem_before / 1024, "lowest": low[0] / 1024},
        "uptime": {"before": load_before, "after": load_after},
        "tcp": {k: tcp_after[k] - tcp_before.get(k, 0) for k in tcp_after},
    }
    if strace:
        # The calls naming the run directory itself (a listing), a barrier file or a result
        # file, from the rank's first barrier call to its last.
        pat = re.compile(re.escape(run_dir) + r'("|/\.barrier|/rank-\d+\.json")')
        traced = 0
        for name in os.listdir(logs):
            if name.startswith("strace-"):
                with open(os.path.join(logs, name)) as f:
                    lines = f.readlines()
                marks = [i for i, line in enumerate(lines) if "/.barrier" in line]
                if marks:
                    window = lines[marks[0]:marks[-1] + 1]
                    traced += sum(1 for line in window if pat.search(line))
        fig["strace_calls"] = traced
    return fig


def show(f):
    w = f["wait_s"]
    line = (f"N={f['ranks']:5}  rate {f['rate'] or 'closed'}  merged {f['ranks_present']} (missing {len(f['ranks_missing'])})"
            f"  spawn {f['spawn_s']:.1f} s  open {f['open_s']:.3f} s"
            f"  pass spread {f['pass_spread_s']:.3f} s"
            f"  pass->start p50/max {f['pass_to_start_s']['p50']:.3f}/"
            f"{f['pass_to_start_s']['max']:.3f} s"
            f"  (last start {f['after_spawn_s']:.1f} s after the last spawn)"
            f"  wait min/p50/p90/max {w['min']:.2f}/{w['p50']:.2f}/{w['p90']:.2f}/{w['max']:.2f} s"
            f"  skew {f['start_skew_s']:.3f} s  lookups {f['lookups']:,}"
            f" ({f['lookups_per_s']:,.0f}/s over {f['barrier_span_s']:.1f} s,"
            f" max {f['lookups_per_rank_max']:,}/rank)"
            f"  RSS p50/max {f['rss_mib']['p50']:.1f}/{f['rss_mib']['max']:.1f} MiB"
            f"  MemAvailable {f['mem_available_mib']['before']:,.0f} ->"
            f" lowest {f['mem_available_mib']['lowest']:,.0f} MiB"
            f"  load {f['uptime']['before']} -> {f['uptime']['after']}"
            f"  tcp {f['tcp']}")
    if "strace_calls" in f:
        line += f"  strace: {f['strace_calls']:,} calls on barrier/result names"
    print(line, flush=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--ranks", type=int, nargs="*", default=[256, 512, 1024])
    ap.add_argument("--ringload", default="target/debug/ringload")
    ap.add_argument("--strace", type=int, default=0, metavar="N",
                    help="also run N ranks under strace once, to cross-check the counters")
    ap.add_argument("--timeout", type=float, default=600)
    ap.add_argument("--rate", type=int, default=0,
                    help="each rank's ops/s (default: closed loop, as fast as it can); a light "
                         "rate leaves the CPUs free, so the ranks that start first do not hold "
                         "them from those still leaving the barrier")
    ap.add_argument("--pause", type=float, default=30,
                    help="seconds to wait between runs, so each starts on a quiet machine")
    ap.add_argument("--json", help="write the figures here")
    ap.add_argument("--keep", action="store_true", help="keep the scratch directory")
    a = ap.parse_args()
    binary = os.path.abspath(a.ringload)
    tmp = tempfile.mkdtemp(prefix="ringload-barrier-scale-")
    figs = []
    try:
        if a.strace:
            f = run_once(binary, tmp, a.strace, a.timeout, a.rate, strace=True)
            show(f)
            figs.append(f)
        for i, n in enumerate(a.ranks):
            if i or a.strace:
                time.sleep(a.pause)
            f = run_once(binary, tmp, n, a.timeout, a.rate)
            show(f)
            figs.append(f)
    finally:
        if a.keep:
            print(f"kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    if a.json:
        with open(a.json, "w") as f:
            json.dump({"binary": binary, "runs": figs}, f, indent=1)


if __name__ == "__main__":
    main()
