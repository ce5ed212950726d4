//! The AIS cluster map (`GET /v1/daemon?what=smap`) as the built-in target answers it: the
//! cluster's proxies and targets by id with their URLs, which `--random-proxy` (and
//! aisloader's -randomproxy) pick proxies from.

use super::json_out;
use crate::counters::Kind;
use crate::node::Node;
use crate::respond::Reply;

/// `GET /v1/daemon?what=smap`: the cluster map in AIStore's shape (`pmap` and `tmap` of
/// nodes by id, the primary `proxy_si` = `p1`, a string `version`), each node with its real
/// URL as `public_net.direct_url`. A stand-alone server is its cluster's only proxy and target.
pub(crate) fn smap(r: &mut Reply<'_>, node: &Node) {
    r.ctr.request(Kind::Other);
    let snode = |id: &str, url: &str, kind: &str| {
        let hostport = url.split_once("://").map_or(url, |(_, h)| h);
        let (ip, port) = hostport.rsplit_once(':').unwrap_or((hostport, ""));
        let net = serde_json::json!({
            "node_ip_addr": ip,
            "daemon_port": port,
            "direct_url": url,
        });
        serde_json::json!({
            "public_net": net,
            "intra_control_net": net,
            "intra_data_net": net,
            "daemon_type": kind,
            "daemon_id": id,
            "flags": 0,
        })
    };
    let c = &node.cluster;
    let mut pmap = serde_json::Map::new();
    let mut tmap = serde_json::Map::new();
    if c.proxies.is_empty() {
        pmap.insert(node.id.to_string(), snode(&node.id, &node.url, "proxy"));
        tmap.insert(node.id.to_string(), snode(&node.id, &node.url, "target"));
    } else {
        for (i, url) in c.proxies.iter().enumerate() {
            let id = format!("p{}", i + 1);
            pmap.insert(id.clone(), snode(&id, url, "proxy"));
        }
        for (j, t) in c.targets.iter().enumerate() {
            let id = format!("t{}", j + 1);
            tmap.insert(id.clone(), snode(&id, &t.url, "target"));
        }
    }
    let primary = pmap.values().next().cloned().unwrap_or_default();
    json_out(
        r,
        &serde_json::json!({
            "pmap": pmap,
            "tmap": tmap,
            "proxy_si": primary,
            "uuid": "ringload-builtin",
            "version": "1",
        }),
    );
}
