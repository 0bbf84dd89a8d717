//! 4. Memory: peak RSS of csv-parser's transform over generated files of growing size,
//!    and of the report streaming on an upload with 100,000 errors. Each measurement is
//!    a child process (this binary, `bench child ...`) reading its own VmHWM, so one
//!    measurement's peak never hides another's.

use crate::report::{Line, Section, SizePoint};
use crate::stats::{peak_rss_kb, rss_kb, timed};
use anyhow::Context;
use serde::{Deserialize, Serialize};

pub const SIZES: [usize; 3] = [10_000, 100_000, 1_000_000];
const LIMIT_MB: f64 = 64.0;

/// What a child prints on its last line.
#[derive(Debug, Serialize, Deserialize)]
pub struct ChildReport {
    pub rows: u64,
    pub bytes: u64,
    pub secs: f64,
    pub start_rss_kb: u64,
    pub peak_rss_kb: u64,
}

/// `bench child parse|floor ROWS`: streams a generated file (nothing of it held).
pub fn child_parse(kind: &str, rows: usize) -> anyhow::Result<ChildReport> {
    let start_rss_kb = rss_kb();
    let mut source = crate::gen::Generated::new("MEM", rows);
    let (secs, n) = match kind {
        "parse" => {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            timed(|| {
                runtime.block_on(crate::parse::transform(&mut source, |items| {
                    std::hint::black_box(items);
                }))
            })
        }
        _ => timed(|| crate::parse::floor(&mut source)),
    };
    Ok(ChildReport {
        rows: n?,
        bytes: source.bytes,
        secs,
        start_rss_kb,
        peak_rss_kb: peak_rss_kb(),
    })
}

/// Runs this binary as a child with `args`; its last stdout line is a `ChildReport`.
pub fn spawn(args: &[&str]) -> anyhow::Result<ChildReport> {
    let exe = std::env::current_exe()?;
    let out = std::process::Command::new(exe)
        .arg("child")
        .args(args)
        .stderr(std::process::Stdio::inherit())
        .output()
        .with_context(|| format!("bench child {args:?}"))?;
    anyhow::ensure!(out.status.success(), "bench child {args:?} failed");
    let text = String::from_utf8_lossy(&out.stdout);
    let last = text.lines().last().context("child printed nothing")?;
    Ok(serde_json::from_str(last)?)
}

fn mb(kb: u64) -> f64 {
    kb as f64 / 1024.0
}

/// The parse children for every size: the section's lines and the chart's points.
pub fn parse_sizes(section: &mut Section) -> anyhow::Result<Vec<SizePoint>> {
    let mut points = Vec::new();
    for rows in SIZES {
        let n = rows.to_string();
        let ours = spawn(&["parse", &n])?;
        let floor = spawn(&["floor", &n])?;
        anyhow::ensure!(
            ours.rows == rows as u64 && floor.rows == rows as u64,
            "row counts"
        );
        let megabytes = ours.bytes as f64 / 1e6;
        let (peak, floor_peak) = (mb(ours.peak_rss_kb), mb(floor.peak_rss_kb));
        let mut line = Line::new(
            format!("transform peak RSS, {rows} rows ({megabytes:.0} MB)"),
            peak,
            "MB",
        )
        .vs("floor's peak RSS", floor_peak, peak / floor_peak);
        if rows == 1_000_000 {
            line = line.target(format!("≤ {LIMIT_MB} MB"), peak <= LIMIT_MB);
        }
        section.line(line);
        points.push(SizePoint {
            rows: rows as u64,
            megabytes,
            transform_mb_s: megabytes / ours.secs,
            floor_mb_s: megabytes / floor.secs,
            transform_peak_rss_mb: peak,
            floor_peak_rss_mb: floor_peak,
        });
    }
    if let (Some(small), Some(large)) = (points.first(), points.last()) {
        let growth = large.transform_peak_rss_mb - small.transform_peak_rss_mb;
        section.line(
            Line::new(
                format!("peak RSS growth {} → {} rows", small.rows, large.rows),
                growth,
                "MB",
            )
            .target("flat: ≤ 8 MB", growth <= 8.0),
        );
    }
    section.note(
        "One child process per size and per arm, reading its own VmHWM from /proc/self/status \
         (whole process: binary, runtime and allocator included). The file is generated \
         64 KiB at a time as an S3 body arrives, so nothing of it is held by the harness."
            .to_string(),
    );
    Ok(points)
}

/// Peak and start RSS of a child, as MB.
pub fn report_child_line(what: &str, child: &ChildReport) -> Line {
    let (peak, start) = (mb(child.peak_rss_kb), mb(child.start_rss_kb));
    Line::new(what, peak, "MB")
        .vs("RSS before the report (clients built)", start, peak / start)
        .target(format!("≤ {LIMIT_MB} MB"), peak <= LIMIT_MB)
}
