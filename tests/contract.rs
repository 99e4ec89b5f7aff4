//! The shop and its spec are one contract: `idemgate check examples/shop` pairs
//! examples/shop/openapi.yaml with the crate and finds nothing. A copy of the shop whose spec
//! and code drift apart gets the SPEC findings, which proves the pair is really checked.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;

use idemgate_tests::{idemgate, repo_root, stderr, stdout, write};

fn findings(out: &std::process::Output) -> Vec<(String, String, u64)> {
    let v: serde_json::Value = serde_json::from_str(&stdout(out))
        .unwrap_or_else(|e| panic!("{e}: {}\n{}", stdout(out), stderr(out)));
    v["findings"]
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

/// The shop's crate (manifest, sources, spec) copied into `dir`, with `edit` applied to the
/// spec and the library.
fn shop_copy(dir: &Path, edit: impl Fn(&str, String) -> String) {
    let shop = repo_root().join("examples/shop");
    for rel in [
        "Cargo.toml",
        "openapi.yaml",
        "src/lib.rs",
        "src/main.rs",
        "src/payments.rs",
    ] {
        let text = std::fs::read_to_string(shop.join(rel)).unwrap();
        write(dir, &format!("shop/{rel}"), &edit(rel, text));
    }
}

fn line_of(dir: &Path, rel: &str, needle: &str) -> u64 {
    let text = std::fs::read_to_string(dir.join(rel)).unwrap();
    text.lines()
        .position(|l| l.contains(needle))
        .map(|i| i as u64 + 1)
        .unwrap_or_else(|| panic!("{needle} not in {rel}"))
}

#[test]
fn the_shop_and_its_spec_agree() {
    let out = idemgate(
        &repo_root(),
        &["check", "examples/shop", "--format", "json", "--isolated"],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    assert_eq!(findings(&out), Vec::new());
}

#[test]
fn a_shop_whose_spec_drifted_gets_the_spec_findings() {
    let dir = tempfile::tempdir().unwrap();
    shop_copy(dir.path(), |rel, text| match rel {
        // the orders moved under /v1 in the spec only; the metrics are no longer documented
        "openapi.yaml" => text
            .replace("  /orders:\n", "  /v1/orders:\n")
            .replace("  /metrics:\n    get:\n", "  /metrics:\n    delete:\n"),
        // the handler forgets keys after an hour; the spec says 24h
        "src/lib.rs" => text.replace("ttl = \"24h\"", "ttl = \"1h\""),
        _ => text,
    });
    let out = idemgate(
        dir.path(),
        &["check", "shop", "--format", "json", "--isolated"],
    );
    let mut got = findings(&out);
    got.retain(|(rule, _, _)| rule.starts_with("SPEC"));
    got.sort();
    let spec = "shop/openapi.yaml";
    let lib = "shop/src/lib.rs";
    let mut want = vec![
        // the spec's GET/POST /v1/orders and DELETE /metrics are served by no route
        ("SPEC003", spec, line_of(dir.path(), spec, "    get:")),
        ("SPEC003", spec, line_of(dir.path(), spec, "    post:")),
        ("SPEC003", spec, line_of(dir.path(), spec, "    delete:")),
        // POST /orders has no operation any more (GET routes are not reported)
        (
            "SPEC003",
            lib,
            line_of(dir.path(), lib, ".route(\"/orders\", get(list_orders)"),
        ),
    ]
    .into_iter()
    .map(|(r, f, l)| (r.to_string(), f.to_string(), l))
    .collect::<Vec<_>>();
    want.sort();
    assert_eq!(got, want, "{}", stdout(&out));
    // with the paths agreeing again, the ttl is compared with the spec's retention
    let dir = tempfile::tempdir().unwrap();
    shop_copy(dir.path(), |rel, text| match rel {
        "src/lib.rs" => text.replace("ttl = \"24h\"", "ttl = \"1h\""),
        _ => text,
    });
    let out = idemgate(
        dir.path(),
        &["check", "shop", "--format", "json", "--isolated"],
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "a warning does not fail the run"
    );
    assert_eq!(
        findings(&out),
        vec![(
            "SPEC002".to_string(),
            lib.to_string(),
            line_of(dir.path(), lib, "ttl = \"1h\"")
        )]
    );
}

#[test]
fn routes_name_the_spec_operation_they_serve() {
    let out = idemgate(
        &repo_root(),
        &["routes", "examples/shop", "--format", "json", "--isolated"],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let v: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    let routes = v["routes"].as_array().unwrap();
    let served: Vec<(String, String, String)> = routes
        .iter()
        .flat_map(|r| {
            let route = format!(
                "{} {}",
                r["method"].as_str().unwrap(),
                r["path"].as_str().unwrap()
            );
            r["operations"].as_array().unwrap().iter().map(move |o| {
                (
                    route.clone(),
                    o["operation_id"].as_str().unwrap_or("").to_string(),
                    o["file"].as_str().unwrap().to_string(),
                )
            })
        })
        .collect();
    let spec = "examples/shop/openapi.yaml".to_string();
    // every route of the shop serves exactly its operation
    assert_eq!(routes.len(), served.len());
    assert!(served.contains(&("POST /orders".into(), "createOrder".into(), spec.clone())));
    assert!(served.contains(&("GET /orders".into(), "listOrders".into(), spec.clone())));
    assert!(served.contains(&("GET /metrics".into(), "metrics".into(), spec)));
    let text = stdout(&idemgate(
        &repo_root(),
        &["routes", "examples/shop", "--isolated"],
    ));
    let post = text.lines().find(|l| l.starts_with("POST")).unwrap();
    let line = line_of(&repo_root(), "examples/shop/openapi.yaml", "    post:");
    assert!(
        post.ends_with(&format!(
            "spec: POST /orders (examples/shop/openapi.yaml:{line})"
        )),
        "{post}"
    );
}
