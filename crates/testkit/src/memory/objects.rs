//! `ObjectStore` in memory: the bucket.

use super::{lock, Memory};
use async_trait::async_trait;
use domain::ports::{ObjectInfo, ObjectReader, ObjectStore};
use domain::PortError;

#[async_trait]
impl ObjectStore for Memory {
    async fn head(&self, bucket: &str, key: &str) -> Result<Option<ObjectInfo>, PortError> {
        self.trip("head", key)?;
        let objects = lock(&self.objects)?;
        Ok(objects.get(&(bucket.into(), key.into())).map(|b| ObjectInfo {
            size: b.len() as u64,
            etag: None,
        }))
    }

    async fn open(&self, bucket: &str, key: &str, _: &ObjectInfo) -> Result<ObjectReader, PortError> {
        self.trip("open", key)?;
        let objects = lock(&self.objects)?;
        let body = objects
            .get(&(bucket.into(), key.into()))
            .cloned()
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
