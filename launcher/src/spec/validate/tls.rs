//! The TLS checks of a spec: `[target] tls_*` and `[kubernetes] tls_*` file paths and names,
//! and the settings that contradict each other or a plain `http://` endpoint. Kept apart from
//! the other checks because the TLS rules span two sections.

use super::super::{check, Loaded, SpecError};
use super::value;

/// `[target] tls_*` and `[kubernetes] tls_*`: file paths that are paths (not PEM text), names
/// Kubernetes accepts, and no contradiction (a certificate without its key, a CA with
/// verification off, two CA sources, a key with no source).
pub(super) fn tls(l: &Loaded) -> Result<(), SpecError> {
    let t = &l.spec.target;
    for (key, v) in [
        ("tls_ca", &t.tls_ca),
        ("tls_cert", &t.tls_cert),
        ("tls_key", &t.tls_key),
    ] {
        let Some(v) = v else { continue };
        if v.contains("-----BEGIN") {
            // The value is never echoed: it may be a private key.
            return Err(l
                .error_at(
                    &["target", key],
                    format!("[target] {key} holds PEM text, not a file name"),
                )
                .hint(
                    "a spec never holds certificates or keys: save the PEM in a file every rank \
                     can read and give its path, e.g. \"/etc/ringload/ca.pem\" (on Kubernetes, \
                     name a ConfigMap or Secret instead: docs/operators.md, TLS endpoints)",
                ));
        }
        value(l, &["target", key], v, check::path)?;
    }
    plain_endpoint(l)?;
    let pair = |has: &str, missing: &str| {
        l.error_at(
            &["target", has],
            format!("[target] {has} is given without {missing}"),
        )
        .hint(format!(
            "a client certificate needs its private key: add {missing} = \"FILE\" (PEM), or \
             remove {has}"
        ))
    };
    match (&t.tls_cert, &t.tls_key) {
        (Some(_), None) => return Err(pair("tls_cert", "tls_key")),
        (None, Some(_)) => return Err(pair("tls_key", "tls_cert")),
        _ => {}
    }
    if t.tls_insecure && t.tls_ca.is_some() {
        return Err(l
            .error_at(
                &["target", "tls_insecure"],
                "[target] tls_insecure = true turns verification off, so tls_ca would never be \
                 used",
            )
            .hint(
                "keep tls_ca and remove tls_insecure (verify against that CA), or remove tls_ca",
            ));
    }
    let Some(k) = &l.spec.kubernetes else {
        return Ok(());
    };
    for (key, v) in [
        ("tls_ca_configmap", &k.tls_ca_configmap),
        ("tls_ca_secret", &k.tls_ca_secret),
        ("tls_client_secret", &k.tls_client_secret),
    ] {
        if let Some(v) = v {
            value(l, &["kubernetes", key], v, check::rfc1123_subdomain)?;
        }
    }
    if let Some(v) = &k.tls_ca_key {
        value(l, &["kubernetes", "tls_ca_key"], v, check::config_key)?;
    }
    if k.tls_ca_configmap.is_some() && k.tls_ca_secret.is_some() {
        return Err(l
            .error_at(
                &["kubernetes", "tls_ca_secret"],
                "[kubernetes] tls_ca_configmap and tls_ca_secret both name the CA bundle",
            )
            .hint("keep one: the ranks trust one bundle"));
    }
    if k.tls_ca_key.is_some() && k.tls_ca_source().is_none() {
        return Err(l
            .error_at(
                &["kubernetes", "tls_ca_key"],
                "[kubernetes] tls_ca_key is given without tls_ca_configmap or tls_ca_secret",
            )
            .hint(
                "tls_ca_key is the bundle's key inside that ConfigMap or Secret: name it, e.g. \
                 tls_ca_configmap = \"ringload-ca\", or remove tls_ca_key",
            ));
    }
    if let (true, Some(_)) = (t.tls_insecure, k.tls_ca_source()) {
        let key = match k.tls_ca_configmap {
            Some(_) => "tls_ca_configmap",
            None => "tls_ca_secret",
        };
        return Err(l
            .error_at(
                &["target", "tls_insecure"],
                format!(
                    "[target] tls_insecure = true turns verification off, so [kubernetes] {key} \
                     would never be used"
                ),
            )
            .hint(format!(
                "keep {key} and remove tls_insecure (verify against that CA), or remove {key}"
            )));
    }
    Ok(())
}

/// A TLS key with a plain `http://` `[target] endpoint` would make every rank exit 2: refused
/// here with the run's fix, at the first TLS key given.
fn plain_endpoint(l: &Loaded) -> Result<(), SpecError> {
    let t = &l.spec.target;
    let http = |e: &&str| {
        e.get(..7)
            .is_some_and(|s| s.eq_ignore_ascii_case("http://"))
    };
    let Some(ep) = t.endpoint.as_deref().filter(http) else {
        return Ok(());
    };
    let k = |f: fn(&super::super::Kubernetes) -> bool| l.spec.kubernetes.as_ref().is_some_and(f);
    let given = [
        ("target", "tls_ca", t.tls_ca.is_some()),
        ("target", "tls_insecure", t.tls_insecure),
        ("target", "tls_cert", t.tls_cert.is_some()),
        ("target", "tls_key", t.tls_key.is_some()),
        (
            "kubernetes",
            "tls_ca_configmap",
            k(|k| k.tls_ca_configmap.is_some()),
        ),
        (
            "kubernetes",
            "tls_ca_secret",
            k(|k| k.tls_ca_secret.is_some()),
        ),
        ("kubernetes", "tls_ca_key", k(|k| k.tls_ca_key.is_some())),
        (
            "kubernetes",
            "tls_client_secret",
            k(|k| k.tls_client_secret.is_some()),
        ),
    ];
    let Some((section, key, _)) = given.into_iter().find(|g| g.2) else {
        return Ok(());
    };
    Err(l
        .error_at(
            &[section, key],
            format!("[{section}] {key} is a TLS setting, but the endpoint {ep} is plain http://"),
        )
        .hint(format!(
            "use https:// in the endpoint URL, or leave {key} out"
        )))
}
