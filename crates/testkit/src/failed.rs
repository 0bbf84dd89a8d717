//! The on-failure destinations in memory.

use async_trait::async_trait;
use domain::ports::{FailedDeliveries, FailedDelivery, FailureSource};
use domain::PortError;
use std::sync::Mutex;

#[derive(Default)]
pub struct MemoryFailedDeliveries {
    pub messages: Mutex<Vec<FailedDelivery>>,
}

impl MemoryFailedDeliveries {
    /// A message as the destination would hold it.
    pub fn push(&self, source: FailureSource, body: impl Into<String>) {
        if let Ok(mut m) = self.messages.lock() {
            let receipt = format!("m{}", m.len() + 1);
            m.push(FailedDelivery {
                receipt,
                source,
                body: body.into(),
            });
        }
    }

    pub fn len(&self) -> usize {
        self.messages.lock().map(|m| m.len()).unwrap_or(0)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[async_trait]
impl FailedDeliveries for MemoryFailedDeliveries {
    async fn receive(&self, max: usize) -> Result<Vec<FailedDelivery>, PortError> {
        let m = self
            .messages
            .lock()
            .map_err(|e| PortError::rejected("memory", e))?;
        Ok(m.iter().take(max).cloned().collect())
    }

    async fn acknowledge(&self, delivery: &FailedDelivery) -> Result<(), PortError> {
        let mut m = self
            .messages
            .lock()
            .map_err(|e| PortError::rejected("memory", e))?;
        m.retain(|d| d.receipt != delivery.receipt);
        Ok(())
    }
}
