//! The gate where teams run it: `cargo idemgate` (the cargo subcommand), the GitHub Action's
//! shell steps (scripts/action.sh, run here as the action runs them), and the pre-commit hooks.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use idemgate_tests::sample::{MAIN, MANIFEST};
use idemgate_tests::{idemgate, idemgate_bin, repo_root, stderr, stdout, write};

const SPEC: &str = "openapi: 3.0.3
info: {title: t, version: '1'}
paths:
  /a:
    post:
      responses:
        '201': {description: ok}
";

/// Another binary of the gate's package, beside `idemgate` (built when missing).
fn sibling_bin(name: &str) -> PathBuf {
    let bin = idemgate_bin().with_file_name(format!("{name}{}", std::env::consts::EXE_SUFFIX));
    if !bin.exists() {
        let release = bin
            .parent()
            .and_then(Path::file_name)
            .is_some_and(|n| n == "release");
        let mut build = Command::new(cargo());
        build.current_dir(repo_root()).args([
            "build",
            "--quiet",
            "-p",
            "idemgate-lint",
            "--bin",
            name,
        ]);
        if release {
            build.arg("--release");
        }
        assert!(build.status().unwrap().success(), "building {name}");
    }
    bin
}

fn cargo() -> String {
    std::env::var("CARGO").unwrap_or_else(|_| "cargo".into())
}

fn code(o: &Output) -> i32 {
    o.status.code().unwrap_or(-1)
}

/// (rule, file, line) of every finding of a JSON report.
fn findings(out: &Output) -> Vec<(String, String, u64)> {
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

fn have(tool: &str) -> bool {
    let ok = Command::new(tool).arg("--version").output().is_ok();
    if !ok {
        assert!(std::env::var_os("CI").is_none(), "{tool} is required in CI");
        println!("SKIPPED: {tool} is not installed");
    }
    ok
}

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
        .unwrap();
    assert!(out.status.success(), "git {args:?}: {}", stderr(&out));
}

// ---- cargo idemgate ----

#[test]
fn cargo_idemgate_checks_the_workspace_from_any_folder() {
    let sub = sibling_bin("cargo-idemgate");
    idemgate_bin();
    let dir = tempfile::tempdir().unwrap();
    let ws = dir.path().join("ws");
    write(
        &ws,
        "Cargo.toml",
        "[workspace]\nmembers = [\"svc\"]\nresolver = \"2\"\n",
    );
    write(&ws, "idemgate.toml", "# the workspace's gate settings\n");
    write(&ws, "svc/Cargo.toml", MANIFEST);
    write(&ws, "svc/src/main.rs", MAIN);
    // cargo finds `cargo-idemgate` on the PATH, as after `cargo install`
    let path = std::env::join_paths(std::iter::once(sub.parent().unwrap().to_path_buf()).chain(
        std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default()),
    ))
    .unwrap();
    let run = |cwd: &Path, args: &[&str]| {
        Command::new(cargo())
            .current_dir(cwd)
            .env("PATH", &path)
            .env("NO_COLOR", "1")
            .arg("idemgate")
            .args(args)
            .output()
            .unwrap()
    };
    let expected = vec![
        ("IDEM001".to_string(), "svc/src/main.rs".to_string(), 3),
        ("IDEM001".to_string(), "svc/src/main.rs".to_string(), 7),
    ];
    // from deep inside a member: the whole workspace, paths relative to its root
    let out = run(&ws.join("svc/src"), &["check", "--format", "json"]);
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    assert_eq!(findings(&out), expected);
    // --manifest-path from elsewhere
    let manifest = ws.join("Cargo.toml");
    let out = run(
        dir.path(),
        &[
            "check",
            "--format",
            "json",
            "--manifest-path",
            manifest.to_str().unwrap(),
        ],
    );
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    assert_eq!(findings(&out), expected);
    // every other command is the gate's own, in or out of a workspace
    let out = run(dir.path(), &["rules"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(stdout(&out).contains("IDEM001"));
    let out = run(dir.path(), &["explain", "NOPE999"]);
    assert_eq!(code(&out), 2);
}

// ---- the GitHub Action's shell steps ----

/// Runs `scripts/action.sh <step>` in `dir` with the action's environment.
fn action(dir: &Path, step: &str, env: &[(&str, &str)]) -> (Output, String) {
    let outputs = dir.join(".github-output");
    let _ = std::fs::remove_file(&outputs);
    let mut cmd = Command::new("bash");
    cmd.current_dir(dir)
        .arg(repo_root().join("scripts/action.sh"))
        .arg(step)
        .env("IDEMGATE_BIN", idemgate_bin())
        .env("GITHUB_OUTPUT", &outputs)
        .env("GITHUB_ACTION_PATH", repo_root());
    for var in [
        "INPUT_PATHS",
        "INPUT_CONFIG",
        "INPUT_BASELINE",
        "INPUT_FAIL_LEVEL",
        "INPUT_CHANGED_SINCE",
        "INPUT_SARIF",
        "INPUT_SARIF_FILE",
        "INPUT_ANNOTATIONS",
    ] {
        cmd.env_remove(var);
    }
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().unwrap();
    let written = std::fs::read_to_string(&outputs).unwrap_or_default();
    (out, written)
}

#[test]
fn action_run_step_annotates_uploads_sarif_and_honours_its_inputs() {
    if !have("bash") || !have("git") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write(d, "Cargo.toml", MANIFEST);
    write(d, "src/main.rs", MAIN);

    let (out, outputs) = action(d, "run", &[("INPUT_PATHS", ".")]);
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    let text = stdout(&out);
    let annotations: Vec<&str> = text
        .lines()
        .filter(|l| l.starts_with("::error "))
        .map(|l| l.split("::").nth(1).unwrap_or(""))
        .collect();
    assert_eq!(annotations.len(), 2, "{}", stdout(&out));
    assert!(
        annotations[0].starts_with("error file=src/main.rs,line=3,"),
        "{annotations:?}"
    );
    assert!(outputs.contains("sarif-file=idemgate.sarif\n"), "{outputs}");
    assert!(outputs.contains("exit-code=1\n"), "{outputs}");
    let sarif: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(d.join("idemgate.sarif")).unwrap()).unwrap();
    let results = sarif["runs"][0]["results"].as_array().unwrap();
    assert_eq!(results.len(), 2);
    assert_eq!(results[0]["ruleId"], "IDEM001");

    // a baseline input: the legacy findings pass
    assert_eq!(
        code(&idemgate(
            d,
            &["check", ".", "--write-baseline", "base.json"]
        )),
        0
    );
    let (out, outputs) = action(
        d,
        "run",
        &[("INPUT_BASELINE", "base.json"), ("INPUT_SARIF", "false")],
    );
    assert_eq!(code(&out), 0, "{}{}", stdout(&out), stderr(&out));
    assert!(!stdout(&out).contains("::error"), "{}", stdout(&out));
    assert!(!outputs.contains("sarif-file="), "{outputs}");

    // fail-level and annotations off: the human report, failing on a warning-level rule made
    // an error by the input
    let (out, _) = action(
        d,
        "run",
        &[
            ("INPUT_ANNOTATIONS", "false"),
            ("INPUT_FAIL_LEVEL", "info"),
            ("INPUT_SARIF", "false"),
        ],
    );
    assert_eq!(code(&out), 1);
    assert!(stdout(&out).contains("IDEM001"), "{}", stdout(&out));
    assert!(!stdout(&out).contains("::error"));

    // changed-since on a branch that changed nothing: nothing to report
    git(d, &["init", "-q", "-b", "main"]);
    git(d, &["add", "Cargo.toml", "src"]);
    git(d, &["commit", "-q", "-m", "base"]);
    git(d, &["checkout", "-q", "-b", "feature"]);
    let (out, outputs) = action(
        d,
        "run",
        &[("INPUT_CHANGED_SINCE", "main"), ("INPUT_SARIF", "false")],
    );
    assert_eq!(code(&out), 0, "{}{}", stdout(&out), stderr(&out));
    assert!(outputs.contains("exit-code=0"), "{outputs}");
    // a bad input is the gate's usage error, exit 2, and no SARIF step output
    let (out, outputs) = action(d, "run", &[("INPUT_FAIL_LEVEL", "loud")]);
    assert_eq!(code(&out), 2, "{}", stderr(&out));
    assert!(!outputs.contains("sarif-file="), "{outputs}");
}

#[test]
fn action_cache_key_follows_the_gate_sources() {
    if !have("bash") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("action");
    write(&src, "Cargo.toml", "[workspace]\n");
    write(&src, "Cargo.lock", "version = 4\n");
    write(&src, "lint/src/main.rs", "fn main() {}\n");
    write(&src, "lint/tests/cli.rs", "// a test\n");
    let key = || {
        let (out, outputs) = action(
            dir.path(),
            "cache-key",
            &[("GITHUB_ACTION_PATH", src.to_str().unwrap())],
        );
        assert_eq!(code(&out), 0, "{}", stderr(&out));
        let line = outputs
            .lines()
            .find(|l| l.starts_with("key="))
            .unwrap()
            .to_string();
        assert!(line.starts_with("key=idemgate-"), "{line}");
        line
    };
    let first = key();
    assert_eq!(key(), first, "stable");
    write(&src, "lint/tests/cli.rs", "// another test\n");
    assert_eq!(key(), first, "tests do not change the binary");
    write(&src, "lint/src/main.rs", "fn main() { println!(); }\n");
    assert_ne!(key(), first, "a source change is a new binary");
}

#[test]
fn action_yml_runs_the_tested_script_and_ci_uses_the_action() {
    let action = std::fs::read_to_string(repo_root().join("action.yml")).unwrap();
    let runs: Vec<&str> = action
        .lines()
        .filter(|l| l.trim_start().starts_with("run:"))
        .collect();
    assert_eq!(runs.len(), 3, "{runs:?}");
    for r in &runs {
        assert!(
            r.contains("\"$GITHUB_ACTION_PATH/scripts/action.sh\""),
            "{r}"
        );
    }
    for input in [
        "paths:",
        "config:",
        "baseline:",
        "fail-level:",
        "changed-since:",
        "sarif:",
        "category:",
        "annotations:",
    ] {
        assert!(action.contains(&format!("\n  {input}\n")), "input {input}");
    }
    assert!(action.contains("default: ${{ github.event.pull_request.base.sha }}"));
    assert!(action.contains("uses: actions/cache@v4"));
    assert!(action.contains("category: ${{ inputs.category }}"));
    assert!(action.contains("security-events: write"));
    // every INPUT_* the script reads is passed
    let script = std::fs::read_to_string(repo_root().join("scripts/action.sh")).unwrap();
    for var in script
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .filter(|w| w.starts_with("INPUT_") && w.len() > "INPUT_".len())
    {
        assert!(action.contains(&format!("{var}: ")), "{var} is not passed");
    }
    let ci = std::fs::read_to_string(repo_root().join(".github/workflows/ci.yml")).unwrap();
    assert!(
        ci.contains("- uses: ./\n"),
        "ci.yml runs the gate through the action"
    );
    assert!(ci.contains("security-events: write"));
}

// ---- pre-commit ----

/// (id, entry, pass_filenames) of each hook in .pre-commit-hooks.yaml.
fn hooks() -> Vec<(String, String, bool)> {
    let text = std::fs::read_to_string(repo_root().join(".pre-commit-hooks.yaml")).unwrap();
    let mut out: Vec<(String, String, bool)> = Vec::new();
    for line in text.lines() {
        if let Some(id) = line.strip_prefix("- id: ") {
            out.push((id.trim().into(), String::new(), true));
        } else if let (Some(h), Some(e)) = (out.last_mut(), line.strip_prefix("  entry: ")) {
            h.1 = e.trim().into();
        } else if let (Some(h), Some(p)) = (out.last_mut(), line.strip_prefix("  pass_filenames: "))
        {
            h.2 = p.trim() == "true";
        }
    }
    out
}

#[test]
fn pre_commit_hooks_report_what_is_staged() {
    if !have("git") {
        return;
    }
    let hooks = hooks();
    let ids: Vec<&str> = hooks.iter().map(|h| h.0.as_str()).collect();
    assert_eq!(ids, ["idemgate", "idemgate-openapi"]);
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write(d, "Cargo.toml", MANIFEST);
    write(d, "src/main.rs", MAIN);
    write(d, "src/jobs.rs", "pub fn nothing() {}\n");
    write(d, "specs/openapi.yaml", SPEC);
    git(d, &["init", "-q", "-b", "main"]);
    git(d, &["add", "."]);
    // run a hook as pre-commit does: its entry, plus the staged files when it takes them
    let run = |hook: &(String, String, bool), files: &[&str]| {
        let mut words = hook.1.split_whitespace();
        assert_eq!(words.next(), Some("idemgate"));
        let mut args: Vec<&str> = words.collect();
        args.extend(["--format", "json"]);
        if hook.2 {
            args.extend(files);
        }
        idemgate(d, &args)
    };
    // the first commit: everything staged is new
    let out = run(&hooks[0], &["src/main.rs"]);
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    assert!(findings(&out).iter().any(|f| f.0 == "IDEM001"));
    git(d, &["commit", "-q", "-m", "legacy"]);
    // a staged edit of an unrelated file: the legacy findings stay quiet
    write(d, "src/jobs.rs", "pub fn nothing() {}\npub fn more() {}\n");
    git(d, &["add", "src/jobs.rs"]);
    let out = run(&hooks[0], &["src/jobs.rs"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(findings(&out).is_empty());
    // a staged edit of main.rs: its findings are the change's
    write(d, "src/main.rs", &format!("// edited\n{MAIN}"));
    git(d, &["add", "src/main.rs"]);
    let out = run(&hooks[0], &["src/main.rs"]);
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    let got = findings(&out);
    let idem: Vec<_> = got.iter().filter(|f| f.0 == "IDEM001").collect();
    assert_eq!(idem.len(), 2, "{got:?}");
    assert!(got.iter().all(|f| f.1 == "src/main.rs"), "{got:?}");
    // the spec hook checks the staged spec it is given
    let out = run(&hooks[1], &["specs/openapi.yaml"]);
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    let got = findings(&out);
    assert!(
        got.contains(&("OAS001".into(), "specs/openapi.yaml".into(), 5)),
        "{got:?}"
    );
    assert!(got.iter().all(|f| f.1 == "specs/openapi.yaml"), "{got:?}");
}
