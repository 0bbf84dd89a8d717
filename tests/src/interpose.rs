//! The real `UploadRecords` adapter with a fault put at a chosen write: the nth
//! `put_all` fails, or waits at a [`Gate`] (a parse paused, or crashed when the test
//! drops it there), or one row's item is written as a poison item the stream consumers
//! cannot decode. Everything else goes to the real table.

use async_trait::async_trait;
use aws_sdk_dynamodb::types::AttributeValue;
use domain::model::{RecordStatus, UploadRecord, WriteItem};
use domain::ports::{ItemPage, RecordStore, StoredItem};
use domain::PortError;
use std::collections::{HashMap, HashSet};
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
}

pub struct Interposed<R> {
    inner: R,
    at: At,
    calls: AtomicUsize,
    pub gate: Arc<Gate>,
}

impl<R> Interposed<R> {
    pub fn new(inner: R, at: At) -> Self {
        Interposed {
            inner,
            at,
            calls: AtomicUsize::new(0),
            gate: Arc::default(),
        }
    }
}

#[async_trait]
impl<R: RecordStore> RecordStore for Interposed<R> {
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

/// The parser's writes, except that row `row`'s item is put straight to the table with a
/// `product_data` that is not a map of strings (an INSERT, status `pending_validation`),
/// before the rest of its chunk.
pub struct PoisonRow<R> {
    pub inner: R,
    pub client: aws_sdk_dynamodb::Client,
    pub table: String,
    pub row: u64,
}

/// The `product_data` of a poison item.
pub const POISON: &str = "not a map of strings";

#[async_trait]
impl<R: RecordStore> RecordStore for PoisonRow<R> {
    async fn put_new<T: WriteItem>(&self, records: &[T]) -> Result<(), PortError> {
        self.inner.put_new(records).await
    }

    async fn put_all<T: WriteItem>(&self, records: &[T]) -> Result<(), PortError> {
        let records: Vec<UploadRecord> = records.iter().map(WriteItem::to_record).collect();
        let Some(item) = records.iter().find(|r| r.row_number == self.row) else {
            return self.inner.put_all(&records).await;
        };
        let mut raw: HashMap<String, AttributeValue> =
            serde_dynamo::to_item(item).map_err(|e| PortError::rejected("DynamoDB", e))?;
        raw.insert("product_data".into(), AttributeValue::S(POISON.into()));
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(raw))
            .send()
            .await
            .map_err(|e| adapters::classify::from_sdk("DynamoDB", e))?;
        let rest: Vec<UploadRecord> = records
            .iter()
            .filter(|r| r.row_number != self.row)
            .cloned()
            .collect();
        self.inner.put_all(&rest).await
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
