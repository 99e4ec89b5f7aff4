//! The runtime's retry-policy defaults, as the gate models them: what a `#[retry_policy]`
//! without an argument really does (`idemgate::RetryPolicy::new()`). A test of the lint crate
//! pins these to the runtime's, so the two cannot drift.

/// Attempts in total, the first included.
pub const MAX_ATTEMPTS: u64 = 4;
/// The first backoff step, in milliseconds.
pub const BASE_MS: u64 = 200;
/// The largest backoff step, in milliseconds.
pub const CAP_MS: u64 = 5_000;
/// The total time retries may take, in milliseconds.
pub const MAX_ELAPSED_MS: u64 = 10_000;
/// The retry budget a policy without `budget = …` draws from.
pub const BUDGET: &str = "default";
/// How long an `#[idempotent]` without `ttl = …` remembers a key, in seconds (24 h).
pub const IDEMPOTENCY_RETENTION_SECS: u64 = 24 * 3600;
