//! `domain::notify` on the in-memory outbox and topic: once per upload, never lost,
//! repeated only after a crash between publishing and recording it.

use chrono::{Duration, Utc};
use domain::notify::publish_pending;
use domain::upload::UploadStatus;
use testkit::memory::History;
use testkit::Memory;

fn final_upload(mem: &Memory, id: &str, status: UploadStatus, ended_ago: Duration) {
    let mut db = mem.db.lock().unwrap_or_else(|e| e.into_inner());
    db.history.insert(
        id.to_string(),
        History {
            status,
            valid: 2,
            errors: 0,
            completed_at: Some(Utc::now() - ended_ago),
            ..History::processing("VEND001", 2, &["sku"])
        },
    );
}

#[tokio::test]
async fn announce_publishes_a_final_upload_once_and_a_processing_one_never() {
    let mem = Memory::default();
    final_upload(&mem, "U1", UploadStatus::Completed, Duration::zero());
    mem.db
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .history
        .insert("U2".into(), History::processing("VEND001", 2, &["sku"]));
    let notify = mem.notify();
    notify.announce("U1").await;
    notify.announce("U1").await;
    notify.announce("U2").await;
    notify.announce("NOPE").await;
    assert_eq!(mem.topic.defaults("U1").len(), 1);
    assert_eq!(mem.topic.count(), 1);
}

#[tokio::test]
async fn racing_announcers_publish_once() {
    let mem = Memory::default();
    final_upload(&mem, "U1", UploadStatus::Completed, Duration::zero());
    let notify = mem.notify();
    race_three_announcers_and_the_reconciler(&notify).await;
    assert_eq!(mem.topic.count(), 1);
}

async fn race_three_announcers_and_the_reconciler(notify: &domain::notify::Notify<'_>) {
    tokio::join!(
        notify.announce("U1"),
        notify.announce("U1"),
        notify.announce("U1"),
        publish_pending(notify, Duration::zero())
    )
    .3
    .map(|_| ())
    .unwrap_or_else(|e| panic!("{e}"));
}

#[tokio::test]
async fn pending_notifications_wait_for_older_than_and_survive_a_failed_publish() {
    let mem = Memory::default();
    final_upload(&mem, "OLD", UploadStatus::Failed, Duration::minutes(10));
    final_upload(&mem, "NEW", UploadStatus::Completed, Duration::seconds(5));
    let notify = mem.notify();
    mem.topic.fail(1);
    let first = publish_pending(&notify, Duration::minutes(1))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        (first.published, first.failed),
        (0, 1),
        "OLD failed, NEW too recent"
    );
    let second = publish_pending(&notify, Duration::minutes(1))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!((second.published, second.failed), (1, 0));
    assert_eq!(mem.topic.defaults("OLD").len(), 1);
    assert_eq!(mem.topic.defaults("NEW").len(), 0);
}

#[tokio::test]
async fn a_crash_between_publishing_and_recording_repeats_the_message_with_the_same_upload_id() {
    let mem = Memory::default();
    final_upload(&mem, "U1", UploadStatus::Completed, Duration::minutes(10));
    mem.fail("mark_published", Some("U1"), 1);
    let notify = mem.notify();
    notify.announce("U1").await;
    assert_eq!(mem.topic.count(), 1, "published, but not recorded");
    // The claim expires; the reconciler publishes again: a repeat, never a loss.
    if let Some(h) = mem
        .db
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .history
        .get_mut("U1")
    {
        h.notification.claimed_until = Some(Utc::now() - Duration::seconds(1));
    }
    publish_pending(&notify, Duration::zero())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let sent = mem.topic.defaults("U1");
    assert_eq!(sent.len(), 2);
    assert_eq!(
        sent[0]["upload_id"], sent[1]["upload_id"],
        "the receiver's idempotency key"
    );
    publish_pending(&notify, Duration::zero())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(mem.topic.count(), 2, "recorded now");
}

#[tokio::test]
async fn a_publisher_claims_the_notification_for_the_lease_ahead() {
    let mem = Memory::default();
    final_upload(&mem, "U1", UploadStatus::Completed, Duration::zero());
    // Published, but not recorded: the claim stays, as after a crash.
    mem.fail("mark_published", Some("U1"), 1);
    let before = Utc::now();
    let published = mem.notify().publish_one("U1").await;
    assert!(published.is_err(), "{published:?}");
    let until = mem
        .db
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .history
        .get("U1")
        .and_then(|h| h.notification.claimed_until)
        .unwrap_or_else(|| panic!("claimed"));
    let lease = domain::notify::CLAIM_LEASE;
    assert!(until >= before + lease && until <= Utc::now() + lease, "{until}");
}

#[tokio::test]
async fn one_run_publishes_more_pending_notifications_than_a_page_holds() {
    let mem = Memory::default();
    for n in 0..450 {
        final_upload(
            &mem,
            &format!("U{n:03}"),
            UploadStatus::Completed,
            Duration::minutes(10),
        );
    }
    let report = publish_pending(&mem.notify(), Duration::minutes(1))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!((report.published, report.failed), (450, 0));
    assert_eq!(mem.topic.count(), 450);
}
