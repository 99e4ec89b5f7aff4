//! Words of the ecosystem the gate recognises: retry crates (RETRY004), their entry points, and
//! the web frameworks' routing words. The lazy scanner, the retry analysis and the macros take
//! them from here.

/// Crates whose direct use RETRY004 reports, as named in paths (`tokio_retry2::Retry`).
pub const RETRY_CRATES: &[&str] = &[
    "backoff",
    "backon",
    "tokio_retry",
    "tokio_retry2",
    "again",
    "retry",
    "reqwest_retry",
];

/// Types and traits of retry crates that a file may import and use unqualified
/// (`Retry::spawn`, `ExponentialBackoff`, backon's `Retryable`).
pub const RETRY_TYPES: &[&str] = &[
    "Retry",
    "RetryLayer",
    "RetryIf",
    "RetryPolicy",
    "Retryable",
    "RetryTransientMiddleware",
    "ExponentialBackoff",
    "ExponentialBuilder",
    "ConstantBuilder",
    "FibonacciBuilder",
];

/// Whether a word names a retry crate or one of its entry points.
pub fn is_retry_word(word: &str) -> bool {
    RETRY_CRATES.contains(&word) || RETRY_TYPES.contains(&word)
}

/// HTTP methods as routing functions and attributes name them (`post(h)`, `#[post("/x")]`).
pub const HTTP_METHODS: &[&str] = &[
    "get", "post", "put", "patch", "delete", "head", "options", "trace", "connect",
];

/// Methods that are side effects by default (IDEM001 and RETRY006).
pub const SIDE_EFFECT_METHODS: &[&str] = &["post", "patch"];

/// The attributes of idemgate itself (with or without the `idemgate::` path).
pub const ATTRIBUTES: &[&str] = &["idempotent", "retry_policy", "exempt"];

/// actix-web's route attributes (`#[post("/orders")]`, `#[route(…)]`, `#[routes]`).
pub const ACTIX_ROUTE_ATTRIBUTES: &[&str] = &[
    "get", "post", "put", "patch", "delete", "head", "options", "trace", "connect", "route",
    "routes",
];

/// Types and paths only an actix-web handler names in its signature.
pub const ACTIX_MARKERS: &[&str] = &[
    "web",
    "actix_web",
    "HttpRequest",
    "HttpResponse",
    "Responder",
    "Data",
    "ReqData",
];
