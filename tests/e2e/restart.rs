//! The API server restarts under a running operator, and etcd is compacted while it is down
//! (as the API server's periodic compaction does): the watches the operator held are gone
//! (410 Gone), so it lists again, and no deployment is admitted on a view that missed a change
//! made after the restart: only within the watch's delay of a view rebuilt before the change,
//! the one window every cached webhook has. And a restarted operator lists a register longer
//! than one page whole. An API server that goes silent without closing its connections (its
//! node lost) leaves the operator's view unsynced within two minutes, not five or never.

use std::time::{Duration, Instant};

use jiff::{SignedDuration, Timestamp};
use serde_json::json;

use crate::audit::operator_requests;
use crate::cluster::{ControlPlane, User};
use crate::env::{Journey, becomes_ready, eventually, readiness};
use crate::objects::{deployment, system};

/// The resourceVersion of the list of AI systems in `ns` now.
fn list_version(plane: &ControlPlane, ns: &str) -> String {
    let list = plane
        .curl(
            User::Admin,
            &format!("/apis/aims.io/v1alpha1/namespaces/{ns}/aisystems"),
        )
        .unwrap();
    let list: serde_json::Value = serde_json::from_str(&list).unwrap();
    list["metadata"]["resourceVersion"]
        .as_str()
        .unwrap()
        .to_string()
}

/// The operator's lists of `resource` among `events`.
fn operator_lists(events: &[serde_json::Value], resource: &str) -> usize {
    operator_requests(events, &["list"])
        .iter()
        .filter(|e| e["objectRef"]["resource"] == resource)
        .count()
}

#[tokio::test]
async fn after_an_api_server_restart_and_etcd_compaction_no_change_is_missed() {
    let journey = Journey::start("e2e-restart", "enforce").await;
    let ns = journey.ns.clone();
    let ns = ns.as_str();
    crate::steps::running_scorer(&journey);

    let plane = journey.plane;
    let held = list_version(plane, ns);
    let since = plane.audit_events().len();
    let compacted = tokio::task::spawn_blocking(move || {
        let mut compacted = 0;
        plane.restart_apiserver(|| {
            std::thread::sleep(Duration::from_secs(2));
            compacted = plane.compact_etcd();
        });
        compacted
    })
    .await
    .unwrap();
    assert!(
        compacted > held.parse::<i64>().unwrap(),
        "compacted at {compacted}, not past {held}"
    );
    // A watch from where the operator's watches were is answered 410 Gone now.
    let resumed = plane.curl(
        User::Admin,
        &format!(
            "/apis/aims.io/v1alpha1/namespaces/{ns}/aisystems?watch=1&resourceVersion={held}&timeoutSeconds=2"
        ),
    );
    let answer = format!("{resumed:?}");
    assert!(
        answer.contains("410") || answer.contains("too old resource version"),
        "a watch from the compacted revision {held} was not refused: {answer}"
    );

    // The first thing after the restart: the assessment's content changes, voiding the
    // approval. From here on a deployment of the model is refused, whether the operator's
    // watches have reconnected yet or not; the one admission a cached view allows is within
    // the watch's delay of a view rebuilt before the change (`stale_admissions_explained`).
    let edit = json!({"spec": {"purpose": "also used for limits"}}).to_string();
    eventually(
        "the API server takes writes again",
        Duration::from_secs(60),
        || async {
            let out = journey.kubectl(
                User::Alice,
                &[
                    "patch",
                    "impactassessment",
                    "scoring-ia",
                    "--type=merge",
                    "-p",
                    &edit,
                ],
            );
            if out.success { Ok(()) } else { Err(out.stderr) }
        },
    )
    .await;
    let mut admitted = Vec::new();
    let mut refusals_by_rule = 0;
    for attempt in 0..30 {
        let sent = Timestamp::now();
        let out = journey.apply(
            User::Alice,
            &[deployment(
                ns,
                &format!("again-{attempt}"),
                "scoring",
                "1.0.0",
            )],
        );
        if out.success {
            assert_eq!(
                refusals_by_rule, 0,
                "attempt {attempt} admitted after the change was in force: {}",
                out.stdout
            );
            admitted.push((attempt, sent, Timestamp::now()));
        } else if out.stderr.contains("AIMS-003") {
            refusals_by_rule += 1; // refused by the rules, on the current view
        }
        if refusals_by_rule == 3 {
            break; // and it stays refused
        }
        assert!(
            attempt < 29,
            "never refused on the current view: {}",
            out.stderr
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let events = plane.audit_events();
    stale_admissions_explained(&events[since..], &admitted, refusals_by_rule);

    // The operator listed again rather than resuming from what is gone.
    assert!(
        operator_lists(&events[since..], "aisystems") > 0
            && operator_lists(&events[since..], "impactassessments") > 0,
        "the operator did not list AI systems and assessments again after the restart"
    );
    // The reconciler is back too: status follows the change.
    crate::steps::condition_becomes(
        &journey,
        "aisystem/scoring",
        "AssessmentApproved",
        "False",
        Duration::from_secs(30),
    )
    .await;
    journey.finish().await;
}

/// Longest a change may take to reach a current view by its watch, on this machine's shared
/// cores: steady state delivers it in milliseconds.
const WATCH_DELAY: SignedDuration = SignedDuration::from_secs(3);

/// An audit event's timestamp at `field`.
fn stamp(event: &serde_json::Value, field: &str) -> Timestamp {
    event[field].as_str().unwrap().parse().unwrap()
}

/// Fails unless every deployment `admitted` after the assessment changed (attempt, sent,
/// answered) was judged on a view the operator had rebuilt before the change and within
/// [`WATCH_DELAY`] of it: the change was on its way by watch, as any change is in steady
/// state. An admission on a view listed after the change, on no view at all (the operator
/// still unsynced), or long after the change is a view that missed it.
fn stale_admissions_explained(
    events: &[serde_json::Value],
    admitted: &[(usize, Timestamp, Timestamp)],
    refusals_by_rule: usize,
) {
    assert!(refusals_by_rule > 0, "never refused by the rules");
    let changed = events
        .iter()
        .filter(|e| {
            e["user"]["username"] == "alice"
                && e["verb"] == "patch"
                && e["objectRef"]["resource"] == "impactassessments"
                && e["responseStatus"]["code"] == 200
        })
        .map(|e| stamp(e, "stageTimestamp"))
        .max()
        .expect("the assessment's change in the audit log");
    let lists: Vec<(Timestamp, Timestamp)> = operator_requests(events, &["list"])
        .into_iter()
        .filter(|e| {
            e["objectRef"]["resource"] == "impactassessments" && e["responseStatus"]["code"] == 200
        })
        .map(|e| {
            (
                stamp(e, "requestReceivedTimestamp"),
                stamp(e, "stageTimestamp"),
            )
        })
        .collect();
    for (attempt, sent, answered) in admitted {
        let before: Vec<_> = lists.iter().filter(|(_, done)| done < answered).collect();
        assert!(
            !before.is_empty(),
            "attempt {attempt} admitted before the operator had listed assessments again"
        );
        assert!(
            before.iter().all(|(started, _)| *started < changed),
            "attempt {attempt} admitted on a view listed after the change ({changed}): {before:?}"
        );
        assert!(
            sent.duration_since(changed) < WATCH_DELAY,
            "attempt {attempt} admitted {} after the change",
            sent.duration_since(changed)
        );
    }
}

/// More AI systems than the operator lists in one page (`cache::LIST_PAGE`, 100).
const PAGED: usize = 150;

/// The systems of `ns` whose status the operator has written.
fn systems_with_status(plane: &ControlPlane, ns: &str) -> usize {
    let list = plane
        .kubectl(User::Admin, &["get", "aisystems", "-n", ns, "-o", "json"])
        .ok();
    let list: serde_json::Value = serde_json::from_str(&list).unwrap();
    list["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["status"]["observedGeneration"].is_i64())
        .count()
}

/// A restarted operator lists a register longer than one page in several pages and holds
/// all of it: a deployment of a system from a later page is judged as registered (refused
/// for want of an assessment), not refused as unknown.
#[tokio::test]
async fn a_register_longer_than_one_list_page_is_held_whole_after_a_restart() {
    let mut journey = Journey::start("e2e-restart-pages", "enforce").await;
    let ns = journey.ns.clone();
    let plane = journey.plane;
    let systems: Vec<serde_json::Value> = (0..PAGED)
        .map(|i| system(&ns, &format!("sys-{i:03}")))
        .collect();
    crate::env::admin_apply(plane, &systems);
    eventually(
        "every system's status written",
        Duration::from_secs(60),
        || async {
            match systems_with_status(plane, &ns) {
                PAGED => Ok(()),
                n => Err(format!("{n} of {PAGED}")),
            }
        },
    )
    .await;

    journey.operator.stop().await;
    let since = plane.audit_events().len();
    journey.start_operator_again().await;
    let last = format!("sys-{:03}", PAGED - 1);
    eventually(
        "the last system judged as registered",
        Duration::from_secs(60),
        || async {
            let refused = journey.apply(User::Alice, &[deployment(&ns, "scorer", &last, "1.0.0")]);
            if refused.success {
                return Err("admitted without an assessment".into());
            }
            match refused
                .stderr
                .contains("no approved, current impact assessment")
            {
                true => Ok(()),
                false => Err(refused.stderr),
            }
        },
    )
    .await;
    let events = plane.audit_events();
    let continued = operator_requests(&events[since..], &["list"])
        .into_iter()
        .filter(|e| {
            e["objectRef"]["resource"] == "aisystems"
                && e["requestURI"]
                    .as_str()
                    .is_some_and(|u| u.contains("continue="))
        })
        .count();
    assert!(
        continued > 0,
        "the systems were listed in one page: the test proves nothing"
    );
    journey.finish().await;
}

#[tokio::test]
async fn a_silent_api_server_leaves_the_view_unsynced_within_the_silence_bound() {
    let journey = Journey::start("e2e-silence", "enforce").await;
    let health = journey.operator.health_port;
    becomes_ready(health, "the operator ready", Duration::from_secs(30)).await;

    // Frozen, the API server keeps every connection open and sends nothing on it: the
    // operator's watches cannot tell that from a quiet cluster but by how long it lasts.
    let frozen = journey.plane.freeze("kube-apiserver");
    let since = Instant::now();
    let limit = aims_operator::cache::SILENCE_BOUND + Duration::from_secs(15);
    let body = loop {
        let (ready, body) = readiness(health).await;
        if !ready {
            break body;
        }
        assert!(
            since.elapsed() < limit,
            "the operator still ready {limit:?} after the API server went silent: its view stopped then"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    assert!(body.contains("caches not synced"), "{body}");
    crate::cluster::progress(&format!(
        "silence: the operator's view unsynced {:.1} s after the API server went silent",
        since.elapsed().as_secs_f64()
    ));

    // The API server answers again: the operator lists over new connections, is ready, and
    // judges on a view that holds what is made now.
    drop(frozen);
    becomes_ready(health, "the operator ready again", Duration::from_secs(90)).await;
    crate::steps::running_scorer(&journey);
    journey.finish().await;
}
