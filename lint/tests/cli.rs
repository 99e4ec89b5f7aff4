//! The `idemgate` binary end to end: exit codes, config errors with locations, report formats.
#![allow(clippy::expect_used, clippy::unwrap_used)]

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

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn write(dir: &Path, rel: &str, text: &str) {
    let p = dir.join(rel);
    std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
    std::fs::write(p, text).expect("write");
}

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn json(o: &Output) -> serde_json::Value {
    serde_json::from_str(&stdout(o)).unwrap_or_else(|e| panic!("{e}: {}{}", stdout(o), stderr(o)))
}

#[test]
fn clean_tree_exits_zero_with_summary() {
    let dir = tempfile::tempdir().expect("tempdir");
    write(
        dir.path(),
        "src/lib.rs",
        "pub fn add(a: u32, b: u32) -> u32 { a + b }\n",
    );
    let out = idemgate(dir.path(), &["check"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("idemgate: no findings in 1 file"),
        "{}",
        stdout(&out)
    );
}

#[test]
fn unused_config_exemption_is_a_warning_and_fails_at_warning_level() {
    let dir = tempfile::tempdir().expect("tempdir");
    write(dir.path(), "src/lib.rs", "pub fn f() {}\n");
    write(
        dir.path(),
        "idemgate.toml",
        "[[exemptions]]\nrule = \"RETRY001\"\npath = \"src/**\"\nreason = \"legacy\"\n",
    );
    let out = idemgate(dir.path(), &["check", "--format", "json"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "warnings do not fail by default"
    );
    let json = json(&out);
    let f = &json["findings"][0];
    assert_eq!(f["rule"], "IDEM004");
    assert_eq!(f["file"], "idemgate.toml");
    assert_eq!(f["line"], 1);
    assert_eq!(json["summary"]["warnings"], 1);
    assert_eq!(json["version"], 1);

    let out = idemgate(dir.path(), &["check", "--fail-level", "warning"]);
    assert_eq!(out.status.code(), Some(1));
}

#[test]
fn config_exemption_without_reason_is_idem003() {
    let dir = tempfile::tempdir().expect("tempdir");
    write(dir.path(), "src/lib.rs", "pub fn f() {}\n");
    write(
        dir.path(),
        "idemgate.toml",
        "# comment\n[[exemptions]]\nrule = \"RETRY001\"\n",
    );
    let out = idemgate(dir.path(), &["check", "--format", "json"]);
    assert_eq!(out.status.code(), Some(1));
    let json = json(&out);
    let rules: Vec<(&str, u64)> = json["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .map(|f| {
            (
                f["rule"].as_str().unwrap_or(""),
                f["line"].as_u64().unwrap_or(0),
            )
        })
        .collect();
    // No reason: reported, and not counted as an exemption (so not "unused" either).
    assert_eq!(rules, vec![("IDEM003", 2)]);
}

#[test]
fn unknown_config_key_is_exit_2_with_location() {
    let dir = tempfile::tempdir().expect("tempdir");
    write(dir.path(), "src/lib.rs", "\n");
    write(
        dir.path(),
        "idemgate.toml",
        "fail-level = \"error\"\nfial-level = \"warning\"\n",
    );
    let out = idemgate(dir.path(), &["check"]);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(err.contains("unknown field `fial-level`"), "{err}");
    assert!(err.contains("idemgate.toml:2:1"), "{err}");
}

#[test]
fn bad_values_are_exit_2_pointing_at_the_value() {
    let cases = [
        (
            "[rules]\nRETRY001 = \"loud\"\n",
            "unknown severity `loud`",
            "idemgate.toml:2:12",
        ),
        (
            "[rules]\nNOPE001 = \"off\"\n",
            "unknown rule `NOPE001`",
            "idemgate.toml:2:1",
        ),
        (
            "[limits]\ncap = \"5 parsecs\"\n",
            "is not a duration",
            "idemgate.toml:2:7",
        ),
        (
            "fail-level = \"fatal\"\n",
            "unknown fail level `fatal`",
            "idemgate.toml:1:14",
        ),
        ("exclude = [\"[\"]\n", "invalid glob", "idemgate.toml:1:12"),
        ("threads = \"two\"\n", "invalid type", "idemgate.toml:1:11"),
    ];
    for (config, message, at) in cases {
        let dir = tempfile::tempdir().expect("tempdir");
        write(dir.path(), "src/lib.rs", "\n");
        write(dir.path(), "idemgate.toml", config);
        let out = idemgate(dir.path(), &["check"]);
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(2), "{config}: {err}");
        assert!(err.contains(message), "{config}: {err}");
        assert!(err.contains(at), "{config}: expected {at} in {err}");
    }
}

#[test]
fn cargo_metadata_config_is_read() {
    let dir = tempfile::tempdir().expect("tempdir");
    write(dir.path(), "src/lib.rs", "\n");
    write(
        dir.path(),
        "Cargo.toml",
        "[package]\nname = \"x\"\nversion = \"0.1.0\"\n\n[package.metadata.idemgate]\nfail-level = \"bogus\"\n",
    );
    let out = idemgate(dir.path(), &["check"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("unknown fail level `bogus`"),
        "{}",
        stderr(&out)
    );
    // --config overrides discovery.
    write(dir.path(), "other.toml", "fail-level = \"warning\"\n");
    let out = idemgate(dir.path(), &["check", "--config", "other.toml"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
}

#[test]
fn usage_errors_are_exit_2() {
    let dir = tempfile::tempdir().expect("tempdir");
    assert_eq!(
        idemgate(dir.path(), &["check", "does-not-exist"])
            .status
            .code(),
        Some(2)
    );
    assert_eq!(
        idemgate(dir.path(), &["check", "--format", "xml"])
            .status
            .code(),
        Some(2)
    );
    assert_eq!(
        idemgate(dir.path(), &["explain", "NOPE999"]).status.code(),
        Some(2)
    );
    assert_eq!(idemgate(dir.path(), &["frobnicate"]).status.code(), Some(2));
    write(dir.path(), "notes.txt", "hi");
    let out = idemgate(dir.path(), &["check", "notes.txt"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("not a Rust or OpenAPI file"));
}

#[test]
fn rules_and_explain() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = idemgate(dir.path(), &["rules"]);
    assert_eq!(out.status.code(), Some(0));
    let text = stdout(&out);
    for id in [
        "IDEM001", "IDEM004", "RETRY001", "RETRY007", "OAS001", "OAS006",
    ] {
        assert!(
            text.lines().any(|l| l.starts_with(id)),
            "{id} missing from `rules`"
        );
    }
    let out = idemgate(dir.path(), &["explain", "hand-rolled-retry"]);
    assert_eq!(out.status.code(), Some(0));
    let text = stdout(&out);
    assert!(text.starts_with("# RETRY001 hand-rolled-retry"));
    assert!(text.contains("## Bad") && text.contains("## Good"));
}

#[test]
fn ignored_hidden_and_target_folders_are_skipped_but_explicit_files_are_not() {
    let dir = tempfile::tempdir().expect("tempdir");
    let bad = "fn broken( {\n";
    write(dir.path(), "target/debug/gen.rs", bad);
    write(dir.path(), ".hidden/x.rs", bad);
    write(dir.path(), "generated/x.rs", bad);
    write(dir.path(), ".gitignore", "generated/\n");
    write(dir.path(), "src/ok.rs", "fn ok() {}\n");
    let out = idemgate(dir.path(), &["check", "--format", "json"]);
    assert_eq!(json(&out)["summary"]["files"], 1, "{}", stdout(&out));
    let out = idemgate(dir.path(), &["check", "generated/x.rs", "--format", "json"]);
    assert_eq!(json(&out)["summary"]["files"], 1);
}

#[cfg(unix)]
#[test]
fn symlink_loops_do_not_hang_or_crash() {
    let dir = tempfile::tempdir().expect("tempdir");
    write(dir.path(), "src/a/ok.rs", "fn ok() {}\n");
    std::os::unix::fs::symlink(dir.path().join("src"), dir.path().join("src/a/loop"))
        .expect("symlink");
    let out = idemgate(dir.path(), &["check", "--format", "json"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(json(&out)["summary"]["files"], 1);
}

#[test]
fn bad_utf8_is_reported_with_location_and_the_run_goes_on() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::create_dir_all(dir.path().join("src")).expect("mkdir");
    std::fs::write(dir.path().join("src/bad.rs"), b"fn a() {}\n// caf\xe9\n").expect("write");
    write(dir.path(), "src/ok.rs", "fn ok() {}\n");
    let out = idemgate(dir.path(), &["check", "--format", "json"]);
    assert_eq!(out.status.code(), Some(1));
    let json = json(&out);
    let f = &json["findings"][0];
    assert_eq!(f["rule"], "GATE001");
    assert_eq!(f["file"], "src/bad.rs");
    assert_eq!(f["line"], 2);
    assert_eq!(f["column"], 7);
    assert_eq!(json["summary"]["files"], 2);
}

#[test]
fn output_file_and_github_format() {
    let dir = tempfile::tempdir().expect("tempdir");
    write(
        dir.path(),
        "idemgate.toml",
        "[[exemptions]]\nrule = \"RETRY001\"\nreason = \"a, b: 100%\"\n",
    );
    write(dir.path(), "src/lib.rs", "\n");
    let out = idemgate(dir.path(), &["check", "--format", "github"]);
    let text = stdout(&out);
    assert!(
        text.starts_with("::warning file=idemgate.toml,line=1,col=1,endLine="),
        "{text}"
    );
    assert!(text.contains("title=IDEM004 unused-exemption::"), "{text}");
    let out = idemgate(
        dir.path(),
        &["check", "--format", "sarif", "--output", "out.sarif"],
    );
    assert_eq!(out.status.code(), Some(0));
    assert!(stdout(&out).is_empty());
    let sarif = std::fs::read_to_string(dir.path().join("out.sarif")).expect("sarif written");
    assert!(sarif.contains("\"version\": \"2.1.0\""));
}

/// The SARIF report validates against the official 2.1.0 schema (from ../shared/schemas).
#[test]
fn sarif_validates_against_the_official_schema() {
    let schema_path = workspace().join("../shared/schemas/sarif-schema-2.1.0.json");
    let Ok(schema_text) = std::fs::read_to_string(&schema_path) else {
        eprintln!(
            "notice: {} not found; SARIF schema validation skipped",
            schema_path.display()
        );
        return;
    };
    let schema: serde_json::Value = serde_json::from_str(&schema_text).expect("schema json");
    let validator = jsonschema::validator_for(&schema).expect("compile schema");
    let fixtures = workspace().join("fixtures");
    let mut checked = 0;
    for target in ["report", "rust", "openapi"] {
        if !fixtures.join(target).exists() {
            continue;
        }
        let out = idemgate(&fixtures, &["check", target, "--format", "sarif"]);
        assert!(matches!(out.status.code(), Some(0 | 1)), "{}", stderr(&out));
        let doc = json(&out);
        let errors: Vec<String> = validator
            .iter_errors(&doc)
            .map(|e| format!("{e} at {}", e.instance_path))
            .collect();
        assert!(errors.is_empty(), "{target}: {errors:#?}");
        let results = doc["runs"][0]["results"].as_array().expect("results");
        for r in results {
            let uri = r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
                .as_str()
                .expect("uri");
            assert!(!uri.starts_with('/'), "uri must be relative: {uri}");
            assert!(r["partialFingerprints"]["idemgate/v1"].is_string());
            checked += 1;
        }
    }
    assert!(
        checked > 0,
        "the fixtures produced no SARIF results to validate"
    );
}

#[test]
fn paths_are_relative_to_the_config_folder_and_named_folders_beat_excludes() {
    let dir = tempfile::tempdir().expect("tempdir");
    write(dir.path(), "idemgate.toml", "exclude = [\"vendor/**\"]\n");
    write(dir.path(), "vendor/x/bad.rs", "fn broken( {\n");
    write(dir.path(), "svc/src/bad.rs", "fn broken( {\n");
    // Started from a sub-folder: paths are still relative to the config's folder.
    let out = idemgate(&dir.path().join("svc"), &["check", "--format", "json"]);
    let json = json(&out);
    assert_eq!(json["findings"][0]["file"], "svc/src/bad.rs", "{json}");
    assert_eq!(json["summary"]["files"], 1);
    // The whole tree: vendor/ is excluded by the config.
    let out = idemgate(dir.path(), &["check", "--format", "json"]);
    assert_eq!(json_files(&out), vec!["svc/src/bad.rs"]);
    // Named on the command line, an excluded folder is scanned.
    let out = idemgate(dir.path(), &["check", "vendor/x", "--format", "json"]);
    assert_eq!(json_files(&out), vec!["vendor/x/bad.rs"]);
    // --isolated ignores the config: nothing is excluded.
    let out = idemgate(dir.path(), &["check", "--isolated", "--format", "json"]);
    assert_eq!(json_files(&out), vec!["svc/src/bad.rs", "vendor/x/bad.rs"]);
}

fn json_files(o: &Output) -> Vec<String> {
    json(o)["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .map(|f| f["file"].as_str().unwrap_or("").to_string())
        .collect()
}

#[test]
fn guarded_paths_see_routers_nested_through_variables() {
    let dir = tempfile::tempdir().expect("tempdir");
    write(
        dir.path(),
        "idemgate.toml",
        "guarded-paths = [\"/api/**\"]\n",
    );
    write(
        dir.path(),
        "src/main.rs",
        r#"use axum::{routing::post, Router};

pub fn app() -> Router {
    let api = Router::new().route("/orders", post(create_order));
    let admin = Router::new()
        .route("/reindex", post(reindex))
        .layer(IdempotencyLayer::new());
    Router::new()
        .nest("/api", api)
        .nest("/api/admin", admin)
        .route("/webhooks", post(webhook))
}

async fn create_order() {}
async fn reindex() {}
async fn webhook() {}
"#,
    );
    let out = idemgate(dir.path(), &["check", "--format", "json"]);
    let json = json(&out);
    let found: Vec<(String, u64, String)> = json["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .map(|f| {
            (
                f["rule"].as_str().unwrap_or("").to_string(),
                f["line"].as_u64().unwrap_or(0),
                f["message"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect();
    // /api/orders is guarded and unprotected; /api/admin/reindex has the layer; /webhooks is
    // outside the guarded surface.
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!((found[0].0.as_str(), found[0].1), ("IDEM001", 14));
    assert!(found[0].2.contains("POST /api/orders"), "{}", found[0].2);
}

#[test]
fn syntax_errors_are_reported_in_items_and_with_full_syntax_in_any_body() {
    let dir = tempfile::tempdir().expect("tempdir");
    write(dir.path(), "src/prose.rs", "this is not rust at all\n");
    write(dir.path(), "src/item.rs", "pub struct S {\n    a: ,\n}\n");
    // A grammar error inside a function body no rule looks at.
    write(
        dir.path(),
        "src/body.rs",
        "pub fn helper() -> u32 {\n    let = 5;\n    1\n}\n",
    );
    write(dir.path(), "src/ok.rs", "pub fn fine() {}\n");
    let located = |o: &Output| -> Vec<(String, u64)> {
        json(o)["findings"]
            .as_array()
            .expect("findings")
            .iter()
            .filter(|f| f["rule"] == "GATE001")
            .map(|f| {
                (
                    f["file"].as_str().unwrap_or("").to_string(),
                    f["line"].as_u64().unwrap_or(0),
                )
            })
            .collect()
    };
    let out = idemgate(dir.path(), &["check", "--format", "json"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        located(&out),
        vec![
            ("src/item.rs".to_string(), 2),
            ("src/prose.rs".to_string(), 1)
        ]
    );
    assert_eq!(json(&out)["summary"]["files"], 4);
    let out = idemgate(dir.path(), &["check", "--full-syntax", "--format", "json"]);
    assert_eq!(
        located(&out),
        vec![
            ("src/body.rs".to_string(), 2),
            ("src/item.rs".to_string(), 2),
            ("src/prose.rs".to_string(), 1)
        ]
    );
    // The same from the config file.
    write(dir.path(), "idemgate.toml", "full-syntax = true\n");
    let out = idemgate(dir.path(), &["check", "--format", "json"]);
    assert_eq!(located(&out).len(), 3);
}

#[test]
fn nothing_to_check_is_an_error_that_says_where_it_looked() {
    let dir = tempfile::tempdir().expect("tempdir");
    write(dir.path(), "empty/README.md", "no code here\n");
    write(dir.path(), "empty/data.json", "{\"not\": \"a spec\"}\n");
    let out = idemgate(dir.path(), &["check", "empty", "--isolated"]);
    assert_eq!(out.status.code(), Some(2), "{}", stdout(&out));
    let err = stderr(&out);
    assert!(err.contains("nothing to check"), "{err}");
    assert!(err.contains("`empty`"), "{err}");
    // one finding in one file: the summary says so in the singular
    write(
        dir.path(),
        "svc/src/lib.rs",
        "use axum::{routing::post, Router};\nasync fn create(s: State<S>) { s.orders.fetch_add(1, Relaxed); }\npub fn app() -> Router { Router::new().route(\"/o\", post(create)) }\n",
    );
    let report = dir.path().join("r.json");
    let out = idemgate(
        dir.path(),
        &[
            "check",
            "svc",
            "--isolated",
            "--format",
            "json",
            "--output",
            report.to_str().expect("utf-8 path"),
        ],
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("idemgate: 1 error, 0 warnings, 0 notes in 1 file"),
        "{}",
        stderr(&out)
    );
}
