//! The runtime's defaults, as the gate models them: what a `#[retry_policy]` or `#[idempotent]`
//! without an argument really does. They are defined once, in `idemgate_grammar::defaults`; a
//! test of the lint crate pins them to the runtime's, so the two cannot drift.

pub use idemgate_grammar::defaults::{
    BASE_MS, BUDGET, CAP_MS, JITTER, LEASE_MS, MAX_ATTEMPTS, MAX_ELAPSED_MS, NO_BUDGET, TTL_MS,
};

/// How long an `#[idempotent]` without `ttl = …` remembers a key, in seconds (24 h).
pub const IDEMPOTENCY_RETENTION_SECS: u64 = TTL_MS / 1_000;
