//! `shop-actix`: the `shop` service on actix-web, protected by idemgate the same way.
//!
//! - `POST /orders` (`{"sku": "…", "qty": n}`, `Idempotency-Key` required, tenant in
//!   `X-Tenant`) creates an order and charges it through shop's flaky payment provider (under
//!   `#[retry_policy]`). `#[idempotent]` on the actix handler makes client retries safe: a
//!   duplicate in flight gets 409, a completed one gets the same 201 replayed
//!   (`Idempotent-Replayed: true`), the same key with another `sku` or `qty` gets 422, a
//!   missing or invalid key 400, an unreachable store 503 (the handler does not run).
//! - `GET /orders` lists the caller tenant's orders.
//! - `GET /metrics` ([`metrics`]): every idemgate metric in Prometheus text, as in `shop`.
//!
//! Stores as in `shop`: `IDEMGATE_REDIS_URL` (a Redis the fleet shares; orders in memory per
//! process), `IDEMGATE_DATABASE_URL` (PostgreSQL: each order is written in its idempotency
//! record's transaction, so every process lists the same orders and a crash leaves neither),
//! neither: in memory.
//!
//! The HTTP contract is `shop`'s, byte for byte in the problem bodies.
#![forbid(unsafe_code)]

use std::future::{ready, Ready};

use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::{web, FromRequest, HttpRequest, HttpResponse};
use idemgate::http::{IdempotencyKey, Problem};
use idemgate::idempotent;
use shop::{invalid_body, NewOrder};

/// The state and the tenant header are `shop`'s: both services call its `place_order` and
/// `orders_of`, so only the HTTP framework differs.
pub use shop::{Shop, TENANT_HEADER};

/// The caller's tenant, from `X-Tenant` (401 when missing).
#[derive(Clone, Debug)]
pub struct Tenant(pub String);

impl FromRequest for Tenant {
    type Error = Problem;
    type Future = Ready<Result<Self, Problem>>;

    fn from_request(request: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(
            request
                .headers()
                .get(TENANT_HEADER)
                .and_then(|v| v.to_str().ok())
                .map(str::trim)
                .filter(|t| !t.is_empty() && t.len() <= 64)
                .map(|t| Tenant(t.to_owned()))
                .ok_or_else(Problem::unidentified_caller),
        )
    }
}

/// The service's routes; the app provides `web::Data<Shop>`.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/orders")
            .route(web::get().to(list_orders))
            .route(web::post().to(create_order)),
    );
}

/// `GET /metrics`: the text a Prometheus server scrapes, rendered by the exporter the process
/// installed as its `metrics` recorder (the app provides `web::Data<PrometheusHandle>`).
pub async fn metrics(
    handle: web::Data<metrics_exporter_prometheus::PrometheusHandle>,
) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4")
        .body(handle.render())
}

/// `POST /orders`: create and pay an order, once per `Idempotency-Key` and tenant. The request
/// is identified by `sku` and `qty` (in any key order or layout): other fields a client sends
/// along (`sent_at`, a trace id) may change between retries.
#[idempotent(
    key = header("Idempotency-Key"),
    scope = header("X-Tenant"),
    ttl = "24h",
    fingerprint = fields("sku", "qty")
)]
async fn create_order(
    shop: web::Data<Shop>,
    Tenant(tenant): Tenant,
    key: IdempotencyKey,
    body: Result<web::Json<NewOrder>, actix_web::Error>,
) -> Result<HttpResponse, Problem> {
    let new = body
        .map_err(|error| invalid_body(error.to_string()))?
        .into_inner();
    let order = shop.place_order(&tenant, key.as_str(), new).await?;
    let id = order.id.clone();
    Ok(HttpResponse::Created()
        .insert_header((header::LOCATION, format!("/orders/{id}")))
        .json(order))
}

/// `GET /orders`: the caller tenant's orders, oldest first.
async fn list_orders(
    shop: web::Data<Shop>,
    Tenant(tenant): Tenant,
) -> Result<HttpResponse, Problem> {
    let orders = shop.orders_of(&tenant).await?;
    Ok(HttpResponse::Ok().json(orders))
}
