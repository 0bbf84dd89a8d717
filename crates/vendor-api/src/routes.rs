//! The five routes. Each reads only the vendor's own rows: the vendor is an argument
//! of every query, not a check made afterwards.

use crate::{body_json, json, Answer, Failure, VendorApi};
use domain::ports::{ErrorPosition, UploadHistory, UploadPosition, UploadView, UrlSigner};
use domain::vendor_api::{
    error_json, errors_binding, upload_json, uploads_binding, ApiError, ErrorsQuery, NewUpload, UploadsQuery,
    ERRORS_TOKEN_PURPOSE, GET_URL_LIFETIME, PUT_URL_LIFETIME, UPLOADS_TOKEN_PURPOSE, UPLOAD_CONTENT_TYPE,
};
use domain::PortError;
use lambda_http::{Body, Response};
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::{json, Map, Value};

pub const CREATE_UPLOAD: &str = "POST /uploads";
pub const LIST_UPLOADS: &str = "GET /uploads";
pub const GET_UPLOAD: &str = "GET /uploads/{upload_id}";
pub const LIST_ERRORS: &str = "GET /uploads/{upload_id}/errors";
pub const GET_REPORT: &str = "GET /uploads/{upload_id}/report";

/// Every route of the API, as the template declares them.
pub const ALL: [&str; 5] = [CREATE_UPLOAD, LIST_UPLOADS, GET_UPLOAD, LIST_ERRORS, GET_REPORT];

impl<H: UploadHistory, S: UrlSigner> VendorApi<'_, H, S> {
    /// `POST /uploads`: a presigned PUT of exactly `content_length` bytes of CSV at
    /// `uploads/{vendor}/{file_name}`, valid 15 minutes.
    pub(crate) async fn create_upload(&self, vendor: &str, body: &Body) -> Answer {
        let upload = NewUpload::parse(body_json(body).as_ref(), self.settings.max_upload_bytes)?;
        let key = upload.key(vendor);
        let presigned = self
            .urls
            .presign_put(
                &self.settings.bucket,
                &key,
                upload.content_length,
                UPLOAD_CONTENT_TYPE,
                PUT_URL_LIFETIME,
            )
            .await?;
        let expires_at = chrono::Utc::now()
            + chrono::Duration::from_std(PUT_URL_LIFETIME).unwrap_or_else(|_| chrono::Duration::minutes(15));
        let headers: Map<String, Value> = presigned
            .headers
            .iter()
            .map(|(k, v)| (k.clone(), Value::String(v.clone())))
            .collect();
        tracing::info!(content_length = upload.content_length, "upload URL issued");
        Ok(json(
            201,
            &json!({
                "upload_url": presigned.url,
                "method": presigned.method,
                "headers": headers,
                "key": key,
                "expires_at": expires_at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            }),
        ))
    }

    /// `GET /uploads`: newest first; one more row than asked tells whether a next page
    /// exists, so `next_token` is null exactly on the last page.
    pub(crate) async fn list_uploads<'q>(
        &self,
        vendor: &str,
        param: impl Fn(&str) -> Option<&'q str>,
    ) -> Answer {
        let query = UploadsQuery::parse(param)?;
        let filter = query.filter(vendor);
        let binding = uploads_binding(&filter);
        let after: Option<UploadPosition> =
            self.resume(UPLOADS_TOKEN_PURPOSE, &binding, &query.next_token)?;
        let limit = query.limit as usize;
        let mut uploads = self
            .history
            .list_uploads(&filter, after.as_ref(), limit + 1)
            .await?;
        let next_token = self.next_token(UPLOADS_TOKEN_PURPOSE, &binding, &mut uploads, limit, |u| {
            u.position()
        })?;
        Ok(json(
            200,
            &json!({
                "uploads": uploads.iter().map(upload_json).collect::<Vec<_>>(),
                "next_token": next_token,
            }),
        ))
    }

    /// Where a listing resumes: after the position its `next_token` seals, which must
    /// have been sealed for this purpose and binding (vendor and filters).
    fn resume<P: DeserializeOwned>(
        &self,
        purpose: &str,
        binding: &str,
        token: &Option<String>,
    ) -> Result<Option<P>, Failure> {
        match token {
            None => Ok(None),
            Some(token) => Ok(Some(
                self.cursors
                    .open(purpose, binding, token)?
                    .ok_or_else(ApiError::invalid_next_token)?,
            )),
        }
    }

    /// A page was read with one row more than `limit`: when that row came, the page is
    /// cut to `limit` and the token resumes after its last row; null on the last page.
    fn next_token<T, P: Serialize>(
        &self,
        purpose: &str,
        binding: &str,
        rows: &mut Vec<T>,
        limit: usize,
        position: impl Fn(&T) -> P,
    ) -> Result<Option<String>, PortError> {
        if rows.len() <= limit {
            return Ok(None);
        }
        rows.truncate(limit);
        rows.last()
            .map(|last| self.cursors.seal(purpose, binding, &position(last)))
            .transpose()
    }

    /// The vendor's upload; a missing one and another vendor's are the same 404.
    async fn own_upload(&self, vendor: &str, upload_id: &str) -> Result<UploadView, Failure> {
        // No stored id holds a NUL (PostgreSQL's text cannot): such an id names no upload,
        // and asking the catalog would turn the caller's typo into a fault.
        if upload_id.contains('\0') {
            return Err(ApiError::no_such_upload(upload_id).into());
        }
        Ok(self
            .history
            .get_upload(vendor, upload_id)
            .await?
            .ok_or_else(|| ApiError::no_such_upload(upload_id))?)
    }

    /// `GET /uploads/{upload_id}`.
    pub(crate) async fn get_upload(&self, vendor: &str, upload_id: &str) -> Answer {
        Ok(json(
            200,
            &upload_json(&self.own_upload(vendor, upload_id).await?),
        ))
    }

    /// `GET /uploads/{upload_id}/errors`: row order, paged like the listing.
    pub(crate) async fn list_errors<'q>(
        &self,
        vendor: &str,
        upload_id: &str,
        param: impl Fn(&str) -> Option<&'q str>,
    ) -> Answer {
        let query = ErrorsQuery::parse(param)?;
        self.own_upload(vendor, upload_id).await?;
        let binding = errors_binding(vendor, upload_id);
        let after: Option<ErrorPosition> = self.resume(ERRORS_TOKEN_PURPOSE, &binding, &query.next_token)?;
        let limit = query.limit as usize;
        let mut errors = self
            .history
            .list_errors(vendor, upload_id, after.as_ref(), limit + 1)
            .await?;
        let next_token = self.next_token(ERRORS_TOKEN_PURPOSE, &binding, &mut errors, limit, |(p, _)| *p)?;
        Ok(json(
            200,
            &json!({
                "errors": errors.iter().map(|(_, e)| error_json(e)).collect::<Vec<_>>(),
                "next_token": next_token,
            }),
        ))
    }

    /// `GET /uploads/{upload_id}/report`: 302 to a presigned GET made now, valid 5
    /// minutes (a link in an e-mail stays valid because it points here, not at S3).
    pub(crate) async fn report(&self, vendor: &str, upload_id: &str) -> Answer {
        let upload = self.own_upload(vendor, upload_id).await?;
        let Some(key) = upload.error_file_s3_key else {
            return Err(ApiError::not_found(format!(
                "upload {upload_id:?} has no error report: it is {} with {} error rows",
                upload.status.as_str(),
                upload.error_records
            ))
            .into());
        };
        // Only ever the vendor's own report prefix, whatever the row says.
        if !key.starts_with(&format!("reports/{vendor}/")) {
            return Err(PortError::rejected(
                "upload_history",
                format!("report key {key:?} outside the vendor's prefix"),
            )
            .into());
        }
        let presigned = self
            .urls
            .presign_get(&self.settings.bucket, &key, GET_URL_LIFETIME)
            .await?;
        let body = json!({ "report_url": presigned.url });
        Ok(Response::builder()
            .status(302)
            .header("location", presigned.url.as_str())
            .header("content-type", "application/json")
            .body(Body::Text(body.to_string()))
            .unwrap_or_else(|_| json(302, &body)))
    }
}
