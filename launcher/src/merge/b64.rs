//! A fast decoder of standard, padded base64: the merge's hot path.
//!
//! A merge of 1,024 ranks × 3,600 intervals decodes about 1 GB of base64 (7.4 M histogram
//! strings of a few hundred characters); the `base64` crate's general decoder was 8.7% of that
//! merge's profile (benches/RESULTS.md). This one decodes 8 characters (6 bytes) per step through one 256-entry table
//! into a pre-sized output, and checks validity once per string (an OR of the table entries).
//!
//! It only answers "decoded" or "not valid": on `false`, callers decode again with the
//! `base64` crate to get a precise error message. Invariant: on `true`, the output equals the
//! `base64` crate's `STANDARD` decoding of the same input.

/// Table entry for a byte that is not in the standard alphabet.
const BAD: u8 = 0x80;

const TABLE: [u8; 256] = {
    let mut t = [BAD; 256];
    let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut i = 0;
    while i < 64 {
        t[alphabet[i] as usize] = i as u8;
        i += 1;
    }
    t
};

/// Decodes `text` (standard alphabet, padded, no whitespace), appending to `out`.
/// Returns `false`, with `out` in an unspecified state, if `text` is not such base64.
pub fn decode_into(text: &[u8], out: &mut Vec<u8>) -> bool {
    out.clear();
    if !text.len().is_multiple_of(4) {
        return false;
    }
    if text.is_empty() {
        return true;
    }
    // The last quartet may carry padding; every other one is 4 alphabet characters.
    let (body, last) = text.split_at(text.len() - 4);
    let full = body.len() / 4 * 3;
    out.resize(full, 0);
    let mut bad = 0u8;
    let mut src = body.chunks_exact(8);
    let mut dst = out.chunks_exact_mut(6);
    for (c, o) in (&mut src).zip(&mut dst) {
        let mut w = 0u64;
        for &ch in c {
            let x = TABLE[ch as usize];
            bad |= x;
            w = (w << 6) | u64::from(x);
        }
        o.copy_from_slice(&w.to_be_bytes()[2..]);
    }
    if let (Some(o), [a, b, c, d]) = (dst.into_remainder().get_mut(..3), src.remainder()) {
        let v = [a, b, c, d].map(|&ch| TABLE[ch as usize]);
        bad |= v[0] | v[1] | v[2] | v[3];
        let w = v.iter().fold(0u32, |a, &x| (a << 6) | u32::from(x));
        o.copy_from_slice(&w.to_be_bytes()[1..]);
    }
    let keep = match last {
        [_, _, b'=', b'='] => 1,
        [_, _, _, b'='] => 2,
        _ => 3,
    };
    let v: [u8; 4] = std::array::from_fn(|k| if k > keep { 0 } else { TABLE[last[k] as usize] });
    bad |= v[0] | v[1] | v[2] | v[3];
    let w = v.iter().fold(0u32, |a, &x| (a << 6) | u32::from(x & 0x3f));
    let bytes = w.to_be_bytes();
    // Canonical padding: the bits a padded quartet drops must be zero, as the crate demands.
    let dropped = match keep {
        1 => bytes[2] | bytes[3],
        2 => bytes[3],
        _ => 0,
    };
    out.extend_from_slice(&bytes[1..1 + keep]);
    bad & BAD == 0 && dropped == 0
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine as _;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn agrees_with_the_crate(bytes in prop::collection::vec(any::<u8>(), 0..200)) {
            let text = base64::engine::general_purpose::STANDARD.encode(&bytes);
            let mut out = Vec::new();
            prop_assert!(decode_into(text.as_bytes(), &mut out));
            prop_assert_eq!(out, bytes);
        }

        #[test]
        fn accepts_only_what_the_crate_accepts(text in "[A-Za-z0-9+/=!. ]{0,24}") {
            let mut out = Vec::new();
            let ours = decode_into(text.as_bytes(), &mut out);
            let crate_says = base64::engine::general_purpose::STANDARD.decode(&text);
            if ours {
                prop_assert_eq!(Ok(out), crate_says);
            }
        }
    }

    #[test]
    fn rejects_bad_input() {
        let mut out = Vec::new();
        for bad in [
            "A", "AB=", "A===", "!!!!", "AAAA!AAA", "AB==AAAA", "AR==", "AAB=",
        ] {
            assert!(!decode_into(bad.as_bytes(), &mut out), "{bad}");
        }
        assert!(decode_into(b"", &mut out) && out.is_empty());
        assert!(decode_into(b"AA==", &mut out) && out == [0]);
    }
}
