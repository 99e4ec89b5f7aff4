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

use std::future::Future;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use tokio::sync::watch;
use tokio::time::Instant;

use crate::classify::Classification;
use crate::named::Named;
use crate::stripe::SlotCounters;
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
    /// Successes per bucket (monotonic, striped per thread).
    successes: SlotCounters<BUCKETS>,
    slow: Mutex<Slow>,
    watch: watch::Sender<State>,
}

#[derive(Debug)]
struct Slow {
    bucket_start: Instant,
    failures: [u64; BUCKETS],
    /// Raw success count of each bucket when it was last reset.
    success_offset: [u64; BUCKETS],
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
    /// Set for half-open probes only, so a closed-state permit has no drop work.
    probe: Option<Probe<'a>>,
}

/// A half-open probe slot; dropping it unreported gives the slot back.
#[derive(Debug)]
pub(crate) struct Probe<'a> {
    breaker: &'a Breaker,
    generation: u64,
    reported: bool,
}

impl Permit<'_> {
    /// Reports the call's outcome: `failed = true` counts against the dependency.
    #[inline(always)]
    pub fn record(self, failed: bool) {
        match self.probe {
            None if !failed => self.breaker.on_success(),
            None => self.breaker.on_failure(),
            Some(probe) => self.breaker.on_probe_result(probe, failed),
        }
    }
}

impl Probe<'_> {
    /// Reports the probe's outcome.
    pub(crate) fn record(self, failed: bool) {
        self.breaker.on_probe_result(self, failed);
    }
}

impl Drop for Probe<'_> {
    fn drop(&mut self) {
        if !self.reported {
            let mut slow = self.breaker.lock();
            if slow.generation == self.generation {
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
            successes: SlotCounters::new(),
            slow: Mutex::new(Slow {
                bucket_start: now,
                failures: [0; BUCKETS],
                success_offset: [0; BUCKETS],
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
            return Ok(Permit {
                breaker: self,
                probe: None,
            });
        }
        self.acquire_slow()
    }

    /// Admission for the retry executor: `Ok(None)` when closed (report with
    /// [`Breaker::record_closed`]; nothing to carry across the call), a probe when half-open.
    #[inline]
    pub(crate) fn admit(&self) -> Result<Option<Probe<'_>>, Error> {
        if self.state.load(Ordering::Acquire) == State::Closed.to_u8() {
            return Ok(None);
        }
        self.acquire_slow().map(|p| p.probe)
    }

    /// Reports the outcome of a call admitted while closed.
    #[inline]
    pub(crate) fn record_closed(&self, failed: bool) {
        if failed {
            self.on_failure();
        } else {
            self.on_success();
        }
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
        self.call_classified(
            |r: &Result<T, E>| r.as_ref().err().map(|e| e.retryability()),
            fut,
        )
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
        let failed = classify(&out)
            .map(Classification::into_retryability)
            .is_some_and(|r| r.is_retryable());
        permit.record(failed);
        out
    }

    /// Like [`Breaker::call`], but when the breaker refuses the call, `fallback` answers
    /// instead (a cached value, a degraded response).
    pub async fn call_or_fallback<T, E, Fut, FB, FbFut>(
        &self,
        fut: Fut,
        fallback: FB,
    ) -> Result<T, E>
    where
        Fut: Future<Output = Result<T, E>>,
        E: crate::Retryable + From<Error>,
        FB: FnOnce(Error) -> FbFut,
        FbFut: Future<Output = Result<T, E>>,
    {
        match self.acquire() {
            Ok(permit) => {
                let out = fut.await;
                let failed = out
                    .as_ref()
                    .err()
                    .is_some_and(|e| e.retryability().is_retryable());
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
        if state == State::Open
            && now.saturating_duration_since(slow.opened_at) >= self.config.open_for
        {
            self.transition(&mut slow, State::HalfOpen, now);
            state = State::HalfOpen;
        }
        match state {
            State::Closed => Ok(Permit {
                breaker: self,
                probe: None,
            }),
            State::HalfOpen if slow.probes_admitted < self.config.half_open_probes.max(1) => {
                slow.probes_admitted += 1;
                Ok(Permit {
                    breaker: self,
                    probe: Some(Probe {
                        breaker: self,
                        generation: slow.generation,
                        reported: false,
                    }),
                })
            }
            _ => {
                ::metrics::counter!(crate::metrics::BREAKER_REJECTED, "breaker" => self.name)
                    .increment(1);
                Err(Error::CircuitOpen { name: self.name })
            }
        }
    }

    #[inline]
    fn on_success(&self) {
        self.successes.add(1);
    }

    fn reset_bucket(&self, slow: &mut Slow, bucket: usize) {
        slow.failures[bucket] = 0;
        slow.success_offset[bucket] = self.successes.raw(bucket);
    }

    #[cold]
    #[inline(never)]
    fn on_failure(&self) {
        let now = Instant::now();
        let mut slow = self.lock();
        if self.state() != State::Closed {
            return;
        }
        let bucket = self.rotate(&mut slow, now);
        slow.failures[bucket] += 1;
        let failures: u64 = slow.failures.iter().sum();
        let successes: u64 = (0..BUCKETS)
            .map(|b| self.successes.raw(b).wrapping_sub(slow.success_offset[b]))
            .fold(0u64, u64::wrapping_add);
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

    #[cold]
    #[inline(never)]
    fn on_probe_result(&self, mut probe: Probe<'_>, failed: bool) {
        probe.reported = true;
        self.on_probe(probe.generation, failed);
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
        if slow.probe_successes + slow.probe_failures < probes.min(2) {
            return; // one result never decides alone
        }
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
                ::metrics::counter!(crate::metrics::BREAKER_OPENS, "breaker" => self.name)
                    .increment(1);
                tracing::warn!(target: "idemgate", breaker = self.name, "circuit breaker opened");
            }
            State::HalfOpen => {
                tracing::info!(target: "idemgate", breaker = self.name, "circuit breaker half-open");
            }
            State::Closed => {
                for b in 0..BUCKETS {
                    self.reset_bucket(slow, b);
                }
                slow.bucket_start = now;
                tracing::info!(target: "idemgate", breaker = self.name, "circuit breaker closed");
            }
        }
        self.state.store(to.to_u8(), Ordering::Release);
        ::metrics::gauge!(crate::metrics::BREAKER_STATE, "breaker" => self.name)
            .set(to.gauge_value());
        self.watch.send_replace(to);
    }

    /// Slides the window to `now`; returns the current bucket.
    fn rotate(&self, slow: &mut Slow, now: Instant) -> usize {
        let bucket_len = (self.config.window / BUCKETS as u32).max(Duration::from_millis(1));
        let current = self.successes.current();
        let age = now.saturating_duration_since(slow.bucket_start);
        if age < bucket_len {
            return current;
        }
        let steps = (age.as_nanos() / bucket_len.as_nanos()).min(u128::from(u32::MAX)) as u32;
        for k in 1..=steps.min(BUCKETS as u32) as usize {
            self.reset_bucket(slow, (current + k) % BUCKETS);
        }
        let next = (current + steps as usize % BUCKETS) % BUCKETS;
        slow.bucket_start += bucket_len * steps;
        self.successes.set_current(next);
        next
    }
}

static REGISTRY: Named<Breaker> = Named::new("breaker");

/// The process-wide breaker called `name`, created with the defaults on first use.
pub fn get(name: &'static str) -> Arc<Breaker> {
    REGISTRY.get_or_create(name, || Breaker::new(name, BreakerConfig::new()))
}

/// Creates the process-wide breaker `name` with `config`. Call it at start-up, before any
/// policy uses the name; afterwards it fails with [`Error::AlreadyConfigured`].
pub fn configure(name: &'static str, config: BreakerConfig) -> Result<Arc<Breaker>, Error> {
    REGISTRY.configure(name, || Breaker::new(name, config))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use crate::test_util::TestErr;
    use proptest::prelude::*;

    fn small() -> BreakerConfig {
        BreakerConfig {
            window: Duration::from_secs(10),
            min_requests: 10,
            failure_threshold: 0.5,
            consecutive_windows: 2,
            open_for: Duration::from_secs(5),
            half_open_probes: 5,
            close_ratio: 0.8,
        }
    }

    /// A small breaker that opens after one bad window.
    fn one_window() -> Breaker {
        Breaker::new(
            "t",
            BreakerConfig {
                consecutive_windows: 1,
                ..small()
            },
        )
    }

    fn record(b: &Breaker, failed: bool) {
        if let Ok(p) = b.acquire() {
            p.record(failed);
        }
    }

    #[tokio::test(start_paused = true)]
    async fn opens_only_after_the_condition_held_for_consecutive_windows() {
        let b = Breaker::new("t", small());
        let mut rx = b.subscribe();
        for _ in 0..9 {
            record(&b, true);
        }
        assert_eq!(b.state(), State::Closed, "below min_requests");
        record(&b, true);
        assert_eq!(
            b.state(),
            State::Closed,
            "the condition holds, not yet for a window"
        );
        for _ in 0..9 {
            tokio::time::advance(Duration::from_secs(1)).await;
            record(&b, true);
            record(&b, false);
            assert_eq!(b.state(), State::Closed);
        }
        tokio::time::advance(Duration::from_secs(1)).await;
        record(&b, true);
        assert_eq!(b.state(), State::Open, "held for a full window");
        assert!(rx.has_changed().unwrap());
        assert_eq!(*rx.borrow_and_update(), State::Open);
        assert!(matches!(b.acquire(), Err(Error::CircuitOpen { name: "t" })));
    }

    #[tokio::test(start_paused = true)]
    async fn successes_reset_the_condition() {
        let b = one_window();
        for _ in 0..20 {
            record(&b, false);
        }
        for _ in 0..10 {
            record(&b, true);
        }
        assert_eq!(b.state(), State::Closed, "10/30 errors is under 50 %");
        for _ in 0..10 {
            record(&b, true);
        }
        assert_eq!(b.state(), State::Open, "20/40 errors");
    }

    async fn opened() -> Breaker {
        let b = one_window();
        for _ in 0..10 {
            record(&b, true);
        }
        assert_eq!(b.state(), State::Open);
        b
    }

    #[tokio::test(start_paused = true)]
    async fn half_open_needs_a_success_ratio_not_one_probe() {
        let b = opened().await;
        tokio::time::advance(Duration::from_millis(4999)).await;
        assert!(b.acquire().is_err(), "still open");
        tokio::time::advance(Duration::from_millis(1)).await;
        let probes: Vec<_> = (0..5).map(|_| b.acquire().unwrap()).collect();
        assert_eq!(b.state(), State::HalfOpen);
        assert!(b.acquire().is_err(), "only 5 probes at once");
        let mut probes = probes.into_iter();
        probes.next().unwrap().record(true);
        assert_eq!(
            b.state(),
            State::HalfOpen,
            "the first failure does not decide alone"
        );
        for p in probes {
            p.record(false);
        }
        assert_eq!(b.state(), State::Closed, "4 of 5 succeeded");
    }

    #[tokio::test(start_paused = true)]
    async fn half_open_reopens_when_the_ratio_is_out_of_reach() {
        let b = opened().await;
        tokio::time::advance(Duration::from_secs(5)).await;
        record(&b, true);
        assert_eq!(b.state(), State::HalfOpen);
        record(&b, true);
        assert_eq!(
            b.state(),
            State::Open,
            "2 failures of 5: 80 % is out of reach"
        );
        assert!(b.acquire().is_err());
    }

    #[tokio::test(start_paused = true)]
    async fn dropped_probes_give_their_slot_back() {
        let b = opened().await;
        tokio::time::advance(Duration::from_secs(5)).await;
        for _ in 0..10 {
            drop(b.acquire().unwrap());
        }
        assert_eq!(b.state(), State::HalfOpen);
    }

    #[tokio::test(start_paused = true)]
    async fn ok_outcomes_can_count_as_failures_and_fallback_answers_when_open() {
        let b = one_window();
        for _ in 0..10 {
            let r: Result<u16, TestErr> = b
                .call_classified(
                    |r: &Result<u16, TestErr>| matches!(r, Ok(s) if *s >= 500).then_some(true),
                    async { Ok(503) },
                )
                .await;
            assert_eq!(r, Ok(503));
        }
        assert_eq!(b.state(), State::Open);
        let r: Result<u16, TestErr> = b.call(async { Ok(200) }).await;
        assert_eq!(r, Err(TestErr::Gate("circuit breaker `t` is open".into())));
        let r: Result<u16, TestErr> = b
            .call_or_fallback(async { Ok(200) }, |_| async { Ok(0) })
            .await;
        assert_eq!(r, Ok(0));
    }

    #[derive(Debug, Clone)]
    enum Op {
        Call(bool),
        Hold,
        Release,
        Advance(u16),
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            4 => any::<bool>().prop_map(Op::Call),
            1 => Just(Op::Hold),
            1 => Just(Op::Release),
            2 => (1u16..4000).prop_map(Op::Advance),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        /// The state machine's invariants under any sequence of calls, held probes and time:
        /// no direct open→closed; open lasts at least `open_for`; at most `half_open_probes`
        /// permits while half-open; a single probe result never closes or reopens (with ≥ 2
        /// needed); it only opens after failures, and never without `min_requests` calls.
        #[test]
        fn breaker_state_machine_invariants(
            ops in proptest::collection::vec(op(), 1..200),
            probes in 2u32..6,
            consecutive in 1u32..3,
        ) {
            let rt = tokio::runtime::Builder::new_current_thread().enable_time().start_paused(true).build().unwrap();
            rt.block_on(async {
                let cfg = BreakerConfig {
                    window: Duration::from_secs(10),
                    min_requests: 6,
                    failure_threshold: 0.5,
                    consecutive_windows: consecutive,
                    open_for: Duration::from_secs(5),
                    half_open_probes: probes,
                    close_ratio: 0.9,
                };
                let b = Breaker::new("prop", cfg);
                let mut held = Vec::new();
                let mut prev = b.state();
                let mut opened_at = Instant::now();
                let mut calls_since_close = 0u32;
                let mut failures_since_close = 0u32;
                let mut probe_results = 0u32;
                for op in ops {
                    let now = Instant::now();
                    let before = probe_results;
                    match op {
                        Op::Call(failed) => match b.acquire() {
                            Ok(p) => {
                                if b.state() == State::HalfOpen { probe_results += 1; }
                                if b.state() == State::Closed { calls_since_close += 1; failures_since_close += u32::from(failed); }
                                p.record(failed);
                            }
                            Err(_) => prop_assert!(b.state() != State::Closed),
                        },
                        Op::Hold => {
                            if let Ok(p) = b.acquire() {
                                held.push(p);
                            }
                        }
                        Op::Release => {
                            if let Some(p) = held.pop() {
                                match b.state() {
                                    State::HalfOpen => probe_results += 1,
                                    State::Closed => calls_since_close += 1,
                                    State::Open => {}
                                }
                                p.record(false);
                            }
                        }
                        Op::Advance(ms) => tokio::time::advance(Duration::from_millis(u64::from(ms))).await,
                    }
                    let state = b.state();
                    if state == State::HalfOpen {
                        let admitted = b.lock().probes_admitted;
                        prop_assert!(admitted <= probes);
                    }
                    if prev != state {
                        prop_assert!(!(prev == State::Open && state == State::Closed), "open → closed skips half-open");
                        if prev == State::Open {
                            prop_assert!(now.saturating_duration_since(opened_at) >= cfg.open_for);
                        }
                        if prev == State::HalfOpen {
                            prop_assert!(probe_results >= 2, "a single probe decided");
                        }
                        if prev == State::Closed {
                            prop_assert_eq!(state, State::Open);
                            prop_assert!(failures_since_close >= 1);
                            prop_assert!(calls_since_close >= cfg.min_requests);
                        }
                        if state == State::Open { opened_at = now; }
                        if state == State::Closed { calls_since_close = 0; failures_since_close = 0; }
                        // a call that turned the breaker half-open was its first probe
                        probe_results = if state == State::HalfOpen { probe_results - before } else { 0 };
                        prev = state;
                    }
                }
                drop(held);
                Ok(())
            })?;
        }
    }
}
