//! The function side of an event source mapping: a handler and its settings.

use super::settings::EsmSettings;
use async_trait::async_trait;
use aws_lambda_events::event::dynamodb::Event;
use aws_lambda_events::event::streams::DynamoDbEventResponse;
use std::collections::HashMap;
use std::sync::Arc;

/// A function behind an event source mapping: the stream handler, called in-process.
#[async_trait]
pub trait BatchHandler: Send + Sync {
    async fn handle(&self, event: Event) -> Result<DynamoDbEventResponse, lambda_runtime::Error>;
}

/// A [`BatchHandler`] from an async closure, e.g.
/// `handler_fn(move |event| { let ports = ports.clone(); async move { handle(event, &ports).await } })`.
pub fn handler_fn<F, Fut>(f: F) -> Arc<dyn BatchHandler>
where
    F: Fn(Event) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = Result<DynamoDbEventResponse, lambda_runtime::Error>> + Send + 'static,
{
    Arc::new(FnHandler(f))
}

struct FnHandler<F>(F);

#[async_trait]
impl<F, Fut> BatchHandler for FnHandler<F>
where
    F: Fn(Event) -> Fut + Send + Sync,
    Fut: std::future::Future<Output = Result<DynamoDbEventResponse, lambda_runtime::Error>> + Send,
{
    async fn handle(&self, event: Event) -> Result<DynamoDbEventResponse, lambda_runtime::Error> {
        (self.0)(event).await
    }
}

/// An extra restriction on the records a drain delivers (e.g. only one upload's
/// items), shown each record as the JSON Lambda sends, like the mapping's filters.
pub type RecordFilter = Arc<dyn Fn(&serde_json::Value) -> bool + Send + Sync>;

/// One event source mapping: a function, its settings, and how far it has got.
pub struct Consumer {
    pub(super) name: String,
    pub(super) settings: EsmSettings,
    pub(super) handler: Arc<dyn BatchHandler>,
    /// Shard id → sequence number of the last record this consumer is done with
    /// (delivered successfully, filtered out, or sent to the on-failure log).
    pub(super) checkpoints: HashMap<String, String>,
}

impl Consumer {
    pub fn new(name: impl Into<String>, settings: EsmSettings, handler: Arc<dyn BatchHandler>) -> Self {
        Self {
            name: name.into(),
            settings,
            handler,
            checkpoints: HashMap::new(),
        }
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn settings(&self) -> &EsmSettings {
        &self.settings
    }

    /// The last sequence number this consumer is done with on `shard_id`, as of the
    /// end of the last drain.
    pub fn checkpoint(&self, shard_id: &str) -> Option<&str> {
        self.checkpoints.get(shard_id).map(String::as_str)
    }
}
