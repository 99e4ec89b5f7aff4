//! `shop-actix`: listens on `SHOP_ADDR` (default 127.0.0.1:3000). See the crate docs.
#![forbid(unsafe_code)]

use std::process::ExitCode;

use actix_web::{web, App, HttpServer};
use shop::payments::PaymentProvider;
use shop::Settings;
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
    // The idempotency store is the process-wide default (in memory). A fleet would install a
    // shared one here, before serving: idemgate::idempotency::set_default_store(...).
    let shop = web::Data::new(Shop::new(PaymentProvider::new(
        settings.payment_failure_rate,
        settings.payment_latency,
    )));
    let server = HttpServer::new(move || App::new().app_data(shop.clone()).configure(routes))
        .workers(2)
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
