//! A compact, read-only list of object names for GETs.
//!
//! Owns [`NameList`]: all names concatenated in one `Vec<u8>` plus one end offset per name,
//! so millions of listed names cost their bytes plus 8 bytes each, not a `String` apiece.
//! Keeps each name's object size when every name came with one (a listing), so a
//! GetBatch can check each member's size. Also reads `--filelist` files ([`NameList::from_filelist`]).
//!
//! Invariants: every stored name is a whole `&str` (valid UTF-8) and non-empty when it
//! comes from a file; `ends` is non-decreasing and its last value is `bytes.len()`.

use std::path::{Path, PathBuf};

/// Separates a shard's name from the path of a file inside it (`--arch-list`), in a name of
/// the list: `<shard>\0<archpath>`. NUL cannot occur in an object name or an archive path.
pub const ARCH_SEP: u8 = 0;

/// Splits a listed name into the object and, for a file inside a shard, its `archpath`.
pub fn split_arch(name: &[u8]) -> (&[u8], Option<&[u8]>) {
    match name.iter().position(|&b| b == ARCH_SEP) {
        Some(i) => (&name[..i], Some(&name[i + 1..])),
        None => (name, None),
    }
}

/// Why a `--filelist` file could not supply names.
#[derive(Debug, thiserror::Error)]
pub enum NamesError {
    #[error("cannot read --filelist {path}: {source}; give a readable UTF-8 text file with one object name per line")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("--filelist {path} contains no object names; put one name per line (blank lines and lines with spaces inside are skipped)")]
    Empty { path: PathBuf },
}

/// Names stored back to back; see the module docs.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NameList {
    bytes: Vec<u8>,
    ends: Vec<usize>,
    /// Sum of the object sizes given with [`NameList::push_sized`].
    sized_bytes: u64,
    /// Names pushed without a size.
    without_size: usize,
    /// Each name's object size, parallel to `ends`; kept only while every name came with
    /// one (dropped at the first name without a size, e.g. from `--filelist`).
    sizes: Option<Vec<u64>>,
}

impl NameList {
    /// An empty list.
    pub fn new() -> NameList {
        NameList::default()
    }

    /// Appends `name` (stored as is, including an empty name); its object's size is unknown.
    pub fn push(&mut self, name: &str) {
        self.bytes.extend_from_slice(name.as_bytes());
        self.ends.push(self.bytes.len());
        self.without_size += 1;
        self.sizes = None;
    }

    /// Appends `name` whose object holds `size` bytes (from a listing or the built-in fill).
    pub fn push_sized(&mut self, name: &str, size: u64) {
        self.bytes.extend_from_slice(name.as_bytes());
        self.ends.push(self.bytes.len());
        self.sized_bytes = self.sized_bytes.saturating_add(size);
        if self.without_size == 0 {
            self.sizes.get_or_insert_with(Vec::new).push(size);
        }
    }

    /// The size of name `i`'s object, when every name came with its size (a listing or the
    /// built-in fill); `None` otherwise or when `i` is out of range.
    #[inline]
    pub fn size(&self, i: usize) -> Option<u64> {
        self.sizes.as_ref()?.get(i).copied()
    }

    /// The bytes of all the objects named, when every name came with its size (`None` for an
    /// empty list or when any size is unknown, e.g. names from `--filelist`).
    pub fn total_bytes(&self) -> Option<u64> {
        (self.without_size == 0 && !self.ends.is_empty()).then_some(self.sized_bytes)
    }

    /// The number of names.
    pub fn len(&self) -> usize {
        self.ends.len()
    }

    /// True when there are no names.
    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    /// The bytes of name `i` (the form request encoders want).
    ///
    /// # Panics
    /// If `i >= self.len()`, like slice indexing; callers index with values below `len()`.
    #[inline]
    pub fn get_bytes(&self, i: usize) -> &[u8] {
        let start = if i == 0 { 0 } else { self.ends[i - 1] };
        &self.bytes[start..self.ends[i]]
    }

    /// Name `i`.
    ///
    /// # Panics
    /// If `i >= self.len()`, like slice indexing.
    #[inline]
    pub fn get(&self, i: usize) -> &str {
        // Every range between two ends holds exactly one pushed `&str`, so this cannot fail.
        std::str::from_utf8(self.get_bytes(i)).expect("NameList stores whole UTF-8 names")
    }

    /// Iterates over all names in order.
    pub fn iter(&self) -> impl Iterator<Item = &str> + '_ {
        (0..self.len()).map(move |i| self.get(i))
    }

    /// Reads one name per line: lines are trimmed; empty lines and lines with whitespace
    /// inside a name are skipped. A file without any name is an error.
    pub fn from_filelist(path: &Path) -> Result<NameList, NamesError> {
        let text = std::fs::read_to_string(path).map_err(|source| NamesError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        let mut list = NameList::new();
        list.bytes.reserve(text.len());
        for line in text.lines() {
            let name = line.trim();
            if !name.is_empty() && !name.contains(char::is_whitespace) {
                list.push(name);
            }
        }
        if list.is_empty() {
            return Err(NamesError::Empty {
                path: path.to_path_buf(),
            });
        }
        list.bytes.shrink_to_fit();
        Ok(list)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(name: &str, content: &[u8]) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("ringload-names-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join(name);
        std::fs::write(&p, content).unwrap();
        p
    }

    #[test]
    fn push_and_get() {
        let mut l = NameList::new();
        assert!(l.is_empty());
        for n in ["a", "", "dir/obj-1", "ünï"] {
            l.push(n);
        }
        assert_eq!(l.len(), 4);
        assert_eq!(l.get(0), "a");
        assert_eq!(l.get(1), "");
        assert_eq!(l.get(2), "dir/obj-1");
        assert_eq!(l.get(3), "ünï");
        assert_eq!(l.get_bytes(2), b"dir/obj-1");
        assert_eq!(
            l.iter().collect::<Vec<_>>(),
            vec!["a", "", "dir/obj-1", "ünï"]
        );
    }

    #[test]
    fn filelist_trims_and_skips() {
        let p = scratch("ok.txt", b"  one  \n\ntwo\r\nbad name\n\t\nthree\nlast");
        let l = NameList::from_filelist(&p).unwrap();
        assert_eq!(
            l.iter().collect::<Vec<_>>(),
            vec!["one", "two", "three", "last"]
        );
    }

    #[test]
    fn filelist_errors_name_the_file_and_flag() {
        let missing = std::env::temp_dir().join("ringload-no-such-filelist.txt");
        let e = NameList::from_filelist(&missing).unwrap_err();
        assert!(matches!(e, NamesError::Read { .. }));
        let msg = e.to_string();
        assert!(
            msg.contains("cannot read --filelist") && msg.contains("ringload-no-such-filelist.txt"),
            "{msg}"
        );

        let empty = scratch("empty.txt", b"\n  \n a b \n");
        let e = NameList::from_filelist(&empty).unwrap_err();
        assert!(matches!(e, NamesError::Empty { .. }));
        let msg = e.to_string();
        assert!(
            msg.contains("--filelist") && msg.contains("empty.txt"),
            "{msg}"
        );

        let binary = scratch("bin.txt", &[0xff, 0xfe, b'\n']);
        assert!(matches!(
            NameList::from_filelist(&binary),
            Err(NamesError::Read { .. })
        ));
    }

    #[test]
    fn total_bytes_only_when_every_size_is_known() {
        let mut l = NameList::new();
        assert_eq!(l.total_bytes(), None);
        l.push_sized("a", 10);
        l.push_sized("b", 5);
        assert_eq!((l.len(), l.get(1), l.total_bytes()), (2, "b", Some(15)));
        assert_eq!((l.size(0), l.size(1), l.size(2)), (Some(10), Some(5), None));
        l.push("c");
        assert_eq!(l.total_bytes(), None);
        assert_eq!((l.size(0), l.size(2)), (None, None));
        // A size pushed after a name without one stays unknown too.
        l.push_sized("d", 1);
        assert_eq!(l.size(3), None);
    }
}
