//! [`Idempotency`]: the request-level protocol shared by `#[idempotent(key = header(..))]` on a
//! handler and by [`IdempotencyLayer`](super::IdempotencyLayer) on a router.

use std::borrow::Cow;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use axum::body::{to_bytes, Body};
use axum::extract::{FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{header, HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

use super::protocol::{
    fingerprint, problem_for, Failure, HeaderLabel, Principal, StoredResponse, REPLAYED_LOWER,
};
use super::{IdempotencyKey, Problem, IDEMPOTENCY_KEY};
use crate::idempotency::{self, BodyFingerprint, IdempotencyStore, Options, Outcome, ScopedKey};

impl<S: Send + Sync> FromRequestParts<S> for Principal {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        parts
            .extensions
            .get::<Principal>()
            .cloned()
            .ok_or_else(Problem::unidentified_caller)
    }
}

type ScopeFn = dyn Fn(&Parts) -> Option<String> + Send + Sync;

#[derive(Clone)]
enum ScopeSource {
    /// The [`Principal`] in the request extensions.
    Principal,
    /// A request header (demo auth, gateways that inject the tenant).
    Header(HeaderName),
    /// A function of the request head.
    With(Arc<ScopeFn>),
}

/// The idempotency protocol for one operation (a handler or a router).
///
/// For each request: read and validate the key (400), identify the caller (401), fingerprint
/// method + path + query + body (a JSON body by its canonical form, so a client that
/// re-serialises the same document is recognised; see [`Idempotency::fingerprint_fields`] to
/// fingerprint only some fields), then — the first request executes; a duplicate while it runs
/// gets 409; a duplicate after it completed gets the stored response (status, headers, body)
/// with `Idempotent-Replayed: true`; the same key with another fingerprint gets 422; a store
/// failure gets 503 with `Retry-After` and the handler does not run. Responses with status
/// 5xx are not stored: the key is released so the client's retry executes again.
#[derive(Clone)]
pub struct Idempotency {
    store: Option<Arc<dyn IdempotencyStore>>,
    header: HeaderName,
    header_label: HeaderLabel,
    scope: ScopeSource,
    operation: Cow<'static, str>,
    options: Options,
    max_body: usize,
    required: bool,
    body_fingerprint: BodyFingerprint,
}

impl Default for Idempotency {
    fn default() -> Self {
        Self::new()
    }
}

impl std::fmt::Debug for Idempotency {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Idempotency")
            .field("header", &self.header)
            .field("operation", &self.operation)
            .field("options", &self.options)
            .field("max_body", &self.max_body)
            .field("required", &self.required)
            .field("body_fingerprint", &self.body_fingerprint)
            .finish_non_exhaustive()
    }
}

impl Idempotency {
    /// Defaults: header `Idempotency-Key` (required), caller from the [`Principal`] extension,
    /// the process-wide default store, retention 24 h, lease 60 s, bodies up to 1 MiB.
    pub fn new() -> Self {
        Idempotency {
            store: None,
            header: HeaderName::from_static("idempotency-key"),
            header_label: Cow::Borrowed(IDEMPOTENCY_KEY),
            scope: ScopeSource::Principal,
            operation: Cow::Borrowed("http"),
            options: Options::new(),
            max_body: 1 << 20,
            required: true,
            body_fingerprint: BodyFingerprint::Canonical,
        }
    }

    /// The operation name keys are scoped by (besides the caller).
    pub fn operation(mut self, name: impl Into<Cow<'static, str>>) -> Self {
        self.operation = name.into();
        self
    }

    /// Reads the key from another header.
    ///
    /// # Panics
    /// If `name` is not a valid header name (a programming error; the attribute checks it at
    /// compile time).
    pub fn header(mut self, name: &'static str) -> Self {
        match HeaderName::from_bytes(name.as_bytes()) {
            Ok(header) => {
                self.header = header;
                self.header_label = Cow::Borrowed(name);
            }
            Err(_) => panic!("{name:?} is not a valid header name"),
        }
        self
    }

    /// Scopes keys by the value of a request header (e.g. `X-Tenant`); a request without it
    /// gets 401.
    ///
    /// # Panics
    /// If `name` is not a valid header name.
    pub fn scope_header(mut self, name: &'static str) -> Self {
        match HeaderName::from_bytes(name.as_bytes()) {
            Ok(header) => self.scope = ScopeSource::Header(header),
            Err(_) => panic!("{name:?} is not a valid header name"),
        }
        self
    }

    /// Scopes keys by a function of the request head; `None` gets 401.
    pub fn scope_with(
        mut self,
        scope: impl Fn(&Parts) -> Option<String> + Send + Sync + 'static,
    ) -> Self {
        self.scope = ScopeSource::With(Arc::new(scope));
        self
    }

    /// Uses this store instead of the process-wide default.
    pub fn store(mut self, store: Arc<dyn IdempotencyStore>) -> Self {
        self.store = Some(store);
        self
    }

    /// How long completed responses are replayed (default 24 h).
    pub fn retention(mut self, retention: Duration) -> Self {
        self.options.retention = retention;
        self
    }

    /// How long an execution holds its key before a crashed one may be taken over (60 s).
    pub fn lease(mut self, lease: Duration) -> Self {
        self.options.lease = lease;
        self
    }

    /// Opt-in: a duplicate that arrives while the first runs waits up to `wait` for its
    /// response instead of getting 409.
    pub fn wait(mut self, wait: Duration) -> Self {
        self.options.wait = Some(wait);
        self
    }

    /// The largest request or response body handled (default 1 MiB); larger requests get 413.
    pub fn max_body(mut self, bytes: usize) -> Self {
        self.max_body = bytes;
        self
    }

    /// Fingerprints only these top-level fields of a JSON body (plus method, path and query):
    /// a retry that changes another field (a client timestamp, a trace id) replays instead of
    /// getting 422. What `#[idempotent(fingerprint = fields("amount", "currency"))]` sets.
    pub fn fingerprint_fields<I, S>(mut self, fields: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<Cow<'static, str>>,
    {
        self.body_fingerprint = BodyFingerprint::fields(fields);
        self
    }

    /// How the body enters the fingerprint (default [`BodyFingerprint::Canonical`]).
    pub fn body_fingerprint(mut self, mode: BodyFingerprint) -> Self {
        self.body_fingerprint = mode;
        self
    }

    /// Lets requests without a key through, unprotected (default: they get 400).
    pub fn optional(mut self) -> Self {
        self.required = false;
        self
    }

    fn scope_of(&self, parts: &Parts) -> Option<String> {
        let scope = match &self.scope {
            ScopeSource::Principal => parts
                .extensions
                .get::<Principal>()
                .map(|p| p.as_str().to_owned()),
            ScopeSource::Header(name) => parts
                .headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::trim)
                .map(str::to_owned),
            ScopeSource::With(scope) => scope(parts),
        };
        scope.filter(|s| !s.is_empty())
    }

    /// Runs `next` under the protocol described on [`Idempotency`].
    pub async fn handle<F, Fut>(&self, request: Request, next: F) -> Response
    where
        F: FnOnce(Request) -> Fut,
        Fut: Future<Output = Response>,
    {
        let (parts, body) = request.into_parts();
        let key = match IdempotencyKey::from_headers(&parts.headers, &self.header) {
            Ok(Some(key)) => key,
            Ok(None) if self.required => {
                return Problem::missing_key(&self.header_label).into_response()
            }
            Ok(None) => return next(Request::from_parts(parts, body)).await,
            Err(why) => return Problem::invalid_key(&self.header_label, why).into_response(),
        };
        let Some(scope) = self.scope_of(&parts) else {
            return Problem::unidentified_caller().into_response();
        };
        let bytes = match to_bytes(body, self.max_body).await {
            Ok(bytes) => bytes,
            Err(_) => return Problem::too_large(self.max_body).into_response(),
        };
        let target = parts
            .uri
            .path_and_query()
            .map(|pq| pq.as_str())
            .unwrap_or("/");
        let content_type = parts
            .headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok());
        let fingerprint = fingerprint(
            &self.body_fingerprint,
            parts.method.as_str(),
            target,
            content_type,
            &bytes,
        );
        let key = match ScopedKey::new(&scope, &self.operation, key.as_str()) {
            Ok(key) => key,
            Err(error) => return Problem::invalid_key(&self.header_label, error).into_response(),
        };
        let store = match &self.store {
            Some(store) => Arc::clone(store),
            None => idempotency::default_store(),
        };
        let max_body = self.max_body;
        let outcome = idempotency::run(
            &*store,
            &key,
            fingerprint,
            &self.options,
            move || async move {
                let response = next(Request::from_parts(parts, Body::from(bytes))).await;
                capture(response, max_body).await
            },
        )
        .await;
        match outcome {
            Ok(Outcome::Executed(stored)) => respond(stored, false),
            Ok(Outcome::Replayed(stored)) => respond(stored, true),
            Err(Failure::NotStored(response)) => response,
            Err(Failure::Idempotency(error)) => {
                problem_for(&self.header_label, error).into_response()
            }
        }
    }
}

/// Buffers a handler's response for the store; a 5xx is sent as is and not stored.
async fn capture(response: Response, max_body: usize) -> Result<StoredResponse, Failure<Response>> {
    let (parts, body) = response.into_parts();
    if parts.status.is_server_error() {
        return Err(Failure::NotStored(Response::from_parts(parts, body)));
    }
    let bytes = match to_bytes(body, max_body).await {
        Ok(bytes) => bytes,
        Err(error) => {
            tracing::error!(target: "idemgate", %error, "response body could not be buffered for replay");
            return Err(Failure::NotStored(Problem::internal().into_response()));
        }
    };
    Ok(StoredResponse::new(
        parts.status.as_u16(),
        parts
            .headers
            .iter()
            .map(|(name, value)| (name.as_str(), value.as_bytes())),
        bytes.to_vec(),
    ))
}

/// The response a stored one replays as (or the one just executed).
fn respond(stored: StoredResponse, replayed: bool) -> Response {
    let (status, stored_headers, body) = stored.into_parts();
    let mut response = Response::new(Body::from(body));
    *response.status_mut() =
        StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let headers = response.headers_mut();
    for (name, value) in stored_headers {
        if let (Ok(name), Ok(value)) = (
            HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_bytes(&value),
        ) {
            headers.append(name, value);
        }
    }
    if replayed {
        headers.insert(
            HeaderName::from_static(REPLAYED_LOWER),
            HeaderValue::from_static("true"),
        );
    }
    response
}
