//! Replays every fuzz seed and every past finding (`fuzz/corpus/<target>/`,
//! `fuzz/regressions/<target>/`) through the fuzz targets' bodies, so CI proves on each
//! commit what fuzzing once explored. Fuzzing itself runs on demand: `fuzz/run`.
use crate::fuzzing;

use std::path::Path;

fn replay(target: &str, run: fn(&[u8])) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz");
    let mut replayed = 0;
    for folder in ["corpus", "regressions"] {
        let Ok(entries) = std::fs::read_dir(root.join(folder).join(target)) else {
            continue;
        };
        for entry in entries {
            let path = entry.unwrap().path();
            let data = std::fs::read(&path).unwrap();
            let outcome = std::panic::catch_unwind(|| run(&data));
            assert!(
                outcome.is_ok(),
                "{target}: {} breaks an invariant",
                path.display()
            );
            replayed += 1;
        }
    }
    assert!(
        replayed >= 3,
        "{target}: only {replayed} inputs; the seed corpus is missing"
    );
}

#[test]
fn admission_review_corpus() {
    replay("admission_review", fuzzing::admission_review);
}

#[test]
fn manifests_corpus() {
    replay("manifests", fuzzing::manifests);
}

#[test]
fn crd_object_corpus() {
    replay("crd_object", fuzzing::crd_object);
}

#[test]
fn soa_corpus() {
    replay("soa", fuzzing::soa);
}
