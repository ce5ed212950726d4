#!/usr/bin/env python3
"""ringload against wrk on the same nginx over https, side by side (alternating runs, medians).

The method of benches/vs_wrk.py (nginx pinned to CPU 0, every client to CPU 1, client CPU from
wait4's rusage, peak RSS from /proc/PID/status), with nginx terminating TLS 1.3 with a private
CA and an ECDSA P-256 certificate for 127.0.0.1 made by the openssl CLI at start. ringload
verifies it (`--tls-ca`); wrk (OpenSSL) does not verify, which costs nothing per request once
its keep-alive connections are up.
  * small:  µs of client CPU per 1 KiB GET over https, 64 connections (bar: <= 1.0x wrk);
  * large:  client CPU-s per GiB of 64 MiB GETs over https, 8 connections (bar: <= 0.8x wrk);
  * plain:  the same 64 MiB GETs over plain http on the same nginx, for the CPU-s/GiB of TLS
            beside the plaintext figure;
  * rss:    ringload's peak RSS with 1,000 TLS connections doing 1 GiB PUTs for --rss-seconds
            (bar: <= 96 MiB). nginx terminates TLS and streams the bodies unbuffered
            (proxy_request_buffering off) to `ringload serve` on CPU 0, which discards them: no
            disk is written.
Runs alternate (wrk, ringload, wrk, ...) and medians are printed as JSON with the ratio to wrk.
Each ringload run's `tls` record (version, cipher, verified, resumed_pct) is printed too.

Usage: benches/vs_wrk_tls.py [--runs 5] [--seconds 8] [--ringload target/release/ringload]
                             [--only small|large|plain|rss ...] [--dry-start]
`--ringload BIN` compares builds, e.g. the default crypto provider (aws-lc-rs) against
`cargo build --release --no-default-features --features ring` copied aside.
`--dry-start` makes the certificates, starts nginx (https and http), checks that https answers
with the CA and that wrk gets answers over it for 1 s, prints the commands it would time, and
stops.
Needs nginx, wrk, openssl and taskset (util-linux). Loopback only.
"""

import argparse
import http.client
import json
import os
import shutil
import ssl
import statistics
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from vs_wrk import free_port, ringload, run_nginx, stop_nginx, wait_port, wrk, write_objects  # noqa: E402


def make_certs(d):
    """A private CA and a server certificate for IP 127.0.0.1 it signed; returns
    (ca, cert, key) paths."""
    def openssl(*args):
        subprocess.run(["openssl", *args], check=True, cwd=d, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)
    curve = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"]
    openssl("req", "-x509", *curve, "-keyout", "ca.key", "-out", "ca.pem", "-days", "2",
            "-subj", "/CN=ringload bench CA",
            "-addext", "basicConstraints=critical,CA:TRUE",
            "-addext", "keyUsage=critical,keyCertSign,cRLSign")
    openssl("req", "-new", *curve, "-keyout", "server.key", "-out", "server.csr",
            "-subj", "/CN=127.0.0.1")
    with open(os.path.join(d, "server.ext"), "w") as f:
        f.write("subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n"
                "basicConstraints=critical,CA:FALSE\n")
    openssl("x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
            "-CAcreateserial", "-out", "server.pem", "-days", "2", "-extfile", "server.ext")
    return tuple(os.path.join(d, n) for n in ("ca.pem", "server.pem", "server.key"))


def servers(d, cert, key, tls_port, plain_port, sink_port, put_port):
    tls = (f"ssl_certificate {cert}; ssl_certificate_key {key}; ssl_protocols TLSv1.3; "
           "ssl_session_cache shared:tls:10m;")
    return f"""    server {{ listen 127.0.0.1:{tls_port} ssl; {tls} root {d}/data; }}
    server {{ listen 127.0.0.1:{plain_port}; root {d}/data; }}
    server {{
        listen 127.0.0.1:{put_port} ssl backlog=4096; {tls}
        client_max_body_size 0; client_body_buffer_size 64k;
        location / {{
            proxy_pass http://127.0.0.1:{sink_port};
            proxy_http_version 1.1; proxy_set_header Connection "";
            proxy_request_buffering off;
        }}
    }}"""


def check_https(port, ca):
    """One verified GET of /b/small over https: the certificates and nginx work."""
    ctx = ssl.create_default_context(cafile=ca)
    c = http.client.HTTPSConnection("127.0.0.1", port, context=ctx, timeout=5)
    c.request("GET", "/b/small")
    r = c.getresponse()
    body = r.read()
    if r.status != 200 or len(body) != 1024:
        sys.exit(f"https check failed: {r.status}, {len(body)} bytes")
    return c.sock.version()


def median(xs, f):
    return statistics.median(map(f, xs))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--seconds", type=int, default=8)
    ap.add_argument("--rss-seconds", type=int, default=20)
    ap.add_argument("--ringload", default="target/release/ringload")
    ap.add_argument("--only", choices=["small", "large", "plain", "rss"], action="append")
    ap.add_argument("--dry-start", action="store_true",
                    help="start the peers, check https, print the commands, stop")
    a = ap.parse_args()
    for tool in ("nginx", "wrk", "taskset", "openssl"):
        if not shutil.which(tool):
            sys.exit(f"{tool} is missing (apt-get install nginx wrk util-linux openssl)")
    if not os.access(a.ringload, os.X_OK):
        sys.exit(f"--ringload {a.ringload}: not an executable (cargo build --release first)")
    only = a.only or ["small", "large", "plain", "rss"]
    tmp = tempfile.mkdtemp(prefix="ringload-bench-tls-")
    ca, cert, key = make_certs(tmp)
    write_objects(tmp)
    tls_port, plain_port, sink_port, put_port = (free_port() for _ in range(4))
    lists = {}
    for name in ("small", "big"):
        lists[name] = os.path.join(tmp, f"{name}.list")
        with open(lists[name], "w") as f:
            f.write(name + "\n")
    base = f"https://127.0.0.1:{tls_port}"
    plain = f"http://127.0.0.1:{plain_port}"
    get = lambda endpoint, name, conns: ["--endpoint", endpoint, "--bucket", "b", "--filelist",
                                         lists[name], "--numworkers", str(conns)]
    tls_args = ["--tls-ca", ca]
    put = ["--endpoint", f"https://127.0.0.1:{put_port}", "--tls-ca", ca, "--pctput", "100",
           "--minsize", "1G", "--maxsize", "1G", "--numworkers", "1000"]
    sink = None
    report = {"ringload": a.ringload}
    try:
        run_nginx(tmp, servers(tmp, cert, key, tls_port, plain_port, sink_port, put_port),
                  [tls_port, plain_port])
        report["nginx_tls"] = check_https(tls_port, ca)
        if a.dry_start:
            w = wrk(f"{base}/b/small", 4, 1)
            if w["requests"] == 0:
                sys.exit("wrk made no request over https")
            print(json.dumps({
                "https": base, "http": plain, "nginx_tls": report["nginx_tls"],
                "wrk_1s_https_requests": w["requests"],
                "small": [f"wrk -t1 -c64 -d{a.seconds}s {base}/b/small",
                          " ".join([a.ringload, "run"] + get(base, "small", 64) + tls_args)],
                "large": [f"wrk -t1 -c8 -d{a.seconds}s {base}/b/big",
                          " ".join([a.ringload, "run"] + get(base, "big", 8) + tls_args)],
                "plain": [f"wrk -t1 -c8 -d{a.seconds}s {plain}/b/big",
                          " ".join([a.ringload, "run"] + get(plain, "big", 8))],
                "rss": " ".join([a.ringload, "run"] + put),
            }, indent=2))
            return
        if "small" in only:
            w, r = [], []
            for _ in range(a.runs):
                w.append(wrk(f"{base}/b/small", 64, a.seconds))
                r.append(ringload(a.ringload, get(base, "small", 64) + tls_args, a.seconds, tmp))
            us = lambda x: x["cpu"] / x["requests"] * 1e6
            mw, mr = median(w, us), median(r, us)
            report["small"] = {"wrk_us_per_req": mw, "ringload_us_per_req": mr, "ratio": mr / mw,
                               "wrk_req_s": median(w, lambda x: x["requests"] / a.seconds),
                               "ringload_req_s": median(r, lambda x: x["requests"] / a.seconds),
                               "ringload_peak_rss_mib": median(r, lambda x: x["rss_kib"] / 1024),
                               "runs_wrk": [round(us(x), 3) for x in w],
                               "runs_ringload": [round(us(x), 3) for x in r],
                               "tls": r[-1]["tls"]}
        cpg = lambda x: x["cpu"] / (x["bytes"] / (1 << 30))
        for name, endpoint, extra in (("large", base, tls_args), ("plain", plain, [])):
            if name not in only:
                continue
            w, r = [], []
            for _ in range(a.runs):
                w.append(wrk(f"{endpoint}/b/big", 8, a.seconds))
                r.append(ringload(a.ringload, get(endpoint, "big", 8) + extra, a.seconds, tmp))
            mw, mr = median(w, cpg), median(r, cpg)
            report[name] = {"wrk_cpu_s_per_gib": mw, "ringload_cpu_s_per_gib": mr, "ratio": mr / mw,
                            "wrk_gib_s": median(w, lambda x: x["bytes"] / (1 << 30) / a.seconds),
                            "ringload_gib_s": median(r, lambda x: x["bytes"] / (1 << 30) / a.seconds),
                            "ringload_peak_rss_mib": median(r, lambda x: x["rss_kib"] / 1024),
                            "runs_wrk": [round(cpg(x), 4) for x in w],
                            "runs_ringload": [round(cpg(x), 4) for x in r],
                            "tls": r[-1]["tls"]}
        if "large" in report and "plain" in report:
            report["tls_over_plain_cpu_s_per_gib"] = (report["large"]["ringload_cpu_s_per_gib"]
                                                      / report["plain"]["ringload_cpu_s_per_gib"])
        if "rss" in only:
            sink = subprocess.Popen(["taskset", "-c", "0", a.ringload, "serve", "--listen",
                                     f"127.0.0.1:{sink_port}"], stdout=subprocess.DEVNULL)
            wait_port(sink_port)
            wait_port(put_port)
            runs = [ringload(a.ringload, put, a.rss_seconds, tmp) for _ in range(a.runs)]
            report["rss"] = {"peak_rss_mib": median(runs, lambda x: x["rss_kib"] / 1024),
                             "max_peak_rss_mib": max(x["rss_kib"] / 1024 for x in runs),
                             "put_gib_s": median(runs, lambda x: x["bytes"] / (1 << 30) / a.rss_seconds),
                             # Each run's peak RSS and how many of the 1,000 sessions nginx
                             # (one CPU, also proxying the uploads) had accepted by the end.
                             "runs_rss_mib_handshakes": [
                                 (round(x["rss_kib"] / 1024, 1), x["tls"]["handshakes"])
                                 for x in runs],
                             "tls": runs[-1]["tls"]}
    finally:
        if sink is not None:
            sink.terminate()
            sink.wait()
        stop_nginx(tmp)
        shutil.rmtree(tmp, ignore_errors=True)
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
