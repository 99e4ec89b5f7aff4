//! The alert floor in `observability/` is valid and does what its comments say: `promtool`
//! accepts the rules, its unit tests fire and silence every alert, every dashboard query
//! parses, and the README tells the on-call what each alert means.
//!
//! `promtool` comes with Debian's `prometheus` package, which `scripts/test` installs when it
//! is missing; outside CI a machine without it skips these tests and says so.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::process::Command;

use idemgate_tests::repo_root;

/// `promtool`, or `None` (after printing why) when it is missing outside CI.
fn promtool() -> Option<PathBuf> {
    let found = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join("promtool"))
            .find(|p| p.is_file())
    });
    if found.is_none() {
        assert!(
            std::env::var("CI").is_err(),
            "promtool is missing in CI: scripts/test installs it (Debian package prometheus)"
        );
        println!("SKIPPED: promtool is not installed (Debian package prometheus)");
    }
    found
}

fn promtool_run(promtool: &Path, args: &[&str]) -> (bool, String) {
    let out = Command::new(promtool)
        .current_dir(repo_root())
        .args(args)
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

fn read(path: &str) -> String {
    std::fs::read_to_string(repo_root().join(path)).unwrap()
}

/// The `- alert: Name` blocks of `observability/alerts.yml`: (name, its lines).
fn alerts() -> Vec<(String, String)> {
    let text = read("observability/alerts.yml");
    let mut blocks: Vec<(String, String)> = Vec::new();
    for line in text.lines() {
        let trimmed = line.trim_start();
        if let Some(name) = trimmed.strip_prefix("- alert: ") {
            blocks.push((name.trim().to_owned(), String::new()));
        } else if trimmed.starts_with("- record: ") || trimmed.starts_with("- name: ") {
            blocks.push((String::new(), String::new()));
        } else if let Some((_, body)) = blocks.last_mut() {
            body.push_str(line);
            body.push('\n');
        }
    }
    blocks.retain(|(name, _)| !name.is_empty());
    blocks
}

/// Every query of every panel of `observability/dashboard.json`: (panel title, expr).
fn dashboard_queries() -> Vec<(String, String)> {
    let dashboard: serde_json::Value =
        serde_json::from_str(&read("observability/dashboard.json")).unwrap();
    let mut queries = Vec::new();
    for panel in dashboard["panels"].as_array().unwrap() {
        let title = panel["title"].as_str().unwrap().to_owned();
        let targets = panel["targets"].as_array().unwrap();
        assert!(!targets.is_empty(), "panel {title:?} has no query");
        for target in targets {
            let expr = target["expr"].as_str().unwrap().to_owned();
            queries.push((title.clone(), expr));
        }
    }
    queries
}

/// A dashboard query as Prometheus sees it once Grafana has filled in its variables.
fn as_promql(expr: &str) -> String {
    expr.replace("$__rate_interval", "1m").replace("$job", ".+")
}

#[test]
fn the_six_alerts_are_there_each_with_severity_summary_description_and_runbook() {
    let alerts = alerts();
    let names: Vec<&str> = alerts.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        [
            "IdemgateRetryAmplificationHigh",
            "IdemgateRetryRateAboveBaseline",
            "IdemgateRetryBudgetExhausted",
            "IdemgateCircuitBreakerOpen",
            "IdemgateIdempotencyStoreErrors",
            "IdemgateIdempotencyHitRateZero",
        ]
    );
    for (name, body) in &alerts {
        for field in [
            "expr:",
            "for:",
            "severity:",
            "summary:",
            "description:",
            "runbook:",
        ] {
            assert!(body.contains(field), "{name} has no {field}");
        }
        assert!(
            body.contains("severity: page") || body.contains("severity: warning"),
            "{name}: severity is page or warning"
        );
    }
}

#[test]
fn promtool_accepts_the_rules() {
    let Some(promtool) = promtool() else { return };
    let (ok, out) = promtool_run(&promtool, &["check", "rules", "observability/alerts.yml"]);
    assert!(ok, "{out}");
    assert!(out.contains("SUCCESS: 13 rules found"), "{out}");
}

#[test]
fn promtool_unit_tests_fire_and_silence_every_alert() {
    let tests = read("observability/tests/alerts_test.yml");
    for (name, _) in alerts() {
        let evaluations: Vec<&str> = tests
            .split("- eval_time:")
            .filter(|case| case.contains(&format!("alertname: {name}\n")))
            .collect();
        assert!(
            evaluations.iter().any(|c| c.contains("exp_labels:")),
            "no unit test shows {name} firing"
        );
        assert!(
            evaluations.iter().any(|c| c.contains("exp_alerts: []")),
            "no unit test shows {name} silent"
        );
    }
    let Some(promtool) = promtool() else { return };
    let (ok, out) = promtool_run(
        &promtool,
        &["test", "rules", "observability/tests/alerts_test.yml"],
    );
    assert!(ok, "{out}");
    assert!(out.contains("SUCCESS"), "{out}");
}

#[test]
fn the_dashboard_has_the_panels_an_on_call_needs() {
    let queries = dashboard_queries();
    let titles: Vec<&str> = queries.iter().map(|(t, _)| t.as_str()).collect();
    for (wanted, metric) in [
        (
            "Retry amplification per dependency",
            "idemgate_attempts_total",
        ),
        ("Retry rate per dependency", "idemgate_retries_total"),
        ("Retry budget exhaustion", "idemgate_budget_exhausted_total"),
        ("Circuit breaker state", "idemgate_breaker_state"),
        (
            "Idempotency: executions vs replays vs conflicts",
            "idemgate_idempotency_replays_total",
        ),
        ("Idempotency hit rate", "idemgate_idempotency_replays_total"),
    ] {
        assert!(titles.contains(&wanted), "no panel {wanted:?}: {titles:?}");
        assert!(
            queries
                .iter()
                .any(|(t, e)| t == wanted && e.contains(metric)),
            "panel {wanted:?} does not query {metric}"
        );
    }
    let idempotency: Vec<&str> = queries
        .iter()
        .filter(|(t, _)| t == "Idempotency: executions vs replays vs conflicts")
        .map(|(_, e)| e.as_str())
        .collect();
    for metric in [
        "idemgate_idempotency_executions_total",
        "idemgate_idempotency_replays_total",
        "idemgate_idempotency_conflicts_total",
    ] {
        assert!(idempotency.iter().any(|e| e.contains(metric)), "{metric}");
    }
}

#[test]
fn promtool_parses_every_dashboard_query() {
    let queries = dashboard_queries();
    assert!(queries.len() >= 10, "{queries:?}");
    let Some(promtool) = promtool() else { return };
    // Each query becomes a recording rule, so `promtool check rules` parses it.
    let rules: Vec<serde_json::Value> = queries
        .iter()
        .enumerate()
        .map(|(i, (_, expr))| serde_json::json!({"record": format!("dashboard:query_{i}"), "expr": as_promql(expr)}))
        .collect();
    let file = serde_json::json!({"groups": [{"name": "dashboard", "rules": rules}]});
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("dashboard_rules.yml");
    std::fs::write(&path, file.to_string()).unwrap();
    let (ok, out) = promtool_run(&promtool, &["check", "rules", path.to_str().unwrap()]);
    assert!(ok, "a dashboard query does not parse:\n{out}");
    assert!(
        out.contains(&format!("SUCCESS: {} rules found", queries.len())),
        "{out}"
    );

    // And a broken one would have been caught.
    std::fs::write(
        &path,
        r#"{"groups":[{"name":"d","rules":[{"record":"x","expr":"sum by (a (rate(y[1m]))"}]}]}"#,
    )
    .unwrap();
    let (ok, _) = promtool_run(&promtool, &["check", "rules", path.to_str().unwrap()]);
    assert!(!ok, "promtool accepted a broken query");
}

#[test]
fn the_readme_tells_the_on_call_what_each_alert_means() {
    let readme = read("README.md");
    let start = readme
        .find("## Operating it")
        .expect("README.md has an \"Operating it\" section");
    let section = &readme[start..];
    let section = &section[..section[3..].find("\n## ").map_or(section.len(), |e| e + 3)];
    for (name, _) in alerts() {
        assert!(
            section.contains(&name),
            "README \"Operating it\" does not explain {name}"
        );
    }
    assert!(section.contains("observability/dashboard.json"));
}

/// The metric names `runtime/src/metrics.rs` defines (`pub const X: &str = "idemgate_…";`).
fn documented_metrics() -> Vec<String> {
    read("runtime/src/metrics.rs")
        .lines()
        .filter_map(|l| l.strip_prefix("pub const "))
        .filter_map(|l| l.split_once("= \"").map(|(_, name)| name))
        .filter_map(|name| name.split('"').next())
        .filter(|name| name.starts_with("idemgate_"))
        .map(str::to_owned)
        .collect()
}

/// Every `idemgate_…` metric name a text mentions (recording rules are `idemgate:…`).
fn metric_names(text: &str) -> Vec<String> {
    let mut names = Vec::new();
    let mut rest = text;
    while let Some(at) = rest.find("idemgate_") {
        let name: String = rest[at..]
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect();
        rest = &rest[at + name.len()..];
        names.push(name);
    }
    names
}

#[test]
fn alerts_and_dashboard_query_only_documented_metrics() {
    let documented = documented_metrics();
    assert!(documented.len() >= 14, "{documented:?}");
    for file in ["observability/alerts.yml", "observability/dashboard.json"] {
        let used = metric_names(&read(file));
        assert!(used.len() >= 10, "{file}: {used:?}");
        for name in used {
            assert!(
                documented.contains(&name),
                "{file} uses {name}, which the runtime does not emit"
            );
        }
    }
    assert_eq!(
        metric_names("rate(idemgate_calls_total[5m]) / idemgate:calls:rate5m"),
        ["idemgate_calls_total"]
    );
}
