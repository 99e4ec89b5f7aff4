//! A new team's first hour: the README quick start passes the gate as written, names only
//! features and action inputs that exist, and IDEM001 shows a handler and its registration far
//! below as two short snippets, not one long one.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use idemgate_tests::{idemgate, repo_root, stderr, stdout, write};

/// The README's quick start section.
fn quick_start() -> String {
    let readme = std::fs::read_to_string(repo_root().join("README.md")).unwrap();
    let start = readme
        .find("## Quick start")
        .expect("a quick start section");
    let end = start
        + readme[start..]
            .find("<!-- /quick-start -->")
            .expect("the end marker");
    readme[start..end].to_string()
}

/// The fenced blocks of one language, in order.
fn blocks(text: &str, lang: &str) -> Vec<String> {
    let fence = format!("```{lang}\n");
    text.split(fence.as_str())
        .skip(1)
        .map(|rest| rest.split("```").next().unwrap_or_default().to_string())
        .collect()
}

#[test]
fn the_quick_start_code_passes_the_gate() {
    let section = quick_start();
    let rust = blocks(&section, "rust");
    assert_eq!(rust.len(), 3, "handler, retry policy, store");
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "Cargo.toml",
        "[package]\nname = \"orders\"\nversion = \"0.1.0\"\nedition = \"2021\"\n",
    );
    let mut lib = String::new();
    for (i, block) in rust.iter().enumerate() {
        // rustdoc's hidden lines (`# …`) are test scaffolding, not part of the service
        let code: String = block
            .lines()
            .filter(|l| !l.starts_with("# "))
            .map(|l| format!("{l}\n"))
            .collect();
        write(dir.path(), &format!("src/step{i}.rs"), &code);
        lib.push_str(&format!("mod step{i};\n"));
    }
    write(dir.path(), "src/lib.rs", &lib);
    let out = idemgate(dir.path(), &["check", "-f", "json"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}{}",
        stdout(&out),
        stderr(&out)
    );
    let report: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(report["findings"].as_array().map(Vec::len), Some(0));
    // the gate did look: without the annotation, the handler is a finding
    let bare = std::fs::read_to_string(dir.path().join("src/step0.rs"))
        .unwrap()
        .lines()
        .filter(|l| !l.starts_with("#[idempotent("))
        .map(|l| format!("{l}\n"))
        .collect::<String>();
    write(dir.path(), "src/step0.rs", &bare);
    let out = idemgate(dir.path(), &["check", "-f", "json"]);
    let report: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    let rules: Vec<&str> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|f| f["rule"].as_str())
        .collect();
    assert_eq!(rules, ["IDEM001"], "{}", stdout(&out));
}

#[test]
fn the_quick_start_names_real_features_and_action_inputs() {
    let section = quick_start();
    let toml = blocks(&section, "toml").join("\n");
    let runtime = std::fs::read_to_string(repo_root().join("runtime/Cargo.toml")).unwrap();
    let features = runtime
        .split("[features]")
        .nth(1)
        .unwrap()
        .split("\n[")
        .next()
        .unwrap()
        .to_string();
    let dep = toml
        .lines()
        .find(|l| l.starts_with("idemgate = "))
        .expect("the dependency line");
    let named: Vec<&str> = dep
        .split("features = [")
        .nth(1)
        .unwrap()
        .split(']')
        .next()
        .unwrap()
        .split(',')
        .map(|f| f.trim().trim_matches('"'))
        .collect();
    assert_eq!(named, ["axum"]);
    for f in named
        .iter()
        .copied()
        .chain(["actix", "poem", "reqwest", "redis", "postgres"])
    {
        assert!(
            features.contains(&format!("\n{f} = ")),
            "feature `{f}` is not a feature of the runtime"
        );
        assert!(section.contains(&format!("`{f}`")), "`{f}` not explained");
    }

    let yaml = blocks(&section, "yaml").join("\n");
    assert!(yaml.contains("uses: idemgate/idemgate@main"), "{yaml}");
    let action = std::fs::read_to_string(repo_root().join("action.yml")).unwrap();
    let inputs = action.split("inputs:").nth(1).unwrap();
    for line in yaml.lines().skip_while(|l| !l.contains("with:")).skip(1) {
        let key = line.trim().split(':').next().unwrap();
        assert!(
            inputs.contains(&format!("\n  {key}:")),
            "action input `{key}` does not exist"
        );
    }
}

#[test]
fn idem001_shows_handler_and_registration_as_two_snippets() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "Cargo.toml",
        "[package]\nname = \"shop\"\nversion = \"0.1.0\"\nedition = \"2021\"\n",
    );
    let comments = |from: usize, n: usize| -> String {
        (from..from + n).map(|i| format!("// note {i}\n")).collect()
    };
    // a handler deep in its file, registered 20 lines below
    let text = format!(
        "use axum::{{routing::post, Router}};\n\
         static ORDERS: std::sync::Mutex<Vec<String>> = std::sync::Mutex::new(Vec::new());\n\
         {}\
         async fn create_order(body: String) -> String {{\n    \
             ORDERS.lock().unwrap().push(body.clone());\n    \
             body\n\
         }}\n\
         {}\
         pub fn app() -> Router {{\n    \
             Router::new().route(\"/orders\", post(create_order))\n\
         }}\n",
        comments(0, 30),
        comments(100, 16),
    );
    let line_of = |needle: &str| text.lines().position(|l| l.contains(needle)).unwrap() + 1;
    let (handler, registration) = (line_of("async fn create_order"), line_of(".route("));
    assert_eq!(registration - handler, 21);
    write(dir.path(), "src/lib.rs", &text);
    let out = idemgate(dir.path(), &["check", "--no-color"]);
    assert_eq!(out.status.code(), Some(1));
    let report = stdout(&out);
    // the handler's snippet and the registration's, each with its own label
    assert!(
        report.contains(&format!("╭─[src/lib.rs:{handler}:10]")),
        "{report}"
    );
    assert!(
        report.contains(&format!("╭─[src/lib.rs:{registration}:19]")),
        "{report}"
    );
    assert!(
        report.contains("no `#[idempotent]` on this handler"),
        "{report}"
    );
    assert!(report.contains("route registered here"), "{report}");
    // and not the lines between them
    assert!(!report.contains("// note 108"), "{report}");
}
