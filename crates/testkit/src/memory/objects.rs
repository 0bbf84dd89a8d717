//! `ObjectStore` in memory: the bucket.

use super::{lock, Memory};
use async_trait::async_trait;
use domain::ports::{ObjectInfo, ObjectReader, ObjectStore};
use domain::PortError;

#[async_trait]
impl ObjectStore for Memory {
    async fn head(
        &self,
        bucket: &str,
        key: &str,
        version_id: Option<&str>,
    ) -> Result<Option<ObjectInfo>, PortError> {
        self.trip("head", key)?;
        Ok(self.body(bucket, key, version_id)?.map(|b| ObjectInfo {
            size: b.len() as u64,
            etag: None,
            version_id: version_id.map(str::to_string),
        }))
    }

    async fn open(&self, bucket: &str, key: &str, info: &ObjectInfo) -> Result<ObjectReader, PortError> {
        self.trip("open", key)?;
        let body = self
            .body(bucket, key, info.version_id.as_deref())?
            .unwrap_or_default();
        Ok(Box::pin(std::io::Cursor::new(body)))
    }

    /// Faults on `put` are matched against the key, not an upload id.
    async fn put(&self, bucket: &str, key: &str, body: Vec<u8>, _: &str) -> Result<(), PortError> {
        self.trip("put", key)?;
        lock(&self.objects)?.insert((bucket.into(), key.into()), body);
        *lock(&self.object_puts)? += 1;
        Ok(())
    }
}

impl Memory {
    /// The object's body: the version named, or the latest.
    fn body(&self, bucket: &str, key: &str, version_id: Option<&str>) -> Result<Option<Vec<u8>>, PortError> {
        Ok(match version_id {
            Some(v) => lock(&self.versions)?
                .get(&(bucket.into(), key.into(), v.into()))
                .cloned(),
            None => lock(&self.objects)?.get(&(bucket.into(), key.into())).cloned(),
        })
    }
}
