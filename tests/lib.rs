//! Shared set-up for the end-to-end tests: where the repository is and how to run the
//! `idemgate` binary that `cargo test --workspace` builds beside these tests.
#![forbid(unsafe_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The README's quick start (extracted by build.rs): each Rust snippet is a doc test, so the
/// first code a new team copies compiles and runs.
#[cfg(doctest)]
#[doc = include_str!(concat!(env!("OUT_DIR"), "/quickstart.md"))]
pub struct ReadmeQuickStart;

/// The repository's top folder.
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")))
}

/// The `idemgate` binary of the same build profile as the running test. A test binary lives in
/// `target/<profile>/deps/`; the gate is `target/<profile>/idemgate`. When it is missing (a
/// `cargo test -p idemgate-tests` on its own), it is built once with the same profile.
pub fn idemgate_bin() -> PathBuf {
    static BIN: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    BIN.get_or_init(|| {
        let exe = std::env::current_exe().unwrap_or_default();
        let profile_dir = exe
            .parent()
            .and_then(Path::parent)
            .map(Path::to_path_buf)
            .unwrap_or_default();
        let bin = profile_dir.join(format!("idemgate{}", std::env::consts::EXE_SUFFIX));
        if !bin.exists() {
            let release = profile_dir.file_name().is_some_and(|n| n == "release");
            let mut build = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
            build.current_dir(repo_root()).args([
                "build",
                "--quiet",
                "-p",
                "idemgate-lint",
                "--bin",
                "idemgate",
            ]);
            if release {
                build.arg("--release");
            }
            let status = build.status();
            assert!(
                matches!(status, Ok(s) if s.success()),
                "building the idemgate binary failed: {status:?}"
            );
        }
        bin
    })
    .clone()
}

/// Runs `idemgate <args>` in `dir` without colours.
pub fn idemgate(dir: &Path, args: &[&str]) -> Output {
    match Command::new(idemgate_bin())
        .current_dir(dir)
        .args(args)
        .env("NO_COLOR", "1")
        .output()
    {
        Ok(out) => out,
        Err(e) => panic!("running {}: {e}", idemgate_bin().display()),
    }
}

/// The standard output of a run, as text.
pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// The standard error of a run, as text.
pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Writes `text` to `dir/rel`, creating folders.
pub fn write(dir: &Path, rel: &str, text: &str) {
    let p = dir.join(rel);
    if let Some(parent) = p.parent() {
        if let Err(e) = std::fs::create_dir_all(parent) {
            panic!("mkdir {}: {e}", parent.display());
        }
    }
    if let Err(e) = std::fs::write(&p, text) {
        panic!("write {}: {e}", p.display());
    }
}

/// A small service both the adoption and the CI-integration tests check.
pub mod sample {
    /// Its package manifest.
    pub const MANIFEST: &str =
        "[package]\nname = \"svc\"\nversion = \"0.1.0\"\nedition = \"2021\"\n";

    /// Two side-effecting routes (they charge through a crate the gate does not see), neither
    /// idempotent: IDEM001 at lines 3 and 7.
    pub const MAIN: &str = r#"use axum::{routing::post, Router};

async fn create_order() -> &'static str {
    psp::charge().await
}

async fn create_user() -> &'static str {
    psp::charge().await
}

fn main() {
    let _app: Router = Router::new()
        .route("/orders", post(create_order))
        .route("/users", post(create_user));
}
"#;
}
