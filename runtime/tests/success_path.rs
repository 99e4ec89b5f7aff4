//! The success path allocates nothing: counted with an instrumented global allocator, in a
//! test binary of its own (the count is process-wide).
#![allow(clippy::unwrap_used, missing_docs)]

use std::alloc::System;
use std::hint::black_box;

use idemgate::{Error, RetryPolicy, Retryability, Retryable};
use stats_alloc::{Region, StatsAlloc, INSTRUMENTED_SYSTEM};

#[global_allocator]
static GLOBAL: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

#[derive(Debug)]
struct E;

impl From<Error> for E {
    fn from(_: Error) -> Self {
        E
    }
}

impl Retryable for E {
    fn retryability(&self) -> Retryability {
        Retryability::Transient
    }
}

static FULL: RetryPolicy = RetryPolicy::new()
    .budget("alloc.test")
    .breaker("alloc.test");

async fn dep(x: u64) -> Result<u64, E> {
    Ok(black_box(x))
}

#[test]
fn a_successful_call_allocates_nothing() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    rt.block_on(async {
        // the first call registers the policy's handles (allocates, once)
        FULL.run("alloc.op", || dep(1)).await.unwrap();
        // The count is process-wide, and the test harness's own threads may allocate while we
        // measure (output capture, timers). An allocating success path would show at least one
        // allocation per call in every round, so the quietest of a few rounds is the measure.
        let mut quietest = None;
        for _ in 0..5 {
            let region = Region::new(GLOBAL);
            for i in 0..10_000 {
                black_box(FULL.run("alloc.op", || dep(i)).await.unwrap());
            }
            let change = region.change();
            if quietest
                .as_ref()
                .is_none_or(|q: &stats_alloc::Stats| change.allocations < q.allocations)
            {
                quietest = Some(change);
            }
        }
        let change = quietest.unwrap();
        assert_eq!(change.allocations, 0, "{change:?}");
        assert_eq!(change.reallocations, 0, "{change:?}");
    });
}
