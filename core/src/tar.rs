//! TAR headers: the one encoder and parser of the 512-byte blocks shared by the engine (which
//! drains GetBatch streams and writes shards) and the built-in target (which streams GetBatch
//! answers and reads shards).
//!
//! Owns: the POSIX ustar header (name, size, type, checksum), the GNU base-256 size for
//! members of 8 GiB and more, PAX extended headers for names that do not fit ustar's
//! `prefix/name` fields (as Go's `archive/tar`, which AIStore uses, writes them), and the
//! padding and end-of-archive arithmetic.
//!
//! Why here: a header written by one side must be read back by the other bit for bit; one
//! implementation keeps them from drifting.
//!
//! Invariants: parsing never panics on hostile bytes; a bad checksum, a non-octal size or a
//! size that overflows is an error naming what was wrong.

/// The size of a TAR block (headers and padding are whole blocks).
pub const BLOCK: usize = 512;
/// The end of an archive: two zero blocks.
pub const END_LEN: usize = 2 * BLOCK;
/// The magic and version of a POSIX ustar header.
const USTAR: &[u8; 8] = b"ustar\x0000";
/// Largest size the 11 octal digits of the size field hold; above it the GNU base-256 form.
const OCTAL_SIZE_MAX: u64 = (1 << 33) - 1;

/// What a header block describes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A regular file (`'0'` or NUL): its body follows.
    File,
    /// A directory or another entry without data that ringload skips (links, devices).
    Other,
    /// A PAX extended header for the next member (`'x'`): its body holds `len key=value\n`
    /// records, `path` among them.
    PaxNext,
    /// A PAX global header (`'g'`): records for every later member.
    PaxGlobal,
    /// A GNU long name (`'L'`): its body is the next member's name.
    GnuLongName,
}

/// Largest member size accepted (2^62 bytes, 4 EiB): far above any real member, and low
/// enough that the padded size and a size plus its padding never overflow 64 bits.
pub const MAX_SIZE: u64 = 1 << 62;

/// One parsed header block, borrowing its name from the block (parsing allocates nothing).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header<'a> {
    /// ustar's `prefix` field (empty when unused, and for GNU headers, which have none).
    pub prefix: &'a [u8],
    /// The `name` field, without trailing NULs.
    pub name: &'a [u8],
    /// Body length in bytes (before padding), at most [`MAX_SIZE`].
    pub size: u64,
    pub kind: Kind,
}

impl Header<'_> {
    /// The member's path in pieces: `[prefix, "/", name]`, or `[name]` without a prefix.
    pub fn path_parts(&self) -> ([&[u8]; 3], usize) {
        if self.prefix.is_empty() {
            ([self.name, b"", b""], 1)
        } else {
            ([self.prefix, b"/", self.name], 3)
        }
    }

    /// Whether the member's path equals the concatenation of `parts` (no allocation).
    pub fn path_is(&self, parts: &[&[u8]]) -> bool {
        let (mine, n) = self.path_parts();
        concat_eq(&mine[..n], parts)
    }

    /// Appends the member's path (`prefix/name` or `name`) to `out`.
    pub fn push_path(&self, out: &mut Vec<u8>) {
        let (mine, n) = self.path_parts();
        for p in &mine[..n] {
            out.extend_from_slice(p);
        }
    }
}

/// Whether the concatenations of `a` and of `b` are the same bytes.
fn concat_eq(a: &[&[u8]], b: &[&[u8]]) -> bool {
    let len = |v: &[&[u8]]| v.iter().map(|s| s.len()).sum::<usize>();
    if len(a) != len(b) {
        return false;
    }
    let (mut ai, mut bi) = (a.iter(), b.iter());
    let (mut x, mut y): (&[u8], &[u8]) = (&[], &[]);
    loop {
        if x.is_empty() {
            match ai.next() {
                Some(s) => x = s,
                // Equal lengths: `b` is used up too.
                None => return true,
            }
            continue;
        }
        if y.is_empty() {
            match bi.next() {
                Some(s) => y = s,
                None => return false,
            }
            continue;
        }
        let n = x.len().min(y.len());
        if x[..n] != y[..n] {
            return false;
        }
        x = &x[n..];
        y = &y[n..];
    }
}

/// Why a header block was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TarError {
    #[error("a TAR header's checksum does not match its bytes")]
    Checksum,
    #[error("a TAR header's size field is not a number")]
    BadSize,
    #[error("a TAR header's size overflows")]
    SizeOverflow,
    #[error("a PAX extended header is malformed")]
    BadPax,
}

/// Body bytes plus the padding to the next block boundary (saturating: never above
/// `u64::MAX`, never below `size`).
pub fn padded(size: u64) -> u64 {
    size.div_ceil(BLOCK as u64).saturating_mul(BLOCK as u64)
}

/// Whether `block` is all zeros (the end-of-archive marker).
pub fn is_zero(block: &[u8; BLOCK]) -> bool {
    block.iter().all(|&b| b == 0)
}

/// Parses one header block. A zero block is not a header: check [`is_zero`] first. A size
/// above [`MAX_SIZE`] is [`TarError::SizeOverflow`].
pub fn parse(block: &[u8; BLOCK]) -> Result<Header<'_>, TarError> {
    let stored = octal(&block[148..156]).ok_or(TarError::Checksum)?;
    if stored != checksum(block) {
        return Err(TarError::Checksum);
    }
    let size = size_field(&block[124..136])?;
    let kind = match block[156] {
        b'0' | 0 | b'7' => Kind::File,
        b'x' => Kind::PaxNext,
        b'g' => Kind::PaxGlobal,
        b'L' => Kind::GnuLongName,
        _ => Kind::Other,
    };
    // GNU headers ("ustar  ") use the prefix field's bytes for other things.
    let prefix: &[u8] = if &block[257..265] == USTAR {
        cstr(&block[345..500])
    } else {
        b""
    };
    Ok(Header {
        prefix,
        name: cstr(&block[..100]),
        size,
        kind,
    })
}

/// The `path` of a PAX extended header's body (`len key=value\n` records), if it has one.
pub fn pax_path(body: &[u8]) -> Result<Option<&[u8]>, TarError> {
    let mut rest = body;
    let mut path = None;
    while !rest.is_empty() {
        if rest.iter().all(|&b| b == 0) {
            break;
        }
        let sp = rest
            .iter()
            .position(|&b| b == b' ')
            .ok_or(TarError::BadPax)?;
        let len: usize = std::str::from_utf8(&rest[..sp])
            .ok()
            .and_then(|s| s.parse().ok())
            .filter(|&l| l > sp + 1 && l <= rest.len())
            .ok_or(TarError::BadPax)?;
        let rec = &rest[sp + 1..len];
        let rec = rec.strip_suffix(b"\n").ok_or(TarError::BadPax)?;
        if let Some(v) = rec.strip_prefix(b"path=") {
            path = Some(v);
        }
        rest = &rest[len..];
    }
    Ok(path)
}

/// Appends the header of a regular file `name` of `size` bytes to `out`: one ustar block when
/// the name fits (`prefix/name`, split at a `/`), else a PAX header carrying the path first.
pub fn encode_file(name: &[u8], size: u64, out: &mut Vec<u8>) {
    if let Some((prefix, base)) = ustar_split(name) {
        push_block(prefix, base, size, b'0', out);
        return;
    }
    // PAX: "<len> path=<name>\n", where <len> counts its own digits.
    let body_len = |digits: usize| (digits + 1 + 5 + name.len() + 1) as u64;
    let mut digits = 1;
    while digit_count(body_len(digits), 10) != digits {
        digits += 1;
    }
    let len = body_len(digits);
    push_block(b"", b"PaxHeaders/ringload", len, b'x', out);
    let start = out.len();
    out.resize(start + digits, 0);
    put_digits(&mut out[start..], len, 10);
    out.extend_from_slice(b" path=");
    out.extend_from_slice(name);
    out.push(b'\n');
    out.resize(start + padded(len) as usize, 0);
    let short = &name[name.len().saturating_sub(100)..];
    push_block(b"", short, size, b'0', out);
}

/// Appends the end of the archive (two zero blocks).
pub fn encode_end(out: &mut Vec<u8>) {
    out.resize(out.len() + END_LEN, 0);
}

/// Splits `name` into ustar's `prefix` (<= 155 bytes) and `name` (<= 100 bytes) fields.
fn ustar_split(name: &[u8]) -> Option<(&[u8], &[u8])> {
    if name.contains(&0) {
        return None;
    }
    if name.len() <= 100 {
        return Some((b"", name));
    }
    // The last '/' whose left part fits the prefix and right part fits the name.
    name.iter()
        .enumerate()
        .rev()
        .filter(|&(i, &b)| b == b'/' && i <= 155 && name.len() - i - 1 <= 100 && i > 0)
        .map(|(i, _)| (&name[..i], &name[i + 1..]))
        .next()
}

fn push_block(prefix: &[u8], name: &[u8], size: u64, kind: u8, out: &mut Vec<u8>) {
    let start = out.len();
    out.resize(start + BLOCK, 0);
    let b: &mut [u8; BLOCK] = (&mut out[start..]).try_into().expect("one block");
    b[..name.len()].copy_from_slice(name);
    b[100..107].copy_from_slice(b"0000644");
    b[108..115].copy_from_slice(b"0000000");
    b[116..123].copy_from_slice(b"0000000");
    if size <= OCTAL_SIZE_MAX {
        put_digits(&mut b[124..135], size, 8);
    } else {
        b[124] = 0x80;
        b[128..136].copy_from_slice(&size.to_be_bytes());
    }
    b[136..147].copy_from_slice(b"00000000000");
    b[156] = kind;
    b[257..265].copy_from_slice(USTAR);
    b[345..345 + prefix.len()].copy_from_slice(prefix);
    let sum = checksum(b);
    put_digits(&mut b[148..154], sum, 8);
    b[154] = 0;
    b[155] = b' ';
}

/// Writes `v` in `radix` (8 or 10) into all of `field`, zero-padded on the left (the caller
/// makes it wide enough).
fn put_digits(field: &mut [u8], mut v: u64, radix: u64) {
    for d in field.iter_mut().rev() {
        *d = b'0' + (v % radix) as u8;
        v /= radix;
    }
    debug_assert_eq!(v, 0, "the field is too narrow");
}

/// How many digits `v` has in `radix`.
fn digit_count(mut v: u64, radix: u64) -> usize {
    let mut n = 1;
    while v >= radix {
        v /= radix;
        n += 1;
    }
    n
}

/// The header checksum: every byte summed, the checksum field counted as spaces.
fn checksum(b: &[u8; BLOCK]) -> u64 {
    let all: u64 = b.iter().map(|&x| u64::from(x)).sum();
    let field: u64 = b[148..156].iter().map(|&x| u64::from(x)).sum();
    all - field + 8 * u64::from(b' ')
}

fn size_field(f: &[u8]) -> Result<u64, TarError> {
    if f[0] & 0x80 != 0 {
        // GNU base-256: big-endian, the first byte's top bit the marker (negative: refused).
        if f[0] & 0x40 != 0 {
            return Err(TarError::BadSize);
        }
        let mut v: u64 = u64::from(f[0] & 0x3f);
        for &x in &f[1..] {
            v = v
                .checked_mul(256)
                .and_then(|v| v.checked_add(u64::from(x)))
                .ok_or(TarError::SizeOverflow)?;
        }
        return if v > MAX_SIZE {
            Err(TarError::SizeOverflow)
        } else {
            Ok(v)
        };
    }
    // Eleven or twelve octal digits hold at most 2^36 - 1: below the bound.
    octal(f).ok_or(TarError::BadSize)
}

/// An octal field: optional leading spaces, digits, then NULs or spaces.
fn octal(f: &[u8]) -> Option<u64> {
    let s = f.iter().position(|&b| b != b' ')?;
    let digits = &f[s..];
    let end = digits
        .iter()
        .position(|&b| b == 0 || b == b' ')
        .unwrap_or(digits.len());
    if end == 0 || digits[end..].iter().any(|&b| b != 0 && b != b' ') {
        return None;
    }
    let mut v: u64 = 0;
    for &d in &digits[..end] {
        if !(b'0'..=b'7').contains(&d) {
            return None;
        }
        v = v.checked_mul(8)?.checked_add(u64::from(d - b'0'))?;
    }
    Some(v)
}

fn cstr(f: &[u8]) -> &[u8] {
    let end = f.iter().position(|&b| b == 0).unwrap_or(f.len());
    &f[..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn block(v: &[u8]) -> &[u8; BLOCK] {
        v[..BLOCK].try_into().unwrap()
    }

    #[test]
    fn a_short_name_round_trips_in_one_block() {
        let mut out = Vec::new();
        encode_file(b"bk/obj-1", 1234, &mut out);
        assert_eq!(out.len(), BLOCK);
        let h = parse(block(&out)).unwrap();
        assert_eq!(
            h,
            Header {
                prefix: b"",
                name: b"bk/obj-1",
                size: 1234,
                kind: Kind::File
            }
        );
        assert!(h.path_is(&[b"bk/", b"obj-1"]) && h.path_is(&[b"", b"bk/obj-1", b""]));
        assert!(!h.path_is(&[b"bk/obj-"]) && !h.path_is(&[b"bk/obj-1", b"x"]));
        assert!(!h.path_is(&[b"bk/obj-2"]));
        // The fields are what the formatting machinery would write (octal, NUL-terminated).
        assert_eq!(&out[124..136], format!("{:011o}\0", 1234).as_bytes());
        let sum = checksum(block(&out));
        assert_eq!(&out[148..156], format!("{sum:06o}\0 ").as_bytes());
    }

    #[test]
    fn pax_lengths_count_their_own_digits() {
        // Names too long for ustar whose record length crosses 1000 (a fourth digit).
        for n in 101..1100 {
            let name = "n".repeat(n);
            let mut out = Vec::new();
            encode_file(name.as_bytes(), 1, &mut out);
            let pax = parse(block(&out)).unwrap();
            let body = &out[BLOCK..BLOCK + pax.size as usize];
            let rec = format!(" path={name}\n");
            let digits = (1..)
                .find(|d| (d + rec.len()).to_string().len() == *d)
                .unwrap();
            assert_eq!(
                body,
                format!("{}{rec}", digits + rec.len()).as_bytes(),
                "{n}"
            );
            assert_eq!(pax_path(body).unwrap(), Some(name.as_bytes()));
        }
    }

    #[test]
    fn a_long_name_uses_the_prefix_field_or_pax() {
        let mid = format!("{}/{}", "d".repeat(120), "f".repeat(90));
        let mut out = Vec::new();
        encode_file(mid.as_bytes(), 7, &mut out);
        assert_eq!(out.len(), BLOCK);
        let h = parse(block(&out)).unwrap();
        assert_eq!(
            (h.prefix, h.name),
            ("d".repeat(120).as_bytes(), "f".repeat(90).as_bytes())
        );
        assert!(h.path_is(&[mid.as_bytes()]));
        let mut path = Vec::new();
        h.push_path(&mut path);
        assert_eq!(path, mid.as_bytes());

        let long = "x".repeat(300);
        let mut out = Vec::new();
        encode_file(long.as_bytes(), 9, &mut out);
        let pax = parse(block(&out)).unwrap();
        assert_eq!(pax.kind, Kind::PaxNext);
        let body = &out[BLOCK..BLOCK + pax.size as usize];
        assert_eq!(pax_path(body).unwrap(), Some(long.as_bytes()));
        let next = padded(pax.size) as usize + BLOCK;
        let file = parse(block(&out[next..])).unwrap();
        assert_eq!((file.kind, file.size), (Kind::File, 9));
        assert_eq!(out.len(), next + BLOCK);
    }

    #[test]
    fn sizes_of_8_gib_and_more_use_base_256() {
        for size in [OCTAL_SIZE_MAX, OCTAL_SIZE_MAX + 1, 6 << 40] {
            let mut out = Vec::new();
            encode_file(b"big", size, &mut out);
            assert_eq!(parse(block(&out)).unwrap().size, size);
        }
    }

    #[test]
    fn hostile_headers_are_errors() {
        let mut out = Vec::new();
        encode_file(b"a", 10, &mut out);
        let mut bad = out.clone();
        bad[0] = b'b';
        assert_eq!(parse(block(&bad)), Err(TarError::Checksum));
        // A non-octal size with a matching checksum.
        let mut bad = out.clone();
        bad[124] = b'9';
        let sum = checksum(block(&bad));
        bad[148..156].copy_from_slice(format!("{sum:06o}\0 ").as_bytes());
        assert_eq!(parse(block(&bad)), Err(TarError::BadSize));
        // A base-256 size that overflows 64 bits.
        let mut bad = out.clone();
        bad[124] = 0x80 | 0x3f;
        bad[125..136].fill(0xff);
        let sum = checksum(block(&bad));
        bad[148..156].copy_from_slice(format!("{sum:06o}\0 ").as_bytes());
        assert_eq!(parse(block(&bad)), Err(TarError::SizeOverflow));
        // Base-256 sizes that fit 64 bits but are above the bound (they would overflow the
        // padding arithmetic), and the bound itself, which is accepted.
        for (size, want) in [
            (u64::MAX, Err(TarError::SizeOverflow)),
            (u64::MAX - 100, Err(TarError::SizeOverflow)),
            (MAX_SIZE + 1, Err(TarError::SizeOverflow)),
            (MAX_SIZE, Ok(MAX_SIZE)),
        ] {
            let mut bad = out.clone();
            bad[124..128].fill(0);
            bad[124] = 0x80;
            bad[128..136].copy_from_slice(&size.to_be_bytes());
            let sum = checksum(block(&bad));
            bad[148..156].copy_from_slice(format!("{sum:06o}\0 ").as_bytes());
            assert_eq!(parse(block(&bad)).map(|h| h.size), want, "{size}");
        }
        assert!(pax_path(b"99 path=x\n").is_err());
        assert!(pax_path(b"x path=x\n").is_err());
        assert!(pax_path(b"5 pa").is_err());
    }

    /// Counts the allocations of the current thread (the other tests run on other threads).
    struct Counting;

    thread_local! {
        static ALLOCS: std::cell::Cell<u64> = const { std::cell::Cell::new(0) };
    }

    // SAFETY: every call is forwarded unchanged to the system allocator, which upholds
    // `GlobalAlloc`'s contract; counting touches only a thread-local `Cell`.
    unsafe impl std::alloc::GlobalAlloc for Counting {
        unsafe fn alloc(&self, l: std::alloc::Layout) -> *mut u8 {
            ALLOCS.with(|n| n.set(n.get() + 1));
            // SAFETY: the caller's `alloc` contract (a non-zero-size layout) is passed on.
            unsafe { std::alloc::System.alloc(l) }
        }
        unsafe fn dealloc(&self, p: *mut u8, l: std::alloc::Layout) {
            // SAFETY: `p` came from `System.alloc` with layout `l` (the `alloc` above).
            unsafe { std::alloc::System.dealloc(p, l) }
        }
    }

    #[global_allocator]
    static COUNTING: Counting = Counting;

    #[test]
    fn encoding_and_parsing_do_not_allocate() {
        let long = "y".repeat(300);
        let names: [&[u8]; 3] = [b"bk/obj-1", long.as_bytes(), b"d/e/f"];
        let mut out = Vec::with_capacity(64 * 1024);
        let before = ALLOCS.with(|n| n.get());
        let mut total = 0;
        for name in names {
            for size in [0, 1234, OCTAL_SIZE_MAX + 1] {
                out.clear();
                encode_file(name, size, &mut out);
                let h = parse(block(&out[out.len() - BLOCK..])).unwrap();
                total += h.size + h.name.len() as u64;
            }
        }
        assert_eq!(ALLOCS.with(|n| n.get()), before, "allocations");
        assert!(total > 0);
    }

    #[test]
    fn padding_and_end() {
        assert_eq!(padded(0), 0);
        assert_eq!(padded(1), 512);
        assert_eq!(padded(512), 512);
        assert_eq!(padded(513), 1024);
        assert_eq!(padded(MAX_SIZE + 1), MAX_SIZE + 512);
        assert_eq!(padded(u64::MAX), u64::MAX);
        assert_eq!(padded(u64::MAX - 600), u64::MAX - 511);
        let mut out = Vec::new();
        encode_end(&mut out);
        assert!(is_zero(block(&out)) && out.len() == END_LEN);
    }
}
