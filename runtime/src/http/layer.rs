//! [`IdempotencyLayer`]: the idempotency protocol as a tower layer, for whole routers.

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use axum::extract::Request;
use axum::http::Method;
use axum::response::Response;
use tower_layer::Layer;
use tower_service::Service;

use super::Idempotency;

/// Applies [`Idempotency`] to the side-effecting methods (POST and PATCH by default) of every
/// route it wraps; other methods pass through untouched.
///
/// ```ignore
/// let app = Router::new()
///     .route("/orders", post(create_order))
///     .layer(IdempotencyLayer::new(Idempotency::new().scope_header("X-Tenant")));
/// ```
#[derive(Clone, Debug)]
pub struct IdempotencyLayer {
    protocol: Arc<Idempotency>,
    methods: Arc<[Method]>,
}

impl IdempotencyLayer {
    /// The layer for POST and PATCH.
    pub fn new(protocol: Idempotency) -> Self {
        IdempotencyLayer {
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

impl<S> Layer<S> for IdempotencyLayer {
    type Service = IdempotencyService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        IdempotencyService {
            inner,
            layer: self.clone(),
        }
    }
}

/// The service made by [`IdempotencyLayer`].
#[derive(Clone, Debug)]
pub struct IdempotencyService<S> {
    inner: S,
    layer: IdempotencyLayer,
}

impl<S> Service<Request> for IdempotencyService<S>
where
    S: Service<Request, Response = Response, Error = Infallible> + Clone + Send + 'static,
    S::Future: Send + 'static,
{
    type Response = Response;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Response, Infallible>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request) -> Self::Future {
        // The clone that was polled ready serves this request (tower's usual swap).
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        if !self.layer.methods.contains(request.method()) {
            return Box::pin(inner.call(request));
        }
        let protocol = Arc::clone(&self.layer.protocol);
        Box::pin(async move {
            let response = protocol
                .handle(request, move |request| async move {
                    match inner.call(request).await {
                        Ok(response) => response,
                        Err(never) => match never {},
                    }
                })
                .await;
            Ok(response)
        })
    }
}
