//! [`PostgresStore`]: idempotency records in the service's own PostgreSQL (feature
//! `postgres`), and [`transactional`], which commits the record in the same transaction as the
//! operation's own writes.
//!
//! The table is created by [`PostgresStore::migrate`] (or by your migration tool from
//! `runtime/migrations/0001_idemgate_keys.sql`, [`MIGRATION`]): one row per tenant, operation
//! and key with the fingerprint, the state (`running` / `done`), a fencing token from the
//! `idemgate_fence` sequence, the lease (`locked_until`), the stored response, timestamps and
//! the expiry (`expires_at`: lease end while running, retention end when done).
//!
//! - A claim is one `INSERT … ON CONFLICT DO UPDATE … WHERE <the existing row expired>`: two
//!   callers can never both claim a key. A row that is not claimable is read to answer replay,
//!   in flight or mismatch.
//! - [`transactional`] claims the key, then opens a transaction, runs the operation with a
//!   [`PgTx`] for its writes, marks the record done (checking the fencing token) and commits
//!   **once**: the writes and the record are committed together or not at all. A crash or a
//!   dropped future before the commit rolls both back, and the claim's lease runs out, so a
//!   retry executes again — exactly one committed execution. A stale executor whose lease was
//!   taken over is fenced at its completion and its writes are rolled back.
//! - Expired rows are swept in bounded batches: on access (every
//!   [`PostgresStoreConfig::sweep_every`] claims, in the background) or by
//!   [`PostgresStore::spawn_sweeper`].
//! - Faults fail closed: no connection, a timeout or a failed statement is
//!   [`StoreError::Unavailable`], and the operation does not run. Connections come from a small
//!   built-in pool; a broken connection is dropped and replaced, so recovery is automatic.

use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use serde::de::DeserializeOwned;
use serde::Serialize;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio_postgres::types::ToSql;
use tokio_postgres::{Client, NoTls, Row, Statement};

use super::{
    Begin, BoxFuture, Claimed, Fingerprint, IdempotencyStore, Lease, Options, Outcome, ScopedKey,
};
use crate::{Error, StoreError};

/// The schema [`PostgresStore::migrate`] applies (idempotent: `IF NOT EXISTS`).
pub const MIGRATION: &str = include_str!("../../migrations/0001_idemgate_keys.sql");

/// Settings of a [`PostgresStore`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PostgresStoreConfig {
    /// Most connections open at once (16).
    pub max_connections: usize,
    /// Longest wait for a new connection (2 s).
    pub connect_timeout: Duration,
    /// Longest wait for one store operation, waiting for a pooled connection included (2 s).
    pub operation_timeout: Duration,
    /// Sweep expired rows after this many claims (1024; 0: never on access).
    pub sweep_every: u64,
    /// Most rows one sweep deletes (500).
    pub sweep_batch: i64,
}

impl Default for PostgresStoreConfig {
    fn default() -> Self {
        Self {
            max_connections: 16,
            connect_timeout: Duration::from_secs(2),
            operation_timeout: Duration::from_secs(2),
            sweep_every: 1024,
            sweep_batch: 500,
        }
    }
}

/// A PostgreSQL error, as the cause of [`StoreError::Unavailable`], or from a [`PgTx`].
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PostgresStoreError {
    /// The server or the connection failed (refused, reset, an error reply).
    #[error("postgres: {0}")]
    Db(#[from] tokio_postgres::Error),
    /// The connection string is not valid.
    #[error("postgres: invalid configuration: {0}")]
    Config(String),
    /// The operation did not finish in time.
    #[error("postgres: no answer within {0:?}")]
    Timeout(Duration),
    /// The [`PgTx`] was used after its transaction ended.
    #[error("postgres: the transaction has already ended")]
    TransactionEnded,
}

impl From<PostgresStoreError> for StoreError {
    fn from(e: PostgresStoreError) -> Self {
        StoreError::Unavailable(Box::new(e))
    }
}

struct Pool {
    config: tokio_postgres::Config,
    idle: Mutex<Vec<Pooled>>,
    permits: Arc<Semaphore>,
}

/// A connection and its prepared store statements (prepared on first use, one round trip).
struct Pooled {
    client: Client,
    stmts: Option<Stmts>,
}

struct Stmts {
    claim: Statement,
    read: Statement,
    complete: Statement,
    release: Statement,
}

impl Pooled {
    async fn prepared(&mut self) -> Result<(&Client, &Stmts), PostgresStoreError> {
        if self.stmts.is_none() {
            let c = &self.client;
            let (claim, read, complete, release) = tokio::try_join!(
                c.prepare(CLAIM),
                c.prepare(READ),
                c.prepare(COMPLETE),
                c.prepare(RELEASE)
            )?;
            self.stmts = Some(Stmts {
                claim,
                read,
                complete,
                release,
            });
        }
        match &self.stmts {
            Some(stmts) => Ok((&self.client, stmts)),
            None => Err(PostgresStoreError::TransactionEnded),
        }
    }
}

struct Conn {
    client: Option<Pooled>,
    pool: Arc<Pool>,
    /// Set once the connection is known to be outside any transaction; a connection dropped
    /// without it (an error, a cancelled future) is closed, never reused.
    reusable: bool,
    _permit: OwnedSemaphorePermit,
}

impl Conn {
    fn client(&self) -> Result<&Client, PostgresStoreError> {
        self.client
            .as_ref()
            .map(|p| &p.client)
            .ok_or(PostgresStoreError::TransactionEnded)
    }

    async fn prepared(&mut self) -> Result<(&Client, &Stmts), PostgresStoreError> {
        match self.client.as_mut() {
            Some(p) => p.prepared().await,
            None => Err(PostgresStoreError::TransactionEnded),
        }
    }
}

impl Drop for Conn {
    fn drop(&mut self) {
        if let Some(client) = self.client.take() {
            if self.reusable && !client.client.is_closed() {
                self.pool
                    .idle
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .push(client);
            }
        }
    }
}

impl Pool {
    async fn get(self: &Arc<Self>) -> Result<Conn, PostgresStoreError> {
        let permit = self
            .permits
            .clone()
            .acquire_owned()
            .await
            .map_err(|_| PostgresStoreError::Config("pool closed".into()))?;
        loop {
            let idle = self
                .idle
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .pop();
            match idle {
                Some(client) if client.client.is_closed() => continue,
                Some(client) => {
                    return Ok(Conn {
                        client: Some(client),
                        pool: self.clone(),
                        reusable: false,
                        _permit: permit,
                    })
                }
                None => break,
            }
        }
        let (client, connection) = self.config.connect(NoTls).await?;
        tokio::spawn(async move {
            if let Err(e) = connection.await {
                tracing::debug!(target: "idemgate", error = %e, "postgres connection ended");
            }
        });
        Ok(Conn {
            client: Some(Pooled {
                client,
                stmts: None,
            }),
            pool: self.clone(),
            reusable: false,
            _permit: permit,
        })
    }
}

struct Inner {
    pool: Arc<Pool>,
    config: PostgresStoreConfig,
    claims: AtomicU64,
    sweeping: AtomicBool,
}

/// An [`IdempotencyStore`] in PostgreSQL (see [`transactional`] for writes committed with the
/// record). Cheap to clone (one shared pool).
#[derive(Clone)]
pub struct PostgresStore {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for PostgresStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostgresStore")
            .field("config", &self.inner.config)
            .finish_non_exhaustive()
    }
}

const CLAIM: &str = "INSERT INTO idemgate_keys AS k (tenant, operation, key, fingerprint, state, \
     fencing_token, locked_until, created_at, expires_at) \
     VALUES ($1, $2, $3, $4, 'running', nextval('idemgate_fence'), \
             now() + $5 * interval '1 millisecond', now(), now() + $5 * interval '1 millisecond') \
     ON CONFLICT (tenant, operation, key) DO UPDATE SET \
       fingerprint = EXCLUDED.fingerprint, state = 'running', \
       fencing_token = EXCLUDED.fencing_token, locked_until = EXCLUDED.locked_until, \
       response = NULL, created_at = now(), completed_at = NULL, expires_at = EXCLUDED.expires_at \
     WHERE (k.state = 'running' AND k.locked_until <= now()) \
        OR (k.state = 'done' AND k.expires_at <= now()) \
     RETURNING fencing_token";

const READ: &str = "SELECT state, fingerprint, response FROM idemgate_keys \
     WHERE tenant = $1 AND operation = $2 AND key = $3";

const COMPLETE: &str = "UPDATE idemgate_keys SET state = 'done', response = $5, \
       completed_at = now(), locked_until = NULL, expires_at = now() + $6 * interval '1 millisecond' \
     WHERE tenant = $1 AND operation = $2 AND key = $3 AND state = 'running' AND fencing_token = $4";

const RELEASE: &str = "DELETE FROM idemgate_keys \
     WHERE tenant = $1 AND operation = $2 AND key = $3 AND state = 'running' AND fencing_token = $4";

const SWEEP: &str = "DELETE FROM idemgate_keys WHERE ctid IN \
     (SELECT ctid FROM idemgate_keys WHERE expires_at <= now() LIMIT $1)";

/// Milliseconds as PostgreSQL multiplies an interval by them, at most a century (a larger
/// interval would overflow `timestamptz`).
fn millis(d: Duration) -> f64 {
    const CENTURY_MS: u128 = 100 * 365 * 24 * 3600 * 1000;
    d.as_millis().min(CENTURY_MS) as f64
}

fn token_param(lease: &Lease) -> i64 {
    i64::try_from(lease.token()).unwrap_or(i64::MAX)
}

impl PostgresStore {
    /// A store for the database at `url` (`postgres://user@host:port/db` or
    /// `host=… user=… dbname=…`). Connects lazily: a service starts while the database is down
    /// and answers 503 until it is back.
    pub fn open(url: &str, config: PostgresStoreConfig) -> Result<Self, StoreError> {
        let mut pg: tokio_postgres::Config = url
            .parse()
            .map_err(|e: tokio_postgres::Error| PostgresStoreError::Config(e.to_string()))?;
        pg.connect_timeout(config.connect_timeout);
        if pg.get_application_name().is_none() {
            pg.application_name("idemgate");
        }
        let pool = Arc::new(Pool {
            config: pg,
            idle: Mutex::new(Vec::new()),
            permits: Arc::new(Semaphore::new(config.max_connections.max(1))),
        });
        Ok(Self {
            inner: Arc::new(Inner {
                pool,
                config,
                claims: AtomicU64::new(0),
                sweeping: AtomicBool::new(false),
            }),
        })
    }

    /// [`open`](Self::open), then [`migrate`](Self::migrate).
    pub async fn connect(url: &str, config: PostgresStoreConfig) -> Result<Self, StoreError> {
        let store = Self::open(url, config)?;
        store.migrate().await?;
        Ok(store)
    }

    /// The settings.
    pub fn config(&self) -> &PostgresStoreConfig {
        &self.inner.config
    }

    /// Creates the table, its index and the fence sequence if they are missing. Safe to run
    /// from several processes at once (serialised by an advisory lock).
    pub async fn migrate(&self) -> Result<(), StoreError> {
        self.timed(async {
            let mut conn = self.inner.pool.get().await?;
            let client = conn.client()?;
            client
                .batch_execute(&format!(
                    "BEGIN; SELECT pg_advisory_xact_lock(7306394521930563); {MIGRATION}; COMMIT;"
                ))
                .await?;
            conn.reusable = true;
            Ok(())
        })
        .await
    }

    /// Deletes up to [`PostgresStoreConfig::sweep_batch`] expired rows; returns how many.
    pub async fn sweep(&self) -> Result<u64, StoreError> {
        self.timed(async {
            let mut conn = self.inner.pool.get().await?;
            let n = conn
                .client()?
                .execute(SWEEP, &[&self.inner.config.sweep_batch])
                .await?;
            conn.reusable = true;
            Ok(n)
        })
        .await
    }

    /// Sweeps every `interval` until the returned task is aborted or the runtime ends; a
    /// full batch is followed at once by the next.
    ///
    /// # Panics
    /// Outside a tokio runtime (it spawns a task).
    pub fn spawn_sweeper(&self, interval: Duration) -> tokio::task::JoinHandle<()> {
        let store = self.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(interval);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                while let Ok(n) = store.sweep().await {
                    if i64::try_from(n).unwrap_or(i64::MAX) < store.inner.config.sweep_batch {
                        break;
                    }
                }
            }
        })
    }

    fn maybe_sweep(&self) {
        let every = self.inner.config.sweep_every;
        if every == 0 {
            return;
        }
        let n = self.inner.claims.fetch_add(1, Ordering::Relaxed) + 1;
        if !n.is_multiple_of(every) || self.inner.sweeping.swap(true, Ordering::AcqRel) {
            return;
        }
        let store = self.clone();
        tokio::spawn(async move {
            if let Err(e) = store.sweep().await {
                tracing::warn!(target: "idemgate", error = %e, "idempotency sweep failed");
            }
            store.inner.sweeping.store(false, Ordering::Release);
        });
    }

    async fn timed<T>(
        &self,
        op: impl Future<Output = Result<T, PostgresStoreError>>,
    ) -> Result<T, StoreError> {
        let limit = self.inner.config.operation_timeout;
        match tokio::time::timeout(limit, op).await {
            Ok(r) => r.map_err(StoreError::from),
            Err(_) => Err(PostgresStoreError::Timeout(limit).into()),
        }
    }

    async fn begin_now(
        &self,
        key: &ScopedKey,
        fp: Fingerprint,
        lease: Duration,
    ) -> Result<Begin, StoreError> {
        self.maybe_sweep();
        let (tenant, operation, k) = (key.scope(), key.operation(), key.key());
        let fp_bytes: &[u8] = fp.as_bytes();
        let lease_ms = millis(lease);
        // the completion commits with the operation's writes: see `claim`
        let with_tx = SCOPE.try_with(|_| ()).is_ok() || CLAIM_FOR_TX.try_with(|_| ()).is_ok();
        let begin = self
            .timed(async {
                let mut conn = self.inner.pool.get().await?;
                let begin = claim(
                    &mut conn,
                    [tenant, operation, k],
                    fp_bytes,
                    lease_ms,
                    with_tx,
                )
                .await;
                // the statements ran to their end: the connection is reusable whatever they said
                if begin.is_ok() {
                    conn.reusable = true;
                }
                begin
            })
            .await?;
        if let (Begin::Proceed(lease), Ok(slot)) = (&begin, SCOPE.try_with(Arc::clone)) {
            if let Err(e) = self.open_scoped(&slot, key, lease).await {
                // The claim is ours but the transaction would not start: give the key back.
                let _ = self.finish(key, lease, None).await;
                return Err(e);
            }
        }
        Ok(begin)
    }

    /// Opens the transaction the operation of a [`transaction_scope`] writes in.
    async fn open_scoped(
        &self,
        slot: &Slot,
        key: &ScopedKey,
        lease: &Lease,
    ) -> Result<(), StoreError> {
        let mut conn = self
            .timed(async {
                let mut conn = self.inner.pool.get().await?;
                conn.prepared().await?;
                conn.client()?.batch_execute("BEGIN").await?;
                Ok(conn)
            })
            .await?;
        let Some(Pooled { client, stmts }) = conn.client.take() else {
            return Err(PostgresStoreError::TransactionEnded.into());
        };
        let open = OpenTx {
            key: key.as_str().to_owned(),
            token: lease.token(),
            tx: PgTx {
                inner: Arc::new(TxInner {
                    client,
                    open: AtomicBool::new(true),
                }),
            },
            stmts,
            conn,
        };
        // A previous transaction of this scope that nobody completed is dropped: rolled back.
        *lock_slot(slot) = Some(open);
        Ok(())
    }

    /// The scoped transaction opened for `key` under `lease`, taken out of the scope.
    fn take_scoped(&self, key: &ScopedKey, lease: &Lease) -> Option<OpenTx> {
        SCOPE
            .try_with(|slot| {
                let mut slot = lock_slot(slot);
                match &*slot {
                    Some(open) if open.key == key.as_str() && open.token == lease.token() => {
                        slot.take()
                    }
                    _ => None,
                }
            })
            .ok()
            .flatten()
    }

    /// Completes the record inside the scoped transaction and commits it with the
    /// operation's writes.
    async fn complete_scoped(
        &self,
        open: OpenTx,
        key: &ScopedKey,
        lease: &Lease,
        stored: Vec<u8>,
        retention: Duration,
    ) -> Result<(), StoreError> {
        let OpenTx {
            tx,
            stmts,
            mut conn,
            ..
        } = open;
        tx.inner.open.store(false, Ordering::Release);
        let (tenant, operation, k) = (key.scope(), key.operation(), key.key());
        let token = token_param(lease);
        let ms = millis(retention);
        let committed = self
            .timed(async {
                let client = &tx.inner.client;
                let bytes: &[u8] = &stored;
                let params: [&(dyn ToSql + Sync); 6] =
                    [&tenant, &operation, &k, &token, &bytes, &ms];
                let n = match &stmts {
                    Some(stmts) => client.execute(&stmts.complete, &params).await?,
                    None => client.execute(COMPLETE, &params).await?,
                };
                if n != 1 {
                    client.batch_execute("ROLLBACK").await?;
                    return Ok(false);
                }
                client.batch_execute("COMMIT").await?;
                Ok(true)
            })
            .await;
        if committed.is_ok() {
            if let Ok(inner) = Arc::try_unwrap(tx.inner) {
                conn.client = Some(Pooled {
                    client: inner.client,
                    stmts,
                });
                conn.reusable = true;
            }
        }
        match committed {
            Ok(true) => Ok(()),
            Ok(false) => Err(StoreError::Fenced),
            Err(e) => Err(e),
        }
    }

    async fn finish(
        &self,
        key: &ScopedKey,
        lease: &Lease,
        stored: Option<(Vec<u8>, Duration)>,
    ) -> Result<(), StoreError> {
        let (tenant, operation, k) = (key.scope(), key.operation(), key.key());
        let token = token_param(lease);
        let n = self
            .timed(async {
                let mut conn = self.inner.pool.get().await?;
                let n = {
                    let (client, stmts) = conn.prepared().await?;
                    match &stored {
                        Some((bytes, retention)) => {
                            let bytes: &[u8] = bytes;
                            let ms = millis(*retention);
                            client
                                .execute(
                                    &stmts.complete,
                                    &[&tenant, &operation, &k, &token, &bytes, &ms],
                                )
                                .await?
                        }
                        None => {
                            client
                                .execute(&stmts.release, &[&tenant, &operation, &k, &token])
                                .await?
                        }
                    }
                };
                conn.reusable = true;
                Ok(n)
            })
            .await?;
        if n == 1 {
            Ok(())
        } else {
            Err(StoreError::Fenced)
        }
    }
}

/// Begins the claim's own transaction when the claim does not wait for the WAL flush.
const CLAIM_NO_FLUSH: &str = "BEGIN; SET LOCAL synchronous_commit TO off";

/// Claims the key, or reads what is known about it.
///
/// `with_tx`: the completion will be committed in one transaction with the operation's writes
/// ([`transactional`], [`transaction_scope`]). Then the claim is committed without waiting for
/// its WAL flush (`synchronous_commit` off for that one transaction, sent in one pipelined
/// round trip with the statement and its `COMMIT`): the claim is visible to every other
/// caller at once, and it is flushed at the latest by the synchronous commit of the
/// completion, which follows it in the log. A database crash can lose only a claim whose
/// operation has not committed; that operation's transaction dies with the crash, so a retry
/// executes once, and a stale completion is still fenced inside the committing transaction.
/// This saves one of the two WAL flushes a transactional execution would wait for. Without a
/// transaction (the result of an operation outside the database), the claim is flushed before
/// the operation runs.
async fn claim(
    conn: &mut Conn,
    [tenant, operation, k]: [&str; 3],
    fp: &[u8],
    lease_ms: f64,
    with_tx: bool,
) -> Result<Begin, PostgresStoreError> {
    let (client, stmts) = conn.prepared().await?;
    let params: [&(dyn ToSql + Sync); 5] = [&tenant, &operation, &k, &fp, &lease_ms];
    // A row that vanishes between the claim and the read (released, swept) is claimed again;
    // three rounds of that are not a race but a fault.
    for _ in 0..3 {
        let claimed = if with_tx {
            // queued in this order on the connection when first polled: one round trip
            let (_, claimed, _) = tokio::try_join!(
                client.batch_execute(CLAIM_NO_FLUSH),
                client.query_opt(&stmts.claim, &params),
                client.batch_execute("COMMIT"),
            )?;
            claimed
        } else {
            client.query_opt(&stmts.claim, &params).await?
        };
        if let Some(row) = claimed {
            let token: i64 = row.try_get(0)?;
            return Ok(Begin::Proceed(Lease::new(
                u64::try_from(token).unwrap_or(0),
            )));
        }
        if let Some(row) = client
            .query_opt(&stmts.read, &[&tenant, &operation, &k])
            .await?
        {
            return read_begin(&row, fp);
        }
    }
    Err(PostgresStoreError::Config(
        "the key kept disappearing between claim and read".into(),
    ))
}

fn read_begin(row: &Row, fp: &[u8]) -> Result<Begin, PostgresStoreError> {
    let state: &str = row.try_get(0)?;
    let stored_fp: &[u8] = row.try_get(1)?;
    if stored_fp != fp {
        return Ok(Begin::Mismatch);
    }
    if state == "done" {
        let response: Option<Vec<u8>> = row.try_get(2)?;
        return Ok(Begin::Replay(response.unwrap_or_default()));
    }
    Ok(Begin::InFlight)
}

impl IdempotencyStore for PostgresStore {
    fn begin<'a>(
        &'a self,
        key: &'a ScopedKey,
        fp: Fingerprint,
        lease: Duration,
    ) -> BoxFuture<'a, Result<Begin, StoreError>> {
        Box::pin(self.begin_now(key, fp, lease))
    }

    fn complete<'a>(
        &'a self,
        key: &'a ScopedKey,
        lease: &'a Lease,
        stored: Vec<u8>,
        retention: Duration,
    ) -> BoxFuture<'a, Result<(), StoreError>> {
        match self.take_scoped(key, lease) {
            Some(open) => Box::pin(self.complete_scoped(open, key, lease, stored, retention)),
            None => Box::pin(self.finish(key, lease, Some((stored, retention)))),
        }
    }

    fn release<'a>(
        &'a self,
        key: &'a ScopedKey,
        lease: &'a Lease,
    ) -> BoxFuture<'a, Result<(), StoreError>> {
        // Dropping a scoped transaction closes its connection: the server rolls it back.
        drop(self.take_scoped(key, lease));
        Box::pin(self.finish(key, lease, None))
    }

    fn completion_commits_effects(&self) -> bool {
        SCOPE
            .try_with(|slot| lock_slot(slot).is_some())
            .unwrap_or(false)
    }

    fn release_detached(
        &self,
        key: ScopedKey,
        lease: Lease,
    ) -> Option<BoxFuture<'static, Result<(), StoreError>>> {
        let store = self.clone();
        Some(Box::pin(
            async move { store.finish(&key, &lease, None).await },
        ))
    }
}

type Slot = Arc<Mutex<Option<OpenTx>>>;

tokio::task_local! {
    static SCOPE: Slot;
    /// Set while [`transactional`] claims its key: the completion commits with the writes.
    static CLAIM_FOR_TX: ();
}

/// A transaction opened by a claim inside a [`transaction_scope`], waiting for the
/// operation's writes and the completion.
struct OpenTx {
    key: String,
    token: u64,
    tx: PgTx,
    stmts: Option<Stmts>,
    /// The pool permit (and, after the commit, the connection going back).
    conn: Conn,
}

fn lock_slot(slot: &Slot) -> std::sync::MutexGuard<'_, Option<OpenTx>> {
    slot.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Runs `fut` (one request) so that a [`PostgresStore`] claim inside it opens a transaction,
/// the operation writes through [`current_tx`], and the completion commits both at once: the
/// HTTP form of [`transactional`]. If the commit fails, the request answers the store
/// failure (503), not the operation's response; if the future is dropped (a crash, a
/// disconnect), the transaction rolls back. With axum, around the idempotency layer:
///
/// ```ignore
/// let app = Router::new()
///     .route("/orders", post(create_order))            // writes through current_tx()
///     .layer(IdempotencyLayer::new(Idempotency::new().store(pg_store.clone())))
///     .layer(axum::middleware::from_fn(|req, next: Next| {
///         idempotency::postgres::transaction_scope(next.run(req))
///     }));
/// ```
pub async fn transaction_scope<F: Future>(fut: F) -> F::Output {
    SCOPE.scope(Arc::new(Mutex::new(None)), fut).await
}

/// The transaction of the current [`transaction_scope`], once a [`PostgresStore`] claim has
/// opened it (inside the idempotent operation), else `None`.
pub fn current_tx() -> Option<PgTx> {
    SCOPE
        .try_with(|slot| lock_slot(slot).as_ref().map(|open| open.tx.clone()))
        .ok()
        .flatten()
}

/// The transaction an operation run by [`transactional`] writes in. Its statements commit
/// together with the idempotency record, or not at all. It is usable only while the operation
/// runs: afterwards every call fails with [`PostgresStoreError::TransactionEnded`].
#[derive(Clone)]
pub struct PgTx {
    inner: Arc<TxInner>,
}

struct TxInner {
    client: Client,
    open: AtomicBool,
}

impl std::fmt::Debug for PgTx {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgTx")
            .field("open", &self.inner.open.load(Ordering::Acquire))
            .finish()
    }
}

impl PgTx {
    fn client(&self) -> Result<&Client, PostgresStoreError> {
        if self.inner.open.load(Ordering::Acquire) {
            Ok(&self.inner.client)
        } else {
            Err(PostgresStoreError::TransactionEnded)
        }
    }

    /// Runs a statement; returns the number of rows it changed.
    pub async fn execute(
        &self,
        sql: &str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<u64, PostgresStoreError> {
        Ok(self.client()?.execute(sql, params).await?)
    }

    /// Runs a query; returns its rows.
    pub async fn query(
        &self,
        sql: &str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<Vec<Row>, PostgresStoreError> {
        Ok(self.client()?.query(sql, params).await?)
    }

    /// Runs a query that returns exactly one row.
    pub async fn query_one(
        &self,
        sql: &str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<Row, PostgresStoreError> {
        Ok(self.client()?.query_one(sql, params).await?)
    }

    /// Runs a query that returns at most one row.
    pub async fn query_opt(
        &self,
        sql: &str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<Option<Row>, PostgresStoreError> {
        Ok(self.client()?.query_opt(sql, params).await?)
    }

    /// Runs statements separated by `;`, without parameters.
    pub async fn batch_execute(&self, sql: &str) -> Result<(), PostgresStoreError> {
        Ok(self.client()?.batch_execute(sql).await?)
    }
}

/// Runs `op` at most once per `key`, its writes and the idempotency record in **one**
/// PostgreSQL transaction.
///
/// Like [`run`](super::run): the first caller executes; a duplicate while it runs gets
/// [`Error::InFlight`] (or waits, [`Options::wait`]); a later duplicate gets the stored value
/// ([`Outcome::Replayed`]); another fingerprint gets [`Error::Mismatch`]; a store failure
/// fails closed with [`Error::Store`] before `op` runs. Unlike `run`, an `Ok` is committed
/// together with `op`'s writes through the [`PgTx`]; an `Err` rolls them back and releases the
/// key. If the final commit fails the outcome is unknown to the caller and
/// [`Error::Store`] is returned: the writes and the record are still either both committed
/// (a retry replays) or both absent (a retry executes once the lease runs out).
///
/// ```no_run
/// # use idemgate::idempotency::{self, Fingerprint, Options, PostgresStore, ScopedKey};
/// # async fn demo(store: &PostgresStore) -> Result<(), idemgate::Error> {
/// let key = ScopedKey::new("acme", "orders.create", "order-7")?;
/// let id: i64 = idempotency::transactional(store, &key, Fingerprint::of(b"{}"), &Options::new(), |tx| async move {
///     let row = tx.query_one("INSERT INTO orders (sku) VALUES ($1) RETURNING id", &[&"tea"]).await
///         .map_err(|e| idemgate::Error::Store(e.into()))?;
///     Ok::<i64, idemgate::Error>(row.get(0))
/// }).await?.into_inner();
/// # Ok(()) }
/// ```
pub async fn transactional<T, E, F, Fut>(
    store: &PostgresStore,
    key: &ScopedKey,
    fp: Fingerprint,
    opts: &Options,
    op: F,
) -> Result<Outcome<T>, E>
where
    T: Serialize + DeserializeOwned,
    E: From<Error>,
    F: FnOnce(PgTx) -> Fut,
    Fut: Future<Output = Result<T, E>>,
{
    let operation = key.operation().to_owned();
    let claimed = CLAIM_FOR_TX
        .scope((), super::begin(store, key, fp, opts, &operation))
        .await?;
    let lease = match claimed {
        Claimed::Lease(lease) => lease,
        Claimed::Replay(bytes) => {
            let value = serde_json::from_slice(&bytes).map_err(Error::Serialization)?;
            ::metrics::counter!(crate::metrics::IDEMPOTENCY_REPLAYS, "operation" => operation)
                .increment(1);
            return Ok(Outcome::Replayed(value));
        }
    };
    // From here on the key is ours: any early return must give it back.
    let mut conn = match store
        .timed(async {
            let conn = store.inner.pool.get().await?;
            conn.client()?.batch_execute("BEGIN").await?;
            Ok(conn)
        })
        .await
    {
        Ok(conn) => conn,
        Err(e) => return Err(give_back(store, key, &lease, &operation, e).await.into()),
    };
    let Some(Pooled { client, stmts }) = conn.client.take() else {
        let e = StoreError::from(PostgresStoreError::TransactionEnded);
        return Err(give_back(store, key, &lease, &operation, e).await.into());
    };
    let tx = PgTx {
        inner: Arc::new(TxInner {
            client,
            open: AtomicBool::new(true),
        }),
    };
    ::metrics::counter!(crate::metrics::IDEMPOTENCY_EXECUTIONS, "operation" => operation.clone())
        .increment(1);
    let result = op(tx.clone()).await;
    tx.inner.open.store(false, Ordering::Release);
    let client = &tx.inner.client;
    let value = match result {
        Ok(value) => value,
        Err(e) => {
            let _ = client.batch_execute("ROLLBACK").await;
            let _ = give_back(store, key, &lease, &operation, StoreError::Fenced).await;
            return Err(e);
        }
    };
    let bytes = match serde_json::to_vec(&value) {
        Ok(bytes) => bytes,
        Err(e) => {
            let _ = client.batch_execute("ROLLBACK").await;
            let _ = give_back(store, key, &lease, &operation, StoreError::Fenced).await;
            return Err(Error::Serialization(e).into());
        }
    };
    let (tenant, op_name, k) = (key.scope(), key.operation(), key.key());
    let token = token_param(&lease);
    let retention = millis(opts.retention);
    let committed = store
        .timed(async {
            let bytes: &[u8] = &bytes;
            let params: [&(dyn ToSql + Sync); 6] =
                [&tenant, &op_name, &k, &token, &bytes, &retention];
            let n = match &stmts {
                Some(stmts) => client.execute(&stmts.complete, &params).await?,
                None => client.execute(COMPLETE, &params).await?,
            };
            if n != 1 {
                client.batch_execute("ROLLBACK").await?;
                return Ok(false);
            }
            client.batch_execute("COMMIT").await?;
            Ok(true)
        })
        .await;
    // The connection is clean again only after a COMMIT or ROLLBACK went through.
    if committed.is_ok() {
        if let Ok(inner) = Arc::try_unwrap(tx.inner) {
            conn.client = Some(Pooled {
                client: inner.client,
                stmts,
            });
            conn.reusable = true;
        }
    }
    match committed {
        Ok(true) => Ok(Outcome::Executed(value)),
        Ok(false) => {
            super::store_error(&operation, "complete", &StoreError::Fenced);
            Err(Error::Store(StoreError::Fenced).into())
        }
        Err(e) => {
            super::store_error(&operation, "complete", &e);
            Err(Error::Store(e).into())
        }
    }
}

/// Releases a claimed key after the transaction could not start or was rolled back; returns
/// `reason` for the caller.
async fn give_back(
    store: &PostgresStore,
    key: &ScopedKey,
    lease: &Lease,
    operation: &str,
    reason: StoreError,
) -> Error {
    if let Err(e) = store.finish(key, lease, None).await {
        super::store_error(operation, "release", &e);
    }
    Error::Store(reason)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn intervals_stay_in_the_range_postgres_accepts() {
        assert_eq!(millis(Duration::from_millis(1500)), 1500.0);
        assert_eq!(
            millis(Duration::MAX),
            (100u64 * 365 * 24 * 3600 * 1000) as f64
        );
    }

    #[test]
    fn a_bad_url_is_an_error_not_a_panic() {
        assert!(PostgresStore::open("postgres://[::1", PostgresStoreConfig::default()).is_err());
        assert!(
            PostgresStore::open("host=x port=notaport", PostgresStoreConfig::default()).is_err()
        );
    }
}
