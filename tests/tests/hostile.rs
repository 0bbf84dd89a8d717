//! Hostile and oversized input end to end (DESIGN.md §3, "Hostile and oversized
//! input" and "Every upload ends"), on the local stack, through `devstack upload`'s
//! path: every example of the issue ends final with exact counts, its
//! `validation_errors` and its report. Before the fix each of these left the upload
//! `processing` or without an `upload_history` row at all.

use domain::model::{item_size, RecordStatus, ITEM_LIMIT_BYTES};
use e2e::pipeline::{errors, field, items, pg, s3_text, stack, unique, upload_id_of};

const HEADER: &str = "vendor_product_id,product_name,category,sku,price,stock_quantity";

fn body(header: &str, rows: &[String]) -> Vec<u8> {
    let mut s = format!("{header}\n");
    for r in rows {
        s.push_str(r);
        s.push('\n');
    }
    s.into_bytes()
}

/// (status, total, valid, error) of a history row.
fn counts(h: &serde_json::Value) -> (String, i64, i64, i64) {
    (
        field(h, "status").as_str().unwrap_or_default().to_string(),
        field(h, "total_records").as_i64().unwrap_or(-1),
        field(h, "valid_records").as_i64().unwrap_or(-1),
        field(h, "error_records").as_i64().unwrap_or(-1),
    )
}

fn expect(h: &serde_json::Value, status: &str, total: i64, valid: i64, error: i64) {
    assert_eq!(counts(h), (status.to_string(), total, valid, error), "{h}");
    assert!(!field(h, "processing_completed_at").is_null(), "final: {h}");
}

/// The report's lines, parsed (header line first).
async fn report(stack: &e2e::pipeline::TestStack, h: &serde_json::Value) -> Vec<Vec<String>> {
    let key = field(h, "error_file_s3_key")
        .as_str()
        .expect("a report key")
        .to_string();
    let text = s3_text(stack, &key).await;
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(text.as_bytes());
    reader
        .records()
        .map(|r| r.expect("the report parses").iter().map(str::to_string).collect())
        .collect()
}

fn owned(want: &[(i32, &str, &str)]) -> Vec<(i32, String, String)> {
    want.iter()
        .map(|(r, t, f)| (*r, t.to_string(), f.to_string()))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn control_characters_are_invalid_character_and_never_reach_postgresql_raw() {
    let stack = stack().await;
    let db = pg().await;
    let p = unique("NUL");
    let header = format!("{HEADER},notes");
    let rows = vec![
        format!("{p}-P1,Mou\0se,Electronics,{p}-S1,9.99,5,"), // 1 NUL in product_name
        format!("{p}-P2,Pad,Electronics,{p}-S2\0,1.00,1,"),   // 2 NUL in sku
        format!("{p}-P3,Cable,Electronics,{p}-S3,2.00,3,fine\tnote"), // 3 valid (tab allowed)
        format!("{p}-P4,Hub,Electronics,{p}-S2\0,3.00,1,"),   // 4 same sku: owns nothing, no duplicate
        format!("{p}-P5,Dock,Electronics,{p}-S5,4.00,1,esc\u{1B}[31m"), // 5 control char in an unknown column
        format!("{p}-P3,Cable again,Electronics,{p}-S6,2.00,3,"), // 6 duplicate vendor_product_id
    ];
    // Delivered twice, every stream batch replayed: nothing changes.
    let h = stack
        .upload("VEND001", &format!("{p}.csv"), body(&header, &rows), true)
        .await
        .expect("upload");
    expect(&h, "partial", 6, 1, 5);
    let id = upload_id_of(&h);
    assert_eq!(
        errors(&db, &id).await,
        owned(&[
            (1, "INVALID_CHARACTER", "product_name"),
            (2, "INVALID_CHARACTER", "sku"),
            (4, "INVALID_CHARACTER", "sku"),
            (5, "INVALID_CHARACTER", "notes"),
            (6, "DUPLICATE_IN_FILE", "vendor_product_id"),
        ])
    );
    // PostgreSQL holds U+FFFD where the file had the character; DynamoDB the raw cell.
    let name: String = db
        .query_one(
            "SELECT original_data->>'product_name' FROM validation_errors WHERE upload_id = $1 AND row_number = 1",
            &[&id],
        )
        .await
        .expect("row 1")
        .get(0);
    assert_eq!(name, "Mou\u{FFFD}se");
    let items = items(&stack, &id).await;
    let row1 = items.iter().find(|i| i.row_number == 1).expect("row 1");
    assert_eq!(
        row1.product_data.get("product_name").map(String::as_str),
        Some("Mou\0se")
    );
    assert_eq!(row1.error_type.map(|e| e.as_str()), Some("INVALID_CHARACTER"));
    let catalog: i64 = db
        .query_one("SELECT count(*) FROM products WHERE upload_id = $1", &[&id])
        .await
        .expect("count")
        .get(0);
    assert_eq!(catalog, 1);

    let lines = report(&stack, &h).await;
    assert_eq!(lines.len(), 1 + 5);
    assert!(lines.iter().all(|l| l.len() == 7 + 3));
    assert_eq!(lines[1][1], "Mou\u{FFFD}se");
    assert_eq!(lines[1][8], "INVALID_CHARACTER");
    assert!(lines[1][9].contains("U+0000"), "{}", lines[1][9]);
    assert_eq!(lines[4][6], "esc\u{FFFD}[31m");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rows_over_64_kib_are_row_too_large_and_exactly_64_kib_is_read() {
    let stack = stack().await;
    let db = pg().await;
    let p = unique("BIG");
    let extras: Vec<String> = (0..50).map(|i| format!("extra{i}")).collect();
    let header = format!("{HEADER},notes,{}", extras.join(","));
    let blanks = ",".repeat(50);
    let row = |i: usize, notes: &str, tail: &str| {
        format!("{p}-P{i},Item {i},Electronics,{p}-S{i},1.00,1,{notes}{tail}")
    };
    // A row of exactly 65,536 bytes: the notes fill what the other cells leave.
    let base = row(3, "", &blanks).len();
    let exact = row(3, &"n".repeat(65_536 - base), &blanks);
    assert_eq!(exact.len(), 65_536);
    let over = row(4, &"n".repeat(65_537 - base), &blanks);
    let wide: Vec<String> = (0..50).map(|_| "w".repeat(9_000)).collect();
    let rows = vec![
        row(1, "", &blanks),
        row(2, &"x".repeat(1024 * 1024), &blanks), // a 1 MB cell
        exact,
        over,
        row(5, "", &format!(",{}", wide.join(","))), // a 450 KB row
        row(6, "", &blanks),
    ];
    let h = stack
        .upload("VEND001", &format!("{p}.csv"), body(&header, &rows), false)
        .await
        .expect("upload");
    expect(&h, "partial", 6, 3, 3);
    let id = upload_id_of(&h);
    assert_eq!(
        errors(&db, &id).await,
        owned(&[
            (2, "ROW_TOO_LARGE", ""),
            (4, "ROW_TOO_LARGE", ""),
            (5, "ROW_TOO_LARGE", "")
        ])
    );
    let items = items(&stack, &id).await;
    assert_eq!(items.len(), 6);
    for i in &items {
        assert!(item_size(i) <= ITEM_LIMIT_BYTES);
        if [2, 4, 5].contains(&i.row_number) {
            assert!(i.product_data.is_empty(), "row {}", i.row_number);
            assert_eq!(i.status, RecordStatus::Error);
        } else {
            assert_eq!(i.status, RecordStatus::Validated, "row {}", i.row_number);
        }
    }
    let lines = report(&stack, &h).await;
    assert_eq!(lines.len(), 1 + 3);
    for l in &lines[1..] {
        assert_eq!(l.len(), 57 + 3);
        assert!(
            l[..57].iter().all(String::is_empty),
            "a too-large row's cells are empty"
        );
        assert_eq!(l[58], "ROW_TOO_LARGE");
    }
    assert!(lines[1][59].starts_with("row is 1048"), "{}", lines[1][59]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unterminated_quote_ends_as_one_row_too_large() {
    let stack = stack().await;
    let db = pg().await;
    let p = unique("QUOTE");
    let mut rows = vec![format!("{p}-P1,Mouse,Electronics,{p}-S1,1.00,1")];
    rows.push(format!("{p}-P2,\"Pad,Electronics,{p}-S2,1.00,1"));
    rows.extend((3..3_000).map(|i| format!("{p}-P{i},Cable,Electronics,{p}-S{i},1.00,1")));
    let h = stack
        .upload("VEND001", &format!("{p}.csv"), body(HEADER, &rows), false)
        .await
        .expect("upload");
    expect(&h, "partial", 2, 1, 1);
    assert_eq!(
        errors(&db, &upload_id_of(&h)).await,
        owned(&[(2, "ROW_TOO_LARGE", "")])
    );
    let lines = report(&stack, &h).await;
    assert!(lines[1][8].contains("never closed"), "{}", lines[1][8]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unusable_headers_fail_the_file_with_invalid_header() {
    let stack = stack().await;
    let db = pg().await;
    let p = unique("HEAD");
    let many: Vec<String> = (0..99_994).map(|i| format!("c{i}")).collect();
    let cases: Vec<(String, Vec<u8>, &str)> = vec![
        (
            "100k".into(),
            body(&format!("{HEADER},{}", many.join(",")), &[format!("{p}-P1")]),
            "",
        ),
        (
            "1001".into(),
            body(&format!("{HEADER},{}", many[..995].join(",")), &[]),
            "",
        ),
        (
            "dup".into(),
            body(
                &format!("{HEADER},SKU"),
                &[format!("{p}-P1,Mouse,Electronics,{p}-S1,1.00,1,{p}-S9")],
            ),
            "sku",
        ),
        ("ctl".into(), body(&format!("{HEADER},no\u{7}tes"), &[]), ""),
        (
            "big".into(),
            body(&format!("{HEADER},{}", "n".repeat(70_000)), &[]),
            "",
        ),
    ];
    for (name, bytes, error_field) in cases {
        let h = stack
            .upload("VEND001", &format!("{p}-{name}.csv"), bytes, false)
            .await
            .expect("upload");
        expect(&h, "failed", 0, 0, 0);
        let id = upload_id_of(&h);
        assert_eq!(
            errors(&db, &id).await,
            owned(&[(0, "INVALID_HEADER", error_field)]),
            "{name}"
        );
        let lines = report(&stack, &h).await;
        assert_eq!(lines[0], ["row_number", "error_type", "error_message"], "{name}");
        assert_eq!(lines.len(), 2, "{name}");
        assert_eq!(lines[1][1], "INVALID_HEADER", "{name}");
    }
    // Exactly 1,000 columns, blank names (a trailing comma) included, is a header.
    let extra: Vec<String> = (0..993).map(|i| format!("c{i}")).collect();
    let h = stack
        .upload(
            "VEND001",
            &format!("{p}-1000.csv"),
            body(
                &format!("{HEADER},{},", extra.join(",")),
                &[format!(
                    "{p}-P1,Mouse,Electronics,{p}-S1,1.00,1{}",
                    ",".repeat(994)
                )],
            ),
            false,
        )
        .await
        .expect("upload");
    expect(&h, "completed", 1, 1, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_vendor_segment_that_cannot_be_a_vendor_id_is_unknown_vendor_with_history() {
    let stack = stack().await;
    let db = pg().await;
    let p = unique("SEG");
    let long = format!("{p}{}", "V".repeat(60));
    for vendor in [long.as_str(), "VEND 001", "VEND.001"] {
        let h = stack
            .upload(
                vendor,
                &format!("{p}.csv"),
                body(HEADER, &[format!("{p}-P1,Mouse,Electronics,{p}-S1,1.00,1")]),
                false,
            )
            .await
            .expect("upload");
        expect(&h, "failed", 0, 0, 0);
        assert_eq!(field(&h, "vendor_id"), vendor);
        let id = upload_id_of(&h);
        assert_eq!(errors(&db, &id).await, owned(&[(0, "UNKNOWN_VENDOR", "")]));
        assert_eq!(
            field(&h, "error_file_s3_key"),
            format!("reports/{vendor}/{id}.csv").as_str()
        );
        let lines = report(&stack, &h).await;
        assert!(lines[1][2].contains("no vendor can have it"), "{}", lines[1][2]);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn file_names_of_any_length_s3_allows_are_stored_whole() {
    let stack = stack().await;
    let p = unique("NAME");
    // "uploads/VEND001/" is 16 bytes of the 1,024 a key may have.
    for len in [300, 1_008] {
        let name = format!("{p}{}.csv", "n".repeat(len - p.len() - 4));
        assert_eq!(name.len(), len);
        let h = stack
            .upload(
                "VEND001",
                &name,
                body(
                    HEADER,
                    &[format!("{p}-P{len},Mouse,Electronics,{p}-S{len},1.00,1")],
                ),
                false,
            )
            .await
            .expect("upload");
        expect(&h, "completed", 1, 1, 0);
        assert_eq!(field(&h, "file_name"), name.as_str());
        assert_eq!(field(&h, "s3_key"), format!("uploads/VEND001/{name}").as_str());
    }
}

/// The widest row the reader lets through, every unknown cell a control character:
/// 994 errors, each naming a 60-character column, would be a 430 KB item; it is
/// written shortened, and the 994 errors land in PostgreSQL and the report.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_column_row_of_control_characters_fits_its_item_and_is_recorded() {
    let stack = stack().await;
    let db = pg().await;
    let p = unique("WIDE");
    let names: Vec<String> = (0..994)
        .map(|i| format!("column_{i:04}_{}", "q".repeat(48)))
        .collect();
    let header = format!("{HEADER},{}", names.join(","));
    assert!(header.len() <= 65_536);
    let cells = vec!["\u{1}"; 994].join(",");
    let rows = vec![format!("{p}-P1,Mouse,Electronics,{p}-S1,1.00,1,{cells}")];
    let h = stack
        .upload("VEND001", &format!("{p}.csv"), body(&header, &rows), false)
        .await
        .expect("upload");
    expect(&h, "failed", 1, 0, 1);
    let id = upload_id_of(&h);
    let got = errors(&db, &id).await;
    assert_eq!(got.len(), 994);
    assert!(got.iter().all(|(r, t, _)| *r == 1 && t == "INVALID_CHARACTER"));
    assert_eq!(got[993].2, names[993]);
    let items = items(&stack, &id).await;
    assert!(item_size(&items[0]) <= ITEM_LIMIT_BYTES);
    assert_eq!(items[0].error_reason.len(), 994);
    let lines = report(&stack, &h).await;
    assert_eq!(lines.len(), 1 + 994);
    assert!(lines.iter().all(|l| l.len() == 1000 + 3));
}
