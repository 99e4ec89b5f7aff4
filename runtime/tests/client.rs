//! `client::RetryMiddleware` against a real axum server on loopback: attempts are counted by
//! the server, which also records the `Idempotency-Key` of every attempt.
#![cfg(all(feature = "reqwest", feature = "axum"))]
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use idemgate::breaker::{self, BreakerConfig};
use idemgate::budget::{self, BudgetConfig};
use idemgate::client::RetryMiddleware;
use idemgate::{RetryPolicy, Retryability};
use reqwest_middleware::{ClientBuilder, ClientWithMiddleware};

/// Every attempt the server saw, per path: the `Idempotency-Key` it carried.
#[derive(Clone, Default)]
struct Seen(Arc<Mutex<HashMap<String, Vec<Option<String>>>>>);

impl Seen {
    fn record(&self, path: &str, headers: &HeaderMap) -> usize {
        let key = headers
            .get("idempotency-key")
            .map(|v| v.to_str().unwrap().to_owned());
        let mut seen = self.0.lock().unwrap();
        let attempts = seen.entry(path.to_owned()).or_default();
        attempts.push(key);
        attempts.len()
    }

    fn keys(&self, path: &str) -> Vec<Option<String>> {
        self.0
            .lock()
            .unwrap()
            .get(path)
            .cloned()
            .unwrap_or_default()
    }
}

/// `POST /flaky/{id}/{n}`: 503 for the first `n` attempts, then 201.
async fn flaky(
    State(seen): State<Seen>,
    Path((id, n)): Path<(String, usize)>,
    headers: HeaderMap,
) -> Response {
    let attempt = seen.record(&format!("flaky/{id}"), &headers);
    if attempt <= n {
        (StatusCode::SERVICE_UNAVAILABLE, "down").into_response()
    } else {
        (StatusCode::CREATED, format!("created on attempt {attempt}")).into_response()
    }
}

/// `POST /throttled/{id}`: 429 with `Retry-After: 3` once, then 200.
async fn throttled(
    State(seen): State<Seen>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    if seen.record(&format!("throttled/{id}"), &headers) == 1 {
        (
            StatusCode::TOO_MANY_REQUESTS,
            [("retry-after", "3")],
            "slow down",
        )
            .into_response()
    } else {
        (StatusCode::OK, "ok").into_response()
    }
}

/// `POST /bad/{id}`: always 400.
async fn bad(State(seen): State<Seen>, Path(id): Path<String>, headers: HeaderMap) -> Response {
    seen.record(&format!("bad/{id}"), &headers);
    (StatusCode::BAD_REQUEST, "no").into_response()
}

/// `GET /down/{id}`: always 503.
async fn down(State(seen): State<Seen>, Path(id): Path<String>, headers: HeaderMap) -> Response {
    seen.record(&format!("down/{id}"), &headers);
    (StatusCode::SERVICE_UNAVAILABLE, "down").into_response()
}

/// The server, on its own thread and runtime (real time), so tests may pause theirs.
fn serve() -> (String, Seen) {
    let seen = Seen::default();
    let app = Router::new()
        .route("/flaky/{id}/{n}", post(flaky))
        .route("/throttled/{id}", post(throttled))
        .route("/bad/{id}", post(bad))
        .route("/down/{id}", get(down))
        .with_state(seen.clone());
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async move {
            let listener = tokio::net::TcpListener::from_std(listener).unwrap();
            axum::serve(listener, app).await.unwrap();
        });
    });
    (base, seen)
}

fn client(policy: &'static RetryPolicy, operation: &'static str) -> ClientWithMiddleware {
    // No idle-pool timer: under paused time the only timers are the retry sleeps.
    let inner = reqwest::Client::builder()
        .pool_idle_timeout(None)
        .build()
        .unwrap();
    ClientBuilder::new(inner)
        .with(RetryMiddleware::new(policy).operation(operation))
        .build()
}

static FAST: RetryPolicy = RetryPolicy::new()
    .max_attempts(4)
    .base(Duration::from_millis(1))
    .cap(Duration::from_millis(5))
    .no_budget();

#[tokio::test]
async fn transient_failures_are_retried_with_one_key() {
    let (base, seen) = serve();
    let response = client(&FAST, "t.client.flaky")
        .post(format!("{base}/flaky/a/2"))
        .body("{\"amount\":100}")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
    assert_eq!(response.text().await.unwrap(), "created on attempt 3");
    let keys = seen.keys("flaky/a");
    assert_eq!(keys.len(), 3, "three attempts reached the server");
    let first = keys[0].clone().expect("a generated key");
    assert_eq!(first.len(), 36);
    assert!(
        keys.iter().all(|k| k.as_deref() == Some(first.as_str())),
        "{keys:?}"
    );

    // Another logical call gets another key.
    client(&FAST, "t.client.flaky")
        .post(format!("{base}/flaky/b/0"))
        .send()
        .await
        .unwrap();
    assert_ne!(seen.keys("flaky/b")[0].as_deref(), Some(first.as_str()));
}

#[tokio::test]
async fn the_callers_key_is_kept_and_attempts_are_capped() {
    let (base, seen) = serve();
    let response = client(&FAST, "t.client.capped")
        .post(format!("{base}/flaky/c/10"))
        .header("Idempotency-Key", "order-42")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 503, "the last response is returned");
    assert_eq!(
        seen.keys("flaky/c"),
        vec![Some("order-42".to_owned()); 4],
        "max_attempts = 4, the caller's key on each"
    );
}

#[tokio::test]
async fn a_400_is_not_retried() {
    let (base, seen) = serve();
    let response = client(&FAST, "t.client.bad")
        .post(format!("{base}/bad/d"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    assert_eq!(seen.keys("bad/d").len(), 1);
}

#[tokio::test(start_paused = true)]
async fn retry_after_is_honoured() {
    static P: RetryPolicy = RetryPolicy::new()
        .max_attempts(3)
        .base(Duration::from_millis(1))
        .cap(Duration::from_millis(5))
        .max_elapsed(Duration::from_secs(30))
        .no_budget();
    let (base, seen) = serve();
    let start = tokio::time::Instant::now();
    let response = client(&P, "t.client.throttled")
        .post(format!("{base}/throttled/e"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(seen.keys("throttled/e").len(), 2);
    let waited = start.elapsed();
    assert!(waited >= Duration::from_secs(3), "waited {waited:?}");
    assert!(waited < Duration::from_secs(10), "waited {waited:?}");
}

#[tokio::test(start_paused = true)]
async fn a_retry_after_beyond_max_elapsed_returns_the_429() {
    static P: RetryPolicy = RetryPolicy::new()
        .max_attempts(3)
        .base(Duration::from_millis(1))
        .max_elapsed(Duration::from_secs(2))
        .no_budget();
    let (base, seen) = serve();
    let response = client(&P, "t.client.throttled_long")
        .post(format!("{base}/throttled/f"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 429);
    assert_eq!(response.headers()["retry-after"], "3");
    assert_eq!(seen.keys("throttled/f").len(), 1);
}

#[tokio::test]
async fn a_streaming_body_is_sent_once() {
    let (base, seen) = serve();
    let stream = futures_util::stream::once(async { Ok::<_, std::io::Error>("chunk") });
    let response = client(&FAST, "t.client.stream")
        .post(format!("{base}/flaky/g/1"))
        .body(reqwest::Body::wrap_stream(stream))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 503);
    let keys = seen.keys("flaky/g");
    assert_eq!(keys.len(), 1, "not retried");
    assert!(keys[0].is_some(), "still keyed");
}

#[tokio::test]
async fn an_open_breaker_fails_fast_without_the_network() {
    static P: RetryPolicy = RetryPolicy::new()
        .max_attempts(3)
        .base(Duration::from_millis(1))
        .no_budget()
        .breaker("t.client.psp");
    breaker::configure(
        "t.client.psp",
        BreakerConfig {
            min_requests: 1,
            consecutive_windows: 1,
            ..BreakerConfig::new()
        },
    )
    .unwrap();
    let (base, seen) = serve();
    let client = client(&P, "t.client.breaker");
    let response = client.get(format!("{base}/down/h")).send().await.unwrap();
    assert_eq!(response.status(), 503);
    assert_eq!(seen.keys("down/h").len(), 1, "the breaker opened: no retry");
    assert!(seen.keys("down/h")[0].is_none(), "GET gets no key");
    let refused = client.get(format!("{base}/down/h")).send().await;
    match refused {
        Err(reqwest_middleware::Error::Middleware(error)) => {
            let error = error.downcast::<idemgate::Error>().unwrap();
            assert!(matches!(
                error,
                idemgate::Error::CircuitOpen {
                    name: "t.client.psp"
                }
            ));
        }
        other => panic!("expected a refusal, got {other:?}"),
    }
    assert_eq!(seen.keys("down/h").len(), 1);
}

#[tokio::test]
async fn an_empty_budget_ends_retrying() {
    static P: RetryPolicy = RetryPolicy::new()
        .max_attempts(4)
        .base(Duration::from_millis(1))
        .budget("t.client.empty");
    budget::configure(
        "t.client.empty",
        BudgetConfig {
            ratio: 0.0,
            min_per_sec: 0,
            ttl: Duration::from_secs(10),
        },
    )
    .unwrap();
    let (base, seen) = serve();
    let response = client(&P, "t.client.budget")
        .post(format!("{base}/flaky/i/1"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 503);
    assert_eq!(seen.keys("flaky/i").len(), 1);
}

#[tokio::test]
async fn inside_an_outer_policy_the_middleware_does_not_retry() {
    static OUTER: RetryPolicy = RetryPolicy::new()
        .max_attempts(2)
        .base(Duration::from_millis(1))
        .no_budget();
    let (base, seen) = serve();
    let client = client(&FAST, "t.client.inner");
    let url = format!("{base}/flaky/j/10");
    let response = OUTER
        .run_outcome_or(
            "t.client.outer",
            |r: &reqwest_middleware::Result<reqwest::Response>| match r {
                Ok(response) if response.status() == 503 => Some(Retryability::Transient),
                Ok(_) => None,
                Err(_) => Some(Retryability::Permanent),
            },
            reqwest_middleware::Error::middleware,
            || client.post(&url).send(),
        )
        .await
        .unwrap();
    assert_eq!(response.status(), 503);
    let keys = seen.keys("flaky/j");
    assert_eq!(keys.len(), 2, "2 outer attempts x 1, not 2 x 4");
}
