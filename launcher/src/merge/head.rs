//! Finding a run's result files and reading their heads (the top-level keys) cheaply.
//!
//! Before the heavy pass, the merge needs every rank's identity and time span: to check that
//! the run is complete (before reading a gigabyte), to size the time buckets, and to know the
//! steady window while each rank's intervals stream by. Those keys come first in the file, so
//! a head is read from the first [`HEAD_PREFIX`] bytes with serde_json and a visitor that stops
//! as soon as it has them; the rest (ops, intervals) is never parsed here. When the keys are
//! not in the prefix (another writer's key order), the whole file is read.
//!
//! Classification: a JSON file whose `schema` is not `ringload.result/…` (e.g. a previous
//! `summary.json`) is ignored; a file that is not valid JSON, lacks a required key, or has an
//! unsupported `ringload.result/` version is corrupt.

use std::borrow::Cow;
use std::fmt;
use std::fs::File;
use std::io::{self, Read};
use std::path::{Path, PathBuf};

use serde::de::{DeserializeSeed, IgnoredAny, MapAccess, Visitor};

use ringload_core::result::{SCHEMA, SCHEMA_V1};

/// Bytes read to find the head; the engine's head (with the workload) is about 1 KiB.
pub const HEAD_PREFIX: usize = 64 * 1024;

/// The top-level keys of one result file.
#[derive(Debug, Clone, PartialEq)]
pub struct Head {
    pub path: PathBuf,
    /// The file name, as shown in messages.
    pub name: String,
    pub run_id: String,
    pub rank: u32,
    pub ranks: u32,
    pub host: String,
    pub engine_version: String,
    pub status: String,
    pub stop_reason: String,
    pub start_unix_ns: u64,
    pub end_unix_ns: u64,
    pub workload: serde_json::Value,
}

/// What a `*.json` file turned out to be.
#[derive(Debug)]
pub enum Scanned {
    Head(Box<Head>),
    /// Valid JSON, but not a rank result file: not an error.
    Ignored,
    /// Meant to be a result file (or not JSON at all), but unreadable.
    Corrupt(String),
}

/// The `*.json` files of `dir`, sorted by name.
pub fn list_json(dir: &Path) -> io::Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir)? {
        let p = e?.path();
        if p.extension().is_some_and(|x| x == "json") && p.is_file() {
            out.push(p);
        }
    }
    out.sort();
    Ok(out)
}

#[derive(Default)]
struct Fields {
    schema: Option<String>,
    run_id: Option<String>,
    rank: Option<u32>,
    ranks: Option<u32>,
    host: Option<String>,
    engine_version: Option<String>,
    status: Option<String>,
    stop_reason: Option<String>,
    start: Option<u64>,
    end: Option<u64>,
    workload: Option<serde_json::Value>,
}

impl Fields {
    fn all(&self) -> bool {
        self.required().is_none()
            && self.host.is_some()
            && self.engine_version.is_some()
            && self.stop_reason.is_some()
            && self.workload.is_some()
    }
    /// The first required key that is missing.
    fn required(&self) -> Option<&'static str> {
        [
            ("schema", self.schema.is_none()),
            ("run_id", self.run_id.is_none()),
            ("rank", self.rank.is_none()),
            ("ranks", self.ranks.is_none()),
            ("status", self.status.is_none()),
            ("start_unix_ns", self.start.is_none()),
            ("end_unix_ns", self.end.is_none()),
        ]
        .into_iter()
        .find(|(_, missing)| *missing)
        .map(|(k, _)| k)
    }
    fn other_schema(&self) -> bool {
        self.schema
            .as_deref()
            .is_some_and(|s| s != SCHEMA && s != SCHEMA_V1)
    }
}

struct Seed<'f>(&'f mut Fields);

impl<'de> DeserializeSeed<'de> for Seed<'_> {
    type Value = ();
    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for Seed<'_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON object")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut m: A) -> Result<(), A::Error> {
        let f = self.0;
        while let Some(k) = m.next_key::<Cow<'de, str>>()? {
            match k.as_ref() {
                "schema" => f.schema = Some(m.next_value()?),
                "run_id" => f.run_id = Some(m.next_value()?),
                "rank" => f.rank = Some(m.next_value()?),
                "ranks" => f.ranks = Some(m.next_value()?),
                "host" => f.host = Some(m.next_value()?),
                "engine_version" => f.engine_version = Some(m.next_value()?),
                "status" => f.status = Some(m.next_value()?),
                "stop_reason" => f.stop_reason = Some(m.next_value()?),
                "start_unix_ns" => f.start = Some(m.next_value()?),
                "end_unix_ns" => f.end = Some(m.next_value()?),
                "workload" => f.workload = Some(m.next_value()?),
                _ => {
                    m.next_value::<IgnoredAny>()?;
                }
            }
            // Stop early: serde_json then complains about the unread rest, which is ignored.
            if f.all() || f.other_schema() {
                return Ok(());
            }
        }
        Ok(())
    }
}

/// Reads `path`'s head, using `buf` as the read buffer.
pub fn scan(path: &Path, buf: &mut Vec<u8>) -> Scanned {
    let name = path.file_name().map_or_else(
        || path.display().to_string(),
        |n| n.to_string_lossy().into(),
    );
    let mut whole = false;
    loop {
        if let Err(e) = read_prefix(path, buf, if whole { usize::MAX } else { HEAD_PREFIX }) {
            return Scanned::Corrupt(format!("cannot read it: {e}"));
        }
        let mut f = Fields::default();
        let mut de = serde_json::Deserializer::from_slice(buf);
        let parsed = Seed(&mut f).deserialize(&mut de).and_then(|()| de.end());
        if let Some(s) = &f.schema {
            if s != SCHEMA && s != SCHEMA_V1 {
                return if s.starts_with("ringload.result/") {
                    Scanned::Corrupt(format!(
                        "schema '{s}' is not supported (this merge reads '{SCHEMA}' and \
                         '{SCHEMA_V1}'); use the ringload version that wrote it"
                    ))
                } else {
                    Scanned::Ignored
                };
            }
        }
        if f.required().is_none() {
            return Scanned::Head(Box::new(Head {
                path: path.to_path_buf(),
                name,
                run_id: f.run_id.unwrap_or_default(),
                rank: f.rank.unwrap_or_default(),
                ranks: f.ranks.unwrap_or_default(),
                host: f.host.unwrap_or_default(),
                engine_version: f.engine_version.unwrap_or_default(),
                status: f.status.unwrap_or_default(),
                stop_reason: f.stop_reason.unwrap_or_default(),
                start_unix_ns: f.start.unwrap_or_default(),
                end_unix_ns: f.end.unwrap_or_default(),
                workload: f.workload.unwrap_or(serde_json::Value::Null),
            }));
        }
        match parsed {
            Err(e) if e.is_eof() && !whole && buf.len() >= HEAD_PREFIX => whole = true,
            Err(e) if f.schema.is_some() => return Scanned::Corrupt(e.to_string()),
            Err(e) => {
                if !whole && buf.len() >= HEAD_PREFIX {
                    whole = true;
                } else if serde_json::from_slice::<IgnoredAny>(buf).is_ok() {
                    return Scanned::Ignored; // valid JSON, just not an object with our keys
                } else {
                    return Scanned::Corrupt(format!("not valid JSON: {e}"));
                }
            }
            Ok(()) if f.schema.is_none() => return Scanned::Ignored,
            Ok(()) => {
                let key = f.required().unwrap_or("schema");
                return Scanned::Corrupt(format!("the key '{key}' is missing"));
            }
        }
    }
}

/// Reads up to `limit` bytes of `path` into `buf` (replacing its content).
pub fn read_prefix(path: &Path, buf: &mut Vec<u8>, limit: usize) -> io::Result<()> {
    buf.clear();
    let file = File::open(path)?;
    if limit == usize::MAX {
        let len = file.metadata().map_or(0, |m| m.len() as usize);
        buf.reserve(len.saturating_add(1));
        (&file).read_to_end(buf)?;
    } else {
        file.take(limit as u64).read_to_end(buf)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(tag: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("ringload-head-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    fn head_json(extra: &str) -> String {
        format!(
            r#"{{"schema":"ringload.result/1","run_id":"r\"1","rank":2,"ranks":4,"host":"h",
            "engine_version":"0.1.0","status":"completed","stop_reason":"duration",
            "start_unix_ns":10,"end_unix_ns":20,"workload":{{"numworkers":4}}{extra}"#
        )
    }

    #[test]
    fn classifies_files() {
        let d = scratch("classify");
        let mut buf = Vec::new();
        let cases = [
            ("ok.json", head_json(r#","ops":{},"intervals":[]}"#)),
            // Truncated after the head: the head is still readable (the main pass rejects it).
            ("trunc.json", head_json(r#","intervals":[{"start"#)),
            (
                "summary.json",
                r#"{"schema":"ringload.summary/1","x":1}"#.to_string(),
            ),
            ("other.json", r#"[1,2,3]"#.to_string()),
            ("garbage.json", "not json at all".to_string()),
            ("v3.json", r#"{"schema":"ringload.result/3"}"#.to_string()),
            (
                "nokey.json",
                r#"{"schema":"ringload.result/1","rank":1}"#.to_string(),
            ),
        ];
        for (name, text) in &cases {
            std::fs::write(d.join(name), text).unwrap();
        }
        let kind = |name: &str, buf: &mut Vec<u8>| match scan(&d.join(name), buf) {
            Scanned::Head(h) => format!("head {} {} {}", h.rank, h.run_id, h.workload),
            Scanned::Ignored => "ignored".into(),
            Scanned::Corrupt(e) => format!("corrupt {e}"),
        };
        assert_eq!(kind("ok.json", &mut buf), r#"head 2 r"1 {"numworkers":4}"#);
        assert!(kind("trunc.json", &mut buf).starts_with("head 2"));
        assert_eq!(kind("summary.json", &mut buf), "ignored");
        assert_eq!(kind("other.json", &mut buf), "ignored");
        assert!(kind("garbage.json", &mut buf).starts_with("corrupt not valid JSON"));
        assert!(kind("v3.json", &mut buf).contains("not supported"));
        assert!(kind("nokey.json", &mut buf).contains("'run_id' is missing"));
        assert_eq!(list_json(&d).unwrap().len(), cases.len());
        let _ = std::fs::remove_dir_all(&d);
    }

    #[test]
    fn head_beyond_the_prefix_is_found() {
        let d = scratch("prefix");
        let pad = "x".repeat(HEAD_PREFIX * 2);
        let text = format!(r#"{{"pad":"{pad}",{}}}"#, &head_json("")[1..]);
        std::fs::write(d.join("late.json"), text).unwrap();
        let mut buf = Vec::new();
        assert!(matches!(
            scan(&d.join("late.json"), &mut buf),
            Scanned::Head(_)
        ));
        let _ = std::fs::remove_dir_all(&d);
    }
}
