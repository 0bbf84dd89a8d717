//! Settings from the environment and the production wiring: the S3 client (for
//! presigning) and the PostgreSQL pool built once per execution environment.

use crate::VendorApi;
use adapters::config::{parsed_or, required, DatabaseConfig, ProcessEnv, Source, DEFAULT_MAX_UPLOAD_BYTES};
use adapters::postgres::PgCatalog;
use adapters::presign::S3UrlSigner;
use domain::paging::CursorSigner;

pub const VENDOR_CLAIM_ENV: &str = "VENDOR_CLAIM";
pub const DEFAULT_VENDOR_CLAIM: &str = "vendor_id";
/// The HMAC key that seals `next_token`s.
pub const TOKEN_SECRET_ENV: &str = "VENDOR_API_TOKEN_SECRET";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    /// The JWT claim holding the vendor id.
    pub vendor_claim: String,
    /// The bucket of `uploads/` and `reports/`.
    pub bucket: String,
    /// `content_length` above this is refused (413), as csv-parser would refuse the file.
    pub max_upload_bytes: u64,
}

impl Settings {
    pub fn from_source(src: &(impl Source + ?Sized)) -> Result<Settings, adapters::config::ConfigError> {
        Ok(Settings {
            vendor_claim: parsed_or(src, VENDOR_CLAIM_ENV, DEFAULT_VENDOR_CLAIM.to_string())?,
            bucket: required(
                src,
                adapters::config::UPLOAD_BUCKET,
                "the bucket holding uploads/ and reports/",
            )?,
            max_upload_bytes: parsed_or(src, adapters::config::MAX_UPLOAD_BYTES, DEFAULT_MAX_UPLOAD_BYTES)?,
        })
    }
}

/// Clients, pool and keys, built once.
pub struct Wiring {
    catalog: PgCatalog,
    urls: S3UrlSigner,
    cursors: CursorSigner,
    pub settings: Settings,
}

#[derive(Debug, thiserror::Error)]
pub enum InitError {
    #[error(transparent)]
    Config(#[from] adapters::config::ConfigError),
    #[error(transparent)]
    Pool(#[from] adapters::postgres::PoolBuildError),
}

impl Wiring {
    pub async fn from_env() -> Result<Wiring, InitError> {
        let settings = Settings::from_source(&ProcessEnv)?;
        let secret = required(
            &ProcessEnv,
            TOKEN_SECRET_ENV,
            "the HMAC key that signs next_token",
        )?;
        let database = DatabaseConfig::from_source(&ProcessEnv)?;
        let limits = adapters::config::SessionLimits::from_source(&ProcessEnv)?;
        let aws = adapters::aws::sdk_config().await;
        let pool = adapters::postgres::pool(&database, &limits, &aws).await?;
        Ok(Wiring {
            catalog: PgCatalog::new(pool),
            urls: S3UrlSigner::new(adapters::s3::client(&aws)),
            cursors: CursorSigner::new(secret),
            settings,
        })
    }

    pub fn api(&self) -> VendorApi<'_, PgCatalog, S3UrlSigner> {
        VendorApi {
            history: &self.catalog,
            urls: &self.urls,
            cursors: &self.cursors,
            settings: &self.settings,
        }
    }
}
