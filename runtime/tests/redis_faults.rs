//! Redis killed mid-flight, through the axum integration: 503 with Retry-After while it is
//! down, the handler never runs then, no duplicate execution, automatic recovery after the
//! restart. Each test starts its own redis-server (it kills it).
#![cfg(all(feature = "redis", feature = "axum"))]
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod stores_support;

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::{Request, StatusCode};
use axum::routing::post;
use axum::Router;
use idemgate::http::{Idempotency, IdempotencyLayer};
use idemgate::idempotency::{RedisStore, RedisStoreConfig};
use stores_support::PrivateRedis;
use tower::ServiceExt;

fn app(url: &str, runs: Arc<AtomicU32>) -> Router {
    let store = RedisStore::open(
        url,
        RedisStoreConfig {
            operation_timeout: Duration::from_millis(500),
            ..RedisStoreConfig::default()
        },
    )
    .unwrap();
    Router::new()
        .route(
            "/orders",
            post(move |body: String| {
                let runs = runs.clone();
                async move {
                    let n = runs.fetch_add(1, Ordering::SeqCst) + 1;
                    if body.contains("slow") {
                        tokio::time::sleep(Duration::from_millis(600)).await;
                    }
                    (StatusCode::CREATED, format!("order-{n}"))
                }
            }),
        )
        .layer(IdempotencyLayer::new(
            Idempotency::new()
                .scope_header("X-Tenant")
                .store(Arc::new(store)),
        ))
}

async fn post_order(
    app: &Router,
    key: &str,
    body: &str,
) -> (StatusCode, Option<String>, bool, String) {
    let req = Request::post("/orders")
        .header("X-Tenant", "acme")
        .header("Idempotency-Key", key)
        .header("content-type", "text/plain")
        .body(Body::from(body.to_owned()))
        .unwrap();
    let res = app.clone().oneshot(req).await.unwrap();
    let status = res.status();
    let retry_after = res
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let replayed = res.headers().get("idempotent-replayed").is_some();
    let body = axum::body::to_bytes(res.into_body(), 1 << 20)
        .await
        .unwrap();
    (
        status,
        retry_after,
        replayed,
        String::from_utf8_lossy(&body).into_owned(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_killed_mid_flight_fails_closed_and_recovers() {
    let Some(mut redis) = PrivateRedis::start_persistent() else {
        return;
    };
    let runs = Arc::new(AtomicU32::new(0));
    let app = app(&redis.url(), runs.clone());

    let (status, _, replayed, body) = post_order(&app, "k1", "tea").await;
    assert_eq!(
        (status, replayed, body.as_str()),
        (StatusCode::CREATED, false, "order-1")
    );

    // k2 is executing when Redis dies
    let slow = tokio::spawn({
        let app = app.clone();
        async move { post_order(&app, "k2", "slow").await }
    });
    tokio::time::sleep(Duration::from_millis(150)).await;
    redis.kill();
    let (status, _, _, _) = slow.await.unwrap();
    assert_eq!(
        status,
        StatusCode::CREATED,
        "the side effect happened: its answer goes out"
    );
    assert_eq!(runs.load(Ordering::SeqCst), 2);

    // down: every request is 503 with Retry-After, and nothing executes
    for (key, body) in [("k1", "tea"), ("k2", "slow"), ("k3", "coffee")] {
        let (status, retry_after, _, _) = post_order(&app, key, body).await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{key}");
        assert!(retry_after.is_some(), "503 carries Retry-After");
    }
    assert_eq!(
        runs.load(Ordering::SeqCst),
        2,
        "no execution while the store is down"
    );

    // back: the same service recovers by itself
    redis.restart();
    let deadline = Instant::now() + Duration::from_secs(15);
    let (status, _, replayed, body) = loop {
        let r = post_order(&app, "k1", "tea").await;
        if r.0 != StatusCode::SERVICE_UNAVAILABLE || Instant::now() > deadline {
            break r;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(
        (status, replayed, body.as_str()),
        (StatusCode::CREATED, true, "order-1")
    );
    // k2's completion was lost with the connection, its claim was not: still leased, so a
    // retry conflicts rather than charging twice
    let (status, _, _, _) = post_order(&app, "k2", "slow").await;
    assert_eq!(status, StatusCode::CONFLICT);
    let (status, _, replayed, body) = post_order(&app, "k3", "coffee").await;
    assert_eq!(
        (status, replayed, body.as_str()),
        (StatusCode::CREATED, false, "order-3")
    );
    assert_eq!(
        runs.load(Ordering::SeqCst),
        3,
        "exactly one execution per key"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_down_at_start_up_then_up() {
    let Some(mut redis) = PrivateRedis::start() else {
        return;
    };
    redis.kill();
    let runs = Arc::new(AtomicU32::new(0));
    // the service starts while Redis is down (lazy connection)
    let app = app(&redis.url(), runs.clone());
    let (status, retry_after, _, _) = post_order(&app, "k1", "tea").await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(retry_after.is_some());
    assert_eq!(runs.load(Ordering::SeqCst), 0);
    redis.restart();
    let deadline = Instant::now() + Duration::from_secs(15);
    let status = loop {
        let (status, ..) = post_order(&app, "k1", "tea").await;
        if status != StatusCode::SERVICE_UNAVAILABLE || Instant::now() > deadline {
            break status;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(status, StatusCode::CREATED);
    let (status, _, replayed, _) = post_order(&app, "k1", "tea").await;
    assert_eq!((status, replayed), (StatusCode::CREATED, true));
    assert_eq!(runs.load(Ordering::SeqCst), 1);
}
