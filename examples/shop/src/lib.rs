//! `shop`: an axum service whose side effects are protected by idemgate.
//!
//! - `POST /orders` (`{"sku": "…", "qty": n}`, `Idempotency-Key` required, tenant in
//!   `X-Tenant`) creates an order and charges it through a flaky payment provider under
//!   `#[retry_policy]`; `#[idempotent]` makes client retries safe: a duplicate in flight gets
//!   409, a completed one gets the same 201 replayed (`Idempotent-Replayed: true`), the same key
//!   with another `sku` or `qty` gets 422 (the body is compared by those fields, as parsed JSON,
//!   so a re-serialised retry is recognised). The payment provider's key is composed with
//!   `idemgate::key`, so no tenant name can run into another tenant's key.
//! - `GET /orders` lists the caller tenant's orders.
//! - `GET /metrics` ([`metrics_app`]): every idemgate metric in Prometheus text format; the
//!   runtime emits through the `metrics` facade and the shop installs the Prometheus exporter.
//! - With `SHOP_ADMIN=1` only, `GET`/`PUT /admin/payment-provider` ([`admin_app`]) reads and
//!   sets the simulated provider's failure rate (`{"failure_rate": 1.0}` is an outage), to
//!   rehearse an incident against the alerts in `observability/`.
#![forbid(unsafe_code)]

pub mod payments;

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::{header, StatusCode};
use axum::routing::get;
use axum::{Json, Router};
use idemgate::http::{IdempotencyKey, Problem};
use idemgate::idempotency::{PostgresStore, PostgresStoreConfig, RedisStore, RedisStoreConfig};
use idemgate::idempotent;
use serde::{Deserialize, Serialize};

use crate::payments::{PaymentError, PaymentProvider};

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
    /// PostgreSQL mode: orders live in `shop_orders`, written in the idempotency record's
    /// transaction; this connection reads them.
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

/// The orders table of the PostgreSQL mode.
pub const ORDERS_SCHEMA: &str = "CREATE TABLE IF NOT EXISTS shop_orders (
    id bigserial PRIMARY KEY,
    tenant text NOT NULL,
    sku text NOT NULL,
    qty integer NOT NULL,
    amount_cents bigint NOT NULL,
    payment_id text NOT NULL
)";

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

    /// A shop whose orders live in PostgreSQL (`shop_orders`, see [`ORDERS_SCHEMA`]): every
    /// process pointed at the same database lists the same orders. Serve [`app`] inside
    /// `idemgate::idempotency::postgres::transaction_scope` with a `PostgresStore` as the
    /// idempotency store, so each order commits in its idempotency record's transaction.
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

    /// `POST /orders` without the HTTP framework (axum here, actix-web in `shop-actix`):
    /// validates the order, charges it under a provider key derived from the client's
    /// `Idempotency-Key` and the tenant, and stores it (PostgreSQL mode: in the idempotency
    /// record's transaction, so both commit or neither).
    pub async fn place_order(
        &self,
        tenant: &str,
        idempotency_key: &str,
        new: NewOrder,
    ) -> Result<Order, Problem> {
        if new.sku.trim().is_empty() || new.sku.len() > 64 {
            return Err(invalid_body("`sku` must be 1-64 characters"));
        }
        if !(1..=100).contains(&new.qty) {
            return Err(invalid_body("`qty` must be between 1 and 100"));
        }
        let amount_cents = u64::from(new.qty) * UNIT_PRICE_CENTS;
        // The provider's key is derived from the client's key: stable across our attempts and
        // the client's retries, scoped by tenant. Built with `idemgate::key`, not `format!`:
        // with `format!("shop:{tenant}:{key}")` tenant `acme:x` + key `y` and tenant `acme` +
        // key `x:y` would share one charge.
        let payment_key = idemgate::key(["shop", tenant, idempotency_key]);
        let charge = payments::charge(&self.provider, payment_key.as_str(), amount_cents)
            .await
            .map_err(payment_problem)?;
        let mut order = Order {
            id: String::new(),
            tenant: tenant.to_owned(),
            sku: new.sku,
            qty: new.qty,
            amount_cents,
            payment_id: charge.id,
            status: "paid".to_owned(),
        };
        if self.db.is_some() {
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
            order.id = format!("ord_{:06}", self.next_order.fetch_add(1, Ordering::Relaxed));
            self.orders()
                .entry(tenant.to_owned())
                .or_default()
                .push(order.clone());
        }
        Ok(order)
    }

    /// `GET /orders` without the HTTP framework: the tenant's orders, oldest first.
    pub async fn orders_of(&self, tenant: &str) -> Result<Vec<Order>, Problem> {
        let Some(db) = &self.db else {
            return Ok(self.orders().get(tenant).cloned().unwrap_or_default());
        };
        let rows = db
            .query(
                "SELECT id, sku, qty, amount_cents, payment_id FROM shop_orders \
                 WHERE tenant = $1 ORDER BY id",
                &[&tenant],
            )
            .await
            .map_err(|e| database_problem(&e.to_string()))?;
        Ok(rows
            .iter()
            .map(|row| Order {
                id: format!("ord_{:06}", row.get::<_, i64>(0)),
                tenant: tenant.to_owned(),
                sku: row.get(1),
                qty: u32::try_from(row.get::<_, i32>(2)).unwrap_or(0),
                amount_cents: u64::try_from(row.get::<_, i64>(3)).unwrap_or(0),
                payment_id: row.get(4),
                status: "paid".to_owned(),
            })
            .collect())
    }

    fn orders(&self) -> std::sync::MutexGuard<'_, HashMap<String, Vec<Order>>> {
        match self.orders.lock() {
            Ok(orders) => orders,
            Err(poisoned) => poisoned.into_inner(),
        }
    }
}

/// `GET /metrics`: the text a Prometheus server scrapes, rendered by the exporter `handle`
/// the process installed as its `metrics` recorder.
pub fn metrics_app(handle: metrics_exporter_prometheus::PrometheusHandle) -> Router {
    Router::new().route(
        "/metrics",
        get(move || {
            let handle = handle.clone();
            async move {
                (
                    [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
                    handle.render(),
                )
            }
        }),
    )
}

/// The simulated payment provider's settings, as `/admin/payment-provider` reads and writes
/// them.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct ProviderSettings {
    /// Share of calls that fail, 0 to 1.
    pub failure_rate: f64,
}

/// `GET`/`PUT /admin/payment-provider`: read or set the simulated provider's failure rate.
/// Serve it only where an operator asked for it (`SHOP_ADMIN=1`): it breaks payments on purpose.
pub fn admin_app(shop: Shop) -> Router {
    Router::new()
        .route(
            "/admin/payment-provider",
            get(provider_settings).put(set_provider_settings),
        )
        .with_state(shop)
}

async fn provider_settings(State(shop): State<Shop>) -> Json<ProviderSettings> {
    Json(ProviderSettings {
        failure_rate: shop.provider.failure_rate(),
    })
}

/// `PUT` is idempotent by itself: setting the same rate twice is setting it once.
async fn set_provider_settings(
    State(shop): State<Shop>,
    body: Result<Json<ProviderSettings>, JsonRejection>,
) -> Result<Json<ProviderSettings>, Problem> {
    let Json(settings) = body.map_err(|rejection| {
        Problem::new(
            StatusCode::BAD_REQUEST,
            "invalid-body",
            "Invalid provider settings",
            rejection.body_text(),
        )
    })?;
    if !(0.0..=1.0).contains(&settings.failure_rate) {
        return Err(Problem::new(
            StatusCode::BAD_REQUEST,
            "invalid-body",
            "Invalid provider settings",
            "`failure_rate` must be between 0 and 1",
        ));
    }
    shop.provider.set_failure_rate(settings.failure_rate);
    Ok(provider_settings(State(shop)).await)
}

/// The request body of `POST /orders`.
#[derive(Clone, Debug, Deserialize)]
pub struct NewOrder {
    /// Stock-keeping unit.
    pub sku: String,
    /// Quantity, 1 to 100.
    pub qty: u32,
}

/// An order.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct Order {
    /// `ord_000001`…
    pub id: String,
    /// The tenant that placed it.
    pub tenant: String,
    /// Stock-keeping unit.
    pub sku: String,
    /// Quantity.
    pub qty: u32,
    /// Total charged, in cents.
    pub amount_cents: u64,
    /// The provider's charge id.
    pub payment_id: String,
    /// Always `paid`: an order exists only once paid.
    pub status: String,
}

/// The caller's tenant, from `X-Tenant` (401 when missing).
#[derive(Clone, Debug)]
pub struct Tenant(pub String);

impl<S: Send + Sync> FromRequestParts<S> for Tenant {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        parts
            .headers
            .get(TENANT_HEADER)
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
            .filter(|t| !t.is_empty() && t.len() <= 64)
            .map(|t| Tenant(t.to_owned()))
            .ok_or_else(Problem::unidentified_caller)
    }
}

/// The service's routes.
pub fn app(shop: Shop) -> Router {
    Router::new()
        .route("/orders", get(list_orders).post(create_order))
        .with_state(shop)
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
    State(shop): State<Shop>,
    Tenant(tenant): Tenant,
    key: IdempotencyKey,
    body: Result<Json<NewOrder>, JsonRejection>,
) -> Result<(StatusCode, [(header::HeaderName, String); 1], Json<Order>), Problem> {
    let Json(new) = body.map_err(|rejection| invalid_body(rejection.body_text()))?;
    let order = shop.place_order(&tenant, key.as_str(), new).await?;
    let id = order.id.clone();
    Ok((
        StatusCode::CREATED,
        [(header::LOCATION, format!("/orders/{id}"))],
        Json(order),
    ))
}

/// 400 for an order that does not read or does not validate.
pub fn invalid_body(detail: impl Into<String>) -> Problem {
    Problem::new(
        StatusCode::BAD_REQUEST,
        "invalid-body",
        "Invalid order",
        detail,
    )
}

fn payment_problem(error: PaymentError) -> Problem {
    match error {
        PaymentError::Declined => Problem::new(
            StatusCode::PAYMENT_REQUIRED,
            "payment-declined",
            "Payment declined",
            error.to_string(),
        ),
        other => Problem::new(
            StatusCode::BAD_GATEWAY,
            "payment-unavailable",
            "Payment provider unavailable",
            other.to_string(),
        )
        .retry_after(1),
    }
}

fn database_problem(detail: &str) -> Problem {
    Problem::new(
        StatusCode::SERVICE_UNAVAILABLE,
        "database-unavailable",
        "Database unavailable",
        detail,
    )
    .retry_after(1)
}

/// `GET /orders`: the caller tenant's orders, oldest first.
async fn list_orders(
    State(shop): State<Shop>,
    Tenant(tenant): Tenant,
) -> Result<Json<Vec<Order>>, Problem> {
    shop.orders_of(&tenant).await.map(Json)
}

/// Where idempotency records (and, with PostgreSQL, orders) live.
pub enum StoreMode {
    /// In this process's memory.
    Memory,
    /// A Redis every process shares (orders stay in memory per process).
    Redis,
    /// PostgreSQL: records and orders; the client reads and writes orders.
    Postgres(tokio_postgres::Client),
}

/// A PostgreSQL error with the server's message (`tokio_postgres` displays only "db error").
fn pg_error(doing: &str, e: &tokio_postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => format!("IDEMGATE_DATABASE_URL: {doing}: {}", db.message()),
        None => format!("IDEMGATE_DATABASE_URL: {doing}: {e}"),
    }
}

/// Installs the store the environment names: IDEMGATE_DATABASE_URL (PostgreSQL: records and
/// orders in one transaction), IDEMGATE_REDIS_URL (Redis), neither (in memory). `service` names
/// the process in what it prints. Call it once, before serving.
pub async fn install_store(service: &str) -> Result<StoreMode, String> {
    let var = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
    if let Some(url) = var("IDEMGATE_DATABASE_URL") {
        let url = url.trim();
        let store = PostgresStore::connect(url, PostgresStoreConfig::default())
            .await
            .map_err(|e| format!("IDEMGATE_DATABASE_URL: {e}"))?;
        let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls)
            .await
            .map_err(|e| pg_error("connecting", &e))?;
        let name = service.to_owned();
        tokio::spawn(async move {
            if let Err(e) = connection.await {
                eprintln!("{name}: database connection ended: {e}");
            }
        });
        // Several processes may start at once: the lock is held until the table is committed
        // (a session lock released inside the batch's implicit transaction let the next
        // process create the table again, and fail on its type).
        client
            .batch_execute(&format!(
                "BEGIN; SELECT pg_advisory_xact_lock(4242); {ORDERS_SCHEMA}; COMMIT;"
            ))
            .await
            .map_err(|e| pg_error("creating shop_orders", &e))?;
        // Expired idempotency rows go in the background.
        store.spawn_sweeper(std::time::Duration::from_secs(60));
        idemgate::idempotency::set_default_store(std::sync::Arc::new(store))
            .map_err(|_| "the idempotency store was already set".to_owned())?;
        println!("{service}: idempotency store and orders: PostgreSQL");
        return Ok(StoreMode::Postgres(client));
    }
    let Some(url) = var("IDEMGATE_REDIS_URL") else {
        return Ok(StoreMode::Memory);
    };
    let store = RedisStore::open(url.trim(), RedisStoreConfig::default())
        .map_err(|e| format!("IDEMGATE_REDIS_URL: {e}"))?;
    idemgate::idempotency::set_default_store(std::sync::Arc::new(store))
        .map_err(|_| "the idempotency store was already set".to_owned())?;
    println!("{service}: idempotency store: Redis");
    Ok(StoreMode::Redis)
}

/// Settings read from the environment.
#[derive(Clone, Debug)]
pub struct Settings {
    /// `SHOP_ADDR` (default `127.0.0.1:3000`).
    pub addr: String,
    /// `SHOP_PAYMENT_FAILURE_RATE` (default 0.1): share of provider calls that fail.
    pub payment_failure_rate: f64,
    /// `SHOP_PAYMENT_LATENCY_MS` (default 50).
    pub payment_latency: Duration,
    /// The payment provider's circuit breaker (`psp`): idemgate's defaults, except
    /// `SHOP_BREAKER_WINDOW_MS` (sliding window) and `SHOP_BREAKER_OPEN_MS` (time open before
    /// probing) when set — short ones let a rehearsal or a test trip and recover in seconds.
    pub breaker: idemgate::breaker::BreakerConfig,
    /// `SHOP_ADMIN=1`: serve [`admin_app`].
    pub admin: bool,
}

impl Settings {
    /// Reads the environment; malformed values are errors, not silently replaced.
    pub fn from_env() -> Result<Self, String> {
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
        let addr = var("SHOP_ADDR").unwrap_or_else(|| "127.0.0.1:3000".to_owned());
        let payment_failure_rate = match var("SHOP_PAYMENT_FAILURE_RATE") {
            None => 0.1,
            Some(v) => v
                .trim()
                .parse::<f64>()
                .ok()
                .filter(|r| (0.0..=1.0).contains(r))
                .ok_or_else(|| {
                    format!("SHOP_PAYMENT_FAILURE_RATE must be a number between 0 and 1, got {v:?}")
                })?,
        };
        let payment_latency = match var("SHOP_PAYMENT_LATENCY_MS") {
            None => Duration::from_millis(50),
            Some(v) => Duration::from_millis(v.trim().parse::<u64>().map_err(|_| {
                format!("SHOP_PAYMENT_LATENCY_MS must be a whole number of milliseconds, got {v:?}")
            })?),
        };
        let millis = |name: &str| -> Result<Option<Duration>, String> {
            match var(name) {
                None => Ok(None),
                Some(v) => match v.trim().parse::<u64>() {
                    Ok(ms) if ms > 0 => Ok(Some(Duration::from_millis(ms))),
                    _ => Err(format!(
                        "{name} must be a positive whole number of milliseconds, got {v:?}"
                    )),
                },
            }
        };
        let mut breaker = idemgate::breaker::BreakerConfig::new();
        if let Some(window) = millis("SHOP_BREAKER_WINDOW_MS")? {
            breaker.window = window;
        }
        if let Some(open_for) = millis("SHOP_BREAKER_OPEN_MS")? {
            breaker.open_for = open_for;
        }
        let admin = match var("SHOP_ADMIN").as_deref().map(str::trim) {
            None | Some("0") => false,
            Some("1") => true,
            Some(other) => return Err(format!("SHOP_ADMIN must be 0 or 1, got {other:?}")),
        };
        Ok(Settings {
            addr,
            payment_failure_rate,
            payment_latency,
            breaker,
            admin,
        })
    }
}
