//! Verifying: the built-in S3 target's check accepts what `Signer::sign` produces and the
//! S3 documentation's example, and refuses bad requests with errors that name the fix.

use super::*;

/// The header list a server would see for a request signed by `Signer::sign`.
fn received(host: &str, signed: &[u8]) -> Vec<(String, Vec<u8>)> {
    let mut headers = vec![("Host".to_string(), host.as_bytes().to_vec())];
    for line in String::from_utf8_lossy(signed)
        .split("\r\n")
        .filter(|l| !l.is_empty())
    {
        let (name, value) = line.split_once(": ").expect("header line");
        headers.push((name.to_string(), value.as_bytes().to_vec()));
    }
    headers
}

fn verify_with(
    ak: &str,
    sk: &str,
    method: &str,
    path: &[u8],
    query: &[u8],
    headers: &[(String, Vec<u8>)],
) -> Result<(), VerifyError> {
    let refs: Vec<(&str, &[u8])> = headers
        .iter()
        .map(|(n, v)| (n.as_str(), v.as_slice()))
        .collect();
    verify(
        ak,
        sk,
        &VerifyRequest {
            method,
            raw_path: path,
            raw_query: query,
            headers: &refs,
        },
    )
}

struct Signed {
    method: &'static str,
    path: &'static [u8],
    query: &'static [u8],
    headers: Vec<(String, Vec<u8>)>,
}

fn signed(
    token: Option<&str>,
    method: &'static str,
    path: &'static [u8],
    query: &'static [u8],
) -> Signed {
    let mut signer = Signer::new(creds(RL_AK, RL_SK, token), "us-west-2");
    let req = SignRequest {
        method,
        host: "127.0.0.1:9000",
        canonical_uri: path,
        query,
        payload_hash: UNSIGNED_PAYLOAD,
    };
    let mut out = Vec::new();
    signer.sign(&req, &AmzDate::from_unix(1_767_168_309), &mut out);
    Signed {
        method,
        path,
        query,
        headers: received("127.0.0.1:9000", &out),
    }
}

fn check(s: &Signed) -> Result<(), VerifyError> {
    verify_with(RL_AK, RL_SK, s.method, s.path, s.query, &s.headers)
}

#[test]
fn verify_accepts_what_sign_produces() {
    for token in [None, Some(RL_TOKEN)] {
        let get = signed(
            token,
            "GET",
            b"/bkt/",
            b"prefix=a%2Fb&list-type=2&max-keys=7",
        );
        assert_eq!(check(&get), Ok(()));
        let put = signed(token, "PUT", b"/bkt/dir/obj%20name~%E1%88%B4", b"");
        assert_eq!(check(&put), Ok(()));
    }
}

#[test]
fn verify_accepts_the_s3_doc_example_and_loose_header_spacing() {
    let auth = format!(
        "AWS4-HMAC-SHA256 Credential={DOC_AK}/20130524/us-east-1/s3/aws4_request,SignedHeaders=host;x-amz-content-sha256;x-amz-date,Signature={DOC_LIST_SIG}"
    );
    let mut headers = vec![
        ("host".to_string(), format!("  {DOC_HOST} ").into_bytes()),
        ("X-Amz-Date".to_string(), b"20130524T000000Z".to_vec()),
        (
            "x-amz-content-sha256".to_string(),
            EMPTY_SHA256.as_bytes().to_vec(),
        ),
        ("authorization".to_string(), auth.into_bytes()),
    ];
    assert_eq!(
        verify_with(
            DOC_AK,
            DOC_SK,
            "GET",
            b"/",
            b"max-keys=2&prefix=J",
            &headers
        ),
        Ok(())
    );
    // A header the client did not sign may be added or changed freely.
    headers.push(("User-Agent".to_string(), b"x".to_vec()));
    assert_eq!(
        verify_with(
            DOC_AK,
            DOC_SK,
            "GET",
            b"/",
            b"prefix=J&max-keys=2",
            &headers
        ),
        Ok(())
    );
}

#[test]
fn verify_rejects_bad_requests() {
    let s = signed(Some(RL_TOKEN), "GET", b"/bkt/key", b"a=1&b=2");
    let h = &s.headers;
    assert_eq!(
        verify_with(RL_AK, "wrong", "GET", s.path, s.query, h),
        Err(VerifyError::SignatureMismatch)
    );
    assert_eq!(
        verify_with("OTHERKEY", RL_SK, "GET", s.path, s.query, h),
        Err(VerifyError::UnknownKey(RL_AK.to_string()))
    );
    let mismatch = Err(VerifyError::SignatureMismatch);
    assert_eq!(
        verify_with(RL_AK, RL_SK, "GET", b"/bkt/kez", s.query, h),
        mismatch
    );
    assert_eq!(
        verify_with(RL_AK, RL_SK, "GET", s.path, b"a=1&b=3", h),
        mismatch
    );
    assert_eq!(
        verify_with(RL_AK, RL_SK, "PUT", s.path, s.query, h),
        mismatch
    );

    let without = |name: &str| -> Vec<(String, Vec<u8>)> {
        h.iter()
            .filter(|(n, _)| !n.eq_ignore_ascii_case(name))
            .cloned()
            .collect()
    };
    let run =
        |headers: &[(String, Vec<u8>)]| verify_with(RL_AK, RL_SK, "GET", s.path, s.query, headers);
    assert_eq!(
        run(&without("authorization")),
        Err(VerifyError::Missing("Authorization"))
    );
    assert_eq!(
        run(&without("x-amz-date")),
        Err(VerifyError::Missing("x-amz-date"))
    );
    assert_eq!(
        run(&without("x-amz-content-sha256")),
        Err(VerifyError::Missing("x-amz-content-sha256"))
    );
    assert_eq!(
        run(&without("x-amz-security-token")),
        Err(VerifyError::MissingSigned(
            "x-amz-security-token".to_string()
        ))
    );
    assert_eq!(
        run(&without("host")),
        Err(VerifyError::MissingSigned("host".to_string()))
    );

    let mut tampered = h.clone();
    for (name, value) in tampered.iter_mut() {
        if name == "x-amz-security-token" {
            value.push(b'x');
        }
    }
    assert_eq!(run(&tampered), mismatch);

    let presigned = verify_with(
        RL_AK,
        RL_SK,
        "GET",
        s.path,
        b"X-Amz-Signature=00",
        &without("authorization"),
    );
    assert_eq!(
        presigned,
        Err(VerifyError::Unsupported("presigned URL".to_string()))
    );
    let mut bare = without("authorization");
    bare.push(("Authorization".to_string(), ALGORITHM.as_bytes().to_vec()));
    let err = run(&bare).unwrap_err();
    assert!(err.to_string().contains("no Credential= part"), "{err}");

    let mut v2 = without("authorization");
    v2.push((
        "Authorization".to_string(),
        b"AWS AKID:c2lnbmF0dXJl".to_vec(),
    ));
    assert_eq!(run(&v2), Err(VerifyError::Unsupported("AWS".to_string())));
}

#[test]
fn verify_errors_name_the_fix_and_hide_the_secret() {
    let s = signed(Some(RL_TOKEN), "GET", b"/bkt/key", b"");
    let err = verify_with(RL_AK, RL_SK, "GET", b"/other", s.query, &s.headers).unwrap_err();
    let text = err.to_string();
    assert!(text.contains("secret key"), "{text}");
    assert!(!text.contains(RL_SK) && !text.contains(RL_TOKEN), "{text}");
    let text = VerifyError::Missing("x-amz-date").to_string();
    assert!(
        text.contains("x-amz-date") && text.contains("send"),
        "{text}"
    );
}

/// Deterministic mutations of a valid request never panic, and almost never verify.
#[test]
fn verify_survives_garbage() {
    let s = signed(
        Some(RL_TOKEN),
        "GET",
        b"/bkt/k%20y",
        b"list-type=2&prefix=a%2F",
    );
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let mut accepted = 0;
    for round in 0..3000 {
        let mut headers = s.headers.clone();
        let mut path = s.path.to_vec();
        let mut query = s.query.to_vec();
        for _ in 0..1 + next() % 3 {
            let which = (next() % (headers.len() as u64 + 2)) as usize;
            let target: &mut Vec<u8> = match which {
                0 => &mut path,
                1 => &mut query,
                n => &mut headers[n - 2].1,
            };
            let r = next();
            match r % 4 {
                0 if !target.is_empty() => {
                    let at = (next() % target.len() as u64) as usize;
                    target[at] = (next() % 256) as u8;
                }
                1 if !target.is_empty() => {
                    let at = (next() % target.len() as u64) as usize;
                    target.truncate(at);
                }
                2 => {
                    let at = (next() % (target.len() as u64 + 1)) as usize;
                    let fill: &[u8] = [&b"%"[..], b"=", b"&", b",", b" ", b"/", b"\xff", b"%zz"]
                        [(next() % 8) as usize];
                    target.splice(at..at, fill.iter().copied());
                }
                _ => target.clear(),
            }
        }
        let result = verify_with(RL_AK, RL_SK, "GET", &path, &query, &headers);
        if result.is_ok() {
            accepted += 1;
        }
        let _ = round;
    }
    // Only mutations that leave the canonical form unchanged (e.g. extra spaces in a
    // header value) may still verify.
    assert!(accepted < 30, "{accepted} mutated requests verified");
    // Pure garbage headers.
    for auth in [
        &b""[..],
        b"AWS4-HMAC-SHA256",
        b"AWS4-HMAC-SHA256 ",
        b"AWS4-HMAC-SHA256 Credential=",
        b"AWS4-HMAC-SHA256 Credential=a/b/c/d/e, SignedHeaders=, Signature=zz",
        b"AWS4-HMAC-SHA256 Credential=RINGLOADAKID/2025123/r/s3/aws4_request, SignedHeaders=host, Signature=00",
        b"\xff\xfe",
        b",,,,==",
    ] {
        let headers = vec![("authorization".to_string(), auth.to_vec())];
        assert!(verify_with(RL_AK, RL_SK, "GET", b"/", b"", &headers).is_err());
    }
}
