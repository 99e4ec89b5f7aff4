//! PostgreSQL stopped abruptly mid-transaction: the transaction (business write and record)
//! is lost as one, requests fail closed (503 with Retry-After over HTTP; the operation does not
//! run), the store recovers by itself after the restart and the retry executes exactly once.
//! Each test starts its own PostgreSQL (it kills it).
#![cfg(feature = "postgres")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod stores_support;

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use idemgate::idempotency::{
    self, Fingerprint, Options, Outcome, PgTx, PostgresStore, PostgresStoreConfig, ScopedKey,
};
use idemgate::Error;
use stores_support::PrivatePostgres;

fn config() -> PostgresStoreConfig {
    PostgresStoreConfig {
        operation_timeout: Duration::from_millis(1500),
        connect_timeout: Duration::from_millis(500),
        ..PostgresStoreConfig::default()
    }
}

async fn exec(url: &str, sql: &str) -> Result<(), tokio_postgres::Error> {
    let (client, conn) = tokio_postgres::connect(url, tokio_postgres::NoTls).await?;
    tokio::spawn(conn);
    client.batch_execute(sql).await
}

async fn count(url: &str) -> i64 {
    let (client, conn) = tokio_postgres::connect(url, tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(conn);
    client
        .query_one("SELECT count(*) FROM orders", &[])
        .await
        .unwrap()
        .get(0)
}

async fn create_order(
    store: &PostgresStore,
    key: &ScopedKey,
    runs: &AtomicU32,
    pause: Duration,
) -> Result<Outcome<i64>, Error> {
    let opts = Options {
        lease: Duration::from_secs(1),
        ..Options::new()
    };
    idempotency::transactional::<i64, Error, _, _>(
        store,
        key,
        Fingerprint::of(b"tea"),
        &opts,
        |tx: PgTx| async move {
            runs.fetch_add(1, Ordering::SeqCst);
            let row = tx
                .query_one("INSERT INTO orders (sku) VALUES ('tea') RETURNING id", &[])
                .await
                .map_err(|e| Error::Store(e.into()))?;
            tokio::time::sleep(pause).await;
            Ok(row.get(0))
        },
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_killed_mid_transaction_fails_closed_and_recovers() {
    let Some(mut pg) = PrivatePostgres::start() else {
        return;
    };
    let url = pg.url();
    exec(
        &url,
        "CREATE TABLE orders (id bigserial PRIMARY KEY, sku text NOT NULL)",
    )
    .await
    .unwrap();
    let store = PostgresStore::connect(&url, config()).await.unwrap();
    let runs = Arc::new(AtomicU32::new(0));
    let key = ScopedKey::new("acme", "orders.create", "order-1").unwrap();

    // the server dies while the order's transaction is open
    let in_flight = tokio::spawn({
        let (store, key, runs) = (store.clone(), key.clone(), runs.clone());
        async move { create_order(&store, &key, &runs, Duration::from_millis(800)).await }
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    pg.kill();
    let r = in_flight.await.unwrap();
    assert!(matches!(r, Err(Error::Store(_))), "{r:?}");
    assert_eq!(runs.load(Ordering::SeqCst), 1);

    // down: fails closed, nothing runs
    let r = create_order(&store, &key, &runs, Duration::ZERO).await;
    assert!(matches!(r, Err(Error::Store(_))), "{r:?}");
    let other = ScopedKey::new("acme", "orders.create", "order-2").unwrap();
    let r = create_order(&store, &other, &runs, Duration::ZERO).await;
    assert!(matches!(r, Err(Error::Store(_))), "{r:?}");
    assert_eq!(
        runs.load(Ordering::SeqCst),
        1,
        "no execution while the store is down"
    );

    pg.restart();
    assert_eq!(
        count(&url).await,
        0,
        "the open transaction was lost as a whole"
    );
    // the same store recovers by itself; the claim survived, so the retry waits out the lease
    let deadline = Instant::now() + Duration::from_secs(20);
    let outcome = loop {
        match create_order(&store, &key, &runs, Duration::ZERO).await {
            Err(Error::Store(_)) | Err(Error::InFlight) if Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            other => break other,
        }
    };
    assert!(matches!(outcome, Ok(Outcome::Executed(_))), "{outcome:?}");
    let again = create_order(&store, &key, &runs, Duration::ZERO).await;
    assert!(matches!(again, Ok(Outcome::Replayed(_))), "{again:?}");
    assert_eq!(count(&url).await, 1, "exactly one order");
    assert_eq!(
        runs.load(Ordering::SeqCst),
        2,
        "the lost attempt and the retry"
    );
}

#[cfg(feature = "axum")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_answers_503_while_postgres_is_down() {
    use axum::body::Body;
    use axum::http::{Request, StatusCode};
    use axum::routing::post;
    use axum::Router;
    use idemgate::http::{Idempotency, IdempotencyLayer};
    use tower::ServiceExt;

    let Some(mut pg) = PrivatePostgres::start() else {
        return;
    };
    let store = PostgresStore::connect(&pg.url(), config()).await.unwrap();
    let runs = Arc::new(AtomicU32::new(0));
    let app = Router::new()
        .route(
            "/orders",
            post({
                let runs = runs.clone();
                move || async move {
                    runs.fetch_add(1, Ordering::SeqCst);
                    StatusCode::CREATED
                }
            }),
        )
        .layer(IdempotencyLayer::new(
            Idempotency::new()
                .scope_header("X-Tenant")
                .store(Arc::new(store)),
        ));
    let send = |key: &'static str| {
        let app = app.clone();
        async move {
            let req = Request::post("/orders")
                .header("X-Tenant", "acme")
                .header("Idempotency-Key", key)
                .body(Body::empty())
                .unwrap();
            let res = app.oneshot(req).await.unwrap();
            let replayed = res.headers().get("idempotent-replayed").is_some();
            let retry_after = res.headers().get("retry-after").is_some();
            (res.status(), replayed, retry_after)
        }
    };
    assert_eq!(send("k1").await, (StatusCode::CREATED, false, false));
    pg.kill();
    let (status, _, retry_after) = send("k1").await;
    assert_eq!(
        (status, retry_after),
        (StatusCode::SERVICE_UNAVAILABLE, true)
    );
    let (status, _, retry_after) = send("k2").await;
    assert_eq!(
        (status, retry_after),
        (StatusCode::SERVICE_UNAVAILABLE, true)
    );
    assert_eq!(runs.load(Ordering::SeqCst), 1);
    pg.restart();
    let deadline = Instant::now() + Duration::from_secs(20);
    let replay = loop {
        let r = send("k1").await;
        if r.0 != StatusCode::SERVICE_UNAVAILABLE || Instant::now() > deadline {
            break r;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert_eq!(
        replay,
        (StatusCode::CREATED, true, false),
        "stored before the crash"
    );
    assert_eq!(send("k2").await, (StatusCode::CREATED, false, false));
    assert_eq!(runs.load(Ordering::SeqCst), 2);
}
