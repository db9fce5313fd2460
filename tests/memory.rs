//! Memory under repeated bursts of reviews, in a test binary of its own: RSS is per process,
//! so no other test may allocate beside it while it measures.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "support/harness.rs"]
mod harness;
#[path = "support/https.rs"]
mod https;
mod support;

use support::*;

fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .unwrap()
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .expect("VmRSS in /proc/self/status")
}

/// Memory under bursts: a burst may cost memory once, but the next identical burst must not
/// cost more (no per-review leak: 6,000 reviews would show even 700 bytes each, less than
/// one review body).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bursts_of_reviews_do_not_grow_memory() {
    let h = harness::serve_snapshot(lending()).await;
    let review = fixture("deployment-create.json");
    let burst = || {
        let (addr, ca, review) = (h.server.addr, h.ca.der(), review.clone());
        async move {
            let mut tasks = Vec::new();
            for _ in 0..10 {
                let (ca, review) = (ca.clone(), review.clone());
                tasks.push(tokio::spawn(async move {
                    let mut client = https::Client::try_connect_trusting(addr, ca).await.unwrap();
                    for _ in 0..600 {
                        let (status, _) = client.post_json("/validate", &review).await;
                        assert_eq!(status, 200);
                    }
                }));
            }
            for task in tasks {
                task.await.unwrap();
            }
        }
    };
    burst().await;
    let after_first = rss_kib();
    burst().await;
    let after_second = rss_kib();
    let grown = after_second.saturating_sub(after_first);
    assert!(
        grown < 4 * 1024,
        "RSS grew by {grown} KiB over the second burst of 6,000 reviews ({after_first} -> {after_second} KiB)"
    );
}
