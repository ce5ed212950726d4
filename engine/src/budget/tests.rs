//! Unit tests of the budget: the estimate and the verdict on made-up limits, the parsers of
//! the /proc texts, and the dominant-kind summary.

use std::collections::BTreeMap;

use super::limits::{mem_available, port_range};
use super::*;

fn plan(numworkers: u64, cores: u64) -> Plan {
    Plan {
        numworkers,
        cores,
        redirect_hosts: 0,
        builtin: None,
        prefill: 0,
        name_len: 32,
        filelist_bytes: 0,
        verify: false,
        tls: false,
        rate: false,
    }
}

fn roomy() -> Limits {
    Limits {
        nofile: 1 << 20,
        nofile_hard: 1 << 20,
        nr_open: Some(1 << 20),
        open_fds: 5,
        memory: Some((64 << 30, "MemAvailable in /proc/meminfo")),
        ports: Some((32768, 60999)),
    }
}

const BUILTIN_HTTP: BuiltinShape = BuiltinShape {
    nodes: 1,
    redirect_hosts: 0,
    conn_bytes: SERVER_CONN,
};
const BUILTIN_AIS: BuiltinShape = BuiltinShape {
    nodes: 3,
    redirect_hosts: 2,
    conn_bytes: SERVER_CONN,
};
/// About what one built-in target connection holds (its 8 KiB buffer and slots).
const SERVER_CONN: u64 = 9 * 1024;

#[test]
fn tls_sockets_add_their_sessions_and_buffers() {
    let plain = estimate(&plan(1000, 2));
    let tls = estimate(&Plan {
        tls: true,
        ..plan(1000, 2)
    });
    assert_eq!(tls.memory - plain.memory, 1000 * TLS_SESSION);
    assert!(TLS_SESSION >= (crate::tls::OUT_BUF + crate::tls::IN_BUF) as u64);
}

#[test]
fn an_external_endpoint_needs_a_socket_per_connection() {
    let n = estimate(&plan(1000, 2));
    assert_eq!(n.client_sockets, 1000);
    assert_eq!(n.server_sockets, 0);
    assert_eq!(n.other_fds, 2 + FD_MARGIN);
    assert_eq!(n.ports_per_destination, 1000);
}

#[test]
fn the_builtin_target_accepts_a_socket_per_client_socket_in_this_process() {
    let p = Plan {
        builtin: Some(BUILTIN_HTTP),
        ..plan(1000, 2)
    };
    let n = estimate(&p);
    assert_eq!(n.server_sockets, 1000);
    assert_eq!(n.fds(), 2000 + 2 + NODE_FDS + FD_MARGIN);
    assert!(n.memory > estimate(&plan(1000, 2)).memory + 1000 * SERVER_CONN);
}

#[test]
fn ais_redirects_add_the_idle_sockets_the_pools_may_keep() {
    // Few connections: every host's pool may hold all of a core's connections, but the
    // sockets of one connection are at most one per host.
    let p = Plan {
        builtin: Some(BUILTIN_AIS),
        redirect_hosts: 2,
        ..plan(100, 1)
    };
    assert_eq!(estimate(&p).client_sockets, 300);
    // Many connections: each pool keeps at most MAX_IDLE_PER_HOST per core.
    let p = Plan {
        numworkers: 100_000,
        cores: 2,
        ..p
    };
    let idle = 3 * MAX_IDLE_PER_HOST as u64 * 2;
    assert_eq!(estimate(&p).client_sockets, 100_000 + idle);
    assert_eq!(estimate(&p).server_sockets, 100_000 + idle);
}

#[test]
fn an_external_ais_cluster_counts_the_parked_proxy_socket() {
    let w = Workload {
        protocol: Protocol::Ais,
        numworkers: 10,
        cores: 1,
        ..Workload::default()
    };
    let p = Plan::new(&w, None, 1000);
    assert_eq!(p.redirect_hosts, 1);
    assert_eq!(p.prefill, 0, "no built-in target, nothing to fill");
    assert_eq!(estimate(&p).client_sockets, 20);
}

#[test]
fn a_run_that_fits_passes() {
    let need = check(&plan(1000, 2), &roomy()).unwrap();
    assert_eq!(need.client_sockets, 1000);
}

#[test]
fn too_few_descriptors_name_the_limit_the_numbers_and_the_fix() {
    let p = Plan {
        builtin: Some(BUILTIN_HTTP),
        ..plan(2000, 2)
    };
    let l = Limits {
        nofile: 1024,
        nofile_hard: 1024,
        ..roomy()
    };
    let e = check(&p, &l).unwrap_err();
    let BudgetError::Fds {
        need, max_workers, ..
    } = &e
    else {
        panic!("{e}");
    };
    assert_eq!(*need, 4000 + 2 + NODE_FDS + FD_MARGIN + 5);
    // The largest count that fits does, and one more does not.
    let with = |n| Plan {
        numworkers: n,
        ..p.clone()
    };
    assert!(check(&with(*max_workers), &l).is_ok());
    assert!(check(&with(*max_workers + 1), &l).is_err());
    let msg = e.to_string();
    for part in [
        "--numworkers 2000",
        "1024",
        "ulimit -n 4074",
        "2000 client sockets",
        "2000 accepted by the built-in target",
        "hard limit",
        "/etc/security/limits.conf",
        &format!("at most {max_workers} --numworkers"),
    ] {
        assert!(msg.contains(part), "{part:?} not in {msg}");
    }
}

#[test]
fn below_the_hard_limit_the_fix_needs_no_root() {
    let l = Limits {
        nofile: 1024,
        nofile_hard: 1 << 20,
        ..roomy()
    };
    let msg = check(&plan(2000, 1), &l).unwrap_err().to_string();
    assert!(msg.contains("ulimit -n"), "{msg}");
    assert!(!msg.contains("limits.conf"), "{msg}");
}

#[test]
fn above_the_kernel_maximum_only_fewer_workers_help() {
    let msg = check(&plan(2_000_000, 1), &roomy())
        .unwrap_err()
        .to_string();
    assert!(msg.contains("fs.nr_open = 1048576"), "{msg}");
    assert!(!msg.contains("limits.conf"), "{msg}");
}

#[test]
fn descriptors_already_open_count() {
    let n = estimate(&plan(1000, 1)).fds();
    let l = Limits {
        nofile: n + 10,
        ..roomy()
    };
    assert!(check(&plan(1000, 1), &l).is_ok());
    let l = Limits { open_fds: 11, ..l };
    assert!(check(&plan(1000, 1), &l).is_err());
}

#[test]
fn too_little_memory_names_both_figures_and_the_fix() {
    let l = Limits {
        memory: Some((256 << 20, "MemAvailable in /proc/meminfo")),
        ..roomy()
    };
    let e = check(&plan(200_000, 4), &l).unwrap_err();
    let BudgetError::Memory { max_workers, .. } = &e else {
        panic!("{e}");
    };
    assert!(*max_workers > 0 && *max_workers < 200_000, "{e}");
    assert!(estimate(&plan(*max_workers, 4)).memory <= 256 << 20);
    let msg = e.to_string();
    for part in [
        "256 MiB is available",
        "MemAvailable",
        "--numworkers 200000: ",
        "4 core(s): ",
        &format!("at most {max_workers} --numworkers"),
        "--cores",
    ] {
        assert!(msg.contains(part), "{part:?} not in {msg}");
    }
}

#[test]
fn names_that_alone_do_not_fit_name_the_prefill() {
    let p = Plan {
        prefill: 10_000_000_000,
        ..plan(4, 2)
    };
    let e = check(&p, &roomy()).unwrap_err();
    let msg = e.to_string();
    assert!(
        matches!(e, BudgetError::Memory { max_workers: 0, .. }),
        "{msg}"
    );
    assert!(msg.contains("--prefill 10000000000 names: "), "{msg}");
    assert!(msg.contains("use a smaller --prefill"), "{msg}");
    assert!(!msg.contains("at most 0"), "{msg}");
}

#[test]
fn prefill_and_filelist_names_take_memory() {
    let base = estimate(&plan(10, 1)).memory;
    let filled = Plan {
        prefill: 1_000_000,
        ..plan(10, 1)
    };
    assert!(estimate(&filled).memory >= base + 1_000_000 * 64);
    let listed = Plan {
        filelist_bytes: 1 << 30,
        verify: false,
        ..plan(10, 1)
    };
    assert!(estimate(&listed).memory >= base + (1 << 30));
}

#[test]
fn more_connections_than_local_ports_are_refused() {
    let e = check(&plan(30_000, 2), &roomy()).unwrap_err();
    let msg = e.to_string();
    assert!(
        matches!(e, BudgetError::Ports { count: 28232, .. }),
        "{msg}"
    );
    assert!(msg.contains("32768 60999"), "{msg}");
    assert!(msg.contains("ip_local_port_range"), "{msg}");
    assert!(check(&plan(28_232, 2), &roomy()).is_ok());
}

#[test]
fn a_hundred_million_workers_are_refused_without_overflow() {
    let p = Plan {
        builtin: Some(BUILTIN_AIS),
        redirect_hosts: 2,
        prefill: 1000,
        ..plan(100_000_000, 2)
    };
    let n = estimate(&p);
    assert!(n.memory > 100_000_000 * 4096, "{n:?}");
    assert!(check(&p, &roomy()).is_err());
    let l = Limits {
        nofile: u64::MAX,
        ..roomy()
    };
    assert!(matches!(check(&p, &l), Err(BudgetError::Memory { .. })));
}

#[test]
fn proc_texts_parse() {
    let meminfo = "MemTotal:       32000000 kB\nMemFree: 1 kB\nMemAvailable:   22866332 kB\n";
    assert_eq!(mem_available(meminfo), Some(22866332 * 1024));
    assert_eq!(mem_available("MemTotal: 1 kB\n"), None);
    assert_eq!(port_range("32768\t60999\n"), Some((32768, 60999)));
    assert_eq!(port_range("32768"), None);
}

#[test]
fn the_dominant_kind_names_its_cause() {
    let kinds: BTreeMap<String, u64> = [("connect".to_string(), 2), ("fd-limit".into(), 30)].into();
    let d = dominant(&kinds).unwrap().to_string();
    assert!(d.starts_with("mostly fd-limit (30): "), "{d}");
    assert!(d.contains("ulimit -n"), "{d}");
    let kinds: BTreeMap<String, u64> = [("no-ports".to_string(), 4)].into();
    assert!(dominant(&kinds)
        .unwrap()
        .to_string()
        .contains("ip_local_port_range"));
    let kinds: BTreeMap<String, u64> = [("no-memory".to_string(), 4)].into();
    assert!(dominant(&kinds).unwrap().to_string().contains("memory"));
    // A kind without a local cause is named alone; ties go to the first name.
    let kinds: BTreeMap<String, u64> = [("http-503".to_string(), 3), ("timeout".into(), 3)].into();
    let d = dominant(&kinds).unwrap();
    assert_eq!((d.kind.as_str(), d.count, d.cause), ("http-503", 3, None));
    assert_eq!(d.to_string(), "mostly http-503 (3)");
    assert_eq!(dominant(&BTreeMap::new()), None);
}

#[test]
fn io_errors_of_resources_have_causes() {
    let emfile = std::io::Error::from_raw_os_error(libc::EMFILE);
    assert!(io_cause(&emfile).unwrap().contains("file descriptors"));
    let refused = std::io::Error::from_raw_os_error(libc::ECONNREFUSED);
    assert_eq!(io_cause(&refused), None);
}

#[test]
fn snapshots_count_every_histogram_at_full_size() {
    // The constant is the crate's allocation for ringload's bounds.
    let h = ringload_core::hist::new_histogram();
    assert_eq!(
        HIST_BYTES,
        (h.distinct_values() * std::mem::size_of::<u64>()) as u64
    );
    // A closed loop: latency and four phases per class; --rate adds two service and one lag.
    assert_eq!(snapshot_bytes(false), 10 * HIST_BYTES);
    assert_eq!(snapshot_bytes(true), 13 * HIST_BYTES);
    let closed = estimate(&plan(8, 4));
    let rated = estimate(&Plan {
        rate: true,
        ..plan(8, 4)
    });
    // Four cores with two snapshots each, and the reporter's six, three histograms more each.
    assert_eq!(
        rated.memory_cores - closed.memory_cores,
        (4 * 2 + 6) * 3 * HIST_BYTES
    );
    assert_eq!(rated.memory - closed.memory, (4 * 2 + 6) * 3 * HIST_BYTES);
    // One more core costs its two snapshots of ten histograms and its fixed part.
    let five = estimate(&plan(8, 5));
    assert_eq!(
        five.memory_cores - closed.memory_cores,
        256 * 1024 + 2 * 10 * HIST_BYTES
    );
}
