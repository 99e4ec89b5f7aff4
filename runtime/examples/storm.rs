//! A retry storm, simulated in paused time: 1000 clients call a dependency that fails 100 %
//! for 60 s and then heals. Two ways of calling it:
//!
//! - **naive**: three layers (handler → service → client) each retrying 3 times with a fixed
//!   100 ms delay — 27 calls per request while the dependency is down;
//! - **idemgate**: the same three layers under `RetryPolicy::new()` (defaults: 4 attempts,
//!   full jitter, the `default` budget), the client layer also behind a circuit breaker with
//!   the default settings. Inner layers do not retry (one retry layer).
//!
//! The dependency serves 2000 calls/s: when more than that arrived in the last second it is
//! overloaded and fails every call, which is what turns a retry storm into a metastable
//! outage (the retries keep it overloaded after the cause is gone).
//!
//! Amplification = dependency calls ÷ logical requests during the outage; recovery = seconds
//! from the heal until the clients' success rate is back to normal (≥ 99 % in every 100 ms
//! from then on). Run with `cargo run --release -p idemgate --example storm`.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::future::Future;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::Duration;

use idemgate::{Error, RetryPolicy, Retryability, Retryable};
use tokio::time::{sleep, Instant};

const CLIENTS: u64 = 1000;
const THINK: Duration = Duration::from_secs(1);
const LATENCY: Duration = Duration::from_millis(10);
const OUTAGE_FROM: f64 = 10.0;
const HEAL_AT: f64 = 70.0;
const END: f64 = 130.0;
/// Calls per second the dependency serves.
const CAPACITY: u64 = 2000;
const BUCKETS: usize = (END * 10.0) as usize + 1;

#[derive(Debug)]
enum DepErr {
    Unavailable,
    Overloaded,
    Refused,
}

impl From<Error> for DepErr {
    fn from(_: Error) -> Self {
        DepErr::Refused
    }
}

impl Retryable for DepErr {
    fn retryability(&self) -> Retryability {
        match self {
            DepErr::Unavailable | DepErr::Overloaded => Retryability::Transient,
            DepErr::Refused => Retryability::Permanent,
        }
    }
}

/// Per-100 ms counters of one scenario.
struct Stats {
    t0: Instant,
    calls: Vec<AtomicU32>,
    started: Vec<AtomicU32>,
    ok: Vec<AtomicU32>,
    failed: Vec<AtomicU32>,
}

impl Stats {
    fn new() -> Self {
        let v = || (0..BUCKETS).map(|_| AtomicU32::new(0)).collect();
        Self {
            t0: Instant::now(),
            calls: v(),
            started: v(),
            ok: v(),
            failed: v(),
        }
    }

    fn t(&self) -> f64 {
        self.t0.elapsed().as_secs_f64()
    }

    fn bucket(&self) -> usize {
        ((self.t() * 10.0) as usize).min(BUCKETS - 1)
    }

    /// The dependency.
    async fn call(&self) -> Result<(), DepErr> {
        let t = self.t();
        let b = self.bucket();
        self.calls[b].fetch_add(1, Ordering::Relaxed);
        let last_second: u64 = self.calls[b.saturating_sub(9)..=b]
            .iter()
            .map(|c| u64::from(c.load(Ordering::Relaxed)))
            .sum();
        let overloaded = last_second > CAPACITY;
        sleep(LATENCY).await;
        if (OUTAGE_FROM..HEAL_AT).contains(&t) {
            Err(DepErr::Unavailable)
        } else if overloaded {
            Err(DepErr::Overloaded)
        } else {
            Ok(())
        }
    }

    fn sum(v: &[AtomicU32], from: f64, to: f64) -> u64 {
        let (a, b) = (
            ((from * 10.0) as usize).min(BUCKETS),
            ((to * 10.0) as usize).min(BUCKETS),
        );
        v[a..b]
            .iter()
            .map(|x| u64::from(x.load(Ordering::Relaxed)))
            .sum()
    }

    fn amplification(&self, from: f64, to: f64) -> f64 {
        Self::sum(&self.calls, from, to) as f64 / Self::sum(&self.started, from, to).max(1) as f64
    }

    fn success(&self, from: f64, to: f64) -> f64 {
        let ok = Self::sum(&self.ok, from, to);
        let failed = Self::sum(&self.failed, from, to);
        100.0 * ok as f64 / (ok + failed).max(1) as f64
    }

    /// Seconds from the heal until every later 100 ms bucket is ≥ 99 % successful.
    fn recovery(&self) -> Option<f64> {
        let heal = (HEAL_AT * 10.0) as usize;
        let last_bad = (heal..BUCKETS - 1).rev().find(|&b| {
            let ok = self.ok[b].load(Ordering::Relaxed);
            let failed = self.failed[b].load(Ordering::Relaxed);
            ok + failed > 0 && f64::from(ok) < 0.99 * f64::from(ok + failed)
        });
        match last_bad {
            None => Some(0.0),
            Some(b) if b >= BUCKETS - 12 => None,
            Some(b) => Some((b + 1 - heal) as f64 / 10.0),
        }
    }
}

// ---- naive: three layers of hand-rolled retries, fixed delay ----

async fn naive_layer<F, Fut>(mut f: F) -> Result<(), DepErr>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<(), DepErr>>,
{
    let mut last = f().await;
    for _ in 1..3 {
        if last.is_ok() {
            break;
        }
        sleep(Duration::from_millis(100)).await;
        last = f().await;
    }
    last
}

async fn naive_request(dep: &Stats) -> Result<(), DepErr> {
    naive_layer(|| naive_layer(|| naive_layer(|| dep.call()))).await
}

// ---- idemgate: the same three layers under default policies ----

static HANDLER: RetryPolicy = RetryPolicy::new();
static SERVICE: RetryPolicy = RetryPolicy::new();
static CLIENT: RetryPolicy = RetryPolicy::new().breaker("storm.dependency");

async fn idemgate_request(dep: &Stats) -> Result<(), DepErr> {
    HANDLER
        .run("storm.handler", || {
            SERVICE.run("storm.service", || {
                CLIENT.run("storm.client", || dep.call())
            })
        })
        .await
}

#[derive(Clone, Copy, PartialEq)]
enum Scenario {
    Naive,
    Idemgate,
}

fn simulate(scenario: Scenario) -> Arc<Stats> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .start_paused(true)
        .build()
        .unwrap();
    rt.block_on(async {
        let stats = Arc::new(Stats::new());
        let clients: Vec<_> = (0..CLIENTS)
            .map(|id| {
                let stats = stats.clone();
                tokio::spawn(async move {
                    sleep(Duration::from_micros(id * 1_000_000 / CLIENTS)).await;
                    while stats.t() < END {
                        stats.started[stats.bucket()].fetch_add(1, Ordering::Relaxed);
                        let r = match scenario {
                            Scenario::Naive => naive_request(&stats).await,
                            Scenario::Idemgate => idemgate_request(&stats).await,
                        };
                        let b = stats.bucket();
                        if r.is_ok() {
                            &stats.ok[b]
                        } else {
                            &stats.failed[b]
                        }
                        .fetch_add(1, Ordering::Relaxed);
                        sleep(THINK).await;
                    }
                })
            })
            .collect();
        for c in clients {
            c.await.unwrap();
        }
        stats
    })
}

fn main() {
    let naive = simulate(Scenario::Naive);
    let gate = simulate(Scenario::Idemgate);

    println!("1000 clients; dependency down from {OUTAGE_FROM:.0}s to {HEAL_AT:.0}s, capacity {CAPACITY} calls/s");
    println!();
    println!(
        "{:>9} | {:>32} | {:>32}",
        "", "naive (3 layers x 3, fixed 100ms)", "idemgate (defaults + breaker)"
    );
    println!(
        "{:>9} | {:>7} {:>9} {:>6} {:>7} | {:>7} {:>9} {:>6} {:>7}",
        "window", "reqs", "dep calls", "ampl", "ok %", "reqs", "dep calls", "ampl", "ok %"
    );
    let mut t = 0.0;
    while t < END {
        let to = (t + 10.0).min(END);
        let row = |s: &Stats| {
            format!(
                "{:>7} {:>9} {:>6.2} {:>7.1}",
                Stats::sum(&s.started, t, to),
                Stats::sum(&s.calls, t, to),
                s.amplification(t, to),
                s.success(t, to)
            )
        };
        println!(
            "{:>4}-{:<4} | {} | {}",
            format!("{t:.0}s"),
            format!("{to:.0}s"),
            row(&naive),
            row(&gate)
        );
        t = to;
    }
    let a = naive.amplification(OUTAGE_FROM, HEAL_AT);
    let b = gate.amplification(OUTAGE_FROM, HEAL_AT);
    let fmt_recovery = |r: Option<f64>| {
        r.map_or_else(
            || format!("none within {:.0}s", END - HEAL_AT),
            |r| format!("{r:.1}s"),
        )
    };
    println!();
    println!(
        "naive recovery: {}; idemgate recovery: {}",
        fmt_recovery(naive.recovery()),
        fmt_recovery(gate.recovery())
    );
    let c = gate.recovery().unwrap_or(f64::INFINITY);
    println!("storm: naive amplification {a:.1}, idemgate amplification {b:.2}, recovery {c:.1}s");
}
