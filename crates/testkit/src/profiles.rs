//! The CustomerProfile table in memory.

use async_trait::async_trait;
use domain::tools::profile::{
    CustomerId, CustomerProfile, Email, ProfileStore, ProfileUpdate, ProfilesByEmail,
};
use domain::PortError;

/// Profiles in memory, for unit tests.
#[derive(Default)]
pub struct InMemoryProfiles {
    pub profiles: std::sync::Mutex<Vec<CustomerProfile>>,
}

impl InMemoryProfiles {
    pub fn new(profiles: Vec<CustomerProfile>) -> Self {
        InMemoryProfiles {
            profiles: std::sync::Mutex::new(profiles),
        }
    }

    fn all(&self) -> Vec<CustomerProfile> {
        self.profiles.lock().map(|g| g.clone()).unwrap_or_default()
    }
}

#[async_trait]
impl ProfilesByEmail for InMemoryProfiles {
    async fn profiles_by_email(&self, email: &Email) -> Result<Vec<CustomerProfile>, PortError> {
        Ok(self
            .all()
            .into_iter()
            .filter(|p| p.email.as_deref() == Some(email.as_str()))
            .collect())
    }
}

#[async_trait]
impl ProfileStore for InMemoryProfiles {
    async fn profile(&self, id: &CustomerId) -> Result<Option<CustomerProfile>, PortError> {
        Ok(self.all().into_iter().find(|p| p.customer_id == id.as_str()))
    }

    async fn update_profile(
        &self,
        id: &CustomerId,
        update: &ProfileUpdate,
    ) -> Result<Option<CustomerProfile>, PortError> {
        let mut guard = self
            .profiles
            .lock()
            .map_err(|_| PortError::unavailable("in-memory profiles", "poisoned"))?;
        let Some(p) = guard.iter_mut().find(|p| p.customer_id == id.as_str()) else {
            return Ok(None);
        };
        if let Some(v) = &update.phone {
            p.phone = Some(v.clone());
        }
        if let Some(v) = &update.address {
            p.address = Some(v.clone());
        }
        if let Some(v) = &update.communication_preferences {
            p.communication_preferences = Some(v.clone());
        }
        if let Some(v) = &update.notes {
            p.notes = Some(v.clone());
        }
        Ok(Some(p.clone()))
    }
}
