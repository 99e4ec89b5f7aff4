//! [`RedisStore`]: idempotency records shared by a fleet, in Redis (feature `redis`).
//!
//! Every operation is one Lua script (one `EVALSHA`, one round trip), so each is one atomic
//! step on the server:
//!
//! - **begin** takes a fresh fencing token (`INCR` of the tenant's fence counter) and claims
//!   an unknown key with `SET … NX PX lease`; a known key is read instead and answers replay /
//!   in flight / mismatch (the fingerprint is compared inside the script). When a lease runs
//!   out, Redis drops the record, and the next `begin` takes the key over with a larger token.
//! - **complete** and **release** act only if the record is still in flight under the caller's
//!   token; otherwise they answer [`StoreError::Fenced`] and change nothing. Completion stores
//!   the result and sets the retention as the expiry (one `SET … PX`).
//!
//! Each script runs two Redis commands on its fast path: the commands a script runs are most
//! of what a store round trip costs the server, so the record is one string (state,
//! fingerprint, token, timestamps, result) written together with its expiry.
//!
//! A record lives in one string, `{prefix}{{tag}}r:{scoped key}`, and the tenant's fence counter
//! in `{prefix}{{tag}}fence`, where the tag is the tenant scope (or, when the scope contains a
//! brace, a hash of it). Both keys of a script carry the same hash tag, so they live in one
//! slot and the store works unchanged on Redis Cluster: pass a cluster connection to
//! [`RedisStore::with_connection`]. The fence counter never expires, so tokens grow across
//! record lifetimes (a stale executor can never reuse a token).
//!
//! Faults fail closed: a refused connection, a timeout or an error reply is
//! [`StoreError::Unavailable`] (HTTP: 503 with `Retry-After`, the handler does not run). The
//! default connection is a [`ConnectionManager`], which reconnects by itself.

use std::time::Duration;

use std::borrow::Cow;

use ::redis::aio::{ConnectionLike, ConnectionManager, ConnectionManagerConfig};
use ::redis::{Cmd, ErrorKind, FromRedisValue, RedisResult, Script, ServerErrorKind, Value};
use sha2::{Digest, Sha256};

use super::{Begin, BoxFuture, Fingerprint, IdempotencyStore, Lease, ScopedKey};
use crate::StoreError;

/// Settings of a [`RedisStore`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RedisStoreConfig {
    /// Prefix of every key the store writes (`"idemgate:"`).
    pub prefix: String,
    /// Longest wait for one store operation, reconnecting included (2 s). Past it the operation
    /// fails with [`StoreError::Unavailable`].
    pub operation_timeout: Duration,
    /// Longest wait for a TCP connection (1 s).
    pub connect_timeout: Duration,
    /// Longest wait for one reply on an established connection (1 s).
    pub response_timeout: Duration,
    /// Reconnection attempts after each failure before the next request starts over (3).
    pub reconnect_retries: usize,
    /// Longest pause between reconnection attempts (500 ms).
    pub reconnect_max_delay: Duration,
}

impl Default for RedisStoreConfig {
    fn default() -> Self {
        Self {
            prefix: "idemgate:".into(),
            operation_timeout: Duration::from_secs(2),
            connect_timeout: Duration::from_secs(1),
            response_timeout: Duration::from_secs(1),
            reconnect_retries: 3,
            reconnect_max_delay: Duration::from_millis(500),
        }
    }
}

/// A Redis error, as the cause of [`StoreError::Unavailable`].
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RedisStoreError {
    /// The client or the server reported an error (connection refused, reset, error reply).
    #[error("redis: {0}")]
    Redis(#[from] ::redis::RedisError),
    /// The operation did not finish in time.
    #[error("redis: no answer within {0:?}")]
    Timeout(Duration),
    /// [`RedisStore::open`] was called outside a tokio runtime (its connection manager runs
    /// a background task).
    #[error("redis: the store must be opened inside a tokio runtime")]
    NoRuntime,
    /// A script answered something this version does not understand.
    #[error("redis: unexpected script reply {0}")]
    Protocol(String),
}

impl From<RedisStoreError> for StoreError {
    fn from(e: RedisStoreError) -> Self {
        StoreError::Unavailable(Box::new(e))
    }
}

// A record is one string: `r` (in flight) or `d` (done), the 32-byte fingerprint, the
// fencing token and the timestamps in decimal ("<token> <created_ms>[ <completed_ms>]"), a
// newline, and (done) the stored result. One string is written with its expiry in one `SET …
// PX`, which is what keeps each script down to two commands (a hash needs `HSET` and
// `PEXPIRE`, and a read before the claim): the scripts' own commands are most of a store
// round trip's server time.

/// KEYS: record, fence counter. ARGV: fingerprint, lease ms, created ms. Answers the token
/// (claimed), `{1}` (in flight), `{2, result}` (done) or `{3}` (another fingerprint). The
/// counter is taken first, so a duplicate skips a token: tokens only need to grow.
const BEGIN: &str = r#"
local t = string.format('%d', redis.call('INCR', KEYS[2]))
if redis.call('SET', KEYS[1], 'r' .. ARGV[1] .. t .. ' ' .. ARGV[3] .. '\n', 'NX', 'PX', ARGV[2]) then
  return t
end
local v = redis.call('GET', KEYS[1])
if string.sub(v, 2, 33) ~= ARGV[1] then return {3} end
if string.byte(v, 1) == 100 then return {2, string.sub(v, string.find(v, '\n', 34, true) + 1)} end
return {1}
"#;

/// KEYS: record. ARGV: token, result, retention ms, completed ms. Answers 1, or 0 when the
/// record is not in flight under this token (fenced).
const COMPLETE: &str = r#"
local v = redis.call('GET', KEYS[1])
if not v or string.byte(v, 1) ~= 114 or string.sub(v, 34, 34 + #ARGV[1]) ~= ARGV[1] .. ' ' then
  return 0
end
redis.call('SET', KEYS[1], 'd' .. string.sub(v, 2, -2) .. ' ' .. ARGV[4] .. '\n' .. ARGV[2], 'PX', ARGV[3])
return 1
"#;

/// KEYS: record. ARGV: token. Answers 1, or 0 when fenced.
const RELEASE: &str = r#"
local v = redis.call('GET', KEYS[1])
if not v or string.byte(v, 1) ~= 114 or string.sub(v, 34, 34 + #ARGV[1]) ~= ARGV[1] .. ' ' then
  return 0
end
redis.call('DEL', KEYS[1])
return 1
"#;

/// An [`IdempotencyStore`] in Redis, shared by every process that points at the same server.
///
/// Each operation is one Lua script (one atomic step): begin compares the fingerprint, or
/// claims the key with a fencing token from the tenant's counter and the lease as the expiry;
/// complete and release act only under the caller's token (else [`StoreError::Fenced`]).
/// A record is the string `{prefix}{tenant}r:{scoped key}` next to the counter
/// `{prefix}{tenant}fence`: one hash tag per tenant, so it works on Redis Cluster through
/// [`with_connection`](Self::with_connection). Faults are [`StoreError::Unavailable`].
///
/// ```no_run
/// # async fn demo() -> Result<(), idemgate::StoreError> {
/// use std::sync::Arc;
/// use idemgate::idempotency::{RedisStore, RedisStoreConfig};
/// let store = Arc::new(RedisStore::open("redis://127.0.0.1:6379", RedisStoreConfig::default())?);
/// # Ok(()) }
/// ```
pub struct RedisStore<C = ConnectionManager> {
    conn: C,
    config: RedisStoreConfig,
    begin: Script,
    complete: Script,
    release: Script,
}

impl<C> std::fmt::Debug for RedisStore<C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisStore")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl RedisStore<ConnectionManager> {
    /// A store for the server at `url` (`redis://host:port/db`). Connects lazily, so a service
    /// starts while Redis is down (and answers 503 until it is back); reconnects by itself.
    pub fn open(url: &str, config: RedisStoreConfig) -> Result<Self, StoreError> {
        if tokio::runtime::Handle::try_current().is_err() {
            return Err(RedisStoreError::NoRuntime.into());
        }
        let client = ::redis::Client::open(url).map_err(RedisStoreError::from)?;
        let manager = ConnectionManager::new_lazy_with_config(client, manager_config(&config))
            .map_err(RedisStoreError::from)?;
        Ok(Self::with_connection(manager, config))
    }

    /// Like [`open`](Self::open), then waits for the server to answer `PING`.
    pub async fn connect(url: &str, config: RedisStoreConfig) -> Result<Self, StoreError> {
        let store = Self::open(url, config)?;
        store.ping().await?;
        Ok(store)
    }
}

fn manager_config(config: &RedisStoreConfig) -> ConnectionManagerConfig {
    ConnectionManagerConfig::new()
        .set_connection_timeout(Some(config.connect_timeout))
        .set_response_timeout(Some(config.response_timeout))
        .set_number_of_retries(config.reconnect_retries)
        .set_max_delay(config.reconnect_max_delay)
}

impl<C> RedisStore<C>
where
    C: ConnectionLike + Clone + Send + Sync + 'static,
{
    /// A store over any async Redis connection that is cheap to clone: a
    /// [`ConnectionManager`], or a Redis Cluster connection (the keys of one record share a
    /// hash tag).
    pub fn with_connection(conn: C, config: RedisStoreConfig) -> Self {
        Self {
            conn,
            config,
            begin: Script::new(BEGIN),
            complete: Script::new(COMPLETE),
            release: Script::new(RELEASE),
        }
    }

    /// The settings.
    pub fn config(&self) -> &RedisStoreConfig {
        &self.config
    }

    /// Checks that the server answers.
    pub async fn ping(&self) -> Result<(), StoreError> {
        let mut conn = self.conn.clone();
        self.timed(async move {
            ::redis::cmd("PING")
                .query_async::<Value>(&mut conn)
                .await
                .map(drop)
                .map_err(RedisStoreError::from)
        })
        .await
    }

    /// The Redis key holding `key`'s record.
    pub fn record_key(&self, key: &ScopedKey) -> String {
        self.tagged(key, "r:", key.as_str())
    }

    fn fence_key(&self, key: &ScopedKey) -> String {
        self.tagged(key, "fence", "")
    }

    /// `{prefix}{{tag}}{kind}{rest}`.
    fn tagged(&self, key: &ScopedKey, kind: &str, rest: &str) -> String {
        let tag = hash_tag(key.scope());
        let prefix = &self.config.prefix;
        let mut s = String::with_capacity(prefix.len() + tag.len() + kind.len() + rest.len() + 2);
        s.push_str(prefix);
        s.push('{');
        s.push_str(&tag);
        s.push('}');
        s.push_str(kind);
        s.push_str(rest);
        s
    }

    async fn timed<T>(
        &self,
        op: impl std::future::Future<Output = Result<T, RedisStoreError>>,
    ) -> Result<T, StoreError> {
        match tokio::time::timeout(self.config.operation_timeout, op).await {
            Ok(r) => r.map_err(StoreError::from),
            Err(_) => Err(RedisStoreError::Timeout(self.config.operation_timeout).into()),
        }
    }

    async fn begin_now(
        &self,
        key: &ScopedKey,
        fp: Fingerprint,
        lease: Duration,
    ) -> Result<Begin, StoreError> {
        let mut conn = self.conn.clone();
        let mut cmd = evalsha(&self.begin, 2);
        cmd.arg(self.record_key(key))
            .arg(self.fence_key(key))
            .arg(fp.as_bytes().as_slice())
            .arg(millis(lease))
            .arg(now_ms());
        let reply: Value = self
            .timed(async {
                eval(&mut conn, &self.begin, &cmd)
                    .await
                    .map_err(RedisStoreError::from)
            })
            .await?;
        parse_begin(reply).map_err(StoreError::from)
    }

    async fn finish(
        &self,
        script: &Script,
        key: &ScopedKey,
        lease: &Lease,
        extra: Option<(Vec<u8>, Duration)>,
    ) -> Result<(), StoreError> {
        let mut conn = self.conn.clone();
        let mut cmd = evalsha(script, 1);
        cmd.arg(self.record_key(key)).arg(lease.token());
        if let Some((stored, retention)) = extra {
            cmd.arg(stored).arg(millis(retention)).arg(now_ms());
        }
        let done: i64 = self
            .timed(async {
                eval(&mut conn, script, &cmd)
                    .await
                    .map_err(RedisStoreError::from)
            })
            .await?;
        if done == 1 {
            Ok(())
        } else {
            Err(StoreError::Fenced)
        }
    }
}

/// The hash tag of a scope: the scope itself when Redis Cluster would read it as one tag (not
/// empty, no brace), else a hash of it. Only slot placement depends on it; a record's identity
/// is its full scoped key.
fn hash_tag(scope: &str) -> Cow<'_, str> {
    if !scope.is_empty() && !scope.contains(['{', '}']) {
        return Cow::Borrowed(scope);
    }
    let digest = Sha256::digest(scope.as_bytes());
    let mut s = String::from("#");
    for b in digest.iter().take(8) {
        s.push_str(&format!("{b:02x}"));
    }
    Cow::Owned(s)
}

/// An `EVALSHA` of `script` with `keys` keys; the caller appends the keys, then the arguments.
fn evalsha(script: &Script, keys: usize) -> Cmd {
    let mut cmd = ::redis::cmd("EVALSHA");
    cmd.arg(script.get_hash()).arg(keys);
    cmd
}

/// Runs `cmd` (an [`evalsha`] of `script`): one round trip while the server knows the script;
/// after a server restart or `SCRIPT FLUSH` (`NOSCRIPT`), loads it and sends `cmd` again.
async fn eval<T: FromRedisValue, C: ConnectionLike>(
    conn: &mut C,
    script: &Script,
    cmd: &Cmd,
) -> RedisResult<T> {
    match cmd.query_async(conn).await {
        Err(e) if e.kind() == ErrorKind::Server(ServerErrorKind::NoScript) => {
            script.prepare_invoke().load_async(conn).await?;
            cmd.query_async(conn).await
        }
        other => other,
    }
}

/// Wall-clock milliseconds for the record's `created_ms` / `completed_ms` (informational:
/// expiry is Redis's own clock).
fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(millis)
        .unwrap_or(0)
}

/// Whole milliseconds, at least 1 (Redis rejects a zero expiry), at most a century (Redis
/// rejects expiries that overflow its clock).
fn millis(d: Duration) -> u64 {
    const CENTURY_MS: u64 = 100 * 365 * 24 * 3600 * 1000;
    u64::try_from(d.as_millis())
        .unwrap_or(u64::MAX)
        .clamp(1, CENTURY_MS)
}

fn parse_begin(reply: Value) -> Result<Begin, RedisStoreError> {
    let bad = |v: &dyn std::fmt::Debug| RedisStoreError::Protocol(format!("{v:?}"));
    let items = match reply {
        // the claim, the hot path: the token alone, in decimal
        Value::BulkString(token) => {
            return std::str::from_utf8(&token)
                .ok()
                .and_then(|t| t.parse::<u64>().ok())
                .map(|t| Begin::Proceed(Lease::new(t)))
                .ok_or_else(|| bad(&String::from_utf8_lossy(&token)));
        }
        Value::Array(items) => items,
        other => return Err(bad(&other)),
    };
    let mut items = items.into_iter();
    match (items.next(), items.next()) {
        (Some(Value::Int(1)), _) => Ok(Begin::InFlight),
        (Some(Value::Int(2)), Some(Value::BulkString(bytes))) => Ok(Begin::Replay(bytes)),
        (Some(Value::Int(2)), Some(Value::Nil) | None) => Ok(Begin::Replay(Vec::new())),
        (Some(Value::Int(3)), _) => Ok(Begin::Mismatch),
        (code, data) => Err(bad(&(code, data))),
    }
}

impl<C> IdempotencyStore for RedisStore<C>
where
    C: ConnectionLike + Clone + Send + Sync + 'static,
{
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
        Box::pin(self.finish(&self.complete, key, lease, Some((stored, retention))))
    }

    fn release<'a>(
        &'a self,
        key: &'a ScopedKey,
        lease: &'a Lease,
    ) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(self.finish(&self.release, key, lease, None))
    }

    fn release_detached(
        &self,
        key: ScopedKey,
        lease: Lease,
    ) -> Option<BoxFuture<'static, Result<(), StoreError>>> {
        let mut conn = self.conn.clone();
        let script = self.release.clone();
        let mut cmd = evalsha(&script, 1);
        cmd.arg(self.record_key(&key)).arg(lease.token());
        let limit = self.config.operation_timeout;
        Some(Box::pin(async move {
            let op = eval::<i64, _>(&mut conn, &script, &cmd);
            match tokio::time::timeout(limit, op).await {
                Ok(Ok(1)) => Ok(()),
                Ok(Ok(_)) => Err(StoreError::Fenced),
                Ok(Err(e)) => Err(RedisStoreError::from(e).into()),
                Err(_) => Err(RedisStoreError::Timeout(limit).into()),
            }
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_tags_are_cluster_safe() {
        assert_eq!(hash_tag("acme"), "acme");
        assert!(hash_tag("a{b}").starts_with('#'));
        assert!(hash_tag("").starts_with('#'));
        assert_ne!(hash_tag("a{b}"), hash_tag("a{c}"));
    }

    #[test]
    fn expiries_stay_in_the_range_redis_accepts() {
        assert_eq!(millis(Duration::ZERO), 1);
        assert_eq!(millis(Duration::from_millis(1500)), 1500);
        assert_eq!(millis(Duration::MAX), 100 * 365 * 24 * 3600 * 1000);
    }

    #[test]
    fn opening_outside_a_runtime_is_an_error_not_a_panic() {
        let r = RedisStore::open("redis://127.0.0.1:1/", RedisStoreConfig::default());
        assert!(matches!(r, Err(StoreError::Unavailable(_))));
    }

    #[test]
    fn odd_replies_are_errors_not_panics() {
        assert!(parse_begin(Value::Nil).is_err());
        assert!(parse_begin(Value::BulkString(b"-1".to_vec())).is_err());
        assert!(parse_begin(Value::BulkString(b"x".to_vec())).is_err());
        assert!(parse_begin(Value::Array(vec![])).is_err());
        assert!(parse_begin(Value::Array(vec![Value::Int(9), Value::Nil])).is_err());
        assert_eq!(
            parse_begin(Value::BulkString(b"7".to_vec())).ok(),
            Some(Begin::Proceed(Lease::new(7)))
        );
        assert_eq!(
            parse_begin(Value::Array(vec![Value::Int(1)])).ok(),
            Some(Begin::InFlight)
        );
        assert_eq!(
            parse_begin(Value::Array(vec![
                Value::Int(2),
                Value::BulkString(b"ok".to_vec())
            ]))
            .ok(),
            Some(Begin::Replay(b"ok".to_vec()))
        );
        assert_eq!(
            parse_begin(Value::Array(vec![Value::Int(3)])).ok(),
            Some(Begin::Mismatch)
        );
    }
}
