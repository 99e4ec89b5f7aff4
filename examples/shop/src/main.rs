//! `shop`: listens on `SHOP_ADDR` (default 127.0.0.1:3000). See the crate docs.
#![forbid(unsafe_code)]

use std::process::ExitCode;

use axum::middleware::Next;
use idemgate::idempotency;
use shop::{
    admin_app, app, install_store, metrics_app, payments::PaymentProvider, Settings, Shop,
    StoreMode,
};

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
    let mode = match install_store("shop").await {
        Ok(mode) => mode,
        Err(error) => {
            eprintln!("shop: {error}");
            return ExitCode::from(2);
        }
    };
    let provider = PaymentProvider::new(settings.payment_failure_rate, settings.payment_latency);
    let shop = match mode {
        StoreMode::Memory | StoreMode::Redis => Shop::new(provider),
        StoreMode::Postgres(client) => Shop::with_database(provider, client),
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
