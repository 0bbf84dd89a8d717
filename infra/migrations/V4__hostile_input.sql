-- Hostile and oversized input (DESIGN.md §3): every value an upload can bring is
-- stored as data. Before, a key under a 60-character vendor segment or with a
-- 300-character file name was refused (22001) and csv-parser failed until the
-- event was dropped, leaving no upload_history row.

-- A column's type cannot change under a view: these two read upload_history and are
-- recreated unchanged below.
DROP VIEW recent_uploads;
DROP VIEW vendor_summary;

-- vendor_id: a key's vendor segment that cannot be a vendor id is recorded with its
-- upload (control characters replaced, cut to 100 characters + '…'; see
-- domain::upload::VendorSegment::recorded). file_name and s3_key: whole, whatever
-- S3 allows (a key is at most 1,024 bytes of UTF-8, so a name can be ~1,000
-- characters). The table's CHECKs are unchanged.
ALTER TABLE upload_history
    ALTER COLUMN vendor_id TYPE TEXT,
    ALTER COLUMN file_name TYPE TEXT,
    ALTER COLUMN s3_key TYPE TEXT,
    ALTER COLUMN error_file_s3_key TYPE TEXT;
ALTER TABLE validation_errors
    ALTER COLUMN vendor_id TYPE TEXT;

-- error_field names a column, and an unknown column's name (INVALID_CHARACTER) or a
-- repeated one (INVALID_HEADER) can be thousands of bytes: a btree entry holds at most
-- about 2.7 KB (54000, "index row size exceeds maximum"). One error per (row, column,
-- code) is kept on a hash of the name instead; ON CONFLICT DO NOTHING uses any unique
-- index, so the writers are unchanged.
ALTER TABLE validation_errors
    DROP CONSTRAINT validation_errors_upload_id_row_number_error_field_error_ty_key;
CREATE UNIQUE INDEX validation_errors_one_per_field
    ON validation_errors (upload_id, row_number, error_type, md5(error_field));

CREATE VIEW vendor_summary AS
SELECT v.vendor_id,
       v.vendor_name,
       v.status,
       COALESCE(p.total_products, 0)  AS total_products,
       COALESCE(p.active_products, 0) AS active_products,
       COALESCE(u.total_uploads, 0)   AS total_uploads,
       COALESCE(u.total_errors, 0)    AS total_errors,
       u.last_upload_at
FROM vendors v
LEFT JOIN (
    SELECT vendor_id,
           COUNT(*) AS total_products,
           COUNT(*) FILTER (WHERE status = 'active') AS active_products
    FROM products GROUP BY vendor_id
) p ON p.vendor_id = v.vendor_id
LEFT JOIN (
    SELECT vendor_id,
           COUNT(*) AS total_uploads,
           SUM(error_records) AS total_errors,
           MAX(upload_timestamp) AS last_upload_at
    FROM upload_history GROUP BY vendor_id
) u ON u.vendor_id = v.vendor_id;

CREATE VIEW recent_uploads AS
SELECT uh.upload_id,
       uh.vendor_id,
       v.vendor_name,
       uh.file_name,
       uh.status,
       uh.total_records,
       uh.valid_records,
       uh.error_records,
       CASE WHEN uh.total_records = 0 THEN NULL
            ELSE ROUND(uh.valid_records::numeric * 100 / uh.total_records, 2)
       END AS success_rate_percent,
       uh.error_file_s3_key,
       uh.upload_timestamp,
       uh.processing_completed_at,
       uh.processing_duration_seconds
FROM upload_history uh
LEFT JOIN vendors v ON v.vendor_id = uh.vendor_id
ORDER BY uh.upload_timestamp DESC;
