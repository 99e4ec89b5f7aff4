//! Adopting the gate in an existing codebase: baselines (write, read, line shifts, moved
//! functions, stale entries, pruning, the config key) and the pre-merge diff mode
//! (`--changed-since` in a temporary git repository, Rust and OpenAPI).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::process::Command;

use idemgate_tests::sample::{MAIN, MANIFEST};
use idemgate_tests::{idemgate, stderr, stdout, write};

/// The same code, the functions in the other order and lines inserted above them.
const MAIN_MOVED: &str = r#"use axum::{routing::post, Router};

// A comment block
// that shifts
// every line
// below it.

async fn create_user() -> &'static str {
    psp::charge().await
}

async fn create_order() -> &'static str {
    psp::charge().await
}

fn main() {
    let _app: Router = Router::new()
        .route("/orders", post(create_order))
        .route("/users", post(create_user));
}
"#;

fn rust_project(dir: &Path, main: &str) {
    write(dir, "Cargo.toml", MANIFEST);
    write(dir, "src/main.rs", main);
}

/// (rule, file, line) of every finding of a JSON report.
fn findings(out: &std::process::Output) -> Vec<(String, String, u64)> {
    let v: serde_json::Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}\n{}", stdout(out), stderr(out)));
    v["findings"]
        .as_array()
        .expect("findings")
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

fn code(out: &std::process::Output) -> i32 {
    out.status.code().unwrap_or(-1)
}

fn entries(path: &Path) -> Vec<serde_json::Value> {
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    v["findings"].as_array().unwrap().clone()
}

/// [`MAIN`] with a third route whose handler (line 11) is not idempotent either.
fn grown() -> String {
    MAIN.replace(
        "fn main() {",
        "async fn refund() -> &'static str {\n    psp::charge().await\n}\n\nfn main() {",
    )
    .replace(
        ".route(\"/users\", post(create_user));",
        ".route(\"/users\", post(create_user))\n        .route(\"/refunds\", post(refund));",
    )
}

#[test]
fn write_baseline_then_only_new_findings_fail() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    rust_project(d, MAIN);
    let out = idemgate(d, &["check", ".", "--isolated", "--format", "json"]);
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    assert_eq!(findings(&out).len(), 2);

    let out = idemgate(
        d,
        &["check", ".", "--isolated", "--write-baseline", "base.json"],
    );
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(
        stderr(&out).contains("wrote base.json with 2 findings"),
        "{}",
        stderr(&out)
    );
    let text = std::fs::read_to_string(d.join("base.json")).unwrap();
    // human-readable: one field a line, no line numbers, sorted by file, rule, key
    assert!(
        text.contains("\n      \"key\": \"crate::create_order:POST\",\n"),
        "{text}"
    );
    assert!(!text.contains("\"line\""), "{text}");
    let keys: Vec<String> = entries(&d.join("base.json"))
        .iter()
        .map(|e| e["key"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        keys,
        ["crate::create_order:POST", "crate::create_user:POST"]
    );

    let out = idemgate(
        d,
        &[
            "check",
            ".",
            "--isolated",
            "--baseline",
            "base.json",
            "--format",
            "json",
        ],
    );
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(findings(&out).is_empty());
    assert!(stderr(&out).contains("2 findings in the baseline base.json not reported"));

    // a new route: only its finding is reported, and it fails
    let grown = grown();
    write(d, "src/main.rs", &grown);
    let out = idemgate(
        d,
        &[
            "check",
            ".",
            "--isolated",
            "--baseline",
            "base.json",
            "--format",
            "json",
        ],
    );
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    assert_eq!(
        findings(&out),
        [("IDEM001".to_string(), "src/main.rs".to_string(), 11)]
    );
}

#[test]
fn baseline_survives_line_shifts_and_moved_functions() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    rust_project(d, MAIN);
    let out = idemgate(
        d,
        &["check", ".", "--isolated", "--write-baseline", "base.json"],
    );
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    write(d, "src/main.rs", MAIN_MOVED);
    let out = idemgate(d, &["check", ".", "--isolated", "--format", "json"]);
    assert_eq!(code(&out), 1);
    let lines: Vec<u64> = findings(&out).iter().map(|f| f.2).collect();
    assert_eq!(lines, [8, 12], "the findings did move");
    let out = idemgate(
        d,
        &[
            "check",
            ".",
            "--isolated",
            "--baseline",
            "base.json",
            "--format",
            "json",
        ],
    );
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(findings(&out).is_empty());
    assert!(!stderr(&out).contains("stale"), "{}", stderr(&out));
}

#[test]
fn stale_entries_are_reported_and_pruned() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    rust_project(d, MAIN);
    idemgate(
        d,
        &["check", ".", "--isolated", "--write-baseline", "base.json"],
    );
    // create_user is fixed
    write(
        d,
        "src/main.rs",
        &MAIN.replace(
            "async fn create_user",
            "#[idemgate::idempotent(key = header(\"Idempotency-Key\"))]\nasync fn create_user",
        ),
    );

    let out = idemgate(d, &["check", ".", "--isolated", "--baseline", "base.json"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains("1 entry of base.json no longer match"),
        "{err}"
    );
    assert!(
        err.contains("stale: IDEM001 src/main.rs crate::create_user:POST"),
        "{err}"
    );
    assert_eq!(
        entries(&d.join("base.json")).len(),
        2,
        "not rewritten without --prune-baseline"
    );

    let out = idemgate(
        d,
        &[
            "check",
            ".",
            "--isolated",
            "--baseline",
            "base.json",
            "--prune-baseline",
        ],
    );
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(
        stderr(&out).contains("pruned 1 stale entry"),
        "{}",
        stderr(&out)
    );
    let left = entries(&d.join("base.json"));
    assert_eq!(left.len(), 1);
    assert_eq!(left[0]["key"], "crate::create_order:POST");
    let out = idemgate(d, &["check", ".", "--isolated", "--baseline", "base.json"]);
    assert_eq!(code(&out), 0);
    assert!(!stderr(&out).contains("stale"), "{}", stderr(&out));
}

#[test]
fn config_names_the_baseline() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    rust_project(d, MAIN);
    write(
        d,
        "idemgate.toml",
        "baseline = \"ci/idemgate-baseline.json\"\n",
    );
    let out = idemgate(
        d,
        &[
            "check",
            ".",
            "--write-baseline",
            "ci/idemgate-baseline.json",
        ],
    );
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    // from another folder too: the path is relative to the config file
    let out = idemgate(&d.join("src"), &["check", "..", "--format", "json"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(findings(&out).is_empty());
    let out = idemgate(d, &["check", ".", "--no-baseline", "--format", "json"]);
    assert_eq!(code(&out), 1);
    assert_eq!(findings(&out).len(), 2);
    // a config baseline that is missing is an error, not a silent full run
    std::fs::remove_file(d.join("ci/idemgate-baseline.json")).unwrap();
    let out = idemgate(d, &["check", "."]);
    assert_eq!(code(&out), 2);
    assert!(
        stderr(&out).contains("cannot read baseline"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn a_broken_baseline_is_an_error_with_its_place() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    rust_project(d, MAIN);
    write(
        d,
        "base.json",
        "{\n  \"version\": 1,\n  \"findings\": [\n    {\"rule\": 7}\n  ]\n}\n",
    );
    let out = idemgate(d, &["check", ".", "--isolated", "--baseline", "base.json"]);
    assert_eq!(code(&out), 2);
    assert!(stderr(&out).contains("base.json:4:"), "{}", stderr(&out));
    let out = idemgate(d, &["check", ".", "--isolated", "--prune-baseline"]);
    assert_eq!(code(&out), 2);
    assert!(
        stderr(&out).contains("--prune-baseline needs a baseline"),
        "{}",
        stderr(&out)
    );
}

const SPEC: &str = "openapi: 3.0.3
info: {title: t, version: '1'}
paths:
  /a:
    post:
      operationId: createA
      responses:
        '201': {description: ok}
  /b:
    post:
      responses:
        '201': {description: ok}
";

#[test]
fn openapi_findings_are_keyed_by_json_pointer() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write(d, "openapi.yaml", SPEC);
    let out = idemgate(
        d,
        &[
            "check",
            "openapi.yaml",
            "--isolated",
            "--write-baseline",
            "b.json",
        ],
    );
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let keys: Vec<(String, String)> = entries(&d.join("b.json"))
        .iter()
        .map(|e| {
            (
                e["rule"].as_str().unwrap().into(),
                e["key"].as_str().unwrap().into(),
            )
        })
        .collect();
    assert!(
        keys.contains(&("OAS001".into(), "#/paths/~1a/post".into())),
        "{keys:?}"
    );
    assert!(
        keys.contains(&("OAS001".into(), "#/paths/~1b/post".into())),
        "{keys:?}"
    );
    // the operations swap places and move down: still baselined
    let moved = "openapi: 3.0.3\ninfo: {title: t, version: '1'}\n\n\npaths:\n  /b:\n    post:\n      responses:\n        '201': {description: ok}\n  /a:\n    post:\n      operationId: createA\n      responses:\n        '201': {description: ok}\n";
    write(d, "openapi.yaml", moved);
    let out = idemgate(
        d,
        &[
            "check",
            "openapi.yaml",
            "--isolated",
            "--baseline",
            "b.json",
            "--format",
            "json",
        ],
    );
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(findings(&out).is_empty());
    assert!(!stderr(&out).contains("stale"), "{}", stderr(&out));
}

// ---- --changed-since ----

fn git(dir: &Path, args: &[&str]) {
    let out = Command::new("git")
        .current_dir(dir)
        .args([
            "-c",
            "user.name=t",
            "-c",
            "user.email=t@example.com",
            "-c",
            "commit.gpgsign=false",
        ])
        .args(args)
        .output()
        .expect("git runs");
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A git repository with the project committed on `main`, `HEAD` on a new branch `work`.
/// `None` (after printing why) when git is missing outside CI.
fn repo(files: &[(&str, &str)]) -> Option<tempfile::TempDir> {
    if Command::new("git").arg("--version").output().is_err() {
        assert!(std::env::var_os("CI").is_none(), "git is required in CI");
        println!("SKIPPED: git is not installed");
        return None;
    }
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    for (p, t) in files {
        write(d, p, t);
    }
    git(d, &["init", "-q", "-b", "main"]);
    git(d, &["add", "."]);
    git(d, &["commit", "-q", "-m", "base"]);
    git(d, &["checkout", "-q", "-b", "work"]);
    Some(dir)
}

const HANDLERS: &str =
    "pub async fn create_order() -> &'static str {\n    psp::charge().await\n}\n";
const ROUTER: &str = r#"mod handlers;
mod other;
use axum::{routing::post, Router};

fn main() {
    let _app: Router = Router::new().route("/orders", post(handlers::create_order));
}
"#;
const OTHER: &str = "pub async fn poll() {\n    loop {\n        if fetch().await.is_ok() {\n            break;\n        }\n    }\n}\n\nasync fn fetch() -> Result<(), ()> {\n    Ok(())\n}\n";

#[test]
fn changed_since_reports_findings_of_changed_rust_files() {
    let Some(dir) = repo(&[
        ("Cargo.toml", MANIFEST),
        ("src/main.rs", ROUTER),
        ("src/handlers.rs", HANDLERS),
        ("src/other.rs", OTHER),
    ]) else {
        return;
    };
    let d = dir.path();
    let all = idemgate(d, &["check", ".", "--isolated", "--format", "json"]);
    let all = findings(&all);
    assert!(
        all.iter()
            .any(|f| f.0 == "IDEM001" && f.1 == "src/handlers.rs"),
        "{all:?}"
    );
    assert!(all.iter().any(|f| f.1 == "src/other.rs"), "{all:?}");

    // nothing changed: nothing reported, exit 0
    let out = idemgate(
        d,
        &[
            "check",
            ".",
            "--isolated",
            "--changed-since",
            "main",
            "--format",
            "json",
        ],
    );
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(findings(&out).is_empty());

    // the router file changes (committed on the branch): the IDEM001 whose handler is in
    // another file counts, through its registration
    write(
        d,
        "src/main.rs",
        &ROUTER.replace("fn main() {", "// the order API\nfn main() {"),
    );
    git(d, &["commit", "-qam", "touch router"]);
    let out = idemgate(
        d,
        &[
            "check",
            ".",
            "--isolated",
            "--changed-since",
            "main",
            "--format",
            "json",
        ],
    );
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    assert_eq!(
        findings(&out),
        [("IDEM001".to_string(), "src/handlers.rs".to_string(), 1)]
    );

    // an uncommitted edit (main.rs) and an untracked file (other2.rs) count too; other.rs,
    // unchanged, does not
    write(d, "src/other2.rs", OTHER);
    write(
        d,
        "src/main.rs",
        &ROUTER.replace("mod other;", "mod other;\nmod other2;"),
    );
    let out = idemgate(
        d,
        &[
            "check",
            ".",
            "--isolated",
            "--changed-since",
            "main",
            "--format",
            "json",
        ],
    );
    let got = findings(&out);
    assert!(got.iter().any(|f| f.1 == "src/other2.rs"), "{got:?}");
    assert!(got.iter().any(|f| f.1 == "src/handlers.rs"), "{got:?}");
    assert!(got.iter().all(|f| f.1 != "src/other.rs"), "{got:?}");
}

#[test]
fn changed_since_in_openapi_reports_only_changed_operations() {
    let Some(dir) = repo(&[("openapi.yaml", SPEC)]) else {
        return;
    };
    let d = dir.path();
    // /b's operation gains a description; /a is untouched
    write(
        d,
        "openapi.yaml",
        &SPEC.replace(
            "  /b:\n    post:\n",
            "  /b:\n    post:\n      summary: make a b\n",
        ),
    );
    let out = idemgate(
        d,
        &[
            "check",
            "openapi.yaml",
            "--isolated",
            "--changed-since",
            "main",
            "--format",
            "json",
        ],
    );
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    let got = findings(&out);
    assert!(!got.is_empty());
    assert!(
        got.iter().all(|f| f.1 == "openapi.yaml" && f.2 == 10),
        "{got:?}"
    );
    assert!(
        stderr(&out).contains("outside the changes since main not reported"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn changed_since_needs_a_repository_and_a_known_revision() {
    let dir = tempfile::tempdir().unwrap();
    rust_project(dir.path(), MAIN);
    let out = idemgate(
        dir.path(),
        &["check", ".", "--isolated", "--changed-since", "main"],
    );
    assert_eq!(code(&out), 2, "{}", stderr(&out));
    assert!(
        stderr(&out).contains("needs a git repository"),
        "{}",
        stderr(&out)
    );

    let Some(dir) = repo(&[("Cargo.toml", MANIFEST), ("src/main.rs", MAIN)]) else {
        return;
    };
    let out = idemgate(
        dir.path(),
        &[
            "check",
            ".",
            "--isolated",
            "--changed-since",
            "no-such-branch",
        ],
    );
    assert_eq!(code(&out), 2);
    assert!(
        stderr(&out).contains("unknown revision `no-such-branch`"),
        "{}",
        stderr(&out)
    );
}

// ---- idemgate init ----

#[test]
fn init_writes_a_commented_config_and_the_first_baseline() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    rust_project(d, MAIN);
    let out = idemgate(d, &["init"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let config = std::fs::read_to_string(d.join("idemgate.toml")).unwrap();
    assert!(config.contains("# fail-level = \"error\""), "{config}");
    assert!(
        config.contains("# side-effect-methods = [\"POST\", \"PATCH\"]"),
        "{config}"
    );
    assert!(config.contains("# baseline = "), "{config}");
    // the defaults change nothing: both findings still fail
    let out = idemgate(d, &["check", ".", "--format", "json"]);
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    assert_eq!(findings(&out).len(), 2);

    // a second init does not clobber the config
    let out = idemgate(d, &["init", "--baseline"]);
    assert_eq!(code(&out), 2);
    assert!(stderr(&out).contains("already exists"), "{}", stderr(&out));

    let out = idemgate(d, &["init", "--baseline", "--force"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(stderr(&out).contains("with 2 findings"), "{}", stderr(&out));
    let config = std::fs::read_to_string(d.join("idemgate.toml")).unwrap();
    assert!(
        config.contains("\nbaseline = \"idemgate-baseline.json\"\n"),
        "{config}"
    );
    assert_eq!(entries(&d.join("idemgate-baseline.json")).len(), 2);
    // adopted: the next check passes, and a new finding fails it
    let out = idemgate(d, &["check", "."]);
    assert_eq!(code(&out), 0, "{}{}", stdout(&out), stderr(&out));
    write(d, "src/main.rs", &grown());
    let out = idemgate(d, &["check", ".", "--format", "json"]);
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    assert_eq!(findings(&out).len(), 1);
}

#[test]
fn init_template_names_only_real_settings() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    rust_project(d, MAIN);
    assert_eq!(
        code(&idemgate(d, &["init", "--baseline", "ci/base.json"])),
        0
    );
    assert!(d.join("ci/base.json").is_file());
    // every commented setting, switched on (but the example contract and exemption), is valid
    let config = std::fs::read_to_string(d.join("idemgate.toml")).unwrap();
    let mut on = String::new();
    let mut example_table = false;
    for line in config.lines() {
        if line.starts_with("# [[") {
            example_table = true;
        }
        let setting = line.strip_prefix("# ").filter(|l| {
            !example_table && l.split_once(" = ").is_some_and(|(k, _)| !k.contains(' '))
        });
        on.push_str(setting.unwrap_or(line));
        on.push('\n');
    }
    assert!(on.contains("\nmax-attempts = 5\n"), "{on}");
    write(d, "all.toml", &on);
    let out = idemgate(d, &["check", ".", "--config", "all.toml"]);
    assert_ne!(code(&out), 2, "{}", stderr(&out));
    let out = idemgate(d, &["init", "--baseline", "../outside.json", "--force"]);
    assert_eq!(code(&out), 2);
}
