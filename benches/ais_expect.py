#!/usr/bin/env python3
"""AIS PUTs through a proxy with and without `Expect: 100-continue`, side by side.

Starts the built-in AIS cluster (1 proxy, 1 target; `ringload serve`, pinned to CPU 0) and
alternates PUT runs of the release binary (pinned to CPU 1) in three modes: the default (PUTs
of at least 1 MiB send `Expect: 100-continue`, so the proxy redirects before the body), every
PUT with the expectation (`RINGLOAD_EXPECT_MIN=1`), and none (`RINGLOAD_EXPECT_MIN` out of
reach: the body goes to the proxy, which drops it, and again to the target, as aisloader does). Reports per mode the medians of wall-clock PUT throughput,
client CPU seconds per GiB PUT, and the bytes the proxy received per PUT.

    cargo build --release && python3 benches/ais_expect.py --runs 5 --size 8M --puts 300
"""
import argparse
import json
import os
import resource
import statistics
import subprocess
import tempfile
import urllib.request

BIN = os.path.join(os.path.dirname(__file__), "..", "target", "release", "ringload")


def stats(url):
    with urllib.request.urlopen(url + "/v1/ringload/stats") as r:
        return json.load(r)


def one(proxy, size, puts, expect_min, bucket):
    env = dict(os.environ)
    if expect_min is not None:
        env["RINGLOAD_EXPECT_MIN"] = str(expect_min)
    with tempfile.TemporaryDirectory() as d:
        res = os.path.join(d, "r.json")
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        p0 = stats(proxy)["bytes_received"]
        subprocess.run(
            ["taskset", "-c", "1", BIN, "run", "--protocol", "ais", "--endpoint", proxy,
             "--bucket", bucket, "--pctput", "100", "--maxputs", str(puts), "--minsize", size,
             "--maxsize", size, "--numworkers", "8", "--cores", "1", "--result", res],
            check=True, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        p1 = stats(proxy)["bytes_received"]
        r = json.load(open(res))
    put = r["ops"]["put"]
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    gib = put["bytes"] / (1 << 30)
    return {
        "gib_s": put["throughput_bytes_per_s"] / (1 << 30),
        "cpu_s_per_gib": cpu / gib,
        "proxy_bytes_per_put": (p1 - p0) / max(put["count"], 1),
        "errors": put["errors"],
    }


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--size", default="8M")
    ap.add_argument("--puts", type=int, default=300)
    a = ap.parse_args()
    srv = subprocess.Popen(
        ["taskset", "-c", "0", BIN, "serve", "--protocol", "ais", "--proxies", "1",
         "--targets", "1"], stdout=subprocess.PIPE, text=True)
    try:
        lines = [json.loads(srv.stdout.readline()) for _ in range(2)]
        proxy = next(x["url"] for x in lines if x["role"] == "proxy")
        modes = {"default": None, "expect always": 1, "never expect": 1 << 62}
        out = {m: [] for m in modes}
        for k in range(a.runs):
            for m, v in modes.items():
                out[m].append(one(proxy, a.size, a.puts, v, "b%d" % k))
        for m, rs in out.items():
            med = {key: statistics.median(r[key] for r in rs) for key in rs[0]}
            print(f"{m:18} GiB/s {med['gib_s']:.2f}  client CPU-s/GiB {med['cpu_s_per_gib']:.3f}  "
                  f"proxy bytes/PUT {med['proxy_bytes_per_put']:.0f}  errors {med['errors']:.0f}")
    finally:
        srv.terminate()
        srv.wait()


if __name__ == "__main__":
    main()
