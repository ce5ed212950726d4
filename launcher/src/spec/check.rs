//! Value checks for run specs: the names and strings each destination accepts.
//!
//! Owns the syntax rules that a TOML type cannot express: RFC 1123 names for Kubernetes
//! objects, ConfigMap keys, label keys and values, resource quantities, environment variable
//! names, run ids that are safe as directory and object names, and the characters an `#SBATCH`
//! directive may hold. Each returns `Err(hint)` describing the accepted form, so the caller can point at
//! the line. Render quotes every string for its destination anyway; these checks make a bad
//! name fail at render time instead of at `kubectl apply` or `sbatch`.

/// A DNS label (RFC 1123): 1–63 of `[a-z0-9-]`, starting and ending alphanumeric.
pub fn rfc1123_label(s: &str) -> Result<(), String> {
    let ok = !s.is_empty()
        && s.len() <= 63
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !s.starts_with('-')
        && !s.ends_with('-');
    ok.then_some(()).ok_or_else(|| {
        "use an RFC 1123 label: 1-63 lowercase letters, digits or '-', starting and ending with \
         a letter or digit (e.g. \"ml-bench\")"
            .into()
    })
}

/// A DNS subdomain (RFC 1123): dot-separated labels, at most 253 characters.
pub fn rfc1123_subdomain(s: &str) -> Result<(), String> {
    let ok = !s.is_empty() && s.len() <= 253 && s.split('.').all(|l| rfc1123_label(l).is_ok());
    ok.then_some(()).ok_or_else(|| {
        "use an RFC 1123 subdomain: lowercase letters, digits, '-' and '.', at most 253 \
         characters, each dot-separated part starting and ending with a letter or digit"
            .into()
    })
}

/// A run id: usable as a directory name, a Kubernetes name part and a label value.
pub fn run_id(s: &str) -> Result<(), String> {
    let ok = s.len() <= 40 && rfc1123_label(s).is_ok();
    ok.then_some(()).ok_or_else(|| {
        "a run id is 1-40 lowercase letters, digits or '-', starting and ending with a letter or \
         digit (it names the results directory and the Kubernetes Job), or \"auto\" for a \
         timestamped one"
            .into()
    })
}

/// A Kubernetes label value: empty, or 1–63 of `[A-Za-z0-9_.-]` starting and ending
/// alphanumeric.
pub fn label_value(s: &str) -> Result<(), String> {
    let b = s.as_bytes();
    let ok = s.is_empty()
        || (s.len() <= 63
            && b.iter()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_' | b'.'))
            && b[0].is_ascii_alphanumeric()
            && b[b.len() - 1].is_ascii_alphanumeric());
    ok.then_some(()).ok_or_else(|| {
        "a label value is empty or 1-63 letters, digits, '-', '_' or '.', starting and ending \
         with a letter or digit"
            .into()
    })
}

/// A Kubernetes qualified name (label key, resource name): `[prefix/]name`, the prefix a DNS
/// subdomain and the name a label value that is not empty.
pub fn qualified_name(s: &str) -> Result<(), String> {
    let (prefix, name) = match s.rsplit_once('/') {
        Some((p, n)) => (Some(p), n),
        None => (None, s),
    };
    let ok = prefix.is_none_or(|p| rfc1123_subdomain(p).is_ok())
        && !name.is_empty()
        && label_value(name).is_ok();
    ok.then_some(()).ok_or_else(|| {
        "a Kubernetes key is [prefix/]name: the name 1-63 letters, digits, '-', '_' or '.', \
         starting and ending with a letter or digit, the optional prefix a DNS subdomain \
         (e.g. \"aisloader\" or \"example.com/pool\")"
            .into()
    })
}

/// A Kubernetes resource quantity such as `4`, `500m`, `8Gi`, `1.5`, `1e3`.
pub fn quantity(s: &str) -> Result<(), String> {
    let hint = || {
        "a quantity is a number with an optional suffix: m, k, M, G, T, P, E, Ki, Mi, Gi, Ti, \
         Pi, Ei (e.g. \"4\", \"500m\", \"8Gi\")"
            .to_string()
    };
    let num_end = s
        .bytes()
        .position(|b| !(b.is_ascii_digit() || b == b'.' || b == b'+'))
        .unwrap_or(s.len());
    let (num, suffix) = s.split_at(num_end);
    let num = num.strip_prefix('+').unwrap_or(num);
    let digits_ok = !num.is_empty()
        && num != "."
        && num.bytes().filter(|&b| b == b'.').count() <= 1
        && num.bytes().all(|b| b.is_ascii_digit() || b == b'.');
    let suffix_ok = matches!(
        suffix,
        "" | "m" | "k" | "M" | "G" | "T" | "P" | "E" | "Ki" | "Mi" | "Gi" | "Ti" | "Pi" | "Ei"
    ) || (suffix.len() > 1
        && (suffix.starts_with('e') || suffix.starts_with('E'))
        && suffix[1..]
            .trim_start_matches(['+', '-'])
            .bytes()
            .all(|b| b.is_ascii_digit())
        && !suffix[1..].trim_start_matches(['+', '-']).is_empty());
    (digits_ok && suffix_ok).then_some(()).ok_or_else(hint)
}

/// An environment variable name: `[A-Za-z_][A-Za-z0-9_]*`.
pub fn env_name(s: &str) -> Result<(), String> {
    let b = s.as_bytes();
    let ok = !b.is_empty()
        && (b[0].is_ascii_alphabetic() || b[0] == b'_')
        && b.iter().all(|c| c.is_ascii_alphanumeric() || *c == b'_');
    ok.then_some(()).ok_or_else(|| {
        "an environment variable name is letters, digits and '_', not starting with a digit \
         (e.g. \"AIS_AUTHN_TOKEN\")"
            .into()
    })
}

/// A plain word for a scheduler directive (partition, account, time, job name): no spaces,
/// quotes or shell characters, so `#SBATCH` parses it as one value.
pub fn directive_word(s: &str) -> Result<(), String> {
    let ok = !s.is_empty()
        && s.len() <= 200
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._:,@%+=/-[]".contains(&b));
    ok.then_some(()).ok_or_else(|| {
        "use letters, digits and ._:,@%+=/-[] only (no spaces, quotes or shell characters)".into()
    })
}

/// An extra `#SBATCH` directive: one line starting with `-`, no control characters.
pub fn sbatch_line(s: &str) -> Result<(), String> {
    let ok = s.starts_with('-') && !s.chars().any(char::is_control);
    ok.then_some(()).ok_or_else(|| {
        "an extra directive is one sbatch option on one line, e.g. \"--exclusive\" or \
         \"--gres=gpu:8\" (no newlines or control characters)"
            .into()
    })
}

/// Any string that ends up as one argument or value: no NUL, which no argv or file can hold.
pub fn no_nul(s: &str) -> Result<(), String> {
    (!s.contains('\0'))
        .then_some(())
        .ok_or_else(|| "remove the NUL character: no command argument can hold one".into())
}

/// A path (results directory, binary): not empty, on one line, no NUL.
pub fn path(s: &str) -> Result<(), String> {
    no_nul(s)?;
    (!s.is_empty() && !s.contains('\n'))
        .then_some(())
        .ok_or_else(|| "a path on one line, e.g. \"/shared/ringload-results\"".into())
}

/// A container image reference: no whitespace or control characters.
pub fn image(s: &str) -> Result<(), String> {
    let ok = !s.is_empty() && !s.chars().any(|c| c.is_whitespace() || c.is_control());
    ok.then_some(()).ok_or_else(|| {
        "an image is a reference without spaces, e.g. \"ghcr.io/acme/ringload:0.1.0\"".into()
    })
}

/// An endpoint URL by syntax alone (it is resolved where the ranks run, not where the spec is
/// rendered): `http://host[:port][/path]` or `https://host[:port][/path]`.
pub fn endpoint(s: &str) -> Result<(), String> {
    let hint = || {
        "an endpoint is http://host[:port] or https://host[:port], e.g. \
         \"http://ais-proxy.ais.svc.cluster.local:51080\""
            .to_string()
    };
    let rest = s
        .strip_prefix("http://")
        .or_else(|| s.strip_prefix("https://"))
        .ok_or_else(hint)?;
    let hostport = rest.split('/').next().unwrap_or("");
    let (host, port) = match hostport.rsplit_once(':') {
        Some((h, p)) if !p.contains(']') => (h, Some(p)),
        _ => (hostport, None),
    };
    let ok = !host.is_empty()
        && host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-._[]:".contains(&b))
        && port.is_none_or(|p| p.parse::<u16>().is_ok())
        && !s.chars().any(|c| c.is_whitespace() || c.is_control());
    ok.then_some(()).ok_or_else(hint)
}

/// A key of a ConfigMap or Secret (Kubernetes' `IsConfigMapKey`): 1-253 of `[-._a-zA-Z0-9]`,
/// not `.`, `..` or starting with `..`. It is also the file's name in the mounted volume.
pub fn config_key(s: &str) -> Result<(), String> {
    let ok = !s.is_empty()
        && s.len() <= 253
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-._".contains(&b))
        && s != "."
        && !s.starts_with("..");
    ok.then_some(()).ok_or_else(|| {
        "a ConfigMap or Secret key is 1-253 letters, digits, '-', '_' or '.', not \".\" and \
         not starting with \"..\" (e.g. \"ca.crt\")"
            .into()
    })
}

/// A sysctl name such as `net.core.somaxconn`, as Kubernetes accepts it: `.`- or
/// `/`-separated parts of `[a-z0-9_-]`, each starting and ending with a letter or digit.
pub fn sysctl_name(s: &str) -> Result<(), String> {
    let part = |p: &str| {
        let b = p.as_bytes();
        !b.is_empty()
            && b.iter()
                .all(|&c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'-' || c == b'_')
            && b[0].is_ascii_alphanumeric()
            && b[b.len() - 1].is_ascii_alphanumeric()
    };
    let ok = s.len() <= 253 && s.split(['.', '/']).all(part);
    ok.then_some(()).ok_or_else(|| {
        "a sysctl name is lowercase dotted words, each starting and ending with a letter or \
         digit, e.g. \"net.core.somaxconn\""
            .into()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert!(rfc1123_label("ml-bench-1").is_ok());
        for bad in ["", "-a", "a-", "A", "a_b", "a.b", &"a".repeat(64)] {
            assert!(rfc1123_label(bad).is_err(), "{bad:?}");
        }
        assert!(rfc1123_subdomain("ais.svc.cluster.local").is_ok());
        assert!(rfc1123_subdomain("a..b").is_err());
        assert!(run_id("fill-1g").is_ok());
        assert!(run_id(&"a".repeat(41)).is_err());
        assert!(qualified_name("aisloader").is_ok());
        assert!(qualified_name("example.com/pool").is_ok());
        assert!(qualified_name("nvidia.com/gpu").is_ok());
        assert!(qualified_name("a: {b").is_err());
        assert!(label_value("").is_ok() && label_value("My_Rel.1").is_ok());
        assert!(label_value("x\ny").is_err());
    }

    #[test]
    fn quantities() {
        for ok in ["4", "500m", "8Gi", "1.5", "1e3", "0.5Ki", "+2"] {
            assert!(quantity(ok).is_ok(), "{ok}");
        }
        for bad in ["", "4 Gi", "Gi", "1..2", "8gb", "1e", "$(x)"] {
            assert!(quantity(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn shell_facing_words() {
        assert!(env_name("AIS_AUTHN_TOKEN").is_ok());
        assert!(env_name("1X").is_err() && env_name("A-B").is_err());
        assert!(directive_word("gpu-a100").is_ok());
        assert!(directive_word("1-00:00:00").is_ok());
        for bad in ["a b", "$(id)", "`id`", "a\nb", "a'b", "a;b"] {
            assert!(directive_word(bad).is_err(), "{bad:?}");
        }
        assert!(sbatch_line("--gres=gpu:8").is_ok());
        assert!(sbatch_line("--x\nrm -rf /").is_err() && sbatch_line("x").is_err());
    }

    #[test]
    fn config_keys() {
        for ok in ["ca.crt", "ca-bundle.pem", "tls_ca", "-dash", ".hidden"] {
            assert!(config_key(ok).is_ok(), "{ok}");
        }
        for bad in ["", ".", "..", "..x", "a/b", "a b", "ca\n", &"a".repeat(254)] {
            assert!(config_key(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn sysctls() {
        for ok in [
            "net.core.somaxconn",
            "kernel.shm_rmid_forced",
            "net/ipv4/tcp_syncookies",
        ] {
            assert!(sysctl_name(ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "-dash",
            "net..core",
            "net.core.",
            "Net.core",
            "a b",
            "net.core-",
        ] {
            assert!(sysctl_name(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn endpoints() {
        for ok in [
            "http://a",
            "http://ais-proxy.ais:51080",
            "http://[::1]:80/x",
            "http://10.0.0.1",
        ] {
            assert!(endpoint(ok).is_ok(), "{ok}");
        }
        for ok in ["https://s3.us-east-1.amazonaws.com", "https://[::1]:8443/x"] {
            assert!(endpoint(ok).is_ok(), "{ok}");
        }
        for bad in [
            "ftp://a",
            "https://",
            "a:80",
            "http://",
            "http://a:x",
            "http://a b",
            "http://$(id)",
        ] {
            assert!(endpoint(bad).is_err(), "{bad}");
        }
    }
}
