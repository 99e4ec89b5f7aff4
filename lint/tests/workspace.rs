//! The gate on Cargo workspaces: resolution across crates, middleware linked to the routes it
//! covers, production code only, hostile module graphs, the analysis budget, the route
//! inventory. End to end through the binary.
#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn idemgate(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_idemgate"))
        .current_dir(dir)
        .args(args)
        .env("NO_COLOR", "1")
        .output()
        .expect("run idemgate")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn json(o: &Output) -> serde_json::Value {
    serde_json::from_slice(&o.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}{}", text(&o.stdout), text(&o.stderr)))
}

fn write(dir: &Path, rel: &str, body: &str) {
    let p = dir.join(rel);
    std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
    std::fs::write(p, body).expect("write");
}

fn fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/rust")
}

fn findings(o: &Output) -> Vec<(String, String, u64)> {
    json(o)["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["rule"].as_str().unwrap().to_string(),
                f["file"].as_str().unwrap().to_string(),
                f["line"].as_u64().unwrap(),
            )
        })
        .collect()
}

#[test]
fn the_route_inventory_shows_middleware_across_crates_and_full_paths() {
    let out = idemgate(
        &fixture(),
        &["routes", "workspace", "--isolated", "--format", "json"],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let v = json(&out);
    let routes = v["routes"].as_array().unwrap();
    let get = |method: &str, path: &str| {
        routes
            .iter()
            .find(|r| r["method"] == method && r["path"] == path)
            .unwrap_or_else(|| panic!("no {method} {path} in {routes:#?}"))
    };
    // configured from two other crates (one renamed, one through [workspace.dependencies])
    // inside `HttpServer::new(move || { let app = App::new().wrap(Idempotency…); app.configure(…) })`
    for (m, p, file) in [
        ("POST", "/orders", "workspace/orders/src/lib.rs"),
        ("PATCH", "/orders/{id}", "workspace/orders/src/lib.rs"),
        ("POST", "/charges", "workspace/billing/src/routes.rs"),
    ] {
        let r = get(m, p);
        assert_eq!(r["status"], "declared", "{r}");
        assert_eq!(r["declared_by"], "IdempotencyMiddleware");
        assert_eq!(r["file"], file);
    }
    // the back office has no middleware: the handler in the billing crate is missing one, and
    // the path carries the scope prefix
    let refund = get("POST", "/admin/refunds");
    assert_eq!(refund["status"], "missing");
    assert_eq!(refund["handler_file"], "workspace/billing/src/admin.rs");
    assert_eq!(refund["handler_line"], 7);
    let export = get("POST", "/admin/export");
    assert_eq!(export["status"], "unresolved");
    assert!(export["reason"]
        .as_str()
        .unwrap()
        .contains("crate `exporter`, which is not part of the scan"));
    // test harnesses, test data and files no `mod` declares are not routes of the service
    assert_eq!(routes.len(), 5, "{routes:#?}");
    assert!(text(&out.stderr).contains("3 unreachable .rs files skipped"));
}

#[test]
fn verbose_lists_what_was_skipped_and_include_tests_judges_test_harnesses() {
    let out = idemgate(
        &fixture(),
        &[
            "check",
            "workspace",
            "--isolated",
            "--format",
            "json",
            "--verbose",
        ],
    );
    let err = text(&out.stderr);
    for f in [
        "workspace/orders/src/unused.rs",
        "workspace/orders/test_data/broken.rs",
        "workspace/orders/tests/it.rs",
    ] {
        assert!(err.contains(f), "{f} not listed in {err}");
    }
    assert!(!findings(&out).iter().any(|(r, _, _)| r == "GATE001"));

    let dir = tempfile::tempdir().expect("tempdir");
    write(
        dir.path(),
        "Cargo.toml",
        "[package]\nname = \"svc\"\nversion = \"0.1.0\"\n",
    );
    write(dir.path(), "src/lib.rs", "pub fn lib() {}\n");
    write(
        dir.path(),
        "tests/api.rs",
        "use axum::{routing::post, Router};\nasync fn h() {}\nfn app() -> Router { Router::new().route(\"/x\", post(h)) }\n",
    );
    let out = idemgate(dir.path(), &["check", "--format", "json"]);
    assert!(findings(&out).is_empty(), "{}", text(&out.stdout));
    write(dir.path(), "idemgate.toml", "include-tests = true\n");
    let out = idemgate(dir.path(), &["check", "--format", "json"]);
    assert_eq!(
        findings(&out),
        vec![("IDEM001".to_string(), "tests/api.rs".to_string(), 2)]
    );
    // a file named on the command line is always analysed
    let out = idemgate(
        &fixture(),
        &[
            "check",
            "workspace/orders/test_data/broken.rs",
            "--isolated",
            "--format",
            "json",
        ],
    );
    assert_eq!(
        findings(&out),
        vec![(
            "GATE001".to_string(),
            "workspace/orders/test_data/broken.rs".to_string(),
            2
        )]
    );
}

/// A crate whose root declares and glob-re-exports `n` modules, each importing `crate::*` and
/// `super::*`, each registering a route to a handler of the next module, named through globs.
fn glob_crate(dir: &Path, n: usize) {
    write(
        dir,
        "Cargo.toml",
        "[package]\nname = \"globs\"\nversion = \"0.1.0\"\n",
    );
    let mut lib = String::new();
    for i in 0..n {
        let _ = writeln!(lib, "mod m{i};\npub use m{i}::*;");
    }
    write(dir, "src/lib.rs", &lib);
    for i in 0..n {
        let next = (i + 1) % n;
        write(
            dir,
            &format!("src/m{i}.rs"),
            &format!(
                "use crate::*;\nuse super::*;\npub async fn handler{i}() {{ std::fs::write(\"out\", \"\"); }}\n\
                 pub fn router{i}() -> axum::Router {{ axum::Router::new().route(\"/r{i}\", axum::routing::post(handler{next})) }}\n"
            ),
        );
    }
}

#[test]
fn glob_cycles_over_two_thousand_modules_resolve_every_handler() {
    let dir = tempfile::tempdir().expect("tempdir");
    let n = 2000;
    glob_crate(dir.path(), n);
    let out = idemgate(dir.path(), &["check", "--format", "json"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let f = findings(&out);
    assert_eq!(f.iter().filter(|(r, _, _)| r == "IDEM001").count(), n);
    assert!(!f.iter().any(|(r, _, _)| r == "GATE002" || r == "GATE003"));
    // each finding is on the handler of the next module, line 3
    assert!(f.contains(&("IDEM001".to_string(), "src/m0.rs".to_string(), 3)));
}

#[test]
fn a_crate_over_the_analysis_budget_is_reported_and_the_run_completes() {
    let dir = tempfile::tempdir().expect("tempdir");
    glob_crate(&dir.path().join("big"), 50);
    write(
        dir.path(),
        "small/Cargo.toml",
        "[package]\nname = \"small\"\nversion = \"0.1.0\"\n",
    );
    write(
        dir.path(),
        "small/src/lib.rs",
        "use axum::{routing::post, Router};\nasync fn create() { std::fs::write(\"out\", \"\"); }\npub fn app() -> Router { Router::new().route(\"/c\", post(create)) }\n",
    );
    write(dir.path(), "idemgate.toml", "analysis-budget = 40\n");
    let out = idemgate(dir.path(), &["check", "--format", "json"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let f = findings(&out);
    // the small crate is checked in full
    assert!(f.contains(&("IDEM001".to_string(), "small/src/lib.rs".to_string(), 2)));
    // the big one: what resolution could not reach is GATE003 (info), never guessed
    let budget: Vec<_> = f.iter().filter(|(r, _, _)| r == "GATE003").collect();
    assert!(!budget.is_empty(), "{f:?}");
    assert!(budget.iter().all(|(_, file, _)| file.starts_with("big/")));
    let v = json(&out);
    let g = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["rule"] == "GATE003")
        .unwrap();
    assert_eq!(g["severity"], "info");
    assert!(g["message"]
        .as_str()
        .unwrap()
        .contains("exceeded the analysis budget"));
}
