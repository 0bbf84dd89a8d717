//! The devstack command line (a contract: see DESIGN.md §6). Results go to stdout,
//! logs and errors to stderr; a failed command exits non-zero.

use clap::{Parser, Subcommand};
use devstack::{ToolArgs, UploadArgs};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Debug, Parser)]
#[command(
    name = "devstack",
    about = "Local stack tooling for the vendor pipeline (never deployed)"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Create the tables and the bucket, run the migrations, seed sample data.
    /// Reads the stack's settings from the environment (`. .local/env`).
    Setup,
    /// Apply the SQL migrations of infra/migrations/ to the database the environment
    /// names (DATABASE_URL, or DB_AUTH_MODE=iam|secret with DB_HOST etc., as the
    /// functions read it). Idempotent; use it against the real database on deploy.
    Migrate,
    /// Put FILE at uploads/VENDOR_ID/NAME, deliver the S3 event, drain every stream,
    /// print the upload's upload_history row as JSON.
    Upload {
        /// The CSV file to upload.
        file: PathBuf,
        /// The vendor id (the key's second segment).
        #[arg(long, value_name = "VENDOR_ID")]
        vendor: String,
        /// The object's name under uploads/VENDOR_ID/ (default: FILE's name).
        #[arg(long)]
        name: Option<String>,
        /// Deliver the S3 event twice and replay every stream batch a second time.
        #[arg(long)]
        redeliver: bool,
    },
    /// One run of upload-reconciler: re-drive what the on-failure logs hold, then drive
    /// every upload processing for longer than DURATION (default RECONCILE_AFTER, 15m)
    /// to the end. Prints the run's report as JSON.
    Reconcile {
        /// e.g. 0s (every processing upload), 90s, 15m.
        #[arg(long, value_name = "DURATION", value_parser = humantime::parse_duration)]
        older_than: Option<std::time::Duration>,
    },
    /// When each stage of an upload happened (parse, first and last validated batch,
    /// errors recorded, completion, notification), as one JSON object.
    Stages { upload_id: String },
    /// Mint a token of the local identity provider and print it alone on one line: for the
    /// vendor API (`--vendor`, claim VENDOR_CLAIM) or the agent gateway (`--tenant`,
    /// claim TENANT_CLAIM).
    Token {
        /// A vendor id: a token `devstack api` accepts, carrying this vendor.
        #[arg(long, conflicts_with = "tenant", required_unless_present = "tenant")]
        vendor: Option<String>,
        /// A tenant id: a token `devstack gateway` accepts, carrying this tenant.
        #[arg(long)]
        tenant: Option<String>,
        /// Lifetime in seconds (negative: already expired, for trying refusals).
        #[arg(long, default_value_t = 3600, allow_hyphen_values = true)]
        ttl: i64,
    },
    /// Serve the agent tools over MCP (Streamable HTTP) at http://127.0.0.1:PORT/mcp, as
    /// AgentCore Gateway does: JWT required (`devstack token --tenant T`), the real
    /// interceptor, then the tool's function. Runs until stopped.
    Gateway {
        /// The port on 127.0.0.1 (0: any free one; the line on stderr names it).
        #[arg(long, default_value_t = devstack::gateway::DEFAULT_PORT)]
        port: u16,
    },
    /// Serve the vendor API as API Gateway would (routes, JWT authorizer, payload 2.0
    /// events) and process files PUT through its upload URLs; runs until stopped.
    Api {
        /// The loopback port (0: any free one; the line on stderr names it).
        #[arg(long, default_value_t = devstack::api::DEFAULT_PORT)]
        port: u16,
        /// Stop when standard input closes (for test harnesses).
        #[arg(long)]
        exit_with_stdin: bool,
    },
    /// Print, as JSON lines, the `default` JSON of each upload-finished message the topic
    /// delivered for UPLOAD_ID (to the queue `make up` subscribed).
    Notifications {
        upload_id: String,
        /// Wait up to this many seconds for a first message.
        #[arg(long, default_value_t = 0)]
        wait: u64,
        /// Print each message's SNS envelope (subject, attributes, message) instead.
        #[arg(long)]
        envelope: bool,
    },
    /// Call an agent tool's Lambda as the Gateway would and print its JSON result.
    Tool {
        /// The plain tool name, e.g. get_product_reviews.
        tool_name: String,
        /// The tool's arguments, a JSON object.
        #[arg(long, value_name = "JSON")]
        args: String,
        /// Call through the interceptor with a JWT for this tenant.
        #[arg(long)]
        tenant: Option<String>,
    },
}

#[tokio::main]
async fn main() -> ExitCode {
    adapters::telemetry::init();
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Setup => devstack::setup::run().await.map(|_| ()),
        Command::Migrate => devstack::migrate().await,
        Command::Upload {
            file,
            vendor,
            name,
            redeliver,
        } => {
            devstack::upload::run(UploadArgs {
                file,
                vendor,
                name,
                redeliver,
            })
            .await
        }
        Command::Reconcile { older_than } => devstack::reconcile::run(older_than).await,
        Command::Stages { upload_id } => devstack::stages::run(&upload_id).await,
        Command::Token { vendor, tenant, ttl } => devstack::token::run(vendor, tenant, ttl).map(|token| {
            println!("{token}");
        }),
        Command::Gateway { port } => devstack::gateway::run(port).await,
        Command::Api {
            port,
            exit_with_stdin,
        } => devstack::api::run(port, exit_with_stdin).await,
        Command::Notifications {
            upload_id,
            wait,
            envelope,
        } => devstack::notifications::run(&upload_id, std::time::Duration::from_secs(wait), envelope).await,
        Command::Tool {
            tool_name,
            args,
            tenant,
        } => {
            devstack::tool::run(ToolArgs {
                tool_name,
                args,
                tenant,
            })
            .await
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("devstack: {e:#}");
            ExitCode::FAILURE
        }
    }
}
