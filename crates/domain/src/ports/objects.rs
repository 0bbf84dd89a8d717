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
}

#[async_trait]
pub trait ObjectStore: Send + Sync {
    /// `None` when the object no longer exists.
    async fn head(&self, bucket: &str, key: &str) -> Result<Option<ObjectInfo>, PortError>;
    /// Streams the object (the same version `head` saw, where the store can pin it).
    async fn open(&self, bucket: &str, key: &str, info: &ObjectInfo) -> Result<ObjectReader, PortError>;
    async fn put(&self, bucket: &str, key: &str, body: Vec<u8>, content_type: &str) -> Result<(), PortError>;
}
