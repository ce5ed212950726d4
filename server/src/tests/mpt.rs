//! AIS native multipart upload on a stand-alone target over loopback: create, parts,
//! complete (the object's size is the sum of its parts), abort, and every refusal (unknown
//! upload, wrong object, bad part number, parts missing or out of order, wrong action), with
//! the `ml` counters and `mpt_pending` exact.

use super::ais::ais_server;
use super::Client;
use crate::*;

const JSON: &str = "Content-Type: application/json\r\n";
const OBJ: &str = "v1/objects/bk/dir/obj?provider=ais";

fn setup() -> (ServerHandle, Client) {
    let h = ais_server(100);
    let mut c = Client::connect(&h);
    let r = c.call(
        "POST",
        "v1/buckets/bk?provider=ais",
        JSON,
        br#"{"action":"create-bck"}"#,
    );
    assert_eq!(r.status, 200, "{}", r.text());
    (h, c)
}

fn create(c: &mut Client) -> String {
    let r = c.call("POST", OBJ, JSON, br#"{"action":"mpt-upload"}"#);
    assert_eq!(r.status, 200, "{}", r.text());
    r.text()
}

fn part(c: &mut Client, id: &str, k: &str, len: usize) -> u16 {
    let path = format!("{OBJ}&uploadId={id}&partNumber={k}");
    c.req("PUT", &path, "", &vec![7u8; len]).status
}

fn complete(c: &mut Client, id: &str, parts: &[u32]) -> (u16, String) {
    let list: Vec<String> = parts
        .iter()
        .map(|k| format!(r#"{{"etag":"","part-number":{k}}}"#))
        .collect();
    let body = format!(
        r#"{{"action":"mpt-complete","value":[{}]}}"#,
        list.join(",")
    );
    let r = c.call(
        "POST",
        &format!("{OBJ}&uploadId={id}"),
        JSON,
        body.as_bytes(),
    );
    (r.status, r.text())
}

fn ml(c: &mut Client) -> serde_json::Value {
    let r = c.call("GET", "v1/ringload/stats", "", b"");
    assert_eq!(r.status, 200);
    r.json()["ml"].clone()
}

fn size(c: &mut Client) -> Option<u64> {
    let r = c.req("HEAD", OBJ, "", b"");
    (r.status == 200).then(|| {
        r.header("content-length")
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    })
}

#[test]
fn an_upload_completes_with_the_sum_of_its_parts() {
    let (_h, mut c) = setup();
    let id = create(&mut c);
    assert!(
        !id.is_empty() && id.bytes().all(|b| b.is_ascii_digit()),
        "{id}"
    );
    assert_eq!(ml(&mut c)["mpt_pending"], 1);
    // Parts may arrive in any order and be re-sent; the last of each number counts.
    assert_eq!(part(&mut c, &id, "2", 500), 200);
    assert_eq!(part(&mut c, &id, "1", 999), 200);
    assert_eq!(part(&mut c, &id, "1", 1000), 200);
    assert_eq!(size(&mut c), None, "no object before the completion");
    assert_eq!(complete(&mut c, &id, &[1, 2]).0, 200);
    assert_eq!(size(&mut c), Some(1500));
    let m = ml(&mut c);
    assert_eq!(
        (m["mpt_create"].as_u64(), m["mpt_parts"].as_u64()),
        (Some(1), Some(3))
    );
    assert_eq!(
        (m["mpt_complete"].as_u64(), m["mpt_abort"].as_u64()),
        (Some(1), Some(0))
    );
    assert_eq!(m["mpt_pending"], 0);
    // A completed upload is gone.
    assert_eq!(part(&mut c, &id, "3", 10), 404);
}

#[test]
fn an_aborted_upload_leaves_nothing() {
    let (_h, mut c) = setup();
    let id = create(&mut c);
    assert_eq!(part(&mut c, &id, "1", 100), 200);
    let path = format!("{OBJ}&uploadId={id}");
    let r = c.call("DELETE", &path, JSON, br#"{"action":"mpt-abort"}"#);
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(size(&mut c), None);
    assert_eq!(complete(&mut c, &id, &[1]).0, 404, "aborted: unknown");
    let m = ml(&mut c);
    assert_eq!(
        (m["mpt_abort"].as_u64(), m["mpt_pending"].as_u64()),
        (Some(1), Some(0))
    );
}

#[test]
fn bad_steps_are_refused_and_leave_the_upload_pending() {
    let (_h, mut c) = setup();
    let id = create(&mut c);
    // Unknown ids (a number never given, not a number) and another object's path: 404.
    assert_eq!(part(&mut c, "999", "1", 10), 404);
    assert_eq!(part(&mut c, "x", "1", 10), 404);
    let other = format!("v1/objects/bk/other?provider=ais&uploadId={id}&partNumber=1");
    assert_eq!(c.req("PUT", &other, "", b"abc").status, 404);
    // Part numbers outside 1..=10000: 400.
    for k in ["0", "10001", "-1", "one"] {
        assert_eq!(part(&mut c, &id, k, 10), 400, "part {k}");
    }
    assert_eq!(part(&mut c, &id, "1", 10), 200);
    assert_eq!(part(&mut c, &id, "3", 10), 200);
    // A part never sent, parts out of order, no parts: 400, and the upload stays.
    for parts in [&[1, 2, 3][..], &[3, 1], &[]] {
        let (st, text) = complete(&mut c, &id, parts);
        assert_eq!(st, 400, "{parts:?}: {text}");
    }
    // The wrong action, or a body that is not JSON.
    let path = format!("{OBJ}&uploadId={id}");
    assert_eq!(
        c.call("POST", &path, JSON, br#"{"action":"mpt-abort"}"#)
            .status,
        400
    );
    assert_eq!(c.call("POST", &path, JSON, b"{not json").status, 400);
    assert_eq!(
        c.call("POST", OBJ, JSON, br#"{"action":"nope"}"#).status,
        400
    );
    assert_eq!(ml(&mut c)["mpt_pending"], 1);
    assert_eq!(size(&mut c), None);
    // Into a bucket that does not exist: 404, nothing created.
    let r = c.call(
        "POST",
        "v1/objects/nobk/o?provider=ais",
        JSON,
        br#"{"action":"mpt-upload"}"#,
    );
    assert_eq!(r.status, 404, "{}", r.text());
    let m = ml(&mut c);
    assert_eq!(
        (m["mpt_create"].as_u64(), m["mpt_pending"].as_u64()),
        (Some(1), Some(1))
    );
    assert_eq!(m["mpt_parts"], 2);
}
