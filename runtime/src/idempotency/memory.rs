//! The embedded idempotency store: in-process, sharded, bounded, TTL-expired.

use std::collections::hash_map::DefaultHasher;
use std::collections::{BTreeMap, HashMap};
use std::hash::{Hash, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use tokio::time::Instant;

use super::{Begin, BoxFuture, Fingerprint, IdempotencyStore, Lease, ScopedKey};
use crate::StoreError;

/// Limits of a [`MemoryStore`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MemoryStoreConfig {
    /// Most entries kept (in flight and completed), split evenly across shards (100 000).
    pub capacity: usize,
    /// Independently locked shards (16).
    pub shards: usize,
}

impl Default for MemoryStoreConfig {
    fn default() -> Self {
        Self {
            capacity: 100_000,
            shards: 16,
        }
    }
}

/// An in-memory [`IdempotencyStore`]: one process only (use a shared store such as Redis for
/// a fleet). Expired entries are dropped lazily; when a shard is full, the completed entry
/// closest to expiry is evicted — an in-flight entry with a live lease never is, and if a
/// shard holds nothing else, `begin` fails with [`StoreError::Full`] (fail closed).
#[derive(Debug)]
pub struct MemoryStore {
    shards: Box<[Mutex<Shard>]>,
    per_shard: usize,
    next_token: AtomicU64,
}

#[derive(Debug, Default)]
struct Shard {
    map: HashMap<String, Entry>,
    /// Completed entries by (expiry, sequence): eviction and expiry order.
    completed: BTreeMap<(Instant, u64), String>,
    seq: u64,
}

#[derive(Debug)]
struct Entry {
    fp: Fingerprint,
    state: State,
}

#[derive(Debug)]
enum State {
    InFlight {
        token: u64,
        until: Instant,
    },
    Done {
        stored: Vec<u8>,
        until: Instant,
        seq: u64,
    },
}

fn deadline(now: Instant, d: Duration) -> Instant {
    now.checked_add(d)
        .or_else(|| now.checked_add(Duration::from_secs(100 * 365 * 24 * 3600)))
        .unwrap_or(now)
}

impl Default for MemoryStore {
    fn default() -> Self {
        Self::new()
    }
}

impl MemoryStore {
    /// A store with the default limits.
    pub fn new() -> Self {
        Self::with_config(MemoryStoreConfig::default())
    }

    /// A store with the given limits.
    pub fn with_config(config: MemoryStoreConfig) -> Self {
        let shards = config.shards.max(1);
        Self {
            shards: (0..shards).map(|_| Mutex::new(Shard::default())).collect(),
            per_shard: config.capacity.div_ceil(shards).max(1),
            next_token: AtomicU64::new(0),
        }
    }

    /// Entries held (expired ones not yet dropped included).
    pub fn len(&self) -> usize {
        self.shards.iter().map(|s| lock(s).map.len()).sum()
    }

    /// Whether no entry is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn shard(&self, key: &ScopedKey) -> MutexGuard<'_, Shard> {
        let mut h = DefaultHasher::new();
        key.as_str().hash(&mut h);
        let i = (h.finish() % self.shards.len() as u64) as usize;
        lock(&self.shards[i])
    }

    fn begin_now(
        &self,
        key: &ScopedKey,
        fp: Fingerprint,
        lease: Duration,
    ) -> Result<Begin, StoreError> {
        let now = Instant::now();
        let mut shard = self.shard(key);
        if let Some(entry) = shard.map.get(key.as_str()) {
            match &entry.state {
                State::Done { until, .. } if *until <= now => {
                    shard.remove(key.as_str());
                }
                State::Done { stored, .. } => {
                    return Ok(if entry.fp == fp {
                        Begin::Replay(stored.clone())
                    } else {
                        Begin::Mismatch
                    });
                }
                State::InFlight { until, .. } if *until > now => {
                    return Ok(if entry.fp == fp {
                        Begin::InFlight
                    } else {
                        Begin::Mismatch
                    });
                }
                // The previous executor's lease ran out: take over with a newer token.
                State::InFlight { .. } => {
                    shard.remove(key.as_str());
                }
            }
        }
        if shard.map.len() >= self.per_shard {
            shard.make_room(now, self.per_shard);
            if shard.map.len() >= self.per_shard {
                return Err(StoreError::Full);
            }
        }
        let token = self.next_token.fetch_add(1, Ordering::Relaxed) + 1;
        shard.map.insert(
            key.as_str().to_owned(),
            Entry {
                fp,
                state: State::InFlight {
                    token,
                    until: deadline(now, lease),
                },
            },
        );
        Ok(Begin::Proceed(Lease::new(token)))
    }

    fn complete_now(
        &self,
        key: &ScopedKey,
        lease: &Lease,
        stored: Vec<u8>,
        retention: Duration,
    ) -> Result<(), StoreError> {
        let now = Instant::now();
        let mut shard = self.shard(key);
        let shard = &mut *shard;
        match shard.map.get_mut(key.as_str()) {
            Some(entry) if matches!(entry.state, State::InFlight { token, .. } if token == lease.token()) =>
            {
                shard.seq += 1;
                let until = deadline(now, retention);
                entry.state = State::Done {
                    stored,
                    until,
                    seq: shard.seq,
                };
                shard
                    .completed
                    .insert((until, shard.seq), key.as_str().to_owned());
                Ok(())
            }
            _ => Err(StoreError::Fenced),
        }
    }

    fn release_now(&self, key: &ScopedKey, lease: &Lease) -> Result<(), StoreError> {
        let mut shard = self.shard(key);
        match shard.map.get(key.as_str()) {
            Some(entry) if matches!(entry.state, State::InFlight { token, .. } if token == lease.token()) =>
            {
                shard.remove(key.as_str());
                Ok(())
            }
            _ => Err(StoreError::Fenced),
        }
    }
}

impl Shard {
    fn remove(&mut self, key: &str) {
        if let Some(Entry {
            state: State::Done { until, seq, .. },
            ..
        }) = self.map.remove(key)
        {
            self.completed.remove(&(until, seq));
        }
    }

    /// Drops expired entries, then evicts completed ones closest to expiry. Live in-flight
    /// entries are never touched.
    fn make_room(&mut self, now: Instant, limit: usize) {
        while let Some(((until, _), _)) = self.completed.first_key_value() {
            if *until > now {
                break;
            }
            if let Some((_, key)) = self.completed.pop_first() {
                self.map.remove(&key);
            }
        }
        if self.map.len() >= limit {
            self.map
                .retain(|_, e| !matches!(e.state, State::InFlight { until, .. } if until <= now));
        }
        while self.map.len() >= limit {
            match self.completed.pop_first() {
                Some((_, key)) => {
                    self.map.remove(&key);
                }
                None => break,
            }
        }
    }
}

fn lock(m: &Mutex<Shard>) -> MutexGuard<'_, Shard> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl IdempotencyStore for MemoryStore {
    fn begin<'a>(
        &'a self,
        key: &'a ScopedKey,
        fp: Fingerprint,
        lease: Duration,
    ) -> BoxFuture<'a, Result<Begin, StoreError>> {
        let r = self.begin_now(key, fp, lease);
        Box::pin(std::future::ready(r))
    }

    fn complete<'a>(
        &'a self,
        key: &'a ScopedKey,
        lease: &'a Lease,
        stored: Vec<u8>,
        retention: Duration,
    ) -> BoxFuture<'a, Result<(), StoreError>> {
        let r = self.complete_now(key, lease, stored, retention);
        Box::pin(std::future::ready(r))
    }

    fn release<'a>(
        &'a self,
        key: &'a ScopedKey,
        lease: &'a Lease,
    ) -> BoxFuture<'a, Result<(), StoreError>> {
        let r = self.release_now(key, lease);
        Box::pin(std::future::ready(r))
    }
}
