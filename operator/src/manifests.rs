//! Reads Kubernetes manifests from files and folders (multi-document YAML or JSON) into a
//! [`Snapshot`] and a list of workloads. A bad document is reported with its file and
//! position and skipped; the rest is still read.

use std::collections::BTreeSet;
use std::fmt;
use std::path::{Path, PathBuf};

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::engine::Snapshot;
use crate::engine::workload::is_workload_kind;
use crate::resources::{
    AIIncident, AIManagementSystem, AISystem, API_VERSION, ControlBinding, GROUP, ImpactAssessment,
    InternalAudit, ManagementReview, Nonconformity,
};

/// Where a document came from.
#[derive(Serialize, Clone, Debug, PartialEq, Eq)]
pub struct Location {
    /// File path (or a name for embedded input).
    pub file: String,
    /// 1-based document number within the file.
    pub document: usize,
    /// 1-based line where the document starts.
    pub line: usize,
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Document 0 is the file (or folder) itself: it could not be read at all.
        if self.document == 0 {
            return write!(f, "{}", self.file);
        }
        write!(
            f,
            "{}:{} (document {})",
            self.file, self.line, self.document
        )
    }
}

/// A document that could not be used.
#[derive(Serialize, Clone, Debug, PartialEq, Eq)]
pub struct LoadError {
    /// Where it is.
    pub location: Location,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.location, self.message)
    }
}

/// A workload found in the input.
#[derive(Clone, Debug)]
pub struct FoundWorkload {
    /// Where it is.
    pub location: Location,
    /// The object as written.
    pub object: Value,
}

/// Everything read from the input.
#[derive(Debug, Default)]
pub struct Loaded {
    /// AIMS objects and namespaces.
    pub snapshot: Snapshot,
    /// Workloads to judge, in input order.
    pub workloads: Vec<FoundWorkload>,
    /// Documents that could not be used.
    pub errors: Vec<LoadError>,
    /// Documents of other kinds (Services, ConfigMaps, ...), which the engine ignores.
    pub ignored: usize,
    /// Files read.
    pub files: usize,
    /// AIMS objects read into the snapshot.
    pub aims_objects: usize,
    seen: BTreeSet<(String, String, String)>,
    default_namespace: String,
}

/// File endings read when walking a folder.
const MANIFEST_EXTENSIONS: &[&str] = &["yaml", "yml", "json"];

/// Splits YAML text into documents at `---` and `...` markers, with each one's first line.
fn split_documents(text: &str) -> Vec<(usize, String)> {
    let mut docs = Vec::new();
    let mut current = String::new();
    let mut start = 1;
    for (i, line) in text.lines().enumerate() {
        let marker =
            line == "---" || line.starts_with("--- ") || line.starts_with("---\t") || line == "...";
        if marker {
            docs.push((start, std::mem::take(&mut current)));
            start = i + 2;
            // `--- {inline}` starts a document on the marker line itself.
            if let Some(rest) = line
                .strip_prefix("---")
                .map(str::trim)
                .filter(|r| !r.is_empty() && !r.starts_with('#'))
            {
                current.push_str(rest);
                current.push('\n');
                start = i + 1;
            }
        } else {
            current.push_str(line);
            current.push('\n');
        }
    }
    docs.push((start, current));
    docs.retain(|(_, d)| {
        d.lines()
            .any(|l| !l.trim().is_empty() && !l.trim_start().starts_with('#'))
    });
    docs
}

impl Loaded {
    /// An empty result; objects without a namespace go to `default_namespace`.
    pub fn new(default_namespace: &str) -> Self {
        Self {
            default_namespace: default_namespace.to_string(),
            ..Self::default()
        }
    }

    /// Reads files and folders (recursively, `.yaml`, `.yml` and `.json` files, sorted).
    pub fn read_paths(&mut self, paths: &[PathBuf]) {
        for path in paths {
            self.read_path(path, true);
        }
    }

    fn read_path(&mut self, path: &Path, named: bool) {
        let location = || Location {
            file: path.display().to_string(),
            document: 0,
            line: 0,
        };
        if path.is_dir() {
            let entries = match std::fs::read_dir(path) {
                Ok(entries) => entries,
                Err(e) => return self.error(location(), format!("cannot read folder: {e}")),
            };
            let mut children: Vec<PathBuf> =
                entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
            children.sort();
            for child in children {
                let hidden = child
                    .file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(|n| n.starts_with('.'));
                if !hidden {
                    self.read_path(&child, false);
                }
            }
            return;
        }
        let wanted = path
            .extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| MANIFEST_EXTENSIONS.contains(&e.to_ascii_lowercase().as_str()));
        if !named && !wanted {
            return;
        }
        match std::fs::read(path) {
            Ok(bytes) => match String::from_utf8(bytes) {
                Ok(text) => self.read_str(&path.display().to_string(), &text),
                Err(_) => self.error(
                    location(),
                    "not a text file (not UTF-8); expected YAML or JSON".into(),
                ),
            },
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                self.error(location(), "no such file or folder".into())
            }
            Err(e) => self.error(location(), format!("cannot read: {e}")),
        }
    }

    /// Reads the documents of one file's text.
    pub fn read_str(&mut self, file: &str, text: &str) {
        self.files += 1;
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        let trimmed = text.trim_start();
        if trimmed.starts_with('{') || trimmed.starts_with('[') {
            // JSON: one document; serde_json reports line and column precisely.
            let location = Location {
                file: file.to_string(),
                document: 1,
                line: 1,
            };
            match serde_json::from_str::<Value>(text) {
                Ok(value) => self.read_value(value, &location),
                Err(e) => self.error(location, format!("invalid JSON: {e}")),
            }
            return;
        }
        for (index, (line, doc)) in split_documents(text).into_iter().enumerate() {
            let location = Location {
                file: file.to_string(),
                document: index + 1,
                line,
            };
            match serde_saphyr::from_str::<Value>(&doc) {
                Ok(value) => self.read_value(value, &location),
                Err(e) => {
                    let first = e.to_string().lines().next().unwrap_or_default().to_string();
                    self.error(location, format!("invalid YAML: {first}"));
                }
            }
        }
    }

    fn error(&mut self, location: Location, message: String) {
        self.errors.push(LoadError { location, message });
    }

    fn read_value(&mut self, mut value: Value, location: &Location) {
        let Some(object) = value.as_object_mut() else {
            if !value.is_null() {
                self.error(
                    location.clone(),
                    "not a Kubernetes object: expected a mapping with apiVersion and kind".into(),
                );
            }
            return;
        };
        let api_version = object
            .get("apiVersion")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        let Some(kind) = object
            .get("kind")
            .and_then(Value::as_str)
            .map(str::to_string)
        else {
            return self.error(
                location.clone(),
                "not a Kubernetes object: it has no kind".into(),
            );
        };
        if kind == "List"
            || kind.ends_with("List") && object.get("items").is_some_and(Value::is_array)
        {
            if let Some(Value::Array(items)) = object.remove("items") {
                for item in items {
                    self.read_value(item, location);
                }
            }
            return;
        }
        // Put the default namespace in place so every shell sees the same object.
        let metadata = object
            .entry("metadata")
            .or_insert_with(|| Value::Object(Default::default()));
        if let Some(meta) = metadata.as_object_mut()
            && kind != "Namespace"
            && meta
                .get("namespace")
                .and_then(Value::as_str)
                .is_none_or(str::is_empty)
        {
            meta.insert(
                "namespace".into(),
                Value::String(self.default_namespace.clone()),
            );
        }
        let name = value
            .pointer("/metadata/name")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        let namespace = value
            .pointer("/metadata/namespace")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();

        let aims = api_version.split('/').next() == Some(GROUP);
        if aims || kind == "Namespace" || is_workload_kind(&kind) {
            let refused = crate::strict::problems(&kind, &api_version, &value);
            if !refused.is_empty() {
                return self.error(
                    location.clone(),
                    format!(
                        "{kind} {}: the API server would refuse it: {}",
                        if kind == "Namespace" {
                            name.clone()
                        } else {
                            format!("{namespace}/{name}")
                        },
                        refused.join("; ")
                    ),
                );
            }
        }
        if aims {
            return self.read_aims(value, &api_version, &kind, &namespace, &name, location);
        }
        if kind == "Namespace" && api_version == "v1" {
            let labels = value
                .pointer("/metadata/labels")
                .and_then(Value::as_object)
                .map(|m| {
                    m.iter()
                        .filter_map(|(k, v)| v.as_str().map(|v| (k.clone(), v.to_string())))
                        .collect()
                })
                .unwrap_or_default();
            self.snapshot.add_namespace(&name, labels);
            return;
        }
        if kind == "ServiceMonitor" || kind == "PodMonitor" {
            if let Some((ns, monitor)) = crate::engine::snapshot::Monitor::from_value(&kind, &value)
            {
                let ns = match value.pointer("/metadata/namespace") {
                    Some(_) => ns,
                    None => self.default_namespace.clone(),
                };
                self.snapshot.add_monitor(&ns, monitor);
            }
            return;
        }
        if is_workload_kind(&kind) {
            self.workloads.push(FoundWorkload {
                location: location.clone(),
                object: value,
            });
        } else {
            self.ignored += 1;
        }
    }

    fn read_aims(
        &mut self,
        value: Value,
        api_version: &str,
        kind: &str,
        namespace: &str,
        name: &str,
        location: &Location,
    ) {
        if api_version != API_VERSION {
            return self.error(
                location.clone(),
                format!("{kind} {name}: apiVersion {api_version} is not served; use {API_VERSION}"),
            );
        }
        if name.is_empty() {
            return self.error(location.clone(), format!("{kind} has no metadata.name"));
        }
        if !self
            .seen
            .insert((kind.to_string(), namespace.to_string(), name.to_string()))
        {
            return self.error(
                location.clone(),
                format!("duplicate {kind} {namespace}/{name}: an earlier document already defines it; this one is ignored"),
            );
        }
        let result = match kind {
            "AISystem" => typed::<AISystem>(value).map(|s| self.snapshot.add_system(s)),
            "ImpactAssessment" => typed::<ImpactAssessment>(value).and_then(|a| {
                crate::resources::validate_assessment(&a.spec)?;
                self.snapshot.add_assessment(a);
                Ok(())
            }),
            "ControlBinding" => typed::<ControlBinding>(value).and_then(|b| {
                crate::resources::validate_binding(&b.spec)?;
                self.snapshot.add_binding(b);
                Ok(())
            }),
            "AIManagementSystem" => typed::<AIManagementSystem>(value).and_then(|aims| {
                crate::resources::validate_organisation(&aims)?;
                self.snapshot.set_organisation(aims);
                Ok(())
            }),
            "Nonconformity" => typed::<Nonconformity>(value).and_then(|n| {
                crate::resources::validate_nonconformity(&n.spec)?;
                self.snapshot.add_nonconformity(n);
                Ok(())
            }),
            "AIIncident" => typed::<AIIncident>(value).and_then(|i| {
                crate::resources::validate_incident(&i.spec)?;
                self.snapshot.add_incident(i);
                Ok(())
            }),
            "InternalAudit" => typed::<InternalAudit>(value).and_then(|a| {
                crate::resources::validate_audit(&a.spec)?;
                self.snapshot.add_audit(a);
                Ok(())
            }),
            "ManagementReview" => typed::<ManagementReview>(value).and_then(|r| {
                crate::resources::validate_review(&r.spec)?;
                self.snapshot.add_review(r);
                Ok(())
            }),
            other => Err(format!(
                "unknown kind {other} in {GROUP}; expected AISystem, ImpactAssessment, ControlBinding, AIManagementSystem, Nonconformity, AIIncident, InternalAudit or ManagementReview"
            )),
        };
        match result {
            Ok(()) => self.aims_objects += 1,
            Err(message) => self.error(
                location.clone(),
                format!("{kind} {namespace}/{name}: {message}"),
            ),
        }
    }
}

fn typed<T: DeserializeOwned>(value: Value) -> Result<T, String> {
    serde_json::from_value(value).map_err(|e| e.to_string())
}
