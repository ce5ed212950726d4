//! aisloader's loader-id and name-prefix rules (`-loaderid`, `-loadernum`, `-subdir`), in its
//! words, and Go's path cleaning of the prefix. Split from the rules so each file stays
//! readable; pure like them.

use super::grammar;
use super::Stop;

/// aisloader's `-loaderid`/`-loadernum` and `-subdir` rules, in its words; the cleaned
/// `-subdir` goes into the dump.
pub(super) fn loader_and_prefix_rules(
    v: &dyn Fn(&str) -> String,
    dump: &mut Vec<(&'static str, String)>,
) -> Result<(), Stop> {
    let e = |m: &str| Err(Stop::Error(m.to_string()));
    let id = v("loaderid");
    if id.is_empty() {
        return e("loaderID can't be empty");
    }
    let num = grammar::parse_uint(&v("loadernum")).unwrap_or(0);
    let hashlen = grammar::parse_uint(&v("loaderidhashlen")).unwrap_or(0);
    if num > 0 && hashlen == 0 {
        let Ok(n) = id.parse::<u64>() else {
            return e("loadername has to be a number when using loadernum");
        };
        if n > num {
            return e("loaderid has to be smaller than loadernum");
        }
        if n == num {
            return e(&format!(
                "-loaderid {n} -loadernum {num}: ringload numbers loaders 0..{num} (below \
                 -loadernum) so that their names never collide; give -loaderid below {num}"
            ));
        }
    } else if num == 0 && hashlen == 0 && v("randomname") == "true" && id.parse::<u64>().is_err() {
        return e("loaderID as string only allowed when using loaderIDHashLen");
    }
    let sub = v("subdir");
    let cleaned = clean_path(&sub);
    if cleaned.starts_with('/') {
        return e("object name prefix can't start with /");
    }
    if cleaned != sub {
        dump.push(("subdir", cleaned));
    }
    Ok(())
}

/// Go's `filepath.Clean` (empty stays empty here: aisloader cleans only a given prefix).
pub(super) fn clean_path(p: &str) -> String {
    if p.is_empty() {
        return String::new();
    }
    let rooted = p.starts_with('/');
    let mut parts: Vec<&str> = Vec::new();
    for seg in p.split('/') {
        match seg {
            "" | "." => {}
            ".." if parts.last().is_some_and(|l| *l != "..") => {
                parts.pop();
            }
            ".." if rooted => {}
            s => parts.push(s),
        }
    }
    let body = parts.join("/");
    match (rooted, body.is_empty()) {
        (true, _) => format!("/{body}"),
        (false, true) => ".".into(),
        (false, false) => body,
    }
}
