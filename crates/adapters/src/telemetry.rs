//! Structured logs. JSON when Lambda's advanced logging says so
//! (`AWS_LAMBDA_LOG_FORMAT=JSON`), plain text otherwise; always on stderr so that a CLI
//! built on the same code (devstack) keeps stdout for its results.
//!
//! The level comes from `AWS_LAMBDA_LOG_LEVEL` (or `RUST_LOG`), but the crates that log
//! payloads at DEBUG or TRACE are capped at INFO whatever it says: lambda_runtime
//! traces every raw event (bearer tokens in the interceptor's, tool arguments with
//! e-mails and phone numbers in the tools'), rmcp logs every MCP request with its
//! arguments at DEBUG (it is kept at WARN), and the HTTP and SDK layers can print
//! bodies. The cap is a second, per-layer filter, so no directive of the first
//! (`lambda_runtime=trace`) can lift it.
//!
//! The level is parsed as [`Targets`]: a level (`debug`) or `target=level` directives
//! (`info,stream_validator=trace`), the forms Lambda and most `RUST_LOG`s use. Span and
//! field filters (`[span]=trace`) are not understood: a value with one, or with a
//! `target=level` whose level is not a level, means `info`. A bare word that is not a
//! level names a target, as in `RUST_LOG`. `EnvFilter` would understand span filters,
//! but its regex engine cost each function 0.48 MB of its 10 MB.

use tracing_subscriber::filter::{FilterExt, LevelFilter, Targets};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{Layer, Registry};

/// Targets (and their modules) never logged below INFO.
pub const CAPPED_TARGETS: &[&str] = &[
    "lambda_runtime",
    "lambda_runtime_api_client",
    "aws_smithy_runtime",
    "aws_smithy_runtime_api",
    "aws_smithy_http_client",
    "aws_sdk_dynamodb",
    "aws_sdk_dynamodbstreams",
    "aws_sdk_s3",
    "hyper",
    "hyper_util",
    "h2",
    "tokio_postgres",
    "axum",
    "tower_http",
];

/// The level filter of `AWS_LAMBDA_LOG_LEVEL` / `RUST_LOG` (`info` when unset or not
/// understood; Lambda's `FATAL` is `error`), capped for [`CAPPED_TARGETS`].
pub fn filter<S>(level: &str) -> impl tracing_subscriber::layer::Filter<S> + Send + Sync + 'static
where
    S: tracing::Subscriber + for<'a> tracing_subscriber::registry::LookupSpan<'a>,
{
    let level = level.trim().to_ascii_lowercase();
    let level = if level == "fatal" {
        "error".to_string()
    } else {
        level
    };
    // Spaces around and empty directives dropped (`Targets` would take " name" for a
    // target and "" for ERROR); a span filter is refused (it would take `[span]` for a
    // target's name, matching nothing).
    let directives: Vec<&str> = level
        .split(',')
        .map(str::trim)
        .filter(|d| !d.is_empty())
        .collect();
    let env = Some(directives.join(","))
        .filter(|l| !l.is_empty() && !l.contains('['))
        .and_then(|l| l.parse::<Targets>().ok())
        .unwrap_or_else(|| Targets::new().with_default(LevelFilter::INFO));
    let cap = CAPPED_TARGETS
        .iter()
        .fold(Targets::new().with_default(LevelFilter::TRACE), |t, name| {
            t.with_target(*name, LevelFilter::INFO)
        })
        // rmcp logs each request's arguments at DEBUG, and a session's start and end
        // (one per request when stateless) at INFO: only its warnings are news.
        .with_target("rmcp", LevelFilter::WARN);
    env.and(cap)
}

/// The formatting layer on `writer`, filtered by [`filter`].
pub fn layer<W>(level: &str, json: bool, writer: W) -> Box<dyn Layer<Registry> + Send + Sync>
where
    W: for<'w> tracing_subscriber::fmt::MakeWriter<'w> + Send + Sync + 'static,
{
    let fmt = tracing_subscriber::fmt::layer()
        .with_writer(writer)
        .with_ansi(false)
        .with_target(false);
    if json {
        fmt.json()
            .with_current_span(true)
            .with_filter(filter(level))
            .boxed()
    } else {
        fmt.without_time().with_filter(filter(level)).boxed()
    }
}

/// Installs the global subscriber once; later calls are no-ops.
pub fn init() {
    let level = std::env::var("AWS_LAMBDA_LOG_LEVEL")
        .or_else(|_| std::env::var("RUST_LOG"))
        .unwrap_or_else(|_| "info".to_string());
    let json = std::env::var("AWS_LAMBDA_LOG_FORMAT")
        .map(|v| v.eq_ignore_ascii_case("json"))
        .unwrap_or(false);
    let _ = tracing_subscriber::registry()
        .with(layer(&level, json, std::io::stderr))
        .try_init();
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};

    #[derive(Clone, Default)]
    struct Captured(Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for Captured {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            if let Ok(mut b) = self.0.lock() {
                b.extend_from_slice(buf);
            }
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    fn logged(level: &str, json: bool) -> String {
        let sink = Captured::default();
        let writer = sink.clone();
        let subscriber = tracing_subscriber::registry().with(layer(level, json, move || writer.clone()));
        tracing::subscriber::with_default(subscriber, || {
            let span = tracing::info_span!("Lambda runtime invoke");
            let _in = span.enter();
            tracing::trace!(target: "lambda_runtime::layers::api_response", body = "Bearer SECRET-TOKEN", "raw JSON event received from Lambda");
            tracing::debug!(target: "rmcp::service", request = "jo@example.com", "received request");
            tracing::info!(target: "rmcp::service", "Service initialized as server");
            tracing::info!(target: "lambda_runtime", "runtime info stays");
            tracing::trace!(target: "reviews_tool", "our own trace stays");
        });
        let text = sink.0.lock().map(|b| b.clone()).unwrap_or_default();
        String::from_utf8_lossy(&text).into_owned()
    }

    #[test]
    fn payload_logging_crates_stay_at_info_whatever_the_level_says() {
        for level in [
            "trace",
            "TRACE",
            "lambda_runtime=trace,rmcp=trace",
            "[Lambda runtime invoke]=trace",
            "lambda_runtime::layers::api_response=trace",
        ] {
            for json in [false, true] {
                let out = logged(level, json);
                assert!(!out.contains("SECRET-TOKEN"), "{level}: {out}");
                assert!(!out.contains("jo@example.com"), "{level}: {out}");
                // (The narrower directives enable nothing else of lambda_runtime.)
                assert!(
                    !level.eq_ignore_ascii_case("trace") || out.contains("runtime info stays"),
                    "{level}: {out}"
                );
                assert!(!out.contains("Service initialized"), "{level}: {out}");
            }
        }
        assert!(logged("trace", false).contains("our own trace stays"));
        assert!(!logged("info", false).contains("our own trace stays"));
        assert!(logged("FATAL", false).is_empty());
        // `target=level` directives, as RUST_LOG writes them (spaces and a trailing
        // comma are forgiven).
        let spaced = logged("warn, reviews_tool=trace,", false);
        assert!(
            spaced.contains("our own trace stays") && !spaced.contains("runtime info stays"),
            "{spaced}"
        );
        let ours = logged("warn,reviews_tool=trace", false);
        assert!(
            ours.contains("our own trace stays") && !ours.contains("runtime info stays"),
            "{ours}"
        );
        // A level that is not one, a span filter, or nothing, means INFO.
        for level in ["reviews_tool=loud", "[Lambda runtime invoke]=trace", "", " , "] {
            let fallback = logged(level, false);
            assert!(
                fallback.contains("runtime info stays") && !fallback.contains("our own trace stays"),
                "{level}: {fallback}"
            );
        }
    }
}
