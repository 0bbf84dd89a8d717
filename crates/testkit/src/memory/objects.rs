//! `ObjectStore` in memory: the bucket.

use super::{lock, Memory, PendingParts};
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

    async fn start_parts(&self, bucket: &str, key: &str, _: &str) -> Result<String, PortError> {
        self.trip("start_parts", key)?;
        let mut parts = lock(&self.parts)?;
        let id = format!("mpu-{}", parts.len() + 1);
        parts.insert(
            id.clone(),
            PendingParts {
                bucket: bucket.to_string(),
                key: key.to_string(),
                parts: Vec::new(),
            },
        );
        Ok(id)
    }

    async fn put_part(
        &self,
        _: &str,
        key: &str,
        upload: &str,
        number: i32,
        body: Vec<u8>,
    ) -> Result<String, PortError> {
        self.trip("put_part", key)?;
        // As S3: part numbers run from 1 to 10,000.
        if !(1..=10_000).contains(&number) {
            return Err(PortError::rejected(
                "memory",
                format!("InvalidArgument: part number {number}"),
            ));
        }
        let mut parts = lock(&self.parts)?;
        let pending = parts
            .get_mut(upload)
            .ok_or_else(|| PortError::rejected("memory", "NoSuchUpload"))?;
        pending.parts.push((number, body));
        Ok(format!("etag-{number}"))
    }

    async fn finish_parts(
        &self,
        bucket: &str,
        key: &str,
        upload: &str,
        etags: &[String],
    ) -> Result<(), PortError> {
        self.trip("finish_parts", key)?;
        let mut list = lock(&self.parts)?
            .remove(upload)
            .ok_or_else(|| PortError::rejected("memory", "NoSuchUpload"))?
            .parts;
        list.sort_by_key(|(n, _)| *n);
        if list.len() != etags.len() {
            return Err(PortError::rejected(
                "memory",
                "InvalidPart: the parts named are not the parts uploaded",
            ));
        }
        // As S3: every part but the last is at least 5 MiB.
        if list.iter().rev().skip(1).any(|(_, b)| b.len() < 5 * 1024 * 1024) {
            return Err(PortError::rejected(
                "memory",
                "EntityTooSmall: a part other than the last is under 5 MiB",
            ));
        }
        let body: Vec<u8> = list.into_iter().flat_map(|(_, b)| b).collect();
        lock(&self.objects)?.insert((bucket.into(), key.into()), body);
        *lock(&self.object_puts)? += 1;
        *lock(&self.multipart_completed)? += 1;
        Ok(())
    }

    async fn abandon_parts(&self, _: &str, key: &str, upload: &str) -> Result<(), PortError> {
        self.trip("abandon_parts", key)?;
        lock(&self.parts)?.remove(upload);
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
