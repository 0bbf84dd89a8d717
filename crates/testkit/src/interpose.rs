//! A record store with a fault put at a chosen write: the nth `put_all` fails, or
//! waits at a [`Gate`] (a parse paused, or crashed when the test drops it there), or
//! it and every later one wait there (a table that does not answer).
//! Everything else goes to the store it borrows (the in-memory fake, or the real
//! `UploadRecords` adapter in the end-to-end tests).

use async_trait::async_trait;
use domain::model::{RecordStatus, WriteItem};
use domain::ports::{ItemPage, RecordStore, StoredItem};
use domain::PortError;
use std::collections::HashSet;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use tokio::sync::watch;

/// Where a paused writer waits, and how the test knows it got there.
pub struct Gate {
    reached: watch::Sender<bool>,
    open: watch::Sender<bool>,
}

impl Default for Gate {
    fn default() -> Self {
        Gate {
            reached: watch::channel(false).0,
            open: watch::channel(false).0,
        }
    }
}

impl Gate {
    /// Resolves once a writer waits at the gate.
    pub async fn reached(&self) {
        let _ = self.reached.subscribe().wait_for(|r| *r).await;
    }

    /// Lets every waiting (and later) writer through.
    pub fn open(&self) {
        self.open.send_replace(true);
    }

    async fn wait(&self) {
        self.reached.send_replace(true);
        let _ = self.open.subscribe().wait_for(|o| *o).await;
    }
}

/// What happens at the chosen `put_all` call (0-based).
#[derive(Debug, Clone, Copy)]
pub enum At {
    /// It fails, as DynamoDB unavailable, and writes nothing.
    Fail(usize),
    /// It waits at the gate, then writes.
    Pause(usize),
    /// It and every later call wait at the gate, then write.
    PauseFrom(usize),
}

/// A store's `put_all` with a fault at the call(s) `At` names; everything else goes to
/// the store.
pub struct Interposed<'a, R> {
    inner: &'a R,
    at: At,
    calls: AtomicUsize,
    pub gate: Arc<Gate>,
}

impl<'a, R> Interposed<'a, R> {
    pub fn new(inner: &'a R, at: At) -> Self {
        Interposed {
            inner,
            at,
            calls: AtomicUsize::new(0),
            gate: Arc::default(),
        }
    }

    /// The `put_all` calls made so far, the held one included.
    pub fn calls(&self) -> usize {
        self.calls.load(Ordering::SeqCst)
    }
}

#[async_trait]
impl<R: RecordStore> RecordStore for Interposed<'_, R> {
    async fn put_new<T: WriteItem>(&self, records: &[T]) -> Result<(), PortError> {
        self.inner.put_new(records).await
    }

    async fn put_all<T: WriteItem>(&self, records: &[T]) -> Result<(), PortError> {
        let n = self.calls.fetch_add(1, Ordering::SeqCst);
        match self.at {
            At::Fail(k) if k == n => {
                return Err(PortError::unavailable(
                    "DynamoDB",
                    "injected: the write did not happen",
                ))
            }
            At::Pause(k) if k == n => self.gate.wait().await,
            At::PauseFrom(k) if k <= n => self.gate.wait().await,
            _ => {}
        }
        self.inner.put_all(records).await
    }

    async fn page_by_status(
        &self,
        upload_id: &str,
        status: RecordStatus,
        start_after: Option<&str>,
        limit: usize,
    ) -> Result<ItemPage, PortError> {
        self.inner
            .page_by_status(upload_id, status, start_after, limit)
            .await
    }

    async fn existing(&self, upload_id: &str, record_ids: &[String]) -> Result<HashSet<String>, PortError> {
        self.inner.existing(upload_id, record_ids).await
    }

    async fn items(&self, upload_id: &str, record_ids: &[String]) -> Result<Vec<StoredItem>, PortError> {
        self.inner.items(upload_id, record_ids).await
    }
}
