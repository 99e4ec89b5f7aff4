//! `shop`: listens on `SHOP_ADDR` (default 127.0.0.1:3000). See the crate docs.
#![forbid(unsafe_code)]

use std::process::ExitCode;

use axum::middleware::Next;
use idemgate::idempotency::{
    self, PostgresStore, PostgresStoreConfig, RedisStore, RedisStoreConfig,
};
use shop::{admin_app, app, metrics_app, payments::PaymentProvider, Settings, Shop, ORDERS_SCHEMA};

/// Where idempotency records (and, with PostgreSQL, orders) live.
enum Mode {
    Memory,
    Redis,
    Postgres(tokio_postgres::Client),
}

/// Installs the store the environment names: IDEMGATE_DATABASE_URL (PostgreSQL: records and
/// orders in one transaction), IDEMGATE_REDIS_URL (Redis), neither (in memory).
async fn install_store() -> Result<Mode, String> {
    let var = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
    if let Some(url) = var("IDEMGATE_DATABASE_URL") {
        let url = url.trim();
        let store = PostgresStore::connect(url, PostgresStoreConfig::default())
            .await
            .map_err(|e| format!("IDEMGATE_DATABASE_URL: {e}"))?;
        let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls)
            .await
            .map_err(|e| format!("IDEMGATE_DATABASE_URL: {e}"))?;
        tokio::spawn(async move {
            if let Err(e) = connection.await {
                eprintln!("shop: database connection ended: {e}");
            }
        });
        client
            .batch_execute(&format!(
                "SELECT pg_advisory_lock(4242); {ORDERS_SCHEMA}; SELECT pg_advisory_unlock(4242)"
            ))
            .await
            .map_err(|e| format!("IDEMGATE_DATABASE_URL: {e}"))?;
        // Expired idempotency rows go in the background.
        store.spawn_sweeper(std::time::Duration::from_secs(60));
        idempotency::set_default_store(std::sync::Arc::new(store))
            .map_err(|_| "the idempotency store was already set".to_owned())?;
        println!("shop: idempotency store and orders: PostgreSQL");
        return Ok(Mode::Postgres(client));
    }
    let Some(url) = var("IDEMGATE_REDIS_URL") else {
        return Ok(Mode::Memory);
    };
    let store = RedisStore::open(url.trim(), RedisStoreConfig::default())
        .map_err(|e| format!("IDEMGATE_REDIS_URL: {e}"))?;
    idempotency::set_default_store(std::sync::Arc::new(store))
        .map_err(|_| "the idempotency store was already set".to_owned())?;
    println!("shop: idempotency store: Redis");
    Ok(Mode::Redis)
}

#[tokio::main]
async fn main() -> ExitCode {
    let settings = match Settings::from_env() {
        Ok(settings) => settings,
        Err(error) => {
            eprintln!("shop: {error}");
            return ExitCode::from(2);
        }
    };
    // The Prometheus exporter is the `metrics` recorder, installed before any policy runs so
    // every handle the runtime registers reaches it; `GET /metrics` renders it.
    let metrics = match metrics_exporter_prometheus::PrometheusBuilder::new().install_recorder() {
        Ok(handle) => handle,
        Err(error) => {
            eprintln!("shop: cannot install the metrics recorder: {error}");
            return ExitCode::from(1);
        }
    };
    idemgate::metrics::describe();
    if let Err(error) = idemgate::breaker::configure("psp", settings.breaker) {
        eprintln!("shop: {error}");
        return ExitCode::from(2);
    }
    // The idempotency store is the process-wide default: in memory, a Redis shared by every
    // shop process (orders stay in memory per process), or PostgreSQL (orders too, each in
    // its idempotency record's transaction).
    let mode = match install_store().await {
        Ok(mode) => mode,
        Err(error) => {
            eprintln!("shop: {error}");
            return ExitCode::from(2);
        }
    };
    let provider = PaymentProvider::new(settings.payment_failure_rate, settings.payment_latency);
    let shop = match mode {
        Mode::Memory | Mode::Redis => Shop::new(provider),
        Mode::Postgres(client) => Shop::with_database(provider, client),
    };
    let mut router = app(shop.clone());
    if shop.uses_database() {
        router = router.layer(axum::middleware::from_fn(
            |req: axum::extract::Request, next: Next| {
                idempotency::postgres::transaction_scope(next.run(req))
            },
        ));
    }
    router = router.merge(metrics_app(metrics));
    if settings.admin {
        println!("shop: SHOP_ADMIN=1: serving /admin/payment-provider");
        router = router.merge(admin_app(shop));
    }
    let listener = match tokio::net::TcpListener::bind(&settings.addr).await {
        Ok(listener) => listener,
        Err(error) => {
            eprintln!("shop: cannot listen on {}: {error}", settings.addr);
            return ExitCode::from(1);
        }
    };
    match listener.local_addr() {
        Ok(addr) => println!("shop listening on http://{addr}"),
        Err(error) => eprintln!("shop: {error}"),
    }
    match axum::serve(listener, router).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("shop: {error}");
            ExitCode::from(1)
        }
    }
}
