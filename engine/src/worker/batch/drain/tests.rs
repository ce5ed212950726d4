//! The drain against every split of a small archive across reads, every legal kernel drop,
//! and hostile streams.

use super::*;
use ringload_core::rng::FastRng;

const LONG: &str = "bk/a-very-long-directory-name-that-does-not-fit-the-ustar-name-field/\
                    and-a-file-name-long-enough-to-need-a-pax-header-for-its-path.bin";

/// The members: (name in the archive, size); the content of each is its name's pattern.
fn members() -> Vec<(Vec<u8>, u64)> {
    vec![
        (b"bk/one".to_vec(), 700),
        (LONG.as_bytes().to_vec(), 3),
        (b"bk/three".to_vec(), 1024),
    ]
}

fn archive(ms: &[(Vec<u8>, u64)]) -> Vec<u8> {
    let mut out = Vec::new();
    for (name, size) in ms {
        tar::encode_file(name, *size, &mut out);
        let real = name.strip_prefix(MISSING_DIR).unwrap_or(name);
        let start = content::object_start(real);
        let mut pos = 0;
        while pos < *size {
            let c = content::pattern().chunk(start, pos, (*size - pos) as usize);
            out.extend_from_slice(c);
            pos += c.len() as u64;
        }
        out.resize(out.len() + (tar::padded(*size) - size) as usize, 0);
    }
    tar::encode_end(&mut out);
    out
}

fn drain(ms: &[(Vec<u8>, u64)], verify: bool, coer: bool) -> Drain {
    let mut d = Drain::default();
    d.begin(verify, coer);
    for (name, _) in ms {
        let real = name.strip_prefix(MISSING_DIR).unwrap_or(name);
        d.expect(&[real], None, content::object_start(real));
    }
    d
}

fn body_total(ms: &[(Vec<u8>, u64)]) -> u64 {
    ms.iter().map(|m| m.1).sum()
}

#[test]
fn every_split_in_two_reads_is_one_archive() {
    let ms = members();
    let a = archive(&ms);
    for verify in [false, true] {
        for cut in 0..=a.len() {
            let mut d = drain(&ms, verify, false);
            d.feed(&a[..cut]);
            d.feed(&a[cut..]);
            assert_eq!(d.finish(), Ok(()), "cut {cut} verify {verify}");
            assert_eq!((d.delivered, d.missing), (3, 0));
            assert_eq!(d.body_bytes, body_total(&ms));
        }
    }
}

#[test]
fn byte_by_byte_and_three_reads() {
    let ms = members();
    let a = archive(&ms);
    let mut d = drain(&ms, true, false);
    for b in &a {
        d.feed(std::slice::from_ref(b));
    }
    assert_eq!(d.finish(), Ok(()));
    // Three reads: every first cut with a spread of second cuts.
    for c1 in (0..a.len()).step_by(7) {
        for c2 in (c1..=a.len()).step_by(61) {
            let mut d = drain(&ms, true, false);
            d.feed(&a[..c1]);
            d.feed(&a[c1..c2]);
            d.feed(&a[c2..]);
            assert_eq!(d.finish(), Ok(()), "{c1} {c2}");
        }
    }
}

#[test]
fn kernel_drops_of_every_legal_length() {
    let ms = members();
    let a = archive(&ms);
    // At each point where bytes may be dropped, drop every legal length once (the rest of
    // the stream is then fed in reads of 100 bytes, dropping all that may be dropped).
    // Points: where each droppable run starts and a few bytes into it (every length at each).
    let mut points = 0;
    let mut at = 0;
    let mut run = 0;
    let mut probe = drain(&ms, false, false);
    while at < a.len() {
        let k = probe.droppable() as usize;
        run = if k > 0 { run + 1 } else { 0 };
        if k > 0 && matches!(run, 1 | 2 | 300) {
            for n in 1..=k {
                let mut d = drain(&ms, false, false);
                d.feed(&a[..at]);
                assert_eq!(d.droppable() as usize, k);
                d.dropped(n as u64);
                let mut pos = at + n;
                while pos < a.len() {
                    let k = d.droppable() as usize;
                    if k > 0 {
                        d.dropped(k as u64);
                        pos += k;
                    } else {
                        let e = (pos + 100).min(a.len());
                        d.feed(&a[pos..e]);
                        pos = e;
                    }
                }
                assert_eq!(d.finish(), Ok(()), "drop {n} of {k} at {at}");
                assert_eq!(d.body_bytes, body_total(&ms));
                assert_eq!(d.delivered, 3);
            }
            points += 1;
        }
        probe.feed(&a[at..at + 1]);
        at += 1;
    }
    assert_eq!(points, 9, "three points in each of the 3 members");
    // Verifying, nothing of a body may be dropped.
    let mut d = drain(&ms, true, false);
    d.feed(&a[..BLOCK + 1]);
    assert_eq!(d.droppable(), 0);
}

#[test]
fn missing_members_under_coer_are_counted() {
    let ms = vec![
        (b"bk/here".to_vec(), 10),
        (b"__404__/bk/gone".to_vec(), 0),
        (b"bk/also".to_vec(), 600),
    ];
    let a = archive(&ms);
    let mut d = drain(&ms, true, true);
    d.feed(&a);
    assert_eq!(d.finish(), Ok(()));
    assert_eq!((d.delivered, d.missing, d.body_bytes), (2, 1, 610));
    // Without coer the same stream is refused.
    let mut d = drain(&ms, false, false);
    d.feed(&a);
    assert_eq!(d.finish(), Err(DrainError::BadMissing));
}

#[test]
fn sizes_are_checked_when_known() {
    let ms = members();
    let a = archive(&ms);
    // Each member with the listing's size `sizes[k]` (None: unknown).
    let run = |sizes: [Option<u64>; 3]| {
        let mut d = Drain::default();
        d.begin(false, true);
        for ((name, _), size) in ms.iter().zip(sizes) {
            d.expect(&[name], size, 0);
        }
        d.feed(&a);
        d.finish()
    };
    // Matching sizes pass; unknown sizes pass.
    assert_eq!(run([Some(700), Some(3), Some(1024)]), Ok(()));
    assert_eq!(run([None, Some(3), None]), Ok(()));
    assert_eq!(run([None, None, None]), Ok(()));
    // A size differing from the listing's fails, larger or smaller, at any position.
    assert_eq!(
        run([Some(701), Some(3), Some(1024)]),
        Err(DrainError::WrongSize)
    );
    assert_eq!(run([None, Some(2), None]), Err(DrainError::WrongSize));
    assert_eq!(run([None, None, Some(0)]), Err(DrainError::WrongSize));
    // A missing member (size 0 under `__404__/`) is not checked against the listing.
    let gone = vec![(b"bk/here".to_vec(), 10), (b"__404__/bk/gone".to_vec(), 0)];
    let mut d = Drain::default();
    d.begin(false, true);
    d.expect(&[b"bk/here"], Some(10), 0);
    d.expect(&[b"bk/gone"], Some(99), 0);
    d.feed(&archive(&gone));
    assert_eq!(d.finish(), Ok(()));
    assert_eq!((d.delivered, d.missing), (1, 1));
}

#[test]
fn hostile_streams_are_errors() {
    let ms = members();
    let a = archive(&ms);
    let check = |bytes: &[u8], want: DrainError| {
        let mut d = drain(&ms, false, false);
        d.feed(bytes);
        assert_eq!(d.finish(), Err(want));
    };
    // Bad checksum.
    let mut bad = a.clone();
    bad[10] ^= 1;
    check(&bad, DrainError::Tar(TarError::Checksum));
    // Size overflow: a base-256 size wider than 64 bits (checksum fixed up).
    let mut big = a.clone();
    big[124] = 0x80;
    for b in &mut big[125..136] {
        *b = 0xff;
    }
    fix_checksum(&mut big[..BLOCK]);
    check(&big, DrainError::Tar(TarError::SizeOverflow));
    // A base-256 size that fits 64 bits but is near u64::MAX (its padding would overflow),
    // for the first and for a later member.
    for at in [0, BLOCK + tar::padded(700) as usize] {
        for size in [u64::MAX, u64::MAX - 100, tar::MAX_SIZE + 1] {
            let mut big = a.clone();
            big[at + 124..at + 128].fill(0);
            big[at + 124] = 0x80;
            big[at + 128..at + 136].copy_from_slice(&size.to_be_bytes());
            fix_checksum(&mut big[at..at + BLOCK]);
            check(&big, DrainError::Tar(TarError::SizeOverflow));
        }
    }
    // Truncated anywhere.
    for cut in 0..a.len() {
        check(&a[..cut], DrainError::Truncated);
    }
    // Trailing junk after the end.
    let mut junk = a.clone();
    junk.push(1);
    check(&junk, DrainError::Trailing);
    // Wrong name, extra and missing members.
    let mut other = ms.clone();
    other[2].0 = b"bk/thre3".to_vec();
    check(&archive(&other), DrainError::WrongName);
    let mut more = ms.clone();
    more.push((b"bk/four".to_vec(), 1));
    check(&archive(&more), DrainError::Extra);
    check(&archive(&ms[..2]), DrainError::Missing);
    // Swapped order.
    let swapped = vec![ms[2].clone(), ms[0].clone(), ms[1].clone()];
    check(&archive(&swapped), DrainError::WrongName);
    // A corrupt body byte while verifying.
    let mut d = drain(&ms, true, false);
    let mut c = a.clone();
    c[BLOCK + 5] ^= 0xff;
    d.feed(&c);
    assert_eq!(d.finish(), Err(DrainError::Corrupt));
}

#[test]
fn random_bytes_never_panic() {
    let ms = members();
    let a = archive(&ms);
    let mut rng = FastRng::new(7);
    for _ in 0..3000 {
        // Random garbage, and the real archive with random bytes flipped.
        let mut bytes = if rng.below(2) == 0 {
            (0..rng.below(3000)).map(|_| rng.next_u64() as u8).collect()
        } else {
            a.clone()
        };
        for _ in 0..rng.below(4) + 1 {
            let i = rng.below(bytes.len().max(1) as u64) as usize;
            if let Some(b) = bytes.get_mut(i) {
                *b = rng.next_u64() as u8;
            }
        }
        let mut d = drain(&ms, rng.below(2) == 0, true);
        let mut pos = 0;
        while pos < bytes.len() {
            let k = d.droppable().min((bytes.len() - pos) as u64) as usize;
            if k > 0 && rng.below(2) == 0 {
                d.dropped(k as u64);
                pos += k;
            } else {
                let e = (pos + 1 + rng.below(700) as usize).min(bytes.len());
                d.feed(&bytes[pos..e]);
                pos = e;
            }
        }
        let _ = d.finish();
    }
}

fn fix_checksum(b: &mut [u8]) {
    b[148..156].copy_from_slice(b"        ");
    let sum: u64 = b.iter().map(|&x| u64::from(x)).sum();
    b[148..156].copy_from_slice(format!("{sum:06o}\0 ").as_bytes());
}
