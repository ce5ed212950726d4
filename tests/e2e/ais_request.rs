//! End-to-end, AIS per-request features against the built-in AIS cluster (2 proxies, 3 targets,
//! a separate process on loopback): `--random-proxy` (the cluster map, each proxy's share, in
//! the result and on the proxies' own counters), `--pctupdate` (a GET then a PUT of the same
//! object), `--latest` (`latest-ver=true` reaches the targets) and every `--cksum-type` (PUT,
//! then a `--verifyhash` GET; a wrong checksum is refused by the target).

use std::io::{Read, Write};

use crate::common;

use common::cluster::Cluster;
use common::*;

fn ais(c: &Cluster) -> Run {
    Run::new().protocol("ais").endpoint(&c.proxies[0])
}

/// `requests.<kind>` of one listener.
fn requests(url: &str, kind: &str) -> u64 {
    Cluster::stats(url)["requests"][kind].as_u64().unwrap()
}

/// Fills `bucket` with `n` objects of 4 KiB through the first proxy.
fn fill(c: &Cluster, bucket: &str, n: u64, extra: &[&str]) {
    ais(c)
        .bucket(bucket)
        .pctput(100)
        .maxputs(n)
        .size("4K")
        .workers(4)
        .args(extra)
        .run()
        .ok();
}

#[test]
fn random_proxy_spreads_requests_over_both_proxies() {
    let c = Cluster::start(&["--proxies", "2", "--targets", "3"]);
    let dir = Scratch::new("ais-random-proxy");
    let res = dir.path().join("put.json");
    let put = ais(&c)
        .bucket("rp")
        .pctput(100)
        .maxputs(300)
        .size("4K")
        .workers(8)
        .flag("--random-proxy")
        .result(&res)
        .run();
    put.ok();
    let r = result(&res);
    put.check(op(&r, "put", "count") == 300, "300 PUTs");
    let proxies = r["proxies"].as_array().expect("a proxies key");
    put.check(proxies.len() == 2, "both proxies in the result");
    let mut total = 0;
    for (i, p) in proxies.iter().enumerate() {
        let (url, n) = (p["url"].as_str().unwrap(), p["requests"].as_u64().unwrap());
        assert_eq!(url, c.proxies[i], "the map's order");
        put.check(n * 100 >= 30 * 300, &format!("{url} got {n} of 300"));
        assert_eq!(requests(url, "put"), n, "{url}'s own count agrees");
        total += n;
    }
    assert_eq!(total, 300);
    let share = |n: u64| (n * 100 + 150) / 300;
    let line = format!(
        "proxies: 2, requests {}% / {}%\n",
        share(proxies[0]["requests"].as_u64().unwrap()),
        share(proxies[1]["requests"].as_u64().unwrap())
    );
    put.check(
        put.stdout().contains(&line),
        &format!("summary has {line:?}"),
    );

    // GETs too, verified, each object once.
    let res = dir.path().join("get.json");
    let get = ais(&c)
        .bucket("rp")
        .epochs(1)
        .workers(8)
        .flag("--random-proxy")
        .flag("--verifyhash")
        .result(&res)
        .run();
    get.ok();
    let r = result(&res);
    get.check(
        op(&r, "get", "count") == 300 && op(&r, "get", "errors") == 0,
        "300 GETs",
    );
    for p in r["proxies"].as_array().unwrap() {
        let (url, n) = (p["url"].as_str().unwrap(), p["requests"].as_u64().unwrap());
        get.check(n >= 90, &format!("{url} got {n} of 300 GETs"));
        assert_eq!(requests(url, "get"), n, "{url}'s own count agrees");
    }

    // Other protocols are refused, naming the flag.
    let http = Run::new().duration("1s").flag("--random-proxy").run();
    http.check(http.code() != 0, "refused for http");
    http.check(http.stderr().contains("--random-proxy"), "names the flag");
}

#[test]
fn random_proxy_on_the_built_in_target_is_refused_before_it_starts() {
    let run = Run::new()
        .protocol("ais")
        .duration("1s")
        .flag("--random-proxy")
        .run();
    run.check(run.code() == 2, "a usage error");
    run.check(
        run.stderr().contains(
            "the built-in quick-start target is a single listener: start a cluster with \
             `ringload serve --protocol ais --proxies 2` and name it with --endpoint URL",
        ),
        "names the built-in target and the fix",
    );
    run.check(
        !run.stderr().contains("prefill") && !run.stderr().contains("Prefill"),
        "before the prefill",
    );
}

#[test]
fn random_proxy_against_a_node_without_a_map_names_the_flag() {
    // A plain-HTTP built-in target answers 404 to the map request.
    let plain = ringload_server_http();
    let run = Run::new()
        .protocol("ais")
        .endpoint(&plain.1)
        .bucket("x")
        .pctput(100)
        .maxputs(1)
        .flag("--random-proxy")
        .run();
    run.check(run.code() != 0, "no map, no run");
    run.check(
        run.stderr().contains("--random-proxy") && run.stderr().contains("cluster map"),
        "names the flag and the map",
    );
    drop(plain);
}

/// A `ringload serve --protocol http` on loopback: (child, url).
fn ringload_server_http() -> (ChildGuard, String) {
    use std::io::BufRead;
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_ringload"))
        .args(["serve", "--protocol", "http", "--listen", "127.0.0.1:0"])
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::inherit())
        .spawn()
        .unwrap();
    let mut out = std::io::BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    out.read_line(&mut line).unwrap();
    let v: serde_json::Value = serde_json::from_str(&line).unwrap();
    let url = v["url"].as_str().unwrap().to_string();
    (ChildGuard(child), url)
}

struct ChildGuard(std::process::Child);

impl Drop for ChildGuard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn pctupdate_follows_each_chosen_get_with_a_put_of_the_same_object() {
    let c = Cluster::start(&["--proxies", "2", "--targets", "3"]);
    fill(&c, "upd", 120, &[]);
    let dir = Scratch::new("ais-update");
    let res = dir.path().join("r.json");
    let run = ais(&c)
        .bucket("upd")
        .epochs(1)
        .workers(6)
        .arg("--pctupdate", 100)
        .flag("--verifyhash")
        .result(&res)
        .run();
    run.ok();
    let r = result(&res);
    run.check(op(&r, "get", "count") == 120, "each object read once");
    run.check(op(&r, "put", "count") == 120, "and updated once");
    run.check(
        op(&r, "get", "errors") + op(&r, "put", "errors") == 0,
        "no errors",
    );
    run.check(
        op(&r, "put", "bytes") == 120 * 4096,
        "each update as large as its object",
    );
    assert_eq!(
        Cluster::sum(&c.targets, "put"),
        240,
        "targets stored 120 + 120 PUTs"
    );
    // The updated objects still verify.
    let res = dir.path().join("after.json");
    ais(&c)
        .bucket("upd")
        .epochs(1)
        .workers(6)
        .flag("--verifyhash")
        .result(&res)
        .run()
        .ok();
    let r = result(&res);
    assert_eq!((op(&r, "get", "count"), op(&r, "get", "errors")), (120, 0));

    // Mixed with PUTs, exactly aisloader's draw: order T (1, 2, ...) is a PUT when
    // mix64(T) % 100 < pctput, else a GET, followed by an update when that same value is
    // below pctupdate. One connection makes the orders sequential; the run stops at the
    // order that would be PUT number 31.
    let res = dir.path().join("mixed.json");
    ais(&c)
        .bucket("upd")
        .workers(1)
        .pctput(20)
        .maxputs(30)
        .size("4K")
        .arg("--pctupdate", 50)
        .result(&res)
        .run()
        .ok();
    let r = result(&res);
    let (mut puts, mut gets, mut updates) = (0, 0, 0);
    for t in 1.. {
        let h = ringload_core::rng::mix64(t) % 100;
        if h < 20 {
            puts += 1;
            if puts > 30 {
                break;
            }
        } else {
            gets += 1;
            updates += u64::from(h < 50);
        }
    }
    let (g, p) = (op(&r, "get", "count"), op(&r, "put", "count"));
    assert_eq!((g, p), (gets, 30 + updates), "GETs and PUTs + updates");

    // Updates need GETs.
    let bad = ais(&c)
        .bucket("upd")
        .pctput(100)
        .maxputs(1)
        .arg("--pctupdate", 10)
        .run();
    bad.check(bad.code() != 0, "refused");
    bad.check(
        bad.stderr().contains("--pctupdate") && bad.stderr().contains("--pctput 100"),
        "names both flags",
    );
    // At or below --pctput, aisloader's draw updates nothing: refused.
    let none = ais(&c)
        .bucket("upd")
        .pctput(50)
        .maxputs(1)
        .arg("--pctupdate", 50)
        .run();
    none.check(none.code() == 2, "refused");
    none.check(
        none.stderr()
            .contains("so --pctupdate at or below --pctput 50 updates nothing"),
        "says why",
    );
}

#[test]
fn latest_reaches_the_targets() {
    let c = Cluster::start(&["--proxies", "1", "--targets", "3"]);
    fill(&c, "lat", 50, &[]);
    let latest = |urls: &[String]| -> u64 {
        urls.iter()
            .map(|u| Cluster::stats(u)["latest_ver"].as_u64().unwrap())
            .sum()
    };
    ais(&c).bucket("lat").epochs(1).workers(4).run().ok();
    assert_eq!(latest(&c.targets), 0, "plain GETs do not ask");
    ais(&c)
        .bucket("lat")
        .epochs(1)
        .workers(4)
        .flag("--latest")
        .run()
        .ok();
    assert_eq!(latest(&c.targets), 50, "every --latest GET asked");
    let http = Run::new().duration("1s").flag("--latest").run();
    http.check(
        http.code() != 0 && http.stderr().contains("--latest"),
        "refused for http",
    );
}

#[test]
fn every_checksum_type_puts_and_verifies() {
    let c = Cluster::start(&["--proxies", "1", "--targets", "3"]);
    for t in [
        "xxhash", "xxhash2", "md5", "crc32c", "sha256", "sha512", "none",
    ] {
        let bucket = format!("ck-{t}");
        fill(&c, &bucket, 20, &["--cksum-type", t]);
        let dir = Scratch::new("ais-cksum");
        let res = dir.path().join("r.json");
        let get = ais(&c)
            .bucket(&bucket)
            .epochs(1)
            .workers(4)
            .flag("--verifyhash")
            .result(&res)
            .run();
        get.ok();
        let r = result(&res);
        get.check(
            op(&r, "get", "count") == 20 && op(&r, "get", "errors") == 0,
            &format!("{t}: 20 verified GETs"),
        );
    }
    // A PUT whose checksum does not match its content is refused by the target.
    let hostport = c.targets[0].trim_start_matches("http://");
    let mut s = std::net::TcpStream::connect(hostport).unwrap();
    write!(
        s,
        "PUT /v1/objects/ck-md5/forged?provider=ais&pid=p1 HTTP/1.1\r\nHost: {hostport}\r\n\
         Ais-Checksum-Type: md5\r\nAis-Checksum-Value: {}\r\nContent-Length: 10\r\n\
         Connection: close\r\n\r\n0123456789",
        "0".repeat(32)
    )
    .unwrap();
    let mut text = String::new();
    s.read_to_string(&mut text).unwrap();
    assert!(text.starts_with("HTTP/1.1 400 "), "{text}");
    assert!(text.contains("BAD DATA CHECKSUM"), "{text}");
}

/// `--random-proxy` over https: the map's https URLs, a TLS session per proxy, exact counts.
#[test]
fn random_proxy_over_https() {
    use common::tls::{self, Pki};
    let pki = Pki::make();
    let c = Cluster::start(&[
        "--proxies",
        "2",
        "--targets",
        "2",
        "--tls-cert",
        pki.server.cert.to_str().unwrap(),
        "--tls-key",
        pki.server.key.to_str().unwrap(),
    ]);
    let dir = Scratch::new("ais-random-proxy-tls");
    let res = dir.path().join("put.json");
    let put = ais(&c)
        .arg("--tls-ca", pki.ca.to_str().unwrap())
        .bucket("rpt")
        .pctput(100)
        .maxputs(200)
        .size("4K")
        .workers(8)
        .flag("--random-proxy")
        .result(&res)
        .run();
    put.ok();
    let r = result(&res);
    put.check(
        op(&r, "put", "count") == 200 && op(&r, "put", "errors") == 0,
        "200 PUTs",
    );
    for (i, p) in r["proxies"].as_array().unwrap().iter().enumerate() {
        let (url, n) = (p["url"].as_str().unwrap(), p["requests"].as_u64().unwrap());
        assert!(url.starts_with("https://") && url == c.proxies[i], "{url}");
        put.check(n * 100 >= 30 * 200, &format!("{url} got {n} of 200"));
        let seen = tls::stats(url, &pki.ca)["requests"]["put"]
            .as_u64()
            .unwrap();
        assert_eq!(seen, n, "{url}'s own count agrees");
    }
}

#[test]
fn merge_sums_each_proxys_requests_over_the_ranks() {
    let c = Cluster::start(&["--proxies", "2", "--targets", "3"]);
    fill(&c, "rpm", 40, &[]);
    let dir = Scratch::new("ais-random-proxy-merge");
    let results = dir.path().to_str().unwrap();
    for rank in 0..2 {
        ais(&c)
            .bucket("rpm")
            .epochs(1)
            .workers(4)
            .flag("--random-proxy")
            .rank(rank)
            .args(&["--ranks", "2", "--results-dir", results, "--run-id", "rp"])
            .run()
            .ok();
    }
    let run_dir = dir.path().join("rp");
    let mut want = vec![0u64; 2];
    for rank in 0..2 {
        let r = result(&run_dir.join(format!("rank-{rank}.json")));
        for (i, p) in r["proxies"].as_array().unwrap().iter().enumerate() {
            want[i] += p["requests"].as_u64().unwrap();
        }
    }
    assert_eq!(
        want.iter().sum::<u64>(),
        80,
        "each rank read the 40 objects once"
    );
    let m = ringload(&["merge", run_dir.to_str().unwrap()]);
    m.ok();
    let s = result(&run_dir.join("summary.json"));
    let got: Vec<(String, u64)> = s["proxies"]
        .as_array()
        .expect("the merged proxies key")
        .iter()
        .map(|p| {
            let url = p["url"].as_str().unwrap().to_string();
            (url, p["requests"].as_u64().unwrap())
        })
        .collect();
    let urls: Vec<String> = got.iter().map(|g| g.0.clone()).collect();
    assert_eq!(urls, c.proxies, "the map's order");
    assert_eq!(got.iter().map(|g| g.1).collect::<Vec<_>>(), want);
    let text = std::fs::read_to_string(run_dir.join("summary.txt")).unwrap();
    let share = |n: u64| (n * 100 + 40) / 80;
    let line = format!(
        "\nproxies: 2, requests {}% / {}%\n",
        share(want[0]),
        share(want[1])
    );
    assert!(text.contains(&line), "summary.txt has {line:?}:\n{text}");
}
