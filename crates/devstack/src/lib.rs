//! Local tooling, never deployed: sets up the local stack (`setup`), emulates the
//! event sources of the template to drive the real handlers (`upload`), and calls the
//! agent tools as the Gateway would (`tool`), and serves them over MCP as the Gateway
//! does (`gateway`).

use std::path::PathBuf;

pub mod api;
pub mod env;
pub mod esm;
pub mod functions;
pub mod gateway;
pub mod jwt;
pub mod notifications;
pub mod progress;
pub mod reconcile;
pub mod setup;
mod setup_seed;
mod setup_tables;
pub mod stages;
pub mod token;
pub mod tool;
pub mod upload;
pub mod vendor_loop;

/// `devstack upload FILE --vendor VENDOR_ID [--name NAME] [--redeliver]`
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UploadArgs {
    pub file: PathBuf,
    pub vendor: String,
    pub name: Option<String>,
    pub redeliver: bool,
}

/// `devstack tool TOOL_NAME --args JSON [--tenant TENANT]`
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ToolArgs {
    pub tool_name: String,
    pub args: String,
    pub tenant: Option<String>,
}

/// `devstack migrate`: applies `infra/migrations/` with the functions' own database
/// settings (URL, RDS IAM token or Secrets Manager secret).
pub async fn migrate() -> anyhow::Result<()> {
    let config = adapters::config::DatabaseConfig::from_source(&adapters::config::ProcessEnv)?;
    let pool = adapters::postgres::pool(
        &config,
        &adapters::config::SessionLimits::default(),
        &adapters::aws::sdk_config().await,
    )
    .await?;
    let mut client = pool.get().await?;
    let applied = adapters::postgres::migrations::run(&mut client).await?;
    tracing::info!(applied, "migrations applied");
    Ok(())
}
