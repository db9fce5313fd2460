//! What a workload runs, compared with what AI systems declare: container images and image
//! volumes (validated by `container_image_dist_ref`, which follows the grammar of the
//! distribution project's reference package, then given the registry defaults container
//! runtimes apply: `docker.io`, `library/`, the `latest` tag) and model storage URIs (`s3://`, `gs://`, `hf://`, `pvc://`,
//! `oci://`, ...). The gate judges a workload by what it runs, so removing a label is never a
//! way past it.

use container_image_dist_ref::ImgRef;

use super::Snapshot;
use super::snapshot::name_of;
use super::workload::Workload;
use crate::resources::{AISystem, Model};

/// An image reference, normalised: the same image written two ways compares equal.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImageRef {
    /// `registry/repository`, the registry in lower case (host names ignore case).
    pub name: String,
    /// The tag, when one is written (`latest` when neither tag nor digest is).
    pub tag: Option<String>,
    /// `algorithm:hex`, when pinned.
    pub digest: Option<String>,
}

impl ImageRef {
    /// Reads an image reference; `None` when it is not one.
    ///
    /// The grammar is checked by a parser without regular expressions: the OCI crate's
    /// regular expression alone took 12 MiB resident once compiled, a fifth of the
    /// webhook's memory target.
    pub fn parse(text: &str) -> Option<Self> {
        let reference = ImgRef::new(text.trim()).ok()?;
        let (registry, repository) = registry_and_repository(reference.name().to_str())?;
        let tag = reference.tag().map(str::to_string);
        let digest = reference.digest().map(|d| d.to_str().to_ascii_lowercase());
        Some(Self {
            name: format!("{registry}/{repository}"),
            tag: tag.or_else(|| digest.is_none().then(|| "latest".to_string())),
            digest,
        })
    }

    /// Whether both name the same build: equal digests where both have one (a mirror or a
    /// new tag does not change the content), otherwise the same repository and tag.
    pub fn same_build(&self, other: &ImageRef) -> bool {
        match (&self.digest, &other.digest) {
            (Some(a), Some(b)) => a == b,
            (None, None) => self.name == other.name && self.tag == other.tag,
            // One side pinned, the other not: the tag may have moved since.
            _ => false,
        }
    }
}

/// Splits a reference's name the way container runtimes do: the first segment is a registry
/// only when it looks like a host (a dot, a port, `localhost`, or upper case); Docker Hub's
/// names gain `docker.io` and, for official images, `library/`. `None` when the repository
/// is not in lower case, which no registry accepts.
fn registry_and_repository(name: &str) -> Option<(String, String)> {
    const HUB: &str = "docker.io";
    let (registry, repository) = match name.split_once('/') {
        Some((first, rest))
            if first.contains(['.', ':'])
                || first == "localhost"
                || first.bytes().any(|b| b.is_ascii_uppercase()) =>
        {
            (first.to_ascii_lowercase(), rest)
        }
        _ => (HUB.to_string(), name),
    };
    if repository.bytes().any(|b| b.is_ascii_uppercase()) {
        return None;
    }
    let registry = if registry == "index.docker.io" {
        HUB.to_string()
    } else {
        registry
    };
    let repository = if registry == HUB && !repository.contains('/') {
        format!("library/{repository}")
    } else {
        repository.to_string()
    };
    Some((registry, repository))
}

/// A model storage URI, normalised: scheme in lower case, no trailing `/`.
fn normalised_uri(uri: &str) -> Option<String> {
    let (scheme, rest) = uri.trim().split_once("://")?;
    let rest = rest.trim_end_matches('/');
    (!scheme.is_empty() && !rest.is_empty())
        .then(|| format!("{}://{rest}", scheme.to_ascii_lowercase()))
}

/// Whether a deployed storage URI loads the declared model: the same location, or one inside
/// the other (a model folder and a file in it).
fn same_location(declared: &str, deployed: &str) -> bool {
    let (Some(a), Some(b)) = (normalised_uri(declared), normalised_uri(deployed)) else {
        return false;
    };
    let inside = |outer: &str, inner: &str| {
        inner
            .strip_prefix(outer)
            .is_some_and(|rest| rest.starts_with('/'))
    };
    a == b || inside(&a, &b) || inside(&b, &a)
}

/// How closely a workload runs one declared model.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Runs {
    /// Nothing of it.
    Nothing,
    /// Its image repository (another build or tag) or a location inside its storage.
    Repository,
    /// Exactly its build: the declared image or storage URI.
    Build,
}

/// How closely `workload` runs the declared `model`.
pub fn runs(workload: &Workload<'_>, model: &Model) -> Runs {
    let mut best = Runs::Nothing;
    if let Some(declared) = model.image.as_deref().and_then(ImageRef::parse) {
        for deployed in workload
            .images
            .iter()
            .filter_map(|c| ImageRef::parse(&c.image))
        {
            if deployed.same_build(&declared) {
                return Runs::Build;
            }
            if deployed.name == declared.name {
                best = Runs::Repository;
            }
        }
    }
    if let Some(declared) = model.storage_uri.as_deref() {
        let exact = normalised_uri(declared);
        // A model named without a scheme: `--model org/name` for `hf://org/name`, or a
        // KServe `storage.path` inside the declared location.
        let location = exact
            .as_deref()
            .and_then(|u| u.split_once("://"))
            .map(|(_, l)| l);
        let names_it = |named: &str| {
            let named = named.trim_matches('/');
            // Two segments at least: a lone word (`2.0.0`, `main`) names nothing for sure.
            named.contains('/')
                && !named.contains("://")
                && location.is_some_and(|l| {
                    l == named
                        || l.strip_suffix(named)
                            .is_some_and(|head| head.ends_with('/'))
                })
        };
        if workload
            .signals
            .iter()
            .filter_map(|s| s.named_model())
            .any(names_it)
        {
            return Runs::Build;
        }
        for deployed in workload.storage_uris.iter().map(AsRef::as_ref).chain(
            workload
                .signals
                .iter()
                .filter_map(|s| s.named_model())
                .filter(|n| n.contains("://")),
        ) {
            if exact.is_some() && exact == normalised_uri(deployed) {
                return Runs::Build;
            }
            if same_location(declared, deployed) {
                best = Runs::Repository;
            }
        }
    }
    best
}

/// The first of `models` the workload runs, for messages.
pub fn first_run<'m>(workload: &Workload<'_>, models: &'m [Model]) -> Option<&'m Model> {
    models.iter().find(|m| runs(workload, m) != Runs::Nothing)
}

/// Cheap words from what a workload runs (an image's digest or last path segment, a storage
/// URI's scheme and bucket) that any declared artifact it runs must contain, so that the
/// exact comparison reads only the few declarations that could match.
fn needles(workload: &Workload<'_>) -> Vec<String> {
    let images = workload
        .images
        .iter()
        .filter_map(|c| c.reference())
        .flat_map(|r| {
            let segment = r.name.rsplit('/').next().unwrap_or_default().to_string();
            let digest = r
                .digest
                .as_deref()
                .map(|d| d.rsplit(':').next().unwrap_or_default().to_string());
            std::iter::once(segment).chain(digest)
        });
    let named = workload.signals.iter().filter_map(|s| s.named_model());
    let uris = workload
        .storage_uris
        .iter()
        .map(AsRef::as_ref)
        .chain(named.clone())
        .filter_map(|u| {
            let normal = normalised_uri(u)?;
            let (scheme, rest) = normal.split_once("://")?;
            Some(format!(
                "{scheme}://{}",
                rest.split('/').next().unwrap_or_default()
            ))
        });
    // A bare model name (`--model org/name`) may be a declared `hf://org/name`.
    let bare = named
        .filter(|n| !n.contains("://") && n.contains('/'))
        .map(str::to_string);
    images
        .chain(uris)
        .chain(bare)
        .filter(|n| !n.is_empty())
        .collect()
}

/// The AI systems of the workload's namespace, other than `except`, that declare a model it
/// runs at least as closely as `at_least`, each with the first such model.
pub fn owners<'s>(
    snapshot: &'s Snapshot,
    workload: &Workload<'_>,
    except: Option<&str>,
    at_least: Runs,
) -> Vec<(&'s AISystem, &'s Model)> {
    let needles = needles(workload);
    if needles.is_empty() {
        return Vec::new();
    }
    let might_run = |m: &Model| {
        let image = m.image.as_deref().unwrap_or_default();
        let uri = m
            .storage_uri
            .as_deref()
            .unwrap_or_default()
            .to_ascii_lowercase();
        needles
            .iter()
            .any(|n| image.contains(n.as_str()) || uri.contains(n.as_str()))
    };
    snapshot
        .systems_in(&workload.namespace)
        .into_iter()
        .filter(|s| except != Some(name_of(*s)))
        .filter_map(|s| {
            s.spec
                .models
                .iter()
                .filter(|m| might_run(m))
                .find(|m| runs(workload, m) >= at_least.max(Runs::Repository))
                .map(|m| (s, m))
        })
        .collect()
}

/// `AISystem "name" (model version, artifact)`, for messages.
pub fn owner_phrase((system, model): &(&AISystem, &Model)) -> String {
    format!(
        "AISystem \"{}\" ({} {}, {})",
        name_of(*system),
        model.name,
        model.version,
        artifact_text(model)
    )
}

/// The declared artifact of a model, for messages.
pub fn artifact_text(model: &Model) -> &str {
    model
        .image
        .as_deref()
        .or(model.storage_uri.as_deref())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn image(text: &str) -> ImageRef {
        ImageRef::parse(text).expect("an image reference")
    }

    #[test]
    fn registry_defaults_make_one_image_compare_equal() {
        let short = image("nginx");
        assert_eq!(short.name, "docker.io/library/nginx");
        assert_eq!(short.tag.as_deref(), Some("latest"));
        for same in [
            "nginx:latest",
            "docker.io/nginx:latest",
            "docker.io/library/nginx",
            "index.docker.io/library/nginx:latest",
        ] {
            assert!(image(same).same_build(&short), "{same}");
        }
        assert_eq!(
            image("Registry.Example:5000/a/b:1").name,
            "registry.example:5000/a/b"
        );
        assert!(
            ImageRef::parse("Upper/Case").is_none(),
            "repositories are lower case"
        );
        assert_eq!(image("localhost/m").name, "localhost/m");
        assert_eq!(image("team/m").name, "docker.io/team/m");
        let pinned = image(&format!("m@sha256:{}", "a".repeat(64)));
        assert_eq!(pinned.tag, None, "a digest alone implies no tag");
        assert_eq!(pinned.digest, Some(format!("sha256:{}", "a".repeat(64))));
        for not_a_reference in ["", "a b", "m:", "m@sha256:short", "-m", "m/"] {
            assert!(
                ImageRef::parse(not_a_reference).is_none(),
                "{not_a_reference:?}"
            );
        }
    }

    #[test]
    fn digests_decide_where_both_sides_have_one() {
        let digest = format!("sha256:{}", "a".repeat(64));
        let pinned = image(&format!("registry.example/m@{digest}"));
        let mirrored = image(&format!("mirror.example/m:1.0@{digest}"));
        assert!(
            pinned.same_build(&mirrored),
            "a mirror holds the same content"
        );
        let other = image(&format!("registry.example/m@sha256:{}", "b".repeat(64)));
        assert!(!pinned.same_build(&other));
        assert!(!pinned.same_build(&image("registry.example/m:1.0")));
    }

    #[test]
    fn storage_locations_match_within_a_folder_only() {
        assert!(same_location("s3://b/model/1.2.0", "S3://b/model/1.2.0/"));
        assert!(same_location(
            "s3://b/model",
            "s3://b/model/1.2.0/weights.bin"
        ));
        assert!(same_location("hf://org/model/main/x", "hf://org/model"));
        assert!(!same_location("s3://b/model", "s3://b/model-2"));
        assert!(!same_location("s3://b/model", "gs://b/model"));
        assert!(!same_location("not a uri", "not a uri"));
    }
}
