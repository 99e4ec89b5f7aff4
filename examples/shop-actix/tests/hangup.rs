//! The `shop-actix` binary serves with half-closed connections disallowed, so a client that
//! hangs up mid-request cancels it: its idempotency key is released at once (counted as
//! abandoned) and the client's retry executes — one order, not a 409 until the lease expires.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use reqwest::{Client, StatusCode};
use serde_json::Value;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

const BIN: &str = env!("CARGO_BIN_EXE_shop-actix");
const TEA: &str = r#"{"sku":"tea","qty":2}"#;

/// A running `shop-actix` whose payments take `latency_ms`; killed when dropped.
struct Shop {
    child: Child,
    addr: String,
}

impl Shop {
    fn start(latency_ms: u64) -> Shop {
        let mut child = Command::new(BIN)
            .env("SHOP_ADDR", "127.0.0.1:0")
            .env("SHOP_PAYMENT_FAILURE_RATE", "0")
            .env("SHOP_PAYMENT_LATENCY_MS", latency_ms.to_string())
            .env_remove("IDEMGATE_REDIS_URL")
            .env_remove("IDEMGATE_DATABASE_URL")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start shop-actix");
        let stdout = child.stdout.take().expect("stdout");
        let mut line = String::new();
        BufReader::new(stdout)
            .read_line(&mut line)
            .expect("read banner");
        let addr = line
            .trim()
            .strip_prefix("shop-actix listening on http://")
            .unwrap_or_else(|| panic!("unexpected banner {line:?}"))
            .to_owned();
        Shop { child, addr }
    }

    /// The sum of a counter's series in `GET /metrics`.
    async fn counter(&self, client: &Client, name: &str) -> f64 {
        let text = client
            .get(format!("http://{}/metrics", self.addr))
            .send()
            .await
            .expect("GET /metrics")
            .text()
            .await
            .unwrap();
        text.lines()
            .filter(|line| line.starts_with(&format!("{name}{{")))
            .filter_map(|line| line.rsplit(' ').next()?.parse::<f64>().ok())
            .sum()
    }

    /// Polls a counter until it reaches `at_least` (at most about ten seconds); its last value.
    async fn wait_for(&self, client: &Client, name: &str, at_least: f64) -> f64 {
        let mut value = 0.0;
        for _ in 0..500 {
            value = self.counter(client, name).await;
            if value >= at_least {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        value
    }
}

impl Drop for Shop {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[tokio::test]
async fn a_client_that_hangs_up_releases_its_key_and_its_retry_executes_once() {
    // The first order's payment outlasts the hang-up by far.
    let shop = Shop::start(1500);
    let client = Client::new();

    let mut socket = TcpStream::connect(&shop.addr).await.unwrap();
    socket
        .write_all(
            format!(
                "POST /orders HTTP/1.1\r\nhost: shop\r\nx-tenant: acme\r\n\
                 idempotency-key: hang-1\r\ncontent-type: application/json\r\n\
                 content-length: {}\r\n\r\n{TEA}",
                TEA.len()
            )
            .as_bytes(),
        )
        .await
        .unwrap();
    let started = shop
        .wait_for(&client, "idemgate_idempotency_executions_total", 1.0)
        .await;
    assert_eq!(started, 1.0, "the first request executes");
    drop(socket);

    let abandoned = shop
        .wait_for(&client, "idemgate_idempotency_abandoned_total", 1.0)
        .await;
    assert_eq!(
        abandoned, 1.0,
        "the hang-up cancels the request and releases its key"
    );

    let retry = client
        .post(format!("http://{}/orders", shop.addr))
        .header("X-Tenant", "acme")
        .header("Idempotency-Key", "hang-1")
        .header("content-type", "application/json")
        .body(TEA)
        .send()
        .await
        .unwrap();
    assert_eq!(retry.status(), StatusCode::CREATED, "the retry executes");
    assert!(retry.headers().get("idempotent-replayed").is_none());

    let orders = client
        .get(format!("http://{}/orders", shop.addr))
        .header("X-Tenant", "acme")
        .send()
        .await
        .unwrap();
    let orders: Vec<Value> = serde_json::from_slice(&orders.bytes().await.unwrap()).unwrap();
    assert_eq!(orders.len(), 1, "the abandoned request created no order");
    assert_eq!(
        shop.counter(&client, "idemgate_idempotency_executions_total")
            .await,
        2.0,
        "one abandoned start, one execution"
    );
}
