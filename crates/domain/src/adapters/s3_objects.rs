//! The upload bucket on S3.

use crate::error::{from_sdk, PortError};
use crate::ports::{ObjectInfo, ObjectReader, ObjectStore};
use async_trait::async_trait;

#[derive(Clone)]
pub struct S3Objects {
    client: aws_sdk_s3::Client,
}

impl S3Objects {
    pub fn new(client: aws_sdk_s3::Client) -> Self {
        S3Objects { client }
    }
}

#[async_trait]
impl ObjectStore for S3Objects {
    async fn head(&self, bucket: &str, key: &str) -> Result<Option<ObjectInfo>, PortError> {
        match self.client.head_object().bucket(bucket).key(key).send().await {
            Ok(out) => Ok(Some(ObjectInfo {
                size: out.content_length.unwrap_or(0).max(0) as u64,
                etag: out.e_tag,
            })),
            Err(e) => {
                if e.as_service_error().map(|s| s.is_not_found()).unwrap_or(false) {
                    Ok(None)
                } else {
                    Err(from_sdk("S3", e))
                }
            }
        }
    }

    async fn open(&self, bucket: &str, key: &str, info: &ObjectInfo) -> Result<ObjectReader, PortError> {
        let out = self
            .client
            .get_object()
            .bucket(bucket)
            .key(key)
            .set_if_match(info.etag.clone())
            .send()
            .await
            .map_err(|e| from_sdk("S3", e))?;
        Ok(Box::pin(out.body.into_async_read()))
    }

    async fn put(&self, bucket: &str, key: &str, body: Vec<u8>, content_type: &str) -> Result<(), PortError> {
        self.client
            .put_object()
            .bucket(bucket)
            .key(key)
            .content_type(content_type)
            .body(body.into())
            .send()
            .await
            .map_err(|e| from_sdk("S3", e))?;
        Ok(())
    }
}
