//! The report's tables drawn from the merged figures: latency per class (from the intended
//! start, and from the send for a `--rate` run), the phases per class, a sweep's steps and
//! knee, and the client-bound ranks. Every string is escaped ([`esc`]); the markup is
//! well-formed XML like the rest of the page.

use std::fmt::Write as _;

use ringload_core::hist::{LatencySummary, PHASE_LABELS};
use ringload_core::rate::RateRecord;

use super::svg::esc;
use crate::merge::model::ReportData;
use crate::merge::rate::ClientBound;
use crate::merge::text::{latency as lat, thousands};

/// The client-bound ranks, highlighted like the banner (nothing when none was).
pub fn client_bound(h: &mut String, ranks: &[ClientBound]) {
    if ranks.is_empty() {
        return;
    }
    h.push_str("<div class=\"banner\" id=\"client-bound\">\n<ul>\n");
    for r in ranks {
        let _ = writeln!(h, "<li>{} (host {})</li>", esc(&r.sentence()), esc(&r.host));
    }
    h.push_str("</ul>\n</div>\n");
}

fn cells(h: &mut String, l: &LatencySummary) {
    for v in [l.min, l.p50, l.p90, l.p99, l.p999, l.max] {
        let _ = write!(h, "<td>{}</td>", esc(&lat(v)));
    }
}

/// Latency per class, the service latency under it, then the phases table.
pub fn latency(h: &mut String, data: &ReportData) {
    if data.latency.is_empty() {
        return;
    }
    h.push_str(
        "<h2>Latency</h2>\n<table id=\"latency-table\">\n<tr><th>op</th><th>measured from</th>\
         <th>count</th><th>min</th><th>p50</th><th>p90</th><th>p99</th><th>p99.9</th>\
         <th>max</th></tr>\n",
    );
    for o in &data.latency {
        let op = esc(&crate::merge::op_label(&o.op));
        let from = if o.service.is_some() {
            "intended start"
        } else {
            "send"
        };
        let _ = write!(
            h,
            "<tr><td>{op}</td><td>{from}</td><td>{}</td>",
            thousands(o.count)
        );
        cells(h, &o.latency);
        h.push_str("</tr>\n");
        if let Some(s) = &o.service {
            let _ = write!(
                h,
                "<tr><td>{op}</td><td>send (service)</td><td>{}</td>",
                thousands(o.count)
            );
            cells(h, s);
            h.push_str("</tr>\n");
        }
    }
    h.push_str("</table>\n");
    if data.latency.iter().all(|o| o.phases.is_none()) {
        return;
    }
    h.push_str("<h2>Phases</h2>\n<table id=\"phases\">\n<tr><th>op</th><th>phase</th><th>count</th><th>p50</th><th>p99</th></tr>\n");
    for o in &data.latency {
        let Some(p) = &o.phases else { continue };
        for (label, (count, p50, p99)) in PHASE_LABELS.iter().zip(p) {
            let (p50, p99) = if *count > 0 {
                (lat(*p50), lat(*p99))
            } else {
                ("-".into(), "-".into())
            };
            let _ = writeln!(
                h,
                "<tr><td>{}</td><td>{label}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                esc(&crate::merge::op_label(&o.op)),
                thousands(*count),
                esc(&p50),
                esc(&p99)
            );
        }
    }
    h.push_str("</table>\n");
}

/// The rate: target, achieved, lag; a sweep's steps with their verdicts and the knee.
pub fn rate(h: &mut String, r: Option<&RateRecord>) {
    let Some(r) = r else { return };
    let _ = writeln!(
        h,
        "<h2>Rate</h2>\n<p id=\"rate\">target {:.1} ops/s, achieved {:.1} ops/s, {} arrivals; \
         schedule lag p99 {}, max {}{}</p>",
        r.target,
        r.achieved,
        esc(&r.arrival),
        esc(&lat(r.lag_us.p99)),
        esc(&lat(r.lag_us.max)),
        if r.kept {
            ""
        } else {
            " — <strong>the rate was not kept</strong>"
        }
    );
    if r.steps.is_empty() {
        return;
    }
    let knee = match r.knee {
        Some(k) => format!("knee: {k:.1} ops/s"),
        None => "no knee: no step met the objective".into(),
    };
    let slo = r
        .slo
        .as_ref()
        .map_or(String::new(), |s| format!("objective {}; ", esc(s)));
    let _ = writeln!(h, "<p id=\"knee\">{slo}<strong>{}</strong></p>", esc(&knee));
    h.push_str(
        "<table id=\"steps\">\n<tr><th>step</th><th>target ops/s</th><th>achieved ops/s</th>\
         <th>op</th><th>count</th><th>errors</th><th>p50</th><th>p99</th><th>verdict</th></tr>\n",
    );
    for (k, s) in r.steps.iter().enumerate() {
        let verdict = match (&s.broke, s.complete) {
            (Some(b), _) => format!("broke: {b}"),
            (None, false) => "incomplete".into(),
            (None, true) if r.slo.is_some() => "met".into(),
            (None, true) => "-".into(),
        };
        for (name, o) in &s.ops {
            let _ = writeln!(
                h,
                "<tr><td>{}</td><td>{:.1}</td><td>{:.1}</td><td>{}</td><td>{}</td><td>{}</td>\
                 <td>{}</td><td>{}</td><td>{}</td></tr>",
                k + 1,
                s.target,
                s.achieved,
                esc(&crate::merge::op_label(name)),
                thousands(o.count),
                thousands(o.errors),
                esc(&lat(o.latency_us.p50)),
                esc(&lat(o.latency_us.p99)),
                esc(&verdict)
            );
        }
    }
    h.push_str("</table>\n");
}
