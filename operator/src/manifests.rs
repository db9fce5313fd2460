//! Reads Kubernetes manifests from files and folders (multi-document YAML or JSON) into a
//! [`Snapshot`] and a list of workloads. A bad document is reported with its file and
//! position and skipped; the rest is still read.

use std::collections::BTreeSet;
use std::fmt;
use std::path::{Path, PathBuf};

use serde::Serialize;
use serde_json::Value;

use crate::engine::Snapshot;

mod objects;

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
}
