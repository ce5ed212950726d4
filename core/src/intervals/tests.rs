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
fn classes_other_than_get_and_put_are_refused_by_name() {
    let mut ivs = sample();
    let op = ivs[0].ops["get"].clone();
    ivs[0].ops.insert("head".into(), op);
    let e = encode(&ivs).unwrap_err();
    assert!(e.contains("intervals[0].ops.head"), "{e}");
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
