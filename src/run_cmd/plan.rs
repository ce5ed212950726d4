//! The plan line `ringload run` prints before the load: how many requests on how many cores,
//! against which target and bucket, the operation mix, what stops the run and, when the stop
//! bounds it, how much data the run moves (aisloader's default sizes, 1 MiB to 1 GiB, make a
//! modest `--maxputs` terabytes), and for a run over TLS whether it verifies certificates and
//! against whose roots, so a typo shows before the load starts.

use ringload_engine::report::fmt::{iec, thousands};
use ringload_engine::report::tls::roots_words;
use ringload_engine::workload::{Protocol, Workload};

use super::resolve::Resolved;

/// One line that says what the run is about to do, so a typo shows before the load starts.
pub fn line(w: &Workload, names: usize, names_bytes: Option<u64>, target: &Resolved) -> String {
    let cores = w.active_cores();
    let mix = match w.pctput {
        0 => format!("100% GET over {names} names"),
        100 => format!("100% PUT of {}..{} bytes", w.minsize, w.maxsize),
        p => format!(
            "{p}% PUT of {}..{} bytes, the rest GET",
            w.minsize, w.maxsize
        ),
    };
    let order = if w.pctput < 100 && w.uniquegets {
        ", each name once per epoch"
    } else {
        ""
    };
    let mut stops = Vec::new();
    if let Some(d) = w.duration {
        stops.push(format!("{:?}", d));
    }
    if w.epochs > 0 {
        stops.push(plural(w.epochs, "epoch"));
    }
    if w.maxputs > 0 {
        stops.push(format!("{} PUTs", w.maxputs));
    }
    if w.totalputsize > 0 {
        stops.push(format!("{} PUT bytes", w.totalputsize));
    }
    let until = if stops.is_empty() {
        "until interrupted".to_string()
    } else {
        format!("until {}", stops.join(" or "))
    };
    let volume = volume(w, names, names_bytes).map_or(String::new(), |v| format!(", {v}"));
    let url = target.describe(w.endpoint.as_ref().map_or("", |e| e.url.as_str()));
    let bucket = match w.protocol {
        Protocol::Ais => ringload_engine::ais::Bucket::of(w).to_string(),
        Protocol::S3 | Protocol::Http => w.bucket.clone(),
    };
    let tls = match &w.tls {
        None => String::new(),
        Some(t) if t.verified => format!(", TLS verify on ({})", roots_words(t)),
        Some(t) => format!(", TLS verification OFF ({})", roots_words(t)),
    };
    format!(
        "ringload: {} requests in flight on {cores} core(s) against {url} ({} bucket \
         {bucket}{tls}): {mix}{order}, {until}{volume} (seed {})",
        w.numworkers,
        w.protocol.as_str(),
        w.seed
    )
}

/// How much the run moves when its stop conditions bound it: PUT bytes from `--maxputs` (the
/// mean of the uniform size range times the count) or `--totalputsize` (whichever stops
/// first), and GETs from `--epochs` over `names` (with their bytes when every name's size is
/// known, `names_bytes`, and GETs read whole objects). `None` when nothing bounds the volume.
fn volume(w: &Workload, names: usize, names_bytes: Option<u64>) -> Option<String> {
    let mut parts = Vec::new();
    if w.pctput > 0 {
        let mean = (w.minsize as u128 + w.maxsize.max(w.minsize) as u128) / 2;
        let by_count =
            (w.maxputs > 0).then(|| (w.maxputs as u128 * mean).min(u64::MAX as u128) as u64);
        match (by_count, w.totalputsize) {
            (Some(b), t) if t == 0 || b < t => parts.push(format!(
                "about {} to PUT ({} \u{d7} {})",
                iec(b, 1),
                thousands(w.maxputs),
                range(w.minsize, w.maxsize)
            )),
            (_, t) if t > 0 => parts.push(format!("{} to PUT", iec(t, 1))),
            _ => {}
        }
    }
    if w.pctput < 100 && w.epochs > 0 && names > 0 {
        let gets = (names as u64).saturating_mul(w.epochs);
        let bytes = match names_bytes {
            Some(b) if w.readlen == 0 => {
                format!(", about {} to GET", iec(b.saturating_mul(w.epochs), 1))
            }
            _ => String::new(),
        };
        parts.push(format!(
            "{} GETs ({} names \u{d7} {}){bytes}",
            thousands(gets),
            thousands(names as u64),
            plural(w.epochs, "epoch")
        ));
    }
    (!parts.is_empty()).then(|| parts.join(", "))
}

/// `1 epoch`, `3 epochs`.
fn plural(n: u64, what: &str) -> String {
    if n == 1 {
        format!("1 {what}")
    } else {
        format!("{n} {what}s")
    }
}

/// A size range, `1MiB\u{2013}1GiB`, or one size when the range is a single value.
fn range(min: u64, max: u64) -> String {
    if max <= min {
        return size(min);
    }
    format!("{}\u{2013}{}", size(min), size(max))
}

/// [`iec`] without decimals for a whole number of its unit (`1MiB`), with one otherwise.
fn size(b: u64) -> String {
    let unit = [1u64 << 40, 1 << 30, 1 << 20, 1 << 10]
        .into_iter()
        .find(|&u| b >= u)
        .unwrap_or(1);
    iec(b, if b.is_multiple_of(unit) { 0 } else { 1 })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::run_cmd::resolve::Source;
    use ringload_engine::workload::Protocol;

    fn builtin() -> Resolved {
        Resolved {
            protocol: Protocol::Ais,
            endpoint: None,
            source: Source::Builtin,
            named_by: String::new(),
            notes: Vec::new(),
        }
    }

    fn puts(maxputs: u64, totalputsize: u64) -> Workload {
        Workload {
            pctput: 100,
            duration: None,
            maxputs,
            totalputsize,
            ..Workload::default()
        }
    }

    #[test]
    fn maxputs_with_default_sizes_shows_the_terabytes() {
        let w = puts(10_000, 0);
        assert_eq!(
            volume(&w, 0, None).as_deref(),
            Some("about 4.9TiB to PUT (10,000 \u{d7} 1MiB\u{2013}1GiB)")
        );
        assert_eq!(
            line(&w, 0, None, &builtin()),
            "ringload: 10 requests in flight on 1 core(s) against the built-in target at  \
             (http bucket ringload): 100% PUT of 1048576..1073741824 bytes, until 10000 PUTs, \
             about 4.9TiB to PUT (10,000 \u{d7} 1MiB\u{2013}1GiB) (seed 0)"
        );
    }

    #[test]
    fn fixed_size_puts_name_one_size() {
        let w = Workload {
            minsize: 1536,
            maxsize: 1536,
            ..puts(1000, 0)
        };
        assert_eq!(
            volume(&w, 0, None).as_deref(),
            Some("about 1.5MiB to PUT (1,000 \u{d7} 1.5KiB)")
        );
    }

    #[test]
    fn totalputsize_is_shown_exactly() {
        assert_eq!(
            volume(&puts(0, 10 << 30), 0, None).as_deref(),
            Some("10.0GiB to PUT")
        );
        // The smaller bound wins: 10,000 PUTs of ~512 MiB far exceed 10 GiB.
        assert_eq!(
            volume(&puts(10_000, 10 << 30), 0, None).as_deref(),
            Some("10.0GiB to PUT")
        );
    }

    #[test]
    fn epochs_count_the_gets() {
        let w = Workload {
            epochs: 3,
            ..Workload::default()
        };
        assert_eq!(
            volume(&w, 1200, None).as_deref(),
            Some("3,600 GETs (1,200 names \u{d7} 3 epochs)")
        );
        // With every name's size known (a listing, the built-in fill), the bytes too.
        assert_eq!(
            volume(&w, 1200, Some(1200 << 20)).as_deref(),
            Some("3,600 GETs (1,200 names \u{d7} 3 epochs), about 3.5GiB to GET")
        );
        let one = Workload {
            epochs: 1,
            ..Workload::default()
        };
        assert_eq!(
            volume(&one, 2, Some(10)).as_deref(),
            Some("2 GETs (2 names \u{d7} 1 epoch), about 10B to GET")
        );
        // A partial read (--readlen) moves less than the objects hold: no byte figure.
        let partial = Workload {
            epochs: 3,
            readlen: 4096,
            ..Workload::default()
        };
        assert_eq!(
            volume(&partial, 1200, Some(1200 << 20)).as_deref(),
            Some("3,600 GETs (1,200 names \u{d7} 3 epochs)")
        );
        let mixed = Workload {
            pctput: 50,
            maxputs: 4,
            minsize: 1024,
            maxsize: 3072,
            ..w
        };
        assert_eq!(
            volume(&mixed, 10, None).as_deref(),
            Some(
                "about 8.0KiB to PUT (4 \u{d7} 1KiB\u{2013}3KiB), \
                 30 GETs (10 names \u{d7} 3 epochs)"
            )
        );
    }

    #[test]
    fn a_run_over_tls_names_its_verification() {
        use ringload_net::tls::{client, ClientOptions};
        let https = Resolved {
            protocol: Protocol::S3,
            endpoint: Some("https://s3.example.com".into()),
            source: Source::Flag,
            named_by: "--s3endpoint".into(),
            notes: Vec::new(),
        };
        let mut w = Workload {
            protocol: Protocol::S3,
            endpoint: Some(
                ringload_engine::workload::Endpoint::parse("https://127.0.0.1").unwrap(),
            ),
            tls: Some(client(&ClientOptions::default()).unwrap()),
            ..puts(5, 0)
        };
        let roots = roots_words(w.tls.as_ref().unwrap());
        assert!(
            line(&w, 0, None, &https).starts_with(&format!(
                "ringload: 10 requests in flight on 1 core(s) against https://127.0.0.1 from \
                 --s3endpoint (s3 bucket ringload, TLS verify on ({roots})): 100% PUT"
            )),
            "{}",
            line(&w, 0, None, &https)
        );
        w.tls = Some(
            client(&ClientOptions {
                insecure: true,
                ..Default::default()
            })
            .unwrap(),
        );
        assert!(line(&w, 0, None, &https)
            .contains("(s3 bucket ringload, TLS verification OFF (--tls-insecure)): 100% PUT"));
        // The setting that turned verification off, or chose the CA, is named.
        w.tls = Some(
            client(&ClientOptions {
                insecure: true,
                source: Some("the spec's tls_insecure".into()),
                ..Default::default()
            })
            .unwrap(),
        );
        assert!(line(&w, 0, None, &https).contains(
            "(s3 bucket ringload, TLS verification OFF (the spec's tls_insecure)): 100% PUT"
        ));
        let dir = std::env::temp_dir().join(format!("ringload-plan-ca-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let ca = dir.join("ca.pem");
        let certs = ringload_net::tls::throwaway(&["127.0.0.1".into()]).unwrap();
        std::fs::write(&ca, certs.ca_pem).unwrap();
        w.tls = Some(
            client(&ClientOptions {
                ca_file: Some(ca),
                source: Some("AIS_CLIENT_CA".into()),
                ..Default::default()
            })
            .unwrap(),
        );
        assert!(line(&w, 0, None, &https)
            .contains("(s3 bucket ringload, TLS verify on (AIS_CLIENT_CA bundle)): 100% PUT"));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn an_unbounded_run_shows_no_total() {
        let w = Workload {
            pctput: 50,
            ..Workload::default()
        };
        assert_eq!(volume(&w, 100, None), None);
        assert!(line(&w, 100, None, &builtin()).ends_with("until 60s (seed 0)"));
    }
}
