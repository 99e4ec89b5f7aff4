//! The idempotency store is unreachable: shop-actix answers 503 with Retry-After and never
//! runs the handler (no payment, no order). One process per test file, so this one can install
//! a failing default store.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::time::Duration;

use actix_web::{web, App, HttpServer};
use idemgate::idempotency::{self, UnavailableStore};
use shop::payments::PaymentProvider;

#[tokio::test]
async fn an_unreachable_store_fails_closed_with_503() {
    assert!(idempotency::set_default_store(Arc::new(UnavailableStore)).is_ok());
    let state = web::Data::new(shop_actix::Shop::new(PaymentProvider::new(
        0.0,
        Duration::from_millis(1),
    )));
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let data = state.clone();
    let server = HttpServer::new(move || {
        App::new()
            .app_data(data.clone())
            .configure(shop_actix::routes)
    })
    .workers(1)
    .disable_signals()
    .listen(listener)
    .unwrap()
    .run();
    let handle = server.handle();
    let thread = std::thread::spawn(move || actix_web::rt::System::new().block_on(server));

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
    let body: serde_json::Value = serde_json::from_slice(&response.bytes().await.unwrap()).unwrap();
    assert_eq!(
        body["type"],
        "urn:idemgate:problem:idempotency-store-unavailable"
    );
    assert_eq!(state.provider().calls(), 0, "the handler did not run");

    let orders = client
        .get(format!("{base}/orders"))
        .header("X-Tenant", "acme")
        .send()
        .await
        .unwrap();
    assert_eq!(orders.text().await.unwrap(), "[]");
    handle.stop(true).await;
    thread.join().unwrap().unwrap();
}
