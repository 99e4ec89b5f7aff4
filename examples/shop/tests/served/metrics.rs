//! `GET /metrics` of a running service (`shop` or `shop-actix`: the including test sets `BIN`):
//! Prometheus text whose counts are the requests made — three orders and one duplicate are
//! three calls, three attempts, three executions and one replay — under the names and labels
//! the runtime documents, and nothing else.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

struct Service(Child);

impl Drop for Service {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn start() -> (Service, String) {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut child = Command::new(crate::BIN)
        .env("SHOP_ADDR", format!("127.0.0.1:{port}"))
        .env("SHOP_PAYMENT_FAILURE_RATE", "0")
        .env("SHOP_PAYMENT_LATENCY_MS", "1")
        .env_remove("IDEMGATE_REDIS_URL")
        .env_remove("IDEMGATE_DATABASE_URL")
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        if let Some(status) = child.try_wait().unwrap() {
            panic!("{} exited before listening: {status}", crate::BIN);
        }
        assert!(Instant::now() < deadline, "{} did not listen", crate::BIN);
        std::thread::sleep(Duration::from_millis(50));
    }
    (Service(child), format!("http://127.0.0.1:{port}"))
}

/// `name{labels} value` lines of the exposition, as (series, value).
fn samples(text: &str) -> Vec<(String, f64)> {
    text.lines()
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|l| {
            let (series, value) = l.rsplit_once(' ').unwrap();
            (series.to_owned(), value.parse().unwrap())
        })
        .collect()
}

fn value(samples: &[(String, f64)], series: &str) -> f64 {
    samples
        .iter()
        .find(|(s, _)| s == series)
        .map(|(_, v)| *v)
        .unwrap_or_else(|| panic!("no {series} in {samples:#?}"))
}

#[tokio::test]
async fn metrics_count_the_requests_under_the_documented_names() {
    let (_service, base) = start();
    let client = reqwest::Client::new();
    for key in ["k1", "k2", "k3", "k3"] {
        let response = client
            .post(format!("{base}/orders"))
            .header("X-Tenant", "acme")
            .header("Idempotency-Key", key)
            .header("content-type", "application/json")
            .body(r#"{"sku":"tea","qty":1}"#)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 201);
    }
    let response = client.get(format!("{base}/metrics")).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.headers()["content-type"],
        "text/plain; version=0.0.4"
    );
    let text = response.text().await.unwrap();
    let samples = samples(&text);
    let charge = r#"operation="shop::payments::charge""#;
    assert_eq!(
        value(
            &samples,
            &format!(r#"idemgate_calls_total{{{charge},outcome="success"}}"#)
        ),
        3.0
    );
    assert_eq!(
        value(&samples, &format!("idemgate_attempts_total{{{charge}}}")),
        3.0
    );
    // registered at zero before anything failed, so rate() sees the first incident whole
    for outcome in ["exhausted", "budget_exhausted", "circuit_open"] {
        assert_eq!(
            value(
                &samples,
                &format!(r#"idemgate_calls_total{{{charge},outcome="{outcome}"}}"#)
            ),
            0.0
        );
    }
    assert_eq!(
        value(&samples, r#"idemgate_breaker_state{breaker="psp"}"#),
        0.0
    );
    let executions = samples
        .iter()
        .filter(|(s, _)| s.starts_with("idemgate_idempotency_executions_total{"))
        .map(|(_, v)| v)
        .sum::<f64>();
    let replays = samples
        .iter()
        .filter(|(s, _)| s.starts_with("idemgate_idempotency_replays_total{"))
        .map(|(_, v)| v)
        .sum::<f64>();
    assert_eq!((executions, replays), (3.0, 1.0), "{text}");
    for (series, _) in &samples {
        let name = series.split('{').next().unwrap();
        assert!(
            idemgate::metrics::ALL.contains(&name),
            "{name} is served but not documented in idemgate::metrics"
        );
    }
    for name in ["idemgate_calls_total", "idemgate_breaker_state"] {
        assert!(
            text.contains(&format!("# HELP {name} ")),
            "no description of {name}"
        );
    }
}
