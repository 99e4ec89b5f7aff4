//! Snapshots of the human and SARIF reports on fixtures/report (a small service with the
//! mistakes the gate exists to catch). Review changes with `cargo insta review`.
#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::path::{Path, PathBuf};

use idemgate_lint::config;
use idemgate_lint::engine::{check, Outcome};
use idemgate_lint::report::{render, Format};

fn fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/report")
}

fn outcome() -> Outcome {
    let root = idemgate_lint::discover::absolute(&fixture());
    let settings = config::load(None, &root, Some(root.clone())).expect("fixture config loads");
    check(&[root], &settings).expect("check runs")
}

#[test]
fn human_report() {
    insta::assert_snapshot!(render(&outcome(), Format::Human, false));
}

#[test]
fn sarif_report() {
    insta::assert_snapshot!(render(&outcome(), Format::Sarif, false));
}

#[test]
fn github_report() {
    insta::assert_snapshot!(render(&outcome(), Format::Github, false));
}

#[test]
fn json_report() {
    insta::assert_snapshot!(render(&outcome(), Format::Json, false));
}
