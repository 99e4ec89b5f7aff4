//! A client that hangs up does not hold its idempotency key: hyper drops the request's future
//! when the connection closes, the dropped `idempotency::run` releases its claim at once, and
//! the client's retry executes instead of getting 409 until the lease (60 s) expires.
#![cfg(feature = "axum")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use axum::routing::post;
use axum::Router;
use idemgate::http::{Idempotency, IdempotencyLayer};
use idemgate::idempotency::MemoryStore;

/// Hangs on its first call (the client gives up), answers at once afterwards.
async fn hang_once(State(calls): State<Arc<AtomicU32>>) -> String {
    let n = calls.fetch_add(1, Ordering::SeqCst) + 1;
    if n == 1 {
        tokio::time::sleep(Duration::from_secs(30)).await;
    }
    format!("call {n}")
}

#[tokio::test]
async fn a_client_that_hangs_up_does_not_hold_its_key() {
    let calls = Arc::new(AtomicU32::new(0));
    let app = Router::new()
        .route("/hang", post(hang_once))
        .layer(IdempotencyLayer::new(
            Idempotency::new()
                .scope_header("X-Tenant")
                .store(Arc::new(MemoryStore::new())),
        ))
        .with_state(Arc::clone(&calls));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hang", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    let send = || {
        reqwest::Client::new()
            .post(&url)
            .header("X-Tenant", "acme")
            .header("Idempotency-Key", "h1")
            .body("{}")
    };
    let gave_up = send().timeout(Duration::from_millis(200)).send().await;
    assert!(gave_up.is_err(), "the client timed out");
    assert_eq!(calls.load(Ordering::SeqCst), 1);
    let mut retried = None;
    for _ in 0..50 {
        let response = send().send().await.unwrap();
        if response.status() != 409 {
            retried = Some(response);
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let retried = retried.expect("the key was released within a second, not after the lease");
    assert_eq!(retried.status(), 200);
    assert_eq!(retried.text().await.unwrap(), "call 2");
    let replay = send().send().await.unwrap();
    assert_eq!(replay.headers()["idempotent-replayed"], "true");
    assert_eq!(replay.text().await.unwrap(), "call 2");
    assert_eq!(
        calls.load(Ordering::SeqCst),
        2,
        "one abandoned start, one execution"
    );
}
