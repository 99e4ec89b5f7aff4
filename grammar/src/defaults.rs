//! What the runtime does for an argument left out: `idemgate::RetryPolicy::new()` and
//! `idemgate::idempotency::Options::new()`. The gate models policies with these values
//! (RETRY007), and a test of the runtime pins them to its own, so the two cannot drift.

/// Attempts in total, the first included.
pub const MAX_ATTEMPTS: u64 = 4;
/// The first backoff step, in milliseconds.
pub const BASE_MS: u64 = 200;
/// The largest backoff step, in milliseconds.
pub const CAP_MS: u64 = 5_000;
/// The total time retries may take, in milliseconds.
pub const MAX_ELAPSED_MS: u64 = 10_000;
/// The jitter of a policy without `jitter = …`.
pub const JITTER: &str = "full";
/// The retry budget a policy without `budget = …` draws from.
pub const BUDGET: &str = "default";
/// `budget = "none"`: the policy draws from no budget.
pub const NO_BUDGET: &str = "none";
/// How long an idempotency record is kept (`ttl`), in milliseconds: 24 hours.
pub const TTL_MS: u64 = 24 * 3_600_000;
/// How long an execution holds its key before a crashed one is taken over (`lease`): 60 s.
pub const LEASE_MS: u64 = 60_000;
/// The header a key comes from in the examples and the OpenAPI rules.
pub const KEY_HEADER: &str = "Idempotency-Key";
