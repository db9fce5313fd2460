//! The `examples/` folder, embedded so that `aims-operator demo` runs anywhere without files.
//! A test fails when this list and the folder differ.

/// (path, contents) of every example manifest, in path order.
pub static FILES: &[(&str, &str)] = &[
    ("examples/clinical-scheduling/aisystem.yaml", include_str!("../../examples/clinical-scheduling/aisystem.yaml")),
    ("examples/clinical-scheduling/assessments.yaml", include_str!("../../examples/clinical-scheduling/assessments.yaml")),
    ("examples/clinical-scheduling/controls.yaml", include_str!("../../examples/clinical-scheduling/controls.yaml")),
    ("examples/clinical-scheduling/namespace.yaml", include_str!("../../examples/clinical-scheduling/namespace.yaml")),
    ("examples/clinical-scheduling/workloads.yaml", include_str!("../../examples/clinical-scheduling/workloads.yaml")),
    ("examples/credit-scoring/aisystem.yaml", include_str!("../../examples/credit-scoring/aisystem.yaml")),
    ("examples/credit-scoring/assessment-2026q3.yaml", include_str!("../../examples/credit-scoring/assessment-2026q3.yaml")),
    ("examples/credit-scoring/controls.yaml", include_str!("../../examples/credit-scoring/controls.yaml")),
    ("examples/credit-scoring/namespace.yaml", include_str!("../../examples/credit-scoring/namespace.yaml")),
    ("examples/credit-scoring/workloads.yaml", include_str!("../../examples/credit-scoring/workloads.yaml")),
    ("examples/support-assistant/aisystem.yaml", include_str!("../../examples/support-assistant/aisystem.yaml")),
    ("examples/support-assistant/assessments.yaml", include_str!("../../examples/support-assistant/assessments.yaml")),
    ("examples/support-assistant/controls.yaml", include_str!("../../examples/support-assistant/controls.yaml")),
    ("examples/support-assistant/namespace.yaml", include_str!("../../examples/support-assistant/namespace.yaml")),
    ("examples/support-assistant/workloads.yaml", include_str!("../../examples/support-assistant/workloads.yaml")),
];
