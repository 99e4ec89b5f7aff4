//! What a guarded call costs when nothing fails — the path every request takes.
//!
//! Group `success_path`, all on a current-thread tokio runtime:
//! - `plain`: the bare async call;
//! - `idemgate_full`: the same call under a `RetryPolicy` with a named budget, a named breaker
//!   and metrics on (the `metrics` facade with no recorder installed, as in a process that
//!   has not set one up; handles are registered once per policy);
//! - `idemgate_retry_only`: the executor without budget and breaker (a breakdown);
//! - `backon`: backon's `Retryable::retry` with its default exponential builder;
//! - `tower_budget`: tower's `Retry` service with a policy depositing into / withdrawing from
//!   `TpsBudget`, the way tower documents it;
//! - `failsafe`: failsafe's futures circuit breaker with its default config;
//! - `idemgate_macro`: the `idemgate_full` call written as `#[retry_policy(budget = "bench", breaker = "bench")]`
//!   (see [`bench_idemgate_macro`]): what the attribute adds over the hand-written policy.
//!
//! The `*_2threads` ids run the same loop on two OS threads at once (each its own
//! current-thread runtime), sharing the policy/budget/breaker: the time is per call on the
//! slower thread, so shared-state contention shows up directly.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::future::Future;
use std::hint::black_box;
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use criterion::measurement::WallTime;
use criterion::{criterion_group, criterion_main, BenchmarkGroup, Criterion};
use idemgate::{Error, RetryPolicy, Retryability};

#[derive(Debug)]
struct BenchErr;

impl From<Error> for BenchErr {
    fn from(_: Error) -> Self {
        BenchErr
    }
}

impl idemgate::Retryable for BenchErr {
    fn retryability(&self) -> Retryability {
        Retryability::Transient
    }
}

impl std::fmt::Display for BenchErr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("bench error")
    }
}

impl std::error::Error for BenchErr {}

/// The dependency: an async call that succeeds.
#[inline(never)]
async fn dep(x: u64) -> Result<u64, BenchErr> {
    Ok(black_box(x))
}

static POLICY: RetryPolicy = RetryPolicy::new().budget("bench").breaker("bench");

/// The executor alone (no budget, no breaker): what `idemgate_full` adds on top of it is the
/// budget deposit and the breaker's admission and success count.
static RETRY_ONLY: RetryPolicy = RetryPolicy::new().no_budget();

async fn idemgate_retry_only() -> Result<u64, BenchErr> {
    RETRY_ONLY
        .run("bench.retry_only", || dep(black_box(1)))
        .await
}

async fn idemgate_full() -> Result<u64, BenchErr> {
    POLICY.run("bench.call", || dep(black_box(1))).await
}

async fn backon_call() -> Result<u64, BenchErr> {
    use backon::{ExponentialBuilder, Retryable as _};
    (|| dep(black_box(1)))
        .retry(ExponentialBuilder::default())
        .await
}

#[derive(Clone)]
struct TowerPolicy {
    budget: Arc<tower::retry::budget::TpsBudget>,
}

impl<E> tower::retry::Policy<u64, u64, E> for TowerPolicy {
    type Future = std::future::Ready<()>;

    fn retry(&mut self, _req: &mut u64, result: &mut Result<u64, E>) -> Option<Self::Future> {
        use tower::retry::budget::Budget;
        match result {
            Ok(_) => {
                self.budget.deposit();
                None
            }
            Err(_) => self.budget.withdraw().then(|| std::future::ready(())),
        }
    }

    fn clone_request(&mut self, req: &u64) -> Option<u64> {
        Some(*req)
    }
}

fn benches(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let mut g = c.benchmark_group("success_path");

    g.bench_function("plain", |b| {
        b.to_async(&rt)
            .iter(|| async { black_box(dep(black_box(1)).await) })
    });
    g.bench_function("idemgate_full", |b| {
        b.to_async(&rt)
            .iter(|| async { black_box(idemgate_full().await) })
    });
    g.bench_function("idemgate_retry_only", |b| {
        b.to_async(&rt)
            .iter(|| async { black_box(idemgate_retry_only().await) })
    });
    bench_idemgate_macro(&mut g, &rt);
    g.bench_function("backon", |b| {
        b.to_async(&rt)
            .iter(|| async { black_box(backon_call().await) })
    });

    let budget = Arc::new(tower::retry::budget::TpsBudget::new(
        Duration::from_secs(10),
        10,
        0.2,
    ));
    {
        use tower::{Service, ServiceExt};
        let svc = tower::retry::Retry::new(
            TowerPolicy {
                budget: budget.clone(),
            },
            tower::service_fn(dep),
        );
        g.bench_function("tower_budget", |b| {
            b.to_async(&rt).iter(|| {
                let mut svc = svc.clone();
                async move { black_box(svc.ready().await.unwrap().call(black_box(1)).await) }
            })
        });
    }

    let cb = failsafe::Config::new().build();
    {
        use failsafe::futures::CircuitBreaker;
        g.bench_function("failsafe", |b| {
            b.to_async(&rt)
                .iter(|| async { black_box(cb.call(dep(black_box(1))).await) })
        });
    }

    // Two threads at once, sharing the state.
    g.bench_function("plain_2threads", |b| {
        b.iter_custom(|n| two_threads(n, || async { black_box(dep(black_box(1)).await) }))
    });
    g.bench_function("idemgate_full_2threads", |b| {
        b.iter_custom(|n| two_threads(n, || async { black_box(idemgate_full().await) }))
    });
    g.bench_function("backon_2threads", |b| {
        b.iter_custom(|n| two_threads(n, || async { black_box(backon_call().await) }))
    });
    {
        use tower::{Service, ServiceExt};
        let svc = tower::retry::Retry::new(TowerPolicy { budget }, tower::service_fn(dep));
        g.bench_function("tower_budget_2threads", |b| {
            b.iter_custom(|n| {
                two_threads(n, || {
                    let mut svc = svc.clone();
                    async move { black_box(svc.ready().await.unwrap().call(black_box(1)).await) }
                })
            })
        });
    }
    {
        use failsafe::futures::CircuitBreaker;
        g.bench_function("failsafe_2threads", |b| {
            b.iter_custom(|n| {
                two_threads(n, || async { black_box(cb.call(dep(black_box(1))).await) })
            })
        });
    }
    g.finish();
}

/// `idemgate_full` written as users write it: `#[retry_policy]` with the same settings as
/// `POLICY` (budget "bench", breaker "bench"). The expansion is a `static` policy and a
/// closure; the difference to `idemgate_full` is what the attribute costs.
#[idemgate::retry_policy(budget = "bench", breaker = "bench")]
async fn annotated(x: &u64) -> Result<u64, BenchErr> {
    dep(*x).await
}

fn bench_idemgate_macro(g: &mut BenchmarkGroup<'_, WallTime>, rt: &tokio::runtime::Runtime) {
    g.bench_function("idemgate_macro", |b| {
        b.to_async(rt)
            .iter(|| async { black_box(annotated(black_box(&1)).await) })
    });
    g.bench_function("idemgate_macro_2threads", |b| {
        b.iter_custom(|n| two_threads(n, || async { black_box(annotated(black_box(&1)).await) }))
    });
}

/// Runs `iters` calls on each of two threads at once; returns the slower thread's time.
fn two_threads<F, Fut>(iters: u64, call: F) -> Duration
where
    F: Fn() -> Fut + Sync,
    Fut: Future,
{
    let barrier = Barrier::new(2);
    std::thread::scope(|s| {
        let handles: Vec<_> = (0..2)
            .map(|_| {
                s.spawn(|| {
                    let rt = tokio::runtime::Builder::new_current_thread()
                        .enable_all()
                        .build()
                        .unwrap();
                    barrier.wait();
                    let start = Instant::now();
                    rt.block_on(async {
                        for _ in 0..iters {
                            black_box(call().await);
                        }
                    });
                    start.elapsed()
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap())
            .max()
            .unwrap_or_default()
    })
}

criterion_group!(overhead, benches);
criterion_main!(overhead);
