//! The flags as a workload: `RunArgs` and this process's rank become the engine's `Workload`
//! (without its endpoint, which `resolve` decides). Owns the defaults that depend on other
//! flags: the run length, the seed, the core count, and the loader ids that ranks replace.

use std::time::Duration;

use ringload_core::kinds::CksumType;
use ringload_engine::proto::ProtoConfig;
use ringload_engine::workload::{DriverKind, Protocol, Sampler, Workload};
use ringload_launcher::ranks::Rank;

use crate::cli::{DriverArg, RunArgs, SamplerArg};

/// The variable that overrides the PUT size from which AIS PUTs send `Expect: 100-continue`.
pub const EXPECT_MIN_ENV: &str = "RINGLOAD_EXPECT_MIN";

/// `RINGLOAD_EXPECT_MIN` (bytes, in `--minsize` syntax), read once: `None` when unset or empty
/// (the engine's default, 1 MiB); a bad value is an error naming the variable and the fix.
pub fn expect_min(env: &dyn Fn(&str) -> Option<String>) -> Result<Option<u64>, String> {
    let Some(v) = env(EXPECT_MIN_ENV).filter(|v| !v.is_empty()) else {
        return Ok(None);
    };
    ringload_core::units::parse_size(&v).map(Some).map_err(|e| {
        format!(
            "{EXPECT_MIN_ENV}={v:?}: {e}\n  hint: give the PUT size in bytes from which AIS \
             PUTs send `Expect: 100-continue` (--minsize syntax: 1 for every PUT, 1MiB, a huge \
             value for none), or unset it for the default 1 MiB"
        )
    })
}

/// aisloader's default run length when no duration and no other bound is given.
pub const DEFAULT_DURATION: Duration = Duration::from_secs(60);

/// Builds the workload from the flags and this process's rank (without the endpoint).
pub fn workload(a: &RunArgs, r: Rank, run_id: &str) -> Workload {
    let bounded = a.totalputsize > 0 || a.maxputs > 0 || a.epochs > 0;
    // A rate plan's default length depends on its steps: set with the plan, in `check`.
    let rated = a.rate.is_some() || a.rate_sweep.is_some();
    let duration = match a.duration {
        Some(d) if d.is_zero() => None,
        Some(d) => Some(d),
        None if bounded || rated => None,
        None => {
            eprintln!("note: --duration not given: running for 1m");
            Some(DEFAULT_DURATION)
        }
    };
    let distributed = a.sampler == SamplerArg::Distributed;
    let rank_names = r.ranks > 1 && a.loaderidhashlen == 0;
    if rank_names && (a.loaderid != "0" || a.loadernum != 0) {
        eprintln!(
            "note: --loaderid {} --loadernum {} replaced by the rank: {} of {} (ranks of one run \
             write disjoint names)",
            a.loaderid, a.loadernum, r.rank, r.ranks
        );
    }
    let seed = if a.seed != 0 {
        a.seed
    } else if distributed {
        // Every rank must draw the same permutations: derive the seed from the shared run id.
        ringload_core::rng::seed_from(run_id)
    } else {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(1, |d| d.as_nanos() as u64 | 1)
    };
    let cores = a
        .cores
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    Workload {
        endpoint: None,
        // Built with the endpoint, once its scheme is known (`--tls-*`, spec, AIS variables).
        tls: None,
        // Replaced by the resolved target's protocol in `run`.
        protocol: Protocol::Http,
        bucket: a.bucket.clone(),
        duration,
        numworkers: a.numworkers,
        pctput: a.pctput,
        pctupdate: a.pctupdate,
        minsize: a.minsize,
        maxsize: a.maxsize,
        maxputs: a.maxputs,
        totalputsize: a.totalputsize,
        epochs: a.epochs,
        uniquegets: a.uniquegets,
        readoff: a.readoff,
        readlen: a.readlen,
        subdir: a.subdir.clone(),
        putshards: a.putshards,
        filelist: a.filelist.clone(),
        // Ranks of one run write disjoint names: loaderid = rank, loadernum = ranks (unless
        // the names come from hashed loader ids, --loaderidhashlen, which are disjoint too).
        loaderid: if rank_names {
            r.rank.to_string()
        } else {
            a.loaderid.clone()
        },
        loadernum: if rank_names {
            u64::from(r.ranks)
        } else {
            a.loadernum
        },
        loaderidhashlen: a.loaderidhashlen,
        seed,
        statsinterval: a.statsinterval,
        timeout: (!a.timeout.is_zero()).then_some(a.timeout),
        cores,
        driver: match a.driver {
            DriverArg::Auto => DriverKind::Auto,
            DriverArg::Uring => DriverKind::Uring,
            DriverArg::Epoll => DriverKind::Epoll,
        },
        verify: a.verifyhash,
        sampler: if distributed {
            Sampler::Distributed
        } else {
            Sampler::Local
        },
        shard: (r.rank, r.ranks),
        // Filled from the cluster map by `remote` with --random-proxy.
        proxies: Vec::new(),
        trace_http: a.trace_http,
        // Set from the rate flags by `rate_args::plan`, in `check`.
        rate: None,
        // Set from the environment by `expect_min`.
        expect_min: None,
        proto: ProtoConfig {
            provider: "ais".into(),
            // Settled for the resolved protocol by `target::check_cksum_type`.
            cksum_type: a.cksum_type.unwrap_or(CksumType::Xxhash),
            s3_addressing: a.s3_addressing,
            latest: a.latest,
            list: ringload_engine::proto::AisListFlags {
                cached: a.cached,
                list_dirs: a.list_dirs,
                nbi: a.nbi,
            },
            ..ProtoConfig::default()
        },
        ml: a.ml.paths(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env_of(v: Option<&'static str>) -> impl Fn(&str) -> Option<String> {
        move |k: &str| {
            (k == EXPECT_MIN_ENV)
                .then_some(v)
                .flatten()
                .map(String::from)
        }
    }

    #[test]
    fn expect_min_is_read_in_size_syntax_and_unset_means_the_default() {
        assert_eq!(expect_min(&env_of(None)), Ok(None));
        assert_eq!(expect_min(&env_of(Some(""))), Ok(None));
        assert_eq!(expect_min(&env_of(Some("1"))), Ok(Some(1)));
        assert_eq!(expect_min(&env_of(Some("2MiB"))), Ok(Some(2 << 20)));
        assert_eq!(
            expect_min(&env_of(Some("4611686018427387904"))),
            Ok(Some(1 << 62))
        );
    }

    #[test]
    fn a_bad_expect_min_names_the_variable_and_the_fix() {
        for bad in ["lots", "-1", "1X"] {
            let e = expect_min(&env_of(Some(bad))).unwrap_err();
            assert!(e.starts_with("RINGLOAD_EXPECT_MIN=\""), "{e}");
            assert!(e.contains(bad) && e.contains("unset it"), "{e}");
        }
    }
}
