//! The HTML report in a real browser: Debian's headless Chromium (installed by this setup
//! when missing) loads the SoA report of the examples and one of 500 systems without a
//! console error or a request outside the page, the summary, its charts and the system
//! sections render, and printing gives a document of several pages. The screenshots and
//! PDFs stay under target/report/ for CI to keep.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use aims_operator::engine::Snapshot;
use aims_operator::policy::Policy;
use aims_operator::resources::RiskTier;

use crate::support::*;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn out_dir() -> PathBuf {
    let dir = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo().join("target"))
        .join("report");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Debian's Chromium: `$CHROMIUM`, else /usr/bin/chromium, installed with apt-get when it is
/// missing and this process may install packages (root).
fn chromium() -> &'static Path {
    static CHROMIUM: OnceLock<PathBuf> = OnceLock::new();
    CHROMIUM.get_or_init(|| {
        let path = std::env::var_os("CHROMIUM")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from("/usr/bin/chromium"));
        if path.is_file() {
            return path;
        }
        eprintln!(
            "[report] {} is missing: installing Debian's chromium",
            path.display()
        );
        let root = Command::new("id")
            .arg("-u")
            .output()
            .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0");
        assert!(
            root,
            "the report test needs Debian's chromium: apt-get install chromium (or set CHROMIUM)"
        );
        for args in [
            &["update", "-qq"][..],
            &[
                "install",
                "-y",
                "-qq",
                "--no-install-recommends",
                "chromium",
            ][..],
        ] {
            let status = Command::new("apt-get")
                .args(args)
                .env("DEBIAN_FRONTEND", "noninteractive")
                .status()
                .unwrap();
            assert!(status.success(), "apt-get {args:?} failed: {status}");
        }
        assert!(
            path.is_file(),
            "chromium installed but {} is missing",
            path.display()
        );
        path
    })
}

/// Runs headless Chromium on `page` with `action` (`--dump-dom`, `--screenshot=...`,
/// `--print-to-pdf=...`); its stdout and stderr.
fn browse(page: &Path, action: &str) -> (String, String) {
    let profile = crate::https::temp_dir("chromium-profile");
    let out = Command::new(chromium())
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--enable-logging=stderr",
            "--v=0",
            "--window-size=1280,2400",
            "--hide-scrollbars",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg(action)
        .arg(format!("file://{}", page.canonicalize().unwrap().display()))
        .output()
        .unwrap();
    let _ = std::fs::remove_dir_all(&profile);
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(out.status.success(), "chromium failed: {stderr}");
    (String::from_utf8_lossy(&out.stdout).to_string(), stderr)
}

/// Loads `page` and checks what every report must be: self-contained, and loaded without a
/// console message or a failed request. Returns the DOM Chromium built.
fn load_cleanly(page: &Path) -> String {
    let html = std::fs::read_to_string(page).unwrap();
    for outside in ["<script", "<link", "@import", "url(", "src="] {
        assert!(
            !html.contains(outside),
            "the report refers outside itself: {outside}"
        );
    }
    let (dom, log) = browse(page, "--dump-dom");
    let complaints: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("CONSOLE") || l.contains("Failed to load resource"))
        .collect();
    assert!(complaints.is_empty(), "{complaints:#?}");
    dom
}

/// How many pages a PDF Chromium printed has.
fn pages(pdf: &Path) -> usize {
    let bytes = std::fs::read(pdf).unwrap();
    let text = String::from_utf8_lossy(&bytes);
    text.matches("/Type /Page").count() - text.matches("/Type /Pages").count()
}

#[test]
fn the_report_of_the_examples_renders_its_summary_charts_and_systems_in_chromium() {
    let dir = out_dir();
    let page = dir.join("soa-examples.html");
    let out = Command::new(env!("CARGO_BIN_EXE_aims-operator"))
        .current_dir(repo())
        .args([
            "soa",
            "examples",
            "--format",
            "html",
            "--now",
            "2026-12-05T00:00:00Z",
        ])
        .output()
        .unwrap();
    assert!(out.status.success());
    std::fs::write(&page, &out.stdout).unwrap();

    let dom = load_cleanly(&page);
    for part in [
        "id=\"document-control\"",
        "id=\"summary\"",
        "<title>Controls by status and group</title>",
        "<title>AI systems by risk tier and compliance</title>",
        "<title>Objectives against their targets</title>",
        "<section class=\"system\" id=\"system-lending-credit-scoring\">",
        "<tr id=\"A.6.2.6\">",
        "<th>NIST AI RMF</th>",
    ] {
        assert!(dom.contains(part), "{part} did not render");
    }
    // Bars are drawn to scale: the examples' systems, one bar segment per tier and state.
    assert!(
        dom.contains("<title>High: noncompliant 1</title>"),
        "the credit-scoring system is the one High-risk system and is not compliant"
    );
    // Evidence with a web address is a link.
    assert!(dom.contains("<a href=\"https://grc.example/policies/POL-AI-001\">"));
    // A register row links to its system's section.
    assert!(dom.contains("<a href=\"#system-support-support-assistant\">"));

    let screenshot = dir.join("soa-examples.png");
    browse(&page, &format!("--screenshot={}", screenshot.display()));
    assert!(
        std::fs::metadata(&screenshot).unwrap().len() > 30_000,
        "the screenshot is (nearly) empty"
    );
    let pdf = dir.join("soa-examples.pdf");
    browse(&page, &format!("--print-to-pdf={}", pdf.display()));
    assert!(
        pages(&pdf) >= 5,
        "each part starts a page when printed: {} pages",
        pages(&pdf)
    );
}

#[test]
fn a_report_of_500_systems_stays_one_readable_page() {
    let mut s = Snapshot::new();
    for i in 0..500 {
        let mut system = system(&format!("model-{i:03}"));
        system.metadata.namespace = Some(format!("team-{:02}", i % 25));
        system.spec.risk_tier = [RiskTier::Minimal, RiskTier::Limited, RiskTier::High][i % 3];
        s.add_system(system);
    }
    let statement = aims_operator::soa::build(&s, &Policy::default(), "500 systems", now());
    let html = aims_operator::render::soa::html(&statement);
    // A control names at most 20 of the systems that fall short and counts the rest; a
    // system lists its controls by state, explaining only failed checks and stale evidence.
    assert!(
        html.len() < 2_000_000,
        "{} bytes for 500 systems",
        html.len()
    );
    let page = out_dir().join("soa-500-systems.html");
    std::fs::write(&page, &html).unwrap();
    let dom = load_cleanly(&page);
    assert_eq!(dom.matches("<section class=\"system\"").count(), 500);
    assert!(dom.contains("<a href=\"#systems\">AI systems (500)</a>"));
    assert!(dom.contains("and 480 more falling short: see each system's section"));
    let screenshot = out_dir().join("soa-500-systems.png");
    browse(&page, &format!("--screenshot={}", screenshot.display()));
    assert!(screenshot.is_file());
}
