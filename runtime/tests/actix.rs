//! actix-web enforcement over real HTTP on loopback: the middleware on a resource and the
//! attribute on a handler, with the axum semantics.
#![cfg(feature = "actix")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::Duration;

use actix_web::dev::{Service, ServiceRequest};
use actix_web::{web, App, HttpMessage, HttpResponse, HttpServer};
use idemgate::http::actix::{Idempotency, IdempotencyMiddleware};
use idemgate::http::Principal;
use idemgate::idempotency::{IdempotencyStore, MemoryStore};
use idemgate::idempotent;

#[derive(Clone, Default)]
struct Runs(Arc<AtomicU32>);

async fn start_job(runs: web::Data<Runs>, principal: Principal) -> HttpResponse {
    let n = runs.0.fetch_add(1, Ordering::SeqCst) + 1;
    HttpResponse::Created()
        .insert_header(("x-run", n.to_string()))
        .body(format!("job {n} for {}", principal.as_str()))
}

async fn slow_job(runs: web::Data<Runs>) -> HttpResponse {
    runs.0.fetch_add(1, Ordering::SeqCst);
    tokio::time::sleep(Duration::from_millis(300)).await;
    HttpResponse::Ok().body("slow done")
}

/// Fails its first call with 503 (one test calls it).
async fn flaky_job() -> HttpResponse {
    static CALLS: AtomicU32 = AtomicU32::new(0);
    let n = CALLS.fetch_add(1, Ordering::SeqCst) + 1;
    if n == 1 {
        HttpResponse::ServiceUnavailable().body("try again")
    } else {
        HttpResponse::Ok().body(format!("ok after {n}"))
    }
}

async fn count(runs: web::Data<Runs>) -> HttpResponse {
    HttpResponse::Ok().body(runs.0.load(Ordering::SeqCst).to_string())
}

/// The attribute on an actix handler (recognised by its `web::` and `HttpResponse` types).
#[idempotent(key = header("Idempotency-Key"), scope = header("X-Tenant"))]
async fn attributed(runs: web::Data<Runs>, body: web::Json<serde_json::Value>) -> HttpResponse {
    let n = runs.0.fetch_add(1, Ordering::SeqCst) + 1;
    HttpResponse::Created().json(serde_json::json!({ "run": n, "echo": body.into_inner() }))
}

/// The attribute above an actix route attribute: the route stays on the protected handler.
#[idempotent(key = header("Idempotency-Key"), scope = header("X-Tenant"))]
#[actix_web::post("/routed")]
async fn routed(runs: web::Data<Runs>) -> HttpResponse {
    let n = runs.0.fetch_add(1, Ordering::SeqCst) + 1;
    HttpResponse::Created().body(format!("routed {n}"))
}

/// A server on an ephemeral port, on its own actix system thread.
struct Server {
    base: String,
    runs: Runs,
    handle: actix_web::dev::ServerHandle,
}

fn serve(store: Arc<dyn IdempotencyStore>) -> Server {
    let runs = Runs::default();
    let data = web::Data::new(runs.clone());
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let server = HttpServer::new(move || {
        let protocol = Idempotency::new()
            .operation("jobs")
            .store(Arc::clone(&store));
        App::new()
            .app_data(data.clone())
            // Demo authentication: the principal comes from a header.
            .wrap_fn(|request: ServiceRequest, service| {
                if let Some(user) = request
                    .headers()
                    .get("x-user")
                    .and_then(|v| v.to_str().ok())
                {
                    let user = user.to_owned();
                    request.extensions_mut().insert(Principal::new(user));
                }
                service.call(request)
            })
            .service(
                web::resource("/jobs")
                    .wrap(IdempotencyMiddleware::new(protocol.clone()))
                    .route(web::post().to(start_job))
                    .route(web::get().to(count)),
            )
            .service(
                web::resource("/slow")
                    .wrap(IdempotencyMiddleware::new(protocol.clone()))
                    .route(web::post().to(slow_job)),
            )
            .service(
                web::resource("/flaky")
                    .wrap(IdempotencyMiddleware::new(protocol))
                    .route(web::post().to(flaky_job)),
            )
            .route("/attributed", web::post().to(attributed))
            .service(routed)
    })
    .workers(2)
    .disable_signals()
    .listen(listener)
    .unwrap()
    .run();
    let handle = server.handle();
    std::thread::spawn(move || actix_web::rt::System::new().block_on(server));
    Server { base, runs, handle }
}

fn post(base: &str, path: &str, user: Option<&str>, key: Option<&str>) -> reqwest::RequestBuilder {
    let mut request = reqwest::Client::new()
        .post(format!("{base}{path}"))
        .body("{}");
    if let Some(user) = user {
        request = request.header("x-user", user);
    }
    if let Some(key) = key {
        request = request.header("Idempotency-Key", key);
    }
    request
}

async fn problem_type(response: reqwest::Response, status: u16) -> String {
    assert_eq!(response.status(), status);
    assert_eq!(
        response.headers()["content-type"],
        "application/problem+json"
    );
    let body: serde_json::Value = serde_json::from_slice(&response.bytes().await.unwrap()).unwrap();
    assert_eq!(body["status"], status);
    body["type"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn the_middleware_protects_post_and_lets_get_through() {
    let server = serve(Arc::new(MemoryStore::new()));
    let base = &server.base;
    let first = post(base, "/jobs", Some("ann"), Some("k1"))
        .send()
        .await
        .unwrap();
    assert_eq!(first.status(), 201);
    assert!(first.headers().get("idempotent-replayed").is_none());
    assert_eq!(first.headers()["x-run"], "1");
    assert_eq!(first.text().await.unwrap(), "job 1 for ann");
    let again = post(base, "/jobs", Some("ann"), Some("k1"))
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 201);
    assert_eq!(again.headers()["idempotent-replayed"], "true");
    assert_eq!(again.headers()["x-run"], "1");
    assert_eq!(again.text().await.unwrap(), "job 1 for ann");
    // Another principal with the same key is another request.
    let bob = post(base, "/jobs", Some("bob"), Some("k1"))
        .send()
        .await
        .unwrap();
    assert_eq!(bob.text().await.unwrap(), "job 2 for bob");
    // Another body with the same key: 422.
    let other = post(base, "/jobs", Some("ann"), Some("k1"))
        .body("{\"x\":1}")
        .send()
        .await
        .unwrap();
    assert_eq!(
        problem_type(other, 422).await,
        "urn:idemgate:problem:idempotency-key-reused"
    );
    // No key, an invalid key, no principal.
    let missing = post(base, "/jobs", Some("ann"), None).send().await.unwrap();
    assert_eq!(
        problem_type(missing, 400).await,
        "urn:idemgate:problem:idempotency-key-missing"
    );
    let invalid = post(base, "/jobs", Some("ann"), Some("two words"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        problem_type(invalid, 400).await,
        "urn:idemgate:problem:idempotency-key-invalid"
    );
    let anonymous = post(base, "/jobs", None, Some("k2")).send().await.unwrap();
    assert_eq!(
        problem_type(anonymous, 401).await,
        "urn:idemgate:problem:caller-unidentified"
    );
    // GET is not protected.
    let count = reqwest::get(format!("{base}/jobs")).await.unwrap();
    assert_eq!(count.status(), 200);
    assert_eq!(count.text().await.unwrap(), "2");
    assert_eq!(server.runs.0.load(Ordering::SeqCst), 2);
    server.handle.stop(true).await;
}

#[tokio::test]
async fn a_duplicate_in_flight_is_409_and_server_errors_are_not_stored() {
    let server = serve(Arc::new(MemoryStore::new()));
    let base = server.base.clone();
    let first = tokio::spawn({
        let base = base.clone();
        async move {
            post(&base, "/slow", Some("ann"), Some("s1"))
                .send()
                .await
                .unwrap()
        }
    });
    tokio::time::sleep(Duration::from_millis(100)).await;
    let duplicate = post(&base, "/slow", Some("ann"), Some("s1"))
        .send()
        .await
        .unwrap();
    assert_eq!(duplicate.headers()["retry-after"], "1");
    assert_eq!(
        problem_type(duplicate, 409).await,
        "urn:idemgate:problem:idempotency-request-in-flight"
    );
    let first = first.await.unwrap();
    assert_eq!(first.status(), 200);
    assert_eq!(first.text().await.unwrap(), "slow done");
    assert_eq!(server.runs.0.load(Ordering::SeqCst), 1);

    let failed = post(&base, "/flaky", Some("ann"), Some("f1"))
        .send()
        .await
        .unwrap();
    assert_eq!(failed.status(), 503);
    let retried = post(&base, "/flaky", Some("ann"), Some("f1"))
        .send()
        .await
        .unwrap();
    assert_eq!(retried.status(), 200);
    assert!(retried.headers().get("idempotent-replayed").is_none());
    assert_eq!(
        retried.text().await.unwrap(),
        "ok after 2",
        "the retry executed"
    );
    server.handle.stop(true).await;
}

#[tokio::test]
async fn the_attribute_enforces_on_an_actix_handler() {
    let server = serve(Arc::new(MemoryStore::new()));
    let base = &server.base;
    let send = |key: Option<&str>, tenant: Option<&str>, body: &str| {
        let mut request = reqwest::Client::new()
            .post(format!("{base}/attributed"))
            .header("content-type", "application/json")
            .body(body.to_owned());
        if let Some(key) = key {
            request = request.header("Idempotency-Key", key);
        }
        if let Some(tenant) = tenant {
            request = request.header("X-Tenant", tenant);
        }
        request.send()
    };
    let first = send(Some("a1"), Some("acme"), r#"{"a":1,"b":2}"#)
        .await
        .unwrap();
    assert_eq!(first.status(), 201);
    let first_body = first.bytes().await.unwrap();
    // The same JSON re-serialised is the same request.
    let again = send(Some("a1"), Some("acme"), r#"{ "b": 2, "a": 1 }"#)
        .await
        .unwrap();
    assert_eq!(again.status(), 201);
    assert_eq!(again.headers()["idempotent-replayed"], "true");
    assert_eq!(again.headers()["content-type"], "application/json");
    assert_eq!(again.bytes().await.unwrap(), first_body);
    let other = send(Some("a1"), Some("acme"), r#"{"a":2}"#).await.unwrap();
    assert_eq!(
        problem_type(other, 422).await,
        "urn:idemgate:problem:idempotency-key-reused"
    );
    let missing = send(None, Some("acme"), "{}").await.unwrap();
    assert_eq!(
        problem_type(missing, 400).await,
        "urn:idemgate:problem:idempotency-key-missing"
    );
    let no_tenant = send(Some("a2"), None, "{}").await.unwrap();
    assert_eq!(
        problem_type(no_tenant, 401).await,
        "urn:idemgate:problem:caller-unidentified"
    );
    let send_routed = |key: &'static str| {
        reqwest::Client::new()
            .post(format!("{base}/routed"))
            .header("Idempotency-Key", key)
            .header("X-Tenant", "acme")
            .send()
    };
    let first = send_routed("r1").await.unwrap();
    assert_eq!(first.status(), 201);
    let first = first.text().await.unwrap();
    let again = send_routed("r1").await.unwrap();
    assert_eq!(again.headers()["idempotent-replayed"], "true");
    assert_eq!(again.text().await.unwrap(), first);
    let globex = send(Some("a1"), Some("globex"), r#"{"a":1,"b":2}"#)
        .await
        .unwrap();
    assert_eq!(globex.status(), 201);
    assert!(globex.headers().get("idempotent-replayed").is_none());
    assert_eq!(server.runs.0.load(Ordering::SeqCst), 3);
    server.handle.stop(true).await;
}

#[tokio::test]
async fn an_unreachable_store_is_503_and_the_handler_does_not_run() {
    let server = serve(Arc::new(idemgate::idempotency::UnavailableStore));
    let response = post(&server.base, "/jobs", Some("ann"), Some("k1"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.headers()["retry-after"], "1");
    assert_eq!(
        problem_type(response, 503).await,
        "urn:idemgate:problem:idempotency-store-unavailable"
    );
    assert_eq!(server.runs.0.load(Ordering::SeqCst), 0);
    server.handle.stop(true).await;
}

/// Entered and completed executions of [`hang_once`].
#[derive(Clone, Default)]
struct Hangs {
    entered: Arc<AtomicU32>,
    completed: Arc<AtomicU32>,
}

/// Hangs on its first call (its client gives up), answers at once afterwards.
async fn hang_once(hangs: web::Data<Hangs>) -> HttpResponse {
    let n = hangs.entered.fetch_add(1, Ordering::SeqCst) + 1;
    if n == 1 {
        tokio::time::sleep(Duration::from_secs(30)).await;
    }
    hangs.completed.fetch_add(1, Ordering::SeqCst);
    HttpResponse::Ok().body(format!("call {n}"))
}

/// A server with `/hang` under the middleware; `half_closed` is actix's
/// `h1_allow_half_closed` (`None`: actix's default).
fn serve_hang(
    half_closed: Option<bool>,
) -> (std::net::SocketAddr, Hangs, actix_web::dev::ServerHandle) {
    let hangs = Hangs::default();
    let data = web::Data::new(hangs.clone());
    let store: Arc<dyn IdempotencyStore> = Arc::new(MemoryStore::new());
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let mut server = HttpServer::new(move || {
        App::new().app_data(data.clone()).service(
            web::resource("/hang")
                .wrap(IdempotencyMiddleware::new(
                    Idempotency::new()
                        .scope_header("X-Tenant")
                        .store(Arc::clone(&store)),
                ))
                .route(web::post().to(hang_once)),
        )
    })
    .workers(1)
    .disable_signals();
    if let Some(allow) = half_closed {
        server = server.h1_allow_half_closed(allow);
    }
    let server = server.listen(listener).unwrap().run();
    let handle = server.handle();
    std::thread::spawn(move || actix_web::rt::System::new().block_on(server));
    (addr, hangs, handle)
}

/// Sends `POST /hang` with key `h1` over a raw socket, waits until the handler runs, and
/// closes the socket mid-flight (a client that gives up).
async fn hang_up(addr: std::net::SocketAddr, hangs: &Hangs) {
    use tokio::io::AsyncWriteExt;
    let mut socket = tokio::net::TcpStream::connect(addr).await.unwrap();
    socket
        .write_all(
            b"POST /hang HTTP/1.1\r\nhost: test\r\nx-tenant: acme\r\nidempotency-key: h1\r\n\
              content-type: application/json\r\ncontent-length: 2\r\n\r\n{}",
        )
        .await
        .unwrap();
    for _ in 0..500 {
        if hangs.entered.load(Ordering::SeqCst) == 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(hangs.entered.load(Ordering::SeqCst), 1, "the handler runs");
    drop(socket);
}

/// Retries `POST /hang` with key `h1` while it answers 409, at most `tries` times (20 ms
/// apart); the first other answer.
async fn retry_hang(addr: std::net::SocketAddr, tries: u32) -> Option<reqwest::Response> {
    for _ in 0..tries {
        let response = reqwest::Client::new()
            .post(format!("http://{addr}/hang"))
            .header("X-Tenant", "acme")
            .header("Idempotency-Key", "h1")
            .header("content-type", "application/json")
            .body("{}")
            .send()
            .await
            .unwrap();
        if response.status() != 409 {
            return Some(response);
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    None
}

/// actix drops the request's future when the client closes its socket — with half-closed
/// connections disallowed (`HttpServer::h1_allow_half_closed(false)`); the dropped execution
/// releases its key at once, so the client's retry executes instead of getting 409 until the
/// lease (60 s) expires.
#[tokio::test]
async fn a_client_that_hangs_up_does_not_hold_its_key() {
    let (addr, hangs, handle) = serve_hang(Some(false));
    hang_up(addr, &hangs).await;
    let retried = retry_hang(addr, 50)
        .await
        .expect("the key was released within a second, not after the lease");
    assert_eq!(retried.status(), 200);
    assert!(retried.headers().get("idempotent-replayed").is_none());
    assert_eq!(retried.text().await.unwrap(), "call 2");
    let replay = retry_hang(addr, 1).await.unwrap();
    assert_eq!(replay.headers()["idempotent-replayed"], "true");
    assert_eq!(replay.text().await.unwrap(), "call 2");
    assert_eq!(
        hangs.entered.load(Ordering::SeqCst),
        2,
        "one abandoned start, one execution"
    );
    assert_eq!(
        hangs.completed.load(Ordering::SeqCst),
        1,
        "exactly one completed execution"
    );
    handle.stop(false).await;
}

/// With actix's defaults (half-closed connections allowed, since actix-http 3.11.2) a client
/// that closes its socket is taken for one that only finished sending: actix keeps running
/// the request, so its claim stands until the handler finishes, and the retry gets 409 —
/// why the middleware's documentation asks for `h1_allow_half_closed(false)`.
#[tokio::test]
async fn with_actix_defaults_a_hung_up_request_keeps_running() {
    let (addr, hangs, handle) = serve_hang(None);
    hang_up(addr, &hangs).await;
    assert!(
        retry_hang(addr, 10).await.is_none(),
        "409 while the abandoned request runs"
    );
    assert_eq!(hangs.entered.load(Ordering::SeqCst), 1);
    assert_eq!(
        hangs.completed.load(Ordering::SeqCst),
        0,
        "neither cancelled nor finished"
    );
    handle.stop(false).await;
}
