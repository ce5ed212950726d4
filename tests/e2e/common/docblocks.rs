//! The fenced code blocks of README.md and docs/*.md, for the documentation tests
//! (`tests/e2e/docs.rs`): where each block is, its language, its mark, the peer it needs, and
//! the `ringload` command lines in it; plus the loose comparison of a documented output with
//! what a run printed.
//!
//! Marks: every `bash`, `sh`, `shell` or `console` block carries `runnable` or `no-run` in its
//! info string (```` ```bash runnable ````). `runnable` blocks are executed; `no-run` blocks
//! (a real cluster, `kubectl`, `sbatch` on a site) are not, but their `ringload` lines are
//! still parsed by the binary. An HTML comment on the line before the fence,
//! `<!-- doc-test: NAME -->`, names the setup the block needs (`nginx`, `ais`, `s3`,
//! `nginx-recipe`, `output`); a `text` block marked `output` is the documented output of the
//! runnable block before it.

use std::path::Path;

/// The languages whose blocks must carry a mark.
pub const SHELL: [&str; 4] = ["bash", "sh", "shell", "console"];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mark {
    Runnable,
    NoRun,
    /// A shell block with neither mark: an error.
    Unmarked,
    /// Not a shell block (text, toml, json, ...): not run.
    Other,
}

/// One fenced block.
#[derive(Debug, Clone)]
pub struct Block {
    /// The line of the opening fence, 1-based.
    pub line: usize,
    pub lang: String,
    pub mark: Mark,
    /// The NAME of a `<!-- doc-test: NAME -->` comment on the line before the fence.
    pub setup: Option<String>,
    pub body: String,
}

/// Every fenced block of a markdown text, in order. An indented fence (in a list item) counts;
/// its indentation is removed from the body.
pub fn blocks(text: &str) -> Vec<Block> {
    let lines: Vec<&str> = text.lines().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let l = lines[i];
        let trimmed = l.trim_start();
        let Some(info) = trimmed.strip_prefix("```") else {
            i += 1;
            continue;
        };
        let indent = l.len() - trimmed.len();
        let mut words = info.split_whitespace();
        let lang = words.next().unwrap_or("").to_string();
        let marks: Vec<&str> = words.collect();
        let mark = if !SHELL.contains(&lang.as_str()) {
            Mark::Other
        } else if marks.contains(&"runnable") {
            Mark::Runnable
        } else if marks.contains(&"no-run") {
            Mark::NoRun
        } else {
            Mark::Unmarked
        };
        let setup = i
            .checked_sub(1)
            .and_then(|p| lines[p].trim().strip_prefix("<!-- doc-test:"))
            .and_then(|r| r.strip_suffix("-->"))
            .map(|n| n.trim().to_string());
        let mut body = String::new();
        let mut j = i + 1;
        while j < lines.len() && lines[j].trim() != "```" {
            let b = lines[j];
            let cut = b.len() - b.trim_start().len();
            body.push_str(&b[cut.min(indent)..]);
            body.push('\n');
            j += 1;
        }
        out.push(Block {
            line: i + 1,
            lang,
            mark,
            setup,
            body,
        });
        i = j + 1;
    }
    out
}

/// The blocks of a file.
pub fn file_blocks(path: &Path) -> Vec<Block> {
    let text = std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    blocks(&text)
}

/// The `ringload ...` command lines of a shell block: continuation lines joined, comments and
/// here-documents dropped, split at `;`, `&&`, `||`, `|` and `&`; a line's leading variable
/// assignments, `do`, `then` and `time` removed; `cargo run --release --` read as `ringload`.
pub fn ringload_lines(body: &str) -> Vec<String> {
    let mut joined: Vec<String> = Vec::new();
    let mut cont = false;
    let mut heredoc: Option<String> = None;
    for raw in body.lines() {
        if let Some(end) = &heredoc {
            if raw.trim() == end {
                heredoc = None;
            }
            continue;
        }
        let line = strip_comment(raw);
        if let Some(pos) = line.find("<<") {
            let tag = line[pos + 2..]
                .trim_start_matches('-')
                .trim()
                .trim_matches(|c| c == '\'' || c == '"');
            let tag: String = tag
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            if !tag.is_empty() {
                heredoc = Some(tag);
            }
        }
        let (text, more) = match line.trim_end().strip_suffix('\\') {
            Some(t) => (t.to_string(), true),
            None => (line.trim_end().to_string(), false),
        };
        match (cont, joined.last_mut()) {
            (true, Some(last)) => {
                last.push(' ');
                last.push_str(text.trim());
            }
            _ => joined.push(text),
        }
        cont = more;
    }
    let mut out = Vec::new();
    for l in joined {
        let l = l
            .replace("cargo run --release --", "ringload")
            .replace("2>&1", "")
            .replace(">&2", "");
        for seg in l.split(['|', ';', '&']) {
            let mut words = drop_redirections(seg);
            while let Some(w) = words.first() {
                let assign = w.contains('=') && !w.starts_with('-');
                if assign || ["do", "then", "time", "else", "!"].contains(w) {
                    words.remove(0);
                } else {
                    break;
                }
            }
            if words.first() == Some(&"ringload") {
                out.push(words.join(" "));
            }
        }
    }
    out
}

/// The words of a simple command, without its redirections (`> f`, `2>f`, `< f`, `>> f`).
fn drop_redirections(seg: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut skip_next = false;
    for w in seg.split_whitespace() {
        if skip_next {
            skip_next = false;
            continue;
        }
        let op = w.trim_start_matches(|c: char| c.is_ascii_digit());
        if let Some(rest) = op
            .strip_prefix(">>")
            .or(op.strip_prefix('>'))
            .or(op.strip_prefix('<'))
        {
            skip_next = rest.is_empty();
            continue;
        }
        out.push(w);
    }
    out
}

/// A line without its trailing `# comment` (a `#` at the start or after whitespace, outside
/// quotes).
fn strip_comment(line: &str) -> &str {
    let (mut single, mut double) = (false, false);
    let mut prev_space = true;
    for (i, c) in line.char_indices() {
        match c {
            '\'' if !double => single = !single,
            '"' if !single => double = !double,
            '#' if !single && !double && prev_space => return &line[..i],
            _ => {}
        }
        prev_space = c.is_whitespace();
    }
    line
}

/// One line of output, for the loose comparison: words, with every word that holds a digit
/// and every size unit replaced by `#` (numbers differ run to run).
fn shape(line: &str) -> Vec<String> {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut w: Vec<String> = line
        .split_whitespace()
        .map(|t| {
            if t.chars().any(|c| c.is_ascii_digit()) || UNITS.contains(&t) {
                "#".to_string()
            } else {
                t.to_string()
            }
        })
        .collect();
    // A merge table's rank row: `0  host  completed ...`; the host differs machine to machine.
    if w.len() > 2
        && line
            .split_whitespace()
            .next()
            .is_some_and(|t| t.parse::<u32>().is_ok())
    {
        w[1] = "#".to_string();
    }
    // Which ranks straggle and what is warned about depend on the machine's load.
    if w.first()
        .is_some_and(|t| t == "stragglers:" || t == "warnings:")
    {
        w.truncate(1);
    }
    // Whether a rank was client-bound depends on the machine too (its row's last word).
    if w.len() > 2 && w.last().is_some_and(|t| t == "client-bound") {
        w.pop();
    }
    w
}

/// Lines that describe the machine the block ran on rather than the run: a run's or a merge's
/// `client:` self-diagnosis and a run's `warning:` lines (a loaded machine is client-bound), and
/// a merge's warning items (`  - rank 0: ...`). Left out of the comparison on both sides.
fn machine_line(line: &str) -> bool {
    let t = line.trim_start();
    t.starts_with("client: ") || t.starts_with("warning: ") || t.starts_with("- rank ")
}

/// Where `documented` (its non-empty lines, in order and adjacent) is found in `actual` by
/// [`shape`]; `Err` with both texts when it is not.
pub fn output_matches(documented: &str, actual: &str) -> Result<(), String> {
    let want: Vec<Vec<String>> = documented
        .lines()
        .filter(|l| !l.trim().is_empty() && !machine_line(l))
        .map(shape)
        .collect();
    let got: Vec<Vec<String>> = actual
        .lines()
        .filter(|l| !l.trim().is_empty() && !machine_line(l))
        .map(shape)
        .collect();
    if want.is_empty() || got.windows(want.len()).any(|w| w == want.as_slice()) {
        return Ok(());
    }
    Err(format!(
        "the documented output is not in what the block printed (numbers, units and hosts may \
         differ)\n--- documented ---\n{documented}--- printed ---\n{actual}"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn marks_setup_lines_and_indentation() {
        let md = "intro\n\n<!-- doc-test: nginx -->\n```bash runnable\nls\n```\n\n```sh\nx\n```\n  ```bash no-run\n  a\n    b\n  ```\n```toml\nk = 1\n```\n";
        let b = blocks(md);
        assert_eq!(b.len(), 4);
        assert_eq!((b[0].line, b[0].mark), (4, Mark::Runnable));
        assert_eq!(b[0].setup.as_deref(), Some("nginx"));
        assert_eq!(b[0].body, "ls\n");
        assert_eq!(
            (b[1].line, b[1].mark, b[1].setup.clone()),
            (8, Mark::Unmarked, None)
        );
        assert_eq!((b[2].mark, b[2].body.as_str()), (Mark::NoRun, "a\n  b\n"));
        assert_eq!((b[3].lang.as_str(), b[3].mark), ("toml", Mark::Other));
    }

    #[test]
    fn ringload_lines_are_found_and_cleaned() {
        let body =
            "# comment ringload no\nexport X=1\nringload run --a 1 \\\n    --b 2   # trailing\n\
                    AWS_X=... ringload render --spec s.toml && kubectl apply -f d/\n\
                    cat > f <<'EOF'\nringload in heredoc\nEOF\n\
                    for R in 0 1; do ringload run --rank $R > r-$R.log 2>&1 & done; wait\n\
                    ringload serve --listen 127.0.0.1:1 >serve.log 2> err &\n\
                    cargo run --release -- run --duration 1s\necho '#notacomment' ringload\n";
        assert_eq!(
            ringload_lines(body),
            vec![
                "ringload run --a 1 --b 2",
                "ringload render --spec s.toml",
                "ringload run --rank $R",
                "ringload serve --listen 127.0.0.1:1",
                "ringload run --duration 1s",
            ]
        );
    }

    #[test]
    fn output_shape_ignores_numbers_units_and_hosts() {
        let doc =
            "op  count  bytes\nGET  64,092  3.9 GiB\n0  vm  completed  0.4\nstragglers: none\n";
        let ok = "noise\nop count bytes\nGET 12 500.0 MiB\n0 node-7 completed 1.2\nstragglers: rank 2\nmore\n";
        assert!(output_matches(doc, ok).is_ok());
        let bad = "op count bytes errors\nGET 12 500.0 MiB\n0 x completed 1\nstragglers: none\n";
        assert!(output_matches(doc, bad).is_err());
        assert!(output_matches(doc, "").is_err());
    }

    #[test]
    fn the_machines_own_diagnosis_is_left_out_both_ways() {
        let doc = "GET  64,092  3.9 GiB\n0  vm  completed  0.4\nstragglers: none\n";
        let bound = "GET 12 500.0 MiB\n\nclient: 1 of 1 ranks client-bound (rank 0): ...\n\
                     0 node-7 completed 1.2  client-bound\nstragglers: none\n  - rank 0: x\n";
        assert!(output_matches(doc, bound).is_ok());
        let documented_bound = "GET 1 2 GiB\nclient: cores busy 98% · CPU wait 1%\n\
                                warning: client-bound: core 0\n";
        assert!(output_matches(documented_bound, "GET 3 4 GiB\n").is_ok());
        assert!(output_matches(doc, "GET 12 500.0 MiB\n0 x failed 1\nstragglers: none\n").is_err());
    }
}
