//! The decision for one workload, and the message a developer reads at `kubectl apply`.

use std::borrow::Cow;
use std::fmt::Write as _;

use serde::Serialize;

use super::breakglass::BreakGlassOutcome;
use super::rules::Finding;
use super::workload::owned;
use crate::resources::EnforcementMode;

/// Whether the engine judged a workload at all.
#[derive(Serialize, Clone, Debug, PartialEq, Eq)]
#[serde(tag = "scope", content = "reason", rename_all = "camelCase")]
pub enum Scope {
    /// The workload belongs, or must belong, to an AI system and was judged.
    Judged,
    /// The workload is outside enforcement (why).
    NotJudged(String),
}

/// The model a workload deploys, as far as it could be determined: its words borrowed from
/// the workload's labels where they come from there.
#[derive(Serialize, Clone, Debug, PartialEq, Eq)]
pub struct ModelRef<'a> {
    /// Model name, when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<Cow<'a, str>>,
    /// Model version.
    pub version: Cow<'a, str>,
}

impl ModelRef<'_> {
    /// The same model reference, owned.
    pub fn into_owned(self) -> ModelRef<'static> {
        ModelRef {
            name: self.name.map(owned),
            version: owned(self.version),
        }
    }

    /// The word before the version: the model's name, or "version" when it is unknown.
    fn lead(&self) -> &str {
        self.name.as_deref().unwrap_or("version")
    }

    /// The reference as [`Display`](std::fmt::Display) writes it, built without the
    /// formatting machinery (it is an audit annotation of every admission).
    pub fn text(&self) -> String {
        let lead = self.lead();
        let mut text = String::with_capacity(lead.len() + 1 + self.version.len());
        text.push_str(lead);
        text.push(' ');
        text.push_str(&self.version);
        text
    }
}

impl std::fmt::Display for ModelRef<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.lead(), self.version)
    }
}

/// The engine's answer for one workload. Its names are borrowed from the workload judged
/// (the webhook judges one per review and every allocation counts); [`Verdict::into_owned`]
/// keeps one beyond it.
#[derive(Serialize, Clone, Debug, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct Verdict<'a> {
    /// Kind of the workload.
    pub kind: Cow<'a, str>,
    /// Namespace of the workload.
    pub namespace: Cow<'a, str>,
    /// Name of the workload.
    pub name: Cow<'a, str>,
    /// Whether it was judged.
    #[serde(flatten)]
    pub scope: Scope,
    /// The AI system it belongs to, from its `aims.io/system` label.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub system: Option<Cow<'a, str>>,
    /// The model it deploys.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub model: Option<ModelRef<'a>>,
    /// The approved assessment that covers it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub assessment: Option<String>,
    /// Enforcement mode in force for it.
    pub mode: EnforcementMode,
    /// Why the weaker mode the AISystem asks for is not the one in force, and who can
    /// approve it (see `engine::relaxation`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mode_not_approved: Option<String>,
    /// Every rule it fails.
    pub findings: Vec<Finding>,
    /// Whether it may run.
    pub allowed: bool,
    /// What break-glass annotations did to the decision, when present on a refusal.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub break_glass: Option<BreakGlassOutcome>,
}

impl<'a> Verdict<'a> {
    pub(crate) fn new(
        kind: &'a str,
        namespace: &'a str,
        name: &'a str,
        mode: EnforcementMode,
    ) -> Self {
        Self {
            kind: Cow::Borrowed(kind),
            namespace: Cow::Borrowed(namespace),
            name: Cow::Borrowed(name),
            scope: Scope::Judged,
            system: None,
            model: None,
            assessment: None,
            mode,
            mode_not_approved: None,
            findings: Vec::new(),
            allowed: true,
            break_glass: None,
        }
    }

    /// The same verdict, owned, to be kept beyond the workload it judged.
    pub fn into_owned(self) -> Verdict<'static> {
        Verdict {
            kind: owned(self.kind),
            namespace: owned(self.namespace),
            name: owned(self.name),
            scope: self.scope,
            system: self.system.map(owned),
            model: self.model.map(ModelRef::into_owned),
            assessment: self.assessment,
            mode: self.mode,
            mode_not_approved: self.mode_not_approved,
            findings: self.findings,
            allowed: self.allowed,
            break_glass: self.break_glass,
        }
    }

    /// Settles `allowed` from the findings and the mode: only enforce mode refuses.
    pub(crate) fn settle(mut self) -> Self {
        self.findings.sort_by_key(|f| f.rule);
        self.allowed = self.findings.is_empty() || self.mode != EnforcementMode::Enforce;
        self
    }

    /// `Kind namespace/name`.
    pub fn workload_ref(&self) -> String {
        format!("{} {}/{}", self.kind, self.namespace, self.name)
    }

    /// Rule IDs of the findings, comma-separated.
    pub fn rule_ids(&self) -> String {
        self.findings
            .iter()
            .map(|f| f.rule.id())
            .collect::<Vec<_>>()
            .join(",")
    }

    /// The headline: which workload, which system and model, and the outcome.
    pub fn headline(&self) -> String {
        let mut context = Vec::new();
        if let Some(system) = &self.system {
            context.push(format!("AI system \"{system}\""));
        }
        if let Some(model) = &self.model {
            context.push(format!("model {model}"));
        }
        let context = if context.is_empty() {
            String::new()
        } else {
            format!(" ({})", context.join(", "))
        };
        let honoured = match &self.break_glass {
            Some(BreakGlassOutcome::Honoured {
                reason,
                expires,
                by,
            }) => Some(format!(
                "is admitted under break-glass by {by} until {expires} (\"{reason}\") but does not comply; \
                 it is reported as an open nonconformity until the break-glass annotations are removed:"
            )),
            _ => None,
        };
        let outcome = match (&self.scope, self.findings.is_empty(), self.allowed) {
            (Scope::NotJudged(reason), _, _) => format!("is not judged: {reason}"),
            (_, true, _) => match &self.assessment {
                Some(a) => format!("is allowed to run (assessment \"{a}\")"),
                None => "is allowed to run".to_string(),
            },
            (_, false, false) => "is not allowed to run:".to_string(),
            (_, false, true) if honoured.is_some() => honoured.unwrap_or_default(),
            (_, false, true) => format!(
                "is admitted in {} mode but does not comply:",
                self.mode.as_str()
            ),
        };
        format!("{}{context} {outcome}", self.workload_ref())
    }

    /// The full message: headline and one item per finding with reference and fix. This is
    /// what the webhook puts in `status.message` and what the CLI prints.
    pub fn message(&self) -> String {
        let mut out = self.headline();
        for f in &self.findings {
            let _ = write!(
                out,
                "\n- {} {} ({}).\n  Fix: {}",
                f.rule.id(),
                f.message,
                f.reference(),
                f.fix
            );
        }
        if let Some(BreakGlassOutcome::Ignored { why }) = &self.break_glass {
            let _ = write!(out, "\nThe break-glass annotations changed nothing: {why}.");
        }
        if let Some(why) = self
            .mode_not_approved
            .as_ref()
            .filter(|_| !self.findings.is_empty())
        {
            let _ = write!(out, "\n{why}");
        }
        out
    }

    /// One line per finding, for admission warnings, and why the system's own weaker mode
    /// did not apply.
    pub fn warnings(&self) -> Vec<String> {
        let mut lines: Vec<String> = self
            .findings
            .iter()
            .map(|f| {
                format!(
                    "{} {} ({}). Fix: {}",
                    f.rule.id(),
                    f.message,
                    f.reference(),
                    f.fix
                )
            })
            .collect();
        if !lines.is_empty() {
            lines.extend(self.mode_not_approved.clone());
        }
        lines
    }
}
