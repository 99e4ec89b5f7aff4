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

use std::collections::HashMap;
use std::future::{ready, Ready};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::{web, FromRequest, HttpRequest, HttpResponse};
use idemgate::http::{IdempotencyKey, Problem};
use idemgate::idempotent;
use shop::payments::{self, PaymentError, PaymentProvider};
use shop::{NewOrder, Order};

/// The tenant header (demo authentication).
pub const TENANT_HEADER: &str = "X-Tenant";

/// Price of every item, in cents (a demo catalogue).
const UNIT_PRICE_CENTS: u64 = 1_999;

/// Shared state.
#[derive(Clone)]
pub struct Shop {
    orders: Arc<Mutex<HashMap<String, Vec<Order>>>>,
    next_order: Arc<AtomicU64>,
    provider: Arc<PaymentProvider>,
    /// PostgreSQL mode: orders live in `shop_orders` (shop's `ORDERS_SCHEMA`), written in the
    /// idempotency record's transaction; this connection reads them.
    db: Option<Arc<tokio_postgres::Client>>,
}

impl std::fmt::Debug for Shop {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Shop")
            .field("provider", &self.provider)
            .field("postgres", &self.db.is_some())
            .finish_non_exhaustive()
    }
}

impl Shop {
    /// A shop charging through `provider`.
    pub fn new(provider: PaymentProvider) -> Self {
        Shop {
            orders: Arc::default(),
            next_order: Arc::new(AtomicU64::new(1)),
            provider: Arc::new(provider),
            db: None,
        }
    }

    /// A shop whose orders live in PostgreSQL: serve [`routes`] inside
    /// `idemgate::idempotency::postgres::transaction_scope` (see the binary) with a
    /// `PostgresStore` as the idempotency store, so each order commits with its record.
    pub fn with_database(provider: PaymentProvider, db: tokio_postgres::Client) -> Self {
        Shop {
            db: Some(Arc::new(db)),
            ..Shop::new(provider)
        }
    }

    /// Whether orders live in PostgreSQL ([`Shop::with_database`]).
    pub fn uses_database(&self) -> bool {
        self.db.is_some()
    }

    /// The payment provider (for tests and metrics).
    pub fn provider(&self) -> &PaymentProvider {
        &self.provider
    }

    fn orders(&self) -> std::sync::MutexGuard<'_, HashMap<String, Vec<Order>>> {
        match self.orders.lock() {
            Ok(orders) => orders,
            Err(poisoned) => poisoned.into_inner(),
        }
    }
}

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

fn invalid_body(detail: impl Into<String>) -> Problem {
    Problem::new(
        http::StatusCode::BAD_REQUEST,
        "invalid-body",
        "Invalid order",
        detail,
    )
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
    if new.sku.trim().is_empty() || new.sku.len() > 64 {
        return Err(invalid_body("`sku` must be 1-64 characters"));
    }
    if !(1..=100).contains(&new.qty) {
        return Err(invalid_body("`qty` must be between 1 and 100"));
    }
    let amount_cents = u64::from(new.qty) * UNIT_PRICE_CENTS;
    // The provider's key: stable across our attempts and the client's retries, scoped by
    // tenant, composed with `idemgate::key` so no tenant name runs into another's key.
    let payment_key = idemgate::key(["shop", tenant.as_str(), key.as_str()]);
    let charge = payments::charge(&shop.provider, payment_key.as_str(), amount_cents)
        .await
        .map_err(payment_problem)?;
    let mut order = Order {
        id: String::new(),
        tenant: tenant.clone(),
        sku: new.sku,
        qty: new.qty,
        amount_cents,
        payment_id: charge.id,
        status: "paid".to_owned(),
    };
    if shop.db.is_some() {
        // In the idempotency record's transaction: both commit, or neither.
        let Some(tx) = idemgate::idempotency::postgres::current_tx() else {
            return Err(database_problem("no idempotency transaction is open"));
        };
        let amount = i64::try_from(amount_cents).unwrap_or(i64::MAX);
        let qty = i32::try_from(order.qty).unwrap_or(i32::MAX);
        let row = tx
            .query_one(
                "INSERT INTO shop_orders (tenant, sku, qty, amount_cents, payment_id) \
                 VALUES ($1, $2, $3, $4, $5) RETURNING id",
                &[&order.tenant, &order.sku, &qty, &amount, &order.payment_id],
            )
            .await
            .map_err(|e| database_problem(&e.to_string()))?;
        let id: i64 = row.get(0);
        order.id = format!("ord_{id:06}");
    } else {
        order.id = format!("ord_{:06}", shop.next_order.fetch_add(1, Ordering::Relaxed));
        shop.orders().entry(tenant).or_default().push(order.clone());
    }
    let id = order.id.clone();
    Ok(HttpResponse::Created()
        .insert_header((header::LOCATION, format!("/orders/{id}")))
        .json(order))
}

fn payment_problem(error: PaymentError) -> Problem {
    match error {
        PaymentError::Declined => Problem::new(
            http::StatusCode::PAYMENT_REQUIRED,
            "payment-declined",
            "Payment declined",
            error.to_string(),
        ),
        other => Problem::new(
            http::StatusCode::BAD_GATEWAY,
            "payment-unavailable",
            "Payment provider unavailable",
            other.to_string(),
        )
        .retry_after(1),
    }
}

fn database_problem(detail: &str) -> Problem {
    Problem::new(
        http::StatusCode::SERVICE_UNAVAILABLE,
        "database-unavailable",
        "Database unavailable",
        detail,
    )
    .retry_after(1)
}

/// `GET /orders`: the caller tenant's orders, oldest first.
async fn list_orders(
    shop: web::Data<Shop>,
    Tenant(tenant): Tenant,
) -> Result<HttpResponse, Problem> {
    let Some(db) = &shop.db else {
        return Ok(HttpResponse::Ok().json(shop.orders().get(&tenant).cloned().unwrap_or_default()));
    };
    let rows = db
        .query(
            "SELECT id, sku, qty, amount_cents, payment_id FROM shop_orders \
             WHERE tenant = $1 ORDER BY id",
            &[&tenant],
        )
        .await
        .map_err(|e| database_problem(&e.to_string()))?;
    let orders: Vec<Order> = rows
        .iter()
        .map(|row| Order {
            id: format!("ord_{:06}", row.get::<_, i64>(0)),
            tenant: tenant.clone(),
            sku: row.get(1),
            qty: u32::try_from(row.get::<_, i32>(2)).unwrap_or(0),
            amount_cents: u64::try_from(row.get::<_, i64>(3)).unwrap_or(0),
            payment_id: row.get(4),
            status: "paid".to_owned(),
        })
        .collect();
    Ok(HttpResponse::Ok().json(orders))
}
