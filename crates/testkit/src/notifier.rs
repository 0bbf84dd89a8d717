//! The upload-finished topic in memory: every published message, in order, with
//! transient faults on demand.

use async_trait::async_trait;
use domain::ports::{Notification, UploadNotifier};
use domain::PortError;
use serde_json::Value;
use std::sync::Mutex;

#[derive(Default)]
pub struct InMemoryNotifier {
    pub published: Mutex<Vec<Notification>>,
    failures: Mutex<usize>,
}

impl InMemoryNotifier {
    /// The next `times` publishes fail transiently (SNS throttling, say).
    pub fn fail(&self, times: usize) {
        *self.failures.lock().unwrap_or_else(|e| e.into_inner()) += times;
    }

    /// Every published message of the upload.
    pub fn of(&self, upload_id: &str) -> Vec<Notification> {
        let Ok(published) = self.published.lock() else {
            return Vec::new();
        };
        published
            .iter()
            .filter(|n| n.upload_id == upload_id)
            .cloned()
            .collect()
    }

    /// The `default` JSON of every message published for the upload.
    pub fn defaults(&self, upload_id: &str) -> Vec<Value> {
        self.of(upload_id)
            .iter()
            .filter_map(|n| {
                let structure: Value = serde_json::from_str(&n.message).ok()?;
                serde_json::from_str(structure.get("default")?.as_str()?).ok()
            })
            .collect()
    }

    pub fn count(&self) -> usize {
        self.published.lock().map(|p| p.len()).unwrap_or(0)
    }
}

#[async_trait]
impl UploadNotifier for InMemoryNotifier {
    async fn publish(&self, notification: &Notification) -> Result<String, PortError> {
        {
            let mut failures = self
                .failures
                .lock()
                .map_err(|e| PortError::rejected("memory", e))?;
            if *failures > 0 {
                *failures -= 1;
                return Err(PortError::unavailable("memory SNS", "injected fault"));
            }
        }
        let mut published = self
            .published
            .lock()
            .map_err(|e| PortError::rejected("memory", e))?;
        published.push(notification.clone());
        Ok(format!("msg-{}", published.len()))
    }
}
