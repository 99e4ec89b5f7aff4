//! The HTTP form of `transactional`: an axum handler behind the idempotency layer writes
//! through `postgres::current_tx()` inside `postgres::transaction_scope`, and its writes commit
//! with the idempotency record — both or neither, and the client is told which.
#![cfg(all(feature = "postgres", feature = "axum"))]
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod stores_support;

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::{Request, StatusCode};
use axum::middleware::Next;
use axum::routing::post;
use axum::Router;
use idemgate::http::{Idempotency, IdempotencyLayer};
use idemgate::idempotency::postgres::{current_tx, transaction_scope};
use idemgate::idempotency::{PostgresStore, PostgresStoreConfig};
use tower::ServiceExt;

fn app(store: PostgresStore, table: String, runs: Arc<AtomicU32>) -> Router {
    Router::new()
        .route(
            "/orders",
            post(move |body: String| {
                let (table, runs) = (table.clone(), runs.clone());
                async move {
                    runs.fetch_add(1, Ordering::SeqCst);
                    let Some(tx) = current_tx() else {
                        return (
                            StatusCode::INTERNAL_SERVER_ERROR,
                            "no transaction".to_owned(),
                        );
                    };
                    let id: i64 = match tx
                        .query_one(
                            &format!("INSERT INTO {table} (sku) VALUES ($1) RETURNING id"),
                            &[&body],
                        )
                        .await
                    {
                        Ok(row) => row.get(0),
                        Err(e) => return (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
                    };
                    if body.contains("slow") {
                        tokio::time::sleep(Duration::from_millis(800)).await;
                    }
                    if body.contains("fail") {
                        return (StatusCode::BAD_GATEWAY, "provider down".to_owned());
                    }
                    (StatusCode::CREATED, format!("order-{id}"))
                }
            }),
        )
        .layer(IdempotencyLayer::new(
            Idempotency::new()
                .scope_header("X-Tenant")
                .lease(Duration::from_secs(1))
                .store(Arc::new(store)),
        ))
        .layer(axum::middleware::from_fn(
            |req: axum::extract::Request, next: Next| transaction_scope(next.run(req)),
        ))
}

async fn send(app: &Router, tenant: &str, key: &str, body: &str) -> (StatusCode, bool, String) {
    let req = Request::post("/orders")
        .header("X-Tenant", tenant)
        .header("Idempotency-Key", key)
        .header("content-type", "text/plain")
        .body(Body::from(body.to_owned()))
        .unwrap();
    let res = app.clone().oneshot(req).await.unwrap();
    let status = res.status();
    let replayed = res.headers().get("idempotent-replayed").is_some();
    let body = axum::body::to_bytes(res.into_body(), 1 << 20)
        .await
        .unwrap();
    (
        status,
        replayed,
        String::from_utf8_lossy(&body).into_owned(),
    )
}

async fn rows(url: &str, table: &str) -> i64 {
    let (client, conn) = tokio_postgres::connect(url, tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(conn);
    client
        .query_one(&format!("SELECT count(*) FROM {table}"), &[])
        .await
        .unwrap()
        .get(0)
}

async fn create_table(url: &str) -> String {
    let table = stores_support::unique("http_orders");
    let (client, conn) = tokio_postgres::connect(url, tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(conn);
    client
        .batch_execute(&format!(
            "CREATE TABLE {table} (id bigserial PRIMARY KEY, sku text NOT NULL)"
        ))
        .await
        .unwrap();
    table
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn handler_writes_commit_with_the_record() {
    let Some((url, _guard)) = stores_support::postgres() else {
        return;
    };
    let store = PostgresStore::connect(&url, PostgresStoreConfig::default())
        .await
        .unwrap();
    let table = create_table(&url).await;
    let runs = Arc::new(AtomicU32::new(0));
    let app = app(store, table.clone(), runs.clone());
    let tenant = stores_support::unique("acme");

    // 50 concurrent duplicates: one execution, one row
    let mut tasks = Vec::new();
    for _ in 0..50 {
        let (app, tenant) = (app.clone(), tenant.clone());
        tasks.push(tokio::spawn(async move {
            send(&app, &tenant, "k1", "tea").await
        }));
    }
    let mut created = 0;
    for t in tasks {
        match t.await.unwrap() {
            (StatusCode::CREATED, false, _) => created += 1,
            (StatusCode::CREATED, true, _) | (StatusCode::CONFLICT, _, _) => {}
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(created, 1);
    assert_eq!(runs.load(Ordering::SeqCst), 1);
    assert_eq!(rows(&url, &table).await, 1);
    let (status, replayed, _) = send(&app, &tenant, "k1", "tea").await;
    assert_eq!((status, replayed), (StatusCode::CREATED, true));

    // a 5xx is not stored: its write rolls back and the retry executes
    let (status, _, _) = send(&app, &tenant, "k2", "fail").await;
    assert_eq!(status, StatusCode::BAD_GATEWAY);
    assert_eq!(
        rows(&url, &table).await,
        1,
        "the failed attempt's write rolled back"
    );
    let (status, replayed, _) = send(&app, &tenant, "k3", "tea").await;
    assert_eq!((status, replayed), (StatusCode::CREATED, false));
    assert_eq!(rows(&url, &table).await, 2);

    // outside a scope nothing is opened (the handler says so)
    let bare = Router::new().route("/", post(|| async { current_tx().is_none().to_string() }));
    let res = bare
        .oneshot(Request::post("/").body(Body::empty()).unwrap())
        .await
        .unwrap();
    let body = axum::body::to_bytes(res.into_body(), 64).await.unwrap();
    assert_eq!(&body[..], b"true");
    let (client, conn) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(conn);
    let _ = client
        .batch_execute(&format!("DROP TABLE IF EXISTS {table}"))
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_commit_answers_503_and_leaves_nothing() {
    let Some(mut pg) = stores_support::PrivatePostgres::start() else {
        return;
    };
    let url = pg.url();
    let store = PostgresStore::connect(
        &url,
        PostgresStoreConfig {
            operation_timeout: Duration::from_millis(1500),
            connect_timeout: Duration::from_millis(500),
            ..PostgresStoreConfig::default()
        },
    )
    .await
    .unwrap();
    let table = create_table(&url).await;
    let runs = Arc::new(AtomicU32::new(0));
    let app = app(store, table.clone(), runs.clone());

    // the server dies between the handler's write and the commit
    let slow = tokio::spawn({
        let app = app.clone();
        async move { send(&app, "acme", "k1", "slow").await }
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    pg.kill();
    let (status, _, _) = slow.await.unwrap();
    assert_eq!(
        status,
        StatusCode::SERVICE_UNAVAILABLE,
        "the client is not told 201 for an order that was never committed"
    );
    pg.restart();
    assert_eq!(
        rows(&url, &table).await,
        0,
        "neither the order nor the record"
    );
    // the retry (after the lost claim's lease) executes exactly once
    let deadline = Instant::now() + Duration::from_secs(20);
    let created = loop {
        let r = send(&app, "acme", "k1", "slow").await;
        if r.0 == StatusCode::CREATED || Instant::now() > deadline {
            break r;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert_eq!((created.0, created.1), (StatusCode::CREATED, false));
    let (status, replayed, body) = send(&app, "acme", "k1", "slow").await;
    assert_eq!(
        (status, replayed, body),
        (StatusCode::CREATED, true, created.2)
    );
    assert_eq!(rows(&url, &table).await, 1, "exactly one order");
}
