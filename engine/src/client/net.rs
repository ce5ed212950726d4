//! The host's network counters for the self-diagnosis: TCP segments sent and retransmitted
//! (`/proc/net/snmp`) and each NIC's bytes against its link speed (`/sys/class/net`).
//!
//! Why separate from the thread readers: these are host-wide (every process of the network
//! namespace counts), read as deltas over the steady window, and most of their oddities
//! (columns found by name, virtual NICs without a speed) are about the files, not the threads.

use std::path::Path;

/// The TCP counters that give the retransmit rate, from the `Tcp:` lines of `/proc/net/snmp`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TcpCounters {
    pub out_segs: u64,
    pub retrans_segs: u64,
}

/// This network namespace's TCP counters (`None` when the file or the columns are missing).
pub fn tcp_counters() -> Option<TcpCounters> {
    parse_snmp(&std::fs::read_to_string("/proc/net/snmp").ok()?)
}

/// Parses `/proc/net/snmp`: the first `Tcp:` line names the columns, the second holds the
/// values; `OutSegs` and `RetransSegs` are found by name, since the kernel has added columns
/// over the years.
pub fn parse_snmp(text: &str) -> Option<TcpCounters> {
    let mut tcp = text.lines().filter(|l| l.starts_with("Tcp:"));
    let names: Vec<&str> = tcp.next()?.split_ascii_whitespace().collect();
    let values: Vec<&str> = tcp.next()?.split_ascii_whitespace().collect();
    let get = |name: &str| -> Option<u64> {
        let i = names.iter().position(|n| *n == name)?;
        values.get(i)?.parse().ok()
    };
    Some(TcpCounters {
        out_segs: get("OutSegs")?,
        retrans_segs: get("RetransSegs")?,
    })
}

/// A NIC that reports its link speed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Nic {
    pub name: String,
    /// Link speed in Mb/s, as `/sys/class/net/<if>/speed` gives it.
    pub speed_mbps: u64,
}

/// The NICs that report a link speed: loopback is skipped, and so are NICs whose speed is
/// unreadable (`EINVAL` is normal for virtual NICs and links that are down) or not positive
/// (`-1` means unknown).
pub fn nics() -> Vec<Nic> {
    nics_in(Path::new("/sys/class/net"))
}

/// [`nics`] under another root (for tests).
pub fn nics_in(root: &Path) -> Vec<Nic> {
    let Ok(dir) = std::fs::read_dir(root) else {
        return Vec::new();
    };
    let mut out: Vec<Nic> = dir
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            let name = e.file_name().into_string().ok()?;
            if name == "lo" {
                return None;
            }
            let speed = std::fs::read_to_string(e.path().join("speed")).ok()?;
            let speed_mbps = speed.trim().parse::<i64>().ok().filter(|&s| s > 0)?;
            Some(Nic {
                name,
                speed_mbps: speed_mbps as u64,
            })
        })
        .collect();
    out.sort_by(|a, b| a.name.cmp(&b.name));
    out
}

/// A NIC's byte counters `(rx, tx)` under `root` (`/sys/class/net`).
pub fn nic_bytes_in(root: &Path, name: &str) -> Option<(u64, u64)> {
    let read = |f: &str| -> Option<u64> {
        let p = root.join(name).join("statistics").join(f);
        std::fs::read_to_string(p).ok()?.trim().parse().ok()
    };
    Some((read("rx_bytes")?, read("tx_bytes")?))
}

/// A NIC's byte counters `(rx, tx)`.
pub fn nic_bytes(name: &str) -> Option<(u64, u64)> {
    nic_bytes_in(Path::new("/sys/class/net"), name)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SNMP: &str = "Ip: Forwarding DefaultTTL\nIp: 1 64\n\
        Tcp: RtoAlgorithm RtoMin RtoMax MaxConn ActiveOpens PassiveOpens AttemptFails \
        EstabResets CurrEstab InSegs OutSegs RetransSegs InErrs OutRsts InCsumErrors\n\
        Tcp: 1 200 120000 -1 5030 1210 21 45 7 903211 1022334 512 0 88 0\n\
        Udp: InDatagrams NoPorts\nUdp: 5 6\n";

    #[test]
    fn snmp_columns_are_found_by_name() {
        assert_eq!(
            parse_snmp(SNMP),
            Some(TcpCounters {
                out_segs: 1_022_334,
                retrans_segs: 512
            })
        );
        // Columns in another order (a newer kernel) still read right.
        let moved = "Tcp: RetransSegs Foo OutSegs\nTcp: 3 9 100\n";
        assert_eq!(
            parse_snmp(moved),
            Some(TcpCounters {
                out_segs: 100,
                retrans_segs: 3
            })
        );
        assert_eq!(parse_snmp("Tcp: OutSegs\n"), None);
        assert_eq!(parse_snmp("Tcp: OutSegs Other\nTcp: 5 6\n"), None);
        assert_eq!(parse_snmp(""), None);
        assert!(tcp_counters().is_some(), "this host's /proc/net/snmp");
    }

    #[test]
    fn only_nics_with_a_positive_speed_count() {
        let root = std::env::temp_dir().join(format!("ringload-nics-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        let nic = |name: &str, speed: Option<&str>, rx: u64, tx: u64| {
            let d = root.join(name);
            std::fs::create_dir_all(d.join("statistics")).unwrap();
            if let Some(s) = speed {
                std::fs::write(d.join("speed"), s).unwrap();
            }
            std::fs::write(d.join("statistics/rx_bytes"), format!("{rx}\n")).unwrap();
            std::fs::write(d.join("statistics/tx_bytes"), format!("{tx}\n")).unwrap();
        };
        nic("lo", Some("10000\n"), 1, 2);
        nic("eth1", Some("25000\n"), 3, 4);
        nic("eth0", Some("10000\n"), 5, 6);
        nic("veth9", Some("-1\n"), 0, 0);
        nic("virt0", None, 0, 0);
        nic("down0", Some("0\n"), 0, 0);
        let found = nics_in(&root);
        let names: Vec<&str> = found.iter().map(|n| n.name.as_str()).collect();
        assert_eq!(names, ["eth0", "eth1"]);
        assert_eq!(found[1].speed_mbps, 25_000);
        assert_eq!(nic_bytes_in(&root, "eth0"), Some((5, 6)));
        assert_eq!(nic_bytes_in(&root, "nope"), None);
        assert!(nics_in(&root.join("missing")).is_empty());
        std::fs::remove_dir_all(&root).unwrap();
    }
}
