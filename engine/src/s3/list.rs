//! ListObjectsV2: the query string of one page request and the parsing of its response, plus
//! the parsing of S3's XML error bodies.
//!
//! Owns: [`list_query`], [`parse_list_page`], [`parse_error`].
//!
//! Why: ringload lists a bucket to learn which objects a GET workload can read; the request
//! and response formats are S3's, independent of how the bytes travel.
//!
//! Invariants: [`list_query`] writes an already SigV4-canonical query (keys sorted, values
//! percent-encoded per RFC 3986 with uppercase hex), so signing it is a straight copy. The
//! parsers never panic on any input: non-UTF-8, malformed XML, DTDs (refused by roxmltree),
//! unexpected roots and bad numbers are errors. Keys come back with XML entities decoded
//! (`encoding-type=url` is never requested, so keys are not URL-decoded).

use ringload_net::http::{percent_encode, push_u64, Keep};

use roxmltree::{Document, Node};

/// One page of a ListObjectsV2 listing.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ListPage {
    /// `(key, size in bytes)` in the server's order.
    pub entries: Vec<(String, u64)>,
    /// The token for the next page (`NextContinuationToken`), if the listing continues.
    pub next_token: Option<String>,
    /// `IsTruncated`: more pages follow.
    pub truncated: bool,
}

/// Why a ListObjectsV2 response could not be used.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum ListError {
    #[error("S3 refused the listing: {code}: {message}; check the bucket name, the credentials and the region")]
    Server { code: String, message: String },
    #[error("the ListObjectsV2 response is not XML ({0}); check that the endpoint is an S3 server and the bucket exists")]
    Xml(String),
    #[error("the ListObjectsV2 response is malformed: {0}; check that the endpoint speaks S3's ListObjectsV2 (list-type=2)")]
    Malformed(String),
    #[error("the ListObjectsV2 response says IsTruncated=true but has no NextContinuationToken, so the listing cannot continue; the server does not implement ListObjectsV2 paging correctly")]
    TruncatedWithoutToken,
}

/// Appends the query string (without `?`) for one ListObjectsV2 page:
/// `continuation-token=..&list-type=2&max-keys=N&prefix=..`, keys sorted, values encoded
/// per RFC 3986. `continuation-token` is omitted when `token` is `None` or empty, `prefix`
/// when empty.
pub fn list_query(prefix: &str, token: Option<&str>, max_keys: u32, out: &mut Vec<u8>) {
    if let Some(token) = token.filter(|t| !t.is_empty()) {
        out.extend_from_slice(b"continuation-token=");
        percent_encode(token.as_bytes(), Keep::Unreserved, out);
        out.push(b'&');
    }
    out.extend_from_slice(b"list-type=2&max-keys=");
    push_u64(out, u64::from(max_keys));
    if !prefix.is_empty() {
        out.extend_from_slice(b"&prefix=");
        percent_encode(prefix.as_bytes(), Keep::Unreserved, out);
    }
}

/// Parses one ListObjectsV2 response body (`ListBucketResult`); an S3 `<Error>` body becomes
/// [`ListError::Server`].
pub fn parse_list_page(xml: &[u8]) -> Result<ListPage, ListError> {
    let text = std::str::from_utf8(xml)
        .map_err(|e| ListError::Xml(format!("not UTF-8 at byte {}", e.valid_up_to())))?;
    let doc = Document::parse(text).map_err(|e| ListError::Xml(e.to_string()))?;
    let root = doc.root_element();
    match root.tag_name().name() {
        "ListBucketResult" => {}
        "Error" => {
            let (code, message) = error_fields(root);
            return Err(ListError::Server { code, message });
        }
        other => {
            return Err(ListError::Malformed(format!(
                "the root element is <{}>, not <ListBucketResult>",
                other.chars().take(64).collect::<String>()
            )))
        }
    }
    let mut page = ListPage::default();
    for child in root.children().filter(Node::is_element) {
        match child.tag_name().name() {
            "Contents" => page
                .entries
                .push(parse_contents(child, page.entries.len())?),
            "IsTruncated" => {
                page.truncated = match text_of(child).trim() {
                    "true" => true,
                    "false" => false,
                    other => {
                        return Err(ListError::Malformed(format!(
                            "IsTruncated is '{}', not true or false",
                            other.chars().take(32).collect::<String>()
                        )))
                    }
                }
            }
            "NextContinuationToken" => {
                page.next_token = Some(text_of(child)).filter(|t| !t.is_empty());
            }
            _ => {}
        }
    }
    if page.truncated && page.next_token.is_none() {
        return Err(ListError::TruncatedWithoutToken);
    }
    Ok(page)
}

fn parse_contents(node: Node, index: usize) -> Result<(String, u64), ListError> {
    let field = |name: &str| {
        node.children()
            .find(|c| c.is_element() && c.tag_name().name() == name)
            .map(text_of)
    };
    let key = field("Key")
        .filter(|k| !k.is_empty())
        .ok_or_else(|| ListError::Malformed(format!("Contents entry {index} has no Key")))?;
    let size = field("Size")
        .ok_or_else(|| ListError::Malformed(format!("Contents entry {index} has no Size")))?;
    let size = size.trim().parse::<u64>().map_err(|_| {
        ListError::Malformed(format!(
            "Contents entry {index} has Size '{}', not a byte count",
            size.chars().take(32).collect::<String>()
        ))
    })?;
    Ok((key, size))
}

/// The text content of an element (entities and CDATA decoded, nested text concatenated).
fn text_of(node: Node) -> String {
    node.descendants()
        .filter(Node::is_text)
        .filter_map(|n| n.text())
        .collect()
}

fn error_fields(root: Node) -> (String, String) {
    let field = |name: &str| {
        root.children()
            .find(|c| c.is_element() && c.tag_name().name() == name)
            .map(text_of)
            .unwrap_or_default()
    };
    (field("Code"), field("Message"))
}

/// The `(Code, Message)` of a failed S3 request's body, if it is an S3 XML `<Error>` with a
/// non-empty `Code` (`Message` may be empty).
pub fn parse_error(xml: &[u8]) -> Option<(String, String)> {
    let text = std::str::from_utf8(xml).ok()?;
    let doc = Document::parse(text).ok()?;
    let root = doc.root_element();
    if root.tag_name().name() != "Error" {
        return None;
    }
    let (code, message) = error_fields(root);
    let code = code.trim().to_string();
    (!code.is_empty()).then_some((code, message))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn query(prefix: &str, token: Option<&str>, max_keys: u32) -> String {
        let mut out = Vec::new();
        list_query(prefix, token, max_keys, &mut out);
        String::from_utf8(out).expect("ASCII")
    }

    #[test]
    fn query_is_sorted_and_encoded() {
        assert_eq!(query("", None, 1000), "list-type=2&max-keys=1000");
        assert_eq!(query("", Some(""), 0), "list-type=2&max-keys=0");
        // The same string botocore signed in sigv4's sign_matches_botocore_s3sigv4auth.
        assert_eq!(
            query("a/b", Some("1/abC=="), 1000),
            "continuation-token=1%2FabC%3D%3D&list-type=2&max-keys=1000&prefix=a%2Fb"
        );
        assert_eq!(
            query("dir one/ሴ+~_.-", None, 7),
            "list-type=2&max-keys=7&prefix=dir%20one%2F%E1%88%B4%2B~_.-"
        );
        let mut out = b"GET /bkt/?".to_vec();
        list_query("p", None, 5, &mut out);
        assert_eq!(out, b"GET /bkt/?list-type=2&max-keys=5&prefix=p");
    }

    #[test]
    fn query_is_already_sigv4_canonical() {
        use crate::s3::sigv4::{AmzDate, Credentials, SignRequest, Signer, EMPTY_SHA256};
        let creds = Credentials {
            access_key: "AK".into(),
            secret_key: "SK".into(),
            session_token: None,
        };
        let mut signer = Signer::new(creds, "us-east-1");
        for (prefix, token) in [
            ("a b/c&d=e", Some("tok+/=en")),
            ("", None),
            ("ሴ", Some("x")),
        ] {
            let mut q = Vec::new();
            list_query(prefix, token, 1000, &mut q);
            let req = SignRequest {
                method: "GET",
                host: "h",
                canonical_uri: b"/bkt/",
                query: &q,
                payload_hash: EMPTY_SHA256,
            };
            signer.signature(&req, &AmzDate::from_unix(0), &[]);
            let mut expected = b"GET\n/bkt/\n".to_vec();
            expected.extend_from_slice(&q);
            expected.push(b'\n');
            assert!(
                signer.last_canonical_request().starts_with(&expected),
                "{prefix:?}"
            );
        }
    }

    const AWS_PAGE: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">
    <Name>example-bucket</Name>
    <Prefix>photos/</Prefix>
    <KeyCount>2</KeyCount>
    <MaxKeys>1000</MaxKeys>
    <IsTruncated>false</IsTruncated>
    <Contents>
        <Key>photos/2006/January/sample.jpg</Key>
        <LastModified>2011-02-26T01:56:20.000Z</LastModified>
        <ETag>&quot;bf1d737a4d46a19f3bced6905cc8b902&quot;</ETag>
        <Size>142863</Size>
        <StorageClass>STANDARD</StorageClass>
    </Contents>
    <Contents>
        <Key>photos/a &amp; b &lt;c&gt; &#x20AC; <![CDATA[<raw>]]></Key>
        <LastModified>2011-02-26T01:56:20.000Z</LastModified>
        <ETag>&quot;d41d8cd98f00b204e9800998ecf8427e&quot;</ETag>
        <Size>0</Size>
        <Owner><ID>75aa57f09aa0c8caeab4f8c24e99d10f8e7faeebf76c078efc7c6caea54ba06a</ID></Owner>
        <StorageClass>STANDARD</StorageClass>
    </Contents>
</ListBucketResult>"#;

    #[test]
    fn parses_a_namespaced_aws_page_with_entities() {
        let page = parse_list_page(AWS_PAGE.as_bytes()).expect("valid page");
        assert_eq!(
            page,
            ListPage {
                entries: vec![
                    ("photos/2006/January/sample.jpg".to_string(), 142_863),
                    ("photos/a & b <c> € <raw>".to_string(), 0),
                ],
                next_token: None,
                truncated: false,
            }
        );
    }

    #[test]
    fn empty_bucket() {
        let xml = r#"<?xml version="1.0" encoding="UTF-8"?>
<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Name>b</Name><Prefix></Prefix><KeyCount>0</KeyCount><MaxKeys>1000</MaxKeys><IsTruncated>false</IsTruncated></ListBucketResult>"#;
        assert_eq!(parse_list_page(xml.as_bytes()), Ok(ListPage::default()));
    }

    #[test]
    fn truncated_page_carries_the_token() {
        let xml = r#"<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">
  <IsTruncated>true</IsTruncated>
  <Contents><Key>k1</Key><Size>18446744073709551615</Size></Contents>
  <NextContinuationToken>1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM=</NextContinuationToken>
</ListBucketResult>"#;
        let page = parse_list_page(xml.as_bytes()).expect("page");
        assert!(page.truncated);
        assert_eq!(page.entries, vec![("k1".to_string(), u64::MAX)]);
        assert_eq!(
            page.next_token.as_deref(),
            Some("1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM=")
        );

        let no_token = "<ListBucketResult><IsTruncated>true</IsTruncated></ListBucketResult>";
        assert_eq!(
            parse_list_page(no_token.as_bytes()),
            Err(ListError::TruncatedWithoutToken)
        );
        let empty = "<ListBucketResult><IsTruncated>true</IsTruncated><NextContinuationToken/></ListBucketResult>";
        assert_eq!(
            parse_list_page(empty.as_bytes()),
            Err(ListError::TruncatedWithoutToken)
        );
    }

    const ERROR_BODY: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<Error><Code>NoSuchBucket</Code><Message>The specified bucket does not exist</Message><BucketName>nope</BucketName><RequestId>4442587FB7D0A2F9</RequestId></Error>"#;

    #[test]
    fn error_bodies() {
        let code = "NoSuchBucket".to_string();
        let message = "The specified bucket does not exist".to_string();
        assert_eq!(
            parse_error(ERROR_BODY.as_bytes()),
            Some((code.clone(), message.clone()))
        );
        let err = parse_list_page(ERROR_BODY.as_bytes()).unwrap_err();
        assert_eq!(err, ListError::Server { code, message });
        assert!(
            err.to_string().contains("NoSuchBucket")
                && err.to_string().contains("check the bucket name")
        );

        assert_eq!(
            parse_error(b"<Error><Code>AccessDenied</Code></Error>"),
            Some(("AccessDenied".to_string(), String::new()))
        );
        assert_eq!(parse_error(AWS_PAGE.as_bytes()), None);
        assert_eq!(parse_error(b"<Error><Message>m</Message></Error>"), None);
        assert_eq!(parse_error(b"<html>502 Bad Gateway</html>"), None);
        assert_eq!(parse_error(b"\xff\xfe"), None);
        assert_eq!(parse_error(b""), None);
    }

    #[test]
    fn malformed_pages_are_errors() {
        let cases: [(&[u8], &str); 7] = [
            (b"", "not XML"),
            (b"\xff<ListBucketResult/>", "not UTF-8"),
            (b"<html><body>hi</body></html>", "<html>"),
            (b"<ListBucketResult><Contents><Size>1</Size></Contents></ListBucketResult>", "no Key"),
            (b"<ListBucketResult><Contents><Key>k</Key></Contents></ListBucketResult>", "no Size"),
            (b"<ListBucketResult><Contents><Key>k</Key><Size>-1</Size></Contents></ListBucketResult>", "Size '-1'"),
            (b"<ListBucketResult><IsTruncated>maybe</IsTruncated></ListBucketResult>", "IsTruncated"),
        ];
        for (xml, needle) in cases {
            let err = parse_list_page(xml).unwrap_err();
            assert!(
                err.to_string().contains(needle),
                "{}: {err}",
                String::from_utf8_lossy(xml)
            );
        }
        let bomb = br#"<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;">]><ListBucketResult><Contents><Key>&lol2;</Key><Size>1</Size></Contents></ListBucketResult>"#;
        assert!(matches!(parse_list_page(bomb), Err(ListError::Xml(_))));
    }

    #[test]
    fn every_truncation_and_byte_flip_is_handled() {
        let doc = AWS_PAGE.as_bytes();
        for cut in 0..doc.len() {
            let _ = parse_list_page(&doc[..cut]);
            let _ = parse_error(&doc[..cut]);
        }
        let mut state = 0x2545_f491_4f6c_dd1du64;
        for _ in 0..2000 {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let mut mutated = doc.to_vec();
            let at = (state % doc.len() as u64) as usize;
            mutated[at] = (state >> 32) as u8;
            let _ = parse_list_page(&mutated);
            let _ = parse_error(&mutated);
        }
    }
}
