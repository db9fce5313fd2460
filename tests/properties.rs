//! Property: in enforce mode a workload is allowed only if its system exists, has an owner,
//! declares monitoring and has an approved, unexpired, unaltered assessment covering the
//! deployed model version — for arbitrary registers and workloads.

use crate::support;

use aims_operator::engine::assessment::{content_hash, version_matches};
use aims_operator::engine::{Snapshot, evaluate_object};
use aims_operator::policy::Policy;
use aims_operator::resources::*;
use jiff::{SignedDuration, Timestamp};
use proptest::prelude::*;
use serde_json::json;
use support::*;

const VERSIONS: &[&str] = &["1.0.0", "1.0.1", "1.1.0", "2.0.0"];
const PATTERNS: &[&str] = &["1.0.0", "1.0.x", "1.x", "*", "2.0.0", "1.1.*"];

#[derive(Debug, Clone)]
struct AssessmentCase {
    pattern: usize,
    decision: Option<bool>,
    stamped: bool,
    tampered: bool,
    self_approved: bool,
    expires_in_hours: i64,
    other_system: bool,
}

fn assessment_case() -> impl Strategy<Value = AssessmentCase> {
    (
        0..PATTERNS.len(),
        prop::option::of(any::<bool>()),
        any::<bool>(),
        any::<bool>(),
        any::<bool>(),
        -48i64..48,
        any::<bool>(),
    )
        .prop_map(
            |(
                pattern,
                decision,
                stamped,
                tampered,
                self_approved,
                expires_in_hours,
                other_system,
            )| AssessmentCase {
                pattern,
                decision,
                stamped,
                tampered,
                self_approved,
                expires_in_hours,
                other_system,
            },
        )
}

fn build(case: &AssessmentCase, i: usize, now: Timestamp) -> ImpactAssessment {
    let system = if case.other_system { "other" } else { "s" };
    let mut a =
        assessment(&format!("a{i}"), system, &[PATTERNS[case.pattern]]).authored_by("alice");
    a.spec.valid_until = now
        .checked_add(SignedDuration::from_hours(case.expires_in_hours))
        .ok();
    if let Some(approved) = case.decision {
        let hash = content_hash(&a.spec);
        a.spec.approval = Some(Approval {
            decision: if approved {
                Decision::Approved
            } else {
                Decision::Rejected
            },
            comment: None,
            decided_by: case.stamped.then(|| {
                if case.self_approved {
                    "alice".to_string()
                } else {
                    "bob".to_string()
                }
            }),
            decided_at: case.stamped.then(|| ts("2026-11-01T00:00:00Z")),
            content_hash: case.stamped.then_some(hash),
            system_fields: Default::default(),
        });
    }
    if case.tampered {
        a.spec.summary = Some("edited after approval".into());
    }
    a
}

/// The independent statement of what makes an assessment count.
fn counts(case: &AssessmentCase, version: &str) -> bool {
    case.decision == Some(true)
        && case.stamped
        && !case.tampered
        && !case.self_approved
        && case.expires_in_hours > 0
        && !case.other_system
        && version_matches(PATTERNS[case.pattern], version)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn nothing_lacking_an_approved_matching_assessment_gets_in(
        registered in any::<bool>(),
        owner in any::<bool>(),
        monitoring in any::<bool>(),
        version in 0..VERSIONS.len(),
        cases in prop::collection::vec(assessment_case(), 0..4),
        label_system in any::<bool>(),
    ) {
        let now = now();
        let mut snapshot = Snapshot::new();
        if registered {
            let mut sys = system("s").owned_by(owner.then_some("Owner"));
            if !monitoring {
                sys = sys.without_monitoring();
            }
            snapshot.add_system(sys);
        }
        for (i, case) in cases.iter().enumerate() {
            snapshot.add_assessment(build(case, i, now));
        }
        let workload = deployment("d", label_system.then_some("s"), Some(VERSIONS[version]), &model_image());
        let verdict = evaluate_object(&snapshot, &workload, NS, &Policy::default(), now).expect("workload");
        let covered = cases.iter().any(|c| counts(c, VERSIONS[version]));
        if verdict.allowed && verdict.system.is_some() {
            prop_assert!(registered && owner && monitoring && covered, "wrongly admitted: {}", verdict.message());
        }
        // Conversely, a fully compliant minimal-risk workload is admitted.
        if label_system && registered && owner && monitoring && covered {
            prop_assert!(verdict.allowed, "wrongly refused: {}", verdict.message());
        }
    }
}

/// One binding entry, drawn from every way an entry can be met or not.
fn entry_case() -> impl Strategy<Value = ControlEntry> {
    let ids = Policy::default().required_controls[&RiskTier::High].clone();
    (
        prop::sample::select(ids),
        0..7u8,
        any::<bool>(),
        prop::option::of(-48i64..48),
    )
        .prop_map(|(id, shape, evidence, due_in_hours)| {
            let due = |h: i64| now().checked_add(SignedDuration::from_hours(h)).ok();
            let implemented = |status| {
                Some(Implementation {
                    description: "done".into(),
                    status,
                })
            };
            let (applicability, exclusion, implementation) = match shape {
                0 => (Applicability::Excluded, None, None),
                1 => (
                    Applicability::Excluded,
                    Some(Box::new(Exclusion {
                        accepted_by: Some("bob".into()),
                        until: due_in_hours.and_then(due),
                    })),
                    None,
                ),
                2 => (Applicability::Applicable, None, None),
                3 => (
                    Applicability::Applicable,
                    None,
                    implemented(ImplementationStatus::Planned),
                ),
                _ => (
                    Applicability::Applicable,
                    None,
                    implemented(ImplementationStatus::Implemented),
                ),
            };
            ControlEntry {
                id,
                applicability,
                justification: Some("why".into()),
                exclusion,
                implementation,
                evidence: if evidence {
                    vec![Evidence {
                        description: "report".into(),
                        uri: None,
                        reviewed_at: None,
                        next_review: due_in_hours.and_then(due),
                    }]
                } else {
                    vec![]
                },
            }
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    /// The admission gate reads every required control's state in one pass over the
    /// bindings; the SoA and the status read one control at a time with its words. For any
    /// bindings (several, repeated IDs, every kind of entry) both must give each control the
    /// same state, or the webhook and the auditor's report would disagree.
    #[test]
    fn the_gate_and_the_soa_give_every_control_the_same_state(
        bindings in prop::collection::vec(prop::collection::vec(entry_case(), 0..8), 0..4),
        owner in any::<bool>(),
    ) {
        use aims_operator::engine::controls::{control_outcome, control_states};
        let now = now();
        let mut snapshot = Snapshot::new();
        snapshot.add_system(system("s").owned_by(owner.then_some("Owner")));
        for (i, entries) in bindings.into_iter().enumerate() {
            let mut b = binding(&format!("b{i}"), &["s"], &[]);
            b.spec.controls = entries;
            snapshot.add_binding(b);
        }
        let policy = Policy::default();
        let ids = policy.required_controls[&RiskTier::High].clone();
        let system = snapshot.system(NS, "s").expect("system").clone();
        let states = control_states(&snapshot, &system, &ids, &policy, now);
        for (id, state) in ids.iter().zip(states) {
            let outcome = control_outcome(&snapshot, &system, id, &policy, now);
            prop_assert_eq!(state, outcome.state, "{}: {}", id, outcome.message);
        }
    }
}

/// Any JSON value, built from the keys and values the workload readers look at.
fn json_value() -> impl Strategy<Value = serde_json::Value> {
    use serde_json::Value;
    const KEYS: &[&str] = &[
        "kind",
        "metadata",
        "spec",
        "name",
        "generateName",
        "namespace",
        "labels",
        "annotations",
        "deletionTimestamp",
        "ownerReferences",
        "controller",
        "template",
        "jobTemplate",
        "containers",
        "initContainers",
        "ephemeralContainers",
        "image",
        "predictor",
        "storageUri",
        "aims.io/system",
        "aims.io/break-glass-reason",
        "model",
    ];
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        (-3i64..3).prop_map(Value::from),
        prop::sample::select(vec![
            "",
            "a",
            "Deployment",
            "reg/m@sha256:ab",
            "vllm/vllm:1",
            "é\"\\"
        ])
        .prop_map(Value::from),
    ];
    leaf.prop_recursive(4, 48, 5, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..3).prop_map(Value::Array),
            prop::collection::btree_map(prop::sample::select(KEYS), inner, 0..5).prop_map(|m| {
                Value::Object(m.into_iter().map(|(k, v)| (k.to_string(), v)).collect())
            }),
        ]
    })
}

/// A workload of a judged kind (or not), then broken in up to four places.
fn workload_object() -> impl Strategy<Value = serde_json::Value> {
    const KINDS: &[&str] = &[
        "Deployment",
        "Pod",
        "CronJob",
        "Job",
        "StatefulSet",
        "DaemonSet",
        "ReplicaSet",
        "InferenceService",
        "ConfigMap",
    ];
    const PATHS: &[&str] = &[
        "/kind",
        "/metadata",
        "/metadata/name",
        "/metadata/namespace",
        "/metadata/labels",
        "/metadata/labels/aims.io~1system",
        "/metadata/annotations",
        "/metadata/deletionTimestamp",
        "/metadata/ownerReferences",
        "/spec",
        "/spec/template",
        "/spec/template/metadata",
        "/spec/template/metadata/labels",
        "/spec/template/spec",
        "/spec/template/spec/containers",
        "/spec/containers",
        "/spec/jobTemplate",
        "/spec/jobTemplate/spec/template",
        "/spec/predictor",
        "/spec/initContainers",
    ];
    (
        prop::sample::select(KINDS),
        prop::collection::vec((prop::sample::select(PATHS), json_value()), 0..4),
        any::<bool>(),
    )
        .prop_map(|(kind, breaks, owned)| {
            let container = json!([{ "name": "c", "image": "reg/m@sha256:ab" }]);
            let template = json!({ "metadata": { "labels": { SYSTEM_LABEL: "s" } },
                "spec": { "containers": container, "initContainers": [{ "name": "i", "image": "busybox" }] } });
            let spec = match kind {
                "Pod" => json!({ "containers": container }),
                "CronJob" => json!({ "jobTemplate": { "spec": { "template": template } } }),
                "InferenceService" => json!({ "predictor": { "model": { "storageUri": "s3://m" } } }),
                _ => json!({ "replicas": 2, "template": template }),
            };
            let mut object = json!({ "apiVersion": "v1", "kind": kind,
                "metadata": { "name": "w", "labels": { SYSTEM_LABEL: "s" }, "managedFields": [{ "manager": "kubectl" }] },
                "spec": spec, "status": { "replicas": 1 } });
            if owned {
                object["metadata"]["ownerReferences"] =
                    json!([{ "kind": "ReplicaSet", "name": "rs", "controller": true }]);
            }
            for (path, value) in breaks {
                if let Some(slot) = object.pointer_mut(path) {
                    *slot = value;
                }
            }
            object
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2048, ..ProptestConfig::default() })]

    /// The webhook reads a workload from the review's text with a typed reader; the CLI and
    /// the reconciler read it from parsed JSON. For any object, well-formed or broken in any
    /// of the places the rules look, both must read the same workload or the same error.
    #[test]
    fn the_text_reader_and_the_tree_reader_agree(object in workload_object()) {
        use aims_operator::engine::Workload;
        let text = serde_json::to_string(&object).expect("json");
        prop_assert_eq!(
            Workload::from_json(&text, "default-ns"),
            Workload::from_value(&object, "default-ns"),
            "{}", text
        );
    }
}

/// How a review is broken where the envelope, or a string the rules read, is.
#[derive(Debug, Clone)]
enum Breakage {
    /// The field set to this value (added where it was absent).
    Set(serde_json::Value),
    /// The field removed.
    Remove,
    /// The string written with its first character as a `\u` escape: the same text.
    Escape,
    /// The key written twice at the start of the request, the first time with this value.
    Repeat(serde_json::Value),
}

const ENVELOPE: &[&str] = &[
    "/apiVersion",
    "/kind",
    "/request",
    "/request/uid",
    "/request/kind",
    "/request/kind/group",
    "/request/kind/kind",
    "/request/resource",
    "/request/resource/resource",
    "/request/subResource",
    "/request/name",
    "/request/namespace",
    "/request/operation",
    "/request/userInfo",
    "/request/userInfo/username",
    "/request/userInfo/groups",
    "/request/userInfo/groups/0",
    "/request/userInfo/extra",
    "/request/object",
    "/request/oldObject",
    "/request/dryRun",
    "/request/options",
    "/request/object/kind",
    "/request/object/metadata/name",
    "/request/object/metadata/labels/aims.io~1system",
    "/request/object/spec/template/metadata/labels/aims.io~1model-version",
    "/request/object/spec/template/spec/containers/0/image",
];

fn breakage() -> impl Strategy<Value = Breakage> {
    let small = prop_oneof![
        Just(json!(null)),
        Just(json!(7)),
        Just(json!(true)),
        Just(json!([])),
        Just(json!({})),
        Just(json!("x")),
        Just(json!("UPDATE")),
        Just(json!(["dev-team"])),
        Just(json!({"kind": "Deployment", "metadata": {"name": "other"}})),
    ];
    prop_oneof![
        small.clone().prop_map(Breakage::Set),
        Just(Breakage::Remove),
        Just(Breakage::Escape),
        small.prop_map(Breakage::Repeat),
    ]
}

/// The recorded review with `breaks` applied, as compact or indented JSON text.
fn broken_review(breaks: &[(&str, Breakage)], pretty: bool) -> String {
    use serde_json::Value;
    let mut review = fixture("deployment-create.json");
    let mut escapes = Vec::new();
    let mut repeats = Vec::new();
    for (path, breakage) in breaks {
        let (parent, key) = path.rsplit_once('/').expect("a pointer");
        let key = key.replace("~1", "/");
        match breakage {
            Breakage::Set(value) => match review.pointer_mut(parent) {
                Some(Value::Object(map)) => {
                    map.insert(key, value.clone());
                }
                Some(Value::Array(items)) => {
                    if let Some(item) = key.parse::<usize>().ok().and_then(|i| items.get_mut(i)) {
                        *item = value.clone();
                    }
                }
                _ => {}
            },
            Breakage::Remove => match review.pointer_mut(parent) {
                Some(Value::Object(map)) => {
                    map.remove(&key);
                }
                Some(Value::Array(items)) => {
                    if let Some(i) = key.parse::<usize>().ok().filter(|i| *i < items.len()) {
                        items.remove(i);
                    }
                }
                _ => {}
            },
            Breakage::Escape => {
                if let Some(slot) = review.pointer_mut(path)
                    && let Some(text) = slot.as_str().filter(|t| t.is_ascii() && !t.is_empty())
                {
                    let marker = format!("ESCAPED-{}", escapes.len());
                    let (first, rest) = text.split_at(1);
                    let written = serde_json::to_string(rest).expect("json");
                    escapes.push((
                        format!("\"{marker}\""),
                        format!("\"\\u{:04x}{}", first.as_bytes()[0], &written[1..]),
                    ));
                    *slot = json!(marker);
                }
            }
            Breakage::Repeat(value) if parent == "/request" => {
                repeats.push(format!("{}:{},", json!(key), value));
            }
            Breakage::Repeat(_) => {}
        }
    }
    let mut text = if pretty {
        serde_json::to_string_pretty(&review).expect("json")
    } else {
        serde_json::to_string(&review).expect("json")
    };
    for (marker, escaped) in escapes {
        text = text.replace(&marker, &escaped);
    }
    if !repeats.is_empty() {
        let at = text
            .find("\"request\"")
            .and_then(|at| text[at..].find('{').map(|b| at + b + 1));
        if let Some(at) = at {
            text.insert_str(at, &repeats.concat());
        }
    }
    text
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2048, ..ProptestConfig::default() })]

    /// How a review is written must not change its answer: for any review, its envelope or
    /// the strings the rules read broken (missing, null, of the wrong type, escaped),
    /// indented or not, `/validate` answers byte for byte as it answers the same review
    /// written compactly without escapes. A key written twice is read by its last value or
    /// the review refused, never read some other way.
    #[test]
    fn how_a_review_is_written_does_not_change_its_answer(
        breaks in prop::collection::vec((prop::sample::select(ENVELOPE), breakage()), 0..4),
        pretty in any::<bool>(),
    ) {
        use aims_operator::webhook::review::{read_review, write_review};
        use aims_operator::webhook::workloads::review_workload;
        let body = broken_review(&breaks, pretty);
        let ctx = webhook_context();
        let answer = |body: &[u8]| {
            read_review("application/json", body)
                .map(|request| write_review(&review_workload(&ctx, &request, now()).response))
        };
        let written = answer(body.as_bytes());
        // A key repeated into an empty request leaves a trailing comma: not JSON, refused.
        let Ok(tree) = serde_json::from_str::<serde_json::Value>(&body) else {
            prop_assert!(written.is_err(), "{}", body);
            return Ok(());
        };
        let canonical = tree.to_string();
        let repeated = breaks.iter().any(|(_, b)| matches!(b, Breakage::Repeat(_)));
        if repeated && written != answer(canonical.as_bytes()) {
            let refused = match &written {
                Err(_) => true,
                Ok(text) => text.contains(r#""allowed":false"#),
            };
            prop_assert!(refused, "{}", body);
        } else {
            prop_assert_eq!(written, answer(canonical.as_bytes()), "{}", body);
        }
    }
}

#[test]
fn escaped_and_repeated_fields_are_written_as_intended() {
    let escaped = broken_review(&[("/request/operation", Breakage::Escape)], false);
    assert!(
        escaped.contains(r#""operation":"\u0043REATE""#),
        "{escaped}"
    );
    let repeated = broken_review(&[("/request/uid", Breakage::Repeat(json!(7)))], true);
    let at = repeated.find(r#""uid":7,"#).expect("repeated");
    assert!(repeated[at..].contains(r#""uid": "2c633cbd"#), "{repeated}");
    // Both still read as the recorded review, escapes undone.
    let value: serde_json::Value = serde_json::from_str(&escaped).unwrap();
    assert_eq!(value["request"]["operation"], "CREATE");
}

fn webhook_context() -> aims_operator::webhook::Context {
    use aims_operator::webhook::{ClusterCache, Context};
    let mut ctx = Context::new(
        std::sync::Arc::new(ClusterCache::from_snapshot(lending())),
        Policy::default(),
        "aims-system",
    );
    ctx.clock = Box::new(now);
    ctx
}

/// JSON may repeat a key or write one with escapes; the API server does neither, but the
/// webhook, reading text, must not be fooled either way: it reads what the parsed tree holds
/// (the last value of a repeated key, an escaped key as the key it spells).
#[test]
fn a_repeated_or_escaped_key_reads_as_the_tree_holds_it() {
    use aims_operator::engine::Workload;
    for text in [
        r#"{"kind":"Pod","metadata":{"labels":{"aims.io/system":"a"},"labels":{"aims.io/system":"b"}}}"#,
        r#"{"kind":"Pod","metadata":{"labels":{"aims.io/system":"a","aims.io/system":"b"}}}"#,
        r#"{"kind":"ConfigMap","kind":"Pod","metadata":{"name":"x"}}"#,
        r#"{"kind":"Pod","metadata":{"labels":{"z":"1","aims.io/system":"a","m":"2","aims.io/system":"b"}}}"#,
        r#"{"kind":"Pod","metadata":{"labels":{"aims.io\/system":"b"}}}"#,
        r#"{"kind":"Pod","metadata":{"lab\u0065ls":{"aims.io/system":"b"}}}"#,
    ] {
        let tree: serde_json::Value = serde_json::from_str(text).unwrap();
        let read = Workload::from_json(text, "ns");
        assert_eq!(read, Workload::from_value(&tree, "ns"), "{text}");
        let read = read.expect(text);
        assert_eq!(read.kind, "Pod", "{text}");
        if text.contains("lab") {
            assert_eq!(read.label("aims.io/system"), Ok(Some("b")), "{text}");
        }
    }
}

/// One change the watches can make to the register.
#[derive(Debug, Clone)]
enum Change {
    AddSystem(usize),
    RemoveSystem(usize),
    /// Assessment `i` naming system `j`.
    AddAssessment(usize, usize),
    RemoveAssessment(usize),
    /// Binding `i` naming the systems whose bits are set, and all of them when `true`.
    AddBinding(usize, u8, bool),
    RemoveBinding(usize),
    /// A relist of one kind: 0 systems, 1 assessments, 2 bindings.
    Clear(u8),
}

const NAMES: usize = 3;

fn change() -> impl Strategy<Value = Change> {
    prop_oneof![
        (0..NAMES).prop_map(Change::AddSystem),
        (0..NAMES).prop_map(Change::RemoveSystem),
        (0..NAMES, 0..NAMES).prop_map(|(i, j)| Change::AddAssessment(i, j)),
        (0..NAMES).prop_map(Change::RemoveAssessment),
        (0..NAMES, 0u8..8, any::<bool>()).prop_map(|(i, s, all)| Change::AddBinding(i, s, all)),
        (0..NAMES).prop_map(Change::RemoveBinding),
        (0u8..3).prop_map(Change::Clear),
    ]
}

fn bound_binding(i: usize, systems: u8, all: bool) -> ControlBinding {
    let names: Vec<String> = (0..NAMES)
        .filter(|j| systems & (1 << j) != 0)
        .map(|j| format!("s{j}"))
        .collect();
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    let mut b = binding(&format!("b{i}"), &names, &["A.5.4"]);
    b.spec.all_systems = all.then_some(true);
    b
}

/// Everything a decision, the status and the SoA read from the register, in a form that does
/// not depend on the order changes arrived in.
fn view(s: &Snapshot) -> Vec<String> {
    use kube::ResourceExt;
    let mut seen = vec![format!("len {}", s.len())];
    seen.push(format!("names {:?}", {
        let mut n = s.system_names_in(NS);
        n.sort();
        n
    }));
    seen.push(format!(
        "systems {:?}",
        s.systems().iter().map(|x| x.name_any()).collect::<Vec<_>>()
    ));
    seen.push(format!(
        "assessments {:?}",
        s.assessments()
            .iter()
            .map(|x| x.name_any())
            .collect::<Vec<_>>()
    ));
    let mut bindings: Vec<String> = s.bindings().map(|b| b.name_any()).collect();
    bindings.sort();
    seen.push(format!("bindings {bindings:?}"));
    for j in 0..NAMES {
        let name = format!("s{j}");
        let mut bound: Vec<String> = s.bindings_for(NS, &name).map(|b| b.name_any()).collect();
        bound.sort();
        seen.push(format!(
            "{name}: exists {} assessed by {:?} bound by {bound:?} binding b{j} {:?} assessment a{j} names {:?}",
            s.system(NS, &name).is_some(),
            s.assessments_for(NS, &name).iter().map(|a| a.name_any()).collect::<Vec<_>>(),
            s.binding(NS, &format!("b{j}")).map(|b| b.spec.systems.clone()),
            s.assessment_system(NS, &format!("a{j}")),
        ));
    }
    seen
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// The register after any sequence of watch events and relists reads exactly as one built
    /// from the objects that remain: no removal leaves a stale entry, no relist loses a
    /// system's other objects.
    #[test]
    fn the_register_after_any_changes_reads_as_one_built_from_what_remains(
        changes in prop::collection::vec(change(), 0..40)
    ) {
        let mut updated = Snapshot::new();
        let mut systems = std::collections::BTreeMap::new();
        let mut assessments = std::collections::BTreeMap::new();
        let mut bindings = std::collections::BTreeMap::new();
        for change in changes {
            match change {
                Change::AddSystem(i) => {
                    updated.add_system(system(&format!("s{i}")));
                    systems.insert(i, ());
                }
                Change::RemoveSystem(i) => {
                    updated.remove_system(NS, &format!("s{i}"));
                    systems.remove(&i);
                }
                Change::AddAssessment(i, j) => {
                    let a = assessment(&format!("a{i}"), &format!("s{j}"), &["1.0.0"]);
                    updated.add_assessment(a.clone());
                    assessments.insert(i, a);
                }
                Change::RemoveAssessment(i) => {
                    updated.remove_assessment(NS, &format!("a{i}"));
                    assessments.remove(&i);
                }
                Change::AddBinding(i, s, all) => {
                    let b = bound_binding(i, s, all);
                    updated.add_binding(b.clone());
                    bindings.insert(i, b);
                }
                Change::RemoveBinding(i) => {
                    updated.remove_binding(NS, &format!("b{i}"));
                    bindings.remove(&i);
                }
                Change::Clear(0) => {
                    updated.clear_systems();
                    systems.clear();
                }
                Change::Clear(1) => {
                    updated.clear_assessments();
                    assessments.clear();
                }
                Change::Clear(_) => {
                    updated.clear_bindings();
                    bindings.clear();
                }
            }
        }
        let mut fresh = Snapshot::new();
        systems.keys().for_each(|i| fresh.add_system(system(&format!("s{i}"))));
        assessments.into_values().for_each(|a| fresh.add_assessment(a));
        bindings.into_values().for_each(|b| fresh.add_binding(b));
        prop_assert_eq!(view(&updated), view(&fresh));
    }
}

/// A step of a register's life: a change, or a decision at an hour offset from `now()`.
#[derive(Debug, Clone)]
enum Step {
    Decide {
        hours: i64,
        other_policy: bool,
    },
    AddAssessment(AssessmentCase),
    RemoveAssessment(usize),
    AddBinding(Vec<ControlEntry>, bool),
    RemoveBinding(usize),
    AddMonitor,
    System {
        owner: bool,
        high: bool,
    },
    /// A relist of one kind: 0 systems, 1 assessments, 2 bindings.
    Clear(u8),
    /// Namespace labels: no fact depends on them.
    Unrelated,
}

/// An assessment of system `s` that is approved (and current or not) half the time: the
/// general case is approved too rarely to exercise what decisions remember about approvals.
fn often_approved() -> impl Strategy<Value = AssessmentCase> {
    (assessment_case(), any::<bool>()).prop_map(|(mut case, approved)| {
        if approved {
            case.decision = Some(true);
            case.stamped = true;
            case.tampered = false;
            case.self_approved = false;
            case.other_system = false;
        }
        case
    })
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        6 => (-50i64..50, prop::bool::weighted(0.2))
            .prop_map(|(hours, other_policy)| Step::Decide { hours, other_policy }),
        1 => often_approved().prop_map(Step::AddAssessment),
        1 => (0..4usize).prop_map(Step::RemoveAssessment),
        1 => (prop::collection::vec(entry_case(), 0..6), any::<bool>())
            .prop_map(|(entries, all)| Step::AddBinding(entries, all)),
        1 => (0..3usize).prop_map(Step::RemoveBinding),
        1 => Just(Step::AddMonitor),
        1 => (any::<bool>(), any::<bool>()).prop_map(|(owner, high)| Step::System { owner, high }),
        1 => (0u8..3).prop_map(Step::Clear),
        1 => Just(Step::Unrelated),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1024))]

    /// A decision remembers what it worked out about the system regardless of the workload
    /// (owner, monitoring, required controls, which assessments are approved) for the next
    /// one. For any register, any changes and decisions at any times — forwards and back,
    /// exactly at an expiry, an exclusion's end or evidence falling due, under another
    /// policy — the decision with remembered facts is the one worked out afresh (on a copy
    /// of the snapshot, which starts with nothing remembered).
    #[test]
    fn remembered_system_facts_decide_as_facts_worked_out_afresh(
        cases in prop::collection::vec(often_approved(), 0..4),
        entries in prop::collection::vec(entry_case(), 0..8),
        steps in prop::collection::vec(step(), 1..32),
    ) {
        let mut snapshot = Snapshot::new();
        snapshot.add_system(system("s").tier(RiskTier::High));
        let mut assessments = 0;
        for case in &cases {
            snapshot.add_assessment(build(case, assessments, now()));
            assessments += 1;
        }
        let mut bindings = 0;
        let mut b = binding("b0", &["s"], &[]);
        b.spec.controls = entries;
        snapshot.add_binding(b);
        bindings += 1;
        let workload = deployment("d", Some("s"), Some("1.0.0"), &model_image());
        let policy = std::sync::Arc::new(Policy::default());
        snapshot.remember_facts_under(policy.clone());
        let mut other = Policy::default();
        other.required_controls.insert(RiskTier::High, vec!["A.5.4".into()]);
        // Approvals stamped on 2026-11-01 lapse 12 hours before now() under this policy.
        other.default_validity_days = 22;
        for step in steps {
            match step {
                Step::Decide { hours, other_policy } => {
                    let at = now().checked_add(SignedDuration::from_hours(hours)).expect("time");
                    let policy = if other_policy { &other } else { &*policy };
                    let remembered = evaluate_object(&snapshot, &workload, NS, policy, at).expect("workload");
                    let fresh = evaluate_object(&snapshot.clone(), &workload, NS, policy, at).expect("workload");
                    prop_assert_eq!(
                        serde_json::to_value(&remembered).expect("json"),
                        serde_json::to_value(&fresh).expect("json"),
                        "at {}", at
                    );
                }
                Step::AddAssessment(case) => {
                    snapshot.add_assessment(build(&case, assessments, now()));
                    assessments += 1;
                }
                Step::RemoveAssessment(i) => snapshot.remove_assessment(NS, &format!("a{i}")),
                Step::AddBinding(entries, all) => {
                    let mut b = binding(&format!("b{bindings}"), if all { &[] } else { &["s"] }, &[]);
                    b.spec.all_systems = all.then_some(true);
                    b.spec.controls = entries;
                    snapshot.add_binding(b);
                    bindings += 1;
                }
                Step::RemoveBinding(i) => snapshot.remove_binding(NS, &format!("b{i}")),
                Step::AddMonitor => snapshot.add_monitor(
                    NS,
                    aims_operator::engine::snapshot::Monitor {
                        kind: "ServiceMonitor".into(),
                        name: "other".into(),
                        systems: vec!["someone-else".into()],
                    },
                ),
                Step::System { owner, high } => snapshot.add_system(
                    system("s")
                        .owned_by(owner.then_some("Owner"))
                        .tier(if high { RiskTier::High } else { RiskTier::Limited }),
                ),
                Step::Clear(0) => snapshot.clear_systems(),
                Step::Clear(1) => snapshot.clear_assessments(),
                Step::Clear(_) => snapshot.clear_bindings(),
                Step::Unrelated => snapshot.add_namespace(NS, Default::default()),
            }
        }
    }
}
