-- The vendor loop (DESIGN.md section 7): the "upload finished" notification outbox,
-- and the vendor API's reads.

-- The outbox lives next to the status it announces: an upload is "final and not yet
-- announced" exactly when status <> 'processing' and notification_published_at IS
-- NULL, so no final upload can lose its notification. A publisher first claims it for
-- a short lease (notification_claimed_until), so racing finalisers publish once and a
-- claim left by a crash expires; the message id SNS returned is kept for tracing.
ALTER TABLE upload_history
    ADD COLUMN notification_claimed_until TIMESTAMPTZ,
    ADD COLUMN notification_published_at  TIMESTAMPTZ,
    ADD COLUMN notification_message_id    TEXT;

-- Uploads that ended before this system sent notifications are not announced now,
-- days late: they count as published when they ended.
UPDATE upload_history
SET notification_published_at = processing_completed_at
WHERE status <> 'processing';

-- The reconciler's question: which final uploads are still unannounced (few rows).
CREATE INDEX idx_upload_history_unannounced ON upload_history (processing_completed_at)
    WHERE status <> 'processing' AND notification_published_at IS NULL;

-- The vendor API lists one vendor's uploads newest first, paging on
-- (upload_timestamp, upload_id).
CREATE INDEX idx_upload_history_vendor_time
    ON upload_history (vendor_id, upload_timestamp DESC, upload_id DESC);

-- The vendor API pages through one upload's errors in row order.
CREATE INDEX idx_validation_errors_upload_row ON validation_errors (upload_id, row_number, error_id);
