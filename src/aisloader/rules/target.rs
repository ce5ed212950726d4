//! aisloader's bucket and direct-S3 rules: a bucket given as a name with `-provider` or as a
//! URI, and the options direct S3 access (`-s3endpoint`) refuses. Split from the rules so each
//! file stays readable; pure like them.

use super::Stop;

/// The bucket as `provider://name` (empty when none is given) and whether it is an ais one.
pub(super) fn bucket_of(
    flag: &str,
    provider: &str,
    direct_s3: bool,
) -> Result<(String, bool), Stop> {
    fn scheme_of(prov: &str) -> &str {
        match prov {
            "aws" | "s3" => "s3",
            "gcp" | "gs" => "gs",
            "azure" | "az" => "az",
            "oci" | "oc" => "oci",
            other => other,
        }
    }
    let (scheme, name) = match flag.split_once("://") {
        Some((s, n)) => {
            if provider != "ais" && scheme_of(provider) != scheme_of(s) {
                return Err(Stop::Error(format!(
                    "bucket {flag:?} and '-provider={provider}' disagree: give one of them"
                )));
            }
            (scheme_of(s).to_string(), n.to_string())
        }
        // Direct S3 takes a plain name as the S3 bucket's (aisloader uses only the name).
        None if direct_s3 && provider == "ais" => ("s3".to_string(), flag.to_string()),
        None => (scheme_of(provider).to_string(), flag.to_string()),
    };
    if name.trim_start_matches('@').contains('/') && !name.starts_with('@') {
        return Err(Stop::Error(format!(
            "bucket {flag:?} names an object: give the bucket only"
        )));
    }
    if direct_s3 && !flag.is_empty() && scheme != "s3" {
        return Err(Stop::Error(format!(
            "direct S3 access via '-s3endpoint' needs an s3 bucket (s3://name or -provider=aws), \
             not {flag:?}"
        )));
    }
    if flag.is_empty() {
        return Ok((String::new(), true));
    }
    Ok((format!("{scheme}://{name}"), scheme == "ais"))
}

/// aisloader's options that direct S3 access refuses.
pub(super) fn s3_exclusions(
    v: &dyn Fn(&str) -> String,
    on: &dyn Fn(&str) -> bool,
    ip: &str,
    port: &str,
) -> Result<(), Stop> {
    let e = |m: &str| Err(Stop::Error(m.to_string()));
    if on("randomproxy") {
        return e("command line options '-s3endpoint' and '-randomproxy' are mutually exclusive");
    }
    if !(ip.is_empty() || ip == "localhost" || ip == "127.0.0.1") {
        return e("command line options '-s3endpoint' and '-ip' are mutually exclusive");
    }
    if !(port.is_empty() || port == "8080") {
        return e("command line options '-s3endpoint' and '-port' are mutually exclusive");
    }
    if on("trace-http") {
        return e("direct S3 access via '-s3endpoint': HTTP tracing is not supported yet");
    }
    if on("verifyhash") {
        return e("direct S3 access via '-s3endpoint': '-verifyhash' option is not supported yet");
    }
    if !v("readoff").is_empty() || !v("readlen").is_empty() {
        return e("direct S3 access via '-s3endpoint': Read range is not supported yet");
    }
    if on("cached") {
        return e(
            "direct S3 access via '-s3endpoint': '-cached' applies to AIS remote buckets only",
        );
    }
    Ok(())
}

/// True when the URL's host is an IP literal (`http://10.0.0.1:9000`, `http://[::1]:9000`).
pub(super) fn host_is_ip(url: &str) -> bool {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let authority = rest.split('/').next().unwrap_or_default();
    let host = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    if let Some(v6) = host.strip_prefix('[') {
        return v6
            .split(']')
            .next()
            .is_some_and(|h| h.parse::<std::net::Ipv6Addr>().is_ok());
    }
    let h = host.rsplit_once(':').map_or(host, |(h, _)| h);
    h.parse::<std::net::Ipv4Addr>().is_ok()
}
