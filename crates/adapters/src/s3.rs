//! The upload bucket on S3.

use crate::classify::from_sdk;
use async_trait::async_trait;
use aws_sdk_s3::types::{CompletedMultipartUpload, CompletedPart};
use domain::ports::{ObjectInfo, ObjectReader, ObjectStore};
use domain::PortError;

/// S3 emulators answer on one host name: use path-style addressing whenever an
/// endpoint override is configured.
pub fn client(config: &aws_config::SdkConfig) -> aws_sdk_s3::Client {
    let custom_endpoint = std::env::var("AWS_ENDPOINT_URL_S3")
        .or_else(|_| std::env::var("AWS_ENDPOINT_URL"))
        .map(|v| !v.is_empty())
        .unwrap_or(false);
    let s3_config = aws_sdk_s3::config::Builder::from(config)
        .force_path_style(custom_endpoint)
        .build();
    aws_sdk_s3::Client::from_conf(s3_config)
}

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
    async fn head(
        &self,
        bucket: &str,
        key: &str,
        version_id: Option<&str>,
    ) -> Result<Option<ObjectInfo>, PortError> {
        let head = self
            .client
            .head_object()
            .bucket(bucket)
            .key(key)
            .set_version_id(version_id.map(str::to_string))
            .send()
            .await;
        match head {
            Ok(out) => Ok(Some(ObjectInfo {
                size: out.content_length.unwrap_or(0).max(0) as u64,
                etag: out.e_tag,
                version_id: out.version_id.or_else(|| version_id.map(str::to_string)),
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
            .set_version_id(info.version_id.clone())
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

    async fn start_parts(&self, bucket: &str, key: &str, content_type: &str) -> Result<String, PortError> {
        let out = self
            .client
            .create_multipart_upload()
            .bucket(bucket)
            .key(key)
            .content_type(content_type)
            .send()
            .await
            .map_err(|e| from_sdk("S3", e))?;
        out.upload_id
            .ok_or_else(|| PortError::rejected("S3", "CreateMultipartUpload returned no upload id"))
    }

    async fn put_part(
        &self,
        bucket: &str,
        key: &str,
        upload: &str,
        number: i32,
        body: Vec<u8>,
    ) -> Result<String, PortError> {
        let out = self
            .client
            .upload_part()
            .bucket(bucket)
            .key(key)
            .upload_id(upload)
            .part_number(number)
            .body(body.into())
            .send()
            .await
            .map_err(|e| from_sdk("S3", e))?;
        out.e_tag
            .ok_or_else(|| PortError::rejected("S3", "UploadPart returned no ETag"))
    }

    async fn finish_parts(
        &self,
        bucket: &str,
        key: &str,
        upload: &str,
        etags: &[String],
    ) -> Result<(), PortError> {
        let parts = etags
            .iter()
            .enumerate()
            .map(|(i, etag)| {
                CompletedPart::builder()
                    .part_number(i32::try_from(i + 1).unwrap_or(i32::MAX))
                    .e_tag(etag)
                    .build()
            })
            .collect();
        self.client
            .complete_multipart_upload()
            .bucket(bucket)
            .key(key)
            .upload_id(upload)
            .multipart_upload(CompletedMultipartUpload::builder().set_parts(Some(parts)).build())
            .send()
            .await
            .map_err(|e| from_sdk("S3", e))?;
        Ok(())
    }

    async fn abandon_parts(&self, bucket: &str, key: &str, upload: &str) -> Result<(), PortError> {
        self.client
            .abort_multipart_upload()
            .bucket(bucket)
            .key(key)
            .upload_id(upload)
            .send()
            .await
            .map_err(|e| from_sdk("S3", e))?;
        Ok(())
    }
}
