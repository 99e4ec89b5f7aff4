//! `shop-actix`: listens on `SHOP_ADDR` (default 127.0.0.1:3000). See the crate docs.
#![forbid(unsafe_code)]

use std::process::ExitCode;

use actix_web::middleware::{Condition, Next};
use actix_web::{web, App, HttpServer};
use idemgate::idempotency;
use shop::payments::PaymentProvider;
use shop::{install_store, Settings, StoreMode};
use shop_actix::{routes, Shop};

#[actix_web::main]
async fn main() -> ExitCode {
    let settings = match Settings::from_env() {
        Ok(settings) => settings,
        Err(error) => {
            eprintln!("shop-actix: {error}");
            return ExitCode::from(2);
        }
    };
    // The Prometheus exporter is the `metrics` recorder, installed before any policy runs.
    let metrics = match metrics_exporter_prometheus::PrometheusBuilder::new().install_recorder() {
        Ok(handle) => web::Data::new(handle),
        Err(error) => {
            eprintln!("shop-actix: cannot install the metrics recorder: {error}");
            return ExitCode::from(1);
        }
    };
    idemgate::metrics::describe();
    if let Err(error) = idemgate::breaker::configure("psp", settings.breaker) {
        eprintln!("shop-actix: {error}");
        return ExitCode::from(2);
    }
    // The idempotency store is the process-wide default, chosen as shop does: a Redis every
    // process shares (IDEMGATE_REDIS_URL), PostgreSQL for records and orders
    // (IDEMGATE_DATABASE_URL), else in memory.
    let mode = match install_store("shop-actix").await {
        Ok(mode) => mode,
        Err(error) => {
            eprintln!("shop-actix: {error}");
            return ExitCode::from(2);
        }
    };
    let provider = PaymentProvider::new(settings.payment_failure_rate, settings.payment_latency);
    let shop = web::Data::new(match mode {
        StoreMode::Memory | StoreMode::Redis => Shop::new(provider),
        StoreMode::Postgres(client) => Shop::with_database(provider, client),
    });
    let transactional = shop.uses_database();
    let server = HttpServer::new(move || {
        App::new()
            .app_data(shop.clone())
            .app_data(metrics.clone())
            .route("/metrics", web::get().to(shop_actix::metrics))
            // PostgreSQL: each request runs in a transaction scope, so the order the handler
            // writes through current_tx() commits with its idempotency record.
            .wrap(Condition::new(
                transactional,
                actix_web::middleware::from_fn(|req, next: Next<_>| {
                    idempotency::postgres::transaction_scope(next.call(req))
                }),
            ))
            .configure(routes)
    })
    .workers(2)
    // A client that hangs up mid-request cancels it, so its idempotency key is released at
    // once and the client's retry executes. By default (actix-http >= 3.11.2) actix takes a
    // closed socket for a half-closed one and runs the request to its end, holding the key
    // (the retry gets 409 until then); see idemgate::http::actix, "Client disconnects".
    .h1_allow_half_closed(false)
    .bind(&settings.addr);
    let server = match server {
        Ok(server) => server,
        Err(error) => {
            eprintln!("shop-actix: cannot listen on {}: {error}", settings.addr);
            return ExitCode::from(1);
        }
    };
    match server.addrs().first() {
        Some(addr) => println!("shop-actix listening on http://{addr}"),
        None => eprintln!("shop-actix: no address bound"),
    }
    match server.run().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("shop-actix: {error}");
            ExitCode::from(1)
        }
    }
}
