//! Writing a report of any size with bounded memory: lines are read a page at a time
//! from the ledger, rendered into a buffer, and the buffer goes to S3 a part at a time
//! (a multipart upload) once it holds a part; a report smaller than one part is a single
//! PUT. Memory holds one page and one part, never the report.

use crate::error::PortError;
use crate::ports::{ObjectStore, UploadCompletion};
use crate::report::ReportWriter;

/// S3's minimum part size is 5 MiB (all but the last part); 8 MiB keeps a margin.
pub const PART_BYTES: usize = 8 * 1024 * 1024;
/// Report lines read per page.
pub const PAGE_LINES: usize = 1_000;
pub const CONTENT_TYPE: &str = "text/csv; charset=utf-8";

fn render_error(e: csv::Error) -> PortError {
    PortError::rejected("report", format!("cannot render the report: {e}"))
}

/// Renders the upload's report at `key`: `columns` the normalised header (the rows'
/// cells are keyed by it), `names` the header as written (the report's header, as
/// [`ReportWriter::named`] takes them). Deterministic bytes: two racing finalisers
/// write the same object.
pub async fn write_report(
    ledger: &(impl UploadCompletion + ?Sized),
    objects: &(impl ObjectStore + ?Sized),
    bucket: &str,
    key: &str,
    upload_id: &str,
    columns: &[String],
    names: &[String],
) -> Result<(), PortError> {
    let mut writer = ReportWriter::named(columns, names).map_err(render_error)?;
    let mut parts = Parts::new(objects, bucket, key);
    let mut after = None;
    loop {
        let page = ledger.report_page(upload_id, after, PAGE_LINES).await?;
        for (_, line) in &page {
            writer.line(line).map_err(render_error)?;
        }
        if writer.buffered().map_err(render_error)? >= PART_BYTES {
            parts.push(writer.take().map_err(render_error)?).await?;
        }
        match page.last() {
            Some((cursor, _)) if page.len() == PAGE_LINES => after = Some(*cursor),
            _ => break,
        }
    }
    parts.finish(writer.take().map_err(render_error)?).await
}

/// A multipart upload started only when the report outgrows one part.
struct Parts<'a, O: ?Sized> {
    objects: &'a O,
    bucket: &'a str,
    key: &'a str,
    upload: Option<String>,
    etags: Vec<String>,
}

impl<'a, O: ObjectStore + ?Sized> Parts<'a, O> {
    fn new(objects: &'a O, bucket: &'a str, key: &'a str) -> Self {
        Parts {
            objects,
            bucket,
            key,
            upload: None,
            etags: Vec::new(),
        }
    }

    async fn push(&mut self, body: Vec<u8>) -> Result<(), PortError> {
        let upload = match &self.upload {
            Some(u) => u.clone(),
            None => {
                let u = self
                    .objects
                    .start_parts(self.bucket, self.key, CONTENT_TYPE)
                    .await?;
                self.upload = Some(u.clone());
                u
            }
        };
        let number = i32::try_from(self.etags.len() + 1)
            .map_err(|_| PortError::rejected("report", "a report of more parts than S3 allows"))?;
        match self
            .objects
            .put_part(self.bucket, self.key, &upload, number, body)
            .await
        {
            Ok(etag) => {
                self.etags.push(etag);
                Ok(())
            }
            Err(e) => Err(self.abandon(&upload, e).await),
        }
    }

    async fn finish(mut self, last: Vec<u8>) -> Result<(), PortError> {
        if self.upload.is_none() {
            return self.objects.put(self.bucket, self.key, last, CONTENT_TYPE).await;
        }
        if !last.is_empty() {
            self.push(last).await?;
        }
        let upload = self.upload.clone().unwrap_or_default();
        match self
            .objects
            .finish_parts(self.bucket, self.key, &upload, &self.etags)
            .await
        {
            Ok(()) => Ok(()),
            Err(e) => Err(self.abandon(&upload, e).await),
        }
    }

    /// Best effort: an abandoned upload also expires by the bucket's lifecycle rule.
    async fn abandon(&self, upload: &str, cause: PortError) -> PortError {
        if let Err(e) = self.objects.abandon_parts(self.bucket, self.key, upload).await {
            tracing::warn!(error = %e, "could not abandon the report's multipart upload");
        }
        cause
    }
}
