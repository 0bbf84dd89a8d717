//! `make bench`: every hot path beside its physical floor, measured in one run, written
//! to target/bench/report.md, report.json (the same numbers) and report.svg. Figures are
//! medians and ratios against baselines of the same run (the machine is shared and
//! noisy); nothing here asserts a time. Needs the local stack (`make up`).
//!
//! `bench child ...` is this binary measuring one thing in a process of its own (peak
//! RSS); the parent starts it.

mod cleanup;
mod cold_start;
mod concurrency;
mod cpu;
mod gen;
mod latency;
mod memory;
mod parse;
mod pipeline;
mod proxy;
mod report;
mod report_rss;
mod stats;
mod svg;
mod validate;

use anyhow::Context;
use report::{Report, Section, Status};
use std::time::Instant;

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("child") {
        return child(&args[1..]);
    }
    let only: Vec<String> = args;
    let started = Instant::now();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let mut report = Report {
        generated_at: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        machine: format!(
            "{} cores",
            std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0)
        ),
        build: "release optimisation (profile bench-release: opt-level 3, no fat LTO), native x86_64".into(),
        wall_seconds: 0.0,
        sections: Vec::new(),
        sizes: Vec::new(),
    };
    let wanted = |id: &str| only.is_empty() || only.iter().any(|o| o == id);
    let push = |report: &mut Report, id: &str, title: &str, result: anyhow::Result<Section>| {
        eprintln!(
            "[bench] {id}. {title}: {:.0} s so far",
            started.elapsed().as_secs_f64()
        );
        report.sections.push(match result {
            Ok(s) => s,
            Err(e) => Section::not_done(id, title, format!("failed: {e:#}")),
        });
    };

    if wanted("1") {
        push(&mut report, "1", "Parse", parse::run());
    }
    let rt = &runtime;
    if wanted("8") {
        // Before the counting proxies: the endpoints reach the services directly.
        let section = rt.block_on(async { latency::run(&devstack::upload::Stack::from_env().await?).await });
        push(&mut report, "8", "Tool and API latency", section);
    }
    let stack_sections = rt.block_on(async { stack_sections(&only).await });
    if wanted("4") {
        let mut s = Section::new("4", "Memory: peak RSS of the parse and of the report streaming");
        match memory::parse_sizes(&mut s) {
            Ok(points) => report.sizes = points,
            Err(e) => {
                s.status = Status::Partial;
                s.note(format!("parse sizes failed: {e:#}"));
            }
        }
        match &stack_sections.report_child {
            Ok(child) => s.line(memory::report_child_line(
                &format!("report streaming, {} errors", report_rss::ERRORS),
                child,
            )),
            Err(e) => {
                s.status = Status::Partial;
                s.note(format!("report streaming not measured: {e}"));
            }
        }
        s.note("The report child reads 1,000 ledger lines a page from PostgreSQL and writes 8 MiB parts to the local S3 (moto).");
        push(&mut report, "4", "Memory", Ok(s));
    }
    for (id, title, section) in stack_sections.sections {
        push(&mut report, &id, &title, section);
    }
    if wanted("6") {
        push(
            &mut report,
            "6",
            "Cold start and size",
            rt.block_on(cold_start::run()),
        );
    }
    report.sections.sort_by(|a, b| a.id.cmp(&b.id));
    report.wall_seconds = started.elapsed().as_secs_f64();
    write(&report)
}

struct StackSections {
    sections: Vec<(String, String, anyhow::Result<Section>)>,
    report_child: Result<memory::ChildReport, String>,
}

/// Everything that needs the local stack, through counting proxies.
async fn stack_sections(only: &[String]) -> StackSections {
    let wanted = |id: &str| only.is_empty() || only.iter().any(|o| o == id);
    let mut out = StackSections {
        sections: Vec::new(),
        report_child: Err("not run".into()),
    };
    let proxies = match proxies().await {
        Ok(p) => p,
        Err(e) => {
            for (id, title) in [
                ("2", "Validate"),
                ("3", "DynamoDB requests"),
                ("5", "End to end"),
                ("7", "Concurrency"),
            ] {
                out.sections.push((
                    id.into(),
                    title.into(),
                    Err(anyhow::anyhow!("local stack: {e:#}")),
                ));
            }
            out.report_child = Err(format!("local stack: {e:#}"));
            return out;
        }
    };
    if wanted("2") {
        let section = validate::run(&proxies.db).await;
        out.sections.push(("2".into(), "Validate".into(), section));
    }
    if wanted("4") {
        out.report_child = async {
            let id = report_rss::prepare(&proxies.db.client).await?;
            let upload = id.clone();
            let child = tokio::task::spawn_blocking(move || memory::spawn(&["report", &upload])).await?;
            cleanup::forget_uploads(&proxies.db.client, &[id]).await?;
            child
        }
        .await
        .map_err(|e| format!("{e:#}"));
    }
    if wanted("3") || wanted("5") {
        let runs = async {
            let stack = devstack::upload::Stack::from_env().await?;
            let small = pipeline::staged(&stack, &proxies.dynamodb, 1_000, "REQ").await?;
            let big = pipeline::staged(&stack, &proxies.dynamodb, pipeline::E2E_ROWS, "E2E").await?;
            let e2e = pipeline::end_to_end(&stack, &big, &proxies.db.client).await;
            Ok::<_, anyhow::Error>((pipeline::requests_section(&[&small, &big]), e2e))
        }
        .await;
        match runs {
            Ok((requests, e2e)) => {
                out.sections
                    .push(("3".into(), "DynamoDB requests".into(), Ok(requests)));
                out.sections.push(("5".into(), "End to end".into(), e2e));
            }
            Err(e) => {
                let msg = format!("{e:#}");
                out.sections.push((
                    "3".into(),
                    "DynamoDB requests".into(),
                    Err(anyhow::anyhow!(msg.clone())),
                ));
                out.sections
                    .push(("5".into(), "End to end".into(), Err(anyhow::anyhow!(msg))));
            }
        }
    }
    if wanted("7") {
        let section = concurrency::run(&proxies.db.client).await;
        out.sections.push(("7".into(), "Concurrency".into(), section));
    }

    out
}

struct Proxies {
    db: validate::Db,
    dynamodb: std::sync::Arc<proxy::Counts>,
}

/// Counting proxies in front of PostgreSQL and DynamoDB Local; this process (and its
/// children) then talk to them.
async fn proxies() -> anyhow::Result<Proxies> {
    let url = std::env::var("DATABASE_URL").context("DATABASE_URL (source .local/env)")?;
    let config: tokio_postgres::Config = url.parse()?;
    let port = *config.get_ports().first().context("DATABASE_URL has no port")?;
    let (pg_port, pg_counts) = proxy::start(format!("127.0.0.1:{port}"), proxy::Protocol::Postgres).await?;
    let proxied_url = url.replace(&format!(":{port}/"), &format!(":{pg_port}/"));
    let endpoint = std::env::var("AWS_ENDPOINT_URL_DYNAMODB").context("AWS_ENDPOINT_URL_DYNAMODB")?;
    let upstream = endpoint
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .to_string();
    let (ddb_port, ddb_counts) = proxy::start(upstream, proxy::Protocol::Http).await?;
    std::env::set_var("DATABASE_URL", &proxied_url);
    std::env::set_var(
        "AWS_ENDPOINT_URL_DYNAMODB",
        format!("http://127.0.0.1:{ddb_port}"),
    );

    let aws = adapters::aws::sdk_config().await;
    let catalog = |url: String| {
        let aws = &aws;
        async move {
            let pool = adapters::postgres::pool(
                &adapters::config::DatabaseConfig::Url(url),
                &adapters::config::SessionLimits::default(),
                aws,
            )
            .await?;
            anyhow::Ok(adapters::postgres::PgCatalog::new(pool))
        }
    };
    // Timed work talks to PostgreSQL directly: the proxy's extra hop (two more loopback
    // sends and a task wake-up per message) would be charged to every round trip.
    let (client, connection) = tokio_postgres::connect(&url, tokio_postgres::NoTls).await?;
    tokio::spawn(connection);
    Ok(Proxies {
        db: validate::Db {
            catalog: catalog(url.clone()).await?,
            counted: catalog(proxied_url).await?,
            client,
            counts: pg_counts,
        },
        dynamodb: ddb_counts,
    })
}

fn child(args: &[String]) -> anyhow::Result<()> {
    let report = match args {
        [kind, rows] if kind == "parse" || kind == "floor" => memory::child_parse(kind, rows.parse()?)?,
        [kind, id] if kind == "report" => tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?
            .block_on(report_rss::child(id))?,
        _ => anyhow::bail!("unknown child {args:?}"),
    };
    println!("{}", serde_json::to_string(&report)?);
    Ok(())
}

fn write(report: &Report) -> anyhow::Result<()> {
    let target = std::env::var("CARGO_TARGET_DIR").unwrap_or_else(|_| "target".into());
    let dir = std::path::Path::new(&target).join("bench");
    std::fs::create_dir_all(&dir)?;
    std::fs::write(dir.join("report.md"), report.markdown())?;
    std::fs::write(
        dir.join("report.json"),
        serde_json::to_string_pretty(report)? + "\n",
    )?;
    std::fs::write(dir.join("report.svg"), svg::chart(&report.sizes))?;
    println!("{}", report.markdown());
    eprintln!("[bench] wrote {}/report.{{md,json,svg}}", dir.display());
    Ok(())
}
