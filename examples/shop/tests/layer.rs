//! `IdempotencyLayer` on a whole router, over real HTTP: POST is protected, GET passes
//! through, the caller comes from a `Principal` set by an auth middleware.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;

use axum::extract::{Request, State};
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::post;
use axum::Router;
use idemgate::http::{Idempotency, IdempotencyLayer, Principal};

async fn authenticate(mut request: Request, next: Next) -> Response {
    let user = request
        .headers()
        .get("x-user")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    if let Some(user) = user {
        request.extensions_mut().insert(Principal::new(user));
    }
    next.run(request).await
}

async fn start_job(State(runs): State<Arc<AtomicU32>>, principal: Principal) -> String {
    let n = runs.fetch_add(1, Ordering::SeqCst) + 1;
    format!("job {n} for {}", principal.as_str())
}

/// Fails with 503 on its first run, then succeeds.
async fn flaky_job(State(runs): State<Arc<AtomicU32>>) -> (axum::http::StatusCode, String) {
    let n = runs.fetch_add(1, Ordering::SeqCst) + 1;
    if n == 1 {
        (
            axum::http::StatusCode::SERVICE_UNAVAILABLE,
            "try again".to_owned(),
        )
    } else {
        (axum::http::StatusCode::CREATED, format!("run {n}"))
    }
}

async fn count(State(runs): State<Arc<AtomicU32>>) -> String {
    runs.load(Ordering::SeqCst).to_string()
}

async fn serve() -> (String, Arc<AtomicU32>) {
    let runs = Arc::new(AtomicU32::new(0));
    let app = Router::new()
        .route("/jobs", post(start_job).get(count))
        .route("/flaky", post(flaky_job))
        .with_state(Arc::clone(&runs))
        .layer(IdempotencyLayer::new(Idempotency::new().operation("jobs")))
        .layer(middleware::from_fn(authenticate));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (base, runs)
}

#[tokio::test]
async fn the_layer_protects_post_and_lets_get_through() {
    let (base, runs) = serve().await;
    let client = reqwest::Client::new();
    let post = |user: &'static str, key: Option<&'static str>| {
        let mut request = client.post(format!("{base}/jobs")).header("x-user", user);
        if let Some(key) = key {
            request = request.header("Idempotency-Key", key);
        }
        request.send()
    };

    let first = post("ann", Some("job-1")).await.unwrap();
    assert_eq!(first.status(), 200);
    assert_eq!(first.text().await.unwrap(), "job 1 for ann");
    let again = post("ann", Some("job-1")).await.unwrap();
    assert_eq!(again.headers()["idempotent-replayed"], "true");
    assert_eq!(again.text().await.unwrap(), "job 1 for ann");

    // Another principal with the same key runs its own job.
    let bob = post("bob", Some("job-1")).await.unwrap();
    assert_eq!(bob.text().await.unwrap(), "job 2 for bob");

    assert_eq!(post("ann", None).await.unwrap().status(), 400);
    let anonymous = client
        .post(format!("{base}/jobs"))
        .header("Idempotency-Key", "job-9")
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), 401);

    let get = client.get(format!("{base}/jobs")).send().await.unwrap();
    assert_eq!(get.status(), 200, "GET needs no key");
    assert_eq!(get.text().await.unwrap(), "2");
    assert_eq!(runs.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn server_errors_are_not_stored_so_the_retry_executes() {
    let (base, runs) = serve().await;
    let client = reqwest::Client::new();
    let send = || {
        client
            .post(format!("{base}/flaky"))
            .header("x-user", "ann")
            .header("Idempotency-Key", "flaky-1")
            .send()
    };
    let failed = send().await.unwrap();
    assert_eq!(failed.status(), 503);
    let retried = send().await.unwrap();
    assert_eq!(retried.status(), 201);
    assert!(retried.headers().get("idempotent-replayed").is_none());
    assert_eq!(retried.text().await.unwrap(), "run 2");
    let replayed = send().await.unwrap();
    assert_eq!(replayed.headers()["idempotent-replayed"], "true");
    assert_eq!(replayed.text().await.unwrap(), "run 2");
    assert_eq!(runs.load(Ordering::SeqCst), 2);
}

/// The layer fingerprints a JSON body by its canonical form: the same document re-serialised
/// replays; any other value is another request (422). A non-JSON body is compared by its bytes.
#[tokio::test]
async fn json_bodies_are_compared_as_parsed_json() {
    let (base, runs) = serve().await;
    let client = reqwest::Client::new();
    let send = |key: &'static str, content_type: &'static str, body: &'static str| {
        client
            .post(format!("{base}/jobs"))
            .header("x-user", "ann")
            .header("Idempotency-Key", key)
            .header("content-type", content_type)
            .body(body)
            .send()
    };
    let json = "application/json";
    let first = send("json-1", json, r#"{"sku":"a","qty":1,"tags":["x","y"]}"#)
        .await
        .unwrap();
    assert_eq!(first.status(), 200);
    assert_eq!(first.text().await.unwrap(), "job 1 for ann");
    let reordered = send(
        "json-1",
        "application/json; charset=utf-8",
        "{ \"tags\" : [\"x\", \"\\u0079\"],\n  \"qty\": 1, \"sku\": \"a\" }",
    )
    .await
    .unwrap();
    assert_eq!(reordered.status(), 200);
    assert_eq!(reordered.headers()["idempotent-replayed"], "true");
    assert_eq!(reordered.text().await.unwrap(), "job 1 for ann");
    for other in [
        r#"{"sku":"a","qty":2,"tags":["x","y"]}"#,
        r#"{"sku":"a","qty":1,"tags":["y","x"]}"#,
        r#"{"sku":"a","qty":1}"#,
    ] {
        let response = send("json-1", json, other).await.unwrap();
        assert_eq!(response.status(), 422, "{other}");
    }
    // Not JSON by its content type: byte for byte.
    assert_eq!(
        send("text-1", "text/plain", r#"{"a":1,"b":2}"#)
            .await
            .unwrap()
            .status(),
        200
    );
    assert_eq!(
        send("text-1", "text/plain", r#"{"b":2,"a":1}"#)
            .await
            .unwrap()
            .status(),
        422
    );
    assert_eq!(runs.load(Ordering::SeqCst), 2);
}
