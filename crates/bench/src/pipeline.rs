//! 3. DynamoDB requests per 1,000 rows, counted at the client (a proxy in front of
//!    DynamoDB Local), per stage and for the whole pipeline.
//! 5. End to end: 20,000 rows through devstack's in-process pipeline (csv-parser, the
//!    two event source mappings, stream-validator, error-processor; the validator's last
//!    batch finalises and notifies), each stage's share, against the floor: raw
//!    BatchWriteItem of the same items into the same table, twice (the parser writes
//!    each item, the validator writes it back).

use crate::cpu::{self, CpuTimes};
use crate::proxy::Counts;
use crate::report::{Line, Section};

use async_trait::async_trait;
use aws_lambda_events::event::dynamodb::Event;
use aws_lambda_events::event::streams::DynamoDbEventResponse;
use aws_sdk_dynamodb::types::{AttributeValue, PutRequest, WriteRequest};
use devstack::esm::BatchHandler;
use devstack::upload::{PutUpload, Stack};
use domain::model::{RecordStatus, UploadRecord, WriteItem};
use futures::{StreamExt, TryStreamExt};
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub const E2E_ROWS: usize = 20_000;
fn mean(v: &[f64]) -> f64 {
    v.iter().sum::<f64>() / v.len().max(1) as f64
}

fn mean_cpu(v: &[CpuTimes]) -> CpuTimes {
    let pick = |f: fn(&CpuTimes) -> Option<f64>| -> Option<f64> {
        let all: Option<Vec<f64>> = v.iter().map(f).collect();
        all.map(|all| mean(&all))
    };
    CpuTimes {
        dynamodb_local: pick(|c| c.dynamodb_local),
        postgres: pick(|c| c.postgres),
        bench: mean(&v.iter().map(|c| c.bench).collect::<Vec<_>>()),
    }
}

/// Each process's CPU time in the pipeline's run beside the floor's, and how much of
/// the machine's CPU (its cores × the time each was counted over) each used. A server
/// this clone's stack did not start is named, not counted.
fn cpu_lines(s: &mut Section, run: &CpuTimes, run_secs: f64, floor: &CpuTimes, floor_secs: f64) {
    let parts = [
        (
            "DynamoDB Local (its JVM)",
            run.dynamodb_local,
            floor.dynamodb_local,
        ),
        ("PostgreSQL", run.postgres, floor.postgres),
        (
            "this process (functions, emulated mappings, SDK clients)",
            Some(run.bench),
            Some(floor.bench),
        ),
        ("all three", run.total(), floor.total()),
    ];
    for (what, used, base) in parts {
        let Some(used) = used else {
            s.note(format!(
                "CPU time of {what}: not counted (a server this clone's stack did not start \
                 answered; its pid file in .local/run is missing)."
            ));
            continue;
        };
        let line = Line::new(format!("CPU time: {what}"), used, "s");
        // A floor that used next to no CPU (PostgreSQL's) is no baseline for a ratio.
        s.line(match base {
            Some(base) if base > 0.1 => line.vs("floor", base, used / base),
            _ => line,
        });
    }
    let (Some(run_total), Some(floor_total)) = (run.total(), floor.total()) else {
        return;
    };
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get()) as f64;
    s.line(
        Line::new(
            format!("CPU used of the machine's ({cores} cores × the time counted)"),
            100.0 * run_total / (cores * run_secs),
            "%",
        )
        .vs(
            "floor",
            100.0 * floor_total / (cores * floor_secs),
            (run_total / run_secs) / (floor_total / floor_secs).max(f64::MIN_POSITIVE),
        ),
    );
}

/// One row in this many is invalid (a price of "free"): the error path runs too.
const BROKEN_EVERY: usize = 2_000;

/// Time spent inside one mapping's handler, and when its last call ended.
struct Timed {
    inner: Arc<dyn BatchHandler>,
    spent: Arc<Mutex<Duration>>,
    ended: Arc<Mutex<Option<Instant>>>,
}

#[async_trait]
impl BatchHandler for Timed {
    async fn handle(&self, event: Event) -> Result<DynamoDbEventResponse, lambda_runtime::Error> {
        let start = Instant::now();
        let out = self.inner.handle(event).await;
        let end = Instant::now();
        if let Ok(mut spent) = self.spent.lock() {
            *spent += end - start;
        }
        if let Ok(mut ended) = self.ended.lock() {
            *ended = Some(end);
        }
        out
    }
}

/// The handlers' timers of one drain.
#[derive(Default)]
struct Timers {
    spent: Mutex<BTreeMap<String, Arc<Mutex<Duration>>>>,
    ended: Arc<Mutex<Option<Instant>>>,
}

impl Timers {
    fn wrap(&self, name: &str, inner: Arc<dyn BatchHandler>) -> Arc<dyn BatchHandler> {
        let spent = Arc::new(Mutex::new(Duration::ZERO));
        if let Ok(mut s) = self.spent.lock() {
            s.insert(name.to_string(), spent.clone());
        }
        Arc::new(Timed {
            inner,
            spent,
            ended: self.ended.clone(),
        })
    }

    /// Seconds inside each function's handler.
    fn handler_secs(&self) -> BTreeMap<String, f64> {
        self.spent
            .lock()
            .map(|s| {
                s.iter()
                    .map(|(k, v)| (k.clone(), v.lock().map(|d| d.as_secs_f64()).unwrap_or(0.0)))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// When the last handler call ended.
    fn last_end(&self) -> Option<Instant> {
        self.ended.lock().ok().and_then(|e| *e)
    }
}

/// One upload driven stage by stage: the parse, then the drain.
pub struct Staged {
    pub upload_id: String,
    pub rows: usize,
    pub parse_secs: f64,
    pub drain_secs: f64,
    pub handler_secs: BTreeMap<String, f64>,
    /// Requests by operation during the parse, and during the drain.
    pub parse_ops: BTreeMap<String, u64>,
    pub drain_ops: BTreeMap<String, u64>,
}

fn delta(after: &BTreeMap<String, u64>, before: &BTreeMap<String, u64>) -> BTreeMap<String, u64> {
    after
        .iter()
        .map(|(k, v)| (k.clone(), v - before.get(k).copied().unwrap_or(0)))
        .filter(|(_, v)| *v > 0)
        .collect()
}

async fn put(stack: &Stack, rows: usize, tag: &str) -> anyhow::Result<PutUpload> {
    let prefix = format!("{tag}{}", chrono::Utc::now().timestamp_micros());
    let body = crate::gen::csv_bytes(&prefix, rows, BROKEN_EVERY);
    stack.put("VEND002", &format!("{prefix}.csv"), body).await
}

pub async fn staged(stack: &Stack, counts: &Counts, rows: usize, tag: &str) -> anyhow::Result<Staged> {
    let put = put(stack, rows, tag).await?;
    let ops0 = counts.operations();
    let start = Instant::now();
    stack.invoke_parser(&put.event).await?;
    let parse_secs = start.elapsed().as_secs_f64();
    let ops1 = counts.operations();
    let timers = Timers::default();
    let start = Instant::now();
    stack
        .drain_through(
            &put.stream_arn,
            &put.from,
            std::slice::from_ref(&put.upload_id),
            false,
            |name, inner| timers.wrap(name, inner),
        )
        .await?;
    let drain_secs = start.elapsed().as_secs_f64();
    let ops2 = counts.operations();
    Ok(Staged {
        upload_id: put.upload_id,
        rows,
        parse_secs,
        drain_secs,
        handler_secs: timers.handler_secs(),
        parse_ops: delta(&ops1, &ops0),
        drain_ops: delta(&ops2, &ops1),
    })
}

/// One upload as `devstack upload` drives it: the mappings drain the stream while
/// csv-parser writes, as in AWS.
pub struct Overlapped {
    pub upload_id: String,
    pub rows: usize,
    /// From the parse's start to the end of the last handler call (the one that
    /// finalised and notified), or to the parse's end if that came later.
    pub wall_secs: f64,
    pub parse_secs: f64,
    /// To the drain's end: the emulated mappings' idle rounds included.
    pub drain_secs: f64,
    pub handler_secs: BTreeMap<String, f64>,
    pub history: serde_json::Value,
    /// CPU the run used, from the parse's start to the mappings' end.
    pub cpu: CpuTimes,
}

pub async fn overlapped(stack: &Stack, rows: usize, tag: &str) -> anyhow::Result<Overlapped> {
    let put = put(stack, rows, tag).await?;
    let timers = Timers::default();
    let parse_end: Mutex<Option<Instant>> = Mutex::new(None);
    let cpu_before = cpu::now();
    let start = Instant::now();
    let parse = async {
        stack.invoke_parser(&put.event).await?;
        if let Ok(mut end) = parse_end.lock() {
            *end = Some(Instant::now());
        }
        Ok(())
    };
    stack
        .parse_and_drain_through(
            parse,
            &put.stream_arn,
            &put.from,
            std::slice::from_ref(&put.upload_id),
            false,
            |name, inner| timers.wrap(name, inner),
        )
        .await?;
    let drain_secs = start.elapsed().as_secs_f64();
    let cpu = cpu::now() - cpu_before;
    let parse_end = parse_end
        .lock()
        .ok()
        .and_then(|e| *e)
        .ok_or_else(|| anyhow::anyhow!("the parse did not end"))?;
    let end = timers.last_end().map_or(parse_end, |last| last.max(parse_end));
    Ok(Overlapped {
        upload_id: put.upload_id.clone(),
        rows,
        wall_secs: (end - start).as_secs_f64(),
        parse_secs: (parse_end - start).as_secs_f64(),
        drain_secs,
        handler_secs: timers.handler_secs(),
        history: stack.history(&put.upload_id).await?,
        cpu,
    })
}

fn is_stream_op(op: &str) -> bool {
    op.starts_with("dynamodbstreams")
}

fn sum(ops: &BTreeMap<String, u64>, keep: impl Fn(&str) -> bool) -> u64 {
    ops.iter().filter(|(k, _)| keep(k)).map(|(_, v)| v).sum()
}

fn describe(ops: &BTreeMap<String, u64>) -> String {
    ops.iter()
        .map(|(k, v)| format!("{} {v}", k.rsplit('.').next().unwrap_or(k)))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Section 3 from staged uploads of different sizes.
pub fn requests_section(runs: &[&Staged]) -> Section {
    let mut s = Section::new("3", "DynamoDB requests per 1,000 rows, counted at the client");
    for run in runs {
        let per = 1_000.0 / run.rows as f64;
        let parser = sum(&run.parse_ops, |_| true) as f64 * per;
        let validator = sum(&run.drain_ops, |k| !is_stream_op(k)) as f64 * per;
        let streams = sum(&run.drain_ops, is_stream_op) as f64 * per;
        let n = run.rows;
        s.line(Line::new(
            format!("{n}-row upload: csv-parser"),
            parser,
            "req/1k rows",
        ));
        s.line(Line::new(
            format!("{n}-row upload: stream-validator"),
            validator,
            "req/1k rows",
        ));
        s.line(Line::new(
            format!("{n}-row upload: error-processor"),
            0.0,
            "req/1k rows",
        ));
        s.line(Line::new(
            format!("{n}-row upload: stream reads (emulated event source mappings)"),
            streams,
            "req/1k rows",
        ));
        let total = parser + validator + streams;
        s.line(
            Line::new(format!("{n}-row upload: whole pipeline"), total, "req/1k rows")
                .vs("original", 1_042.0, total / 1_042.0)
                .target("≤ 90", total <= 90.0),
        );
        s.note(format!(
            "{n}-row upload {}: parse [{}]; drain [{}].",
            run.upload_id,
            describe(&run.parse_ops),
            describe(&run.drain_ops)
        ));
    }
    s.note(
        "Counted by a loopback proxy in front of DynamoDB Local that reads each request's \
         x-amz-target; the parse and the drain run one after the other, and error-processor \
         has no DynamoDB port (it writes PostgreSQL only), so every non-stream request of the \
         drain is stream-validator's. Stream reads are the local event source mapping's \
         polling (in AWS, Lambda's own reads, not billed as requests of the functions); \
         their count depends on the poll rhythm."
            .to_string(),
    );
    s
}

/// The floor: the same items written with raw BatchWriteItem (25 per request, 4 in
/// flight like the parser), once as pending and once as decided, the two passes one
/// after the other or, `together`, at once (as the parser and the validator write
/// in the pipeline). Seconds.
async fn floor(
    client: &aws_sdk_dynamodb::Client,
    table: &str,
    items: &[UploadRecord],
    together: bool,
) -> anyhow::Result<f64> {
    let start = Instant::now();
    if together {
        futures::try_join!(
            write_pass(client, table, items, false),
            write_pass(client, table, items, true)
        )?;
    } else {
        write_pass(client, table, items, false).await?;
        write_pass(client, table, items, true).await?;
    }
    Ok(start.elapsed().as_secs_f64())
}

/// Every item written once as the parser leaves it or, `decided`, as the validator
/// does; 25 a request, 4 requests in flight.
async fn write_pass(
    client: &aws_sdk_dynamodb::Client,
    table: &str,
    items: &[UploadRecord],
    decided: bool,
) -> anyhow::Result<()> {
    let mut requests = Vec::with_capacity(items.len());
    for item in items {
        let mut item = item.clone();
        if decided {
            item.status = RecordStatus::Validated;
        }
        let av: HashMap<String, AttributeValue> = serde_dynamo::to_item(&item)?;
        requests.push(
            WriteRequest::builder()
                .put_request(PutRequest::builder().set_item(Some(av)).build()?)
                .build(),
        );
    }
    let chunks: Vec<Vec<WriteRequest>> = requests.chunks(25).map(<[WriteRequest]>::to_vec).collect();
    futures::stream::iter(chunks.into_iter().map(|mut chunk| async move {
        while !chunk.is_empty() {
            let out = client
                .batch_write_item()
                .request_items(table, chunk)
                .send()
                .await?;
            chunk = out
                .unprocessed_items
                .and_then(|mut u| u.remove(table))
                .unwrap_or_default();
        }
        Ok::<(), anyhow::Error>(())
    }))
    .buffer_unordered(4)
    .try_collect::<Vec<()>>()
    .await?;
    Ok(())
}

/// Section 5: an upload with the stages at once (as deployed) between two rounds of
/// the floor, with `staged` (the same size, one stage after the other) as context.
pub async fn end_to_end(
    stack: &Stack,
    staged: &Staged,
    db: &tokio_postgres::Client,
) -> anyhow::Result<Section> {
    let mut items = Vec::with_capacity(E2E_ROWS);
    let body = crate::gen::csv_bytes("FLOOR", E2E_ROWS, BROKEN_EVERY);
    crate::parse::transform(std::io::Cursor::new(body), |b| {
        items.extend(b.iter().map(WriteItem::to_record))
    })
    .await?;
    // DynamoDB Local slows as its table grows: the floor is measured as much before
    // the upload as after, each arrangement first once.
    let (mut serial, mut together) = (Vec::new(), Vec::new());
    let (mut serial_cpu, mut together_cpu) = (Vec::new(), Vec::new());
    let mut run = None;
    for (rep, together_first) in [false, true].into_iter().enumerate() {
        for at_once in [together_first, !together_first] {
            let id = format!("UPL_BENCH_FLOOR_{}_{rep}", chrono::Utc::now().timestamp_micros());
            for item in &mut items {
                item.upload_id = id.clone();
            }
            let cpu_before = cpu::now();
            let secs = floor(&stack.dynamodb, &stack.table, &items, at_once).await?;
            let used = cpu::now() - cpu_before;
            if at_once { &mut together } else { &mut serial }.push(secs);
            if at_once {
                &mut together_cpu
            } else {
                &mut serial_cpu
            }
            .push(used);
        }
        if run.is_none() {
            run = Some(overlapped(stack, E2E_ROWS, "E2EO").await?);
        }
    }
    let run = run.ok_or_else(|| anyhow::anyhow!("no upload ran"))?;
    let (serial, together) = (mean(&serial), mean(&together));
    // The faster arrangement is the baseline, its time and its CPU.
    let (floor_secs, floor_cpu) = if together <= serial {
        (together, mean_cpu(&together_cpu))
    } else {
        (serial, mean_cpu(&serial_cpu))
    };
    let wall = run.wall_secs;
    let mut s = Section::new("5", "End to end: 20,000 rows through the local pipeline");
    s.line(
        Line::new(
            "wall time: the parse's start to the final, notified upload",
            wall,
            "s",
        )
        .vs("floor: raw BatchWriteItem ×2", floor_secs, wall / floor_secs)
        .target("≤ 1.3× floor", wall / floor_secs <= 1.3),
    );
    s.line(Line::new(
        "floor: the two passes one after the other",
        serial,
        "s",
    ));
    s.line(Line::new("floor: the two passes at once", together, "s"));
    s.line(Line::new("throughput", run.rows as f64 / wall, "rows/s"));
    let mut busy = |what: &str, secs: f64| {
        s.line(Line::new(
            format!("busy: {what}"),
            100.0 * secs / wall,
            "% of wall",
        ));
    };
    busy("csv-parser (both passes, claims, writes)", run.parse_secs);
    for (name, secs) in &run.handler_secs {
        busy(&format!("{name} handler"), *secs);
    }
    s.line(Line::new(
        "the emulated mappings' end (idle rounds after the last record)",
        run.drain_secs,
        "s",
    ));
    // The run's CPU is counted to the mappings' end: so is its share of the machine.
    cpu_lines(&mut s, &run.cpu, run.drain_secs, &floor_cpu, floor_secs);
    let one_by_one = staged.parse_secs + staged.drain_secs;
    s.line(
        Line::new("stage by stage: parse, then drain to idle", one_by_one, "s").vs(
            "floor",
            floor_secs,
            one_by_one / floor_secs,
        ),
    );
    let mut share = |what: &str, secs: f64| {
        s.line(Line::new(
            format!("stage by stage, share: {what}"),
            100.0 * secs / one_by_one,
            "%",
        ));
    };
    share("csv-parser", staged.parse_secs);
    let mut handled = 0.0;
    for (name, secs) in &staged.handler_secs {
        share(&format!("{name} handler"), *secs);
        handled += secs;
    }
    share(
        "event source mapping (stream reads, polling, waits)",
        (staged.drain_secs - handled).max(0.0),
    );
    let status = run.history.get("status").and_then(|v| v.as_str()).unwrap_or("?");
    let valid = run.history.get("valid_records").cloned().unwrap_or_default();
    let errors = run.history.get("error_records").cloned().unwrap_or_default();
    s.note(format!(
        "Upload {} ended `{status}`: {valid} valid, {errors} errors (one row in {BROKEN_EVERY} \
         has an invalid price). As `devstack upload` runs it and as in AWS, the event source \
         mappings deliver the upload's rows while csv-parser still writes; the wall time ends \
         with the handler call that finalised and notified (the emulation's idle rounds after \
         it are not the pipeline's). One run (a 20,000-row upload is the slow part of the \
         bench); each floor is the mean of a run before the upload and one after, and the \
         faster arrangement is the baseline.",
        run.upload_id
    ));
    s.note(
        "CPU time is read from /proc (user + system): DynamoDB Local's JVM, PostgreSQL's \
         postmaster and backends (with the backends that exited, through the postmaster's \
         reaped children) and this process, which runs the functions, the emulated mappings \
         and the SDK clients. The pipeline's is counted from the parse's start to the \
         mappings' end (their idle rounds included), the floor's over each run of its \
         baseline arrangement (their mean); a share of the machine divides by the cores and \
         that time. When both runs keep the same share busy, the wall ratio follows the CPU \
         ratio (docs/capacity.md, \"Section 5 on two cores\").",
    );
    if let Some(stages) = devstack::stages::stages(db, &run.upload_id).await? {
        s.note(format!(
            "`devstack stages {}`, seconds since the upload's event: {}",
            run.upload_id, stages["seconds_since_upload"]
        ));
    }
    s.note(format!(
        "Busy shares overlap (the stages run at once), so they can add up past 100 %. The \
         stage-by-stage run ({}, the same size, also section 3's) parses first and drains \
         after. The validator's share includes its PostgreSQL write, its DynamoDB write-back, \
         and the finaliser and notification of the last batch (not timed apart). The event \
         source mapping is devstack's emulation (DESIGN.md §6), polling DynamoDB Local's \
         stream; like Lambda's pollers it reads ahead while a handler runs, on the same task, \
         so its share is the reading and waiting that no handler overlapped, and decoding a \
         read while a handler waits on I/O is counted in that handler's share.",
        staged.upload_id
    ));
    Ok(s)
}
