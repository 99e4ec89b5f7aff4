//! Circuit breakers: stop calling a dependency that is failing, give it time, then probe it
//! carefully before trusting it again.
//!
//! A [`Breaker`] counts outcomes in a sliding time window made of buckets (default 30 s in 10
//! buckets). It **opens** when the window holds at least `min_requests` calls with an error
//! rate of at least `failure_threshold`, and that condition has held for `consecutive_windows`
//! windows (default 50 calls, 25 %, 2 windows). It stays **open** for `open_for` (20 s),
//! failing fast with [`Error::CircuitOpen`], then goes **half-open**: it admits
//! `half_open_probes` probes (5) and closes once `close_ratio` of them (80 %) succeeded, or
//! re-opens as soon as that ratio has become unreachable — a single probe never decides alone.
//!
//! Named breakers are process-wide ([`get`], [`configure`]); state changes can be watched with
//! [`Breaker::subscribe`]. The closed-state path is lock-free and clock-free: admission is one
//! atomic load and a success one relaxed add on a per-thread stripe. Failures take a lock and
//! read the clock; successes are counted in the bucket that was current at the last clock
//! read (every failure reads it), which can only make successes look older than they are.

use std::collections::HashMap;
use std::future::Future;
use std::sync::atomic::{AtomicU64, AtomicU8, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, PoisonError, RwLock};
use std::time::Duration;

use tokio::sync::watch;
use tokio::time::Instant;

use crate::retry::{Classification, Retryability};
use crate::stripe::{self, Padded, STRIPES};
use crate::Error;

const BUCKETS: usize = 10;

/// How a breaker decides.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct BreakerConfig {
    /// Length of the sliding window (30 s).
    pub window: Duration,
    /// Fewest calls in the window before the error rate counts (50).
    pub min_requests: u32,
    /// Error rate that trips the breaker, 0.0–1.0 (0.25).
    pub failure_threshold: f64,
    /// For how many consecutive windows the condition must hold (2).
    pub consecutive_windows: u32,
    /// How long the breaker stays open before probing (20 s).
    pub open_for: Duration,
    /// Probes admitted while half-open (5).
    pub half_open_probes: u32,
    /// Share of probes that must succeed to close (0.8).
    pub close_ratio: f64,
}

impl BreakerConfig {
    /// The defaults listed on each field.
    pub const fn new() -> Self {
        Self {
            window: Duration::from_secs(30),
            min_requests: 50,
            failure_threshold: 0.25,
            consecutive_windows: 2,
            open_for: Duration::from_secs(20),
            half_open_probes: 5,
            close_ratio: 0.8,
        }
    }
}

impl Default for BreakerConfig {
    fn default() -> Self {
        Self::new()
    }
}

/// A breaker's state.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum State {
    /// Calls flow; outcomes are counted.
    Closed,
    /// Calls fail fast.
    Open,
    /// A bounded number of probes are let through.
    HalfOpen,
}

impl State {
    /// The value of the `idemgate_breaker_state` gauge.
    pub const fn gauge_value(self) -> f64 {
        match self {
            State::Closed => 0.0,
            State::HalfOpen => 1.0,
            State::Open => 2.0,
        }
    }
    const fn to_u8(self) -> u8 {
        match self {
            State::Closed => 0,
            State::HalfOpen => 1,
            State::Open => 2,
        }
    }
    const fn from_u8(v: u8) -> Self {
        match v {
            0 => State::Closed,
            1 => State::HalfOpen,
            _ => State::Open,
        }
    }
}

/// A named circuit breaker. Obtain one with [`get`] or [`configure`], or [`Breaker::new`].
#[derive(Debug)]
pub struct Breaker {
    name: &'static str,
    config: BreakerConfig,
    state: AtomicU8,
    /// Successes per bucket, striped per thread.
    successes: Box<[Padded<[AtomicU64; BUCKETS]>]>,
    /// The bucket successes currently go to.
    current: AtomicUsize,
    slow: Mutex<Slow>,
    watch: watch::Sender<State>,
}

#[derive(Debug)]
struct Slow {
    bucket_start: Instant,
    failures: [u64; BUCKETS],
    /// When the trip condition was first seen holding (reset when seen not holding).
    breach_since: Option<Instant>,
    opened_at: Instant,
    /// Bumped on every transition, so stale permits are ignored.
    generation: u64,
    probes_admitted: u32,
    probe_successes: u32,
    probe_failures: u32,
}

/// Leave to make one call through a breaker; report its outcome with [`Permit::record`].
/// Dropping it unreported (a cancelled call) gives a half-open probe slot back.
#[derive(Debug)]
#[must_use = "report the outcome with Permit::record"]
pub struct Permit<'a> {
    breaker: &'a Breaker,
    probe: Option<u64>,
}

impl Permit<'_> {
    /// Reports the call's outcome: `failed = true` counts against the dependency.
    #[inline]
    pub fn record(mut self, failed: bool) {
        match self.probe.take() {
            None if !failed => self.breaker.on_success(),
            None => self.breaker.on_failure(),
            Some(gen) => self.breaker.on_probe(gen, failed),
        }
    }
}

impl Drop for Permit<'_> {
    fn drop(&mut self) {
        if let Some(gen) = self.probe.take() {
            let mut slow = self.breaker.lock();
            if slow.generation == gen {
                slow.probes_admitted = slow.probes_admitted.saturating_sub(1);
            }
        }
    }
}

impl Breaker {
    /// A breaker outside the registry.
    pub fn new(name: &'static str, config: BreakerConfig) -> Self {
        let now = Instant::now();
        let (watch, _) = watch::channel(State::Closed);
        Self {
            name,
            config,
            state: AtomicU8::new(State::Closed.to_u8()),
            successes: (0..STRIPES).map(|_| Padded(Default::default())).collect(),
            current: AtomicUsize::new(0),
            slow: Mutex::new(Slow {
                bucket_start: now,
                failures: [0; BUCKETS],
                breach_since: None,
                opened_at: now,
                generation: 0,
                probes_admitted: 0,
                probe_successes: 0,
                probe_failures: 0,
            }),
            watch,
        }
    }

    /// The breaker's name.
    pub fn name(&self) -> &'static str {
        self.name
    }

    /// Its configuration.
    pub fn config(&self) -> BreakerConfig {
        self.config
    }

    /// The current state (an open breaker whose open time is over reports `Open` until the
    /// next call turns it half-open).
    pub fn state(&self) -> State {
        State::from_u8(self.state.load(Ordering::Acquire))
    }

    /// Watches state changes.
    pub fn subscribe(&self) -> watch::Receiver<State> {
        self.watch.subscribe()
    }

    /// Asks to make a call. Closed: always (one atomic load). Open: [`Error::CircuitOpen`].
    /// Half-open: a probe permit while probe slots remain.
    #[inline]
    pub fn acquire(&self) -> Result<Permit<'_>, Error> {
        if self.state.load(Ordering::Acquire) == State::Closed.to_u8() {
            return Ok(Permit { breaker: self, probe: None });
        }
        self.acquire_slow()
    }

    /// Runs `fut` through the breaker, counting `Err` values whose [`Retryable`]
    /// classification is transient or throttled as failures (permanent errors are the
    /// caller's, not the dependency's).
    ///
    /// [`Retryable`]: crate::Retryable
    pub async fn call<T, E, Fut>(&self, fut: Fut) -> Result<T, E>
    where
        Fut: Future<Output = Result<T, E>>,
        E: crate::Retryable + From<Error>,
    {
        self.call_classified(|r: &Result<T, E>| r.as_ref().err().map(|e| e.retryability()), fut)
            .await
    }

    /// Runs `fut`, classifying the whole result: `Some(Transient | Throttled)` is a failure —
    /// so an `Ok` response with a 5xx status can count as one.
    pub async fn call_classified<T, E, Fut, C, R>(&self, classify: C, fut: Fut) -> Result<T, E>
    where
        Fut: Future<Output = Result<T, E>>,
        E: From<Error>,
        C: FnOnce(&Result<T, E>) -> Option<R>,
        R: Classification,
    {
        let permit = self.acquire()?;
        let out = fut.await;
        let failed = classify(&out).map(Classification::into_retryability).is_some_and(|r| r.is_retryable());
        permit.record(failed);
        out
    }

    /// Like [`Breaker::call`], but when the breaker refuses the call, `fallback` answers
    /// instead (a cached value, a degraded response).
    pub async fn call_or_fallback<T, E, Fut, FB, FbFut>(&self, fut: Fut, fallback: FB) -> Result<T, E>
    where
        Fut: Future<Output = Result<T, E>>,
        E: crate::Retryable + From<Error>,
        FB: FnOnce(Error) -> FbFut,
        FbFut: Future<Output = Result<T, E>>,
    {
        match self.acquire() {
            Ok(permit) => {
                let out = fut.await;
                let failed = out.as_ref().err().is_some_and(|e| e.retryability().is_retryable());
                permit.record(failed);
                out
            }
            Err(e) => fallback(e).await,
        }
    }

    fn lock(&self) -> MutexGuard<'_, Slow> {
        self.slow.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn acquire_slow(&self) -> Result<Permit<'_>, Error> {
        let now = Instant::now();
        let mut slow = self.lock();
        let mut state = self.state();
        if state == State::Open && now.saturating_duration_since(slow.opened_at) >= self.config.open_for {
            self.transition(&mut slow, State::HalfOpen, now);
            state = State::HalfOpen;
        }
        match state {
            State::Closed => Ok(Permit { breaker: self, probe: None }),
            State::HalfOpen if slow.probes_admitted < self.config.half_open_probes.max(1) => {
                slow.probes_admitted += 1;
                Ok(Permit { breaker: self, probe: Some(slow.generation) })
            }
            _ => {
                ::metrics::counter!(crate::metrics::BREAKER_REJECTED, "breaker" => self.name).increment(1);
                Err(Error::CircuitOpen { name: self.name })
            }
        }
    }

    #[inline]
    fn on_success(&self) {
        let bucket = self.current.load(Ordering::Relaxed);
        if let Some(c) = self.successes[stripe::current()].0.get(bucket) {
            c.fetch_add(1, Ordering::Relaxed);
        }
    }

    fn on_failure(&self) {
        let now = Instant::now();
        let mut slow = self.lock();
        if self.state() != State::Closed {
            return;
        }
        let bucket = self.rotate(&mut slow, now);
        slow.failures[bucket] += 1;
        let failures: u64 = slow.failures.iter().sum();
        let successes: u64 = self.successes.iter().flat_map(|s| s.0.iter()).map(|a| a.load(Ordering::Relaxed)).sum();
        let total = failures + successes;
        let breached = total >= u64::from(self.config.min_requests)
            && failures as f64 >= self.config.failure_threshold * total as f64;
        if !breached {
            slow.breach_since = None;
            return;
        }
        let since = *slow.breach_since.get_or_insert(now);
        let hold = self.config.window * self.config.consecutive_windows.saturating_sub(1);
        if now.saturating_duration_since(since) >= hold {
            self.transition(&mut slow, State::Open, now);
        }
    }

    fn on_probe(&self, generation: u64, failed: bool) {
        let now = Instant::now();
        let mut slow = self.lock();
        if slow.generation != generation || self.state() != State::HalfOpen {
            return;
        }
        if failed {
            slow.probe_failures += 1;
        } else {
            slow.probe_successes += 1;
        }
        let probes = self.config.half_open_probes.max(1);
        let ratio = self.config.close_ratio.clamp(0.0, 1.0);
        let needed = ((ratio * f64::from(probes)).ceil() as u32).clamp(1, probes);
        if slow.probe_successes >= needed {
            self.transition(&mut slow, State::Closed, now);
        } else if slow.probe_failures > probes - needed {
            self.transition(&mut slow, State::Open, now);
        }
    }

    fn transition(&self, slow: &mut Slow, to: State, now: Instant) {
        slow.generation += 1;
        slow.probes_admitted = 0;
        slow.probe_successes = 0;
        slow.probe_failures = 0;
        slow.breach_since = None;
        match to {
            State::Open => {
                slow.opened_at = now;
                ::metrics::counter!(crate::metrics::BREAKER_OPENS, "breaker" => self.name).increment(1);
                tracing::warn!(target: "idemgate", breaker = self.name, "circuit breaker opened");
            }
            State::HalfOpen => {
                tracing::info!(target: "idemgate", breaker = self.name, "circuit breaker half-open");
            }
            State::Closed => {
                slow.failures = [0; BUCKETS];
                for s in self.successes.iter() {
                    for c in s.0.iter() {
                        c.store(0, Ordering::Relaxed);
                    }
                }
                slow.bucket_start = now;
                tracing::info!(target: "idemgate", breaker = self.name, "circuit breaker closed");
            }
        }
        self.state.store(to.to_u8(), Ordering::Release);
        ::metrics::gauge!(crate::metrics::BREAKER_STATE, "breaker" => self.name).set(to.gauge_value());
        self.watch.send_replace(to);
    }

    /// Slides the window to `now`; returns the current bucket.
    fn rotate(&self, slow: &mut Slow, now: Instant) -> usize {
        let bucket_len = (self.config.window / BUCKETS as u32).max(Duration::from_millis(1));
        let current = self.current.load(Ordering::Relaxed);
        let age = now.saturating_duration_since(slow.bucket_start);
        if age < bucket_len {
            return current;
        }
        let steps = (age.as_nanos() / bucket_len.as_nanos()).min(u128::from(u32::MAX)) as u32;
        for k in 1..=steps.min(BUCKETS as u32) as usize {
            let b = (current + k) % BUCKETS;
            slow.failures[b] = 0;
            for s in self.successes.iter() {
                s.0[b].store(0, Ordering::Relaxed);
            }
        }
        let next = (current + steps as usize % BUCKETS) % BUCKETS;
        slow.bucket_start += bucket_len * steps;
        self.current.store(next, Ordering::Relaxed);
        next
    }
}

impl Retryability {
    /// Whether this classification allows a retry (transient or throttled).
    pub const fn is_retryable(&self) -> bool {
        !matches!(self, Retryability::Permanent)
    }
}

fn registry() -> &'static RwLock<HashMap<&'static str, Arc<Breaker>>> {
    static REGISTRY: OnceLock<RwLock<HashMap<&'static str, Arc<Breaker>>>> = OnceLock::new();
    REGISTRY.get_or_init(Default::default)
}

/// The process-wide breaker called `name`, created with the defaults on first use.
pub fn get(name: &'static str) -> Arc<Breaker> {
    if let Some(b) = registry().read().unwrap_or_else(PoisonError::into_inner).get(name) {
        return b.clone();
    }
    registry()
        .write()
        .unwrap_or_else(PoisonError::into_inner)
        .entry(name)
        .or_insert_with(|| Arc::new(Breaker::new(name, BreakerConfig::new())))
        .clone()
}

/// Creates the process-wide breaker `name` with `config`. Call it at start-up, before any
/// policy uses the name; afterwards it fails with [`Error::AlreadyConfigured`].
pub fn configure(name: &'static str, config: BreakerConfig) -> Result<Arc<Breaker>, Error> {
    let mut reg = registry().write().unwrap_or_else(PoisonError::into_inner);
    if reg.contains_key(name) {
        return Err(Error::AlreadyConfigured { kind: "breaker", name });
    }
    let b = Arc::new(Breaker::new(name, config));
    reg.insert(name, b.clone());
    Ok(b)
}
