//! The shop HTTP contract, driven over real HTTP on loopback against a running binary: the
//! same tests for `shop` (axum) and `shop-actix`. Each test file that includes this module says
//! which binary (`super::BIN`) and how its banner names it (`super::NAME`).

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;

use reqwest::{Client, Response, StatusCode};
use serde_json::Value;

/// A running shop process; killed when dropped.
struct Shop {
    child: Child,
    base: String,
    client: Client,
}

impl Shop {
    fn start() -> Shop {
        let mut child = Command::new(super::BIN)
            .env("SHOP_ADDR", "127.0.0.1:0")
            // Deterministic provider for exact assertions; flakiness is covered in unit tests.
            .env("SHOP_PAYMENT_FAILURE_RATE", "0")
            .env("SHOP_PAYMENT_LATENCY_MS", "50")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap_or_else(|e| panic!("start {}: {e}", super::NAME));
        let stdout = child.stdout.take().expect("stdout");
        let mut line = String::new();
        BufReader::new(stdout)
            .read_line(&mut line)
            .expect("read banner");
        let base = line
            .trim()
            .strip_prefix(&format!("{} listening on ", super::NAME))
            .unwrap_or_else(|| panic!("unexpected banner {line:?}"))
            .to_owned();
        Shop {
            child,
            base,
            client: Client::new(),
        }
    }

    async fn post(&self, tenant: Option<&str>, key: Option<&str>, body: &str) -> Response {
        let mut request = self
            .client
            .post(format!("{}/orders", self.base))
            .header("content-type", "application/json")
            .body(body.to_owned());
        if let Some(tenant) = tenant {
            request = request.header("X-Tenant", tenant);
        }
        if let Some(key) = key {
            request = request.header("Idempotency-Key", key);
        }
        request.send().await.expect("POST /orders")
    }

    async fn orders(&self, tenant: &str) -> Vec<Value> {
        let response = self
            .client
            .get(format!("{}/orders", self.base))
            .header("X-Tenant", tenant)
            .send()
            .await
            .expect("GET /orders");
        assert_eq!(response.status(), StatusCode::OK);
        serde_json::from_slice(&response.bytes().await.unwrap()).unwrap()
    }
}

impl Drop for Shop {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

const TEA: &str = r#"{"sku":"tea","qty":2}"#;

async fn problem(response: Response, status: StatusCode) -> Value {
    assert_eq!(response.status(), status);
    assert_eq!(
        response.headers()["content-type"],
        "application/problem+json"
    );
    let body: Value = serde_json::from_slice(&response.bytes().await.unwrap()).unwrap();
    assert_eq!(body["status"], status.as_u16());
    body
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn fifty_concurrent_identical_posts_create_exactly_one_order() {
    let shop = Arc::new(Shop::start());
    let barrier = Arc::new(tokio::sync::Barrier::new(50));
    let tasks: Vec<_> = (0..50)
        .map(|_| {
            let (shop, barrier) = (Arc::clone(&shop), Arc::clone(&barrier));
            tokio::spawn(async move {
                barrier.wait().await;
                let response = shop.post(Some("acme"), Some("concurrent-1"), TEA).await;
                let status = response.status();
                (status, response.bytes().await.unwrap())
            })
        })
        .collect();
    let mut created = Vec::new();
    let mut conflicts = 0;
    for task in tasks {
        let (status, body) = task.await.unwrap();
        match status {
            StatusCode::CREATED => created.push(body),
            StatusCode::CONFLICT => conflicts += 1,
            other => panic!("unexpected {other}: {body:?}"),
        }
    }
    assert!(!created.is_empty(), "one request executes");
    assert!(
        created.iter().all(|b| *b == created[0]),
        "every success is byte-identical"
    );
    assert_eq!(created.len() + conflicts, 50);
    assert!(conflicts > 0, "duplicates in flight get 409");
    assert_eq!(shop.orders("acme").await.len(), 1, "exactly one order");
}

#[tokio::test]
async fn a_completed_duplicate_is_replayed_with_the_header() {
    let shop = Shop::start();
    let first = shop.post(Some("acme"), Some("replay-1"), TEA).await;
    assert_eq!(first.status(), StatusCode::CREATED);
    assert!(first.headers().get("idempotent-replayed").is_none());
    let location = first.headers()["location"].clone();
    let first_body = first.bytes().await.unwrap();

    let again = shop.post(Some("acme"), Some("replay-1"), TEA).await;
    assert_eq!(again.status(), StatusCode::CREATED);
    assert_eq!(again.headers()["idempotent-replayed"], "true");
    assert_eq!(again.headers()["location"], location);
    assert_eq!(again.headers()["content-type"], "application/json");
    assert_eq!(again.bytes().await.unwrap(), first_body);
    assert_eq!(shop.orders("acme").await.len(), 1);
}

#[tokio::test]
async fn the_same_key_with_another_body_is_422() {
    let shop = Shop::start();
    assert_eq!(
        shop.post(Some("acme"), Some("k-422"), TEA).await.status(),
        StatusCode::CREATED
    );
    let other = shop
        .post(Some("acme"), Some("k-422"), r#"{"sku":"tea","qty":3}"#)
        .await;
    let body = problem(other, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert_eq!(body["type"], "urn:idemgate:problem:idempotency-key-reused");
    assert_eq!(shop.orders("acme").await.len(), 1);
}

#[tokio::test]
async fn a_missing_or_invalid_key_is_400() {
    let shop = Shop::start();
    let missing = problem(
        shop.post(Some("acme"), None, TEA).await,
        StatusCode::BAD_REQUEST,
    )
    .await;
    assert_eq!(
        missing["type"],
        "urn:idemgate:problem:idempotency-key-missing"
    );
    let too_long = "k".repeat(256);
    for key in ["\"\"", too_long.as_str(), "two words", "\"unterminated"] {
        let invalid = problem(
            shop.post(Some("acme"), Some(key), TEA).await,
            StatusCode::BAD_REQUEST,
        )
        .await;
        assert_eq!(
            invalid["type"], "urn:idemgate:problem:idempotency-key-invalid",
            "{key}"
        );
    }
    // An RFC 8941 sf-string and a bare token name the same key.
    assert_eq!(
        shop.post(Some("acme"), Some("\"k-400\""), TEA)
            .await
            .status(),
        StatusCode::CREATED
    );
    let replay = shop.post(Some("acme"), Some("k-400"), TEA).await;
    assert_eq!(replay.headers()["idempotent-replayed"], "true");
    assert_eq!(shop.orders("acme").await.len(), 1);
}

#[tokio::test]
async fn another_tenant_with_the_same_key_gets_its_own_order() {
    let shop = Shop::start();
    let acme = shop.post(Some("acme"), Some("shared-key"), TEA).await;
    assert_eq!(acme.status(), StatusCode::CREATED);
    let acme: Value = serde_json::from_slice(&acme.bytes().await.unwrap()).unwrap();
    let globex = shop.post(Some("globex"), Some("shared-key"), TEA).await;
    assert_eq!(globex.status(), StatusCode::CREATED);
    assert!(globex.headers().get("idempotent-replayed").is_none());
    let globex: Value = serde_json::from_slice(&globex.bytes().await.unwrap()).unwrap();
    assert_ne!(acme["id"], globex["id"]);
    assert_ne!(acme["payment_id"], globex["payment_id"]);
    assert_eq!(globex["tenant"], "globex");
    assert_eq!(shop.orders("acme").await, vec![acme]);
    assert_eq!(shop.orders("globex").await, vec![globex]);
}

#[tokio::test]
async fn a_request_without_a_tenant_is_401() {
    let shop = Shop::start();
    let body = problem(
        shop.post(None, Some("k-401"), TEA).await,
        StatusCode::UNAUTHORIZED,
    )
    .await;
    assert_eq!(body["type"], "urn:idemgate:problem:caller-unidentified");
}

#[tokio::test]
async fn an_invalid_order_is_400_and_replayed() {
    let shop = Shop::start();
    let bad = problem(
        shop.post(Some("acme"), Some("bad-1"), r#"{"sku":"tea","qty":0}"#)
            .await,
        StatusCode::BAD_REQUEST,
    )
    .await;
    assert_eq!(bad["type"], "urn:idemgate:problem:invalid-body");
    let again = shop
        .post(Some("acme"), Some("bad-1"), r#"{"sku":"tea","qty":0}"#)
        .await;
    assert_eq!(again.headers()["idempotent-replayed"], "true");
    assert!(shop.orders("acme").await.is_empty());
}

/// Regression (issue 16): the provider key was `format!("shop:{tenant}:{key}")`, so tenant
/// `acme:x` with key `y` got tenant `acme`'s charge for key `x:y`.
#[tokio::test]
async fn tenants_cannot_share_a_payment_through_separators() {
    let shop = Shop::start();
    let acme = shop.post(Some("acme"), Some("x:y"), TEA).await;
    assert_eq!(acme.status(), StatusCode::CREATED);
    let acme: Value = serde_json::from_slice(&acme.bytes().await.unwrap()).unwrap();
    let other = shop.post(Some("acme:x"), Some("y"), TEA).await;
    assert_eq!(other.status(), StatusCode::CREATED);
    assert!(other.headers().get("idempotent-replayed").is_none());
    let other: Value = serde_json::from_slice(&other.bytes().await.unwrap()).unwrap();
    assert_eq!(acme["tenant"], "acme");
    assert_eq!(other["tenant"], "acme:x");
    assert_ne!(
        acme["payment_id"], other["payment_id"],
        "two tenants, two charges"
    );
    assert_eq!(shop.orders("acme").await, vec![acme]);
    assert_eq!(shop.orders("acme:x").await, vec![other]);
}

/// A client that re-serialises the same order (another key order, other whitespace) is
/// retrying, not sending a new request.
#[tokio::test]
async fn the_same_json_in_another_order_is_replayed() {
    let shop = Shop::start();
    let first = shop.post(Some("acme"), Some("order-json"), TEA).await;
    assert_eq!(first.status(), StatusCode::CREATED);
    let first_body = first.bytes().await.unwrap();
    let again = shop
        .post(
            Some("acme"),
            Some("order-json"),
            "{ \"qty\": 2,\n  \"sku\": \"tea\" }",
        )
        .await;
    assert_eq!(again.status(), StatusCode::CREATED);
    assert_eq!(again.headers()["idempotent-replayed"], "true");
    assert_eq!(again.bytes().await.unwrap(), first_body);
    assert_eq!(shop.orders("acme").await.len(), 1);
}

/// The shop fingerprints `sku` and `qty` only: a field outside them may change between
/// retries; another value in one of them is another request (422).
#[tokio::test]
async fn only_the_fingerprinted_fields_identify_the_order() {
    let shop = Shop::start();
    let first = shop
        .post(
            Some("acme"),
            Some("order-fields"),
            r#"{"sku":"tea","qty":2,"sent_at":"2026-12-02T03:00:00Z"}"#,
        )
        .await;
    assert_eq!(first.status(), StatusCode::CREATED);
    let first_body = first.bytes().await.unwrap();
    let retry = shop
        .post(
            Some("acme"),
            Some("order-fields"),
            r#"{"sent_at":"2026-12-02T03:00:05Z","qty":2,"sku":"tea"}"#,
        )
        .await;
    assert_eq!(retry.status(), StatusCode::CREATED);
    assert_eq!(retry.headers()["idempotent-replayed"], "true");
    assert_eq!(retry.bytes().await.unwrap(), first_body);
    for other in [
        r#"{"sku":"tea","qty":3,"sent_at":"2026-12-02T03:00:00Z"}"#,
        r#"{"sku":"coffee","qty":2,"sent_at":"2026-12-02T03:00:00Z"}"#,
        r#"{"sku":"tea","sent_at":"2026-12-02T03:00:00Z"}"#,
    ] {
        let body = problem(
            shop.post(Some("acme"), Some("order-fields"), other).await,
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
        assert_eq!(body["type"], "urn:idemgate:problem:idempotency-key-reused");
    }
    assert_eq!(shop.orders("acme").await.len(), 1);
}
