//! The client side (feature `reqwest`): [`RetryMiddleware`], a
//! [`reqwest_middleware::Middleware`] that owns the retries of outbound calls.
//!
//! ```no_run
//! use idemgate::client::RetryMiddleware;
//! use idemgate::RetryPolicy;
//! use std::time::Duration;
//!
//! static PSP: RetryPolicy = RetryPolicy::new()
//!     .max_attempts(4)
//!     .base(Duration::from_millis(100))
//!     .budget("psp")
//!     .breaker("psp");
//!
//! let client = reqwest_middleware::ClientBuilder::new(reqwest::Client::new())
//!     .with(RetryMiddleware::new(&PSP).operation("psp.charge"))
//!     .build();
//! ```
//!
//! Per logical call (one `send()`):
//!
//! - **What is retried**: connection errors and timeouts, and responses 429, 502, 503 and 504 —
//!   never another 4xx, never a 500 (usually a bug, not a blip). Everything else is returned as
//!   is, the response included.
//! - **When**: exponential backoff with the policy's jitter (full by default), and no sooner
//!   than the server's `Retry-After` (delta-seconds or HTTP-date) on 429 and 503; a
//!   `Retry-After` past the policy's `max_elapsed` ends the retrying with that response.
//! - **Paid for** by the policy's retry budget, **guarded** by its breaker: while the breaker
//!   is open the call fails fast with [`reqwest_middleware::Error::Middleware`] wrapping
//!   [`Error::CircuitOpen`](crate::Error::CircuitOpen), without touching the network.
//! - **One retry layer**: called inside a `#[retry_policy]` attempt (or another policy's
//!   `run`), the middleware sends once and the outer layer retries — and a policy called
//!   inside this middleware's attempt does not retry either; attempts never multiply.
//! - **Idempotency-Key**: a POST or PATCH without one gets a fresh random key, generated once
//!   per logical call and sent unchanged on every attempt, so the server can deduplicate the
//!   retries; a key the caller set is kept as is.
//! - **Bodies that cannot be cloned** (streams) are sent once and never retried.
//! - Metrics and tracing are the policy's (`idemgate_calls_total`, `idemgate_retries_total`, …)
//!   under the middleware's operation name.

use std::cell::RefCell;
use std::time::SystemTime;

use http::{Extensions, HeaderName, HeaderValue, Method, StatusCode};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use reqwest::{Request, Response};
use reqwest_middleware::{Middleware, Next};

use crate::retry::{parse_retry_after, RetryPolicy, Retryability};

/// The header a generated key is sent in.
const KEY_HEADER: HeaderName = HeaderName::from_static("idempotency-key");

/// Owns the retries of outbound HTTP calls made through a `reqwest_middleware` client (see
/// the [module docs](self)).
#[derive(Clone, Debug)]
pub struct RetryMiddleware {
    policy: &'static RetryPolicy,
    operation: &'static str,
    key_methods: &'static [Method],
}

impl RetryMiddleware {
    /// Retries under `policy`, counted as operation `"http.client"`.
    pub fn new(policy: &'static RetryPolicy) -> Self {
        RetryMiddleware {
            policy,
            operation: "http.client",
            key_methods: &[Method::POST, Method::PATCH],
        }
    }

    /// The operation name of the metrics and traces (one per dependency, e.g. `"psp"`).
    pub fn operation(mut self, name: &'static str) -> Self {
        self.operation = name;
        self
    }

    /// The methods that get an `Idempotency-Key` when the caller set none (default POST and
    /// PATCH; `&[]` never adds one).
    pub fn key_methods(mut self, methods: &'static [Method]) -> Self {
        self.key_methods = methods;
        self
    }
}

/// What one attempt's result says about retrying.
fn classify(result: &reqwest_middleware::Result<Response>) -> Option<Retryability> {
    match result {
        Ok(response) => {
            let status = response.status();
            let retry_after = || {
                response
                    .headers()
                    .get(http::header::RETRY_AFTER)
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| parse_retry_after(v, SystemTime::now()))
            };
            match status {
                StatusCode::TOO_MANY_REQUESTS => Some(Retryability::Throttled {
                    retry_after: retry_after(),
                }),
                StatusCode::SERVICE_UNAVAILABLE => Some(match retry_after() {
                    Some(d) => Retryability::Throttled {
                        retry_after: Some(d),
                    },
                    None => Retryability::Transient,
                }),
                StatusCode::BAD_GATEWAY | StatusCode::GATEWAY_TIMEOUT => {
                    Some(Retryability::Transient)
                }
                _ => None,
            }
        }
        Err(reqwest_middleware::Error::Reqwest(error))
            if error.is_connect() || error.is_timeout() =>
        {
            Some(Retryability::Transient)
        }
        Err(_) => Some(Retryability::Permanent),
    }
}

thread_local! {
    /// Seeded from the OS once per thread; only calls that need a key draw from it.
    static KEYS: RefCell<Option<StdRng>> = const { RefCell::new(None) };
}

/// A random key in the UUID v4 text form (122 random bits).
fn fresh_key() -> HeaderValue {
    let bits: u128 = KEYS.with(|rng| {
        let mut rng = rng.borrow_mut();
        rng.get_or_insert_with(StdRng::from_os_rng).random()
    });
    let bits = (bits & !(0xf << 76) | (0x4 << 76)) & !(0x3 << 62) | (0x2 << 62);
    let hex = format!("{bits:032x}");
    let text = format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    );
    HeaderValue::from_str(&text).unwrap_or(HeaderValue::from_static("invalid"))
}

#[async_trait::async_trait]
impl Middleware for RetryMiddleware {
    async fn handle(
        &self,
        mut request: Request,
        extensions: &mut Extensions,
        next: Next<'_>,
    ) -> reqwest_middleware::Result<Response> {
        if self.key_methods.contains(request.method())
            && !request.headers().contains_key(&KEY_HEADER)
        {
            // Generated once, before the first attempt: every attempt of this logical call
            // carries the same key, so the server can recognise the retries.
            request.headers_mut().insert(KEY_HEADER, fresh_key());
        }
        let Some(template) = request.try_clone() else {
            // A streaming body can be sent once only.
            tracing::debug!(target: "idemgate", operation = self.operation, "request body cannot be cloned; sent once, not retried");
            return next.run(request, extensions).await;
        };
        let mut first = Some(request);
        let shared: &Extensions = extensions;
        let result = self
            .policy
            .run_outcome_or(
                self.operation,
                classify,
                reqwest_middleware::Error::middleware,
                || {
                    let request = match first.take() {
                        Some(request) => Some(request),
                        None => template.try_clone(),
                    };
                    let mut attempt_extensions = shared.clone();
                    let next = next.clone();
                    async move {
                        match request {
                            Some(request) => next.run(request, &mut attempt_extensions).await,
                            // try_clone succeeded once for this body, so it does again.
                            None => Err(reqwest_middleware::Error::middleware(
                                std::io::Error::other(
                                    "the request could not be cloned for a retry",
                                ),
                            )),
                        }
                    }
                },
            )
            .await;
        result
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn fresh_keys_are_uuid_v4_text_and_differ() {
        let a = fresh_key();
        let b = fresh_key();
        assert_ne!(a, b);
        let a = a.to_str().unwrap();
        assert_eq!(a.len(), 36);
        assert_eq!(&a[14..15], "4", "{a}");
        assert!(matches!(&a[19..20], "8" | "9" | "a" | "b"), "{a}");
    }
}
