//! poem enforcement (feature `poem`): [`IdempotencyMiddleware`], a poem [`Middleware`] for
//! routes and apps, with the semantics, status codes and problem bodies of the axum
//! integration (see [the module table](super)).
//!
//! ```ignore
//! use poem::{post, EndpointExt, Route};
//! use idemgate::http::poem::{Idempotency, IdempotencyMiddleware};
//!
//! let app = Route::new()
//!     .at("/orders", post(create_order))
//!     .with(IdempotencyMiddleware::new(Idempotency::new().scope_header("X-Tenant")));
//! ```
//!
//! **Client disconnects.** Under axum (and actix-web with half-closed connections
//! disallowed) a request whose client hangs up is dropped and releases its key at once,
//! fencing-token checked, so the client's retry executes. Under poem's `Server` (3.1) it is
//! not dropped: hyper reads the end of stream and ends the connection, but poem's connection
//! task then awaits that connection again (to finish a graceful shutdown), which runs the
//! abandoned request to its end. No setting of `Server` changes this, and poem does not tell
//! an endpoint that its client left. So under poem a hang-up holds the key until the handler
//! finishes or its lease ([`Idempotency::lease`], 60 s by default) expires, whichever comes
//! first: the client's retry gets 409 with `Retry-After` meanwhile and, once the handler has
//! finished, its stored response (`Idempotent-Replayed: true`). The handler runs once — as
//! under any server, as long as it finishes within its lease; give a slow handler a longer
//! lease.
//!
//! To have a hang-up cancel the request (and release the key), serve the endpoint with
//! hyper-util's connection builder yourself and drop each connection once it completes, as
//! axum's `serve` does; poem converts `(http::Request<hyper::body::Incoming>, LocalAddr,
//! RemoteAddr, Scheme)` into the [`Request`] for [`Endpoint::get_response`].

use std::borrow::Cow;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use ::poem::http::header::{self, HeaderName, HeaderValue};
use ::poem::http::{Method, StatusCode};
use ::poem::{Endpoint, IntoResponse, Middleware, Request, Response};

use super::protocol::{
    fingerprint, problem_for, Failure, HeaderLabel, Principal, StoredResponse, REPLAYED_LOWER,
};
use super::{IdempotencyKey, Problem, IDEMPOTENCY_KEY, PROBLEM_JSON};
use crate::idempotency::{self, BodyFingerprint, IdempotencyStore, Options, Outcome, ScopedKey};

type ScopeFn = dyn Fn(&Request) -> Option<String> + Send + Sync;

super::protocol::idempotency_builder! {
    /// The idempotency protocol for one poem endpoint (a route or a whole app); the poem
    /// counterpart of the axum `Idempotency` builder, with the same defaults: header `Idempotency-Key` (required), caller from the [`Principal`] request
    /// extension, the process-wide default store, retention 24 h, lease 60 s, bodies up to 1 MiB.
}

impl Idempotency {
    /// Scopes keys by a function of the request (an authenticated identity); `None` gets 401.
    pub fn scope_with(
        mut self,
        scope: impl Fn(&Request) -> Option<String> + Send + Sync + 'static,
    ) -> Self {
        self.scope = ScopeSource::With(Arc::new(scope));
        self
    }

    fn scope_of(&self, request: &Request) -> Option<String> {
        let scope = match &self.scope {
            // the empty scope: no principal is empty (they are filtered below)
            ScopeSource::Shared => return Some(String::new()),
            ScopeSource::Principal => request
                .extensions()
                .get::<Principal>()
                .map(|p| p.as_str().to_owned()),
            ScopeSource::Header(name) => request
                .headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::trim)
                .map(str::to_owned),
            ScopeSource::With(scope) => scope(request),
        };
        scope.filter(|s| !s.is_empty())
    }

    /// Runs `next` (the wrapped endpoint) under the protocol. The body is read (up to
    /// `max_body`) to fingerprint it and handed to `next` again.
    pub async fn handle<F, Fut>(&self, mut request: Request, next: F) -> Response
    where
        F: FnOnce(Request) -> Fut,
        Fut: Future<Output = Response>,
    {
        let key = match IdempotencyKey::from_headers(request.headers(), &self.header) {
            Ok(Some(key)) => key,
            Ok(None) if self.required => return problem(Problem::missing_key(&self.header_label)),
            Ok(None) => return next(request).await,
            Err(why) => return problem(Problem::invalid_key(&self.header_label, why)),
        };
        let Some(scope) = self.scope_of(&request) else {
            return problem(self.unidentified());
        };
        let bytes = match request.take_body().into_bytes_limit(self.max_body).await {
            Ok(bytes) => bytes,
            Err(::poem::error::ReadBodyError::PayloadTooLarge) => {
                return problem(Problem::too_large(self.max_body))
            }
            Err(error) => return ::poem::Error::from(error).into_response(),
        };
        let target = request
            .uri()
            .path_and_query()
            .map(|pq| pq.as_str())
            .unwrap_or("/");
        let content_type = request
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok());
        let fingerprint = fingerprint(
            &self.body_fingerprint,
            request.method().as_str(),
            target,
            content_type,
            &bytes,
        );
        let key = match ScopedKey::new(&scope, &self.operation, key.as_str()) {
            Ok(key) => key,
            Err(error) => return problem(Problem::invalid_key(&self.header_label, error)),
        };
        let store = match &self.store {
            Some(store) => Arc::clone(store),
            None => idempotency::default_store(),
        };
        let max_body = self.max_body;
        request.set_body(bytes);
        let outcome = idempotency::run(
            &*store,
            &key,
            fingerprint,
            &self.options,
            move || async move {
                let response = next(request).await;
                capture(response, max_body).await
            },
        )
        .await;
        match outcome {
            Ok(Outcome::Executed(stored)) => respond(stored, false),
            Ok(Outcome::Replayed(stored)) => respond(stored, true),
            Err(Failure::NotStored(response)) => response,
            Err(Failure::Idempotency(error)) => problem(problem_for(&self.header_label, error)),
        }
    }
}

/// A problem as a poem response: `application/problem+json`, with `Retry-After` when set.
pub fn problem(problem: Problem) -> Response {
    let status =
        StatusCode::from_u16(problem.status_code()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut response = Response::builder()
        .status(status)
        .header(header::CONTENT_TYPE, PROBLEM_JSON);
    if let Some(seconds) = problem.retry_after {
        response = response.header(header::RETRY_AFTER, seconds);
    }
    response.body(problem.to_json())
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        problem(self)
    }
}

async fn capture(response: Response, max_body: usize) -> Result<StoredResponse, Failure<Response>> {
    if response.status().is_server_error() {
        return Err(Failure::NotStored(response));
    }
    let (parts, body) = response.into_parts();
    let bytes = match body.into_bytes_limit(max_body).await {
        Ok(bytes) => bytes,
        Err(error) => {
            tracing::error!(target: "idemgate", %error, "response body could not be buffered for replay");
            return Err(Failure::NotStored(problem(Problem::internal())));
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

fn respond(stored: StoredResponse, replayed: bool) -> Response {
    let (status, headers, body) = stored.into_parts();
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut response = Response::builder().status(status).body(body);
    let map = response.headers_mut();
    for (name, value) in headers {
        if let (Ok(name), Ok(value)) = (
            HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_bytes(&value),
        ) {
            map.append(name, value);
        }
    }
    if replayed {
        map.insert(
            HeaderName::from_static(REPLAYED_LOWER),
            HeaderValue::from_static("true"),
        );
    }
    response
}

/// Applies [`Idempotency`] to the side-effecting methods (POST and PATCH by default) of the
/// endpoint it wraps (`.with(..)` on a route or an app); other methods pass through.
#[derive(Clone, Debug)]
pub struct IdempotencyMiddleware {
    protocol: Arc<Idempotency>,
    methods: Arc<[Method]>,
}

impl IdempotencyMiddleware {
    /// The middleware for POST and PATCH.
    pub fn new(protocol: Idempotency) -> Self {
        IdempotencyMiddleware {
            protocol: Arc::new(protocol),
            methods: Arc::from([Method::POST, Method::PATCH]),
        }
    }

    /// Protects exactly these methods instead.
    pub fn methods(mut self, methods: impl IntoIterator<Item = Method>) -> Self {
        self.methods = methods.into_iter().collect();
        self
    }
}

impl<E: Endpoint> Middleware<E> for IdempotencyMiddleware {
    type Output = IdempotencyEndpoint<E>;

    fn transform(&self, endpoint: E) -> Self::Output {
        IdempotencyEndpoint {
            endpoint,
            middleware: self.clone(),
        }
    }
}

/// The endpoint made by [`IdempotencyMiddleware`].
#[derive(Debug)]
pub struct IdempotencyEndpoint<E> {
    endpoint: E,
    middleware: IdempotencyMiddleware,
}

impl<E: Endpoint> Endpoint for IdempotencyEndpoint<E> {
    type Output = Response;

    async fn call(&self, request: Request) -> ::poem::Result<Response> {
        if !self.middleware.methods.contains(request.method()) {
            return self
                .endpoint
                .call(request)
                .await
                .map(IntoResponse::into_response);
        }
        let endpoint = &self.endpoint;
        Ok(self
            .middleware
            .protocol
            .handle(request, move |request| async move {
                match endpoint.call(request).await {
                    Ok(response) => response.into_response(),
                    Err(error) => error.into_response(),
                }
            })
            .await)
    }
}
