//! The three scopes a handler can name, over real HTTP: `scope = none` (every caller shares the
//! keys), `scope = principal` (the `Principal` an auth layer inserts; without one, a 401 that
//! says so) and a `Principal` parameter, which needs no `scope` at all.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::atomic::{AtomicUsize, Ordering};

use axum::extract::Request;
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::post;
use axum::{Extension, Router};
use idemgate::http::Principal;
use idemgate::idempotent;

static SHARED: AtomicUsize = AtomicUsize::new(0);
static BY_PRINCIPAL: AtomicUsize = AtomicUsize::new(0);
static BY_PARAMETER: AtomicUsize = AtomicUsize::new(0);

#[idempotent(key = header("Idempotency-Key"), scope = none)]
async fn shared(body: String) -> String {
    format!("{} {body}", SHARED.fetch_add(1, Ordering::SeqCst) + 1)
}

#[idempotent(key = header("Idempotency-Key"), scope = principal)]
async fn by_principal(body: String) -> String {
    format!("{} {body}", BY_PRINCIPAL.fetch_add(1, Ordering::SeqCst) + 1)
}

// no `scope`: the handler's own `Principal` parameter says an auth layer identifies callers
#[idempotent(key = header("Idempotency-Key"))]
async fn by_parameter(Extension(who): Extension<Principal>, body: String) -> String {
    let n = BY_PARAMETER.fetch_add(1, Ordering::SeqCst) + 1;
    format!("{n} {} {body}", who.as_str())
}

/// A stand-in authentication layer: the `X-User` header becomes the principal.
async fn auth(mut request: Request, next: Next) -> Response {
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

async fn serve() -> String {
    let authed = Router::new()
        .route("/principal", post(by_principal))
        .route("/parameter", post(by_parameter))
        .layer(middleware::from_fn(auth));
    let open = Router::new()
        .route("/shared", post(shared))
        .route("/unauthenticated", post(by_principal));
    let app = authed.merge(open);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    format!("http://{addr}")
}

async fn post_as(
    client: &reqwest::Client,
    url: &str,
    key: &str,
    user: Option<&str>,
) -> (u16, String) {
    let mut request = client
        .post(url)
        .header("Idempotency-Key", key)
        .body("order");
    if let Some(user) = user {
        request = request.header("X-User", user);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.text().await.unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_scope_over_http() {
    let base = serve().await;
    let client = reqwest::Client::new();

    // none: two different callers with one key get one execution
    let url = format!("{base}/shared");
    assert_eq!(
        post_as(&client, &url, "k", Some("ann")).await,
        (200, "1 order".into())
    );
    assert_eq!(
        post_as(&client, &url, "k", Some("bob")).await,
        (200, "1 order".into())
    );
    assert_eq!(SHARED.load(Ordering::SeqCst), 1);

    // principal: the same key from two principals runs twice; a repeat replays
    let url = format!("{base}/principal");
    assert_eq!(
        post_as(&client, &url, "k", Some("ann")).await,
        (200, "1 order".into())
    );
    assert_eq!(
        post_as(&client, &url, "k", Some("bob")).await,
        (200, "2 order".into())
    );
    assert_eq!(
        post_as(&client, &url, "k", Some("ann")).await,
        (200, "1 order".into())
    );
    assert_eq!(BY_PRINCIPAL.load(Ordering::SeqCst), 2);

    // principal without an auth layer: 401 that names what is missing
    let (status, body) = post_as(&client, &format!("{base}/unauthenticated"), "k", None).await;
    assert_eq!(status, 401);
    let problem: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(problem["type"], "urn:idemgate:problem:caller-unidentified");
    assert!(
        problem["detail"]
            .as_str()
            .unwrap()
            .contains("no `idemgate::http::Principal` in the request extensions"),
        "{problem}"
    );
    assert_eq!(BY_PRINCIPAL.load(Ordering::SeqCst), 2);

    // a Principal parameter: scoped by it
    let url = format!("{base}/parameter");
    assert_eq!(
        post_as(&client, &url, "k", Some("ann")).await,
        (200, "1 ann order".into())
    );
    assert_eq!(
        post_as(&client, &url, "k", Some("ann")).await,
        (200, "1 ann order".into())
    );
    assert_eq!(
        post_as(&client, &url, "k", Some("bob")).await,
        (200, "2 bob order".into())
    );
}
