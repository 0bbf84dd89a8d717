//! Uploads: where they come from (the S3 key), what they are called (`upload_id`),
//! and how they end (`upload_history.status`).

use crate::text::{cut, for_storage};
use crate::vendor::{VendorId, VendorIdIssue};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// An object key of the form `uploads/{vendor_id}/{file_name}.csv`, decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UploadKey {
    /// The whole decoded key, as S3 knows it (control characters included).
    pub s3_key: String,
    pub vendor: VendorSegment,
    /// The key's last segment, `.csv` included, whatever its length.
    pub file_name: String,
}

/// The key's vendor segment: a vendor id, or a segment that cannot be one (which is
/// `UNKNOWN_VENDOR` without asking the vendor directory).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VendorSegment {
    Valid(VendorId),
    Invalid { segment: String, issue: VendorIdIssue },
}

/// Rows one upload may have: `upload_history`'s counters and `row_number` columns are
/// PostgreSQL `INTEGER`s. Past it, the file is `FILE_TOO_LARGE`.
pub const MAX_ROWS: u64 = i32::MAX as u64;

/// Characters of an invalid segment kept in `upload_history.vendor_id`.
const RECORDED_SEGMENT_CHARS: usize = 100;

impl VendorSegment {
    pub fn parse(segment: &str) -> VendorSegment {
        match VendorId::parse(segment) {
            Ok(id) => VendorSegment::Valid(id),
            Err(issue) => VendorSegment::Invalid {
                segment: segment.to_string(),
                issue,
            },
        }
    }

    /// What `upload_history.vendor_id`, `validation_errors.vendor_id`, the items'
    /// `vendor_id` and the report key carry: the vendor id; for a segment that cannot
    /// be one, the segment with control characters replaced (U+FFFD) and cut to 100
    /// characters (ending in `…`). Such a form is never a valid vendor id (too long,
    /// or a character outside the alphabet), so it can never name a real vendor's
    /// uploads or reports; the whole key stays in `s3_key`.
    pub fn recorded(&self) -> String {
        match self {
            VendorSegment::Valid(id) => id.as_str().to_string(),
            VendorSegment::Invalid { segment, .. } => {
                cut(&for_storage(segment), RECORDED_SEGMENT_CHARS).into_owned()
            }
        }
    }

    pub fn valid(&self) -> Option<&VendorId> {
        match self {
            VendorSegment::Valid(id) => Some(id),
            VendorSegment::Invalid { .. } => None,
        }
    }
}

/// Characters S3 leaves as they are in event keys (besides alphanumerics); a space
/// becomes `+`.
const S3_KEY_SAFE: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~')
    .remove(b'/')
    .remove(b'*');

/// Encodes a key as S3 does in event notifications (`+` for a space): the inverse of
/// [`decode_event_key`], for whoever emulates the notification.
pub fn encode_event_key(key: &str) -> String {
    key.split(' ')
        .map(|part| percent_encoding::utf8_percent_encode(part, S3_KEY_SAFE).to_string())
        .collect::<Vec<_>>()
        .join("+")
}

/// Keys arrive URL-encoded in S3 events, with `+` for a space.
pub fn decode_event_key(raw: &str) -> String {
    let spaced = raw.replace('+', " ");
    percent_encoding::percent_decode_str(&spaced)
        .decode_utf8_lossy()
        .into_owned()
}

impl UploadKey {
    /// `None` for anything that is not a vendor upload: other prefixes (our own
    /// `reports/`), other suffixes, folders, keys with an empty vendor segment or no
    /// file name. A non-empty vendor segment that cannot be a vendor id is still an
    /// upload ([`VendorSegment::Invalid`]): it gets its history row and its verdict.
    pub fn parse(decoded_key: &str) -> Option<UploadKey> {
        let rest = decoded_key.strip_prefix("uploads/")?;
        let (vendor, file_name) = rest.split_once('/')?;
        if vendor.is_empty() || file_name.contains('/') {
            return None;
        }
        let stem = file_name.strip_suffix(".csv")?;
        if stem.is_empty() {
            return None;
        }
        Some(UploadKey {
            s3_key: decoded_key.to_string(),
            vendor: VendorSegment::parse(vendor),
            file_name: file_name.to_string(),
        })
    }

    /// `upload_history.vendor_id` (see [`VendorSegment::recorded`]).
    pub fn vendor_id(&self) -> String {
        self.vendor.recorded()
    }

    /// `upload_history.file_name` as PostgreSQL stores it: whole, control characters
    /// replaced.
    pub fn stored_file_name(&self) -> String {
        for_storage(&self.file_name).into_owned()
    }

    /// `upload_history.s3_key` as PostgreSQL stores it: whole, control characters
    /// replaced (the object itself is read with [`UploadKey::s3_key`]).
    pub fn stored_s3_key(&self) -> String {
        for_storage(&self.s3_key).into_owned()
    }
}

/// `UPLOAD_{yyyymmddThhmmss}_{12 hex}`: the same PUT delivered twice gives the same id
/// (the hash covers bucket, key, the event's sequencer and the version id), two PUTs
/// of the same file give two ids (their sequencers differ).
pub fn upload_id(
    bucket: &str,
    key: &str,
    sequencer: &str,
    version_id: Option<&str>,
    event_time: DateTime<Utc>,
) -> String {
    let mut hash = Sha256::new();
    for part in [bucket, key, sequencer, version_id.unwrap_or("")] {
        hash.update((part.len() as u64).to_be_bytes());
        hash.update(part.as_bytes());
    }
    let digest = hex::encode(hash.finalize());
    format!("UPLOAD_{}_{}", event_time.format("%Y%m%dT%H%M%S"), &digest[..12])
}

/// One PUT of an object, as its S3 notification names it: what the parser reads, and
/// what the reconciler keeps (in `upload_history.metadata`) to resume a parse.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UploadEvent {
    pub bucket: String,
    /// The decoded key.
    pub key: String,
    pub sequencer: String,
    /// The version the event names (versioned bucket): the one to read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version_id: Option<String>,
    pub event_time: DateTime<Utc>,
}

impl UploadEvent {
    pub fn upload_id(&self) -> String {
        upload_id(
            &self.bucket,
            &self.key,
            &self.sequencer,
            self.version_id.as_deref(),
            self.event_time,
        )
    }
}

/// `upload_history.status`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UploadStatus {
    Processing,
    Completed,
    Partial,
    Failed,
}

impl UploadStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            UploadStatus::Processing => "processing",
            UploadStatus::Completed => "completed",
            UploadStatus::Partial => "partial",
            UploadStatus::Failed => "failed",
        }
    }

    pub fn parse(s: &str) -> Option<UploadStatus> {
        [
            UploadStatus::Processing,
            UploadStatus::Completed,
            UploadStatus::Partial,
            UploadStatus::Failed,
        ]
        .into_iter()
        .find(|status| status.as_str() == s)
    }

    pub fn is_final(self) -> bool {
        self != UploadStatus::Processing
    }

    /// The final status of an upload whose rows have all been decided.
    pub fn final_for(valid: i64, errors: i64) -> UploadStatus {
        match (valid, errors) {
            (_, 0) if valid > 0 => UploadStatus::Completed,
            (0, _) => UploadStatus::Failed,
            _ => UploadStatus::Partial,
        }
    }
}

/// `reports/{vendor_id}/{upload_id}.csv`.
pub fn report_key(vendor_id: &str, upload_id: &str) -> String {
    format!("reports/{vendor_id}/{upload_id}.csv")
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn the_stored_key_is_the_whole_key_with_control_characters_replaced() {
        let key = UploadKey::parse("uploads/VEND001/a\u{1}b.csv").unwrap_or_else(|| panic!("an upload"));
        assert_eq!(key.s3_key, "uploads/VEND001/a\u{1}b.csv");
        assert_eq!(key.stored_s3_key(), "uploads/VEND001/a\u{FFFD}b.csv");
        assert_eq!(key.stored_file_name(), "a\u{FFFD}b.csv");
    }

    #[test]
    fn an_events_upload_id_is_the_upload_id_of_its_parts() {
        let at = Utc
            .with_ymd_and_hms(2026, 11, 23, 10, 30, 45)
            .single()
            .unwrap_or_default();
        let event = UploadEvent {
            bucket: "b".into(),
            key: "uploads/VEND001/a.csv".into(),
            sequencer: "00A1".into(),
            version_id: Some("v1".into()),
            event_time: at,
        };
        assert_eq!(
            event.upload_id(),
            upload_id("b", "uploads/VEND001/a.csv", "00A1", Some("v1"), at)
        );
        assert!(event.upload_id().starts_with("UPLOAD_20261123T103045_"));
    }

    #[test]
    fn keys_are_url_decoded_with_plus_as_space() {
        assert_eq!(
            decode_event_key("uploads/VEND001/spring+sale%2B%C3%A9t%C3%A9.csv"),
            "uploads/VEND001/spring sale+été.csv"
        );
    }

    #[test]
    fn encoding_is_the_inverse_of_decoding() {
        for key in [
            "uploads/VEND001/spring sale+été.csv",
            "uploads/V/a%b&c=d (1).csv",
            "uploads/V/x.csv",
        ] {
            let encoded = encode_event_key(key);
            assert!(!encoded.contains(' '), "{encoded}");
            assert_eq!(decode_event_key(&encoded), key);
        }
        assert_eq!(encode_event_key("a b+c"), "a+b%2Bc");
    }

    #[test]
    fn only_vendor_csv_uploads_are_accepted() {
        let k = UploadKey::parse("uploads/VEND001/spring sale.csv").expect("valid key");
        assert_eq!(k.vendor_id(), "VEND001");
        assert!(k.vendor.valid().is_some());
        assert_eq!(k.file_name, "spring sale.csv");
        for other in [
            "reports/VEND001/x.csv",
            "uploads/VEND001/x.txt",
            "uploads/VEND001/",
            "uploads/VEND001/.csv",
            "uploads//x.csv",
            "uploads/x.csv",
            "uploads/VEND001/sub/x.csv",
            "uploads/VEND001/x.CSV",
        ] {
            assert_eq!(UploadKey::parse(other), None, "{other}");
        }
    }

    #[test]
    fn a_segment_that_cannot_be_a_vendor_id_is_still_an_upload() {
        let long = "V".repeat(60);
        let k = UploadKey::parse(&format!("uploads/{long}/x.csv")).expect("an upload");
        assert_eq!(k.vendor.valid(), None);
        assert_eq!(k.vendor_id(), long, "60 characters are recorded whole");
        let k = UploadKey::parse("uploads/ VEND001/x.csv").expect("an upload");
        assert!(matches!(
            k.vendor,
            VendorSegment::Invalid {
                issue: VendorIdIssue::BadCharacter(' '),
                ..
            }
        ));
        let k = UploadKey::parse("uploads/V\u{0}\u{1}/x.csv").expect("an upload");
        assert_eq!(k.vendor_id(), "V\u{FFFD}\u{FFFD}");
        let huge = "é".repeat(400);
        let recorded = UploadKey::parse(&format!("uploads/{huge}/x.csv"))
            .expect("an upload")
            .vendor_id();
        assert_eq!(recorded.chars().count(), 101);
        assert!(recorded.ends_with('…'));
        assert!(VendorId::parse(&recorded).is_err(), "never a vendor id");
    }

    #[test]
    fn file_names_of_any_length_are_kept_whole_and_stored_without_control_characters() {
        let name = format!("{}\u{0}.csv", "n".repeat(1000));
        let k = UploadKey::parse(&format!("uploads/VEND001/{name}")).expect("an upload");
        assert_eq!(k.file_name, name);
        assert_eq!(k.stored_file_name().chars().count(), 1005);
        assert!(!k.stored_file_name().contains('\0'));
        assert!(!k.stored_s3_key().contains('\0'));
        assert!(k.s3_key.contains('\0'), "the object is read by its real key");
    }

    #[test]
    fn upload_ids_are_deterministic_per_put() {
        let t = Utc
            .with_ymd_and_hms(2026, 11, 23, 10, 30, 45)
            .single()
            .expect("time");
        let a = upload_id("b", "uploads/V/x.csv", "0055AED6DCD90281E5", None, t);
        let again = upload_id("b", "uploads/V/x.csv", "0055AED6DCD90281E5", None, t);
        let other_put = upload_id("b", "uploads/V/x.csv", "0055AED6DCD90281E6", None, t);
        let other_version = upload_id("b", "uploads/V/x.csv", "0055AED6DCD90281E5", Some("v2"), t);
        assert_eq!(a, again);
        assert_ne!(a, other_put);
        assert_ne!(a, other_version);
        assert!(a.starts_with("UPLOAD_20261123T103045_"), "{a}");
        assert_eq!(a.len(), "UPLOAD_20261123T103045_".len() + 12);
    }

    mod laws {
        use super::*;
        use crate::proptest_cases as cases;
        use proptest::prelude::*;

        /// Short strings over few characters, so that near-collisions are likely: one part
        /// the prefix of another, a part ending where the next begins.
        fn part() -> impl Strategy<Value = String> {
            "[ab/_.]{0,4}"
        }

        fn put() -> impl Strategy<Value = (String, String, String, Option<String>)> {
            (part(), part(), part(), prop::option::of("[ab]{1,3}"))
        }

        fn id_of(
            (bucket, key, sequencer, version): &(String, String, String, Option<String>),
            at: DateTime<Utc>,
        ) -> String {
            upload_id(bucket, key, sequencer, version.as_deref(), at)
        }

        proptest! {
            #![proptest_config(ProptestConfig { cases: cases(1024), ..ProptestConfig::default() })]

            /// `upload_id` is a function of (bucket, key, sequencer, version) alone, apart
            /// from the event time's second in its readable prefix: the same PUT is one
            /// upload however often it is delivered, two PUTs are two uploads.
            #[test]
            fn the_upload_id_is_a_pure_function_of_the_put(a in put(), b in put(), secs in 0i64..4_000_000_000, later in 0i64..100_000) {
                let at = DateTime::from_timestamp(secs, 0).unwrap_or_default();
                let redelivered_at = at + chrono::Duration::milliseconds(later % 1000);
                let id = id_of(&a, at);
                prop_assert_eq!(&id, &id_of(&a.clone(), at));
                prop_assert_eq!(&id, &id_of(&a, redelivered_at), "the same second, the same id");
                let prefix = format!("UPLOAD_{}_", at.format("%Y%m%dT%H%M%S"));
                prop_assert!(id.starts_with(&prefix), "{} / {}", id, prefix);
                let hash = &id["UPLOAD_yyyymmddThhmmss_".len()..];
                prop_assert_eq!(hash.len(), 12);
                prop_assert!(hash.chars().all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase()));
                // The hash covers every part, each delimited: any difference is another id.
                prop_assert_eq!(a == b, id == id_of(&b, at), "{:?} / {:?}", a, b);
                // ... and the time covers none of the hash.
                let other_time = DateTime::from_timestamp(secs + later + 1, 0).unwrap_or_default();
                prop_assert_eq!(hash, &id_of(&a, other_time)["UPLOAD_yyyymmddThhmmss_".len()..]);
            }
        }

        #[test]
        fn parts_are_delimited_so_moving_a_boundary_changes_the_id() {
            let at = DateTime::from_timestamp(0, 0).unwrap_or_default();
            let ab_c = upload_id("ab", "c", "s", None, at);
            assert_ne!(ab_c, upload_id("a", "bc", "s", None, at));
            assert_ne!(
                upload_id("b", "k", "s1", None, at),
                upload_id("b", "k", "s", Some("1"), at)
            );
        }
    }

    #[test]
    fn final_status_follows_the_counts() {
        assert_eq!(UploadStatus::final_for(3, 0), UploadStatus::Completed);
        assert_eq!(UploadStatus::final_for(3, 1), UploadStatus::Partial);
        assert_eq!(UploadStatus::final_for(0, 4), UploadStatus::Failed);
        assert_eq!(UploadStatus::final_for(0, 0), UploadStatus::Failed);
    }
}
