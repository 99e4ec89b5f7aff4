//! actix-web enforcement (feature `actix`): [`IdempotencyMiddleware`], an actix
//! [`Transform`] for apps, scopes and resources, and the protocol behind
//! `#[idempotent(key = header("Idempotency-Key"))]` on actix handlers — with the semantics,
//! status codes and problem bodies of the axum integration (see [the module table](super)).
//!
//! ```ignore
//! use actix_web::{web, App};
//! use idemgate::http::actix::{Idempotency, IdempotencyMiddleware};
//!
//! App::new().service(
//!     web::resource("/orders")
//!         .wrap(IdempotencyMiddleware::new(Idempotency::new().scope_header("X-Tenant")))
//!         .route(web::post().to(create_order)),
//! );
//! ```
//!
//! **Client disconnects.** A request whose future is dropped before its handler finishes (the
//! client hung up) releases its key at once, fencing-token checked, so the client's retry
//! executes instead of getting 409 until the lease expires. actix-web drops that future only
//! when it sees the connection close, and by default (actix-http ≥ 3.11.2) it takes a client
//! that closes its socket for one that merely finished sending (a half-closed connection) and
//! keeps running the request to its end: the claim then stands until the handler finishes, and
//! its response is stored and replayed. Disallow half-closed connections so a hang-up cancels
//! the request:
//!
//! ```ignore
//! HttpServer::new(app).h1_allow_half_closed(false)
//! ```
//!
//! `examples/shop-actix` builds its server so (its `hangup` test: a hang-up is counted in
//! `idemgate_idempotency_abandoned_total` and the client's retry creates the one order).

use std::borrow::Cow;
use std::future::{ready, Future, Ready};
use std::pin::Pin;
use std::rc::Rc;
use std::sync::Arc;
use std::time::Duration;

use actix_web::body::{BodyStream, BoxBody, MessageBody};
use actix_web::dev::{Payload, Service, ServiceRequest, ServiceResponse, Transform};
use actix_web::http::header::{self, HeaderName, HeaderValue};
use actix_web::http::{Method, StatusCode};
use actix_web::{HttpMessage, HttpRequest, HttpResponse};

use super::protocol::{
    fingerprint, problem_for, Failure, HeaderLabel, Principal, StoredResponse, REPLAYED_LOWER,
};
use super::{IdempotencyKey, Problem, IDEMPOTENCY_KEY, PROBLEM_JSON};
use crate::idempotency::{self, BodyFingerprint, IdempotencyStore, Options, Outcome, ScopedKey};

type ScopeFn = dyn Fn(&HttpRequest) -> Option<String> + Send + Sync;

super::protocol::idempotency_builder! {
    /// The idempotency protocol for one actix operation (a handler, a resource, a scope or an
    /// app); the actix counterpart of the axum [`Idempotency`](crate::http) builder, with the
    /// same defaults: header `Idempotency-Key` (required), caller from the [`Principal`] request
    /// extension, the process-wide default store, retention 24 h, lease 60 s, bodies up to 1 MiB.
}

impl Idempotency {
    /// Scopes keys by a function of the request (an authenticated identity); `None` gets 401.
    pub fn scope_with(
        mut self,
        scope: impl Fn(&HttpRequest) -> Option<String> + Send + Sync + 'static,
    ) -> Self {
        self.scope = ScopeSource::With(Arc::new(scope));
        self
    }

    fn scope_of(&self, request: &HttpRequest) -> Option<String> {
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

    /// Runs `next` (the handler, or the rest of the service chain) under the protocol. The
    /// body is read (up to `max_body`) to fingerprint it and handed to `next` as a fresh
    /// payload.
    pub async fn handle<F, Fut>(
        &self,
        request: HttpRequest,
        payload: Payload,
        next: F,
    ) -> HttpResponse
    where
        F: FnOnce(HttpRequest, Payload) -> Fut,
        Fut: Future<Output = HttpResponse>,
    {
        let key = IdempotencyKey::from_values(
            request
                .headers()
                .get_all(&self.header)
                .map(HeaderValue::as_bytes),
        );
        let key = match key {
            Ok(Some(key)) => key,
            Ok(None) if self.required => return problem(Problem::missing_key(&self.header_label)),
            Ok(None) => return next(request, payload).await,
            Err(why) => return problem(Problem::invalid_key(&self.header_label, why)),
        };
        let Some(scope) = self.scope_of(&request) else {
            return problem(self.unidentified());
        };
        let bytes = match actix_web::body::to_bytes_limited(BodyStream::new(payload), self.max_body)
            .await
        {
            Ok(Ok(bytes)) => bytes,
            Ok(Err(error)) => {
                tracing::debug!(target: "idemgate", %error, "request body could not be read");
                return HttpResponse::from_error(error);
            }
            Err(_) => return problem(Problem::too_large(self.max_body)),
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
        let outcome = idempotency::run(
            &*store,
            &key,
            fingerprint,
            &self.options,
            move || async move {
                let response = next(request, Payload::from(bytes)).await;
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

/// A problem as an actix response: `application/problem+json`, with `Retry-After` when set.
pub fn problem(problem: Problem) -> HttpResponse {
    let status =
        StatusCode::from_u16(problem.status_code()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut response = HttpResponse::build(status);
    response.insert_header((header::CONTENT_TYPE, PROBLEM_JSON));
    if let Some(seconds) = problem.retry_after {
        response.insert_header((header::RETRY_AFTER, seconds));
    }
    response.body(problem.to_json())
}

async fn capture(
    response: HttpResponse,
    max_body: usize,
) -> Result<StoredResponse, Failure<HttpResponse>> {
    if response.status().is_server_error() {
        return Err(Failure::NotStored(response));
    }
    let (head, body) = response.into_parts();
    let bytes = match actix_web::body::to_bytes_limited(body, max_body).await {
        Ok(Ok(bytes)) => bytes,
        Ok(Err(error)) => {
            tracing::error!(target: "idemgate", %error, "response body could not be buffered for replay");
            return Err(Failure::NotStored(problem(Problem::internal())));
        }
        Err(_) => {
            tracing::error!(target: "idemgate", max_body, "response body too large to store for replay");
            return Err(Failure::NotStored(problem(Problem::internal())));
        }
    };
    Ok(StoredResponse::new(
        head.status().as_u16(),
        head.headers()
            .iter()
            .map(|(name, value)| (name.as_str(), value.as_bytes())),
        bytes.to_vec(),
    ))
}

fn respond(stored: StoredResponse, replayed: bool) -> HttpResponse {
    let (status, headers, body) = stored.into_parts();
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut response = HttpResponse::with_body(status, body).map_into_boxed_body();
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

/// Applies [`Idempotency`] to the side-effecting methods (POST and PATCH by default) of what
/// it wraps (`App::wrap`, `Scope::wrap`, `Resource::wrap`); other methods pass through.
#[derive(Clone, Debug)]
pub struct IdempotencyMiddleware {
    protocol: Rc<Idempotency>,
    methods: Rc<[Method]>,
}

impl IdempotencyMiddleware {
    /// The middleware for POST and PATCH.
    pub fn new(protocol: Idempotency) -> Self {
        IdempotencyMiddleware {
            protocol: Rc::new(protocol),
            methods: Rc::from([Method::POST, Method::PATCH]),
        }
    }

    /// Protects exactly these methods instead.
    pub fn methods(mut self, methods: impl IntoIterator<Item = Method>) -> Self {
        self.methods = methods.into_iter().collect();
        self
    }
}

impl<S, B> Transform<S, ServiceRequest> for IdempotencyMiddleware
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = actix_web::Error> + 'static,
    B: MessageBody + 'static,
{
    type Response = ServiceResponse<BoxBody>;
    type Error = actix_web::Error;
    type Transform = IdempotencyService<S>;
    type InitError = ();
    type Future = Ready<Result<Self::Transform, Self::InitError>>;

    fn new_transform(&self, service: S) -> Self::Future {
        ready(Ok(IdempotencyService {
            service: Rc::new(service),
            middleware: self.clone(),
        }))
    }
}

/// The service made by [`IdempotencyMiddleware`].
pub struct IdempotencyService<S> {
    service: Rc<S>,
    middleware: IdempotencyMiddleware,
}

impl<S, B> Service<ServiceRequest> for IdempotencyService<S>
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = actix_web::Error> + 'static,
    B: MessageBody + 'static,
{
    type Response = ServiceResponse<BoxBody>;
    type Error = actix_web::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Self::Error>>>>;

    actix_web::dev::forward_ready!(service);

    fn call(&self, request: ServiceRequest) -> Self::Future {
        let service = Rc::clone(&self.service);
        if !self.middleware.methods.contains(request.method()) {
            return Box::pin(async move { Ok(service.call(request).await?.map_into_boxed_body()) });
        }
        let protocol = Rc::clone(&self.middleware.protocol);
        Box::pin(async move {
            let (http_request, payload) = request.into_parts();
            let response = protocol
                .handle(
                    http_request.clone(),
                    payload,
                    move |request, payload| async move {
                        match service
                            .call(ServiceRequest::from_parts(request, payload))
                            .await
                        {
                            Ok(response) => response.into_parts().1.map_into_boxed_body(),
                            Err(error) => HttpResponse::from_error(error),
                        }
                    },
                )
                .await;
            Ok(ServiceResponse::new(http_request, response))
        })
    }
}

/// A problem is an actix error: return `Result<_, Problem>` from a handler, or reject from
/// an extractor, and the client gets the problem+json response.
impl actix_web::ResponseError for Problem {
    fn status_code(&self) -> StatusCode {
        StatusCode::from_u16(self.status_code()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }

    fn error_response(&self) -> HttpResponse {
        problem(self.clone())
    }
}

/// The request's `Idempotency-Key` as an actix extractor: 400 (problem+json) when missing or
/// invalid; `Option<IdempotencyKey>` accepts a missing header and still rejects an invalid one.
impl actix_web::FromRequest for IdempotencyKey {
    type Error = Problem;
    type Future = Ready<Result<Self, Problem>>;

    fn from_request(request: &HttpRequest, _: &mut Payload) -> Self::Future {
        let values = request
            .headers()
            .get_all(header::HeaderName::from_static("idempotency-key"))
            .map(HeaderValue::as_bytes);
        ready(match IdempotencyKey::from_values(values) {
            Ok(Some(key)) => Ok(key),
            Ok(None) => Err(Problem::missing_key(IDEMPOTENCY_KEY)),
            Err(why) => Err(Problem::invalid_key(IDEMPOTENCY_KEY, why)),
        })
    }
}

/// The [`Principal`] your authentication middleware put in the request extensions, as an
/// actix extractor: 401 (problem+json) when absent.
impl actix_web::FromRequest for Principal {
    type Error = Problem;
    type Future = Ready<Result<Self, Problem>>;

    fn from_request(request: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(
            request
                .extensions()
                .get::<Principal>()
                .cloned()
                .ok_or_else(Problem::unidentified_caller),
        )
    }
}

/// What `#[idempotent(key = header(..))]` on an actix handler expands to; not a public API.
#[doc(hidden)]
pub mod __private {
    use actix_web::{FromRequest, Handler, Responder};

    pub use actix_web::dev::Payload;
    pub use actix_web::web::Payload as WebPayload;
    pub use actix_web::{HttpRequest, HttpResponse};

    /// Extracts the handler's arguments from the request and the replayable payload, calls
    /// it, and turns its output into a response.
    pub async fn call_handler<F, Args>(
        handler: F,
        request: HttpRequest,
        mut payload: Payload,
    ) -> HttpResponse
    where
        F: Handler<Args>,
        Args: FromRequest,
        F::Output: Responder,
    {
        match Args::from_request(&request, &mut payload).await {
            Ok(args) => handler
                .call(args)
                .await
                .respond_to(&request)
                .map_into_boxed_body(),
            Err(error) => HttpResponse::from_error(error.into()),
        }
    }
}
