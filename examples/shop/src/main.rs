//! `shop`: listens on `SHOP_ADDR` (default 127.0.0.1:3000). See the crate docs.
#![forbid(unsafe_code)]

use std::process::ExitCode;

use shop::{app, payments::PaymentProvider, Settings, Shop};

#[tokio::main]
async fn main() -> ExitCode {
    let settings = match Settings::from_env() {
        Ok(settings) => settings,
        Err(error) => {
            eprintln!("shop: {error}");
            return ExitCode::from(2);
        }
    };
    // The idempotency store is the process-wide default (in memory). A fleet would install a
    // shared one here, before serving: idemgate::idempotency::set_default_store(...).
    let shop = Shop::new(PaymentProvider::new(
        settings.payment_failure_rate,
        settings.payment_latency,
    ));
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
    match axum::serve(listener, app(shop)).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("shop: {error}");
            ExitCode::from(1)
        }
    }
}
