//! 7. Concurrency: 100 uploads of 1,000 rows started together on the local stack, against
//!    one 1,000-row upload driven the same way in the same run. Both are timed from the
//!    first PUT to the moment every upload is final: the objects put, every parse started
//!    at once (one csv-parser invocation per S3 event) while both event source mappings
//!    drain the stream, until every parse has returned and the stream is idle. Every
//!    upload's counts, the catalog's products and the recorded errors are checked exactly.

use crate::report::{Line, Section};
use devstack::upload::Stack;
use futures::future::try_join_all;
use std::sync::Mutex;
use std::time::Instant;

pub const UPLOADS: usize = 100;
pub const ROWS: usize = 1_000;
/// One row in this many has an invalid price, so every upload also records errors.
const BROKEN_EVERY: usize = 100;
const VENDORS: [&str; 3] = ["VEND001", "VEND002", "VEND003"];

/// What a run of `uploads` uploads took, and how many ended exactly as expected.
struct Run {
    secs: f64,
    /// From the first PUT until every parse has returned (the mappings drain meanwhile).
    parse_secs: f64,
    uploads: usize,
    exact: usize,
    problems: Vec<String>,
}

impl Run {
    fn rows(&self) -> usize {
        self.uploads * ROWS
    }

    /// Seconds per 1,000 rows.
    fn per_1k_rows(&self) -> f64 {
        self.secs * 1_000.0 / self.rows() as f64
    }
}

pub async fn run(db: &tokio_postgres::Client) -> anyhow::Result<Section> {
    let stack = Stack::from_env().await?;
    let one = uploads(&stack, db, 1, "CONC1").await?;
    let many = uploads(&stack, db, UPLOADS, "CONC100").await?;
    let mut s = Section::new("7", "Concurrency: 100 uploads of 1,000 rows started together");
    s.line(Line::new("one upload of 1,000 rows: wall time", one.secs, "s"));
    s.line(Line::new(
        format!("{UPLOADS} uploads of 1,000 rows together: wall time"),
        many.secs,
        "s",
    ));
    let ratio = many.per_1k_rows() / one.per_1k_rows();
    s.line(
        Line::new(
            format!("{UPLOADS} together: seconds per 1,000 rows"),
            many.per_1k_rows(),
            "s",
        )
        .vs("one upload", one.per_1k_rows(), ratio)
        .target("≤ 2×", ratio <= 2.0),
    );
    s.line(Line::new(
        format!("{UPLOADS} together: until every put and parse returned (share of the wall time)"),
        100.0 * many.parse_secs / many.secs,
        "%",
    ));
    s.line(Line::new(
        format!("{UPLOADS} together: throughput"),
        many.rows() as f64 / many.secs,
        "rows/s",
    ));
    let exact = (one.exact + many.exact) as f64;
    let all = (one.uploads + many.uploads) as f64;
    s.line(
        Line::new("uploads final with exact counts, products and errors", exact, "")
            .vs("uploads started", all, exact / all)
            .target("all", one.problems.is_empty() && many.problems.is_empty()),
    );
    for problem in one.problems.iter().chain(&many.problems).take(10) {
        s.note(format!("Not exact: {problem}"));
    }
    s.note(format!(
        "Each upload is {ROWS} generated rows, one in {BROKEN_EVERY} with an invalid price \
         (so each ends `partial`: {} valid, {} errors), from vendors {} in turn. One run of \
         each (the {UPLOADS} uploads are the slowest part of the bench).",
        ROWS - ROWS / BROKEN_EVERY,
        ROWS / BROKEN_EVERY,
        VENDORS.join(", ")
    ));
    s.note(
        "In-process, as `devstack upload` drives the pipeline: the parses run as concurrent \
         tasks of one process sharing its PostgreSQL pool and DynamoDB client (in AWS each \
         would be its own execution environment), and the stream is drained by devstack's \
         event source mappings (one poller per shard, as ParallelizationFactor 1), so the \
         validator sees the uploads' records interleaved in its batches. DynamoDB Local is \
         one process on the same 2 cores.",
    );
    s.note(
        "Both stream consumers work on up to 4 of a batch's uploads at once \
         (`adapters::streams::UPLOADS_AT_ONCE`); they used to take them one after the other, \
         and with 100 uploads interleaved a batch of 100 records holds a row or two of dozens \
         of them, each with its own transaction. Before that change the last full run took \
         340.7 s for the 100 uploads (293.5 rows/s); with `UPLOADS` changed to 25 by hand \
         (9c1f404 against da0da36, two runs each), the drain after the parses took 32–39 s \
         before and 20–23 s after.",
    );
    Ok(s)
}

/// `n` uploads started together and driven until every one is final.
async fn uploads(stack: &Stack, db: &tokio_postgres::Client, n: usize, tag: &str) -> anyhow::Result<Run> {
    let stamp = chrono::Utc::now().timestamp_micros();
    let prefixes: Vec<String> = (0..n).map(|i| format!("{tag}T{stamp}U{i:03}")).collect();
    let bodies: Vec<Vec<u8>> = prefixes
        .iter()
        .map(|p| crate::gen::csv_bytes(p, ROWS, BROKEN_EVERY))
        .collect();

    let start = Instant::now();
    let mut puts = Vec::with_capacity(n);
    for (i, (prefix, body)) in prefixes.iter().zip(bodies).enumerate() {
        let vendor = VENDORS[i % VENDORS.len()];
        puts.push(stack.put(vendor, &format!("{prefix}.csv"), body).await?);
    }
    let ids: Vec<String> = puts.iter().map(|p| p.upload_id.clone()).collect();
    let first = puts.first().ok_or_else(|| anyhow::anyhow!("no upload"))?;
    let parsed: Mutex<Option<f64>> = Mutex::new(None);
    let parse = async {
        try_join_all(puts.iter().map(|put| stack.invoke_parser(&put.event))).await?;
        if let Ok(mut parsed) = parsed.lock() {
            *parsed = Some(start.elapsed().as_secs_f64());
        }
        Ok(())
    };
    // The first PUT's stream position precedes every item of every upload.
    stack
        .parse_and_drain_through(parse, &first.stream_arn, &first.from, &ids, false, |_, h| h)
        .await?;
    let secs = start.elapsed().as_secs_f64();
    let parse_secs = parsed.lock().ok().and_then(|p| *p).unwrap_or(secs);

    let mut problems = Vec::new();
    for (id, prefix) in ids.iter().zip(&prefixes) {
        if let Some(problem) = check(stack, db, id, prefix).await? {
            problems.push(format!("{id}: {problem}"));
        }
    }
    crate::cleanup::forget_uploads(db, &ids).await?;
    Ok(Run {
        secs,
        parse_secs,
        uploads: n,
        exact: n - problems.len(),
        problems,
    })
}

/// What is wrong with the upload's end, if anything.
async fn check(
    stack: &Stack,
    db: &tokio_postgres::Client,
    upload_id: &str,
    prefix: &str,
) -> anyhow::Result<Option<String>> {
    let errors = (ROWS / BROKEN_EVERY) as i64;
    let valid = ROWS as i64 - errors;
    let history = stack.history(upload_id).await?;
    let field = |name: &str| history.get(name).cloned().unwrap_or_default();
    let got = (
        field("status"),
        field("total_records"),
        field("valid_records"),
        field("error_records"),
    );
    let want = (
        serde_json::json!("partial"),
        serde_json::json!(ROWS),
        serde_json::json!(valid),
        serde_json::json!(errors),
    );
    if got != want {
        return Ok(Some(format!("history {got:?}, expected {want:?}")));
    }
    let products: i64 = db
        .query_one(
            "SELECT count(*) FROM products WHERE sku LIKE $1",
            &[&format!("{prefix}-SKU-%")],
        )
        .await?
        .get(0);
    let recorded: i64 = db
        .query_one(
            "SELECT count(*) FROM validation_errors WHERE upload_id = $1 AND error_type = 'INVALID_PRICE'",
            &[&upload_id],
        )
        .await?
        .get(0);
    Ok((products != valid || recorded != errors).then(|| {
        format!("{products} products (expected {valid}), {recorded} INVALID_PRICE errors (expected {errors})")
    }))
}
