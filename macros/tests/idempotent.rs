//! `#[idempotent]` on plain async fns: the body runs once per key, later calls get the
//! stored value, concurrent duplicates run once, store failures reach the caller.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::Duration;

use idemgate::idempotency::MemoryStore;
use idemgate::idempotent;
use serde::{Deserialize, Serialize};

static EMAILS: AtomicU32 = AtomicU32::new(0);

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Receipt {
    n: u32,
    to: String,
}

#[idempotent(key = parts("email", order_id), scope = tenant, ttl = "15m")]
async fn send_email(tenant: &str, order_id: u64, to: String) -> Result<Receipt, String> {
    let n = EMAILS.fetch_add(1, Ordering::SeqCst) + 1;
    tokio::time::sleep(Duration::from_millis(20)).await;
    Ok(Receipt { n, to })
}

#[tokio::test]
async fn executes_once_per_key_and_replays_the_stored_value() {
    let first = send_email("acme", 1, "a@acme.test".into()).await.unwrap();
    let again = send_email("acme", 1, "someone-else@acme.test".into())
        .await
        .unwrap();
    assert_eq!(first, again, "the stored result is returned");
    let other_order = send_email("acme", 2, "a@acme.test".into()).await.unwrap();
    assert_ne!(first.n, other_order.n);
    let other_tenant = send_email("globex", 1, "a@globex.test".into())
        .await
        .unwrap();
    assert_ne!(first.n, other_tenant.n, "scopes never share results");
}

static SIGNUPS: AtomicU32 = AtomicU32::new(0);

/// With `format!("{tenant}:{user}")`, tenant `acme` + user `x:y` and tenant `acme:x` + user
/// `y` would share one key: the second signup would get the first one's stored result.
#[idempotent(key = parts(tenant, user))]
async fn signup(tenant: &str, user: &str) -> Result<(u32, String), String> {
    let n = SIGNUPS.fetch_add(1, Ordering::SeqCst) + 1;
    Ok((n, format!("{tenant}/{user}")))
}

#[tokio::test]
async fn parts_keys_cannot_be_forged_through_separators() {
    let a = signup("acme", "x:y").await.unwrap();
    let b = signup("acme:x", "y").await.unwrap();
    assert_eq!(a.1, "acme/x:y");
    assert_eq!(
        b.1, "acme:x/y",
        "its own execution, not acme's stored result"
    );
    assert_eq!(
        signup("acme", "x:y").await.unwrap(),
        a,
        "the same parts replay"
    );
    assert_eq!(SIGNUPS.load(Ordering::SeqCst), 2);
}

#[derive(Debug, PartialEq)]
enum ChargeError {
    Declined,
    Idemgate(String),
}

impl From<idemgate::Error> for ChargeError {
    fn from(e: idemgate::Error) -> Self {
        ChargeError::Idemgate(e.to_string())
    }
}

#[idempotent(key = charge_id)]
async fn charge(
    charges: &'static AtomicU32,
    charge_id: &str,
    decline: bool,
) -> Result<u32, ChargeError> {
    let n = charges.fetch_add(1, Ordering::SeqCst) + 1;
    tokio::time::sleep(Duration::from_millis(50)).await;
    if decline {
        return Err(ChargeError::Declined);
    }
    Ok(n)
}

#[tokio::test]
async fn concurrent_duplicates_execute_once() {
    static CHARGES: AtomicU32 = AtomicU32::new(0);
    let calls = (0..16).map(|_| charge(&CHARGES, "concurrent-1", false));
    let results = futures_join_all(calls).await;
    assert_eq!(CHARGES.load(Ordering::SeqCst), 1, "exactly one execution");
    let ok = results.iter().filter(|r| r.is_ok()).count();
    let in_flight = results
        .iter()
        .filter(|r| matches!(r, Err(ChargeError::Idemgate(m)) if m.contains("in flight")))
        .count();
    assert_eq!(ok, 1);
    assert_eq!(in_flight, 15);
}

#[tokio::test]
async fn errors_are_not_stored() {
    static CHARGES: AtomicU32 = AtomicU32::new(0);
    assert_eq!(
        charge(&CHARGES, "declined-1", true).await,
        Err(ChargeError::Declined)
    );
    assert_eq!(
        charge(&CHARGES, "declined-1", true).await,
        Err(ChargeError::Declined)
    );
    assert_eq!(
        CHARGES.load(Ordering::SeqCst),
        2,
        "a failed execution releases the key"
    );
}

#[tokio::test]
async fn invalid_keys_reach_the_caller() {
    let too_long = "k".repeat(300);
    static CHARGES: AtomicU32 = AtomicU32::new(0);
    assert!(
        matches!(charge(&CHARGES, &too_long, false).await, Err(ChargeError::Idemgate(m)) if m.contains("invalid idempotency key"))
    );
}

#[derive(Serialize, Deserialize)]
struct Event {
    id: String,
}

static EVENTS: AtomicU32 = AtomicU32::new(0);

#[idempotent(natural_key = "event.id", ttl = "1h")]
async fn handle_event(event: &Event) -> Result<u32, String> {
    let _ = &event.id;
    Ok(EVENTS.fetch_add(1, Ordering::SeqCst))
}

#[tokio::test]
async fn natural_keys() {
    let a = handle_event(&Event { id: "evt_1".into() }).await.unwrap();
    let b = handle_event(&Event { id: "evt_1".into() }).await.unwrap();
    let c = handle_event(&Event { id: "evt_2".into() }).await.unwrap();
    assert_eq!(a, b);
    assert_ne!(a, c);
}

static RUNS_WITHOUT_STORE: AtomicU32 = AtomicU32::new(0);

#[idempotent(key = id, store = Arc::new(idemgate::idempotency::UnavailableStore))]
async fn needs_store(id: &str) -> Result<(), String> {
    RUNS_WITHOUT_STORE.fetch_add(1, Ordering::SeqCst);
    Ok(())
}

#[tokio::test]
async fn store_failures_fail_closed() {
    let err = needs_store("k").await.unwrap_err();
    assert!(err.contains("unavailable"), "{err}");
    assert_eq!(RUNS_WITHOUT_STORE.load(Ordering::SeqCst), 0);
}

static OWN_STORE: std::sync::OnceLock<Arc<MemoryStore>> = std::sync::OnceLock::new();

struct Mailer {
    sent: AtomicU32,
}

impl Mailer {
    #[idempotent(key = to, store = OWN_STORE.get_or_init(|| Arc::new(MemoryStore::new())).clone(), fingerprint = body)]
    async fn send(&self, to: &str, body: &str) -> Result<u32, String> {
        Ok(self.sent.fetch_add(1, Ordering::SeqCst) + 1)
    }
}

#[tokio::test]
async fn methods_custom_store_and_fingerprint() {
    let mailer = Mailer {
        sent: AtomicU32::new(0),
    };
    assert_eq!(mailer.send("a@x.test", "hello").await, Ok(1));
    assert_eq!(mailer.send("a@x.test", "hello").await, Ok(1));
    let mismatch = mailer.send("a@x.test", "other body").await.unwrap_err();
    assert!(mismatch.contains("different payload"), "{mismatch}");
    assert_eq!(OWN_STORE.get().map(|s| s.len()), Some(1));
}

/// A tiny join_all (no futures dependency): spawn on the current runtime, collect in order.
async fn futures_join_all<F, T>(futures: impl Iterator<Item = F>) -> Vec<T>
where
    F: std::future::Future<Output = T> + Send + 'static,
    T: Send + 'static,
{
    let handles: Vec<_> = futures.map(tokio::spawn).collect();
    let mut out = Vec::new();
    for handle in handles {
        out.push(handle.await.unwrap());
    }
    out
}

static WAITED: AtomicU32 = AtomicU32::new(0);

#[idempotent(key = id, wait = "2s", lease = "30s")]
async fn waits_for_the_first(id: &str) -> Result<u32, String> {
    tokio::time::sleep(Duration::from_millis(30)).await;
    Ok(WAITED.fetch_add(1, Ordering::SeqCst) + 1)
}

#[tokio::test]
async fn opt_in_wait_gives_duplicates_the_first_result() {
    let results = futures_join_all((0..8).map(|_| waits_for_the_first("wait-1"))).await;
    assert!(results.iter().all(|r| *r == Ok(1)), "{results:?}");
    assert_eq!(WAITED.load(Ordering::SeqCst), 1);
}
