//! Object names and sizes for PUTs, following aisloader (docs/workload.md).
//!
//! Owns the loader-ID rules ([`loader_id`], [`name_bits`]) and the
//! [`Namer`], which turns the 1-based global PUT counter `cnt` into a name and a size.
//!
//! A name is `subdir` / `%05x(cnt % putshards)` / leaf, empty parts skipped. The leaf is either
//! 32 letters `[a-zA-Z]` (random mode: loadernum == 0 and loaderidhashlen == 0) or the
//! lowercase hex of `((cnt - 1) << bits) | loader_id` (deterministic mode).
//!
//! Invariants:
//! - Names and sizes are pure functions of `(workload, cnt)`: random letters and sizes are
//!   derived from `(seed, cnt)` with [`ringload_core::rng::hash2`], never from a per-core stream, so
//!   the same seed yields the same objects no matter how many cores issue them.
//! - Deterministic leaves are computed in 128 bits, so `bits` up to 64 never wraps (aisloader
//!   would wrap `(cnt - 1) << 64` to 0 and repeat names; we deliberately do not).
//! - [`Namer::write_name`] and [`Namer::put_size`] do not allocate (except `out` growing).

use crate::workload::Workload;
use ringload_core::rng::{hash2, scale, FastRng};

/// aisloader's XXH64 seed for hashing a string loader ID (`-loaderidhashlen`).
pub const LOADER_ID_HASH_SEED: u64 = 1_103_515_245;

/// Length of a random-mode leaf, as in aisloader.
pub const RANDOM_NAME_LEN: usize = 32;

/// Digits of the putshards directory (`%05x`), as in aisloader.
const SHARD_DIGITS: usize = 5;

/// The letters a random leaf is drawn from.
const LETTERS: &[u8; 52] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";

/// Salts that keep the per-object name and size streams independent of each other.
const NAME_SALT: u64 = 0x6e61_6d65_5f73_616c; // "name_sal"
const SIZE_SALT: u64 = 0x7369_7a65_5f73_616c; // "size_sal"

/// Rounds `x` up to a multiple of 4 (a whole hex digit).
fn ceil4(x: u32) -> u32 {
    x.div_ceil(4) * 4
}

/// Bits needed to hold `0..n`, i.e. ceil(log2(n)), but at least 1 (aisloader's helper
/// answers 1 for n == 1, which then rounds up to 4 bits).
fn ceil_log2_min1(n: u64) -> u32 {
    if n <= 2 {
        1
    } else {
        64 - (n - 1).leading_zeros()
    }
}

/// Low `bits` set (all 64 when `bits >= 64`).
fn low_mask(bits: u32) -> u64 {
    if bits >= 64 {
        u64::MAX
    } else {
        (1u64 << bits) - 1
    }
}

/// How many low bits of a deterministic leaf hold the loader ID: `ceil4(loaderidhashlen)` in
/// hash mode, `ceil4(ceil_log2(loadernum))` with loadernum (1..16 → 4, 17..256 → 8), else 0.
pub fn name_bits(w: &Workload) -> u32 {
    if w.loaderidhashlen > 0 {
        ceil4(w.loaderidhashlen)
    } else if w.loadernum > 0 {
        ceil4(ceil_log2_min1(w.loadernum))
    } else {
        0
    }
}

/// The numeric loader ID: `XXH64(loaderid, 1103515245)` masked to [`name_bits`] when
/// `loaderidhashlen > 0`, otherwise `loaderid` as a number (0 if it is not one; `validate`
/// rejects that case).
pub fn loader_id(w: &Workload) -> u64 {
    if w.loaderidhashlen > 0 {
        let h = xxhash_rust::xxh64::xxh64(w.loaderid.as_bytes(), LOADER_ID_HASH_SEED);
        h & low_mask(name_bits(w))
    } else {
        w.loaderid.trim().parse().unwrap_or(0)
    }
}

/// Appends the lowercase hex of `v` to `out`, zero-padded to at least `min_digits`.
fn push_hex(out: &mut Vec<u8>, v: u128, min_digits: usize) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut buf = [0u8; 32];
    let mut i = buf.len();
    let mut x = v;
    loop {
        i -= 1;
        buf[i] = HEX[(x & 0xf) as usize];
        x >>= 4;
        if x == 0 && buf.len() - i >= min_digits {
            break;
        }
    }
    out.extend_from_slice(&buf[i..]);
}

/// Normalises a subdir like Go's `path.Clean` for relative paths: empty and `.` components
/// are dropped, and so are repeated or trailing `/`.
fn clean_subdir(s: &str) -> String {
    s.split('/')
        .filter(|c| !c.is_empty() && *c != ".")
        .collect::<Vec<_>>()
        .join("/")
}

/// Produces the names and sizes of a run's PUTs. Immutable and `Sync`: share one per run.
#[derive(Debug, Clone)]
pub struct Namer {
    /// Cleaned subdir, empty if none.
    subdir: String,
    putshards: u64,
    /// `Some((bits, id))` in deterministic mode, `None` in random mode.
    deterministic: Option<(u32, u64)>,
    seed: u64,
    minsize: u64,
    maxsize: u64,
}

impl Namer {
    /// Captures the naming and size parameters of a (validated) workload.
    pub fn new(w: &Workload) -> Namer {
        let deterministic =
            (w.loadernum > 0 || w.loaderidhashlen > 0).then(|| (name_bits(w), loader_id(w)));
        Namer {
            subdir: w.subdir.as_deref().map(clean_subdir).unwrap_or_default(),
            putshards: w.putshards,
            deterministic,
            seed: w.seed,
            minsize: w.minsize,
            maxsize: w.maxsize,
        }
    }

    /// Clears `out` and writes the name of the `cnt`-th PUT (1-based, counted over the
    /// whole run/rank). `cnt == 0` is treated like 1 for the leaf's `cnt - 1`.
    pub fn write_name(&self, cnt: u64, out: &mut Vec<u8>) {
        out.clear();
        if !self.subdir.is_empty() {
            out.extend_from_slice(self.subdir.as_bytes());
        }
        if self.putshards > 0 {
            if !out.is_empty() {
                out.push(b'/');
            }
            push_hex(out, u128::from(cnt % self.putshards), SHARD_DIGITS);
        }
        if !out.is_empty() {
            out.push(b'/');
        }
        match self.deterministic {
            Some((bits, id)) => {
                let leaf = (u128::from(cnt.saturating_sub(1)) << bits) | u128::from(id);
                push_hex(out, leaf, 1);
            }
            None => {
                let mut rng = FastRng::new(hash2(self.seed ^ NAME_SALT, cnt));
                for _ in 0..RANDOM_NAME_LEN {
                    out.push(LETTERS[rng.below(LETTERS.len() as u64) as usize]);
                }
            }
        }
    }

    /// The size of the `cnt`-th PUT: uniform in `[minsize, maxsize]` (inclusive), derived from
    /// `(seed, cnt)`. Returns `minsize` when `maxsize <= minsize`.
    pub fn put_size(&self, cnt: u64) -> u64 {
        if self.maxsize <= self.minsize {
            return self.minsize;
        }
        let h = hash2(self.seed ^ SIZE_SALT, cnt);
        let span = self.maxsize - self.minsize;
        if span == u64::MAX {
            return h;
        }
        self.minsize + scale(h, span + 1)
    }
}

/// aisloader's shard name: a name without an extension (no `.` in its last path element)
/// gets the archive's, `ext` (`.tar`).
pub fn add_arch_ext(name: &mut Vec<u8>, ext: &str) {
    let base = name.rsplit(|&b| b == b'/').next().unwrap_or(&[]);
    if !base.contains(&b'.') {
        name.extend_from_slice(ext.as_bytes());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn w() -> Workload {
        Workload::default()
    }

    fn name(n: &Namer, cnt: u64) -> String {
        let mut out = Vec::new();
        n.write_name(cnt, &mut out);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn loader_id_vectors() {
        let hashed = Workload {
            loaderid: "loaderstring".into(),
            loaderidhashlen: 8,
            ..w()
        };
        assert_eq!(
            xxhash_rust::xxh64::xxh64(b"loaderstring", LOADER_ID_HASH_SEED),
            0x3107_2ebf_689e_abdb
        );
        assert_eq!(xxhash_rust::xxh64::xxh64(b"", 0), 0xef46_db37_51d8_e999);
        assert_eq!(name_bits(&hashed), 8);
        assert_eq!(format!("{:#x}", loader_id(&hashed)), "0xdb");
        let ten = Workload {
            loaderid: "10".into(),
            ..w()
        };
        assert_eq!(format!("{:#x}", loader_id(&ten)), "0xa");
        assert_eq!(format!("{:#x}", loader_id(&w())), "0x0");
        let h5 = Workload {
            loaderidhashlen: 5,
            ..hashed
        };
        assert_eq!(name_bits(&h5), 8);
        let h63 = Workload {
            loaderidhashlen: 63,
            ..h5
        };
        assert_eq!(name_bits(&h63), 64);
        assert_eq!(loader_id(&h63), 0x3107_2ebf_689e_abdb);
    }

    #[test]
    fn loadernum_bits() {
        let bits = |n| {
            name_bits(&Workload {
                loadernum: n,
                ..w()
            })
        };
        for n in 1..=16 {
            assert_eq!(bits(n), 4, "loadernum {n}");
        }
        for n in [17, 100, 255, 256] {
            assert_eq!(bits(n), 8, "loadernum {n}");
        }
        assert_eq!(bits(257), 12);
        assert_eq!(bits(0), 0);
    }

    #[test]
    fn deterministic_names_match_aisloader() {
        let n = Namer::new(&Workload {
            loaderid: "11".into(),
            loadernum: 20,
            ..w()
        });
        assert_eq!(name(&n, 1), "b");
        assert_eq!(name(&n, 2), "10b");
        assert_eq!(name(&n, 3), "20b");
        let n = Namer::new(&Workload {
            loaderid: "0".into(),
            loadernum: 1,
            subdir: Some("a/b/".into()),
            ..w()
        });
        assert_eq!(name(&n, 1), "a/b/0");
        assert_eq!(name(&n, 17), "a/b/100");
    }

    #[test]
    fn hash_mode_with_64_bits_does_not_wrap() {
        let n = Namer::new(&Workload {
            loaderid: "loaderstring".into(),
            loaderidhashlen: 64 - 1,
            ..w()
        });
        assert_eq!(name(&n, 1), "31072ebf689eabdb");
        assert_eq!(name(&n, 2), "131072ebf689eabdb");
    }

    #[test]
    fn putshards_and_subdir() {
        let n = Namer::new(&Workload {
            putshards: 1000,
            subdir: Some("x".into()),
            ..w()
        });
        for (cnt, dir) in [
            (1, "x/00001/"),
            (2, "x/00002/"),
            (999, "x/003e7/"),
            (1000, "x/00000/"),
        ] {
            let s = name(&n, cnt);
            assert!(s.starts_with(dir), "{cnt}: {s}");
            let leaf = &s[dir.len()..];
            assert_eq!(leaf.len(), RANDOM_NAME_LEN, "{s}");
            assert!(leaf.bytes().all(|b| b.is_ascii_alphabetic()), "{s}");
        }
        let n = Namer::new(&Workload {
            putshards: 16,
            ..w()
        });
        assert!(name(&n, 17).starts_with("00001/"));
    }

    #[test]
    fn subdir_is_cleaned() {
        assert_eq!(clean_subdir("x/"), "x");
        assert_eq!(clean_subdir("a//b/./c/"), "a/b/c");
        assert_eq!(clean_subdir("."), "");
        let n = Namer::new(&Workload {
            subdir: Some("./".into()),
            loadernum: 2,
            ..w()
        });
        assert_eq!(name(&n, 1), "0");
    }

    #[test]
    fn random_names_depend_only_on_seed_and_cnt() {
        let a = Namer::new(&Workload { seed: 42, ..w() });
        let b = Namer::new(&Workload { seed: 42, ..w() });
        let c = Namer::new(&Workload { seed: 43, ..w() });
        assert_eq!(name(&a, 5), name(&b, 5));
        assert_ne!(name(&a, 5), name(&c, 5));
        let names: std::collections::HashSet<String> = (1..=10_000).map(|i| name(&a, i)).collect();
        assert_eq!(names.len(), 10_000);
        let all = (1..=200).map(|i| name(&a, i)).collect::<String>();
        assert!(all.bytes().any(|b| b.is_ascii_uppercase()));
        assert!(all.bytes().any(|b| b == b'z' || b == b'Z'));
    }

    #[test]
    fn write_name_reuses_the_buffer() {
        let n = Namer::new(&w());
        let mut out = Vec::with_capacity(64);
        n.write_name(1, &mut out);
        let first = out.clone();
        let cap = out.capacity();
        n.write_name(2, &mut out);
        assert_eq!(out.len(), RANDOM_NAME_LEN);
        assert_ne!(out, first);
        assert_eq!(out.capacity(), cap);
    }

    #[test]
    fn shard_names_get_the_archive_extension_unless_they_have_one() {
        for (name, want) in [
            ("a/b", "a/b.tar"),
            ("x.y/b", "x.y/b.tar"),
            ("a/b.bin", "a/b.bin"),
            ("s.tar", "s.tar"),
        ] {
            let mut n = name.as_bytes().to_vec();
            add_arch_ext(&mut n, ".tar");
            assert_eq!(n, want.as_bytes(), "{name}");
        }
    }

    #[test]
    fn put_sizes_are_uniform_inclusive_and_deterministic() {
        let n = Namer::new(&Workload {
            minsize: 10,
            maxsize: 13,
            seed: 1,
            ..w()
        });
        let mut seen = [0u32; 4];
        for cnt in 1..=4000 {
            let s = n.put_size(cnt);
            assert!((10..=13).contains(&s));
            seen[(s - 10) as usize] += 1;
        }
        assert!(seen.iter().all(|&c| c > 800), "{seen:?}");
        let same = Namer::new(&Workload {
            minsize: 10,
            maxsize: 13,
            seed: 1,
            ..w()
        });
        assert!((1..100).all(|c| n.put_size(c) == same.put_size(c)));
        let fixed = Namer::new(&Workload {
            minsize: 7,
            maxsize: 7,
            ..w()
        });
        assert_eq!(fixed.put_size(3), 7);
        let full = Namer::new(&Workload {
            minsize: 0,
            maxsize: u64::MAX,
            ..w()
        });
        assert_ne!(full.put_size(1), full.put_size(2));
    }
}
