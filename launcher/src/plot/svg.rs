//! The hand-written SVG toolkit the plots share: escaping, number formatting, scales, ticks,
//! axes, legends and polyline paths.
//!
//! Why hand-written: the plots are a few lines and axes, and a plotting crate would cost more
//! build time than the whole launcher. Invariants every function here keeps:
//! - every string from the data passes through [`esc`] before it reaches the output;
//! - every number is written through [`num`], so the output never holds `NaN` or `inf`;
//! - output depends only on the input (no clocks, no hash-map order), so it is deterministic;
//! - styling uses presentation attributes, never `<style>`, so an SVG inlined into HTML
//!   cannot restyle the page around it.

use std::fmt::Write as _;

/// Width of every plot, in px.
pub const WIDTH: f64 = 900.0;
/// Height of one panel (one op), in px: with the margins below, the plot area is ~900×270.
pub const PANEL_H: f64 = 380.0;
/// Left margin: room for y tick labels and the rotated y-axis label.
pub const M_LEFT: f64 = 78.0;
/// Right margin: room for a second y axis (per-rank throughput); the same on every plot, so
/// the time axes of the report's plots line up.
pub const M_RIGHT: f64 = 72.0;
/// Top margin: the title line and the legend line.
pub const M_TOP: f64 = 62.0;
/// Bottom margin: x tick labels and the x-axis label.
pub const M_BOTTOM: f64 = 50.0;
/// Approximate advance of one character at the 12 px font, for legend layout.
const CHAR_W: f64 = 6.8;
/// Longest legend label, in characters: longer ones (hostile op names) are cut.
const LEGEND_CHARS: usize = 40;

/// Colours of the series that the legend names (total, percentiles, ops): dark, distinct.
pub const STRONG: [&str; 6] = [
    "#1f4e9c", "#d9700a", "#b0211d", "#2c8c3c", "#6b3fa0", "#6b6b6b",
];
/// Colours of the thin per-rank lines: light, so the total stays on top visually.
pub const LIGHT: [&str; 8] = [
    "#8fb3e8", "#f2b77a", "#9ed39b", "#e59a98", "#c0a6e0", "#c9b08f", "#e8a6d4", "#a9c9c9",
];
/// Fill of the steady-window band.
pub const STEADY_FILL: &str = "#dff0d8";

/// Escapes text for XML/HTML content and quoted attributes. Characters XML 1.0 forbids
/// (most C0 controls) become U+FFFD, so a hostile string cannot make the document unparsable.
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            '\t' | '\n' | '\r' => out.push(c),
            c if (c as u32) < 0x20 || c == '\u{FFFE}' || c == '\u{FFFF}' => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    out
}

/// `s` cut to at most `max` characters, with `…` when cut (for titles and legends).
pub fn short(s: &str, max: usize) -> String {
    let mut out: String = s.chars().take(max).collect();
    if s.chars().count() > max {
        out.push('…');
    }
    out
}

/// A coordinate or length with one decimal; non-finite values become 0 and huge ones are
/// clamped, so no `NaN`, `inf` or exponent ever reaches an attribute.
pub fn num(v: f64) -> String {
    let v = if v.is_finite() {
        v.clamp(-1e7, 1e7)
    } else {
        0.0
    };
    let r = (v * 10.0).round() / 10.0;
    if r == 0.0 {
        return "0".to_string();
    }
    if r.fract() == 0.0 {
        format!("{r:.0}")
    } else {
        format!("{r:.1}")
    }
}

/// A linear or log-10 mapping from data values to pixels.
#[derive(Debug, Clone, Copy)]
pub struct Scale {
    pub lo: f64,
    pub hi: f64,
    pub px_lo: f64,
    pub px_hi: f64,
    pub log: bool,
}

impl Scale {
    /// A log-scale latency axis (µs) spanning the non-zero `values`, vertical in panel `p`;
    /// 1 µs..1 ms when there are none.
    pub fn log_latency(values: impl Iterator<Item = u64>, p: &Panel) -> Scale {
        let (min, max) = values
            .filter(|v| *v > 0)
            .fold((u64::MAX, 0u64), |(lo, hi), v| (lo.min(v), hi.max(v)));
        let (lo, hi) = if max == 0 {
            (1.0, 1000.0)
        } else {
            super::ticks::log_domain(min as f64, max as f64)
        };
        Scale {
            lo,
            hi,
            px_lo: p.y1,
            px_hi: p.y0,
            log: true,
        }
    }

    /// Maps `v` to pixels; values outside the domain are clamped to its edges.
    pub fn px(&self, v: f64) -> f64 {
        let (lo, hi, v) = if self.log {
            (self.lo.log10(), self.hi.log10(), v.max(self.lo).log10())
        } else {
            (self.lo, self.hi, v)
        };
        let span = hi - lo;
        let f = if span.is_finite() && span > 0.0 && v.is_finite() {
            ((v - lo) / span).clamp(0.0, 1.0)
        } else {
            0.0
        };
        self.px_lo + f * (self.px_hi - self.px_lo)
    }
}

/// One panel's geometry: its vertical offset in the document and its plot area.
#[derive(Debug, Clone, Copy)]
pub struct Panel {
    pub top: f64,
    pub x0: f64,
    pub x1: f64,
    pub y0: f64,
    pub y1: f64,
}

impl Panel {
    /// The `i`-th panel of a stacked plot.
    pub fn nth(i: usize) -> Panel {
        let top = i as f64 * PANEL_H;
        Panel {
            top,
            x0: M_LEFT,
            x1: WIDTH - M_RIGHT,
            y0: top + M_TOP,
            y1: top + PANEL_H - M_BOTTOM,
        }
    }
}

/// Opens an SVG document of `panels` stacked panels, with a white background and a `<title>`.
pub fn open(out: &mut String, panels: usize, title: &str) {
    let h = PANEL_H * panels.max(1) as f64;
    let _ = writeln!(
        out,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{w}\" height=\"{h}\" \
         viewBox=\"0 0 {w} {h}\" font-family=\"DejaVu Sans, Helvetica, Arial, sans-serif\" \
         font-size=\"12\"><title>{t}</title>\
         <rect x=\"0\" y=\"0\" width=\"{w}\" height=\"{h}\" fill=\"#ffffff\"/>",
        w = num(WIDTH),
        h = num(h),
        t = esc(title),
    );
}

/// Draws a panel's title (left, bold) on the first line of its top margin.
pub fn title(out: &mut String, p: &Panel, text: &str) {
    let _ = writeln!(
        out,
        "<text x=\"{}\" y=\"{}\" font-size=\"15\" font-weight=\"bold\" fill=\"#222\">{}</text>",
        num(p.x0),
        num(p.top + 22.0),
        esc(text)
    );
}

/// A centred message in an empty panel.
pub fn message(out: &mut String, p: &Panel, text: &str) {
    let _ = writeln!(
        out,
        "<text class=\"empty\" x=\"{}\" y=\"{}\" text-anchor=\"middle\" fill=\"#888\" \
         font-size=\"14\">{}</text>",
        num((p.x0 + p.x1) / 2.0),
        num((p.y0 + p.y1) / 2.0),
        esc(text)
    );
}

/// How a legend entry is drawn.
pub enum Swatch<'a> {
    /// A line of this colour and width.
    Line(&'a str, f64),
    /// A filled box of this colour.
    Fill(&'a str),
}

/// Draws legend entries in a row on the second line of the panel's top margin, left to right.
pub fn legend(out: &mut String, p: &Panel, entries: &[(Swatch<'_>, String)]) {
    let y = p.top + 44.0;
    let mut x = p.x0;
    out.push_str("<g class=\"legend\">\n");
    for (swatch, full) in entries {
        let label = short(full, LEGEND_CHARS);
        let w = 27.0 + label.chars().count() as f64 * CHAR_W + 18.0;
        if x + w - 18.0 > WIDTH {
            break;
        }
        match swatch {
            Swatch::Line(colour, w) => {
                let _ = write!(
                    out,
                    "<line x1=\"{}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" stroke=\"{}\" stroke-width=\"{}\"/>",
                    num(x),
                    num(y - 4.0),
                    num(x + 22.0),
                    num(y - 4.0),
                    esc(colour),
                    num(*w)
                );
            }
            Swatch::Fill(colour) => {
                let _ = write!(
                    out,
                    "<rect x=\"{}\" y=\"{}\" width=\"22\" height=\"10\" fill=\"{}\" \
                     stroke=\"#9c9\" stroke-width=\"0.5\"/>",
                    num(x),
                    num(y - 9.0),
                    esc(colour)
                );
            }
        }
        let _ = writeln!(
            out,
            "<text x=\"{}\" y=\"{}\" fill=\"#222\">{}</text>",
            num(x + 27.0),
            num(y),
            esc(&label)
        );
        x += w;
    }
    out.push_str("</g>\n");
}

/// One axis: its scale, its ticks as (value in data units, label), and its title.
pub type Axis<'a> = (&'a Scale, &'a [(f64, String)], &'a str);

/// Draws the plot-area frame, grid lines and tick labels, and the two axis titles.
pub fn axes(out: &mut String, p: &Panel, x: Axis<'_>, y: Axis<'_>) {
    let ((xs, xt, xlabel), (ys, yt, ylabel)) = (x, y);
    out.push_str("<g class=\"axes\">\n");
    for (v, label) in yt {
        let y = ys.px(*v);
        let _ = writeln!(
            out,
            "<line x1=\"{x0}\" y1=\"{y}\" x2=\"{x1}\" y2=\"{y}\" stroke=\"#e3e3e3\"/>\
             <text x=\"{lx}\" y=\"{ly}\" text-anchor=\"end\" fill=\"#333\">{t}</text>",
            x0 = num(p.x0),
            x1 = num(p.x1),
            y = num(y),
            lx = num(p.x0 - 6.0),
            ly = num(y + 4.0),
            t = esc(label)
        );
    }
    for (v, label) in xt {
        let x = xs.px(*v);
        // Keep the label inside the document: shift edge labels inwards.
        let half = label.chars().count() as f64 * CHAR_W / 2.0;
        let lx = x.clamp(half + 2.0, WIDTH - half - 2.0);
        let _ = writeln!(
            out,
            "<line x1=\"{x}\" y1=\"{y0}\" x2=\"{x}\" y2=\"{y1}\" stroke=\"#e3e3e3\"/>\
             <line x1=\"{x}\" y1=\"{y1}\" x2=\"{x}\" y2=\"{y2}\" stroke=\"#555\"/>\
             <text x=\"{lx}\" y=\"{ly}\" text-anchor=\"middle\" fill=\"#333\">{t}</text>",
            x = num(x),
            lx = num(lx),
            y0 = num(p.y0),
            y1 = num(p.y1),
            y2 = num(p.y1 + 4.0),
            ly = num(p.y1 + 17.0),
            t = esc(label)
        );
    }
    let _ = writeln!(
        out,
        "<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"none\" stroke=\"#555\"/>\
         <text x=\"{}\" y=\"{}\" text-anchor=\"middle\" fill=\"#222\">{}</text>\
         <text transform=\"translate({} {}) rotate(-90)\" text-anchor=\"middle\" fill=\"#222\">{}</text>",
        num(p.x0),
        num(p.y0),
        num(p.x1 - p.x0),
        num(p.y1 - p.y0),
        num((p.x0 + p.x1) / 2.0),
        num(p.y1 + 38.0),
        esc(xlabel),
        num(p.x0 - 60.0),
        num((p.y0 + p.y1) / 2.0),
        esc(ylabel)
    );
    out.push_str("</g>\n");
}

/// Draws a second y axis on the right of the plot area: tick marks, labels and a title, in
/// `colour` (no grid lines: the left axis owns those).
pub fn right_axis(out: &mut String, p: &Panel, y: Axis<'_>, colour: &str) {
    let (ys, yt, label) = y;
    out.push_str("<g class=\"axes right\">\n");
    for (v, text) in yt {
        let y = ys.px(*v);
        let _ = writeln!(
            out,
            "<line x1=\"{x1}\" y1=\"{y}\" x2=\"{x2}\" y2=\"{y}\" stroke=\"{c}\"/>\
             <text x=\"{lx}\" y=\"{ly}\" fill=\"{c}\">{t}</text>",
            x1 = num(p.x1),
            x2 = num(p.x1 + 4.0),
            y = num(y),
            lx = num(p.x1 + 7.0),
            ly = num(y + 4.0),
            c = esc(colour),
            t = esc(text)
        );
    }
    let _ = writeln!(
        out,
        "<text transform=\"translate({} {}) rotate(-90)\" text-anchor=\"middle\" \
         fill=\"{}\">{}</text>\n</g>",
        num(p.x1 + 62.0),
        num((p.y0 + p.y1) / 2.0),
        esc(colour),
        esc(label)
    );
}

/// Shades `[a, b]` (data units of `xs`, clamped to the plot area) over the full height of the
/// plot area. Returns whether anything was drawn (false when the band is empty or outside).
pub fn band(out: &mut String, p: &Panel, xs: &Scale, a: f64, b: f64) -> bool {
    let (xa, xb) = (xs.px(a), xs.px(b));
    if xb - xa < 0.5 {
        return false;
    }
    let _ = writeln!(
        out,
        "<rect class=\"steady\" x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"{}\"/>",
        num(xa),
        num(p.y0),
        num(xb - xa),
        num(p.y1 - p.y0),
        STEADY_FILL
    );
    true
}

/// A path through pixel points; `None` breaks the line (a gap, e.g. a bucket with no data).
/// `attrs` are extra attributes, already escaped. A point with no neighbour on its piece of
/// line would be invisible, so it also gets a dot (`<circle class="dot">`, outside the path).
/// Writes nothing when no point is drawable.
pub fn path(out: &mut String, pts: &[Option<(f64, f64)>], stroke: &str, width: f64, attrs: &str) {
    let mut d = String::with_capacity(pts.len() * 12);
    let mut dots = Vec::new();
    for (i, pt) in pts.iter().enumerate() {
        let Some((x, y)) = pt else { continue };
        let after_gap = i == 0 || pts[i - 1].is_none();
        let before_gap = pts.get(i + 1).is_none_or(|n| n.is_none());
        let cmd = if after_gap { " M" } else { " L" };
        let _ = write!(d, "{cmd}{} {}", num(*x), num(*y));
        if after_gap && before_gap {
            dots.push((*x, *y));
        }
    }
    if d.is_empty() {
        return;
    }
    let stroke = esc(stroke);
    let _ = writeln!(
        out,
        "<path {attrs} d=\"{}\" fill=\"none\" stroke=\"{stroke}\" stroke-width=\"{}\" \
         stroke-linejoin=\"round\" stroke-linecap=\"round\"/>",
        d.trim_start(),
        num(width)
    );
    for (x, y) in dots {
        let _ = writeln!(
            out,
            "<circle class=\"dot\" cx=\"{}\" cy=\"{}\" r=\"{}\" fill=\"{stroke}\"/>",
            num(x),
            num(y),
            num(width + 1.5)
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn esc_handles_markup_quotes_and_controls() {
        assert_eq!(
            esc("</svg><script>alert(\"x\" & 'y')</script>\u{1}"),
            "&lt;/svg&gt;&lt;script&gt;alert(&quot;x&quot; &amp; &#39;y&#39;)&lt;/script&gt;\u{FFFD}"
        );
    }

    #[test]
    fn num_never_prints_nan_inf_or_exponents() {
        assert_eq!(num(f64::NAN), "0");
        assert_eq!(num(f64::INFINITY), "0");
        assert_eq!(num(1e300), "10000000");
        assert_eq!(num(-0.04), "0");
        assert_eq!(num(12.345), "12.3");
        assert_eq!(num(7.0), "7");
    }

    #[test]
    fn scale_clamps_and_survives_empty_domains() {
        let s = Scale {
            lo: 0.0,
            hi: 0.0,
            px_lo: 10.0,
            px_hi: 20.0,
            log: false,
        };
        assert_eq!(s.px(5.0), 10.0);
        let l = Scale {
            lo: 1.0,
            hi: 100.0,
            px_lo: 0.0,
            px_hi: 100.0,
            log: true,
        };
        assert_eq!(l.px(10.0), 50.0);
        assert_eq!(l.px(0.0), 0.0);
        assert_eq!(l.px(1e9), 100.0);
    }

    #[test]
    fn path_breaks_on_gaps_and_skips_empty() {
        let mut out = String::new();
        path(&mut out, &[None, None], "#000", 1.0, "class=\"x\"");
        assert!(out.is_empty());
        path(
            &mut out,
            &[Some((0.0, 1.0)), Some((2.0, 3.0)), None, Some((4.0, 5.0))],
            "#000",
            1.0,
            "class=\"x\"",
        );
        assert!(out.contains("d=\"M0 1 L2 3 M4 5\""), "{out}");
        assert_eq!(
            out.matches("<circle").count(),
            1,
            "the lone point gets a dot"
        );
        assert!(out.contains("cx=\"4\" cy=\"5\""));
    }
}
