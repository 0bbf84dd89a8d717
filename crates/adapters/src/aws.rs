//! The AWS SDK configuration, loaded once per execution environment and shared by every
//! client (and by the RDS IAM token signer and Secrets Manager, in those database modes).
//!
//! The SDK reads `AWS_REGION` and the service-specific `AWS_ENDPOINT_URL_DYNAMODB` /
//! `AWS_ENDPOINT_URL_S3` itself, so the same binary talks to DynamoDB Local and moto
//! on a laptop and to AWS in Lambda.
//!
//! Every client shares one HTTPS client: hyper on rustls with the `ring` provider (the
//! one the PostgreSQL TLS uses too, so a function links one TLS stack), trusting the
//! five roots of Amazon Trust Services, which every AWS service endpoint chains to
//! (<https://www.amazontrust.com/repository/>). The SDK's default client would trust
//! the platform's store instead and parse each of its certificates (~140 to ~290) for
//! every connector it builds, before the first invocation: 83% of a function's cold
//! start, measured by `make bench` §6.
//!
//! Credentials come from the environment variables Lambda sets for the function's role
//! (and `.local/env` sets locally), not the SDK's default chain: building that chain
//! (its web-identity STS client, the profile files, IMDS) was a fifth of what remained
//! of a cold start, for providers a Lambda function never reaches.

use aws_config::environment::EnvironmentVariableCredentialsProvider;
use aws_config::BehaviorVersion;
use aws_smithy_http_client::tls::{self, rustls_provider::CryptoMode, TlsContext, TrustStore};
use aws_smithy_runtime_api::client::connector_metadata::ConnectorMetadata;
use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnectorSettings, SharedHttpClient, SharedHttpConnector,
};
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;

pub use aws_config::SdkConfig;

/// Amazon Root CA 1–4 and Starfield Services Root Certificate Authority - G2, as
/// published by Amazon Trust Services.
const AMAZON_TRUST_SERVICES: &[u8] = include_bytes!("../certs/amazon-trust-services.pem");

pub async fn sdk_config() -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .http_client(https_client())
        .credentials_provider(EnvironmentVariableCredentialsProvider::new())
        .load()
        .await
}

/// The HTTPS client every SDK client of the process shares (it keeps one connection
/// pool per timeout setting, built at its first request).
pub fn https_client() -> SharedHttpClient {
    SharedHttpClient::new(BuiltAtFirstRequest(hyper_client()))
}

/// The SDK's hyper client, minus one step: at each SDK client's construction it builds
/// a connector (parsing every root) and throws it away, so that a platform store's
/// slow load happens at init. With five roots there is nothing to load early; each
/// connector is built once, when the first request needs it.
#[derive(Debug)]
struct BuiltAtFirstRequest(SharedHttpClient);

impl HttpClient for BuiltAtFirstRequest {
    fn http_connector(
        &self,
        settings: &HttpConnectorSettings,
        components: &RuntimeComponents,
    ) -> SharedHttpConnector {
        self.0.http_connector(settings, components)
    }

    fn connector_metadata(&self) -> Option<ConnectorMetadata> {
        self.0.connector_metadata()
    }
}

fn hyper_client() -> SharedHttpClient {
    let trust = TrustStore::empty()
        .with_native_roots(false)
        .with_pem_certificate(AMAZON_TRUST_SERVICES);
    let builder =
        aws_smithy_http_client::Builder::new().tls_provider(tls::Provider::Rustls(CryptoMode::Ring));
    match TlsContext::builder().with_trust_store(trust).build() {
        Ok(context) => builder.tls_context(context).build_https(),
        // The builder has no failing path today; should one appear, the SDK's default
        // context (the platform's roots) still verifies every AWS endpoint.
        Err(error) => {
            tracing::warn!(%error, "TLS context not built; the platform's roots are trusted");
            builder.build_https()
        }
    }
}

#[cfg(all(test, feature = "dynamodb"))]
mod tests {
    use super::*;

    #[test]
    fn the_trust_store_holds_amazon_trust_services_five_roots() {
        let pem = std::str::from_utf8(AMAZON_TRUST_SERVICES).expect("PEM is ASCII");
        assert_eq!(pem.matches("-----BEGIN CERTIFICATE-----").count(), 5);
        assert_eq!(pem.matches("-----END CERTIFICATE-----").count(), 5);
    }

    #[tokio::test]
    async fn a_client_on_it_parses_the_roots_at_its_first_request_and_reaches_plain_http_endpoints() {
        // The first request builds the connector, which parses every root (the SDK
        // panics on one it cannot parse); the local stack's endpoints are plain HTTP.
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let endpoint = format!("http://{}", listener.local_addr().expect("addr"));
        let server = tokio::spawn(async move {
            use tokio::io::{AsyncReadExt, AsyncWriteExt};
            let (mut socket, _) = listener.accept().await.expect("accept");
            let mut request = vec![0; 64 * 1024];
            let _ = socket.read(&mut request).await.expect("read");
            let body = r#"{"TableNames":["T"]}"#;
            let response = format!(
                "HTTP/1.1 200 OK\r\ncontent-type: application/x-amz-json-1.0\r\ncontent-length: {}\r\n\r\n{body}",
                body.len()
            );
            socket.write_all(response.as_bytes()).await.expect("write");
        });
        let config = aws_sdk_dynamodb::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(aws_config::Region::new("eu-west-1"))
            .credentials_provider(aws_sdk_dynamodb::config::Credentials::new(
                "AKID", "secret", None, None, "test",
            ))
            .endpoint_url(endpoint)
            .http_client(https_client())
            .build();
        let client = aws_sdk_dynamodb::Client::from_conf(config);
        let tables = client.list_tables().send().await.expect("answered");
        assert_eq!(tables.table_names(), ["T"]);
        server.await.expect("server");
    }
}
