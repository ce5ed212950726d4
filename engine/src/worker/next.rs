//! Choosing and issuing a connection's next operation: GET or PUT (aisloader's per-order
//! decision), its name and size, a `--pctupdate` PUT after its GET (decided by the same order
//! hash as the PUT, as in aisloader), and the host it goes to
//! (the endpoint, or with `--random-proxy` a proxy picked per request and counted per core).
//! Nothing here allocates: names go into the worker's reused buffers, the request head into
//! the connection's.

use std::sync::atomic::Ordering;

use super::body::Body;
use super::conn::Update;
use super::finish::switch_host;
use super::request::Spec;
use super::shard::write_own_put;
use super::{Step, StopReason, Worker};
use crate::names::{split_arch, ARCH_SEP};
use crate::stats::Op;
use crate::workload::Protocol;
use ringload_core::content;
use ringload_core::rng::pct_fires;

impl Worker {
    pub(super) fn next_op(&mut self, i: usize) -> Step {
        let sh = &*self.shared;
        if let Update::Due(size) = std::mem::replace(&mut self.conns[i].update, Update::None) {
            // `--pctupdate`: the PUT that follows a GET goes out even while the run drains
            // (not once it is cancelled), so every update GET has its PUT.
            if !sh.cancel.load(Ordering::Relaxed) {
                self.name.clear();
                self.name.extend_from_slice(&self.conns[i].update_name);
                self.conns[i].update = Update::Putting;
                // Not a scheduled arrival: its latency counts from its own send.
                self.conns[i].intended = None;
                return self.issue(i, true, size);
            }
        }
        // Download streams: a pending range of an active stream goes before a new operation,
        // also while the run drains, so every stream in flight ends (mpd.rs).
        if let Some(step) = self.take_range(i) {
            return step;
        }
        let sh = &*self.shared;
        if sh.stopping() {
            return self.park_or_finish(i);
        }
        if !self.take_slot(i) {
            return Step::Idle;
        }
        let sh = &*self.shared;
        let w = &sh.workload;
        let t = sh.ops.fetch_add(1, Ordering::Relaxed) + 1;
        let mut put = pct_fires(w.pctput, t);
        self.name.clear();
        self.name_size = None;
        if !put {
            if let Some(sel) = &sh.selector {
                match sel.next(&mut self.rng) {
                    Some(idx) => {
                        self.name
                            .extend_from_slice(sh.names.get(idx as usize).as_bytes());
                        self.name_size = sh.names.size(idx as usize);
                    }
                    None => {
                        sh.stop(StopReason::Epochs);
                        return self.park_or_finish(i);
                    }
                }
            } else if !self.own_puts.is_empty() {
                let (own, fmt) = (&self.own_puts, &w.ml.arch.format);
                write_own_put(own, &mut self.rng, &self.namer, fmt, &mut self.name);
            } else if w.pctput > 0 {
                put = true; // mixed run with nothing written yet: write first
            } else {
                sh.stop(StopReason::NoNames);
                return self.finish_conn(i);
            }
        }
        if !put && w.ml.get_batchsize > 0 {
            // GetBatch: this name is the batch's first; the batch draws the rest.
            return self.start_batch(i);
        }
        if !put && pct_fires(w.ml.pctmpdstream, t) {
            return self.start_mpd(i);
        }
        let mut size = 0;
        if put {
            let cnt = sh.puts.fetch_add(1, Ordering::Relaxed) + 1;
            if w.maxputs > 0 && cnt > w.maxputs {
                sh.stop(StopReason::Maxputs);
                return self.finish_conn(i);
            }
            size = self.namer.put_size(cnt);
            if w.totalputsize > 0 {
                let before = sh.put_bytes.fetch_add(size, Ordering::Relaxed);
                if before >= w.totalputsize {
                    sh.stop(StopReason::Totalputsize);
                    return self.finish_conn(i);
                }
            }
            self.namer.write_name(cnt, &mut self.name);
            self.conns[i].put_cnt = cnt;
            let ml = &w.ml;
            // S3 takes at most 5 GiB in one PUT: a larger object always goes in parts.
            let too_big = w.protocol == Protocol::S3 && size > super::mpu::S3_MAX_PUT;
            if too_big || (ml.multipart_chunks > 0 && pct_fires(ml.pctmultipart, t)) {
                return self.start_mpu(i, size);
            }
            if pct_fires(ml.arch.pct, t) {
                return self.start_shard_put(i, size);
            }
        } else if w.pctupdate > 0 && pct_fires(w.pctupdate, t) {
            // aisloader's draw: the same order hash as the PUT decision, so a GET is an update
            // when `pctput <= mix64(t) % 100 < pctupdate`.
            let c = &mut self.conns[i];
            c.update = Update::After;
            c.update_name.clear();
            c.update_name.extend_from_slice(&self.name);
        }
        self.issue(i, put, size)
    }

    /// Encodes and starts operation `put` (of `size` bytes) of the object named in
    /// `self.name` on connection `i`, at the endpoint or (`--random-proxy`) a random proxy.
    fn issue(&mut self, i: usize, put: bool, size: u64) -> Step {
        self.issue_with(i, put, size, None)
    }

    /// [`Worker::issue`]; `shard` is a shard PUT's body source (its TAR, see `shard.rs`).
    pub(super) fn issue_with(
        &mut self,
        i: usize,
        put: bool,
        size: u64,
        shard: Option<Body>,
    ) -> Step {
        let sh = &*self.shared;
        let w = &sh.workload;
        let c = &mut self.conns[i];
        c.op = if put { Op::Put } else { Op::Get };
        c.retried = false;
        c.redirects = 0;
        c.marks.begin_op();
        let range = (!put && w.readlen > 0).then(|| (w.readoff, w.readoff + w.readlen - 1));
        let h = if self.proxies.is_empty() {
            0
        } else {
            let k = self.rng.below(self.proxies.len() as u64) as usize;
            self.proxy_counts[k] += 1;
            self.proxies[k]
        };
        switch_host(&mut self.conns[i], &mut self.hosts, h);
        let c = &mut self.conns[i];
        // Shards: a listed name `<shard>\0<file>` is a GET of the file by archpath; its
        // content name is `<shard>/<file>` (the separator becomes `/`).
        let (obj, archpath) = split_arch(&self.name);
        match archpath {
            Some(file) if !put => Self::archpath_query(&mut self.arch, file),
            _ => self.arch.clear(),
        }
        if put || w.verify {
            // The object's content: what a PUT sends and a verified GET is checked against.
            self.ident.clear();
            self.ident.extend_from_slice(&sh.object_prefix);
            self.ident.extend_from_slice(&self.name);
            if let Some(sep) = self.ident.iter().rposition(|&b| b == ARCH_SEP) {
                self.ident[sep] = b'/';
            }
            c.content_start = content::object_start(&self.ident);
        }
        let host = if h == 0 {
            &self.host0
        } else {
            &self.hosts.get(h).header
        };
        let spec = Spec {
            range,
            query_extra: &self.arch,
            checksum: put && shard.is_none(),
            ..Spec::object(obj, put.then_some(size), host, true)
        };
        c.method = spec.method;
        c.content_type = None;
        c.checksum = spec.checksum;
        c.range = range;
        c.body = shard.unwrap_or(Body::Content {
            start: c.content_start,
            offset: 0,
        });
        let expect = self.req.expects(&spec);
        self.req.encode(&spec, c.content_start, &mut c.exch.head);
        let verify = w.verify && !put;
        if verify {
            c.check.begin(c.content_start, range.map_or(0, |r| r.0));
        }
        c.exch.begin(size, false, !verify);
        if expect {
            c.exch.expect_continue();
        }
        self.launch(i)
    }
}
