//! The upload bucket.

use crate::error::PortError;
use async_trait::async_trait;
use std::pin::Pin;

pub type ObjectReader = Pin<Box<dyn tokio::io::AsyncRead + Send>>;

/// What S3 says about an object before we read it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectInfo {
    pub size: u64,
    pub etag: Option<String>,
    /// The version read (the bucket is versioned): `open` reads exactly this one.
    pub version_id: Option<String>,
}

#[async_trait]
pub trait ObjectStore: Send + Sync {
    /// `None` when the object (at `version_id`, when given: the version the event names,
    /// so an overwrite of the key never changes an upload under way) no longer exists.
    async fn head(
        &self,
        bucket: &str,
        key: &str,
        version_id: Option<&str>,
    ) -> Result<Option<ObjectInfo>, PortError>;
    /// Streams the object: the version `head` saw.
    async fn open(&self, bucket: &str, key: &str, info: &ObjectInfo) -> Result<ObjectReader, PortError>;
    async fn put(&self, bucket: &str, key: &str, body: Vec<u8>, content_type: &str) -> Result<(), PortError>;

    /// Starts a multipart upload (a large report, written a part at a time); returns
    /// its id.
    async fn start_parts(&self, bucket: &str, key: &str, content_type: &str) -> Result<String, PortError>;
    /// Part `number` (from 1; every part but the last at least 5 MiB); returns its ETag.
    async fn put_part(
        &self,
        bucket: &str,
        key: &str,
        upload: &str,
        number: i32,
        body: Vec<u8>,
    ) -> Result<String, PortError>;
    /// Assembles the parts, in order: the object appears whole, at once.
    async fn finish_parts(
        &self,
        bucket: &str,
        key: &str,
        upload: &str,
        etags: &[String],
    ) -> Result<(), PortError>;
    /// Drops an unfinished multipart upload and its parts.
    async fn abandon_parts(&self, bucket: &str, key: &str, upload: &str) -> Result<(), PortError>;
}
