//! Presigned S3 requests for the vendor API, signed with the function's own
//! credentials (no call to S3 is made).

use async_trait::async_trait;
use aws_sdk_s3::presigning::{PresignedRequest as S3Presigned, PresigningConfig};
use domain::ports::{PresignedRequest, UrlSigner};
use domain::PortError;
use std::time::Duration;

#[derive(Clone)]
pub struct S3UrlSigner {
    client: aws_sdk_s3::Client,
}

impl S3UrlSigner {
    /// Takes a client from [`crate::s3::client`] (path-style against an emulator).
    pub fn new(client: aws_sdk_s3::Client) -> Self {
        S3UrlSigner { client }
    }
}

fn config(expires_in: Duration) -> Result<PresigningConfig, PortError> {
    PresigningConfig::expires_in(expires_in).map_err(|e| PortError::rejected("S3 presigner", e))
}

fn request(p: &S3Presigned) -> PresignedRequest {
    PresignedRequest {
        method: p.method().to_string(),
        url: p.uri().to_string(),
        headers: p
            .headers()
            .map(|(k, v)| (k.to_ascii_lowercase(), v.to_string()))
            .collect(),
    }
}

#[async_trait]
impl UrlSigner for S3UrlSigner {
    /// `Content-Length` and `Content-Type` are part of the signature: S3 refuses a body
    /// of any other size (403 SignatureDoesNotMatch), and the key is in the signed path.
    async fn presign_put(
        &self,
        bucket: &str,
        key: &str,
        content_length: u64,
        content_type: &str,
        expires_in: Duration,
    ) -> Result<PresignedRequest, PortError> {
        let length = i64::try_from(content_length).map_err(|e| PortError::rejected("S3 presigner", e))?;
        let presigned = self
            .client
            .put_object()
            .bucket(bucket)
            .key(key)
            .content_length(length)
            .content_type(content_type)
            .presigned(config(expires_in)?)
            .await
            .map_err(|e| PortError::rejected("S3 presigner", aws_sdk_s3::error::DisplayErrorContext(e)))?;
        Ok(request(&presigned))
    }

    async fn presign_get(
        &self,
        bucket: &str,
        key: &str,
        expires_in: Duration,
    ) -> Result<PresignedRequest, PortError> {
        let presigned = self
            .client
            .get_object()
            .bucket(bucket)
            .key(key)
            .presigned(config(expires_in)?)
            .await
            .map_err(|e| PortError::rejected("S3 presigner", aws_sdk_s3::error::DisplayErrorContext(e)))?;
        Ok(request(&presigned))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn signer() -> S3UrlSigner {
        let config = aws_sdk_s3::Config::builder()
            .behavior_version(aws_sdk_s3::config::BehaviorVersion::latest())
            .region(aws_sdk_s3::config::Region::new("eu-west-1"))
            .credentials_provider(aws_sdk_s3::config::Credentials::new(
                "AKIDEXAMPLE",
                "secret",
                None,
                None,
                "test",
            ))
            .build();
        S3UrlSigner::new(aws_sdk_s3::Client::from_conf(config))
    }

    fn query(url: &str, name: &str) -> Option<String> {
        url::Url::parse(url)
            .ok()?
            .query_pairs()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.into_owned())
    }

    #[tokio::test]
    async fn a_presigned_put_signs_the_content_length_the_type_and_the_key() {
        let p = signer()
            .presign_put(
                "b",
                "uploads/VEND001/spring sale.csv",
                11,
                "text/csv",
                Duration::from_secs(900),
            )
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(p.method, "PUT");
        let signed = query(&p.url, "X-Amz-SignedHeaders").unwrap_or_default();
        assert_eq!(
            signed.split(';').collect::<Vec<_>>(),
            ["content-length", "content-type", "host"]
        );
        assert_eq!(query(&p.url, "X-Amz-Expires").as_deref(), Some("900"));
        assert!(p.url.contains("/uploads/VEND001/spring%20sale.csv?"), "{}", p.url);
        assert!(
            p.headers
                .contains(&("content-length".to_string(), "11".to_string())),
            "{:?}",
            p.headers
        );
        assert!(
            p.headers
                .contains(&("content-type".to_string(), "text/csv".to_string())),
            "{:?}",
            p.headers
        );
    }

    #[tokio::test]
    async fn a_presigned_get_lives_as_long_as_asked() {
        let p = signer()
            .presign_get("b", "reports/V/U.csv", Duration::from_secs(300))
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!((p.method.as_str(), p.headers.len()), ("GET", 0));
        assert_eq!(query(&p.url, "X-Amz-Expires").as_deref(), Some("300"));
    }
}
