//! PostgreSQL over TLS with RDS IAM tokens or a Secrets Manager secret.
//!
//! The pool is a plain `deadpool_postgres::Pool`. What differs is the `Connect`
//! implementation behind its manager: each NEW connection asks a [`CredentialSource`]
//! for the password (a cached IAM token, or the cached secret), so credentials are
//! refreshed without rebuilding the pool, and open connections keep working (RDS checks
//! the token only while authenticating). A connection the server refuses with an
//! authentication error (class 28: the secret was rotated, or a token went stale) drops
//! the cached credentials and is retried once with fresh ones.
//!
//! TLS is always on and verified: the rustls connector checks the chain against the RDS
//! CA bundle (`DB_CA_BUNDLE`, shipped in a layer at `/opt/rds-ca/global-bundle.pem`) and
//! the host name against the certificate, i.e. libpq's `sslmode=verify-full`. Without a
//! bundle the Mozilla roots are used, which is what an RDS Proxy endpoint (ACM
//! certificate) needs and what a database endpoint will refuse.

use super::PoolBuildError;
use crate::config::DatabaseConfig;
use async_trait::async_trait;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, SystemTime};
use tokio::task::JoinHandle;
use tokio_postgres::error::SqlState;

/// RDS IAM tokens live 15 minutes; one is reused for 10, so a token handed to a
/// connection attempt always has minutes left even after a slow TLS handshake.
pub const TOKEN_REUSE: Duration = Duration::from_secs(10 * 60);

/// Reported as `application_name`, to find the pipeline's sessions in `pg_stat_activity`.
const APPLICATION_NAME: &str = "vendor-onboarding";

#[derive(Debug, thiserror::Error)]
pub enum CredentialError {
    #[error("cannot sign an RDS IAM authentication token: {0}")]
    Token(String),
    #[error("cannot read database secret {secret_id}: {reason}")]
    SecretFetch { secret_id: String, reason: String },
    /// The reason names the missing or mistyped field, never a value.
    #[error("database secret {secret_id} is not usable: {reason}")]
    SecretFormat { secret_id: String, reason: String },
}

/// What one connection attempt authenticates with.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    /// `None`: the user of the configuration (IAM mode names it in `DB_USER`).
    pub user: Option<String>,
    pub password: String,
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("user", &self.user)
            .field("password", &"<redacted>")
            .finish()
    }
}

/// Hands out the credentials for the next connection.
#[async_trait]
pub trait CredentialSource: Send + Sync {
    async fn credentials(&self) -> Result<Credentials, CredentialError>;
    /// The server refused the last credentials: forget them.
    async fn invalidate(&self);
}

/// Wall-clock time: a frozen or paused execution environment must see a cached
/// token age, which a monotonic clock may not show.
pub trait TimeSource: Send + Sync {
    fn now(&self) -> SystemTime;
}

#[derive(Debug, Clone, Copy, Default)]
pub struct SystemTimeClock;

impl TimeSource for SystemTimeClock {
    fn now(&self) -> SystemTime {
        SystemTime::now()
    }
}

/// Produces a fresh RDS IAM authentication token.
#[async_trait]
pub trait IamTokenSigner: Send + Sync {
    async fn sign(&self) -> Result<String, CredentialError>;
}

/// Signs with the function's role (SigV4, computed locally: no network call).
pub struct RdsTokenSigner {
    generator: aws_sdk_rds::auth_token::AuthTokenGenerator,
    sdk: aws_config::SdkConfig,
}

impl RdsTokenSigner {
    pub fn new(
        sdk: aws_config::SdkConfig,
        host: &str,
        port: u16,
        user: &str,
        region: &str,
    ) -> Result<Self, CredentialError> {
        let config = aws_sdk_rds::auth_token::Config::builder()
            .hostname(host)
            .port(u64::from(port))
            .username(user)
            .region(aws_sdk_rds::config::Region::new(region.to_string()))
            .build()
            .map_err(|e| CredentialError::Token(e.to_string()))?;
        Ok(RdsTokenSigner {
            generator: aws_sdk_rds::auth_token::AuthTokenGenerator::new(config),
            sdk,
        })
    }
}

#[async_trait]
impl IamTokenSigner for RdsTokenSigner {
    async fn sign(&self) -> Result<String, CredentialError> {
        self.generator
            .auth_token(&self.sdk)
            .await
            .map(|t| t.as_str().to_string())
            .map_err(|e| CredentialError::Token(e.to_string()))
    }
}

/// IAM mode: one token reused for [`TOKEN_REUSE`], then signed again.
pub struct IamTokens {
    signer: Box<dyn IamTokenSigner>,
    clock: Box<dyn TimeSource>,
    reuse_for: Duration,
    cached: tokio::sync::Mutex<Option<(String, SystemTime)>>,
}

impl IamTokens {
    pub fn new(signer: Box<dyn IamTokenSigner>, clock: Box<dyn TimeSource>, reuse_for: Duration) -> Self {
        IamTokens {
            signer,
            clock,
            reuse_for,
            cached: tokio::sync::Mutex::new(None),
        }
    }

    async fn token(&self) -> Result<String, CredentialError> {
        // Held across the signing so that concurrent connection attempts sign once.
        let mut cached = self.cached.lock().await;
        let now = self.clock.now();
        if let Some((token, signed_at)) = cached.as_ref() {
            // A clock that went backwards makes the age unknown: sign again.
            let fresh = now
                .duration_since(*signed_at)
                .map(|age| age < self.reuse_for)
                .unwrap_or(false);
            if fresh {
                return Ok(token.clone());
            }
        }
        let token = self.signer.sign().await?;
        *cached = Some((token.clone(), now));
        Ok(token)
    }
}

#[async_trait]
impl CredentialSource for IamTokens {
    async fn credentials(&self) -> Result<Credentials, CredentialError> {
        Ok(Credentials {
            user: None,
            password: self.token().await?,
        })
    }

    async fn invalidate(&self) {
        *self.cached.lock().await = None;
    }
}

/// Reads the secret's JSON text.
#[async_trait]
pub trait SecretFetcher: Send + Sync {
    async fn fetch(&self, secret_id: &str) -> Result<String, CredentialError>;
}

pub struct SecretsManagerFetcher(pub aws_sdk_secretsmanager::Client);

#[async_trait]
impl SecretFetcher for SecretsManagerFetcher {
    async fn fetch(&self, secret_id: &str) -> Result<String, CredentialError> {
        let out = self
            .0
            .get_secret_value()
            .secret_id(secret_id)
            .send()
            .await
            .map_err(|e| CredentialError::SecretFetch {
                secret_id: secret_id.to_string(),
                reason: aws_sdk_secretsmanager::error::DisplayErrorContext(e).to_string(),
            })?;
        out.secret_string.ok_or_else(|| CredentialError::SecretFormat {
            secret_id: secret_id.to_string(),
            reason: "the secret has no SecretString (binary secrets are not supported)".into(),
        })
    }
}

/// Parses the JSON of an RDS database secret. Only `username` and `password` are used:
/// host, port and database come from the template's parameters (`DB_HOST`, ...), which
/// are also what the security groups and the CA bundle were set up for (the secret's
/// `host` is usually the instance endpoint, not e.g. the RDS Proxy in front of it).
pub fn parse_secret(secret_id: &str, json: &str) -> Result<Credentials, CredentialError> {
    let bad = |reason: &str| CredentialError::SecretFormat {
        secret_id: secret_id.to_string(),
        reason: reason.to_string(),
    };
    let value: serde_json::Value =
        serde_json::from_str(json).map_err(|_| bad("the SecretString is not JSON"))?;
    let object = value
        .as_object()
        .ok_or_else(|| bad("the SecretString is not a JSON object"))?;
    let field = |name: &str| match object.get(name) {
        Some(serde_json::Value::String(s)) if !s.is_empty() => Ok(s.clone()),
        Some(serde_json::Value::String(_)) => Err(bad(&format!("\"{name}\" is empty"))),
        Some(_) => Err(bad(&format!("\"{name}\" is not a string"))),
        None => Err(bad(&format!("\"{name}\" is missing"))),
    };
    Ok(Credentials {
        user: Some(field("username")?),
        password: field("password")?,
    })
}

/// Secret mode: the secret is read once and reused until the server refuses it.
pub struct SecretCredentials {
    secret_id: String,
    fetcher: Box<dyn SecretFetcher>,
    cached: tokio::sync::Mutex<Option<Credentials>>,
}

impl SecretCredentials {
    pub fn new(secret_id: impl Into<String>, fetcher: Box<dyn SecretFetcher>) -> Self {
        SecretCredentials {
            secret_id: secret_id.into(),
            fetcher,
            cached: tokio::sync::Mutex::new(None),
        }
    }
}

#[async_trait]
impl CredentialSource for SecretCredentials {
    async fn credentials(&self) -> Result<Credentials, CredentialError> {
        let mut cached = self.cached.lock().await;
        if let Some(credentials) = cached.as_ref() {
            return Ok(credentials.clone());
        }
        let json = self.fetcher.fetch(&self.secret_id).await?;
        let credentials = parse_secret(&self.secret_id, &json)?;
        *cached = Some(credentials.clone());
        Ok(credentials)
    }

    async fn invalidate(&self) {
        *self.cached.lock().await = None;
    }
}

/// Where to connect; the password comes from the credential source per connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    pub host: String,
    pub port: u16,
    pub dbname: String,
    pub user: Option<String>,
    /// The `options` startup parameter (server-side session settings).
    pub options: String,
}

impl Endpoint {
    /// TLS is required; the rustls connector verifies chain and host name, so this is
    /// `verify-full` (tokio-postgres has no separate verify modes).
    pub fn pg_config(&self, credentials: Option<&Credentials>) -> tokio_postgres::Config {
        let mut config = tokio_postgres::Config::new();
        config
            .host(&self.host)
            .port(self.port)
            .dbname(&self.dbname)
            .ssl_mode(tokio_postgres::config::SslMode::Require)
            .connect_timeout(Duration::from_secs(5))
            .application_name(APPLICATION_NAME)
            .options(&self.options);
        let user = credentials
            .and_then(|c| c.user.as_deref())
            .or(self.user.as_deref());
        if let Some(user) = user {
            config.user(user);
        }
        if let Some(credentials) = credentials {
            config.password(&credentials.password);
        }
        config
    }
}

/// The rustls client configuration: roots from the PEM bundle, or the Mozilla roots
/// when there is none. The ring provider is named explicitly, whatever other crates
/// enable in rustls.
pub fn tls_config(ca_bundle_pem: Option<&[u8]>) -> Result<rustls::ClientConfig, PoolBuildError> {
    use rustls_pki_types::pem::PemObject;
    use rustls_pki_types::CertificateDer;

    let mut roots = rustls::RootCertStore::empty();
    match ca_bundle_pem {
        Some(pem) => {
            let certs = CertificateDer::pem_slice_iter(pem)
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| PoolBuildError::Build(format!("DB_CA_BUNDLE is not a PEM bundle: {e}")))?;
            let (added, _ignored) = roots.add_parsable_certificates(certs);
            if added == 0 {
                return Err(PoolBuildError::Build(
                    "DB_CA_BUNDLE holds no usable CA certificate".into(),
                ));
            }
        }
        None => roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned()),
    }
    rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .map_err(|e| PoolBuildError::Build(format!("TLS configuration: {e}")))
        .map(|b| b.with_root_certificates(roots).with_no_client_auth())
}

type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;
type Connected = (tokio_postgres::Client, JoinHandle<()>);

/// Opens each new pooled connection with the current credentials.
struct AuthConnect {
    endpoint: Endpoint,
    tls: tokio_postgres_rustls::MakeRustlsConnect,
    source: Arc<dyn CredentialSource>,
}

impl AuthConnect {
    async fn connect_with_current(&self) -> Result<Connected, tokio_postgres::Error> {
        let credentials = match self.source.credentials().await {
            Ok(c) => c,
            Err(e) => {
                tracing::error!(error = %e, "cannot obtain database credentials");
                return Err(credential_failure());
            }
        };
        let config = self.endpoint.pg_config(Some(&credentials));
        let (client, connection) = config.connect(self.tls.clone()).await?;
        let task = tokio::spawn(async move {
            if let Err(e) = connection.await {
                tracing::warn!(error = %e, "PostgreSQL connection ended with an error");
            }
        });
        Ok((client, task))
    }
}

impl deadpool_postgres::Connect for AuthConnect {
    fn connect(
        &self,
        _pg_config: &tokio_postgres::Config,
    ) -> BoxFuture<'_, Result<Connected, tokio_postgres::Error>> {
        Box::pin(async move {
            match self.connect_with_current().await {
                Err(e) if is_authentication_failure(&e) => {
                    tracing::warn!(
                        sqlstate = e.code().map(|c| c.code()).unwrap_or_default(),
                        "the database refused the credentials; fetching fresh ones and retrying once"
                    );
                    self.source.invalidate().await;
                    self.connect_with_current().await
                }
                other => other,
            }
        })
    }
}

/// SQLSTATE class 28: the password or token was refused.
pub fn is_authentication_failure(e: &tokio_postgres::Error) -> bool {
    matches!(
        e.code(),
        Some(c) if *c == SqlState::INVALID_PASSWORD || *c == SqlState::INVALID_AUTHORIZATION_SPECIFICATION
    )
}

/// deadpool's `Connect` must fail with a `tokio_postgres::Error`, which has no public
/// constructor. An unknown connection-string option yields one before any I/O, with a
/// message that points at the log line above it and no SQLSTATE, so the adapters treat
/// it as transient: an unreachable Secrets Manager or STS is the world being down.
fn credential_failure() -> tokio_postgres::Error {
    match "database_credentials_unavailable=see_the_error_logged_before".parse::<tokio_postgres::Config>() {
        Err(e) => e,
        // A constant input, not outside data; the unit test below pins this behaviour.
        Ok(_) => unreachable!("tokio-postgres rejects unknown connection-string options"),
    }
}

/// The pool manager for `DatabaseConfig::Iam` and `DatabaseConfig::Secret`. No
/// connection is opened here: a database that is down fails the first event (retried),
/// not the init.
pub async fn manager(
    config: &DatabaseConfig,
    options: &str,
    sdk: &aws_config::SdkConfig,
) -> Result<deadpool_postgres::Manager, PoolBuildError> {
    // The bundle first: a wrong path fails fast, before any AWS client is built.
    let ca_bundle = match config {
        DatabaseConfig::Iam { ca_bundle, .. } | DatabaseConfig::Secret { ca_bundle, .. } => ca_bundle,
        DatabaseConfig::Url(_) => &None,
    };
    let pem = match ca_bundle {
        Some(path) => Some(
            tokio::fs::read(path)
                .await
                .map_err(|e| PoolBuildError::Build(format!("cannot read DB_CA_BUNDLE {path}: {e}")))?,
        ),
        None => None,
    };
    let tls = tokio_postgres_rustls::MakeRustlsConnect::new(tls_config(pem.as_deref())?);

    let (endpoint, source): (Endpoint, Arc<dyn CredentialSource>) = match config {
        DatabaseConfig::Iam {
            host,
            port,
            dbname,
            user,
            region,
            ..
        } => {
            let signer = RdsTokenSigner::new(sdk.clone(), host, *port, user, region)
                .map_err(|e| PoolBuildError::Build(e.to_string()))?;
            let tokens = IamTokens::new(Box::new(signer), Box::new(SystemTimeClock), TOKEN_REUSE);
            let endpoint = Endpoint {
                host: host.clone(),
                port: *port,
                dbname: dbname.clone(),
                user: Some(user.clone()),
                options: options.to_string(),
            };
            (endpoint, Arc::new(tokens))
        }
        DatabaseConfig::Secret {
            secret_id,
            host,
            port,
            dbname,
            ..
        } => {
            let fetcher = SecretsManagerFetcher(aws_sdk_secretsmanager::Client::new(sdk));
            let secret = SecretCredentials::new(secret_id.clone(), Box::new(fetcher));
            // Read once at init; if that fails, the first connection tries again
            // rather than failing the whole execution environment's init.
            if let Err(e) = secret.credentials().await {
                tracing::warn!(error = %e, "database secret not readable at init; retrying at the first connection");
            }
            let endpoint = Endpoint {
                host: host.clone(),
                port: *port,
                dbname: dbname.clone(),
                user: None,
                options: options.to_string(),
            };
            (endpoint, Arc::new(secret))
        }
        DatabaseConfig::Url(_) => {
            return Err(PoolBuildError::Build(
                "auth::manager builds managers for the iam and secret modes only".into(),
            ))
        }
    };

    Ok(deadpool_postgres::Manager::from_connect(
        endpoint.pg_config(None),
        AuthConnect {
            endpoint,
            tls,
            source,
        },
        super::pool::manager_config(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Mutex;

    /// A clock the test moves by hand.
    #[derive(Clone)]
    struct ManualClock(Arc<Mutex<SystemTime>>);

    impl ManualClock {
        fn new() -> Self {
            ManualClock(Arc::new(Mutex::new(
                SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000),
            )))
        }
        fn advance(&self, by: Duration) {
            if let Ok(mut t) = self.0.lock() {
                *t += by;
            }
        }
        fn rewind(&self, by: Duration) {
            if let Ok(mut t) = self.0.lock() {
                *t -= by;
            }
        }
    }

    impl TimeSource for ManualClock {
        fn now(&self) -> SystemTime {
            self.0.lock().map(|t| *t).unwrap_or(SystemTime::UNIX_EPOCH)
        }
    }

    /// Signs "token-1", "token-2", ...; fails while `failing` is set.
    #[derive(Clone, Default)]
    struct CountingSigner {
        calls: Arc<AtomicUsize>,
        failing: Arc<std::sync::atomic::AtomicBool>,
    }

    #[async_trait]
    impl IamTokenSigner for CountingSigner {
        async fn sign(&self) -> Result<String, CredentialError> {
            if self.failing.load(Ordering::SeqCst) {
                return Err(CredentialError::Token("no credentials".into()));
            }
            let n = self.calls.fetch_add(1, Ordering::SeqCst) + 1;
            Ok(format!("token-{n}"))
        }
    }

    fn iam(signer: &CountingSigner, clock: &ManualClock) -> IamTokens {
        IamTokens::new(Box::new(signer.clone()), Box::new(clock.clone()), TOKEN_REUSE)
    }

    async fn password(source: &dyn CredentialSource) -> String {
        match source.credentials().await {
            Ok(c) => c.password,
            Err(e) => panic!("credentials failed: {e}"),
        }
    }

    #[tokio::test]
    async fn a_token_is_reused_for_ten_minutes_then_signed_again() {
        let signer = CountingSigner::default();
        let clock = ManualClock::new();
        let tokens = iam(&signer, &clock);

        assert_eq!(password(&tokens).await, "token-1");
        clock.advance(Duration::from_secs(9 * 60 + 59));
        assert_eq!(
            password(&tokens).await,
            "token-1",
            "still inside the reuse window"
        );
        clock.advance(Duration::from_secs(1));
        assert_eq!(password(&tokens).await, "token-2", "10 minutes old: signed again");
        assert_eq!(password(&tokens).await, "token-2");
        assert_eq!(signer.calls.load(Ordering::SeqCst), 2);
    }

    #[tokio::test]
    async fn a_refused_token_is_replaced_and_a_clock_going_backwards_signs_again() {
        let signer = CountingSigner::default();
        let clock = ManualClock::new();
        let tokens = iam(&signer, &clock);

        assert_eq!(password(&tokens).await, "token-1");
        tokens.invalidate().await;
        assert_eq!(password(&tokens).await, "token-2");
        clock.rewind(Duration::from_secs(60));
        assert_eq!(password(&tokens).await, "token-3");
    }

    #[tokio::test]
    async fn a_signing_failure_is_reported_and_not_cached() {
        let signer = CountingSigner::default();
        let clock = ManualClock::new();
        let tokens = iam(&signer, &clock);

        signer.failing.store(true, Ordering::SeqCst);
        assert!(matches!(
            tokens.credentials().await,
            Err(CredentialError::Token(_))
        ));
        signer.failing.store(false, Ordering::SeqCst);
        assert_eq!(password(&tokens).await, "token-1");
    }

    #[tokio::test]
    async fn the_rds_signer_builds_a_token_offline() {
        let sdk = aws_config::defaults(aws_config::BehaviorVersion::latest())
            .region(aws_config::Region::new("eu-west-1"))
            .credentials_provider(aws_credential_types::Credentials::new(
                "AKIDEXAMPLE",
                "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
                None,
                None,
                "test",
            ))
            .load()
            .await;
        let signer = RdsTokenSigner::new(
            sdk,
            "db.cluster-abc.eu-west-1.rds.amazonaws.com",
            5432,
            "pipeline",
            "eu-west-1",
        );
        let token = match signer {
            Ok(s) => s.sign().await,
            Err(e) => panic!("signer: {e}"),
        };
        let token = match token {
            Ok(t) => t,
            Err(e) => panic!("sign: {e}"),
        };
        assert!(
            token.starts_with("db.cluster-abc.eu-west-1.rds.amazonaws.com:5432/?"),
            "{token}"
        );
        assert!(token.contains("Action=connect"), "{token}");
        assert!(token.contains("DBUser=pipeline"), "{token}");
        assert!(token.contains("X-Amz-Expires=900"), "{token}");
        assert!(token.contains("eu-west-1%2Frds-db%2Faws4_request"), "{token}");
    }

    #[test]
    fn a_secret_gives_username_and_password() {
        let json = r#"{"username":"pipeline","password":"p@ss:w\"ord","engine":"postgres","host":"x","port":5432,"dbname":"catalog"}"#;
        match parse_secret("arn:secret", json) {
            Ok(c) => {
                assert_eq!(c.user.as_deref(), Some("pipeline"));
                assert_eq!(c.password, "p@ss:w\"ord");
            }
            Err(e) => panic!("{e}"),
        }
    }

    #[test]
    fn a_bad_secret_names_the_field_and_never_the_value() {
        let cases = [
            (r#"{"username":"u"}"#, "\"password\" is missing"),
            (r#"{"username":"","password":"hunter2"}"#, "\"username\" is empty"),
            (
                r#"{"username":"u","password":12345}"#,
                "\"password\" is not a string",
            ),
            (r#"["u","hunter2"]"#, "not a JSON object"),
            ("hunter2", "not JSON"),
        ];
        for (json, expected) in cases {
            match parse_secret("db-secret", json) {
                Err(e @ CredentialError::SecretFormat { .. }) => {
                    let message = e.to_string();
                    assert!(message.contains(expected), "{json}: {message}");
                    assert!(message.contains("db-secret"), "{message}");
                    assert!(
                        !message.contains("hunter2") && !message.contains("12345"),
                        "{message}"
                    );
                }
                other => panic!("{json}: expected a format error, got {other:?}"),
            }
        }
    }

    #[test]
    fn credentials_never_print_the_password() {
        let c = Credentials {
            user: Some("pipeline".into()),
            password: "hunter2".into(),
        };
        let shown = format!("{c:?}");
        assert!(
            shown.contains("pipeline") && !shown.contains("hunter2"),
            "{shown}"
        );
    }

    struct CountingFetcher {
        calls: Arc<AtomicUsize>,
    }

    #[async_trait]
    impl SecretFetcher for CountingFetcher {
        async fn fetch(&self, _secret_id: &str) -> Result<String, CredentialError> {
            let n = self.calls.fetch_add(1, Ordering::SeqCst) + 1;
            Ok(format!(r#"{{"username":"pipeline","password":"v{n}"}}"#))
        }
    }

    #[tokio::test]
    async fn the_secret_is_read_once_and_again_after_a_refusal() {
        let calls = Arc::new(AtomicUsize::new(0));
        let secret = SecretCredentials::new("s", Box::new(CountingFetcher { calls: calls.clone() }));
        assert_eq!(password(&secret).await, "v1");
        assert_eq!(password(&secret).await, "v1");
        assert_eq!(calls.load(Ordering::SeqCst), 1);
        secret.invalidate().await;
        assert_eq!(password(&secret).await, "v2", "a rotated secret is picked up");
    }

    #[test]
    fn the_connection_config_requires_tls_and_carries_the_credentials() {
        let endpoint = Endpoint {
            host: "db.example.internal".into(),
            port: 5433,
            dbname: "catalog".into(),
            user: Some("pipeline".into()),
            options: "-c lock_timeout=1".into(),
        };
        let bare = endpoint.pg_config(None);
        assert_eq!(bare.get_options(), Some("-c lock_timeout=1"));
        assert_eq!(bare.get_ssl_mode(), tokio_postgres::config::SslMode::Require);
        assert_eq!(bare.get_ports(), &[5433]);
        assert_eq!(bare.get_dbname(), Some("catalog"));
        assert_eq!(bare.get_user(), Some("pipeline"));
        assert_eq!(bare.get_password(), None);
        assert!(matches!(
            bare.get_hosts(),
            [tokio_postgres::config::Host::Tcp(h)] if h == "db.example.internal"
        ));

        let iam = endpoint.pg_config(Some(&Credentials {
            user: None,
            password: "token".into(),
        }));
        assert_eq!(iam.get_user(), Some("pipeline"));
        assert_eq!(iam.get_password(), Some(&b"token"[..]));

        let secret_endpoint = Endpoint {
            user: None,
            ..endpoint
        };
        let secret = secret_endpoint.pg_config(Some(&Credentials {
            user: Some("from_secret".into()),
            password: "pw".into(),
        }));
        assert_eq!(secret.get_user(), Some("from_secret"));
        assert_eq!(secret.get_ssl_mode(), tokio_postgres::config::SslMode::Require);
    }

    /// A throwaway self-signed CA (generated with openssl for this test).
    const TEST_CA: &str = "-----BEGIN CERTIFICATE-----
MIIBizCCATGgAwIBAgIUKgUGE1u+3gr2zS6FqQiJaJ2eXS8wCgYIKoZIzj0EAwIw
GjEYMBYGA1UEAwwPZGItYXV0aCB0ZXN0IENBMCAXDTI2MTEyMzIwNTc1MFoYDzIx
MjYxMDMwMjA1NzUwWjAaMRgwFgYDVQQDDA9kYi1hdXRoIHRlc3QgQ0EwWTATBgcq
hkjOPQIBBggqhkjOPQMBBwNCAATgiV50mF/66xlKP3X6e9JsGB1fYpArsBcCU0z5
iZJN3akDofsHAgGeHpVRkR9j3hLKyjIh7jxc4a+fHRUcfsyXo1MwUTAdBgNVHQ4E
FgQUK5O2C8+ZFzDiATfbBSuWWfon0hYwHwYDVR0jBBgwFoAUK5O2C8+ZFzDiATfb
BSuWWfon0hYwDwYDVR0TAQH/BAUwAwEB/zAKBggqhkjOPQQDAgNIADBFAiEA0Wtr
fSsfB34B3+cVYS/eF+nfQB7i9He4kYZxkHqoPwMCICciRSpEcCM/ms8z8mTzWvb7
YyI/bWJwjz/RyBvPZfC0
-----END CERTIFICATE-----
";

    #[test]
    fn the_tls_roots_come_from_the_bundle_or_default_to_public_roots() {
        assert!(tls_config(Some(TEST_CA.as_bytes())).is_ok());
        assert!(tls_config(None).is_ok());
        assert!(matches!(
            tls_config(Some(b"not a certificate")),
            Err(PoolBuildError::Build(m)) if m.contains("no usable CA")
        ));
    }

    #[test]
    fn a_credential_failure_has_no_sqlstate_so_it_is_retried() {
        let e = credential_failure();
        assert!(e.code().is_none());
        assert!(!is_authentication_failure(&e));
        assert!(crate::classify::from_pg(e).is_transient());
    }

    #[tokio::test]
    async fn a_missing_ca_bundle_fails_the_pool_build_with_its_path() {
        let config = DatabaseConfig::Secret {
            secret_id: "s".into(),
            host: "127.0.0.1".into(),
            port: 1,
            dbname: "catalog".into(),
            ca_bundle: Some("/nonexistent/rds-ca.pem".into()),
        };
        // Fails on the bundle before any AWS client is built (no network in this test).
        let sdk = aws_config::SdkConfig::builder().build();
        match manager(&config, "", &sdk).await {
            Err(PoolBuildError::Build(m)) => assert!(m.contains("/nonexistent/rds-ca.pem"), "{m}"),
            other => panic!("expected a build error, got {:?}", other.map(|_| "a manager")),
        }
    }
}
