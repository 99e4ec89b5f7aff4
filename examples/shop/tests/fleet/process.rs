//! One service process of a fleet test (`crate::BIN`: `shop` or `shop-actix`) and the two
//! requests those tests make of it.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct Shop {
    pub base: String,
    pub child: Child,
}

impl Drop for Shop {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts the service with its store at `url` (`store_var`: `IDEMGATE_REDIS_URL` or
/// `IDEMGATE_DATABASE_URL`; the other is unset) on `port`, payments taking `latency_ms`, and
/// waits until it listens.
pub fn start(store_var: &str, url: &str, port: u16, latency_ms: u64) -> Shop {
    let mut child = Command::new(crate::BIN)
        .env("SHOP_ADDR", format!("127.0.0.1:{port}"))
        .env("SHOP_PAYMENT_FAILURE_RATE", "0")
        .env("SHOP_PAYMENT_LATENCY_MS", latency_ms.to_string())
        .env_remove("IDEMGATE_REDIS_URL")
        .env_remove("IDEMGATE_DATABASE_URL")
        .env(store_var, url)
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap_or_else(|e| panic!("{} starts: {e}", crate::BIN));
    let deadline = Instant::now() + Duration::from_secs(30);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        if let Some(status) = child.try_wait().unwrap() {
            panic!("{} exited before listening on {port}: {status}", crate::BIN);
        }
        assert!(
            Instant::now() < deadline,
            "{} did not listen on {port}",
            crate::BIN
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    Shop {
        base: format!("http://127.0.0.1:{port}"),
        child,
    }
}

pub async fn order(
    client: &reqwest::Client,
    base: &str,
    tenant: &str,
    key: &str,
    body: &str,
) -> (u16, bool, String) {
    let res = client
        .post(format!("{base}/orders"))
        .header("X-Tenant", tenant)
        .header("Idempotency-Key", key)
        .header("content-type", "application/json")
        .body(body.to_owned())
        .send()
        .await
        .unwrap();
    let status = res.status().as_u16();
    let replayed = res.headers().get("idempotent-replayed").is_some();
    (status, replayed, res.text().await.unwrap())
}

pub async fn count_orders(client: &reqwest::Client, base: &str, tenant: &str) -> usize {
    let text = client
        .get(format!("{base}/orders"))
        .header("X-Tenant", tenant)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    serde_json::from_str::<Vec<serde_json::Value>>(&text)
        .unwrap()
        .len()
}
