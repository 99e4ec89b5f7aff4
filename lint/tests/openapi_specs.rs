//! The two real public specs in `../shared/specs/`: Stripe (OpenAPI 3.0, 4.17 MB JSON, 184
//! POST/PATCH operations, none declaring a key) and Adyen Checkout v71 (3.1 YAML, 24 POST/PATCH,
//! 22 with `Idempotency-Key`). Skipped with a notice where the folder is absent.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};

use idemgate_lint::config::Settings;
use idemgate_lint::engine::check;

fn specs() -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/specs");
    if dir.is_dir() {
        Some(dir)
    } else {
        eprintln!(
            "notice: {} is absent; skipping the real-spec tests",
            dir.display()
        );
        None
    }
}

fn count(spec: &str, rule: &str) -> Option<(usize, Vec<String>)> {
    let dir = specs()?;
    let path = dir.join(spec);
    let out = check(&[path], &Settings::defaults(dir)).unwrap();
    let gate: Vec<_> = out
        .findings
        .iter()
        .filter(|f| f.rule == "GATE001")
        .collect();
    assert!(gate.is_empty(), "{spec} did not parse: {gate:?}");
    let hits: Vec<String> = out
        .findings
        .iter()
        .filter(|f| f.rule == rule)
        .map(|f| format!("{}:{} {}", f.location.line, f.location.column, f.message))
        .collect();
    Some((hits.len(), hits))
}

#[test]
fn stripe_has_184_operations_missing_idempotency() {
    if let Some((n, hits)) = count("stripe-spec3-2022-04-12.json", "OAS001") {
        assert_eq!(n, 184, "{hits:#?}");
        assert!(hits
            .iter()
            .any(|h| h.contains("POST /v1/charges declares no idempotency")));
    }
}

#[test]
fn adyen_has_2_operations_missing_idempotency() {
    if let Some((n, hits)) = count("adyen-CheckoutService-v71.yaml", "OAS001") {
        assert_eq!(n, 2, "{hits:#?}");
        assert!(
            hits[0].starts_with("890:5 PATCH /paymentLinks/{linkId}"),
            "{hits:#?}"
        );
        assert!(
            hits[1].starts_with("2253:5 POST /validateShopperId"),
            "{hits:#?}"
        );
    }
}
