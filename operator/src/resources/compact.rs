//! Releasing the spare capacity that deserializing leaves in lists. serde grows a list by
//! doubling as it reads (JSON gives no length up front), so one model takes room for four and
//! six controls room for eight; the register holds tens of thousands of these objects for as
//! long as the process runs, and the spare room was a tenth of its memory.

use super::{AISystemSpec, ControlBindingSpec, ImpactAssessmentSpec};

/// Gives back spare list capacity, keeping every value.
pub trait ShrinkToFit {
    /// Shrinks every list to its length.
    fn shrink_to_fit(&mut self);
}

impl<T: ShrinkToFit> ShrinkToFit for Vec<T> {
    fn shrink_to_fit(&mut self) {
        self.iter_mut().for_each(ShrinkToFit::shrink_to_fit);
        Vec::shrink_to_fit(self);
    }
}

impl<T: ShrinkToFit> ShrinkToFit for Option<T> {
    fn shrink_to_fit(&mut self) {
        if let Some(value) = self {
            value.shrink_to_fit();
        }
    }
}

/// Lists of leaves: only the list itself has room to give back (strings read from JSON are
/// allocated at their length).
macro_rules! leaf {
    ($($leaf:ty),*) => {$(
        impl ShrinkToFit for $leaf {
            fn shrink_to_fit(&mut self) {}
        }
    )*};
}
leaf!(
    String,
    super::OrganisationRole,
    super::DataSource,
    super::Model,
    super::CoveredModel,
    super::Impact,
    super::Evidence
);

/// Types whose lists are the named fields. The trait's method is named in full because
/// `Vec`'s own `shrink_to_fit` would win the method call and skip the elements' lists.
macro_rules! lists {
    ($($owner:ty { $($field:ident),* })*) => {$(
        impl ShrinkToFit for $owner {
            fn shrink_to_fit(&mut self) {
                $(ShrinkToFit::shrink_to_fit(&mut self.$field);)*
            }
        }
    )*};
}
lists!(
    super::Monitoring { metrics, drift_signals, performance_signals }
    AISystemSpec {
        roles, techniques, training_data, input_data, affected_parties, regulations, models,
        monitoring
    }
    super::Risk { controls }
    ImpactAssessmentSpec { models, affected_populations, impacts, risks }
    super::ControlEntry { evidence }
    ControlBindingSpec { systems, controls }
);

#[cfg(test)]
mod tests {
    use crate::engine::Snapshot;
    use crate::resources::{AISystem, ControlBinding, ImpactAssessment};

    fn read<T: serde::de::DeserializeOwned>(json: serde_json::Value) -> T {
        // From text, as a watch delivers objects: lists are grown while read.
        serde_json::from_str(&json.to_string()).expect("object")
    }

    fn meta(name: &str) -> serde_json::Value {
        serde_json::json!({"name": name, "namespace": "ml"})
    }

    /// Every list the register holds, nested ones included, keeps no spare room: the
    /// register's memory target depends on it.
    #[test]
    fn the_register_holds_lists_without_spare_room() {
        let mut snapshot = Snapshot::new();
        snapshot.add_system(read::<AISystem>(serde_json::json!({
            "apiVersion": "aims.io/v1alpha1", "kind": "AISystem", "metadata": meta("s"),
            "spec": {"displayName": "S", "riskTier": "High", "lifecycleStage": "Operation",
                "techniques": ["a", "b", "c", "d", "e"],
                "models": [{"name": "m", "version": "1"}],
                "monitoring": {"metrics": ["x"], "driftSignals": ["y"], "performanceSignals": ["z"]}}
        })));
        snapshot.add_assessment(read::<ImpactAssessment>(serde_json::json!({
            "apiVersion": "aims.io/v1alpha1", "kind": "ImpactAssessment", "metadata": meta("a"),
            "spec": {"systemRef": "s", "models": [{"version": "1"}],
                "risks": [{"id": "R1", "description": "d", "likelihood": 1, "severity": 1,
                    "treatment": "Mitigate", "controls": ["A.5.4"]}]}
        })));
        snapshot.add_binding(read::<ControlBinding>(serde_json::json!({
            "apiVersion": "aims.io/v1alpha1", "kind": "ControlBinding", "metadata": meta("b"),
            "spec": {"systems": ["s"], "controls": [{"id": "A.5.4", "applicability": "Applicable",
                "evidence": [{"description": "e"}]}]}
        })));
        let tight = |what: &str, len: usize, capacity: usize| {
            assert_eq!(
                capacity, len,
                "{what} keeps room for {capacity} entries, holds {len}"
            );
        };
        let system = &snapshot.system("ml", "s").expect("system").spec;
        tight(
            "techniques",
            system.techniques.len(),
            system.techniques.capacity(),
        );
        tight("models", system.models.len(), system.models.capacity());
        let monitoring = system.monitoring.as_ref().expect("monitoring");
        tight(
            "metrics",
            monitoring.metrics.len(),
            monitoring.metrics.capacity(),
        );
        let assessment = &snapshot.assessments_for("ml", "s")[0].spec;
        tight("risks", assessment.risks.len(), assessment.risks.capacity());
        let risk = &assessment.risks[0];
        tight(
            "a risk's controls",
            risk.controls.len(),
            risk.controls.capacity(),
        );
        let binding = &snapshot.binding("ml", "b").expect("binding").spec;
        tight(
            "controls",
            binding.controls.len(),
            binding.controls.capacity(),
        );
        let evidence = &binding.controls[0].evidence;
        tight("a control's evidence", evidence.len(), evidence.capacity());
    }
}
