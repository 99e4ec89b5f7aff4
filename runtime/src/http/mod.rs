//! HTTP enforcement of idempotency: the `Idempotency-Key` header, RFC 9457 problems and the
//! protocol behind `#[idempotent(key = header(..))]` — for axum (feature `axum`: the
//! [`Idempotency`] protocol, the [`IdempotencyLayer`] for routers), actix-web (feature
//! `actix`: [`actix`]) and poem (feature `poem`: [`poem`](mod@self::poem)). Every framework
//! answers with the same status codes, headers and problem bodies, and stores responses in
//! the same format (a fleet mixing frameworks can share a store).
//!
//! | request | answer |
//! |---|---|
//! | first with a key | the handler runs; its response (< 500) is stored |
//! | same key, first still running | 409 `problem+json`, `Retry-After: 1` |
//! | same key, first completed | the stored status, headers and body, `Idempotent-Replayed: true` |
//! | same key, other method/path/body (JSON: other canonical form) | 422 |
//! | no key / invalid key | 400 |
//! | caller not identified | 401 |
//! | store unreachable | 503, `Retry-After: 1`; the handler does not run |

#[cfg(feature = "axum")]
mod guard;
mod key;
#[cfg(feature = "axum")]
mod layer;
mod problem;
mod protocol;

#[cfg(feature = "actix")]
pub mod actix;
#[cfg(feature = "poem")]
pub mod poem;

#[cfg(feature = "axum")]
pub use guard::Idempotency;
pub use key::{IdempotencyKey, KeyError, IDEMPOTENCY_KEY};
#[cfg(feature = "axum")]
pub use layer::{IdempotencyLayer, IdempotencyService};
pub use problem::{Problem, PROBLEM_JSON};
pub use protocol::Principal;

/// The header set on a replayed response.
pub const IDEMPOTENT_REPLAYED: &str = "Idempotent-Replayed";

/// What `#[idempotent(key = header(..))]` expands to; not a public API.
#[cfg(feature = "axum")]
#[doc(hidden)]
pub mod __private {
    pub use axum::extract::{Request, State};
    pub use axum::response::Response;

    /// Calls an axum handler with a request and its state.
    pub fn call_handler<H, T, S>(handler: H, request: Request, state: S) -> H::Future
    where
        H: axum::handler::Handler<T, S>,
        S: Send + Sync + 'static,
    {
        handler.call(request, state)
    }
}
