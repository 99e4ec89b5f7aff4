//! Shared stores against real local servers, in one run (not a timed test):
//!
//! - `RedisStore` begin+complete pairs/s at 1, 16 and 64 concurrent callers, next to raw Redis
//!   round trips (`SET … PX`) at the same concurrency over the same kind of connection;
//! - `PostgresStore` `transactional` pairs/s (claim, business INSERT, completion, commit) next
//!   to a bare `INSERT` + `UPDATE` transaction on the same number of connections;
//!
//! with p50/p99 latency and the CPU time per operation of this process and (Redis) of the
//! server. Each pair of numbers is measured in alternating slices ([`ROUNDS`]), so a change of
//! background load weighs on the baseline and the store alike. Servers: `IDEMGATE_TEST_REDIS_URL` / `IDEMGATE_TEST_DATABASE_URL`,
//! else 127.0.0.1:6379 / 127.0.0.1:5432 (database `test`) when they answer, else private
//! instances. `cargo bench -p idemgate --features redis,postgres --bench stores [-- SECONDS]
//! [redis|postgres]`: SECONDS per measurement (3), a word picks one server (both by default).
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

/// Latencies and costs of one kind of operation, over one or more measured slices.
#[derive(Default)]
struct Stats {
    /// Latency of every operation that started and ended inside a measured window.
    lat: Vec<Duration>,
    /// Total length of the measured windows.
    run: Duration,
    /// Operations run, warm-ups included (the denominator of the CPU costs).
    ops_total: u64,
    /// CPU time of this process (client side) over the slices, warm-ups included.
    client_cpu: Option<Duration>,
    /// CPU time of the server (Redis: `INFO cpu`) over the slices.
    server_cpu: Option<Duration>,
}

impl Stats {
    fn add(&mut self, other: Stats) {
        let sum = |a: Option<Duration>, b: Option<Duration>, first: bool| match (a, b) {
            (_, b) if first => b,
            (Some(a), Some(b)) => Some(a + b),
            _ => None,
        };
        let first = self.ops_total == 0;
        self.client_cpu = sum(self.client_cpu, other.client_cpu, first);
        self.server_cpu = sum(self.server_cpu, other.server_cpu, first);
        self.lat.extend(other.lat);
        self.run += other.run;
        self.ops_total += other.ops_total;
    }

    fn ops_per_sec(&self) -> f64 {
        self.lat.len() as f64 / self.run.as_secs_f64().max(1e-9)
    }

    /// The `q` quantile of the latencies (sorts them).
    fn quantile(&mut self, q: f64) -> Duration {
        self.lat.sort_unstable();
        let i = ((self.lat.len() as f64 * q) as usize).min(self.lat.len().saturating_sub(1));
        self.lat.get(i).copied().unwrap_or_default()
    }
}

/// The baseline and the store are measured in this many alternating slices, so that a change
/// of background load on the machine weighs on both alike.
const ROUNDS: u32 = 5;

/// User + system CPU time of this process (Linux `/proc`; `None` elsewhere).
fn process_cpu() -> Option<Duration> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // fields after the parenthesised command name; utime and stime are the 12th and 13th
    let rest = &stat[stat.rfind(')')? + 2..];
    let mut fields = rest.split(' ').skip(11);
    let utime: u64 = fields.next()?.parse().ok()?;
    let stime: u64 = fields.next()?.parse().ok()?;
    // USER_HZ, which /proc reports in, is 100 on every Linux architecture
    Some(Duration::from_millis((utime + stime) * 10))
}

/// CPU time the Redis server has used (`INFO cpu`, all clients).
async fn redis_cpu(conn: &mut redis::aio::ConnectionManager) -> Option<Duration> {
    let info: String = redis::cmd("INFO").arg("cpu").query_async(conn).await.ok()?;
    let secs: f64 = info
        .lines()
        .filter_map(|l| {
            l.strip_prefix("used_cpu_sys:")
                .or_else(|| l.strip_prefix("used_cpu_user:"))
        })
        .filter_map(|v| v.trim().parse::<f64>().ok())
        .sum();
    Some(Duration::from_secs_f64(secs))
}

/// Microseconds of `cpu` per operation of `s`.
fn per_op(cpu: Option<Duration>, s: &Stats) -> String {
    match cpu {
        Some(cpu) if s.ops_total > 0 => {
            format!("{:.1}", cpu.as_secs_f64() * 1e6 / s.ops_total as f64)
        }
        _ => "-".into(),
    }
}

/// Runs `op(task, i)` from `concurrency` tasks for `secs` seconds after a short warm-up; `i`
/// comes from `seq`, which the slices of one kind of operation share (every `i` is fresh).
async fn measure<F, Fut>(concurrency: usize, secs: f64, seq: &Arc<AtomicU64>, op: &Arc<F>) -> Stats
where
    F: Fn(usize, u64) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = ()> + Send,
{
    let warm = Duration::from_millis(200);
    let run = Duration::from_secs_f64(secs);
    let start = Instant::now() + warm;
    let end = start + run;
    let first = seq.load(Ordering::Relaxed);
    let cpu_before = process_cpu();
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
    let mut lat = Vec::new();
    for t in tasks {
        lat.extend(t.await.unwrap());
    }
    let client_cpu = process_cpu()
        .zip(cpu_before)
        .map(|(after, before)| after.saturating_sub(before));
    Stats {
        lat,
        run,
        ops_total: seq.load(Ordering::Relaxed) - first,
        client_cpu,
        server_cpu: None,
    }
}

/// One line of results: rate, latency, CPU µs per operation in this process and (Redis) in
/// the server, and the ratio to `base`.
fn row(what: &str, c: usize, s: &mut Stats, base: Option<f64>) {
    let ratio = base
        .map(|b| format!("{:.2}x", s.ops_per_sec() / b))
        .unwrap_or_default();
    let (p50, p99) = (s.quantile(0.50), s.quantile(0.99));
    println!(
        "{what:<36} {c:>3}  {:>8.0}/s  p50 {:>7.3} ms  p99 {:>7.3} ms  cpu/op {:>5} + {:>5} us  {ratio}",
        s.ops_per_sec(),
        p50.as_secs_f64() * 1e3,
        p99.as_secs_f64() * 1e3,
        per_op(s.client_cpu, s),
        per_op(s.server_cpu, s),
    );
}

async fn redis_bench(url: &str, secs: f64) {
    println!("== Redis at {url}");
    println!("   (cpu/op: this process + the Redis server, µs per operation)");
    let run_id = stores_support::unique("bench");
    let mut admin = redis::aio::ConnectionManager::new(redis::Client::open(url).unwrap())
        .await
        .unwrap();
    let slice = secs / f64::from(ROUNDS);
    for c in [1usize, 16, 64] {
        let client = redis::Client::open(url).unwrap();
        let raw_conn = redis::aio::ConnectionManager::new(client).await.unwrap();
        let prefix = format!("{run_id}:raw:{c}:");
        let raw_op = Arc::new(move |_, i| {
            let mut conn = raw_conn.clone();
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
        });
        let store = Arc::new(
            RedisStore::connect(url, RedisStoreConfig::default())
                .await
                .unwrap(),
        );
        let tenant = format!("{run_id}-{c}");
        let fp = Fingerprint::of(b"{}");
        let store_op = Arc::new(move |_, i: u64| {
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
        });
        // References for reading the ratio: the same two round trips as plain SETs (the ideal
        // of any pair), and as two EVALSHAs of a script that runs no command (the least a
        // Lua-scripted pair can cost the server).
        let ideal_conn = redis::aio::ConnectionManager::new(redis::Client::open(url).unwrap())
            .await
            .unwrap();
        let ideal_prefix = format!("{run_id}:ideal:{c}:");
        let ideal_op = Arc::new(move |_, i| {
            let mut conn = ideal_conn.clone();
            let (a, b) = (format!("{ideal_prefix}{i}a"), format!("{ideal_prefix}{i}b"));
            async move {
                for key in [a, b] {
                    let _: () = redis::cmd("SET")
                        .arg(key)
                        .arg("v")
                        .arg("PX")
                        .arg(60_000)
                        .query_async(&mut conn)
                        .await
                        .unwrap();
                }
            }
        });
        let lua_conn = redis::aio::ConnectionManager::new(redis::Client::open(url).unwrap())
            .await
            .unwrap();
        let empty = Arc::new(redis::Script::new("return 1"));
        let lua_op = Arc::new(move |_, _| {
            let (mut conn, empty) = (lua_conn.clone(), empty.clone());
            async move {
                for _ in 0..2 {
                    let _: i64 = empty.key("k").invoke_async(&mut conn).await.unwrap();
                }
            }
        });
        let seqs: [Arc<AtomicU64>; 4] = Default::default();
        let mut stats: [Stats; 4] = Default::default();
        for _ in 0..ROUNDS {
            stats[0].add(redis_slice(&mut admin, c, slice, &seqs[0], &raw_op).await);
            stats[1].add(redis_slice(&mut admin, c, slice, &seqs[1], &store_op).await);
            stats[2].add(redis_slice(&mut admin, c, slice, &seqs[2], &ideal_op).await);
            stats[3].add(redis_slice(&mut admin, c, slice, &seqs[3], &lua_op).await);
        }
        let [mut raw, mut pairs, mut ideal, mut lua] = stats;
        let base = raw.ops_per_sec();
        row("raw SET PX (1 round trip)", c, &mut raw, None);
        row("RedisStore begin+complete", c, &mut pairs, Some(base));
        row("  ref: 2 x SET PX (ideal pair)", c, &mut ideal, Some(base));
        row("  ref: 2 x EVALSHA 'return 1'", c, &mut lua, Some(base));
    }
}

/// One measured slice of `op`, with the Redis server's CPU time over it.
async fn redis_slice<F, Fut>(
    admin: &mut redis::aio::ConnectionManager,
    c: usize,
    slice: f64,
    seq: &Arc<AtomicU64>,
    op: &Arc<F>,
) -> Stats
where
    F: Fn(usize, u64) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = ()> + Send,
{
    let before = redis_cpu(admin).await;
    let mut s = measure(c, slice, seq, op).await;
    s.server_cpu = server_delta(admin, before).await;
    s
}

async fn server_delta(
    conn: &mut redis::aio::ConnectionManager,
    before: Option<Duration>,
) -> Option<Duration> {
    let after = redis_cpu(conn).await?;
    Some(after.saturating_sub(before?))
}

async fn pg_bench(url: &str, secs: f64) {
    println!("== PostgreSQL at {url}");
    let slice = secs / f64::from(ROUNDS);
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
        let bare_op = Arc::new(move |task: usize, i: u64| {
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
        });
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
        let store_op = Arc::new(move |_, i: u64| {
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
        });
        let (bare_seq, store_seq) = (Arc::default(), Arc::default());
        let (mut bare, mut pairs) = (Stats::default(), Stats::default());
        for _ in 0..ROUNDS {
            bare.add(measure(c, slice, &bare_seq, &bare_op).await);
            pairs.add(measure(c, slice, &store_seq, &store_op).await);
        }
        let base = bare.ops_per_sec();
        row("bare BEGIN; INSERT; UPDATE; COMMIT", c, &mut bare, None);
        row(
            "PostgresStore transactional + INSERT",
            c,
            &mut pairs,
            Some(base),
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
    // cargo passes `--bench`; a number is the seconds per measurement, a word a server
    let args: Vec<String> = std::env::args().skip(1).collect();
    let secs: f64 = args.iter().find_map(|a| a.parse().ok()).unwrap_or(3.0);
    let words: Vec<&str> = args
        .iter()
        .map(String::as_str)
        .filter(|a| !a.starts_with('-') && a.parse::<f64>().is_err())
        .collect();
    let wanted = |name: &str| words.is_empty() || words.contains(&name);
    if wanted("redis") {
        if let Some((url, _guard)) = stores_support::redis() {
            redis_bench(&url, secs).await;
        }
    }
    if wanted("postgres") {
        if let Some((url, _guard)) = stores_support::postgres() {
            pg_bench(&url, secs).await;
        }
    }
}
