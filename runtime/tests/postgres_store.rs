//! PostgresStore and `transactional` against a real PostgreSQL (no mocks): exactly-once
//! under concurrent duplicates with the business write in the same transaction, replay and
//! mismatch, lease takeover with fencing (the stale writer is rolled back), a crash mid
//! transaction leaves neither the write nor the completion, sweeping, tenants.
#![cfg(feature = "postgres")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod stores_support;

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::Duration;

use idemgate::idempotency::{
    self, Begin, Fingerprint, IdempotencyStore, Options, Outcome, PgTx, PostgresStore,
    PostgresStoreConfig, ScopedKey,
};
use idemgate::{Error, StoreError};
use stores_support::unique;

/// Drops a test's table when the test ends, passed or failed (the shared database keeps no
/// litter).
struct DropTable(String, String);

impl Drop for DropTable {
    fn drop(&mut self) {
        let (url, table) = (self.0.clone(), self.1.clone());
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async {
                if let Ok((client, conn)) =
                    tokio_postgres::connect(&url, tokio_postgres::NoTls).await
                {
                    tokio::spawn(conn);
                    let _ = client
                        .batch_execute(&format!("DROP TABLE IF EXISTS {table}"))
                        .await;
                }
            });
        })
        .join();
    }
}

async fn setup(url: &str) -> (PostgresStore, String, DropTable) {
    let store = PostgresStore::connect(url, PostgresStoreConfig::default())
        .await
        .expect("store");
    let table = unique("orders");
    let (client, conn) = tokio_postgres::connect(url, tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(conn);
    client
        .batch_execute(&format!(
            "CREATE TABLE {table} (id bigserial PRIMARY KEY, tenant text NOT NULL, sku text NOT NULL)"
        ))
        .await
        .unwrap();
    let guard = DropTable(url.to_owned(), table.clone());
    (store, table, guard)
}

async fn count(url: &str, table: &str) -> i64 {
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

fn pg_err(e: idemgate::idempotency::PostgresStoreError) -> Error {
    Error::Store(e.into())
}

async fn insert(tx: &PgTx, table: &str, tenant: &str, sku: &str) -> Result<i64, Error> {
    let row = tx
        .query_one(
            &format!("INSERT INTO {table} (tenant, sku) VALUES ($1, $2) RETURNING id"),
            &[&tenant, &sku],
        )
        .await
        .map_err(pg_err)?;
    Ok(row.get(0))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn exactly_once_under_100_concurrent_duplicates() {
    let Some((url, _guard)) = stores_support::postgres() else {
        return;
    };
    let (a, table, _drop) = setup(&url).await;
    let b = PostgresStore::connect(&url, PostgresStoreConfig::default())
        .await
        .unwrap();
    let stores = [a, b];
    let tenant = unique("tenant");
    let runs = Arc::new(AtomicU32::new(0));
    let barrier = Arc::new(tokio::sync::Barrier::new(100));
    let mut tasks = Vec::new();
    for i in 0..100 {
        let store = stores[i % 2].clone();
        let (runs, barrier, tenant, table) =
            (runs.clone(), barrier.clone(), tenant.clone(), table.clone());
        let opts = if i % 3 == 0 {
            Options {
                wait: Some(Duration::from_secs(20)),
                ..Options::new()
            }
        } else {
            Options::new()
        };
        tasks.push(tokio::spawn(async move {
            let key = ScopedKey::new(&tenant, "orders.create", "order-1").unwrap();
            barrier.wait().await;
            idempotency::transactional::<i64, Error, _, _>(
                &store,
                &key,
                Fingerprint::of(b"tea"),
                &opts,
                |tx| async move {
                    runs.fetch_add(1, Ordering::SeqCst);
                    let id = insert(&tx, &table, &tenant, "tea").await?;
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    Ok(id)
                },
            )
            .await
        }));
    }
    let (mut executed, mut replayed, mut in_flight) = (0, 0, 0);
    let mut ids = std::collections::HashSet::new();
    for t in tasks {
        match t.await.unwrap() {
            Ok(Outcome::Executed(id)) => {
                executed += 1;
                ids.insert(id);
            }
            Ok(Outcome::Replayed(id)) => {
                replayed += 1;
                ids.insert(id);
            }
            Err(Error::InFlight) => in_flight += 1,
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(runs.load(Ordering::SeqCst), 1, "exactly one execution");
    assert_eq!(executed, 1);
    assert_eq!(executed + replayed + in_flight, 100);
    assert!(
        replayed >= 33,
        "every waiter got the stored id ({replayed})"
    );
    assert_eq!(ids.len(), 1, "one order id for everybody");
    assert_eq!(count(&url, &table).await, 1, "exactly one order row");
}

#[tokio::test]
async fn replay_then_mismatch() {
    let Some((url, _guard)) = stores_support::postgres() else {
        return;
    };
    let (store, table, _drop) = setup(&url).await;
    let tenant = unique("tenant");
    let key = ScopedKey::new(&tenant, "orders.create", "k").unwrap();
    let go = |body: &'static [u8]| {
        let (store, key, table, tenant) = (&store, &key, table.clone(), tenant.clone());
        async move {
            idempotency::transactional::<i64, Error, _, _>(
                store,
                key,
                Fingerprint::of(body),
                &Options::new(),
                |tx| async move { insert(&tx, &table, &tenant, "tea").await },
            )
            .await
        }
    };
    let Ok(Outcome::Executed(id)) = go(b"a").await else {
        panic!("first executes")
    };
    assert_eq!(go(b"a").await.unwrap(), Outcome::Replayed(id));
    assert!(matches!(go(b"b").await, Err(Error::Mismatch)));
    assert_eq!(count(&url, &table).await, 1);
}

/// The claim of `transactional` skips its own WAL flush (`SET LOCAL` in its own
/// transaction); the operation's transaction, which commits the writes and the record, is on
/// the same pooled connection and still commits synchronously, and so does the next one.
#[tokio::test]
async fn the_committing_transaction_waits_for_its_flush() {
    let Some((url, _guard)) = stores_support::postgres() else {
        return;
    };
    let store = PostgresStore::connect(
        &url,
        PostgresStoreConfig {
            max_connections: 1,
            ..PostgresStoreConfig::default()
        },
    )
    .await
    .unwrap();
    let tenant = unique("tenant");
    for k in ["a", "b"] {
        let key = ScopedKey::new(&tenant, "orders.create", k).unwrap();
        let setting = idempotency::transactional::<String, Error, _, _>(
            &store,
            &key,
            Fingerprint::of(b""),
            &Options::new(),
            |tx| async move {
                let row = tx
                    .query_one("SHOW synchronous_commit", &[])
                    .await
                    .map_err(pg_err)?;
                Ok(row.get(0))
            },
        )
        .await
        .unwrap()
        .into_inner();
        assert_eq!(setting, "on", "key {k}");
    }
}

#[tokio::test]
async fn an_error_rolls_the_writes_back_and_releases_the_key() {
    let Some((url, _guard)) = stores_support::postgres() else {
        return;
    };
    let (store, table, _drop) = setup(&url).await;
    let tenant = unique("tenant");
    let key = ScopedKey::new(&tenant, "orders.create", "k").unwrap();
    let r = idempotency::transactional::<i64, Error, _, _>(
        &store,
        &key,
        Fingerprint::of(b""),
        &Options::new(),
        |tx| {
            let (table, tenant) = (table.clone(), tenant.clone());
            async move {
                insert(&tx, &table, &tenant, "tea").await?;
                Err(Error::InFlight) // the payment failed, say
            }
        },
    )
    .await;
    assert!(r.is_err());
    assert_eq!(count(&url, &table).await, 0, "rolled back");
    let r = idempotency::transactional::<i64, Error, _, _>(
        &store,
        &key,
        Fingerprint::of(b""),
        &Options::new(),
        |tx| {
            let (table, tenant) = (table.clone(), tenant.clone());
            async move { insert(&tx, &table, &tenant, "tea").await }
        },
    )
    .await;
    assert!(matches!(r, Ok(Outcome::Executed(_))), "{r:?}");
    assert_eq!(count(&url, &table).await, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crash_mid_transaction_leaves_neither_write_nor_record() {
    let Some((url, _guard)) = stores_support::postgres() else {
        return;
    };
    let (store, table, _drop) = setup(&url).await;
    let tenant = unique("tenant");
    let key = ScopedKey::new(&tenant, "orders.create", "k").unwrap();
    let opts = Options {
        lease: Duration::from_millis(700),
        ..Options::new()
    };
    // The executor dies after its write, before the commit (a dropped task closes its
    // connection, as a killed process does).
    let crashed = tokio::spawn({
        let (store, key, table, tenant) =
            (store.clone(), key.clone(), table.clone(), tenant.clone());
        async move {
            idempotency::transactional::<i64, Error, _, _>(
                &store,
                &key,
                Fingerprint::of(b""),
                &opts,
                |tx| async move {
                    insert(&tx, &table, &tenant, "tea").await?;
                    std::future::pending::<()>().await;
                    Ok(0)
                },
            )
            .await
        }
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    crashed.abort();
    let _ = crashed.await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(count(&url, &table).await, 0, "the write was rolled back");
    let retry = || {
        let (store, key, table, tenant) = (&store, &key, table.clone(), tenant.clone());
        async move {
            idempotency::transactional::<i64, Error, _, _>(
                store,
                key,
                Fingerprint::of(b""),
                &opts,
                |tx| async move { insert(&tx, &table, &tenant, "tea").await },
            )
            .await
        }
    };
    // the claim is still leased: a retry conflicts instead of racing
    assert!(matches!(retry().await, Err(Error::InFlight)));
    tokio::time::sleep(Duration::from_millis(700)).await;
    assert!(matches!(retry().await, Ok(Outcome::Executed(_))));
    assert!(matches!(retry().await, Ok(Outcome::Replayed(_))));
    assert_eq!(count(&url, &table).await, 1, "exactly one order");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stale_executor_is_fenced_and_its_writes_rolled_back() {
    let Some((url, _guard)) = stores_support::postgres() else {
        return;
    };
    let (store, table, _drop) = setup(&url).await;
    let tenant = unique("tenant");
    let key = ScopedKey::new(&tenant, "orders.create", "k").unwrap();
    let short = Options {
        lease: Duration::from_millis(300),
        ..Options::new()
    };
    let slow = tokio::spawn({
        let (store, key, table, tenant) =
            (store.clone(), key.clone(), table.clone(), tenant.clone());
        async move {
            idempotency::transactional::<String, Error, _, _>(
                &store,
                &key,
                Fingerprint::of(b""),
                &short,
                |tx| async move {
                    insert(&tx, &table, &tenant, "stale").await?;
                    tokio::time::sleep(Duration::from_millis(900)).await;
                    Ok("stale".to_owned())
                },
            )
            .await
        }
    });
    tokio::time::sleep(Duration::from_millis(500)).await;
    let fresh = idempotency::transactional::<String, Error, _, _>(
        &store,
        &key,
        Fingerprint::of(b""),
        &Options::new(),
        |tx| {
            let (table, tenant) = (table.clone(), tenant.clone());
            async move {
                insert(&tx, &table, &tenant, "fresh").await?;
                Ok("fresh".to_owned())
            }
        },
    )
    .await;
    assert_eq!(fresh.unwrap(), Outcome::Executed("fresh".into()));
    let stale = slow.await.unwrap();
    assert!(
        matches!(stale, Err(Error::Store(StoreError::Fenced))),
        "{stale:?}"
    );
    let (client, conn) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(conn);
    let skus: Vec<String> = client
        .query(&format!("SELECT sku FROM {table}"), &[])
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(
        skus,
        ["fresh"],
        "the stale executor's write was rolled back"
    );
    let again = idempotency::transactional::<String, Error, _, _>(
        &store,
        &key,
        Fingerprint::of(b""),
        &Options::new(),
        |_tx| async { Ok("never".to_owned()) },
    )
    .await;
    assert_eq!(again.unwrap(), Outcome::Replayed("fresh".into()));
}

#[tokio::test]
async fn store_api_fences_and_expires_and_sweeps() {
    let Some((url, _guard)) = stores_support::postgres() else {
        return;
    };
    let (s, _, _drop) = setup(&url).await;
    let key = ScopedKey::new(&unique("tenant"), "charge", "k").unwrap();
    let fp = Fingerprint::of(b"body");
    let lease = Duration::from_millis(300);
    let Begin::Proceed(old) = s.begin(&key, fp, lease).await.unwrap() else {
        panic!()
    };
    assert_eq!(s.begin(&key, fp, lease).await.unwrap(), Begin::InFlight);
    assert_eq!(
        s.begin(&key, Fingerprint::of(b"other"), lease)
            .await
            .unwrap(),
        Begin::Mismatch
    );
    tokio::time::sleep(Duration::from_millis(400)).await;
    let Begin::Proceed(new) = s.begin(&key, fp, lease).await.unwrap() else {
        panic!("takeover")
    };
    assert!(new.token() > old.token());
    let keep = Duration::from_millis(300);
    assert!(matches!(
        s.complete(&key, &old, b"stale".to_vec(), keep).await,
        Err(StoreError::Fenced)
    ));
    assert!(matches!(
        s.release(&key, &old).await,
        Err(StoreError::Fenced)
    ));
    s.complete(&key, &new, b"fresh".to_vec(), keep)
        .await
        .unwrap();
    assert_eq!(
        s.begin(&key, fp, lease).await.unwrap(),
        Begin::Replay(b"fresh".to_vec())
    );
    tokio::time::sleep(Duration::from_millis(400)).await;
    s.sweep().await.unwrap();
    let (client, conn) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(conn);
    let left: i64 = client
        .query_one(
            "SELECT count(*) FROM idemgate_keys WHERE tenant = $1",
            &[&key.scope()],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(left, 0, "the expired record is swept");
    let Begin::Proceed(third) = s.begin(&key, fp, lease).await.unwrap() else {
        panic!("retention over: executes again")
    };
    assert!(third.token() > new.token());
}

#[tokio::test]
async fn tenants_never_collide() {
    let Some((url, _guard)) = stores_support::postgres() else {
        return;
    };
    let (s, _, _drop) = setup(&url).await;
    let base = unique("t");
    let tenants = [
        base.clone(),
        format!("{base}:x"),
        format!("{base}x"),
        String::new(),
    ];
    let fp = Fingerprint::of(b"");
    let lease = Duration::from_secs(60);
    let client_key = unique("order");
    for (i, t) in tenants.iter().enumerate() {
        let key = ScopedKey::new(t, "charge", &client_key).unwrap();
        let Begin::Proceed(l) = s.begin(&key, fp, lease).await.unwrap() else {
            panic!("tenant {t:?} must not see another tenant's record")
        };
        s.complete(&key, &l, i.to_string().into_bytes(), lease)
            .await
            .unwrap();
    }
    for (i, t) in tenants.iter().enumerate() {
        let key = ScopedKey::new(t, "charge", &client_key).unwrap();
        assert_eq!(
            s.begin(&key, fp, lease).await.unwrap(),
            Begin::Replay(i.to_string().into_bytes())
        );
    }
}

#[tokio::test]
async fn connection_refused_fails_closed() {
    let port = stores_support::free_port();
    let s = PostgresStore::open(
        &format!("postgres://postgres@127.0.0.1:{port}/test"),
        PostgresStoreConfig::default(),
    )
    .unwrap();
    let runs = AtomicU32::new(0);
    let key = ScopedKey::new("t", "charge", "k").unwrap();
    let r = idempotency::transactional::<u32, Error, _, _>(
        &s,
        &key,
        Fingerprint::of(b""),
        &Options::new(),
        |_tx| async {
            runs.fetch_add(1, Ordering::SeqCst);
            Ok(1)
        },
    )
    .await;
    assert!(
        matches!(r, Err(Error::Store(StoreError::Unavailable(_)))),
        "{r:?}"
    );
    assert_eq!(runs.load(Ordering::SeqCst), 0, "the operation must not run");
    let r = idempotency::run::<u32, Error, _, _>(
        &s,
        &key,
        Fingerprint::of(b""),
        &Options::new(),
        || async {
            runs.fetch_add(1, Ordering::SeqCst);
            Ok(1)
        },
    )
    .await;
    assert!(r.is_err());
    assert_eq!(runs.load(Ordering::SeqCst), 0);
    let _: &dyn IdempotencyStore = &s;
}

#[tokio::test]
async fn a_dropped_execution_releases_its_key_at_once() {
    let Some((url, _guard)) = stores_support::postgres() else {
        return;
    };
    let (s, _, _drop) = setup(&url).await;
    let key = ScopedKey::new(&unique("tenant"), "charge", "k").unwrap();
    let started = tokio::sync::Notify::new();
    let opts = Options::new();
    let abandoned =
        idempotency::run::<u32, Error, _, _>(&s, &key, Fingerprint::of(b""), &opts, || async {
            started.notify_one();
            std::future::pending::<()>().await;
            Ok(0)
        });
    // the client disconnects while the operation runs
    tokio::select! {
        _ = abandoned => panic!("never finishes"),
        () = started.notified() => {}
    }
    // the released claim (detached release) lets the retry execute well before the 60 s lease
    let deadline = std::time::Instant::now() + Duration::from_secs(3);
    loop {
        let r = idempotency::run::<u32, Error, _, _>(
            &s,
            &key,
            Fingerprint::of(b""),
            &Options::new(),
            || async { Ok(1) },
        )
        .await;
        match r {
            Ok(Outcome::Executed(1)) => break,
            Err(Error::InFlight) if std::time::Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            other => panic!("{other:?}"),
        }
    }
}
