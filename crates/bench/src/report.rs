//! The report: every figure beside its baseline, as Markdown (target/bench/report.md)
//! and JSON (report.json, the same numbers).

use serde::Serialize;

/// One measured figure, with the baseline of the same run it is compared with.
#[derive(Debug, Clone, Serialize)]
pub struct Line {
    pub what: String,
    pub value: f64,
    pub unit: String,
    pub baseline_what: Option<String>,
    pub baseline: Option<f64>,
    /// How `value` compares with the baseline (what the ratio means is in `what`).
    pub ratio: Option<f64>,
    pub target: Option<String>,
    pub met: Option<bool>,
}

impl Line {
    pub fn new(what: impl Into<String>, value: f64, unit: &str) -> Self {
        Line {
            what: what.into(),
            value,
            unit: unit.to_string(),
            baseline_what: None,
            baseline: None,
            ratio: None,
            target: None,
            met: None,
        }
    }

    pub fn vs(mut self, baseline_what: impl Into<String>, baseline: f64, ratio: f64) -> Self {
        self.baseline_what = Some(baseline_what.into());
        self.baseline = Some(baseline);
        self.ratio = Some(ratio);
        self
    }

    pub fn target(mut self, text: impl Into<String>, met: bool) -> Self {
        self.target = Some(text.into());
        self.met = Some(met);
        self
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Done,
    Partial,
    NotDone,
}

#[derive(Debug, Clone, Serialize)]
pub struct Section {
    pub id: String,
    pub title: String,
    pub status: Status,
    pub lines: Vec<Line>,
    /// How it was measured, and anything not measured.
    pub notes: Vec<String>,
}

impl Section {
    pub fn new(id: &str, title: &str) -> Self {
        Section {
            id: id.to_string(),
            title: title.to_string(),
            status: Status::Done,
            lines: Vec::new(),
            notes: Vec::new(),
        }
    }

    pub fn not_done(id: &str, title: &str, why: impl Into<String>) -> Self {
        let mut s = Section::new(id, title);
        s.status = Status::NotDone;
        s.notes.push(why.into());
        s
    }

    pub fn line(&mut self, line: Line) {
        self.lines.push(line);
    }

    pub fn note(&mut self, note: impl Into<String>) {
        self.notes.push(note.into());
    }
}

/// A point of the chart: one file size.
#[derive(Debug, Clone, Serialize)]
pub struct SizePoint {
    pub rows: u64,
    pub megabytes: f64,
    pub transform_mb_s: f64,
    pub floor_mb_s: f64,
    pub transform_peak_rss_mb: f64,
    pub floor_peak_rss_mb: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub generated_at: String,
    pub machine: String,
    pub build: String,
    pub wall_seconds: f64,
    pub sections: Vec<Section>,
    pub sizes: Vec<SizePoint>,
}

fn num(v: f64) -> String {
    if !v.is_finite() {
        return "n/a".into();
    }
    let a = v.abs();
    if a >= 1000.0 {
        format!("{v:.0}")
    } else if a >= 10.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.2}")
    }
}

impl Report {
    pub fn markdown(&self) -> String {
        let mut md = String::new();
        md.push_str("# `make bench` report\n\n");
        md.push_str(&format!(
            "Generated {} on {}; {}. Whole run: {:.0} s.\n\n",
            self.generated_at, self.machine, self.build, self.wall_seconds
        ));
        md.push_str(
            "Every figure is the median of several repetitions and stands beside a baseline \
             measured in the same run; the ratio is what to compare between machines. \
             Absolute times are context only (a shared, noisy 2-core machine).\n\n",
        );
        md.push_str("| # | Measurement | Status | Targets met |\n|---|---|---|---|\n");
        for s in &self.sections {
            let targets: Vec<bool> = s.lines.iter().filter_map(|l| l.met).collect();
            let met = targets.iter().filter(|m| **m).count();
            let status = match s.status {
                Status::Done => "done",
                Status::Partial => "partial",
                Status::NotDone => "**not done**",
            };
            md.push_str(&format!(
                "| {} | {} | {status} | {met}/{} |\n",
                s.id,
                s.title,
                targets.len()
            ));
        }
        for s in &self.sections {
            md.push_str(&format!("\n## {}. {}\n\n", s.id, s.title));
            if !s.lines.is_empty() {
                md.push_str("| Measure | Value | Baseline | Ratio | Target | Met |\n");
                md.push_str("|---|---:|---|---:|---|---|\n");
                for l in &s.lines {
                    let baseline = match (&l.baseline_what, l.baseline) {
                        (Some(w), Some(b)) => format!("{w}: {} {}", num(b), l.unit),
                        _ => String::new(),
                    };
                    let met = match l.met {
                        Some(true) => "yes",
                        Some(false) => "**no**",
                        None => "",
                    };
                    md.push_str(&format!(
                        "| {} | {} {} | {baseline} | {} | {} | {met} |\n",
                        l.what,
                        num(l.value),
                        l.unit,
                        l.ratio.map(|r| format!("{}×", num(r))).unwrap_or_default(),
                        l.target.clone().unwrap_or_default(),
                    ));
                }
                md.push('\n');
            }
            for n in &s.notes {
                md.push_str(&format!("- {n}\n"));
            }
        }
        if !self.sizes.is_empty() {
            md.push_str("\n## Throughput and memory against file size (report.svg)\n\n");
            md.push_str(
                "| Rows | MB | Transform MB/s | Floor MB/s | Transform peak RSS MB | Floor peak RSS MB |\n",
            );
            md.push_str("|---:|---:|---:|---:|---:|---:|\n");
            for p in &self.sizes {
                md.push_str(&format!(
                    "| {} | {} | {} | {} | {} | {} |\n",
                    p.rows,
                    num(p.megabytes),
                    num(p.transform_mb_s),
                    num(p.floor_mb_s),
                    num(p.transform_peak_rss_mb),
                    num(p.floor_peak_rss_mb)
                ));
            }
        }
        md
    }
}
