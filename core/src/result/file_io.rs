//! Reading and writing a result file on disk: the atomic, no-overwrite write of the JSON and
//! of a `/2` file's interval carrier (carrier first, so a JSON file names a whole carrier),
//! and the read that accepts `/1` and `/2` and brings a carrier's intervals back inline.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use super::{IntervalRecord, ResultError, ResultFile, SCHEMA, SCHEMA_V1};

impl ResultFile {
    /// Writes the file atomically; refuses to replace an existing file. A `/2` file
    /// ([`SCHEMA`]) goes with its interval carrier, published first beside it.
    pub fn write_atomic(&self, path: &Path) -> Result<(), ResultError> {
        if path.exists() {
            return Err(ResultError::Exists(path.to_path_buf()));
        }
        if self.schema == SCHEMA_V1 {
            return write_new(path, |w| write_json(w, self));
        }
        let carrier = crate::intervals::encode(&self.intervals).map_err(|e| ResultError::Io {
            action: "encode the intervals of",
            path: path.to_path_buf(),
            source: io::Error::other(e),
        })?;
        let side = carrier_path(path);
        if side == path {
            return Err(ResultError::Io {
                action: "write",
                path: path.to_path_buf(),
                source: io::Error::new(
                    io::ErrorKind::InvalidInput,
                    "the interval carrier would take the result file's own name: end the \
                     result path in .json",
                ),
            });
        }
        let name = side
            .file_name()
            .map_or_else(String::new, |n| n.to_string_lossy().into_owned());
        write_new(&side, |w| w.write_all(&carrier))?;
        let json = ResultFile {
            intervals: Vec::new(),
            intervals_file: Some(crate::intervals::IntervalsFile {
                name,
                format: crate::intervals::FORMAT.into(),
                intervals: self.intervals.len() as u64,
                bytes: carrier.len() as u64,
            }),
            ..self.clone()
        };
        let written = write_new(path, |w| write_json(w, &json));
        if written.is_err() {
            // The carrier is this call's own (it was published without replacing anything):
            // leave no carrier without its JSON behind.
            let _ = fs::remove_file(&side);
        }
        written
    }

    /// Reads and checks a result file (schema [`SCHEMA`] or [`SCHEMA_V1`]); a `/2` file's
    /// intervals are read from its carrier.
    pub fn read(path: &Path) -> Result<ResultFile, ResultError> {
        let text = fs::read_to_string(path).map_err(|source| ResultError::Io {
            action: "read",
            path: path.to_path_buf(),
            source,
        })?;
        // Check the schema first so that a different schema gets the clearer error.
        let v: serde_json::Value =
            serde_json::from_str(&text).map_err(|source| ResultError::Json {
                path: path.to_path_buf(),
                source,
            })?;
        let found = v.get("schema").and_then(|s| s.as_str()).unwrap_or("");
        if found != SCHEMA && found != SCHEMA_V1 {
            return Err(ResultError::Schema {
                path: path.to_path_buf(),
                found: found.to_string(),
            });
        }
        let mut file: ResultFile =
            serde_json::from_value(v).map_err(|source| ResultError::Json {
                path: path.to_path_buf(),
                source,
            })?;
        // In memory the intervals are inline, whatever the schema: the carrier is a file's.
        if let Some(f) = file.intervals_file.take() {
            if !file.intervals.is_empty() {
                return Err(ResultError::Io {
                    action: "read",
                    path: path.to_path_buf(),
                    source: io::Error::new(
                        io::ErrorKind::InvalidData,
                        "the file has both inline intervals and an intervals_file",
                    ),
                });
            }
            file.intervals = read_carrier(path, &f)?;
        }
        Ok(file)
    }
}

/// The carrier beside result file `path`: `rank-3.json` → `rank-3.intervals`.
pub fn carrier_path(path: &Path) -> PathBuf {
    path.with_extension("intervals")
}

/// Reads and decodes the carrier a result file names, checking what the file says of it.
fn read_carrier(
    path: &Path,
    f: &crate::intervals::IntervalsFile,
) -> Result<Vec<IntervalRecord>, ResultError> {
    let bad = |side: &Path, e: String| ResultError::Io {
        action: "read the interval carrier",
        path: side.to_path_buf(),
        source: io::Error::new(io::ErrorKind::InvalidData, e),
    };
    let side = f.path_beside(path).map_err(|e| bad(path, e))?;
    let bytes = fs::read(&side).map_err(|source| ResultError::Io {
        action: "read the interval carrier",
        path: side.clone(),
        source,
    })?;
    f.open(&bytes)
        .and_then(crate::intervals::decode_from)
        .map_err(|e| bad(&side, e))
}

fn write_json(w: &mut dyn Write, file: &ResultFile) -> io::Result<()> {
    serde_json::to_writer(&mut *w, file).map_err(io::Error::other)?;
    w.write_all(b"\n")
}

/// Writes a new file at `path` through a temp file in the same directory (fsynced, then
/// published without replacing anything); the directory entry is synced best-effort.
fn write_new(
    path: &Path,
    body: impl FnOnce(&mut dyn Write) -> io::Result<()>,
) -> Result<(), ResultError> {
    let io_err = |action: &'static str, p: &Path| {
        let path = p.to_path_buf();
        move |source| ResultError::Io {
            action,
            path,
            source,
        }
    };
    if path.exists() {
        return Err(ResultError::Exists(path.to_path_buf()));
    }
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let name = path.file_name().ok_or_else(|| ResultError::Io {
        action: "write",
        path: path.to_path_buf(),
        source: io::Error::new(io::ErrorKind::InvalidInput, "the path has no file name"),
    })?;
    let tmp = dir.join(format!(
        ".{}.tmp.{}",
        name.to_string_lossy(),
        std::process::id()
    ));
    let file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&tmp)
        .map_err(io_err("create temp file", &tmp))?;
    let written = (|| {
        let mut w = io::BufWriter::new(file);
        body(&mut w).map_err(io_err("write", &tmp))?;
        let file = w
            .into_inner()
            .map_err(|e| io_err("write", &tmp)(e.into_error()))?;
        file.sync_all().map_err(io_err("fsync", &tmp))
    })()
    .and_then(|()| publish(&tmp, path));
    if written.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    written?;
    // Make the new directory entry durable; failure here is not worth failing the run.
    if let Ok(d) = File::open(&dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

/// Moves the finished temp file to `path` without ever replacing an existing file.
fn publish(tmp: &Path, path: &Path) -> Result<(), ResultError> {
    match fs::hard_link(tmp, path) {
        Ok(()) => {
            let _ = fs::remove_file(tmp);
            Ok(())
        }
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
            Err(ResultError::Exists(path.to_path_buf()))
        }
        // No hard links here (some network or FAT file systems): check, then rename.
        Err(_) => {
            if path.exists() {
                return Err(ResultError::Exists(path.to_path_buf()));
            }
            fs::rename(tmp, path).map_err(|source| ResultError::Io {
                action: "rename the temp file to",
                path: path.to_path_buf(),
                source,
            })
        }
    }
}
