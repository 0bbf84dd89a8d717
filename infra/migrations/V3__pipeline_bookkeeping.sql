-- Bookkeeping that makes the pipeline exact under at-least-once delivery.

-- In-file duplicates. The parser registers, before any row of the upload reaches
-- DynamoDB, the lowest row number carrying each trimmed sku and vendor_product_id.
-- A row is DUPLICATE_IN_FILE for a column when the owner's row number is lower than
-- its own: order of arrival and redelivery cannot change that.
CREATE TABLE upload_claims (
    upload_id   VARCHAR(100) NOT NULL,
    column_name VARCHAR(30)  NOT NULL CHECK (column_name IN ('sku', 'vendor_product_id')),
    value       TEXT         NOT NULL,
    row_number  INTEGER      NOT NULL CHECK (row_number > 0),
    PRIMARY KEY (upload_id, column_name, value)
);

-- One verdict per data row, decided once. The validator records its verdict here in
-- the same transaction as the catalog upsert; a redelivered record reuses it. The
-- error processor sets error_recorded when it has written the row's
-- validation_errors; counters move only when a row is recorded for the first time.
CREATE TABLE upload_rows (
    upload_id       VARCHAR(100) NOT NULL,
    row_number      INTEGER      NOT NULL CHECK (row_number > 0),
    verdict         VARCHAR(10)  NOT NULL CHECK (verdict IN ('valid', 'error')),
    errors          JSONB        NOT NULL DEFAULT '[]'::jsonb,
    error_recorded  BOOLEAN      NOT NULL DEFAULT FALSE,
    decided_at      TIMESTAMPTZ  NOT NULL DEFAULT now(),
    PRIMARY KEY (upload_id, row_number)
);
