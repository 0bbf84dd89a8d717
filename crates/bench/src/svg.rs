//! report.svg, written by hand (no plotting dependency): parse throughput and peak RSS
//! against file size, the transform beside its floor, log-scaled sizes.

use crate::report::SizePoint;

const W: f64 = 420.0;
const H: f64 = 300.0;
const LEFT: f64 = 60.0;
const BOTTOM: f64 = 250.0;
const TOP: f64 = 40.0;
const RIGHT: f64 = 20.0;

struct Series<'a> {
    name: &'a str,
    colour: &'a str,
    values: Vec<f64>,
}

fn panel(x0: f64, title: &str, unit: &str, sizes: &[f64], series: &[Series<'_>]) -> String {
    let mut s = format!("<g transform=\"translate({x0},0)\">");
    s.push_str(&format!(
        "<text x=\"{}\" y=\"22\" text-anchor=\"middle\" font-size=\"14\">{title}</text>",
        W / 2.0
    ));
    let max = series
        .iter()
        .flat_map(|s| s.values.iter().copied())
        .filter(|v| v.is_finite())
        .fold(0.0_f64, f64::max)
        .max(1e-9)
        * 1.1;
    let (lo, hi) = sizes.iter().fold((f64::MAX, f64::MIN), |(lo, hi), v| {
        (lo.min(v.log10()), hi.max(v.log10()))
    });
    let span = (hi - lo).max(1e-9);
    let x = |v: f64| LEFT + (v.log10() - lo) / span * (W - LEFT - RIGHT);
    let y = |v: f64| BOTTOM - v / max * (BOTTOM - TOP);
    s.push_str(&format!(
        "<line x1=\"{LEFT}\" y1=\"{BOTTOM}\" x2=\"{}\" y2=\"{BOTTOM}\" stroke=\"black\"/>\
         <line x1=\"{LEFT}\" y1=\"{TOP}\" x2=\"{LEFT}\" y2=\"{BOTTOM}\" stroke=\"black\"/>",
        W - RIGHT
    ));
    for i in 0..=4 {
        let v = max * f64::from(i) / 4.0;
        s.push_str(&format!(
            "<text x=\"{}\" y=\"{:.1}\" text-anchor=\"end\" font-size=\"10\">{v:.0}</text>",
            LEFT - 4.0,
            y(v) + 3.0
        ));
    }
    for v in sizes {
        s.push_str(&format!(
            "<text x=\"{:.1}\" y=\"{}\" text-anchor=\"middle\" font-size=\"10\">{v:.1}</text>",
            x(*v),
            BOTTOM + 14.0
        ));
    }
    s.push_str(&format!(
        "<text x=\"{}\" y=\"{}\" text-anchor=\"middle\" font-size=\"11\">file size (MB, log scale)</text>\
         <text x=\"14\" y=\"{}\" font-size=\"11\" transform=\"rotate(-90 14 {})\" text-anchor=\"middle\">{unit}</text>",
        W / 2.0,
        BOTTOM + 32.0,
        (TOP + BOTTOM) / 2.0,
        (TOP + BOTTOM) / 2.0
    ));
    for (k, ser) in series.iter().enumerate() {
        let points: Vec<String> = sizes
            .iter()
            .zip(&ser.values)
            .map(|(sz, v)| format!("{:.1},{:.1}", x(*sz), y(*v)))
            .collect();
        s.push_str(&format!(
            "<polyline fill=\"none\" stroke=\"{}\" stroke-width=\"2\" points=\"{}\"/>",
            ser.colour,
            points.join(" ")
        ));
        let ly = TOP + 4.0 + 14.0 * k as f64;
        s.push_str(&format!(
            "<rect x=\"{}\" y=\"{}\" width=\"10\" height=\"3\" fill=\"{}\"/>\
             <text x=\"{}\" y=\"{}\" font-size=\"10\">{}</text>",
            LEFT + 10.0,
            ly - 3.0,
            ser.colour,
            LEFT + 24.0,
            ly + 1.0,
            ser.name
        ));
    }
    s.push_str("</g>");
    s
}

/// The transform beside its floor, one value of each per size.
fn pair(transform: Vec<f64>, floor: Vec<f64>) -> [Series<'static>; 2] {
    [
        Series {
            name: "csv-parser transform",
            colour: "#1f77b4",
            values: transform,
        },
        Series {
            name: "floor: csv::ByteRecord",
            colour: "#ff7f0e",
            values: floor,
        },
    ]
}

pub fn chart(points: &[SizePoint]) -> String {
    let sizes: Vec<f64> = points.iter().map(|p| p.megabytes).collect();
    let pick = |f: fn(&SizePoint) -> f64| points.iter().map(f).collect::<Vec<f64>>();
    let throughput = panel(
        0.0,
        "Parse throughput",
        "MB/s",
        &sizes,
        &pair(pick(|p| p.transform_mb_s), pick(|p| p.floor_mb_s)),
    );
    let memory = panel(
        W,
        "Peak RSS (whole process)",
        "MB",
        &sizes,
        &pair(pick(|p| p.transform_peak_rss_mb), pick(|p| p.floor_peak_rss_mb)),
    );
    format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{}\" height=\"{H}\" font-family=\"sans-serif\">\
         <rect width=\"100%\" height=\"100%\" fill=\"white\"/>{throughput}{memory}</svg>\n",
        2.0 * W
    )
}
