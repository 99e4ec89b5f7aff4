//! The success path in isolation, for instruction counts that machine noise cannot blur:
//!
//! ```text
//! cargo build --release -p idemgate --example hotpath
//! valgrind --tool=callgrind --callgrind-out-file=/dev/null target/release/examples/hotpath full 100000
//! ```
//!
//! Variants: `plain` (the bare call), `bare` (policy without budget or breaker), `budget`,
//! `breaker`, `full` (both), `backon`. Run two iteration counts and divide the difference.
#![allow(missing_docs, clippy::unwrap_used)]
use std::hint::black_box;
use idemgate::{Error, RetryPolicy, Retryability};
#[derive(Debug)]
struct BenchErr;
impl From<Error> for BenchErr { fn from(_: Error) -> Self { BenchErr } }
impl idemgate::Retryable for BenchErr { fn retryability(&self) -> Retryability { Retryability::Transient } }
#[inline(never)]
async fn dep(x: u64) -> Result<u64, BenchErr> { Ok(black_box(x)) }
static FULL: RetryPolicy = RetryPolicy::new().budget("bench").breaker("bench");
static BARE: RetryPolicy = RetryPolicy::new().no_budget();
static BUDGET: RetryPolicy = RetryPolicy::new().budget("bench2");
static BREAKER: RetryPolicy = RetryPolicy::new().no_budget().breaker("bench2");
fn main() {
    let args: Vec<String> = std::env::args().collect();
    let which = args[1].clone();
    let n: u64 = args[2].parse().unwrap();
    let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
    macro_rules! bench { ($e:expr) => { rt.block_on(async { for _ in 0..n { black_box($e.await).ok(); } }) } }
    match which.as_str() {
        "plain" => bench!(dep(black_box(1))),
        "full" => bench!(FULL.run("op", || dep(black_box(1)))),
        "bare" => bench!(BARE.run("op", || dep(black_box(1)))),
        "budget" => bench!(BUDGET.run("op", || dep(black_box(1)))),
        "breaker" => bench!(BREAKER.run("op", || dep(black_box(1)))),
        _ => {
            use backon::{ExponentialBuilder, Retryable as _};
            bench!((|| dep(black_box(1))).retry(ExponentialBuilder::default()))
        }
    }
}
