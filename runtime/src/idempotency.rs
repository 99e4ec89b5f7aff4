//! Idempotency: a side effect runs once per key, whatever the retries and duplicates.
//!
//! [`run`] executes an operation under a [`ScopedKey`]: the first caller executes and its `Ok`
//! value is stored (serialized); a duplicate while it runs gets [`Error::InFlight`] (or waits,
//! opt-in, see [`Options::wait`]); a later duplicate gets the stored value back
//! ([`Outcome::Replayed`]); the same key with another payload [`Fingerprint`] gets
//! [`Error::Mismatch`]. An `Err` is not stored: the key is released so the caller may retry.
//! If the store cannot be reached the operation is **not** executed (fail closed).
//!
//! Leases carry a fencing token: an executor whose lease expired and was taken over cannot
//! overwrite the newer executor's result ([`StoreError::Fenced`]).
//!
//! Stores implement the object-safe [`IdempotencyStore`]; [`MemoryStore`] is the embedded
//! default ([`default_store`]).
//!
//! ```
//! use idemgate::idempotency::{self, Fingerprint, Options, Outcome, ScopedKey};
//! # #[derive(Debug)] struct PaymentError;
//! # impl From<idemgate::Error> for PaymentError { fn from(_: idemgate::Error) -> Self { PaymentError } }
//! # async fn charge(_: &str) -> Result<String, PaymentError> { Ok("ch_1".into()) }
//! # async fn demo(tenant: &str, key: &str, body: &[u8]) -> Result<String, PaymentError> {
//! let key = ScopedKey::new(tenant, "payments.charge", key)?;
//! let store = idempotency::default_store();
//! let outcome = idempotency::run(&*store, &key, Fingerprint::of(body), &Options::new(), || charge("order-42")).await?;
//! if let Outcome::Replayed(_) = &outcome { /* HTTP: Idempotent-Replayed: true */ }
//! Ok(outcome.into_inner())
//! # }
//! ```

mod canonical;
mod memory;
#[cfg(feature = "postgres")]
pub mod postgres;
#[cfg(feature = "redis")]
mod redis;

use std::borrow::Cow;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use serde::de::DeserializeOwned;
use serde::Serialize;
use sha2::{Digest, Sha256};

pub use canonical::{canonical_json, canonical_json_fields, is_json_media_type, CanonicalError};
pub use memory::{MemoryStore, MemoryStoreConfig};
#[cfg(feature = "postgres")]
pub use postgres::{transactional, PgTx, PostgresStore, PostgresStoreConfig, PostgresStoreError};
#[cfg(feature = "redis")]
pub use redis::{RedisStore, RedisStoreConfig, RedisStoreError};

/// A store that is always unreachable: every call fails with [`StoreError::Unavailable`].
/// For testing that callers fail closed (the operation must not run, HTTP answers 503).
#[derive(Debug, Clone, Copy, Default)]
pub struct UnavailableStore;

impl UnavailableStore {
    fn down<'a, T: Send + 'a>() -> BoxFuture<'a, Result<T, StoreError>> {
        Box::pin(async { Err(StoreError::Unavailable("store unavailable".into())) })
    }
}

impl IdempotencyStore for UnavailableStore {
    fn begin<'a>(
        &'a self,
        _: &'a ScopedKey,
        _: Fingerprint,
        _: Duration,
    ) -> BoxFuture<'a, Result<Begin, StoreError>> {
        Self::down()
    }

    fn complete<'a>(
        &'a self,
        _: &'a ScopedKey,
        _: &'a Lease,
        _: Vec<u8>,
        _: Duration,
    ) -> BoxFuture<'a, Result<(), StoreError>> {
        Self::down()
    }

    fn release<'a>(
        &'a self,
        _: &'a ScopedKey,
        _: &'a Lease,
    ) -> BoxFuture<'a, Result<(), StoreError>> {
        Self::down()
    }
}

use crate::{Error, InvalidKey, StoreError};

/// A boxed `Send` future, as the store trait returns (keeps the trait object-safe).
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Longest accepted client key, in bytes.
pub const MAX_KEY_LEN: usize = 255;

/// An idempotency key scoped by tenant/principal and operation, so one caller can never
/// receive another caller's stored result, nor one operation another's.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ScopedKey {
    full: String,
    scope: std::ops::Range<usize>,
    operation: std::ops::Range<usize>,
    key_start: usize,
}

impl ScopedKey {
    /// Validates `key` (1–255 bytes of printable ASCII, space included) and scopes it.
    ///
    /// The stored form is `{len(scope)}:{scope}{len(operation)}:{operation}{key}`, so no choice
    /// of scope or operation can collide with another.
    pub fn new(scope: &str, operation: &str, key: &str) -> Result<Self, Error> {
        validate_key(key)?;
        let mut full = String::with_capacity(scope.len() + operation.len() + key.len() + 12);
        full.push_str(&scope.len().to_string());
        full.push(':');
        let s0 = full.len();
        full.push_str(scope);
        let s1 = full.len();
        full.push_str(&operation.len().to_string());
        full.push(':');
        let o0 = full.len();
        full.push_str(operation);
        let o1 = full.len();
        full.push_str(key);
        Ok(Self {
            full,
            scope: s0..s1,
            operation: o0..o1,
            key_start: o1,
        })
    }

    /// The scoped form, usable as a store key.
    pub fn as_str(&self) -> &str {
        &self.full
    }

    /// The tenant/principal scope.
    pub fn scope(&self) -> &str {
        self.full.get(self.scope.clone()).unwrap_or("")
    }

    /// The operation.
    pub fn operation(&self) -> &str {
        self.full.get(self.operation.clone()).unwrap_or("")
    }

    /// The client's key.
    pub fn key(&self) -> &str {
        self.full.get(self.key_start..).unwrap_or("")
    }
}

impl std::fmt::Display for ScopedKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.full)
    }
}

/// Checks a client-supplied key: 1–255 bytes, printable ASCII (0x20–0x7E).
pub fn validate_key(key: &str) -> Result<(), InvalidKey> {
    if key.is_empty() {
        return Err(InvalidKey::Empty);
    }
    if key.len() > MAX_KEY_LEN {
        return Err(InvalidKey::TooLong { len: key.len() });
    }
    if let Some(offset) = key.bytes().position(|b| !(0x20..=0x7e).contains(&b)) {
        return Err(InvalidKey::NotPrintable { offset });
    }
    Ok(())
}

/// A stable fingerprint of a request payload (SHA-256): equal across processes and versions.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Fingerprint([u8; 32]);

impl Fingerprint {
    /// The fingerprint of `bytes`.
    pub fn of(bytes: &[u8]) -> Self {
        Self(Sha256::digest(bytes).into())
    }

    /// The fingerprint of several parts (method, path, body…); each part is length-prefixed,
    /// so `["ab", "c"]` and `["a", "bc"]` differ.
    pub fn of_parts(parts: &[&[u8]]) -> Self {
        let mut h = Sha256::new();
        for p in parts {
            h.update((p.len() as u64).to_le_bytes());
            h.update(p);
        }
        Self(h.finalize().into())
    }

    /// The fingerprint of a JSON document by its [canonical form](canonical_json), so the
    /// same document re-serialised (key order, whitespace, escapes) has the same fingerprint;
    /// bytes that are not JSON (or have a duplicate key) are fingerprinted as they are.
    pub fn of_json(bytes: &[u8]) -> Self {
        let (mode, body) = BodyFingerprint::Canonical.input(Some("application/json"), bytes);
        Self::of_parts(&[mode.as_bytes(), &body])
    }

    /// From raw bytes (stores reading a fingerprint back).
    pub const fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    /// The raw bytes.
    pub const fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// Lowercase hex.
    pub fn to_hex(&self) -> String {
        use std::fmt::Write;
        self.0.iter().fold(String::with_capacity(64), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
    }
}

impl std::fmt::Debug for Fingerprint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Fingerprint({})", self.to_hex())
    }
}

/// How a request body enters its payload fingerprint (HTTP: [`crate::http::Idempotency`]).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum BodyFingerprint {
    /// `application/json` (and `application/*+json`) bodies by their
    /// [canonical form](canonical_json); other bodies, invalid JSON and JSON with a duplicate
    /// key by their raw bytes. The default.
    #[default]
    Canonical,
    /// Only these top-level fields of a JSON object body, canonically (a missing field counts
    /// as absent, not as `null`): a retry that changes another field (a client timestamp, a
    /// trace id) is the same request. Bodies that are not a JSON object fall back to
    /// [`Canonical`](Self::Canonical).
    Fields(Arc<[Cow<'static, str>]>),
    /// The raw bytes, always.
    Raw,
}

impl BodyFingerprint {
    /// Only the named top-level JSON fields.
    pub fn fields<I, S>(names: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<Cow<'static, str>>,
    {
        BodyFingerprint::Fields(names.into_iter().map(Into::into).collect())
    }

    /// What is hashed for `body`: a tag naming the form used (so a canonical form never
    /// equals raw bytes of another request) and the bytes in that form.
    pub fn input<'a>(
        &self,
        content_type: Option<&str>,
        body: &'a [u8],
    ) -> (&'static str, Cow<'a, [u8]>) {
        let json = content_type.is_some_and(is_json_media_type);
        match self {
            BodyFingerprint::Raw => ("raw", Cow::Borrowed(body)),
            _ if !json => ("raw", Cow::Borrowed(body)),
            BodyFingerprint::Fields(names) => match canonical_json_fields(body, names) {
                Ok(Some(picked)) => ("json-fields", Cow::Owned(picked.into_bytes())),
                Ok(None) => BodyFingerprint::Canonical.input(content_type, body),
                Err(_) => ("raw", Cow::Borrowed(body)),
            },
            BodyFingerprint::Canonical => match canonical_json(body) {
                Ok(canonical) => ("json", Cow::Owned(canonical.into_bytes())),
                Err(_) => ("raw", Cow::Borrowed(body)),
            },
        }
    }
}

/// The right to execute under a key, until the lease expires. Its fencing token grows with
/// every takeover, so a store can refuse writes from an older executor.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Lease {
    token: u64,
}

impl Lease {
    /// A lease with a fencing token (for store implementations).
    pub const fn new(token: u64) -> Self {
        Self { token }
    }

    /// The fencing token.
    pub const fn token(&self) -> u64 {
        self.token
    }
}

/// The answer to [`IdempotencyStore::begin`].
#[derive(Debug, PartialEq, Eq)]
pub enum Begin {
    /// First with this key (or the previous executor's lease expired): execute, then
    /// `complete` or `release` with this lease.
    Proceed(Lease),
    /// Done before: here is the stored result.
    Replay(Vec<u8>),
    /// Another executor holds a live lease on this key.
    InFlight,
    /// The key is known with another fingerprint.
    Mismatch,
}

/// Where idempotency records live. Object-safe: services pick a store at run time
/// (`Arc<dyn IdempotencyStore>`).
pub trait IdempotencyStore: Send + Sync + 'static {
    /// Claims `key` for `lease`, or reports what is known about it.
    fn begin<'a>(
        &'a self,
        key: &'a ScopedKey,
        fp: Fingerprint,
        lease: Duration,
    ) -> BoxFuture<'a, Result<Begin, StoreError>>;

    /// Stores the result and keeps it for `retention`. A stale lease gets
    /// [`StoreError::Fenced`] and changes nothing.
    fn complete<'a>(
        &'a self,
        key: &'a ScopedKey,
        lease: &'a Lease,
        stored: Vec<u8>,
        retention: Duration,
    ) -> BoxFuture<'a, Result<(), StoreError>>;

    /// Gives the key up without a result (the operation failed), so a retry can execute.
    /// A stale lease gets [`StoreError::Fenced`].
    fn release<'a>(
        &'a self,
        key: &'a ScopedKey,
        lease: &'a Lease,
    ) -> BoxFuture<'a, Result<(), StoreError>>;

    /// A release that owns what it needs, for a claim abandoned by a dropped [`run`] future
    /// (a client disconnect) whose [`release`](IdempotencyStore::release) did not finish on
    /// its first poll: the runtime spawns it on the current tokio runtime. `None` (the
    /// default) leaves the key to the lease's expiry. A networked store overrides it (a clone
    /// of its connection handle); the fencing token still guards it.
    fn release_detached(
        &self,
        key: ScopedKey,
        lease: Lease,
    ) -> Option<BoxFuture<'static, Result<(), StoreError>>> {
        let _ = (key, lease);
        None
    }

    /// Whether the next [`complete`](IdempotencyStore::complete) commits the operation's own
    /// effects together with the record (a `PostgresStore` inside
    /// `postgres::transaction_scope`), so that its failure means the effects are gone too:
    /// [`run`] then answers the failure (HTTP: 503) instead of the result. `false` (the
    /// default): a failed completion is logged and the result still returned.
    fn completion_commits_effects(&self) -> bool {
        false
    }
}

/// Releases a claim whose [`run`] future was dropped while the operation ran: the client
/// gave up, so its retry must not wait for the lease to expire. Fencing-checked by the store
/// (a takeover since then makes it a no-op).
struct Claim<'a> {
    store: &'a dyn IdempotencyStore,
    key: &'a ScopedKey,
    lease: Option<Lease>,
}

impl Claim<'_> {
    /// The operation finished: the caller completes or releases the lease itself.
    fn disarm(&mut self) -> Option<Lease> {
        self.lease.take()
    }
}

impl Drop for Claim<'_> {
    fn drop(&mut self) {
        let Some(lease) = self.lease.take() else {
            return;
        };
        let operation = self.key.operation().to_owned();
        ::metrics::counter!(crate::metrics::IDEMPOTENCY_ABANDONED, "operation" => operation.clone()).increment(1);
        // Most stores answer at once (the memory store always does): one poll, no task.
        let mut release = self.store.release(self.key, &lease);
        let waker = std::task::Waker::from(Arc::new(NoopWake));
        let mut cx = std::task::Context::from_waker(&waker);
        match release.as_mut().poll(&mut cx) {
            std::task::Poll::Ready(Ok(())) => {
                tracing::debug!(target: "idemgate", key = %self.key, "abandoned execution released its key");
            }
            std::task::Poll::Ready(Err(StoreError::Fenced)) => {}
            std::task::Poll::Ready(Err(e)) => store_error(&operation, "release", &e),
            std::task::Poll::Pending => {
                drop(release);
                let detached = self.store.release_detached(self.key.clone(), lease);
                match (detached, tokio::runtime::Handle::try_current()) {
                    (Some(release), Ok(runtime)) => {
                        runtime.spawn(async move {
                            if let Err(e) = release.await {
                                if !matches!(e, StoreError::Fenced) {
                                    store_error(&operation, "release", &e);
                                }
                            }
                        });
                    }
                    _ => {
                        tracing::debug!(target: "idemgate", key = %self.key, "abandoned execution keeps its key until the lease expires");
                    }
                }
            }
        }
    }
}

struct NoopWake;

impl std::task::Wake for NoopWake {
    fn wake(self: Arc<Self>) {}
}

static DEFAULT_STORE: OnceLock<Arc<dyn IdempotencyStore>> = OnceLock::new();

/// The process-wide store (a [`MemoryStore`] with default limits unless
/// [`set_default_store`] ran first).
pub fn default_store() -> Arc<dyn IdempotencyStore> {
    DEFAULT_STORE
        .get_or_init(|| Arc::new(MemoryStore::new()))
        .clone()
}

/// Replaces the process-wide store; call once at start-up. Fails (handing the store back) if
/// the default store was already set or used.
pub fn set_default_store(
    store: Arc<dyn IdempotencyStore>,
) -> Result<(), Arc<dyn IdempotencyStore>> {
    DEFAULT_STORE.set(store)
}

/// How [`run`] treats a key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Options {
    /// How long a completed result is kept and replayed (24 h).
    pub retention: Duration,
    /// How long an execution holds the key before another may take it over (60 s).
    pub lease: Duration,
    /// Opt-in: let an in-flight duplicate wait up to this long for the first result instead
    /// of failing with [`Error::InFlight`].
    pub wait: Option<Duration>,
}

impl Options {
    /// The defaults: retention 24 h, lease 60 s, no waiting.
    pub const fn new() -> Self {
        Self {
            retention: Duration::from_millis(idemgate_grammar::defaults::TTL_MS),
            lease: Duration::from_millis(idemgate_grammar::defaults::LEASE_MS),
            wait: None,
        }
    }
}

impl Default for Options {
    fn default() -> Self {
        Self::new()
    }
}

/// What [`run`] did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome<T> {
    /// The operation ran now.
    Executed(T),
    /// A previous execution's stored result.
    Replayed(T),
}

impl<T> Outcome<T> {
    /// The value, however obtained.
    pub fn into_inner(self) -> T {
        match self {
            Outcome::Executed(t) | Outcome::Replayed(t) => t,
        }
    }

    /// Whether it was replayed (HTTP: `Idempotent-Replayed: true`).
    pub const fn is_replayed(&self) -> bool {
        matches!(self, Outcome::Replayed(_))
    }
}

/// Runs `op` at most once per `key` (see the [module docs](self)).
///
/// If the future is dropped while `op` runs (a client disconnect), the claim is released at
/// once — fencing-checked, so it never undoes a newer executor's claim — and the client's
/// retry executes without waiting for the lease to expire (see
/// [`IdempotencyStore::release_detached`] for stores that cannot release synchronously).
pub async fn run<T, E, F, Fut>(
    store: &dyn IdempotencyStore,
    key: &ScopedKey,
    fp: Fingerprint,
    opts: &Options,
    op: F,
) -> Result<Outcome<T>, E>
where
    T: Serialize + DeserializeOwned,
    E: From<Error>,
    F: FnOnce() -> Fut,
    Fut: Future<Output = Result<T, E>>,
{
    let operation = key.operation().to_owned();
    let lease = match begin(store, key, fp, opts, &operation).await? {
        Claimed::Lease(lease) => lease,
        Claimed::Replay(bytes) => {
            let value = serde_json::from_slice(&bytes).map_err(Error::Serialization)?;
            tracing::debug!(target: "idemgate", key = %key, "idempotent replay");
            ::metrics::counter!(crate::metrics::IDEMPOTENCY_REPLAYS, "operation" => operation)
                .increment(1);
            return Ok(Outcome::Replayed(value));
        }
    };
    ::metrics::counter!(crate::metrics::IDEMPOTENCY_EXECUTIONS, "operation" => operation.clone())
        .increment(1);
    let mut claim = Claim {
        store,
        key,
        lease: Some(lease),
    };
    let result = op().await;
    // From here on the operation has finished: never released by a drop (its side effect
    // happened, or its failure is released below).
    let lease = claim.disarm().unwrap_or(lease);
    match result {
        Ok(value) => {
            match serde_json::to_vec(&value) {
                Ok(bytes) => {
                    let commits = store.completion_commits_effects();
                    if let Err(e) = store.complete(key, &lease, bytes, opts.retention).await {
                        store_error(&operation, "complete", &e);
                        if commits {
                            // The effects were rolled back with the record: say so.
                            return Err(Error::Store(e).into());
                        }
                        // The side effect happened: report it as executed, loudly.
                    }
                }
                Err(e) => {
                    // Keep the lease: releasing would let a retry repeat the side effect.
                    tracing::error!(target: "idemgate", key = %key, error = %e, "result could not be serialized; not stored");
                }
            }
            Ok(Outcome::Executed(value))
        }
        Err(e) => {
            if let Err(err) = store.release(key, &lease).await {
                store_error(&operation, "release", &err);
            }
            Err(e)
        }
    }
}

enum Claimed {
    Lease(Lease),
    Replay(Vec<u8>),
}

async fn begin(
    store: &dyn IdempotencyStore,
    key: &ScopedKey,
    fp: Fingerprint,
    opts: &Options,
    operation: &str,
) -> Result<Claimed, Error> {
    let started = tokio::time::Instant::now();
    let mut pause = Duration::from_millis(5);
    loop {
        match store.begin(key, fp, opts.lease).await {
            Ok(Begin::Proceed(lease)) => return Ok(Claimed::Lease(lease)),
            Ok(Begin::Replay(bytes)) => return Ok(Claimed::Replay(bytes)),
            Ok(Begin::Mismatch) => {
                tracing::debug!(target: "idemgate", key = %key, "idempotency key reused with another payload");
                ::metrics::counter!(crate::metrics::IDEMPOTENCY_MISMATCHES, "operation" => operation.to_owned()).increment(1);
                return Err(Error::Mismatch);
            }
            Ok(Begin::InFlight) => {
                let waited = started.elapsed();
                match opts.wait {
                    Some(limit) if waited < limit => {
                        tokio::time::sleep(pause.min(limit - waited)).await;
                        pause = (pause * 2).min(Duration::from_millis(100));
                    }
                    _ => {
                        tracing::debug!(target: "idemgate", key = %key, "idempotency key in flight");
                        ::metrics::counter!(crate::metrics::IDEMPOTENCY_CONFLICTS, "operation" => operation.to_owned()).increment(1);
                        return Err(Error::InFlight);
                    }
                }
            }
            Err(e) => {
                store_error(operation, "begin", &e);
                return Err(Error::Store(e));
            }
        }
    }
}

fn store_error(operation: &str, phase: &'static str, e: &StoreError) {
    ::metrics::counter!(crate::metrics::IDEMPOTENCY_STORE_ERRORS, "operation" => operation.to_owned(), "phase" => phase).increment(1);
    tracing::error!(target: "idemgate", operation, phase, error = %e, "idempotency store failed");
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use std::sync::atomic::{AtomicU32, Ordering};

    use super::*;
    use crate::test_util::TestErr;

    fn key(k: &str) -> ScopedKey {
        ScopedKey::new("tenant-1", "charge", k).unwrap()
    }

    /// An operation that starts (counted) and then waits for `gate` before succeeding.
    async fn gated(started: &AtomicU32, gate: &tokio::sync::Notify) -> Result<u32, TestErr> {
        let n = started.fetch_add(1, Ordering::SeqCst) + 1;
        gate.notified().await;
        Ok(n)
    }

    /// Polls `fut` until it is pending (the operation is mid-flight), then drops it.
    async fn drop_mid_flight<F: Future>(fut: F) {
        let mut fut = std::pin::pin!(fut);
        for _ in 0..10 {
            let pending =
                std::future::poll_fn(|cx| Poll::Ready(fut.as_mut().poll(cx).is_pending())).await;
            assert!(pending, "the operation must still be running");
            tokio::task::yield_now().await;
        }
    }

    use std::task::Poll;

    #[tokio::test(start_paused = true)]
    async fn a_dropped_run_releases_its_claim_at_once() {
        let store = MemoryStore::new();
        let opts = Options::new(); // a 60 s lease: the retry must not wait for it
        let started = AtomicU32::new(0);
        let gate = tokio::sync::Notify::new();
        let k = key("dropped");
        let fp = Fingerprint::of(b"body");
        drop_mid_flight(run::<u32, TestErr, _, _>(&store, &k, fp, &opts, || {
            gated(&started, &gate)
        }))
        .await;
        assert_eq!(started.load(Ordering::SeqCst), 1);
        // The client retries at once: it executes (not 409), and only this execution completes.
        let t0 = tokio::time::Instant::now();
        let retry = run::<u32, TestErr, _, _>(&store, &k, fp, &opts, || async {
            started.fetch_add(1, Ordering::SeqCst);
            Ok(7)
        })
        .await;
        assert_eq!(retry, Ok(Outcome::Executed(7)));
        assert_eq!(t0.elapsed(), Duration::ZERO, "no wait for the lease");
        let again = run::<u32, TestErr, _, _>(&store, &k, fp, &opts, || async {
            started.fetch_add(1, Ordering::SeqCst);
            Ok(8)
        })
        .await;
        assert_eq!(again, Ok(Outcome::Replayed(7)));
        assert_eq!(
            started.load(Ordering::SeqCst),
            2,
            "one abandoned start, one execution"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_stale_dropped_run_does_not_release_the_newer_claim() {
        let store = MemoryStore::new();
        let opts = Options {
            lease: Duration::from_secs(1),
            ..Options::new()
        };
        let started = AtomicU32::new(0);
        let gate = tokio::sync::Notify::new();
        let k = key("fenced");
        let fp = Fingerprint::of(b"body");
        let mut first = Box::pin(run::<u32, TestErr, _, _>(&store, &k, fp, &opts, || {
            gated(&started, &gate)
        }));
        assert!(std::future::poll_fn(|cx| Poll::Ready(first.as_mut().poll(cx).is_pending())).await);
        // The first executor's lease expires; a second one takes the key over.
        tokio::time::advance(Duration::from_secs(2)).await;
        let mut second = Box::pin(run::<u32, TestErr, _, _>(&store, &k, fp, &opts, || {
            gated(&started, &gate)
        }));
        assert!(
            std::future::poll_fn(|cx| Poll::Ready(second.as_mut().poll(cx).is_pending())).await
        );
        assert_eq!(started.load(Ordering::SeqCst), 2);
        // The stale executor goes away: its release is fenced, the newer claim stands.
        drop(first);
        let third = run::<u32, TestErr, _, _>(&store, &k, fp, &opts, || async { Ok(0) }).await;
        assert_eq!(third, Err(TestErr::Gate(Error::InFlight.to_string())));
        drop(second);
    }

    /// A store whose release completes only on a later poll, and which can release detached.
    struct SlowRelease(Arc<MemoryStore>);

    impl IdempotencyStore for SlowRelease {
        fn begin<'a>(
            &'a self,
            key: &'a ScopedKey,
            fp: Fingerprint,
            lease: Duration,
        ) -> BoxFuture<'a, Result<Begin, StoreError>> {
            self.0.begin(key, fp, lease)
        }
        fn complete<'a>(
            &'a self,
            key: &'a ScopedKey,
            lease: &'a Lease,
            stored: Vec<u8>,
            retention: Duration,
        ) -> BoxFuture<'a, Result<(), StoreError>> {
            self.0.complete(key, lease, stored, retention)
        }
        fn release<'a>(
            &'a self,
            key: &'a ScopedKey,
            lease: &'a Lease,
        ) -> BoxFuture<'a, Result<(), StoreError>> {
            Box::pin(async move {
                tokio::task::yield_now().await;
                self.0.release(key, lease).await
            })
        }
        fn release_detached(
            &self,
            key: ScopedKey,
            lease: Lease,
        ) -> Option<BoxFuture<'static, Result<(), StoreError>>> {
            let store = Arc::clone(&self.0);
            Some(Box::pin(async move {
                tokio::task::yield_now().await;
                store.release(&key, &lease).await
            }))
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_store_that_releases_later_releases_detached() {
        let store = SlowRelease(Arc::new(MemoryStore::new()));
        let opts = Options::new();
        let started = AtomicU32::new(0);
        let gate = tokio::sync::Notify::new();
        let k = key("detached");
        let fp = Fingerprint::of(b"body");
        drop_mid_flight(run::<u32, TestErr, _, _>(&store, &k, fp, &opts, || {
            gated(&started, &gate)
        }))
        .await;
        // The spawned release runs as soon as this task yields.
        for _ in 0..3 {
            tokio::task::yield_now().await;
        }
        let retry = run::<u32, TestErr, _, _>(&store, &k, fp, &opts, || async { Ok(5) }).await;
        assert_eq!(retry, Ok(Outcome::Executed(5)));
    }

    #[test]
    fn keys_are_validated_and_scoped() {
        assert!(matches!(
            ScopedKey::new("t", "op", ""),
            Err(Error::InvalidKey(InvalidKey::Empty))
        ));
        assert!(matches!(
            ScopedKey::new("t", "op", &"a".repeat(256)),
            Err(Error::InvalidKey(InvalidKey::TooLong { len: 256 }))
        ));
        assert!(ScopedKey::new("t", "op", &"a".repeat(255)).is_ok());
        assert!(matches!(
            ScopedKey::new("t", "op", "ab\ncd"),
            Err(Error::InvalidKey(InvalidKey::NotPrintable { offset: 2 }))
        ));
        assert!(matches!(
            ScopedKey::new("t", "op", "clé"),
            Err(Error::InvalidKey(InvalidKey::NotPrintable { offset: 2 }))
        ));
        let k = ScopedKey::new("acme:eu", "charge", "order 42").unwrap();
        assert_eq!(
            (k.scope(), k.operation(), k.key()),
            ("acme:eu", "charge", "order 42")
        );
        // scopes cannot be forged through separators
        let a = ScopedKey::new("a", "1:b", "k").unwrap();
        let b = ScopedKey::new("a1:b", "", "k").unwrap();
        assert_ne!(a.as_str(), b.as_str());
        assert_ne!(
            key("k").as_str(),
            ScopedKey::new("tenant-2", "charge", "k").unwrap().as_str()
        );
    }

    #[test]
    fn fingerprints_are_stable() {
        assert_eq!(
            Fingerprint::of(b"abc").to_hex(),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_ne!(
            Fingerprint::of_parts(&[b"ab", b"c"]),
            Fingerprint::of_parts(&[b"a", b"bc"])
        );
        assert_eq!(
            Fingerprint::from_bytes(*Fingerprint::of(b"x").as_bytes()),
            Fingerprint::of(b"x")
        );
    }

    #[test]
    fn json_bodies_are_fingerprinted_canonically() {
        let fp = |mode: &BodyFingerprint, ct: Option<&str>, body: &str| {
            let (tag, bytes) = mode.input(ct, body.as_bytes());
            Fingerprint::of_parts(&[tag.as_bytes(), &bytes])
        };
        let json = Some("application/json; charset=utf-8");
        let canonical = BodyFingerprint::default();
        assert_eq!(
            fp(&canonical, json, r#"{"sku":"a","qty":1}"#),
            fp(&canonical, json, r#"{ "qty": 1, "sku": "a" }"#)
        );
        assert_ne!(
            fp(&canonical, json, r#"{"sku":"a","qty":1}"#),
            fp(&canonical, json, r#"{"sku":"a","qty":2}"#)
        );
        // not JSON by its content type: raw bytes
        assert_ne!(
            fp(&canonical, Some("text/plain"), r#"{"sku":"a","qty":1}"#),
            fp(&canonical, Some("text/plain"), r#"{"qty":1,"sku":"a"}"#)
        );
        // a raw body that happens to equal another body's canonical form is another request
        assert_ne!(
            fp(&canonical, None, r#"{"qty":1,"sku":"a"}"#),
            fp(&canonical, json, r#"{"sku":"a","qty":1}"#)
        );
        // duplicate keys: raw bytes, so only the identical retry matches
        assert_ne!(
            fp(&canonical, json, r#"{"a":1,"a":2}"#),
            fp(&canonical, json, r#"{"a":2,"a":1}"#)
        );
        let fields = BodyFingerprint::fields(["amount", "currency"]);
        assert_eq!(
            fp(
                &fields,
                json,
                r#"{"amount":5,"currency":"EUR","sent_at":"1"}"#
            ),
            fp(
                &fields,
                json,
                r#"{"sent_at":"2","currency":"EUR","amount":5}"#
            )
        );
        assert_ne!(
            fp(&fields, json, r#"{"amount":5,"currency":"EUR"}"#),
            fp(&fields, json, r#"{"amount":5,"currency":"USD"}"#)
        );
        assert_eq!(
            fp(&fields, json, "[1, 2]"),
            fp(&canonical, json, "[1,2]"),
            "not an object: the whole body"
        );
        assert_eq!(
            Fingerprint::of_json(br#"{"b":1,"a":2}"#),
            Fingerprint::of_json(br#"{"a":2,"b":1}"#)
        );
        assert_ne!(
            fp(&BodyFingerprint::Raw, json, r#"{"b":1,"a":2}"#),
            fp(&BodyFingerprint::Raw, json, r#"{"a":2,"b":1}"#)
        );
    }

    async fn charge(
        store: &dyn IdempotencyStore,
        k: &ScopedKey,
        body: &[u8],
        runs: &AtomicU32,
    ) -> Result<Outcome<String>, TestErr> {
        run(store, k, Fingerprint::of(body), &Options::new(), || async {
            let n = runs.fetch_add(1, Ordering::SeqCst) + 1;
            Ok(format!("receipt-{n}"))
        })
        .await
    }

    #[tokio::test(start_paused = true)]
    async fn first_executes_later_duplicates_replay() {
        let store = MemoryStore::new();
        let runs = AtomicU32::new(0);
        let k = key("k1");
        assert_eq!(
            charge(&store, &k, b"{}", &runs).await,
            Ok(Outcome::Executed("receipt-1".into()))
        );
        assert_eq!(
            charge(&store, &k, b"{}", &runs).await,
            Ok(Outcome::Replayed("receipt-1".into()))
        );
        assert_eq!(runs.load(Ordering::SeqCst), 1);
        assert_eq!(
            charge(&store, &k, b"{\"other\":1}", &runs).await,
            Err(TestErr::Gate(Error::Mismatch.to_string()))
        );
        // another tenant with the same client key is another key
        let other = ScopedKey::new("tenant-2", "charge", "k1").unwrap();
        assert_eq!(
            charge(&store, &other, b"{}", &runs).await,
            Ok(Outcome::Executed("receipt-2".into()))
        );
    }

    #[tokio::test(start_paused = true)]
    async fn errors_are_not_stored_and_release_the_key() {
        let store = MemoryStore::new();
        let k = key("k2");
        let r: Result<Outcome<u32>, TestErr> = run(
            &store,
            &k,
            Fingerprint::of(b""),
            &Options::new(),
            || async { Err(TestErr::Transient) },
        )
        .await;
        assert_eq!(r, Err(TestErr::Transient));
        let r: Result<Outcome<u32>, TestErr> = run(
            &store,
            &k,
            Fingerprint::of(b""),
            &Options::new(),
            || async { Ok(7) },
        )
        .await;
        assert_eq!(r, Ok(Outcome::Executed(7)));
    }

    #[tokio::test(start_paused = true)]
    async fn in_flight_duplicates_conflict_or_wait() {
        let store = MemoryStore::new();
        let k = key("k3");
        let fp = Fingerprint::of(b"");
        let lease = match store.begin(&k, fp, Duration::from_secs(60)).await.unwrap() {
            Begin::Proceed(l) => l,
            other => panic!("{other:?}"),
        };
        let r: Result<Outcome<u32>, TestErr> =
            run(&store, &k, fp, &Options::new(), || async { Ok(1) }).await;
        assert_eq!(r, Err(TestErr::Gate(Error::InFlight.to_string())));
        let waiting = Options {
            wait: Some(Duration::from_secs(2)),
            ..Options::new()
        };
        let (r, ()) = tokio::join!(
            run::<u32, TestErr, _, _>(&store, &k, fp, &waiting, || async { Ok(1) }),
            async {
                tokio::time::sleep(Duration::from_millis(300)).await;
                store
                    .complete(&k, &lease, b"42".to_vec(), Duration::from_secs(60))
                    .await
                    .unwrap();
            }
        );
        assert_eq!(r, Ok(Outcome::Replayed(42)));
        // waiting gives up after its limit
        let k = key("k3b");
        let _lease = store.begin(&k, fp, Duration::from_secs(60)).await.unwrap();
        let start = tokio::time::Instant::now();
        let r = run::<u32, TestErr, _, _>(&store, &k, fp, &waiting, || async { Ok(1) }).await;
        assert_eq!(r, Err(TestErr::Gate(Error::InFlight.to_string())));
        assert!(
            start.elapsed() >= Duration::from_secs(2)
                && start.elapsed() < Duration::from_millis(2200)
        );
    }

    #[tokio::test]
    async fn an_unreachable_store_fails_closed() {
        let runs = AtomicU32::new(0);
        let r = charge(&UnavailableStore, &key("k4"), b"", &runs).await;
        assert!(
            matches!(r, Err(TestErr::Gate(ref m)) if m.contains("unavailable")),
            "{r:?}"
        );
        assert_eq!(
            runs.load(Ordering::SeqCst),
            0,
            "the side effect must not run"
        );
        let e: Error = StoreError::Unavailable("x".into()).into();
        assert!(crate::Retryable::retryability(&e).is_retryable());
    }

    #[tokio::test(start_paused = true)]
    async fn expired_leases_are_taken_over_and_stale_executors_fenced() {
        let store = MemoryStore::new();
        let k = key("k5");
        let fp = Fingerprint::of(b"");
        let Begin::Proceed(old) = store.begin(&k, fp, Duration::from_secs(60)).await.unwrap()
        else {
            panic!()
        };
        assert_eq!(
            store.begin(&k, fp, Duration::from_secs(60)).await.unwrap(),
            Begin::InFlight
        );
        tokio::time::advance(Duration::from_secs(61)).await;
        let Begin::Proceed(new) = store.begin(&k, fp, Duration::from_secs(60)).await.unwrap()
        else {
            panic!()
        };
        assert!(new.token() > old.token());
        assert!(matches!(
            store
                .complete(&k, &old, b"1".to_vec(), Duration::from_secs(60))
                .await,
            Err(StoreError::Fenced)
        ));
        assert!(matches!(
            store.release(&k, &old).await,
            Err(StoreError::Fenced)
        ));
        store
            .complete(&k, &new, b"2".to_vec(), Duration::from_secs(60))
            .await
            .unwrap();
        assert_eq!(
            store.begin(&k, fp, Duration::from_secs(60)).await.unwrap(),
            Begin::Replay(b"2".to_vec())
        );
        assert!(matches!(
            store
                .complete(&k, &old, b"1".to_vec(), Duration::from_secs(60))
                .await,
            Err(StoreError::Fenced)
        ));
    }

    #[tokio::test(start_paused = true)]
    async fn results_expire_after_retention() {
        let store = MemoryStore::new();
        let runs = AtomicU32::new(0);
        let k = key("k6");
        let opts = Options {
            retention: Duration::from_secs(10),
            ..Options::new()
        };
        let go = || {
            run::<String, TestErr, _, _>(&store, &k, Fingerprint::of(b""), &opts, || async {
                Ok(runs.fetch_add(1, Ordering::SeqCst).to_string())
            })
        };
        assert!(!go().await.unwrap().is_replayed());
        tokio::time::advance(Duration::from_secs(9)).await;
        assert!(go().await.unwrap().is_replayed());
        tokio::time::advance(Duration::from_secs(2)).await;
        assert_eq!(go().await.unwrap(), Outcome::Executed("1".into()));
    }

    #[tokio::test(start_paused = true)]
    async fn eviction_never_drops_in_flight_entries() {
        let store = MemoryStore::with_config(MemoryStoreConfig {
            capacity: 3,
            shards: 1,
        });
        let fp = Fingerprint::of(b"");
        let lease = Duration::from_secs(60);
        let Begin::Proceed(a) = store.begin(&key("a"), fp, lease).await.unwrap() else {
            panic!()
        };
        let Begin::Proceed(b) = store.begin(&key("b"), fp, lease).await.unwrap() else {
            panic!()
        };
        store
            .complete(&key("b"), &b, b"1".to_vec(), Duration::from_secs(100))
            .await
            .unwrap();
        let Begin::Proceed(_) = store.begin(&key("c"), fp, lease).await.unwrap() else {
            panic!()
        };
        // full: the completed "b" goes, not the in-flight "a" or "c"
        let Begin::Proceed(_) = store.begin(&key("d"), fp, lease).await.unwrap() else {
            panic!()
        };
        assert_eq!(store.len(), 3);
        assert_eq!(
            store.begin(&key("a"), fp, lease).await.unwrap(),
            Begin::InFlight
        );
        assert!(
            matches!(
                store.begin(&key("b"), fp, lease).await,
                Err(StoreError::Full)
            ),
            "only in-flight entries left"
        );
        store
            .complete(&key("a"), &a, b"0".to_vec(), Duration::from_secs(100))
            .await
            .unwrap();
        assert_eq!(
            store.begin(&key("a"), fp, lease).await.unwrap(),
            Begin::Replay(b"0".to_vec())
        );
        // leases that ran out do not hold space
        tokio::time::advance(Duration::from_secs(61)).await;
        assert!(matches!(
            store.begin(&key("e"), fp, lease).await,
            Ok(Begin::Proceed(_))
        ));
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn sixty_four_tasks_one_key_exactly_one_execution() {
        let store: Arc<dyn IdempotencyStore> = Arc::new(MemoryStore::new());
        let runs = Arc::new(AtomicU32::new(0));
        let barrier = Arc::new(tokio::sync::Barrier::new(64));
        let waiting = Options {
            wait: Some(Duration::from_secs(10)),
            ..Options::new()
        };
        let mut tasks = Vec::new();
        for i in 0..64 {
            let (store, runs, barrier) = (store.clone(), runs.clone(), barrier.clone());
            // half of them wait for the result, half get 409 while it runs
            let opts = if i % 2 == 0 { waiting } else { Options::new() };
            tasks.push(tokio::spawn(async move {
                let k = ScopedKey::new("tenant", "send_email", "order-1").unwrap();
                barrier.wait().await;
                run::<u32, TestErr, _, _>(&*store, &k, Fingerprint::of(b"body"), &opts, || async {
                    runs.fetch_add(1, Ordering::SeqCst);
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    Ok(99)
                })
                .await
            }));
        }
        let (mut executed, mut replayed, mut conflicts) = (0, 0, 0);
        for t in tasks {
            match t.await.unwrap() {
                Ok(Outcome::Executed(99)) => executed += 1,
                Ok(Outcome::Replayed(99)) => replayed += 1,
                Err(TestErr::Gate(m)) if m == Error::InFlight.to_string() => conflicts += 1,
                other => panic!("{other:?}"),
            }
        }
        assert_eq!(runs.load(Ordering::SeqCst), 1, "exactly one execution");
        assert_eq!(executed, 1);
        assert_eq!(executed + replayed + conflicts, 64);
        assert!(
            replayed >= 31,
            "every waiter got the stored result ({replayed})"
        );
    }

    #[test]
    fn default_store_is_process_wide() {
        let a = default_store();
        let b = default_store();
        assert!(Arc::ptr_eq(&a, &b));
        assert!(set_default_store(Arc::new(MemoryStore::new())).is_err());
    }
}
