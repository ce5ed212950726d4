use super::*;
use crate::hist::new_histogram;

fn record(start: u64, get: &[(u64, u64)], put: &[(u64, u64)]) -> IntervalRecord {
    let op = |vals: &[(u64, u64)]| {
        let mut h = new_histogram();
        for &(v, n) in vals {
            h.record_n(v, n).unwrap();
        }
        IntervalOp {
            count: h.len(),
            bytes: h.len() * 4096,
            errors: 1,
            histogram: encode_histogram_plain(&h),
        }
    };
    IntervalRecord {
        start_unix_ns: start,
        end_unix_ns: start + 1_000_000_000,
        ops: [("get".to_string(), op(get)), ("put".to_string(), op(put))]
            .into_iter()
            .collect(),
    }
}

fn sample() -> Vec<IntervalRecord> {
    vec![
        record(10, &[(120, 3), (7_000, 1), (2_000_000, 9)], &[]),
        // A count too wide for one word, and the histogram's extremes.
        record(
            20,
            &[(1, 200_000), (LATENCY_MAX_US, 5_000_000_000)],
            &[(900, 2)],
        ),
        record(30, &[], &[]),
    ]
}

#[test]
fn encode_then_decode_is_identity() {
    let ivs = sample();
    let bytes = encode(&ivs).unwrap();
    assert_eq!(decode(&bytes).unwrap(), ivs);
    let mut c = Carrier::open(&bytes).unwrap();
    assert_eq!(c.intervals, 3);
    let second = c.nth(1).unwrap().unwrap();
    let e: Vec<_> = second.ops[0].entries().collect();
    assert_eq!(
        e,
        [
            (index_for(1), 200_000),
            (index_for(LATENCY_MAX_US), 5_000_000_000)
        ]
    );
    // One narrow word would not hold either count: an escape and two words each.
    assert_eq!(second.ops[0].words.len(), 2 * 12);
    assert!(second.ops[0].wide && !second.ops[1].wide);
    assert_eq!((second.ops[1].count, second.ops[1].errors), (2, 1));
}

#[test]
fn classes_other_than_the_five_are_refused_by_name() {
    let mut ivs = sample();
    let op = ivs[0].ops["get"].clone();
    ivs[0].ops.insert("head".into(), op);
    let e = encode(&ivs).unwrap_err();
    assert!(
        e.contains("intervals[0].ops.head: the carrier holds only get, put, get_batch"),
        "{e}"
    );
}

/// `sample()` with `get_batch` (used) in every interval and `get_mpd` (never used) in the
/// first: a 5-class carrier.
fn ml_sample() -> Vec<IntervalRecord> {
    let mut ivs = sample();
    for (k, iv) in ivs.iter_mut().enumerate() {
        let mut h = new_histogram();
        h.record_n(40_000 + k as u64, 2).unwrap();
        let op = IntervalOp {
            count: 2,
            bytes: 2 * 64 * 16_384,
            errors: k as u64,
            histogram: encode_histogram_plain(&h),
        };
        iv.ops.insert("get_batch".into(), op);
    }
    let zero = IntervalOp {
        count: 0,
        bytes: 0,
        errors: 0,
        histogram: encode_histogram_plain(&new_histogram()),
    };
    ivs[0].ops.insert("get_mpd".into(), zero);
    ivs
}

#[test]
fn a_run_without_ml_classes_writes_two_classes_byte_for_byte() {
    let bytes = encode(&sample()).unwrap();
    assert_eq!(u32_at(&bytes, 8), 2);
    // The 2-class layout: header, then 80 fixed bytes per interval and the words.
    let words: usize = sample()
        .iter()
        .flat_map(|iv| iv.ops.values())
        .map(|o| {
            let mut w = Vec::new();
            if !o.histogram.is_empty() {
                push_words(&decode_histogram(&o.histogram).unwrap(), &mut w);
            }
            w.len()
        })
        .sum();
    assert_eq!(bytes.len(), HEADER_LEN + 3 * FIXED_LEN + words);
    assert_eq!(Carrier::open(&bytes).unwrap().classes, 2);
}

#[test]
fn ml_classes_make_a_five_class_carrier_that_round_trips() {
    let ivs = ml_sample();
    let bytes = encode(&ivs).unwrap();
    assert_eq!(u32_at(&bytes, 8), 5);
    let c = Carrier::open(&bytes).unwrap();
    assert_eq!((c.classes, c.intervals), (5, 3));
    let back = decode(&bytes).unwrap();
    // get_mpd never had an operation: it reads back absent, as the engine writes it.
    let mut want = ivs.clone();
    want[0].ops.remove("get_mpd");
    assert_eq!(back, want);
    let second = Carrier::open(&bytes).unwrap().nth(1).unwrap().unwrap();
    assert_eq!((second.ops[2].count, second.ops[2].errors), (2, 1));
    assert_eq!(second.ops[2].bytes, 2 * 64 * 16_384);
    assert_eq!(
        second.ops[2].entries().collect::<Vec<_>>(),
        [(index_for(40_001), 2)]
    );
    assert_eq!(second.ops[4].count, 0);
    // Every truncation and corruption of a 5-class carrier is an error, never a panic.
    for cut in 0..bytes.len() {
        assert!(decode(&bytes[..cut]).is_err(), "cut at {cut}");
    }
    for at in 0..bytes.len() {
        let mut bad = bytes.clone();
        bad[at] ^= 0xa5;
        let _ = decode(&bad);
    }
}

#[test]
fn class_counts_other_than_two_and_five_are_refused() {
    let good = encode(&sample()).unwrap();
    for n in [0u32, 1, 3, 4, 6, u32::MAX] {
        let mut bad = good.clone();
        bad[8..12].copy_from_slice(&n.to_le_bytes());
        let e = decode(&bad).unwrap_err();
        assert!(
            e.contains(&format!("carrier of {n} classes")) && e.contains("reads 2 or 5 classes"),
            "{e}"
        );
    }
}

#[test]
fn hostile_bytes_are_errors_never_panics() {
    let good = encode(&sample()).unwrap();
    // Every truncation.
    for cut in 0..good.len() {
        assert!(decode(&good[..cut]).is_err(), "cut at {cut}");
    }
    // Trailing bytes.
    let mut long = good.clone();
    long.push(0);
    assert!(decode(&long).unwrap_err().contains("follow the last"));
    // Every single-byte corruption decodes or fails; it never panics.
    for at in 0..good.len() {
        let mut bad = good.clone();
        bad[at] ^= 0xa5;
        let _ = decode(&bad);
    }
    // Out-of-order indices are named.
    let mut h = new_histogram();
    h.record(5).unwrap();
    let mut words = Vec::new();
    push_words(&h, &mut words);
    let mut bad = good[..HEADER_LEN].to_vec();
    bad[32..40].copy_from_slice(&1u64.to_le_bytes());
    bad.extend_from_slice(&[0; 16]);
    let mut class = [0u8; 32];
    class[24..28].copy_from_slice(&2u32.to_le_bytes());
    bad.extend_from_slice(&class);
    bad.extend_from_slice(&[0; 32]);
    bad.extend_from_slice(&words);
    bad.extend_from_slice(&words);
    let e = decode(&bad).unwrap_err();
    assert!(
        e.contains("interval 0: get: counter index out of range or out of order"),
        "{e}"
    );
    // Another histogram layout is refused with both layouts named.
    let mut other = good.clone();
    other[12] = 2;
    assert!(decode(&other).unwrap_err().contains("at 2 digits"));
    assert!(decode(b"{\"json\":1}").unwrap_err().contains("bad magic"));
}
