//! HTTP integration for axum (feature `axum`): the `Idempotency-Key` extractor, RFC 9457
//! problems, the [`Idempotency`] protocol behind `#[idempotent(key = header(..))]`, and
//! [`IdempotencyLayer`] for whole routers.
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

mod guard;
mod key;
mod layer;
mod problem;

pub use guard::{Idempotency, Principal, IDEMPOTENT_REPLAYED};
pub use key::{IdempotencyKey, KeyError, IDEMPOTENCY_KEY};
pub use layer::{IdempotencyLayer, IdempotencyService};
pub use problem::Problem;

/// What `#[idempotent(key = header(..))]` expands to; not a public API.
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
