//! A rank file's bytes, memory-mapped when possible and read into a buffer otherwise.
//!
//! Copying 1.8 GB of result files through `read` was 8.5% of a 1,024-rank merge's profile
//! (`copy_to_iter` in the kernel, benches/RESULTS.md); mapping them with `MAP_POPULATE` takes
//! the page cache's pages as they are. Result files are written once, atomically (a hard link of a
//! complete temp file), and never modified afterwards, so a mapping sees a stable file. A
//! file that someone truncates while it is mapped would make the merge fault (SIGBUS), which
//! is why only regular files are mapped, and every failure falls back to `read`.

use std::fs::File;
use std::io::{self, Read};
use std::os::fd::AsRawFd;
use std::path::Path;

/// The bytes of one file: a private read-only mapping, or the caller's buffer.
pub enum Contents<'b> {
    Mapped(Mapping),
    Read(&'b [u8]),
}

impl std::ops::Deref for Contents<'_> {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        match self {
            Contents::Mapped(m) => m.bytes(),
            Contents::Read(b) => b,
        }
    }
}

/// A read-only private mapping of a whole file, unmapped on drop.
pub struct Mapping {
    ptr: *mut libc::c_void,
    len: usize,
}

impl Mapping {
    fn bytes(&self) -> &[u8] {
        // SAFETY: `ptr` is the start of a successful mmap of `len` (> 0) readable bytes, which
        // stays mapped until `drop` and so outlives the returned borrow of `self`; the mapping is
        // private and read-only, so nothing writes through it (see the module doc on why the
        // file does not shrink underneath).
        unsafe { std::slice::from_raw_parts(self.ptr as *const u8, self.len) }
    }
}

impl Drop for Mapping {
    fn drop(&mut self) {
        // SAFETY: `ptr`/`len` came from a successful mmap and are unmapped exactly once, here;
        // `drop` takes `&mut self`, so no slice from `bytes` is alive any more.
        unsafe { libc::munmap(self.ptr, self.len) };
    }
}

/// Opens `path` and maps it; a file that cannot be mapped (empty, not regular, mmap refused)
/// is read into `buf` instead.
pub fn open<'b>(path: &Path, buf: &'b mut Vec<u8>) -> io::Result<Contents<'b>> {
    let file = File::open(path)?;
    let meta = file.metadata()?;
    let len = meta.len() as usize;
    if meta.is_file() && len > 0 {
        // SAFETY: a null address hint lets the kernel place the mapping where no Rust memory
        // lives, so nothing existing is replaced; `len` > 0 is the file's size and `file` is an
        // open descriptor for the call (the mapping outlives it). The result is checked for
        // MAP_FAILED before use.
        let ptr = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ,
                libc::MAP_PRIVATE | libc::MAP_POPULATE,
                file.as_raw_fd(),
                0,
            )
        };
        if ptr != libc::MAP_FAILED {
            return Ok(Contents::Mapped(Mapping { ptr, len }));
        }
    }
    buf.clear();
    buf.reserve(len.saturating_add(1));
    (&file).read_to_end(buf)?;
    Ok(Contents::Read(buf))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maps_files_and_reads_what_cannot_be_mapped() {
        let dir = std::env::temp_dir().join(format!("ringload-mapped-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let f = dir.join("a.json");
        std::fs::write(&f, b"{\"x\":1}").unwrap();
        let mut buf = Vec::new();
        let c = open(&f, &mut buf).unwrap();
        assert!(matches!(c, Contents::Mapped(_)));
        assert_eq!(&*c, b"{\"x\":1}");
        drop(c);
        let e = dir.join("empty.json");
        std::fs::write(&e, b"").unwrap();
        let c = open(&e, &mut buf).unwrap();
        assert!(matches!(c, Contents::Read(b) if b.is_empty()));
        assert!(open(&dir.join("missing.json"), &mut buf).is_err());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
