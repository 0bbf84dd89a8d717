-- The reconciler's memory of rows it failed to process: after 3 failed attempts a row
-- gets PROCESSING_FAILED so that its upload can end (DESIGN.md §3, "Every upload ends").
CREATE TABLE reconcile_attempts (
    upload_id    TEXT        NOT NULL,
    row_number   INTEGER     NOT NULL CHECK (row_number > 0),
    attempts     INTEGER     NOT NULL CHECK (attempts > 0),
    last_error   TEXT        NOT NULL,
    updated_at   TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (upload_id, row_number)
);

-- Stuck uploads: processing, oldest first.
CREATE INDEX idx_upload_history_processing ON upload_history (processing_started_at)
    WHERE status = 'processing';

-- Only the holder of an upload's parse lease writes its items: two deliveries of one S3
-- event never write side by side, so neither can put back an item the other's rows
-- already decided. NULL: nobody holds it.
ALTER TABLE upload_history ADD COLUMN parse_lease_until TIMESTAMPTZ;

-- The report is read a page at a time in (row_number, error_id) order.
CREATE INDEX idx_validation_errors_report ON validation_errors (upload_id, row_number, error_id);
