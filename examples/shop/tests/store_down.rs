//! The idempotency store is unreachable: the shop answers 503 with Retry-After and never runs
//! the handler (no payment, no order). One process per test file, so this one can install a
//! failing default store.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::time::Duration;

use idemgate::idempotency::{self, UnavailableStore};
use shop::payments::PaymentProvider;

#[tokio::test]
async fn an_unreachable_store_fails_closed_with_503() {
    assert!(idempotency::set_default_store(Arc::new(UnavailableStore)).is_ok());
    let state = shop::Shop::new(PaymentProvider::new(0.0, Duration::from_millis(1)));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let app = shop::app(state.clone());
    let server = tokio::spawn(async move { axum::serve(listener, app).await });

    let client = reqwest::Client::new();
    let response = client
        .post(format!("{base}/orders"))
        .header("X-Tenant", "acme")
        .header("Idempotency-Key", "k-503")
        .header("content-type", "application/json")
        .body(r#"{"sku":"tea","qty":1}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 503);
    assert_eq!(response.headers()["retry-after"], "1");
    assert_eq!(
        response.headers()["content-type"],
        "application/problem+json"
    );
    assert_eq!(state.provider().calls(), 0, "the handler did not run");

    let orders = client
        .get(format!("{base}/orders"))
        .header("X-Tenant", "acme")
        .send()
        .await
        .unwrap();
    assert_eq!(orders.text().await.unwrap(), "[]");
    server.abort();
}
