//! Closest config wins in a monorepo: `services/a/idemgate.toml` (RETRY004 off, an IDEM001
//! exemption for its legacy module) governs the files of service a whether the gate starts at
//! the repository root, in `services/a`, or with `--root`; service b stays under the root config.
//! Paths are reported relative to the repository root in every format.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;

use idemgate_tests::{idemgate, stdout, write};

const RETRYING: &str = r#"
pub fn policy() -> backoff::ExponentialBackoff {
    let _b = backoff::ExponentialBackoffBuilder::new();
    backoff::ExponentialBackoff::default()
}
"#;

const LEGACY: &str = r#"
use axum::{routing::post, Router};

async fn create_order() -> &'static str {
    "created"
}

pub fn router() -> Router {
    Router::new().route("/orders", post(create_order))
}
"#;

fn manifest(name: &str) -> String {
    format!(
        "[package]\nname = \"{name}\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[dependencies]\naxum = \"0.8\"\nbackoff = \"0.4\"\n"
    )
}

/// A repository (`.git` marks its top) with two services.
fn monorepo() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    std::fs::create_dir_all(root.join(".git")).unwrap();
    write(root, "idemgate.toml", "fail-level = \"warning\"\n");
    for service in ["a", "b"] {
        let base = format!("services/{service}");
        write(root, &format!("{base}/Cargo.toml"), &manifest(service));
        write(
            root,
            &format!("{base}/src/lib.rs"),
            "pub mod legacy;\npub mod retrying;\n",
        );
        write(root, &format!("{base}/src/legacy.rs"), LEGACY);
        write(root, &format!("{base}/src/retrying.rs"), RETRYING);
    }
    write(
        root,
        "services/a/idemgate.toml",
        r#"[rules]
RETRY004 = "off"

[[exemptions]]
rule = "IDEM001"
path = "src/legacy.rs"
reason = "the legacy order endpoint is replaced by the v2 API next quarter"
"#,
    );
    dir
}

/// `(rule, file, line)` of each finding of a JSON report.
fn findings(dir: &Path, args: &[&str]) -> Vec<(String, String, u64)> {
    let out = idemgate(dir, args);
    let code = out.status.code();
    assert!(
        matches!(code, Some(0 | 1)),
        "exit {code:?}: {}",
        idemgate_tests::stderr(&out)
    );
    let report: serde_json::Value = serde_json::from_str(&stdout(&out)).expect("JSON report");
    let mut found: Vec<(String, String, u64)> = report["findings"]
        .as_array()
        .expect("findings array")
        .iter()
        .map(|f| {
            (
                f["rule"].as_str().unwrap().to_string(),
                f["file"].as_str().unwrap().to_string(),
                f["line"].as_u64().unwrap(),
            )
        })
        .collect();
    found.sort();
    found
}

fn only_b() -> Vec<(String, String, u64)> {
    vec![
        ("IDEM001".into(), "services/b/src/legacy.rs".into(), 4),
        ("RETRY004".into(), "services/b/src/retrying.rs".into(), 3),
    ]
}

#[test]
fn a_service_config_governs_its_files_when_checked_from_the_root() {
    let repo = monorepo();
    assert_eq!(findings(repo.path(), &["check", "-f", "json"]), only_b());
}

#[test]
fn a_service_config_governs_its_files_when_checked_from_the_service() {
    let repo = monorepo();
    let a = repo.path().join("services/a");
    let out = idemgate(&a, &["check", "-f", "json"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        idemgate_tests::stderr(&out)
    );
    assert_eq!(findings(&a, &["check", "-f", "json"]), vec![]);
    // the same service, named from the root
    assert_eq!(
        findings(repo.path(), &["check", "-f", "json", "services/a"]),
        vec![]
    );
}

#[test]
fn root_option_keeps_each_service_config() {
    let repo = monorepo();
    assert_eq!(
        findings(repo.path(), &["check", "-f", "json", "--root", "."]),
        only_b()
    );
    // --root a service: its paths are relative to the service, its exemptions still apply
    let b = repo.path().join("services/b");
    assert_eq!(
        findings(
            repo.path(),
            &["check", "-f", "json", "--root", "services/a", "services"]
        ),
        vec![
            (
                "IDEM001".into(),
                b.join("src/legacy.rs").display().to_string(),
                4
            ),
            (
                "RETRY004".into(),
                b.join("src/retrying.rs").display().to_string(),
                3
            ),
        ]
    );
}

#[test]
fn paths_are_relative_to_the_repository_in_every_format_from_any_folder() {
    let repo = monorepo();
    let b = repo.path().join("services/b");
    // started inside service b: still repository-relative
    assert_eq!(findings(&b, &["check", "-f", "json"]), only_b());
    let github = stdout(&idemgate(&b, &["check", "-f", "github"]));
    assert!(
        github.contains("file=services/b/src/legacy.rs,line=4"),
        "{github}"
    );
    assert!(
        github.contains("file=services/b/src/retrying.rs,line=3"),
        "{github}"
    );
    let sarif: serde_json::Value =
        serde_json::from_str(&stdout(&idemgate(&b, &["check", "-f", "sarif"]))).unwrap();
    let mut uris: Vec<String> = sarif["runs"][0]["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    uris.sort();
    assert_eq!(
        uris,
        vec!["services/b/src/legacy.rs", "services/b/src/retrying.rs"]
    );
    let human = stdout(&idemgate(&b, &["check", "--no-color"]));
    assert!(human.contains("services/b/src/legacy.rs:4"), "{human}");
    assert!(!human.contains("services/a"), "{human}");
}

#[test]
fn a_broken_service_config_is_an_error_that_points_into_it() {
    let repo = monorepo();
    write(
        repo.path(),
        "services/a/idemgate.toml",
        "[rules]\nRETRY999 = \"off\"\n",
    );
    let out = idemgate(repo.path(), &["check"]);
    assert_eq!(out.status.code(), Some(2));
    let err = idemgate_tests::stderr(&out);
    assert!(err.contains("unknown rule `RETRY999`"), "{err}");
    assert!(err.contains("services/a/idemgate.toml"), "{err}");
}

#[test]
fn exclude_globs_are_relative_to_their_own_config() {
    let repo = monorepo();
    write(
        repo.path(),
        "services/b/idemgate.toml",
        "exclude = [\"src/retrying.rs\"]\n",
    );
    assert_eq!(
        findings(repo.path(), &["check", "-f", "json"]),
        vec![("IDEM001".into(), "services/b/src/legacy.rs".into(), 4)]
    );
}

#[test]
fn a_config_above_the_root_keeps_its_exemptions() {
    let repo = monorepo();
    write(
        repo.path(),
        "idemgate.toml",
        r#"fail-level = "warning"

[[exemptions]]
rule = "IDEM001"
path = "services/b/src/legacy.rs"
reason = "b's orders move to the v2 API"
"#,
    );
    // from the root: the root config's exemption hides b's IDEM001
    assert_eq!(
        findings(repo.path(), &["check", "-f", "json"]),
        vec![("RETRY004".into(), "services/b/src/retrying.rs".into(), 3)]
    );
    // with --root services/b, paths are relative to b and the exemption still applies
    assert_eq!(
        findings(
            repo.path(),
            &["check", "-f", "json", "--root", "services/b", "services/b"]
        ),
        vec![("RETRY004".into(), "src/retrying.rs".into(), 3)]
    );
}

#[test]
fn a_folder_excluded_above_stays_excluded_with_a_config_of_its_own() {
    let repo = monorepo();
    write(
        repo.path(),
        "idemgate.toml",
        "fail-level = \"warning\"\nexclude = [\"services/b/**\"]\n",
    );
    // b's own config switches a rule off but cannot bring b back into the run
    write(
        repo.path(),
        "services/b/idemgate.toml",
        "[rules]\nRETRY002 = \"off\"\n",
    );
    assert_eq!(findings(repo.path(), &["check", "-f", "json"]), vec![]);
}
