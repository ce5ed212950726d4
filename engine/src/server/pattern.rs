//! The server's view of object content: a thin adapter over [`crate::content`], the contract
//! shared with the client's `--verifyhash` path. Byte `i` of object `name` (the percent-decoded
//! URL path without its leading `/`, e.g. `bucket/obj`) is
//! `pattern()[(object_start(name) + i) % PATTERN_LEN]`; nothing is stored.

pub use crate::content::PATTERN_LEN;

/// The shared pattern bytes.
pub fn pattern() -> &'static [u8] {
    crate::content::pattern().as_bytes()
}

/// Where in the pattern object `name` starts.
pub fn object_start(name: &[u8]) -> usize {
    // The modulus is a power of two below 2^32, so the value fits usize on every target.
    crate::content::object_start(name) as usize
}

/// Fills `out` with the object's bytes starting at byte `offset` of the object.
#[cfg(test)]
pub fn fill(name: &[u8], offset: u64, out: &mut [u8]) {
    let pat = pattern();
    let mut pos = ((object_start(name) as u64 + offset) % PATTERN_LEN as u64) as usize;
    let mut done = 0;
    while done < out.len() {
        let n = (out.len() - done).min(PATTERN_LEN - pos);
        out[done..done + n].copy_from_slice(&pat[pos..pos + n]);
        done += n;
        pos = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_bytes_verify_with_the_client_contract() {
        let mut buf = vec![0u8; 3 * PATTERN_LEN / 2];
        fill(b"bucket/obj", 12345, &mut buf);
        let start = crate::content::object_start(b"bucket/obj");
        assert!(crate::content::pattern().verify(start, 12345, &buf));
    }
}
