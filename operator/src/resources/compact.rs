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

impl ShrinkToFit for super::Monitoring {
    fn shrink_to_fit(&mut self) {
        self.metrics.shrink_to_fit();
        self.drift_signals.shrink_to_fit();
        self.performance_signals.shrink_to_fit();
    }
}

impl ShrinkToFit for AISystemSpec {
    fn shrink_to_fit(&mut self) {
        self.roles.shrink_to_fit();
        self.techniques.shrink_to_fit();
        self.training_data.shrink_to_fit();
        self.input_data.shrink_to_fit();
        self.affected_parties.shrink_to_fit();
        self.regulations.shrink_to_fit();
        self.models.shrink_to_fit();
        self.monitoring.shrink_to_fit();
    }
}

impl ShrinkToFit for super::Risk {
    fn shrink_to_fit(&mut self) {
        self.controls.shrink_to_fit();
    }
}

impl ShrinkToFit for ImpactAssessmentSpec {
    fn shrink_to_fit(&mut self) {
        self.models.shrink_to_fit();
        self.affected_populations.shrink_to_fit();
        self.impacts.shrink_to_fit();
        self.risks.shrink_to_fit();
    }
}

impl ShrinkToFit for super::ControlEntry {
    fn shrink_to_fit(&mut self) {
        self.evidence.shrink_to_fit();
    }
}

impl ShrinkToFit for ControlBindingSpec {
    fn shrink_to_fit(&mut self) {
        self.systems.shrink_to_fit();
        self.controls.shrink_to_fit();
    }
}
