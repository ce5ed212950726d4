//! Signing: AWS's SigV4 test-suite vectors, the S3 documentation's examples, botocore's
//! output, the cached signing key and the reused buffers.

use super::*;

// AWS's SigV4 test suite (aws-sig-v4-test-suite, also shipped in aws-c-auth):
// credentials, date, region and service of every generic vector.
const SUITE_AK: &str = "AKIDEXAMPLE";
const SUITE_SK: &str = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
const SUITE_HOST: &str = "example.amazonaws.com";
/// 2015-08-30T12:36:00Z.
const SUITE_UNIX: u64 = 1_440_938_160;

fn suite_signer(token: Option<&str>) -> Signer {
    Signer::with_service(creds(SUITE_AK, SUITE_SK, token), "us-east-1", "service")
}

fn suite_req<'a>(uri: &'a [u8], query: &'a [u8]) -> SignRequest<'a> {
    SignRequest {
        method: "GET",
        host: SUITE_HOST,
        canonical_uri: uri,
        query,
        payload_hash: EMPTY_SHA256,
    }
}

fn suite_sig(uri: &[u8], query: &[u8]) -> String {
    let date = AmzDate::from_unix(SUITE_UNIX);
    suite_signer(None).signature(&suite_req(uri, query), &date, &[])
}

#[test]
fn amz_date_formats_utc_calendar_dates() {
    let cases = [
        (0, "19700101T000000Z"),
        (SUITE_UNIX, "20150830T123600Z"),
        (951_782_400, "20000229T000000Z"),
        (1_709_251_199, "20240229T235959Z"),
        (1_767_225_600, "20260101T000000Z"),
        (4_107_542_399, "21000228T235959Z"),
        (u64::MAX, "99991231T235959Z"),
    ];
    for (secs, stamp) in cases {
        let d = AmzDate::from_unix(secs);
        assert_eq!(d.stamp(), stamp, "secs {secs}");
        assert_eq!(d.day(), &stamp[..8]);
    }
    assert_eq!(AmzDate::now().stamp().len(), 16);
}

// Expected signatures below are AWS's published test-suite values; each was also recomputed
// with botocore 1.44.8 (SigV4Auth, service "service", path not re-normalized, date patched
// via botocore.auth.get_current_datetime) and matched.

#[test]
fn suite_get_vanilla() {
    assert_eq!(
        suite_sig(b"/", b""),
        "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"
    );
}

#[test]
fn suite_get_vanilla_query_order_key_case() {
    let mut signer = suite_signer(None);
    let date = AmzDate::from_unix(SUITE_UNIX);
    let sig = signer.signature(&suite_req(b"/", b"Param2=value2&Param1=value1"), &date, &[]);
    assert_eq!(
        sig,
        "b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500"
    );
    let creq = String::from_utf8_lossy(signer.last_canonical_request()).into_owned();
    assert_eq!(
        creq,
        "GET\n/\nParam1=value1&Param2=value2\nhost:example.amazonaws.com\n\
         x-amz-date:20150830T123600Z\n\nhost;x-amz-date\n\
         e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    );
}

#[test]
fn suite_get_vanilla_query_order_encoded() {
    // Sorting pairs, not "k=v" strings: "Param" < "Param-3"; "%E1%88%B4" sorts first.
    let query = b"Param-3=Value3&Param=Value2&%E1%88%B4=Value1";
    let mut signer = suite_signer(None);
    let date = AmzDate::from_unix(SUITE_UNIX);
    let sig = signer.signature(&suite_req(b"/", query), &date, &[]);
    assert_eq!(
        sig,
        "371d3713e185cc334048618a97f809c9ffe339c62934c032af5a0e595648fcac"
    );
    let creq = signer.last_canonical_request();
    assert!(creq.starts_with(b"GET\n/\n%E1%88%B4=Value1&Param=Value2&Param-3=Value3\n"));
    // The same query sent unencoded or with lowercase escapes canonicalizes the same way.
    let raw = "Param=Value2&ሴ=Value1&Param-3=Value3";
    assert_eq!(suite_sig(b"/", raw.as_bytes()), sig);
    assert_eq!(
        suite_sig(b"/", b"%e1%88%b4=Value1&Param-3=Value3&Param=Value2"),
        sig
    );
}

#[test]
fn suite_encoded_paths() {
    // get-utf8: GET /ሴ, canonical URI /%E1%88%B4.
    let utf8 = "8318018e0b0f223aa2bbf98705b62bb787dc9c0e678f255a891fd03141be5d85";
    assert_eq!(suite_sig(b"/%E1%88%B4", b""), utf8);
    assert_eq!(suite_sig("/ሴ".as_bytes(), b""), utf8);
    // get-space-unnormalized: GET /example space/, canonical URI /example%20space/.
    let space = "652487583200325589f1fba4c7e578f72c47cb61beeca81406b39ddec1366741";
    assert_eq!(suite_sig(b"/example%20space/", b""), space);
    assert_eq!(suite_sig(b"/example space/", b""), space);
}

#[test]
fn suite_get_vanilla_with_session_token() {
    let token = "6e86291e8372ff2a2260956d9b8aae1d763fbf315fa00fa31553b73ebf194267";
    let mut signer = suite_signer(Some(token));
    let date = AmzDate::from_unix(SUITE_UNIX);
    let sig = signer.signature(
        &suite_req(b"/", b""),
        &date,
        &[("X-Amz-Security-Token", token)],
    );
    assert_eq!(
        sig,
        "07ec1639c89043aa0e3e2de82b96708f198cceab042d4a97044c66dd9f74e7f8"
    );
}

fn doc_req<'a>(uri: &'a [u8], query: &'a [u8]) -> SignRequest<'a> {
    SignRequest {
        method: "GET",
        host: DOC_HOST,
        canonical_uri: uri,
        query,
        payload_hash: EMPTY_SHA256,
    }
}

#[test]
fn s3_doc_get_object_with_range() {
    let mut signer = Signer::new(creds(DOC_AK, DOC_SK, None), "us-east-1");
    let extra = [
        ("Range", "bytes=0-9"),
        ("x-amz-content-sha256", EMPTY_SHA256),
    ];
    let sig = signer.signature(
        &doc_req(b"/test.txt", b""),
        &AmzDate::from_unix(DOC_UNIX),
        &extra,
    );
    assert_eq!(
        sig,
        "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41"
    );
}

#[test]
fn s3_doc_list_objects_via_sign() {
    let mut signer = Signer::new(creds(DOC_AK, DOC_SK, None), "us-east-1");
    let mut out = b"GET /?max-keys=2&prefix=J HTTP/1.1\r\n".to_vec();
    let date = AmzDate::from_unix(DOC_UNIX);
    signer.sign(&doc_req(b"/", b"max-keys=2&prefix=J"), &date, &mut out);
    let expected = format!(
        "GET /?max-keys=2&prefix=J HTTP/1.1\r\n\
         x-amz-content-sha256: {EMPTY_SHA256}\r\n\
         x-amz-date: 20130524T000000Z\r\n\
         Authorization: AWS4-HMAC-SHA256 Credential={DOC_AK}/20130524/us-east-1/s3/aws4_request, \
         SignedHeaders=host;x-amz-content-sha256;x-amz-date, Signature={DOC_LIST_SIG}\r\n"
    );
    assert_eq!(String::from_utf8_lossy(&out), expected);
    let extra = [("x-amz-content-sha256", EMPTY_SHA256)];
    assert_eq!(
        signer.signature(&doc_req(b"/", b"prefix=J&max-keys=2"), &date, &extra),
        DOC_LIST_SIG
    );
}

/// Signer::sign against botocore 1.44.8 (`pip install botocore` in a venv). Each expected
/// value was printed by this script, with the per-case arguments given in the comments:
/// ```python
/// import datetime, types; from unittest import mock
/// from botocore.auth import S3SigV4Auth
/// from botocore.awsrequest import AWSRequest
/// from botocore.credentials import Credentials
/// def s3sign(ak, sk, token, region, when, method, url, host, body=b"", unsigned=False):
///     auth = S3SigV4Auth(Credentials(ak, sk, token), "s3", region)
///     req = AWSRequest(method=method, url=url, headers={"Host": host}, data=body)
///     if unsigned:  # makes botocore send x-amz-content-sha256: UNSIGNED-PAYLOAD
///         req.context["client_config"] = types.SimpleNamespace(
///             s3={"payload_signing_enabled": False})
///     with mock.patch("botocore.auth.get_current_datetime", return_value=when):
///         auth.add_auth(req)
///     print(req.headers["X-Amz-Content-SHA256"], req.headers["Authorization"])
/// ```
#[test]
fn sign_matches_botocore_s3sigv4auth() {
    // s3sign("RINGLOADAKID", "ringload/secret+KEY", None, "us-east-1",
    //        datetime.datetime(2024, 2, 29, 23, 59, 59), "PUT",
    //        "http://127.0.0.1:9000/bkt/dir/obj%20name.bin", "127.0.0.1:9000",
    //        body=b"xyz", unsigned=True)
    let mut signer = Signer::new(creds(RL_AK, RL_SK, None), "us-east-1");
    let mut out = Vec::new();
    let req = SignRequest {
        method: "PUT",
        host: "127.0.0.1:9000",
        canonical_uri: b"/bkt/dir/obj%20name.bin",
        query: b"",
        payload_hash: UNSIGNED_PAYLOAD,
    };
    signer.sign(&req, &AmzDate::from_unix(1_709_251_199), &mut out);
    assert_eq!(
        String::from_utf8_lossy(&out),
        "x-amz-content-sha256: UNSIGNED-PAYLOAD\r\nx-amz-date: 20240229T235959Z\r\n\
         Authorization: AWS4-HMAC-SHA256 Credential=RINGLOADAKID/20240229/us-east-1/s3/aws4_request, \
         SignedHeaders=host;x-amz-content-sha256;x-amz-date, \
         Signature=da2a0e22725224472ca433236a30093d7110552c3a398a06de7b5e5bf6b4c0e0\r\n"
    );

    // s3sign("RINGLOADAKID", "ringload/secret+KEY", "FwoGZXIvYXdzEJr//////////wEaDOKEN+/=",
    //        "eu-west-3", datetime.datetime(2025, 12, 31, 8, 5, 9), "GET",
    //        "http://127.0.0.1:9000/bkt/?continuation-token=1%2FabC%3D%3D&list-type=2"
    //        "&max-keys=1000&prefix=a%2Fb", "127.0.0.1:9000")
    // botocore got the query sorted; the signer also gets it shuffled and must sort it.
    let mut signer = Signer::new(creds(RL_AK, RL_SK, Some(RL_TOKEN)), "eu-west-3");
    let expected = format!(
        "x-amz-content-sha256: {EMPTY_SHA256}\r\nx-amz-date: 20251231T080509Z\r\n\
         x-amz-security-token: {RL_TOKEN}\r\n\
         Authorization: AWS4-HMAC-SHA256 Credential=RINGLOADAKID/20251231/eu-west-3/s3/aws4_request, \
         SignedHeaders=host;x-amz-content-sha256;x-amz-date;x-amz-security-token, \
         Signature=15a323bd4c76579f708a8a682b84b2a61d890c3f5a976cd1caeb4e552c32170f\r\n"
    );
    for query in [
        &b"continuation-token=1%2FabC%3D%3D&list-type=2&max-keys=1000&prefix=a%2Fb"[..],
        b"prefix=a/b&max-keys=1000&list-type=2&continuation-token=1%2fabC%3d%3D",
    ] {
        let req = SignRequest {
            method: "GET",
            host: "127.0.0.1:9000",
            canonical_uri: b"/bkt/",
            query,
            payload_hash: EMPTY_SHA256,
        };
        out.clear();
        signer.sign(&req, &AmzDate::from_unix(1_767_168_309), &mut out);
        assert_eq!(String::from_utf8_lossy(&out), expected);
    }

    // s3sign("RINGLOADAKID", "ringload/secret+KEY", None, "us-west-2",
    //        datetime.datetime(2026, 1, 1, 0, 0, 0), "PUT", "http://bkt.s3.example.com/k~1",
    //        "bkt.s3.example.com", body=b"hello")
    let mut signer = Signer::new(creds(RL_AK, RL_SK, None), "us-west-2");
    let body_hash = sha256_hex(b"hello");
    assert_eq!(
        body_hash,
        "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"
    );
    let req = SignRequest {
        method: "PUT",
        host: "bkt.s3.example.com",
        canonical_uri: b"/k~1",
        query: b"",
        payload_hash: &body_hash,
    };
    out.clear();
    signer.sign(&req, &AmzDate::from_unix(1_767_225_600), &mut out);
    assert!(String::from_utf8_lossy(&out).ends_with(
        "SignedHeaders=host;x-amz-content-sha256;x-amz-date, \
         Signature=eccdada7f3eb01b9226b5627f73dcd331574e95fc8c8bca2a4f743a985faed4c\r\n"
    ));
}

#[test]
fn cached_key_follows_the_day() {
    let req = suite_req(b"/", b"");
    let mut reused = suite_signer(None);
    for secs in [
        SUITE_UNIX,
        SUITE_UNIX + 86_400,
        SUITE_UNIX + 1,
        SUITE_UNIX + 3 * 86_400,
    ] {
        let date = AmzDate::from_unix(secs);
        let fresh = suite_signer(None).signature(&req, &date, &[]);
        assert_eq!(
            reused.signature(&req, &date, &[]),
            fresh,
            "at {}",
            date.stamp()
        );
    }
}

#[test]
fn sign_reuses_its_buffers() {
    let mut signer = Signer::new(creds(RL_AK, RL_SK, Some(RL_TOKEN)), "us-east-1");
    let req = SignRequest {
        method: "GET",
        host: "h",
        canonical_uri: b"/b/k",
        query: b"b=2&a=1",
        payload_hash: UNSIGNED_PAYLOAD,
    };
    let date = AmzDate::from_unix(SUITE_UNIX);
    let mut out = Vec::with_capacity(1024);
    signer.sign(&req, &date, &mut out);
    let first = out.clone();
    let caps = (
        signer.state.canon.creq.capacity(),
        signer.state.canon.qbuf.capacity(),
        signer.state.canon.spans.capacity(),
    );
    let out_ptr = out.as_ptr();
    for _ in 0..10 {
        out.clear();
        signer.sign(&req, &date, &mut out);
        assert_eq!(out, first);
    }
    assert_eq!(out.as_ptr(), out_ptr);
    let after = (
        signer.state.canon.creq.capacity(),
        signer.state.canon.qbuf.capacity(),
        signer.state.canon.spans.capacity(),
    );
    assert_eq!(after, caps);
}

#[test]
fn debug_output_redacts_secrets() {
    let c = creds(RL_AK, RL_SK, Some(RL_TOKEN));
    let signer = Signer::new(c.clone(), "us-east-1");
    for text in [format!("{c:?}"), format!("{signer:?}"), format!("{c:#?}")] {
        assert!(text.contains(RL_AK), "{text}");
        assert!(text.contains("***"), "{text}");
        assert!(!text.contains(RL_SK), "{text}");
        assert!(!text.contains(RL_TOKEN), "{text}");
    }
}
