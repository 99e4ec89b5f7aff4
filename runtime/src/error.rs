//! The errors the runtime itself produces (as opposed to the errors of the wrapped operations).

/// An error produced by idemgate rather than by the operation it guards.
///
/// Wrapped operations' error types implement `From<Error>` when something can refuse to run
/// them: a policy with a breaker (fail fast while it is open) or an idempotency helper
/// (in-flight duplicate, mismatch, store down). A policy without a breaker needs no such
/// conversion ([`RetryPolicy::run_always`](crate::RetryPolicy::run_always)).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The named circuit breaker is open (or half-open with all probes taken): failing fast.
    #[error("circuit breaker `{name}` is open")]
    CircuitOpen {
        /// The breaker's name.
        name: &'static str,
    },
    /// The named retry budget has no token left.
    #[error("retry budget `{name}` is exhausted")]
    BudgetExhausted {
        /// The budget's name (`"task"` for a task-scoped budget).
        name: &'static str,
    },
    /// A request with the same idempotency key is still being executed (HTTP 409).
    #[error("a request with this idempotency key is still in flight")]
    InFlight,
    /// The idempotency key was reused with a different payload fingerprint (HTTP 422).
    #[error("the idempotency key was reused with a different payload")]
    Mismatch,
    /// The idempotency key is not acceptable (HTTP 400).
    #[error("invalid idempotency key: {0}")]
    InvalidKey(#[from] InvalidKey),
    /// The idempotency store failed; the operation was not executed (fail closed, HTTP 503).
    #[error("idempotency store failed: {0}")]
    Store(#[from] StoreError),
    /// A stored result could not be serialized or deserialized.
    #[error("could not (de)serialize a stored result: {0}")]
    Serialization(#[source] serde_json::Error),
    /// A named budget or breaker was configured after it had already been created.
    #[error("{kind} `{name}` is already configured")]
    AlreadyConfigured {
        /// `"budget"` or `"breaker"`.
        kind: &'static str,
        /// The name that was configured twice.
        name: &'static str,
    },
}

impl From<Error> for String {
    fn from(e: Error) -> Self {
        e.to_string()
    }
}

/// Why an idempotency key was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum InvalidKey {
    /// The key is empty.
    #[error("the key is empty")]
    Empty,
    /// The key is longer than 255 bytes.
    #[error("the key is {len} bytes long (at most 255)")]
    TooLong {
        /// Its length in bytes.
        len: usize,
    },
    /// The key contains a byte that is not printable ASCII.
    #[error("the key has a non-printable byte at offset {offset}")]
    NotPrintable {
        /// Byte offset of the first offending byte.
        offset: usize,
    },
}

/// A failure of an [`IdempotencyStore`](crate::idempotency::IdempotencyStore).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The lease's fencing token is stale: another executor took the key over after this
    /// lease expired, so this executor must not write.
    #[error("the lease was taken over by a newer executor (stale fencing token)")]
    Fenced,
    /// The store is at capacity and every entry is in flight (nothing may be evicted).
    #[error("the idempotency store is full of in-flight entries")]
    Full,
    /// The store could not be reached or answered with an error.
    #[error("the idempotency store is unavailable: {0}")]
    Unavailable(Box<dyn std::error::Error + Send + Sync>),
}
