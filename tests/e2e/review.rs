//! A register entry past its review date shows on the real API server: the operator sets
//! ReviewOverdue with the date and the command that records a review, and clears it once
//! the review is recorded.

use std::time::Duration;

use serde_json::json;

use crate::cluster::User;
use crate::env::Journey;
use crate::objects::system;
use crate::steps::{condition_becomes, field};

#[tokio::test]
async fn an_entry_past_its_review_date_shows_as_review_overdue_until_reviewed() {
    let journey = Journey::start("e2e-review", "enforce").await;
    let ns = journey.ns.as_str();
    let mut overdue = system(ns, "scoring");
    overdue["spec"]["review"] = json!({"intervalDays": 30, "lastReviewed": "2026-01-05T09:00:00Z"});
    journey.apply(User::Admin, &[overdue]).ok();
    condition_becomes(
        &journey,
        "aisystem/scoring",
        "ReviewOverdue",
        "True",
        Duration::from_secs(30),
    )
    .await;
    let message = field(
        &journey,
        "aisystem/scoring",
        "{.status.conditions[?(@.type==\"ReviewOverdue\")].message}",
    );
    assert!(
        message.starts_with(
            "the register entry of AISystem \"scoring\" was due for review at 2026-02-04T09:00:00Z \
             (every 30 days; last reviewed 2026-01-05T09:00:00Z)"
        ),
        "{message}"
    );

    let now = jiff::Timestamp::now().to_string();
    let reviewed = json!({"spec": {"review": {"lastReviewed": now}}}).to_string();
    journey
        .kubectl(
            User::Admin,
            &[
                "patch", "aisystem", "scoring", "--type", "merge", "-p", &reviewed,
            ],
        )
        .ok();
    condition_becomes(
        &journey,
        "aisystem/scoring",
        "ReviewOverdue",
        "False",
        Duration::from_secs(30),
    )
    .await;
    journey.finish().await;
}
