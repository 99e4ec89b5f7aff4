//! Shared stores against real local servers, in one run (not a timed test):
//!
//! - `RedisStore` begin+complete pairs/s at 1, 16 and 64 concurrent callers, next to raw Redis
//!   round trips (`SET … PX`) at the same concurrency over the same kind of connection;
//! - `PostgresStore` `transactional` pairs/s (claim, business INSERT, completion, commit) next
//!   to a bare `INSERT` + `UPDATE` transaction on the same number of connections;
//!
//! with p50/p99 latency. Servers: `IDEMGATE_TEST_REDIS_URL` / `IDEMGATE_TEST_DATABASE_URL`,
//! else 127.0.0.1:6379 / 127.0.0.1:5432 (database `test`) when they answer, else private
//! instances. `cargo bench -p idemgate --features redis,postgres --bench stores [-- SECONDS]`
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

#[path = "../tests/stores_support/mod.rs"]
mod stores_support;

use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use idemgate::idempotency::{
    self, Begin, Fingerprint, IdempotencyStore, Options, PostgresStore, PostgresStoreConfig,
    RedisStore, RedisStoreConfig, ScopedKey,
};
use idemgate::Error;

struct Stats {
    ops_per_sec: f64,
    p50: Duration,
    p99: Duration,
}

/// Runs `op(task, i)` from `concurrency` tasks for `secs` seconds (after a short warm-up).
async fn measure<F, Fut>(concurrency: usize, secs: f64, op: F) -> Stats
where
    F: Fn(usize, u64) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = ()> + Send,
{
    let op = Arc::new(op);
    let seq = Arc::new(AtomicU64::new(0));
    let warm = Duration::from_millis(300);
    let run = Duration::from_secs_f64(secs);
    let start = Instant::now() + warm;
    let end = start + run;
    let mut tasks = Vec::new();
    for t in 0..concurrency {
        let (op, seq) = (op.clone(), seq.clone());
        tasks.push(tokio::spawn(async move {
            let mut lat = Vec::new();
            loop {
                let i = seq.fetch_add(1, Ordering::Relaxed);
                let t0 = Instant::now();
                op(t, i).await;
                let t1 = Instant::now();
                if t1 > end {
                    break;
                }
                if t0 >= start {
                    lat.push(t1 - t0);
                }
            }
            lat
        }));
    }
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.unwrap());
    }
    all.sort_unstable();
    let pick = |q: f64| {
        all.get(((all.len() as f64 * q) as usize).min(all.len().saturating_sub(1)))
            .copied()
            .unwrap_or_default()
    };
    Stats {
        ops_per_sec: all.len() as f64 / run.as_secs_f64(),
        p50: pick(0.50),
        p99: pick(0.99),
    }
}

fn row(what: &str, c: usize, s: &Stats, base: Option<&Stats>) {
    let ratio = base
        .map(|b| format!("{:.2}x", s.ops_per_sec / b.ops_per_sec))
        .unwrap_or_default();
    println!(
        "{what:<34} {c:>3}  {:>10.0}/s  p50 {:>8.3} ms  p99 {:>8.3} ms  {ratio}",
        s.ops_per_sec,
        s.p50.as_secs_f64() * 1e3,
        s.p99.as_secs_f64() * 1e3
    );
}

async fn redis_bench(url: &str, secs: f64) {
    println!("== Redis at {url}");
    let run_id = stores_support::unique("bench");
    for c in [1usize, 16, 64] {
        let client = redis::Client::open(url).unwrap();
        let raw = redis::aio::ConnectionManager::new(client).await.unwrap();
        let prefix = format!("{run_id}:raw:{c}:");
        let raw_stats = measure(c, secs, move |_, i| {
            let mut conn = raw.clone();
            let key = format!("{prefix}{i}");
            async move {
                let _: () = redis::cmd("SET")
                    .arg(key)
                    .arg("v")
                    .arg("PX")
                    .arg(60_000)
                    .query_async(&mut conn)
                    .await
                    .unwrap();
            }
        })
        .await;
        row("raw SET PX (1 round trip)", c, &raw_stats, None);
        let store = Arc::new(
            RedisStore::connect(url, RedisStoreConfig::default())
                .await
                .unwrap(),
        );
        let tenant = format!("{run_id}-{c}");
        let fp = Fingerprint::of(b"{}");
        let stats = measure(c, secs, move |_, i| {
            let store = store.clone();
            let key = ScopedKey::new(&tenant, "bench", &i.to_string()).unwrap();
            async move {
                let Ok(Begin::Proceed(lease)) =
                    store.begin(&key, fp, Duration::from_secs(60)).await
                else {
                    panic!("fresh key")
                };
                store
                    .complete(
                        &key,
                        &lease,
                        b"{\"ok\":true}".to_vec(),
                        Duration::from_secs(60),
                    )
                    .await
                    .unwrap();
            }
        })
        .await;
        row("RedisStore begin+complete", c, &stats, Some(&raw_stats));
    }
}

async fn pg_bench(url: &str, secs: f64) {
    println!("== PostgreSQL at {url}");
    let table = stores_support::unique("bench_orders");
    let (admin, conn) = tokio_postgres::connect(url, tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(conn);
    admin
        .batch_execute(&format!(
            "CREATE TABLE {table} (id bigserial PRIMARY KEY, k text NOT NULL, state text NOT NULL)"
        ))
        .await
        .unwrap();
    for c in [1usize, 16] {
        let mut clients = Vec::new();
        for _ in 0..c {
            let (client, conn) = tokio_postgres::connect(url, tokio_postgres::NoTls)
                .await
                .unwrap();
            tokio::spawn(conn);
            clients.push(Arc::new(client));
        }
        let clients = Arc::new(clients);
        let t = table.clone();
        let bare = measure(c, secs, move |task, i| {
            let client = clients[task].clone();
            let (ins, upd) = (
                format!("INSERT INTO {t} (k, state) VALUES ($1, 'running') RETURNING id"),
                format!("UPDATE {t} SET state = 'done' WHERE id = $1"),
            );
            async move {
                client.batch_execute("BEGIN").await.unwrap();
                let id: i64 = client
                    .query_one(&ins, &[&i.to_string()])
                    .await
                    .unwrap()
                    .get(0);
                client.execute(&upd, &[&id]).await.unwrap();
                client.batch_execute("COMMIT").await.unwrap();
            }
        })
        .await;
        row("bare BEGIN; INSERT; UPDATE; COMMIT", c, &bare, None);
        let store = PostgresStore::connect(
            url,
            PostgresStoreConfig {
                max_connections: c,
                ..PostgresStoreConfig::default()
            },
        )
        .await
        .unwrap();
        let tenant = stores_support::unique("bench");
        let tenant_done = tenant.clone();
        let t = table.clone();
        let stats = measure(c, secs, move |_, i| {
            let (store, t) = (store.clone(), t.clone());
            let key = ScopedKey::new(&tenant, "bench", &i.to_string()).unwrap();
            async move {
                idempotency::transactional::<i64, Error, _, _>(
                    &store,
                    &key,
                    Fingerprint::of(b"{}"),
                    &Options::new(),
                    |tx| async move {
                        let row = tx
                            .query_one(
                                &format!(
                                    "INSERT INTO {t} (k, state) VALUES ('x', 'done') RETURNING id"
                                ),
                                &[],
                            )
                            .await
                            .map_err(|e| Error::Store(e.into()))?;
                        Ok(row.get(0))
                    },
                )
                .await
                .unwrap();
            }
        })
        .await;
        row(
            "PostgresStore transactional + INSERT",
            c,
            &stats,
            Some(&bare),
        );
        let _ = admin
            .execute(
                "DELETE FROM idemgate_keys WHERE tenant = $1",
                &[&tenant_done],
            )
            .await;
    }
    let _ = admin.batch_execute(&format!("DROP TABLE {table}")).await;
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let secs: f64 = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(3.0);
    if let Some((url, _guard)) = stores_support::redis() {
        redis_bench(&url, secs).await;
    }
    if let Some((url, _guard)) = stores_support::postgres() {
        pg_bench(&url, secs).await;
    }
}
