//! The metrics idemgate emits, through the [`metrics`](https://docs.rs/metrics) facade so any
//! exporter works (Prometheus, StatsD, OpenTelemetry…), and the `tracing` events that go with
//! them. No retry is invisible.
//!
//! | name | kind | labels | meaning |
//! |---|---|---|---|
//! | `idemgate_calls_total` | counter | `operation`, `outcome` | logical calls under a retry policy, by final outcome: `success`, `permanent` (not retryable), `exhausted` (max attempts), `deadline` (max elapsed), `budget_exhausted`, `circuit_open`, `nested` (error returned by a suppressed inner layer) |
//! | `idemgate_attempts_total` | counter | `operation` | attempts made (first attempts included); amplification = `attempts_total / calls_total` |
//! | `idemgate_retries_total` | counter | `operation`, `reason` | retries started, by `reason`: `transient`, `throttled` |
//! | `idemgate_nested_retry_suppressed_total` | counter | `operation` | failures of a policy called inside another policy's attempt, returned without retrying (one retry layer) |
//! | `idemgate_budget_exhausted_total` | counter | `budget` | retries refused by a budget (`budget` = the budget name, or `task` for a task-scoped budget) |
//! | `idemgate_breaker_opens_total` | counter | `breaker` | transitions to open (from closed or half-open) |
//! | `idemgate_breaker_state` | gauge | `breaker` | current state: 0 closed, 1 half-open, 2 open |
//! | `idemgate_breaker_rejected_total` | counter | `breaker` | calls refused because the breaker was open |
//! | `idemgate_idempotency_executions_total` | counter | `operation` | first executions under an idempotency key |
//! | `idemgate_idempotency_replays_total` | counter | `operation` | duplicates answered with the stored result (suppressed side effects) |
//! | `idemgate_idempotency_conflicts_total` | counter | `operation` | duplicates refused while the first is in flight (409) |
//! | `idemgate_idempotency_mismatches_total` | counter | `operation` | keys reused with a different payload (422) |
//! | `idemgate_idempotency_store_errors_total` | counter | `operation`, `phase` | store failures (`phase` = `begin`, `complete`, `release`); at `begin` the operation is not run (fail closed) |
//!
//! Metric handles for the success path are registered on a policy's first call: install the
//! recorder at start-up, before the first call, as with any `metrics` user.
//!
//! `tracing` events (target `idemgate`): `debug` for each retry (operation, attempt, delay,
//! reason), `warn` when a budget is exhausted or a breaker opens, `info` when a breaker
//! half-opens or closes, `error` when a completed result cannot be stored.

/// Counter: logical calls by final outcome. Labels: `operation`, `outcome`.
pub const CALLS: &str = "idemgate_calls_total";
/// Counter: attempts, first attempts included. Label: `operation`.
pub const ATTEMPTS: &str = "idemgate_attempts_total";
/// Counter: retries by reason. Labels: `operation`, `reason`.
pub const RETRIES: &str = "idemgate_retries_total";
/// Counter: failures returned without retry because the call was nested in another policy.
pub const NESTED_SUPPRESSED: &str = "idemgate_nested_retry_suppressed_total";
/// Counter: retries refused by an exhausted budget. Label: `budget`.
pub const BUDGET_EXHAUSTED: &str = "idemgate_budget_exhausted_total";
/// Counter: breaker transitions to open. Label: `breaker`.
pub const BREAKER_OPENS: &str = "idemgate_breaker_opens_total";
/// Gauge: breaker state (0 closed, 1 half-open, 2 open). Label: `breaker`.
pub const BREAKER_STATE: &str = "idemgate_breaker_state";
/// Counter: calls refused by an open breaker. Label: `breaker`.
pub const BREAKER_REJECTED: &str = "idemgate_breaker_rejected_total";
/// Counter: first executions under an idempotency key. Label: `operation`.
pub const IDEMPOTENCY_EXECUTIONS: &str = "idemgate_idempotency_executions_total";
/// Counter: duplicates answered from the store. Label: `operation`.
pub const IDEMPOTENCY_REPLAYS: &str = "idemgate_idempotency_replays_total";
/// Counter: duplicates refused while in flight. Label: `operation`.
pub const IDEMPOTENCY_CONFLICTS: &str = "idemgate_idempotency_conflicts_total";
/// Counter: key reused with another payload. Label: `operation`.
pub const IDEMPOTENCY_MISMATCHES: &str = "idemgate_idempotency_mismatches_total";
/// Counter: idempotency store failures. Labels: `operation`, `phase`.
pub const IDEMPOTENCY_STORE_ERRORS: &str = "idemgate_idempotency_store_errors_total";
/// Counter: executions abandoned mid-flight (their future dropped, e.g. a client
/// disconnect); their keys are released. Label: `operation`.
pub const IDEMPOTENCY_ABANDONED: &str = "idemgate_idempotency_abandoned_total";

/// Every metric name, for exporters that want to pre-describe them.
pub const ALL: &[&str] = &[
    CALLS,
    ATTEMPTS,
    RETRIES,
    NESTED_SUPPRESSED,
    BUDGET_EXHAUSTED,
    BREAKER_OPENS,
    BREAKER_STATE,
    BREAKER_REJECTED,
    IDEMPOTENCY_EXECUTIONS,
    IDEMPOTENCY_REPLAYS,
    IDEMPOTENCY_CONFLICTS,
    IDEMPOTENCY_MISMATCHES,
    IDEMPOTENCY_STORE_ERRORS,
    IDEMPOTENCY_ABANDONED,
];

/// Registers descriptions of every metric with the installed recorder.
pub fn describe() {
    use ::metrics::{describe_counter, describe_gauge};
    describe_counter!(
        CALLS,
        "logical calls under a retry policy, by final outcome"
    );
    describe_counter!(ATTEMPTS, "attempts made, first attempts included");
    describe_counter!(RETRIES, "retries started, by reason");
    describe_counter!(
        NESTED_SUPPRESSED,
        "nested-policy failures returned without retry"
    );
    describe_counter!(
        BUDGET_EXHAUSTED,
        "retries refused by an exhausted retry budget"
    );
    describe_counter!(BREAKER_OPENS, "circuit breaker transitions to open");
    describe_gauge!(
        BREAKER_STATE,
        "circuit breaker state: 0 closed, 1 half-open, 2 open"
    );
    describe_counter!(BREAKER_REJECTED, "calls refused by an open circuit breaker");
    describe_counter!(
        IDEMPOTENCY_EXECUTIONS,
        "first executions under an idempotency key"
    );
    describe_counter!(
        IDEMPOTENCY_REPLAYS,
        "duplicates answered with the stored result"
    );
    describe_counter!(
        IDEMPOTENCY_CONFLICTS,
        "duplicates refused while the first is in flight"
    );
    describe_counter!(
        IDEMPOTENCY_MISMATCHES,
        "idempotency keys reused with another payload"
    );
    describe_counter!(
        IDEMPOTENCY_STORE_ERRORS,
        "idempotency store failures by phase"
    );
    describe_counter!(
        IDEMPOTENCY_ABANDONED,
        "executions abandoned mid-flight whose keys were released"
    );
}
