//! The Warranty table in memory.

use async_trait::async_trait;
use domain::tools::warranty::{SerialNumber, WarrantyLookup, WarrantyRecord};
use domain::PortError;

/// Warranties in memory, for unit tests.
#[derive(Default)]
pub struct InMemoryWarranties(pub Vec<WarrantyRecord>);

#[async_trait]
impl WarrantyLookup for InMemoryWarranties {
    async fn warranty(&self, serial: &SerialNumber) -> Result<Option<WarrantyRecord>, PortError> {
        Ok(self
            .0
            .iter()
            .find(|w| w.serial_number == serial.as_str())
            .cloned())
    }
}
