//! `shop`: listens on `SHOP_ADDR` (default 127.0.0.1:3000). See the crate docs.
#![forbid(unsafe_code)]

use std::process::ExitCode;

use idemgate::idempotency::{self, RedisStore, RedisStoreConfig};
use shop::{app, payments::PaymentProvider, Settings, Shop};

/// Installs the store the environment names (none: the in-memory default).
fn install_store() -> Result<(), String> {
    let var = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
    if var("IDEMGATE_DATABASE_URL").is_some() {
        return Err(
            "IDEMGATE_DATABASE_URL: the PostgreSQL mode of the shop is not built yet; \
                    use IDEMGATE_REDIS_URL or neither"
                .into(),
        );
    }
    let Some(url) = var("IDEMGATE_REDIS_URL") else {
        return Ok(());
    };
    let store = RedisStore::open(url.trim(), RedisStoreConfig::default())
        .map_err(|e| format!("IDEMGATE_REDIS_URL: {e}"))?;
    idempotency::set_default_store(std::sync::Arc::new(store))
        .map_err(|_| "the idempotency store was already set".to_owned())?;
    println!("shop: idempotency store: Redis");
    Ok(())
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
    // The idempotency store is the process-wide default: in memory, or with IDEMGATE_REDIS_URL
    // a Redis shared by every shop process (orders stay in memory per process).
    if let Err(error) = install_store() {
        eprintln!("shop: {error}");
        return ExitCode::from(2);
    }
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
