//! The reconciler's work queue: each object once however often triggered, never two
//! reconciles of one object at once, again when due, nothing kept for what the hourly resync
//! reaches anyway.

use std::time::Duration;

use aims_operator::reconciler::queue::{Key, WorkQueue, key};

const HOUR: Duration = Duration::from_secs(3600);

fn open_queue() -> WorkQueue {
    let queue = WorkQueue::default();
    queue.open();
    queue
}

/// The next key, or `None` when none comes within `wait`.
async fn next_within(queue: &WorkQueue, wait: Duration) -> Option<Key> {
    tokio::time::timeout(wait, queue.next()).await.ok()
}

#[tokio::test]
async fn an_object_triggered_many_times_before_it_runs_runs_once() {
    let queue = open_queue();
    for _ in 0..3 {
        queue.trigger("lending", "credit-scoring");
    }
    queue.trigger("lending", "fraud-detection");
    let first = queue.next().await;
    let second = queue.next().await;
    assert_eq!(
        [&*first, &*second],
        ["lending/credit-scoring", "lending/fraud-detection"],
        "in the order first triggered"
    );
    assert_eq!(next_within(&queue, Duration::from_millis(50)).await, None);
}

#[tokio::test]
async fn an_object_triggered_while_it_runs_runs_again_after_and_not_beside() {
    let queue = open_queue();
    queue.trigger("lending", "credit-scoring");
    let running = queue.next().await;
    queue.trigger("lending", "credit-scoring");
    assert_eq!(
        next_within(&queue, Duration::from_millis(50)).await,
        None,
        "not a second reconcile of the same object while one is in flight"
    );
    queue.done(&running, None, HOUR);
    assert_eq!(
        next_within(&queue, Duration::from_secs(5)).await,
        Some(key("lending", "credit-scoring")),
        "the change that arrived meanwhile is reconciled"
    );
}

#[tokio::test]
async fn an_object_falls_due_again_and_a_trigger_comes_first() {
    let queue = open_queue();
    queue.trigger("lending", "credit-scoring");
    let running = queue.next().await;
    queue.done(&running, Some(Duration::from_millis(100)), HOUR);
    assert_eq!(
        next_within(&queue, Duration::from_secs(5)).await,
        Some(running.clone()),
        "due after its requeue"
    );
    queue.done(&running, Some(Duration::from_secs(600)), HOUR);
    queue.trigger("lending", "credit-scoring");
    assert_eq!(
        next_within(&queue, Duration::from_secs(5)).await,
        Some(running.clone()),
        "a change does not wait for the time it was due at"
    );
    queue.done(&running, Some(HOUR), HOUR);
    assert!(
        queue.triggered().is_empty(),
        "the hourly resync reaches it: no timer is kept"
    );
    assert_eq!(next_within(&queue, Duration::from_millis(50)).await, None);
}

#[tokio::test]
async fn a_closed_queue_keeps_nothing() {
    let queue = WorkQueue::default();
    queue.trigger("lending", "credit-scoring");
    assert!(queue.triggered().is_empty(), "no controller takes from it");
    queue.open();
    queue.trigger("lending", "credit-scoring");
    queue.trigger("lending", "fraud-detection");
    let running = queue.next().await;
    queue.close();
    assert!(queue.triggered().is_empty(), "closing forgets what waited");
    queue.done(&running, Some(Duration::from_millis(10)), HOUR);
    queue.open();
    assert_eq!(
        next_within(&queue, Duration::from_millis(100)).await,
        None,
        "nor does a reconcile that ended after the close leave a timer"
    );
}
