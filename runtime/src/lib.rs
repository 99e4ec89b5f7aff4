//! # idemgate — retry discipline and idempotency as a runtime property
//!
//! This crate is what `#[retry_policy]` and `#[idempotent]` expand to, and it is usable directly
//! as a library:
//!
//! - [`retry`]: a retry executor — exponential backoff with full (or equal / decorrelated)
//!   jitter, attempt and total-time caps, `Retry-After`, one retry layer per task.
//! - [`budget`]: named, process-wide retry budgets (token buckets) and per-task budgets.
//! - [`breaker`]: named circuit breakers over a sliding window.
//! - [`idempotency`]: the [`IdempotencyStore`](idempotency::IdempotencyStore) trait, the
//!   embedded [`MemoryStore`](idempotency::MemoryStore) and [`idempotency::run`].
//! - [`key()`], [`key!`] and [`Key`]: idempotency keys composed from several values (tenant,
//!   workflow, business id) that cannot collide, unlike `format!("{a}:{b}")`.
//! - [`metrics`]: the metric names this crate emits through the `metrics` facade.
//!
//! The success path of a retry policy (first attempt succeeds) reads no clock, draws no random
//! number, allocates nothing and takes no lock: budgets deposit and breakers count successes
//! with relaxed atomics on a per-thread stripe (a plain load and store when the thread owns
//! its stripe). A policy looks its budget, breaker and metric handles up once, on its first
//! call. `examples/hotpath.rs` and `benches/overhead.rs` measure it against backon, tower's
//! `TpsBudget` and failsafe; `examples/storm.rs` simulates a retry storm.
//!
//! Features: `macros` (default) re-exports the attributes; `axum` adds the `http` layer (idempotency for axum handlers);
//! `redis` adds [`RedisStore`](idempotency::RedisStore) and `postgres` adds
//! [`PostgresStore`](idempotency::PostgresStore) (shared stores for a fleet);
//! `reqwest` classifies `reqwest::Error`.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

#[cfg(feature = "macros")]
pub use idemgate_macros::{exempt, idempotent, retry_policy};

pub mod breaker;
pub mod budget;
pub mod classify;
#[cfg(feature = "reqwest")]
pub mod client;
mod error;
/// HTTP enforcement (axum, actix-web, poem): `Idempotency-Key` handling, problem+json errors,
/// replay headers.
#[cfg(any(feature = "axum", feature = "actix", feature = "poem"))]
pub mod http;
pub mod idempotency;
pub mod key;
pub mod metrics;
mod named;
pub mod retry;
mod stripe;

pub use classify::{Classification, Retryability, Retryable};
pub use error::{Error, InvalidKey, StoreError};
pub use key::{key, Key, KeyDecodeError};
pub use retry::{Jitter, RetryPolicy};

#[cfg(test)]
mod test_util;
