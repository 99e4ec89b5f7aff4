//! The fix the gate suggests works: the annotation in IDEM001's help, compiled verbatim (see
//! build.rs) onto an axum handler, serves 201 and then the replay of it over real HTTP; and the
//! gate, on a handler without it, prints exactly that annotation and is green once it is added.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::atomic::AtomicUsize;

use idemgate_rules::rules::idem001::SUGGESTED_FIX;
use idemgate_tests::{idemgate, stderr, stdout, write};

static ORDERS: AtomicUsize = AtomicUsize::new(0);

mod suggested {
    use super::ORDERS;
    use idemgate::idempotent;

    include!(concat!(env!("OUT_DIR"), "/suggested_fix.rs"));
}

async fn serve() -> String {
    let app = axum::Router::new().route("/orders", axum::routing::post(suggested::create_order));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    format!("http://{addr}/orders")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_suggested_fix_serves_then_replays_over_http() {
    let url = serve().await;
    let client = reqwest::Client::new();
    let post = |key: &str| {
        client
            .post(&url)
            .header("Idempotency-Key", key)
            .header("X-Tenant", "acme")
            .body("2 coffees")
    };

    let first = post("order-1").send().await.unwrap();
    assert_eq!(first.status(), 201);
    assert!(first.headers().get("idempotent-replayed").is_none());
    assert_eq!(first.text().await.unwrap(), "order 1: 2 coffees");

    let replay = post("order-1").send().await.unwrap();
    assert_eq!(replay.status(), 201);
    assert_eq!(
        replay
            .headers()
            .get("idempotent-replayed")
            .and_then(|v| v.to_str().ok()),
        Some("true")
    );
    assert_eq!(replay.text().await.unwrap(), "order 1: 2 coffees");
    assert_eq!(ORDERS.load(std::sync::atomic::Ordering::SeqCst), 1);

    // the scope is the suggestion's own: a caller that does not say who it is is told so
    let anonymous = client
        .post(&url)
        .header("Idempotency-Key", "order-2")
        .body("tea")
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), 401);
    let problem: serde_json::Value =
        serde_json::from_str(&anonymous.text().await.unwrap()).unwrap();
    assert_eq!(problem["type"], "urn:idemgate:problem:caller-unidentified");
    assert!(
        problem["detail"]
            .as_str()
            .unwrap()
            .ends_with("send the `x-tenant` header"),
        "{problem}"
    );
    assert_eq!(ORDERS.load(std::sync::atomic::Ordering::SeqCst), 1);
}

const UNANNOTATED: &str = r#"use axum::{routing::post, Router};

static ORDERS: std::sync::Mutex<Vec<String>> = std::sync::Mutex::new(Vec::new());

async fn create_order(body: String) -> String {
    ORDERS.lock().unwrap().push(body.clone());
    body
}

pub fn app() -> Router {
    Router::new().route("/orders", post(create_order))
}
"#;

#[test]
fn the_gate_suggests_that_fix_and_accepts_it() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "Cargo.toml",
        "[package]\nname = \"shop\"\nversion = \"0.1.0\"\nedition = \"2021\"\n",
    );
    write(dir.path(), "src/lib.rs", UNANNOTATED);
    let out = idemgate(dir.path(), &["check", "-f", "json"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let report: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    let finding = &report["findings"][0];
    assert_eq!(finding["rule"], "IDEM001");
    assert_eq!(finding["file"], "src/lib.rs");
    assert_eq!(finding["line"], 5);
    let help = finding["help"].as_str().unwrap();
    assert!(
        help.starts_with(&format!("add `{SUGGESTED_FIX}`")),
        "the help names another fix than the one compiled: {help}"
    );

    write(
        dir.path(),
        "src/lib.rs",
        &UNANNOTATED.replace(
            "async fn create_order",
            &format!("use idemgate::idempotent;\n\n{SUGGESTED_FIX}\nasync fn create_order"),
        ),
    );
    let out = idemgate(dir.path(), &["check"]);
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));

    // `explain` shows the same annotation, in a complete handler
    let explain = stdout(&idemgate(dir.path(), &["explain", "IDEM001"]));
    let good = explain.split("## Good").nth(1).unwrap_or_default();
    assert!(good.contains("use idemgate::idempotent;"), "{explain}");
    assert!(
        good.contains(
            r#"#[idempotent(key = header("Idempotency-Key"), scope = header("X-Tenant"), ttl = "24h")]"#
        ),
        "{explain}"
    );
    assert!(good.contains(r#"features = ["axum"]"#), "{explain}");
}
