//! Ports: the narrow traits the handlers are generic over, one per thing a handler
//! needs from the outside world. The `adapters` crate implements them on S3, DynamoDB
//! and PostgreSQL; the `testkit` crate implements each once in memory for unit tests.
//!
//! | port | used by |
//! |---|---|
//! | [`ObjectStore`] | csv-parser (read the upload), the finaliser (write the report) |
//! | [`RecordStore`] | csv-parser (write items), stream-validator (mark them) |
//! | [`VendorDirectory`] | csv-parser (may this vendor upload?) |
//! | [`UploadIntake`] | csv-parser (claims, the history row, file-level failures) |
//! | [`CatalogStore`] | stream-validator (context of a batch, verdicts, upserts) |
//! | [`ErrorLedger`] | error-processor (error rows, counted once) |
//! | [`UploadCompletion`] | the finaliser, whoever calls it |
//! | [`Reconciliation`] | upload-reconciler (stuck uploads, attempts per row) |
//! | [`FailedDeliveries`] | upload-reconciler (the on-failure destinations) |
//! | [`NotificationOutbox`], [`UploadNotifier`] | whoever finalises (`crate::notify`), the reconciler |
//! | [`UploadHistory`], [`UrlSigner`] | vendor-api (one vendor's uploads, presigned URLs) |

mod catalog;
mod failed;
mod ledger;
mod notifications;
mod objects;
mod records;
mod vendor_uploads;

pub use catalog::{BatchContext, CatalogStore, Committed, StoredVerdict, Verdict};
pub use failed::{FailedDeliveries, FailedDelivery, FailureSource};
pub use ledger::{
    Claim, ErrorLedger, ErrorRow, FileFailure, Reconciliation, ReportCursor, StartOutcome, UploadCompletion,
    UploadIntake, UploadStart, UploadState, VendorDirectory,
};
pub use notifications::{FinishedUpload, Notification, NotificationOutbox, UploadNotifier};
pub use objects::{ObjectInfo, ObjectReader, ObjectStore};
pub use records::{ItemPage, RecordStore, StoredItem};
pub use vendor_uploads::{
    ErrorPosition, ErrorView, PresignedRequest, UploadFilter, UploadHistory, UploadPosition, UploadView,
    UrlSigner,
};
