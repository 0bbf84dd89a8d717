//! The onboarding pipeline end to end, on the local stack: real S3 (moto), DynamoDB
//! Local with its stream, PostgreSQL; real handlers driven by devstack's event-source
//! emulation. Every test uses its own vendor product ids and SKUs, so tests are
//! independent of each other and of what earlier runs left.

use domain::model::RecordStatus;
use e2e::pipeline::{errors, field, items, pg, s3_text, stack, unique, upload_id_of, valid_row, HEADER};

fn csv(rows: &[String]) -> Vec<u8> {
    let mut s = String::from(HEADER);
    for r in rows {
        s.push('\n');
        s.push_str(r);
    }
    s.push('\n');
    s.into_bytes()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_clean_upload_completes_and_lands_in_the_catalog() {
    let stack = stack().await;
    let db = pg().await;
    let p = unique("CLEAN");
    let rows: Vec<String> = (1..=30).map(|i| valid_row(&p, i, "19.99")).collect();
    let h = stack
        .upload("VEND001", &format!("{p} clean.csv"), csv(&rows), false)
        .await
        .expect("upload");

    assert_eq!(field(&h, "status"), "completed", "{h}");
    assert_eq!(field(&h, "total_records"), 30);
    assert_eq!(field(&h, "valid_records"), 30);
    assert_eq!(field(&h, "error_records"), 0);
    assert!(field(&h, "error_file_s3_key").is_null());
    assert_eq!(field(&h, "file_name"), format!("{p} clean.csv").as_str());
    assert_eq!(
        field(&h, "s3_key"),
        format!("uploads/VEND001/{p} clean.csv").as_str()
    );
    assert!(!field(&h, "processing_completed_at").is_null());
    let id = upload_id_of(&h);

    let n: i64 = db
        .query_one(
            "SELECT count(*) FROM products WHERE upload_id = $1 AND vendor_id = 'VEND001'",
            &[&id],
        )
        .await
        .expect("count")
        .get(0);
    assert_eq!(n, 30);
    let price: rust_decimal::Decimal = db
        .query_one(
            "SELECT price FROM products WHERE sku = $1",
            &[&format!("{p}-SKU-7")],
        )
        .await
        .expect("product")
        .get(0);
    assert_eq!(price.to_string(), "19.99");

    let items = items(&stack, &id).await;
    assert_eq!(items.len(), 30);
    assert!(items.iter().all(|i| i.status == RecordStatus::Validated));
    assert!(items
        .iter()
        .any(|i| i.record_id == "REC_000030" && i.row_number == 30));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_row_error_code_is_recorded_reported_and_counted() {
    let stack = stack().await;
    let db = pg().await;
    let p = unique("ERR");
    // A SKU another vendor already holds.
    let other = stack
        .upload(
            "VEND002",
            &format!("{p}-other.csv"),
            csv(&[valid_row(&format!("{p}X"), 1, "5.00")]),
            false,
        )
        .await
        .expect("other vendor's upload");
    assert_eq!(field(&other, "status"), "completed", "{other}");
    let taken_sku = format!("{p}X-SKU-1");

    let long_name = "N".repeat(201);
    let rows = vec![
        valid_row(&p, 1, "10.00"),                                       // 1 ok
        format!("{p}-P2,,Electronics,{p}-SKU-2,10.00,1,,,,"),            // 2 missing name
        format!("{p}-P3,{long_name},Electronics,{p}-SKU-3,10.00,1,,,,"), // 3 too long
        format!("{p}-P4,Item,Electronics,{p}-SKU-4,12.345,1,,,,"),       // 4 price
        format!(" {p}-P5 ,Item,Electronics,{p}-SKU-5,10.00,ten,,,,"),    // 5 stock (id padded)
        format!("{p}-P6,Item,Gadgets,{p}-SKU-6,10.00,1,,,,"),            // 6 category
        format!("{p}-P7,Item,Electronics,BAD SKU!,10.00,1,,,,"),         // 7 sku
        format!("{p}-P8,Item,Electronics,{p}-SKU-8,10.00,1,,,,ftp://example.com/x.png"), // 8 url
        format!("{p}-P9,Item,Electronics,{p}-SKU-9,10.00,1,,,heavy,"),   // 9 number
        format!("{p}-P10,Item,Electronics,{taken_sku},10.00,1,,,,"),     // 10 dup sku
        format!("{p}-P11,Item,Electronics,{p}-SKU-1,10.00,1,,,,"),       // 11 dup in file
        format!("{p}-P12,Item,Electronics"),                             // 12 malformed
        format!("{p}-P13,It\u{FFFD}m,Electronics,{p}-SKU-13,10.00,1,,,,"), // 13 encoding (patched below)
        format!("{p}-P14,Item,Nope,{p}-SKU-14,-1,-5,,,,"),               // 14 several
        format!("{p}-P15,\"=HYPERLINK(\"\"http://evil\"\")\",Electronics,{p}-SKU-15,abc,1,,,,"), // 15 formula
    ];
    let mut body = csv(&rows);
    // Row 13 carries a byte that is not UTF-8.
    let marker = "\u{FFFD}".as_bytes().to_vec();
    if let Some(pos) = body.windows(marker.len()).position(|w| w == marker.as_slice()) {
        body.splice(pos..pos + marker.len(), [0xFFu8]);
    }
    let h = stack
        .upload("VEND001", &format!("{p}.csv"), body, false)
        .await
        .expect("upload");
    let id = upload_id_of(&h);
    assert_eq!(field(&h, "status"), "partial", "{h}");
    assert_eq!(field(&h, "total_records"), 15);
    assert_eq!(field(&h, "valid_records"), 1);
    assert_eq!(field(&h, "error_records"), 14);

    let got = errors(&db, &id).await;
    let want: Vec<(i32, &str, &str)> = vec![
        (2, "MISSING_REQUIRED_FIELD", "product_name"),
        (3, "FIELD_TOO_LONG", "product_name"),
        (4, "INVALID_PRICE", "price"),
        (5, "INVALID_STOCK", "stock_quantity"),
        (6, "INVALID_CATEGORY", "category"),
        (7, "INVALID_SKU", "sku"),
        (8, "INVALID_URL", "image_url"),
        (9, "INVALID_NUMBER", "weight_kg"),
        (10, "DUPLICATE_SKU", "sku"),
        (11, "DUPLICATE_IN_FILE", "sku"),
        (12, "MALFORMED_ROW", ""),
        (13, "INVALID_ENCODING", ""),
        (14, "INVALID_CATEGORY", "category"),
        (14, "INVALID_PRICE", "price"),
        (14, "INVALID_STOCK", "stock_quantity"),
        (15, "INVALID_PRICE", "price"),
    ];
    let got_ref: Vec<(i32, &str, &str)> = got.iter().map(|(r, t, f)| (*r, t.as_str(), f.as_str())).collect();
    assert_eq!(got_ref, want);

    // Every message names its column and is a sentence.
    let messages = db
        .query(
            "SELECT error_field, error_message FROM validation_errors WHERE upload_id = $1",
            &[&id],
        )
        .await
        .expect("messages");
    for m in &messages {
        let (column, message): (String, String) = (m.get(0), m.get(1));
        // A row-level error (no column) still says something; `contains("")` could not fail.
        if column.is_empty() {
            assert!(message.trim().len() > 10, "{message:?}");
        } else {
            assert!(message.contains(&column), "{message:?} should name {column:?}");
        }
    }

    // The items say the same, first error in column order.
    let items = items(&stack, &id).await;
    let row14 = items.iter().find(|i| i.row_number == 14).expect("row 14");
    assert_eq!(row14.status, RecordStatus::Error);
    assert_eq!(row14.error_type.map(|e| e.as_str()), Some("INVALID_CATEGORY"));
    assert_eq!(row14.error_reason.len(), 3);
    assert!(items
        .iter()
        .filter(|i| i.row_number != 1)
        .all(|i| i.status == RecordStatus::Error));

    // The report: file columns + three, one line per error, formulas neutralised.
    let key = field(&h, "error_file_s3_key")
        .as_str()
        .expect("report key")
        .to_string();
    assert_eq!(key, format!("reports/VEND001/{id}.csv"));
    let report = s3_text(&stack, &key).await;
    let mut reader = ::csv::ReaderBuilder::new()
        .has_headers(false)
        .from_reader(report.as_bytes());
    let lines: Vec<::csv::StringRecord> = reader.records().collect::<Result<_, _>>().expect("report parses");
    assert_eq!(lines.len(), 1 + want.len());
    let header: Vec<&str> = lines[0].iter().collect();
    let mut expected_header: Vec<&str> = HEADER.split(',').collect();
    expected_header.extend(["row_number", "error_type", "error_message"]);
    assert_eq!(header, expected_header);
    assert!(lines.iter().all(|l| l.len() == expected_header.len()));
    let formula = lines.iter().find(|l| &l[10] == "15").expect("row 15 line");
    assert_eq!(&formula[1], "'=HYPERLINK(\"http://evil\")");
    let several = lines.iter().find(|l| &l[10] == "14").expect("row 14 line");
    assert_eq!(&several[4], "'-1", "negative numbers are neutralised too");
    let malformed = lines.iter().find(|l| &l[10] == "12").expect("row 12 line");
    assert!(malformed.iter().take(10).all(|c| c.is_empty()), "{malformed:?}");
    // The row that is not UTF-8 keeps the cells that could be read in its item, but its
    // report line leaves them empty.
    let row13 = items.iter().find(|i| i.row_number == 13).expect("row 13");
    assert_eq!(
        row13.product_data.get("vendor_product_id"),
        Some(&format!("{p}-P13"))
    );
    assert_eq!(row13.product_data.get("sku"), Some(&format!("{p}-SKU-13")));
    let encoding = lines.iter().find(|l| &l[10] == "13").expect("row 13 line");
    assert_eq!(&encoding[11], "INVALID_ENCODING");
    assert!(encoding.iter().take(10).all(|c| c.is_empty()), "{encoding:?}");

    // `validation_errors.vendor_product_id` is the value as given, white space and all
    // (it is trimmed for validation only).
    let raw = db
        .query_one(
            "SELECT vendor_product_id FROM validation_errors WHERE upload_id = $1 AND row_number = 5",
            &[&id],
        )
        .await
        .expect("row 5's error");
    assert_eq!(raw.get::<_, Option<String>>(0), Some(format!(" {p}-P5 ")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn file_level_failures_are_final_with_a_row_zero_error_and_a_report() {
    let stack = stack().await;
    let db = pg().await;
    let p = unique("FILE");
    db.execute(
        "INSERT INTO vendors (vendor_id, vendor_name, email, status) VALUES ($1, 'Paused', $2, 'suspended')",
        &[&format!("{p}S"), &format!("{p}@paused.example")],
    )
    .await
    .expect("suspended vendor");

    let cases: Vec<(&str, String, Vec<u8>, &str, &str)> = vec![
        (
            "VEND001",
            format!("{p}-empty.csv"),
            format!("{HEADER}\n").into_bytes(),
            "EMPTY_FILE",
            "",
        ),
        (
            "VEND001",
            format!("{p}-nothing.csv"),
            Vec::new(),
            "EMPTY_FILE",
            "",
        ),
        (
            "VEND001",
            format!("{p}-cols.csv"),
            b"vendor_product_id,product_name,category,stock_quantity\nA,B,Books,1\n".to_vec(),
            "MISSING_COLUMNS",
            "sku,price",
        ),
        (
            "VEND001",
            format!("{p}-enc.csv"),
            b"vendor_product_id,pr\xffduct_name\nA,B\n".to_vec(),
            "INVALID_ENCODING",
            "",
        ),
        (
            "NOSUCHVENDOR",
            format!("{p}-unknown.csv"),
            csv(&[valid_row(&p, 1, "1.00")]),
            "UNKNOWN_VENDOR",
            "",
        ),
        (
            Box::leak(format!("{p}S").into_boxed_str()),
            format!("{p}-paused.csv"),
            csv(&[valid_row(&p, 2, "1.00")]),
            "INACTIVE_VENDOR",
            "",
        ),
    ];
    for (vendor, name, body, code, field_value) in cases {
        let h = stack.upload(vendor, &name, body, false).await.expect("upload");
        let id = upload_id_of(&h);
        assert_eq!(field(&h, "status"), "failed", "{code}: {h}");
        for counter in ["total_records", "valid_records", "error_records"] {
            assert_eq!(field(&h, counter), 0, "{code}: {h}");
        }
        assert_eq!(
            errors(&db, &id).await,
            vec![(0, code.to_string(), field_value.to_string())],
            "{code}"
        );
        let key = field(&h, "error_file_s3_key")
            .as_str()
            .expect("report key")
            .to_string();
        let report = s3_text(&stack, &key).await;
        let first_line = report.lines().next().unwrap_or_default().to_string();
        if code == "MISSING_COLUMNS" {
            assert_eq!(
                first_line,
                "vendor_product_id,product_name,category,stock_quantity,row_number,error_type,error_message"
            );
        } else {
            assert_eq!(first_line, "row_number,error_type,error_message", "{code}");
        }
        assert!(report.contains(code), "{report}");
        assert!(
            items(&stack, &id).await.is_empty(),
            "{code}: no items for a file-level failure"
        );
    }
}

/// DESIGN.md §3: "the original columns" and, for `MISSING_COLUMNS`, "the header as read":
/// the report names each column as the file's header writes it, not as it is matched.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_report_names_the_columns_as_the_files_header_writes_them() {
    let stack = stack().await;
    let p = unique("NAMES");
    let written = " Vendor_Product_ID ,Product_Name,CATEGORY,SKU,Price,Stock_Quantity,My Notes";
    let body = format!(
        "{written}\n{p}-P1,Lamp,Electronics,{p}-SKU-1,12.50,3,ok\n{p}-P2,Desk,Electronics,{p}-SKU-2,free,4,=note\n"
    );
    let h = stack
        .upload("VEND001", &format!("{p}.csv"), body.into_bytes(), false)
        .await
        .expect("upload");
    assert_eq!(field(&h, "status"), "partial", "{h}");
    assert_eq!(field(&h, "valid_records"), 1, "{h}");
    let key = field(&h, "error_file_s3_key")
        .as_str()
        .expect("report key")
        .to_string();
    let report = s3_text(&stack, &key).await;
    let lines: Vec<&str> = report.lines().collect();
    assert_eq!(lines[0], format!("{written},row_number,error_type,error_message"));
    assert!(
        lines[1].starts_with(&format!(
            "{p}-P2,Desk,Electronics,{p}-SKU-2,free,4,'=note,2,INVALID_PRICE,"
        )),
        "{report}"
    );

    let missing = "SKU, Product Name ,Price";
    let h = stack
        .upload(
            "VEND001",
            &format!("{p}-missing.csv"),
            format!("{missing}\nA,B,1\n").into_bytes(),
            false,
        )
        .await
        .expect("upload");
    assert_eq!(field(&h, "status"), "failed", "{h}");
    let key = field(&h, "error_file_s3_key")
        .as_str()
        .expect("report key")
        .to_string();
    let report = s3_text(&stack, &key).await;
    assert_eq!(
        report.lines().next(),
        Some(format!("{missing},row_number,error_type,error_message").as_str())
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_file_over_the_size_limit_is_refused_unread() {
    let mut stack = stack().await;
    stack.parser.settings.max_upload_bytes = 64;
    let p = unique("BIG");
    let rows: Vec<String> = (1..=5).map(|i| valid_row(&p, i, "1.00")).collect();
    let h = stack
        .upload("VEND001", &format!("{p}.csv"), csv(&rows), false)
        .await
        .expect("upload");
    assert_eq!(field(&h, "status"), "failed");
    let db = pg().await;
    let errs = errors(&db, &upload_id_of(&h)).await;
    assert_eq!(errs, vec![(0, "FILE_TOO_LARGE".to_string(), String::new())]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reupload_updates_prices_and_stock() {
    let stack = stack().await;
    let db = pg().await;
    let p = unique("RE");
    let first: Vec<String> = (1..=3).map(|i| valid_row(&p, i, "10.00")).collect();
    let h1 = stack
        .upload("VEND003", &format!("{p}.csv"), csv(&first), false)
        .await
        .expect("first");
    assert_eq!(field(&h1, "status"), "completed");
    let mut second: Vec<String> = (1..=3).map(|i| valid_row(&p, i, "12.50")).collect();
    second[2] = format!("{p}-P3,Product 3,Electronics,{p}-SKU-3,12.50,0,Acme,,1.5,");
    let h2 = stack
        .upload("VEND003", &format!("{p}.csv"), csv(&second), false)
        .await
        .expect("second");
    assert_eq!(field(&h2, "status"), "completed", "{h2}");
    assert_eq!(field(&h2, "valid_records"), 3);
    assert_ne!(upload_id_of(&h1), upload_id_of(&h2), "two PUTs are two uploads");
    let rows = db
        .query(
            "SELECT vendor_product_id, price::text, stock_quantity, status, upload_id FROM products
             WHERE vendor_id = 'VEND003' AND vendor_product_id LIKE $1 ORDER BY vendor_product_id",
            &[&format!("{p}-P%")],
        )
        .await
        .expect("products");
    assert_eq!(rows.len(), 3, "updated in place, not duplicated");
    for r in &rows {
        assert_eq!(r.get::<_, String>(1), "12.50");
        assert_eq!(r.get::<_, String>(4), upload_id_of(&h2));
    }
    assert_eq!(rows[2].get::<_, i32>(2), 0);
    assert_eq!(rows[2].get::<_, String>(3), "out_of_stock");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redelivering_every_event_changes_nothing() {
    let stack = stack().await;
    let db = pg().await;
    let p = unique("DUP");
    let mut rows: Vec<String> = (1..=40).map(|i| valid_row(&p, i, "3.00")).collect();
    rows.push(format!("{p}-P41,Item,Nope,{p}-SKU-41,abc,1,,,,"));
    rows.push(format!("{p}-P1,Again,Electronics,{p}-SKU-42,1.00,1,,,,"));
    rows.push("only,three,fields".to_string());
    let h = stack
        .upload("VEND001", &format!("{p}.csv"), csv(&rows), true)
        .await
        .expect("upload");
    let id = upload_id_of(&h);
    assert_eq!(field(&h, "status"), "partial", "{h}");
    assert_eq!(field(&h, "total_records"), 43);
    assert_eq!(field(&h, "valid_records"), 40);
    assert_eq!(field(&h, "error_records"), 3);
    assert_eq!(errors(&db, &id).await.len(), 4);
    let n: i64 = db
        .query_one("SELECT count(*) FROM products WHERE upload_id = $1", &[&id])
        .await
        .expect("count")
        .get(0);
    assert_eq!(n, 40);
    let uploads: i64 = db
        .query_one(
            "SELECT count(*) FROM upload_history WHERE file_name = $1",
            &[&format!("{p}.csv")],
        )
        .await
        .expect("count")
        .get(0);
    assert_eq!(uploads, 1, "the same PUT delivered twice is one upload");
    let items = items(&stack, &id).await;
    assert_eq!(items.len(), 43);
    assert!(items.iter().all(|i| i.status != RecordStatus::PendingValidation));
}
