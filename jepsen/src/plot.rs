//! The plot of a run, as SVG written directly (a few rectangles and
//! polylines need no plotting library): publishes and first deliveries per
//! second on top, publish latency (mean and max per second) below, the fault
//! windows shaded and the phases marked on both.

use std::collections::BTreeMap;
use std::fmt::Write;

use crate::history::{History, Kind, Op};

const WIDTH: f64 = 960.0;
const PANEL: f64 = 200.0;
const LEFT: f64 = 60.0;
const RIGHT: f64 = 20.0;
const TOP: f64 = 40.0;
const GAP: f64 = 50.0;

/// One line of a panel: values per second, colour, legend.
type Line<'a> = (&'a [f64], &'static str, &'static str);

/// Per-second series of a history.
#[derive(Debug, Default)]
struct Series {
    seconds: u64,
    published: Vec<f64>,
    delivered: Vec<f64>,
    latency_mean: Vec<f64>,
    latency_max: Vec<f64>,
    /// (start s, end s, name)
    faults: Vec<(f64, f64, String)>,
    /// (time s, name)
    phases: Vec<(f64, String)>,
}

fn series(history: &History) -> Series {
    let end = history.events.last().map_or(0, |e| e.time);
    let seconds = end / 1000 + 1;
    let n = seconds as usize;
    let mut s = Series {
        seconds,
        published: vec![0.0; n],
        delivered: vec![0.0; n],
        latency_mean: vec![0.0; n],
        latency_max: vec![0.0; n],
        ..Default::default()
    };
    let mut invoked: BTreeMap<u64, u64> = BTreeMap::new();
    let mut latency_count = vec![0.0; n];
    let mut open: BTreeMap<(String, Option<u64>), u64> = BTreeMap::new();
    for e in &history.events {
        let bucket = ((e.time / 1000) as usize).min(n - 1);
        match (e.f, e.kind) {
            (Op::Publish, Kind::Invoke) => {
                invoked.insert(e.process, e.time);
            }
            (Op::Publish, kind) => {
                if kind == Kind::Ok {
                    s.published[bucket] += 1.0;
                }
                if let Some(start) = invoked.remove(&e.process) {
                    let ms = (e.time - start) as f64;
                    s.latency_mean[bucket] += ms;
                    latency_count[bucket] += 1.0;
                    s.latency_max[bucket] = s.latency_max[bucket].max(ms);
                }
            }
            (Op::Pull, Kind::Ok) => {
                s.delivered[bucket] +=
                    e.deliveries.iter().filter(|d| d.attempt == 1).count() as f64;
            }
            (Op::Start, _) => {
                open.insert((e.nemesis.clone().unwrap_or_default(), e.node), e.time);
            }
            (Op::Stop, _) => {
                let name = e.nemesis.clone().unwrap_or_default();
                if let Some(start) = open.remove(&(name.clone(), e.node)) {
                    let label = e.node.map_or(name.clone(), |n| format!("{name} n{n}"));
                    s.faults
                        .push((start as f64 / 1000.0, e.time as f64 / 1000.0, label));
                }
            }
            (Op::Phase, _) => s.phases.push((
                e.time as f64 / 1000.0,
                e.nemesis.clone().unwrap_or_default(),
            )),
            _ => {}
        }
    }
    for (mean, count) in s.latency_mean.iter_mut().zip(latency_count) {
        if count > 0.0 {
            *mean /= count;
        }
    }
    s
}

/// The plot of `history` titled `title`, as an SVG document.
pub fn svg(history: &History, title: &str) -> String {
    let s = series(history);
    let height = TOP + 2.0 * PANEL + GAP + 40.0;
    let span = s.seconds.max(1) as f64;
    let x = |t: f64| LEFT + (WIDTH - LEFT - RIGHT) * t / span;
    let mut out = String::new();
    let _ = writeln!(
        out,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" viewBox="0 0 {WIDTH} {height}" font-family="sans-serif" font-size="11">"#
    );
    let _ = writeln!(out, r#"<rect width="100%" height="100%" fill="white"/>"#);
    let _ = writeln!(
        out,
        r#"<text x="{LEFT}" y="20" font-size="14">{}</text>"#,
        escape(title)
    );
    let panels: [(&str, f64, Vec<Line<'_>>); 2] = [
        (
            "per second",
            TOP,
            vec![
                (&s.published, "#1f77b4", "publishes acked"),
                (&s.delivered, "#2ca02c", "first deliveries"),
            ],
        ),
        (
            "publish latency, ms",
            TOP + PANEL + GAP,
            vec![
                (&s.latency_mean, "#9467bd", "mean"),
                (&s.latency_max, "#ff7f0e", "max"),
            ],
        ),
    ];
    for (label, top, lines) in panels {
        let max = lines
            .iter()
            .flat_map(|(v, _, _)| v.iter().copied())
            .fold(1.0_f64, f64::max);
        let y = |v: f64| top + PANEL - PANEL * v / max;
        for (start, end, name) in &s.faults {
            let _ = writeln!(
                out,
                r##"<rect x="{:.1}" y="{top}" width="{:.1}" height="{PANEL}" fill="#d62728" fill-opacity="0.15"><title>{}</title></rect>"##,
                x(*start),
                (x(*end) - x(*start)).max(1.0),
                escape(name)
            );
            let _ = writeln!(
                out,
                r##"<text x="{:.1}" y="{:.1}" fill="#d62728" font-size="9">{}</text>"##,
                x(*start) + 2.0,
                top + 10.0,
                escape(name)
            );
        }
        for (t, name) in &s.phases {
            let _ = writeln!(
                out,
                r##"<line x1="{0:.1}" x2="{0:.1}" y1="{top}" y2="{1}" stroke="#888" stroke-dasharray="3,3"/><text x="{2:.1}" y="{3}" fill="#555" font-size="9">{4}</text>"##,
                x(*t),
                top + PANEL,
                x(*t) + 2.0,
                top + PANEL - 3.0,
                escape(name)
            );
        }
        let _ = writeln!(
            out,
            r##"<rect x="{LEFT}" y="{top}" width="{}" height="{PANEL}" fill="none" stroke="#333"/>"##,
            WIDTH - LEFT - RIGHT
        );
        let _ = writeln!(
            out,
            r#"<text x="4" y="{}">{:.0}</text><text x="4" y="{}">0</text>"#,
            top + 10.0,
            max,
            top + PANEL
        );
        let _ = writeln!(
            out,
            r#"<text x="{LEFT}" y="{}">{}</text>"#,
            top - 4.0,
            escape(label)
        );
        for (i, (values, color, name)) in lines.iter().enumerate() {
            let points: Vec<String> = values
                .iter()
                .enumerate()
                .map(|(t, v)| format!("{:.1},{:.1}", x(t as f64 + 0.5), y(*v)))
                .collect();
            let _ = writeln!(
                out,
                r#"<polyline fill="none" stroke="{color}" stroke-width="1.5" points="{}"/>"#,
                points.join(" ")
            );
            let lx = WIDTH - RIGHT - 260.0 + 130.0 * i as f64;
            let _ = writeln!(
                out,
                r#"<rect x="{lx}" y="{}" width="10" height="3" fill="{color}"/><text x="{}" y="{}">{}</text>"#,
                top - 8.0,
                lx + 14.0,
                top - 4.0,
                escape(name)
            );
        }
    }
    let _ = writeln!(
        out,
        r#"<text x="{LEFT}" y="{}">seconds since the run began (0 to {})</text>"#,
        height - 10.0,
        s.seconds
    );
    out.push_str("</svg>\n");
    out
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::history::Event;

    #[test_log::test]
    fn a_plot_shades_each_fault_window_and_draws_both_panels() {
        let mut events = vec![Event::nemesis(0, Op::Phase, "faults")];
        let invoke = Event::publish(100, 1, "t", "a", "leader");
        events.push(invoke.clone());
        events.push(invoke.completed(300, Kind::Ok));
        let mut start = Event::nemesis(1_000, Op::Start, "kill");
        start.node = Some(2);
        let mut stop = start.clone();
        stop.f = Op::Stop;
        stop.time = 3_000;
        events.extend([start, stop]);
        let svg = svg(&History::new(events), "kill <seed 1>");
        assert!(svg.starts_with("<svg"));
        assert_eq!(svg.matches("<title>kill n2</title>").count(), 2, "{svg}");
        assert_eq!(svg.matches("<polyline").count(), 4);
        assert!(svg.contains("kill &lt;seed 1&gt;"));
    }
}
