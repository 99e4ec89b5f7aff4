//! The gate end to end, as CI runs it: the bundled example services and this repository pass
//! with exit 0 and zero findings; the fixtures fail with exit 1 and the findings they mark; a
//! path that does not exist is a usage error (exit 2) that names it.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::process::Output;

use idemgate_tests::{idemgate, repo_root, stderr, stdout};

fn json(o: &Output) -> serde_json::Value {
    serde_json::from_str(&stdout(o)).unwrap_or_else(|e| panic!("{e}: {}\n{}", stdout(o), stderr(o)))
}

/// `idemgate check <target> --format json` from the repository's top folder (as `scripts/test`
/// ran it): the exit code and the (rule, file, line) of every finding.
fn check(target: &str) -> (Option<i32>, Vec<(String, String, u64)>, serde_json::Value) {
    let out = idemgate(&repo_root(), &["check", target, "--format", "json"]);
    let report = json(&out);
    let findings = report["findings"]
        .as_array()
        .map(|fs| {
            fs.iter()
                .map(|f| {
                    (
                        f["rule"].as_str().unwrap_or_default().to_string(),
                        f["file"].as_str().unwrap_or_default().to_string(),
                        f["line"].as_u64().unwrap_or_default(),
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    (out.status.code(), findings, report)
}

fn assert_clean(target: &str) {
    let (code, findings, report) = check(target);
    assert_eq!(
        findings,
        Vec::new(),
        "`idemgate check {target}` found something"
    );
    assert_eq!(code, Some(0), "`idemgate check {target}` exit code");
    assert!(
        report["summary"]["files"].as_u64().unwrap_or_default() > 0,
        "`idemgate check {target}` scanned no file: {report}"
    );
}

#[test]
fn the_axum_example_passes_with_zero_findings() {
    assert_clean("examples/shop");
}

#[test]
fn the_actix_example_passes_with_zero_findings() {
    assert_clean("examples/shop-actix");
}

#[test]
fn the_repository_passes_its_own_gate() {
    assert_clean(".");
}

#[test]
fn the_fixtures_fail_with_the_findings_they_mark() {
    let (code, findings, _) = check("fixtures/rust");
    assert_eq!(code, Some(1), "findings at error level exit 1");
    for (rule, file, line) in [
        // the retry crate named only inside a function body (tokio_retry2)
        ("RETRY004", "fixtures/rust/RETRY004/tokio_retry2.rs", 5),
        ("RETRY004", "fixtures/rust/RETRY004/tokio_retry2.rs", 10),
        // fresh values the macro refuses too
        ("IDEM002", "fixtures/rust/IDEM002/fresh_sources.rs", 6),
        ("IDEM002", "fixtures/rust/IDEM002/fresh_sources.rs", 11),
        ("IDEM002", "fixtures/rust/IDEM002/fresh_sources.rs", 16),
        ("IDEM002", "fixtures/rust/IDEM002/fresh_sources.rs", 21),
        ("IDEM002", "fixtures/rust/IDEM002/fresh_sources.rs", 26),
        ("IDEM001", "fixtures/rust/IDEM001/axum_basic.rs", 6),
    ] {
        let found = findings
            .iter()
            .any(|(r, f, l)| r == rule && f == file && *l == line);
        assert!(
            found,
            "{rule} at {file}:{line} not reported; got {findings:?}"
        );
    }
    assert!(
        !findings
            .iter()
            .any(|(_, f, l)| f == "fixtures/rust/IDEM002/fresh_sources.rs" && *l == 32),
        "a type's own now() and business fields are not fresh values"
    );
}

#[test]
fn the_openapi_fixtures_fail_with_exit_1() {
    let (code, findings, _) = check("fixtures/openapi");
    assert_eq!(code, Some(1));
    assert!(
        findings.iter().any(|(r, _, _)| r.starts_with("OAS")),
        "{findings:?}"
    );
}

#[test]
fn a_missing_path_is_a_usage_error_that_names_it() {
    let out = idemgate(&repo_root(), &["check", "no/such/folder"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("no/such/folder"), "{}", stderr(&out));
}

#[test]
fn the_examples_exist_where_the_checks_look() {
    for dir in [
        "examples/shop/src",
        "examples/shop-actix/src",
        "fixtures/rust",
    ] {
        assert!(Path::new(&repo_root()).join(dir).is_dir(), "{dir}");
    }
}
