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

super::protocol::idempotency_builder! {
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
}

impl Idempotency {
    /// Scopes keys by a function of the request head; `None` gets 401.
    pub fn scope_with(
        mut self,
        scope: impl Fn(&Parts) -> Option<String> + Send + Sync + 'static,
    ) -> Self {
        self.scope = ScopeSource::With(Arc::new(scope));
        self
    }

    fn scope_of(&self, parts: &Parts) -> Option<String> {
        let scope = match &self.scope {
            // the empty scope: no principal is empty (they are filtered below)
            ScopeSource::Shared => return Some(String::new()),
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
            return self.unidentified().into_response();
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
