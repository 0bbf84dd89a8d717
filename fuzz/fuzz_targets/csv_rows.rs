//! Any bytes as a vendor's CSV: the reader and the row rules must give every input a
//! coded verdict without panicking, with bounded buffers and items that fit DynamoDB,
//! and a parsed row's lean item (`RowItem`) must be the record it stands for.
//! The first input byte picks the read size (records straddle reads).

#![no_main]

use domain::codes::ErrorCode;
use domain::csv_input::{CsvRows, HeaderOutcome, RowOutcome, MAX_BUFFER_BYTES};
use domain::model::{item_size, ItemStamp, RecordStatus, RowItem, UploadRecord, ITEM_LIMIT_BYTES};
use domain::ports::ErrorRow;
use domain::text::is_forbidden;
use domain::validation::{validate_row, CategorySet, DuplicateFacts};
use libfuzzer_sys::fuzz_target;
use std::pin::Pin;
use std::task::{Context, Poll};
use tokio::io::{AsyncRead, ReadBuf};

struct Chunked<'a> {
    data: &'a [u8],
    size: usize,
}

impl AsyncRead for Chunked<'_> {
    fn poll_read(mut self: Pin<&mut Self>, _: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<std::io::Result<()>> {
        let n = self.size.min(buf.remaining()).min(self.data.len());
        let (head, tail) = self.data.split_at(n);
        buf.put_slice(head);
        self.data = tail;
        Poll::Ready(Ok(()))
    }
}

thread_local! {
    static RUNTIME: tokio::runtime::Runtime =
        tokio::runtime::Builder::new_current_thread().build().expect("a runtime");
}

fuzz_target!(|input: &[u8]| {
    let Some((&first, data)) = input.split_first() else { return };
    let size = 1 + usize::from(first) * 64;
    RUNTIME.with(|rt| rt.block_on(run(data, size)));
});

async fn run(data: &[u8], size: usize) {
    let outcome = CsvRows::open(Chunked { data, size }).await.expect("a slice never fails");
    let HeaderOutcome::Ready(header, mut rows) = outcome else { return };
    let categories = CategorySet::new(["Electronics", "Books"]);
    let stamp = std::sync::Arc::new(ItemStamp {
        upload_id: "UPLOAD_20261123T103045_0123456789ab".into(),
        vendor_id: "VEND001".into(),
        file_name: "fuzz.csv".into(),
        created_at: "2026-11-23T10:30:45.000Z".into(),
        ttl: 1_798_021_845,
    });
    let mut expected = 1;
    while let Some(row) = rows.next_row().await.expect("a slice never fails") {
        assert!(rows.buffer_bytes() <= MAX_BUFFER_BYTES);
        assert_eq!(row.row_number, expected);
        expected += 1;
        let errors = match &row.outcome {
            RowOutcome::Parsed(cells) => {
                // The parser's lean item is written as the record it stands for.
                let lean = RowItem::new(&stamp, row.row_number, cells.clone());
                let record = lean.to_record();
                assert_eq!(lean.size(), item_size(&record));
                assert_eq!(
                    serde_json::to_value(&lean).expect("serialises"),
                    serde_json::to_value(&record).expect("serialises")
                );
                let data = cells.to_product_data();
                match validate_row(&data, &header.columns, &categories, &DuplicateFacts::default()) {
                    Ok(_) => None,
                    Err(errors) => Some(errors),
                }
            }
            other => {
                let error = other.row_error().expect("an unread row has its error");
                assert!(matches!(
                    error.error_type,
                    ErrorCode::MalformedRow | ErrorCode::InvalidEncoding | ErrorCode::RowTooLarge
                ));
                Some(vec![error])
            }
        };
        let item = UploadRecord {
            upload_id: "UPLOAD_20261123T103045_0123456789ab".into(),
            record_id: domain::model::record_id(row.row_number),
            vendor_id: "VEND001".into(),
            file_name: "fuzz.csv".into(),
            row_number: row.row_number,
            product_data: row.outcome.product_data(),
            status: RecordStatus::PendingValidation,
            error_type: None,
            error_reason: Vec::new(),
            created_at: String::new(),
            updated_at: String::new(),
            ttl: 0,
        }
        .decided(errors.as_deref(), "now");
        assert!(item_size(&item) <= ITEM_LIMIT_BYTES);
        if item.status == RecordStatus::Error {
            let stored = ErrorRow::from_item(&item);
            for e in &stored.errors {
                assert!(!e.message.chars().any(is_forbidden) && !e.column.chars().any(is_forbidden));
            }
            for (k, v) in stored.original.iter().flatten() {
                assert!(!k.chars().any(is_forbidden) && !v.chars().any(is_forbidden));
            }
        }
    }
    assert_eq!(rows.rows_read(), expected - 1);
}
