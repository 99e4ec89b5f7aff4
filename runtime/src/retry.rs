//! The retry executor: re-runs an async operation with exponential backoff and jitter, under
//! caps on attempts and total time, paid for by a retry budget and guarded by a breaker.
//!
//! ```
//! use std::time::Duration;
//! use idemgate::{Error, RetryPolicy};
//!
//! static FETCH: RetryPolicy = RetryPolicy::new()
//!     .max_attempts(3)
//!     .base(Duration::from_millis(100))
//!     .budget("inventory");
//!
//! # #[derive(Debug)] struct MyError;
//! # impl From<Error> for MyError { fn from(_: Error) -> Self { MyError } }
//! # impl idemgate::Retryable for MyError {
//! #     fn retryability(&self) -> idemgate::Retryability { idemgate::Retryability::Transient }
//! # }
//! # async fn call() -> Result<u32, MyError> { Ok(1) }
//! # async fn demo() -> Result<u32, MyError> {
//! FETCH.run("inventory.fetch", || call()).await
//! # }
//! ```
//!
//! Backoff before retry `n` (1-based) is drawn from `min(cap, base·2^(n-1))`:
//! [`Jitter::Full`] sleeps `random(0, d)`, [`Jitter::Equal`] `d/2 + random(0, d/2)`,
//! [`Jitter::Decorrelated`] `min(cap, random(base, 3·previous))`, [`Jitter::None`] exactly `d`
//! (the gate flags it: synchronized clients retry in lockstep).
//!
//! **One retry layer.** A policy called while another policy's attempt is running (in the same
//! task) makes a single attempt and returns its error: the outer layer owns the retrying, so
//! 3 × 3 never becomes 9. The depth is tracked for the duration of each poll of an attempt,
//! which gives task-local semantics (a spawned task starts a new layer).
//!
//! **Total time.** `max_elapsed` counts from the end of the first failed attempt (the success
//! path reads no clock): no retry starts if its sleep plus the longest attempt seen so far
//! would end past it, and a `Retry-After` longer than what is left ends the retrying.

use std::cell::{Cell, RefCell};
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, OnceLock};
use std::task::{Context, Poll};
use std::time::Duration;

use ::metrics::Counter;
use idemgate_grammar::defaults;
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use tokio::time::Instant;

pub use crate::classify::{parse_retry_after, Classification, Retryability, Retryable};

use crate::breaker::{self, Breaker, Probe};
use crate::budget::{self, RetryBudget};
use crate::named::Named;
use crate::Error;

/// How a backoff delay is randomized.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Jitter {
    /// `random(0, d)` — the default; spreads clients best.
    Full,
    /// `d/2 + random(0, d/2)` — never retries immediately.
    Equal,
    /// `min(cap, random(base, 3·previous))` — AWS's decorrelated jitter.
    Decorrelated,
    /// Exactly `d`. Flagged by the gate (RETRY002): clients retry in lockstep.
    None,
}

/// The longest sleep a retry ever waits, even when a `Retry-After` asks for more and there is
/// no `max_elapsed`: past it, the retrying ends with the last error.
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(15 * 60);

/// A retry policy: build it in a `static` (every builder is `const`) and call [`run`].
///
/// Defaults: 4 attempts, base 200 ms, cap 5 s, max elapsed 10 s, full jitter, the `"default"`
/// budget, no breaker.
///
/// [`run`]: RetryPolicy::run
pub struct RetryPolicy {
    max_attempts: u32,
    base: Duration,
    cap: Duration,
    max_elapsed: Option<Duration>,
    jitter: Jitter,
    budget: Option<&'static str>,
    breaker: Option<&'static str>,
    /// Registry handles and metric handles, looked up on the first call.
    cache: OnceLock<&'static Handles>,
}

impl std::fmt::Debug for RetryPolicy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RetryPolicy")
            .field("max_attempts", &self.max_attempts)
            .field("base", &self.base)
            .field("cap", &self.cap)
            .field("max_elapsed", &self.max_elapsed)
            .field("jitter", &self.jitter)
            .field("budget", &self.budget)
            .field("breaker", &self.breaker)
            .finish()
    }
}

impl Clone for RetryPolicy {
    fn clone(&self) -> Self {
        Self {
            max_attempts: self.max_attempts,
            base: self.base,
            cap: self.cap,
            max_elapsed: self.max_elapsed,
            jitter: self.jitter,
            budget: self.budget,
            breaker: self.breaker,
            cache: OnceLock::new(),
        }
    }
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self::new()
    }
}

struct Handles {
    operation: &'static str,
    budget: Option<Arc<RetryBudget>>,
    breaker: Option<Arc<Breaker>>,
    /// Metric handles the success path uses.
    success: Counter,
    attempts: Counter,
}

impl Handles {
    /// The handles for a (budget, breaker, operation) triple: created once per process and
    /// never freed (the triples are `&'static str`s, so they are few), which lets a policy
    /// hand out `&'static` references and permits without reference counting.
    fn get(
        budget: Option<&'static str>,
        breaker: Option<&'static str>,
        operation: &'static str,
    ) -> &'static Handles {
        type Key = (Option<&'static str>, Option<&'static str>, &'static str);
        static REGISTRY: Named<&'static Handles, Key> = Named::new("policy handles");
        *REGISTRY.get_or_create((budget, breaker, operation), || {
            crate::metrics::register_policy(operation, budget, breaker);
            Box::leak(Box::new(Handles {
                operation,
                budget: budget.map(budget::get),
                breaker: breaker.map(breaker::get),
                success: ::metrics::counter!(crate::metrics::CALLS, "operation" => operation, "outcome" => "success"),
                attempts: ::metrics::counter!(crate::metrics::ATTEMPTS, "operation" => operation),
            }))
        })
    }
}

impl RetryPolicy {
    /// The defaults: 4 attempts, base 200 ms, cap 5 s, max elapsed 10 s, full jitter, budget
    /// `"default"`, no breaker.
    /// The values are `idemgate_grammar::defaults`, the ones the gate models policies with.
    pub const fn new() -> Self {
        Self {
            max_attempts: defaults::MAX_ATTEMPTS as u32,
            base: Duration::from_millis(defaults::BASE_MS),
            cap: Duration::from_millis(defaults::CAP_MS),
            max_elapsed: Some(Duration::from_millis(defaults::MAX_ELAPSED_MS)),
            jitter: Jitter::Full,
            budget: Some(defaults::BUDGET),
            breaker: None,
            cache: OnceLock::new(),
        }
    }

    /// Attempts in total, the first included (0 is treated as 1).
    pub const fn max_attempts(mut self, n: u32) -> Self {
        self.max_attempts = n;
        self
    }

    /// The first backoff step.
    pub const fn base(mut self, d: Duration) -> Self {
        self.base = d;
        self
    }

    /// The largest backoff step.
    pub const fn cap(mut self, d: Duration) -> Self {
        self.cap = d;
        self
    }

    /// Total time for retrying, sleeps included.
    pub const fn max_elapsed(mut self, d: Duration) -> Self {
        self.max_elapsed = Some(d);
        self
    }

    /// No total-time cap (attempts still are).
    pub const fn no_max_elapsed(mut self) -> Self {
        self.max_elapsed = None;
        self
    }

    /// The jitter.
    pub const fn jitter(mut self, j: Jitter) -> Self {
        self.jitter = j;
        self
    }

    /// Pays for retries from the process-wide budget `name`.
    pub const fn budget(mut self, name: &'static str) -> Self {
        self.budget = Some(name);
        self
    }

    /// No shared budget (the gate asks for an exemption).
    pub const fn no_budget(mut self) -> Self {
        self.budget = None;
        self
    }

    /// Guards every attempt with the process-wide breaker `name`.
    pub const fn breaker(mut self, name: &'static str) -> Self {
        self.breaker = Some(name);
        self
    }

    /// Configured attempts (at least 1).
    pub const fn attempts_limit(&self) -> u32 {
        if self.max_attempts == 0 {
            1
        } else {
            self.max_attempts
        }
    }

    /// The name of the budget, if any.
    pub const fn budget_name(&self) -> Option<&'static str> {
        self.budget
    }

    /// The name of the breaker, if any.
    pub const fn breaker_name(&self) -> Option<&'static str> {
        self.breaker
    }

    /// Runs `op`, retrying errors that [`Retryable`] calls transient or throttled.
    ///
    /// `op` is called once per attempt and must produce a fresh future. The result is the
    /// first success or the last error; with a breaker, a call refused up front is
    /// `Err(Error::CircuitOpen.into())`. (An `async fn` in effect: it returns the future.)
    pub fn run<'a, T, E, F, Fut>(
        &'a self,
        operation: &'static str,
        op: F,
    ) -> impl Future<Output = Result<T, E>> + 'a
    where
        F: FnMut() -> Fut + 'a,
        Fut: Future<Output = Result<T, E>> + 'a,
        E: Retryable + From<Error> + 'a,
        T: 'a,
    {
        self.run_outcome(operation, classify_err::<T, E>, op)
    }

    /// Runs `op`, classifying errors with `classify` (a `retry_on` predicate returning `bool`
    /// or [`Retryability`]) instead of [`Retryable`].
    pub fn run_classified<'a, T, E, F, Fut, C, R>(
        &'a self,
        operation: &'static str,
        classify: C,
        op: F,
    ) -> impl Future<Output = Result<T, E>> + 'a
    where
        F: FnMut() -> Fut + 'a,
        Fut: Future<Output = Result<T, E>> + 'a,
        C: Fn(&E) -> R + 'a,
        R: Classification,
        E: From<Error> + 'a,
        T: 'a,
    {
        self.run_outcome(
            operation,
            move |r: &Result<T, E>| r.as_ref().err().map(|e| classify(e).into_retryability()),
            op,
        )
    }

    /// Like [`run`](RetryPolicy::run), but when the breaker refuses the call up front,
    /// `fallback` answers instead (a cached value, a degraded response). A retry refused by
    /// the breaker still ends with the last error.
    pub async fn run_or_fallback<T, E, F, Fut, FB, FbFut>(
        &self,
        operation: &'static str,
        mut op: F,
        fallback: FB,
    ) -> Result<T, E>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, E>>,
        E: Retryable,
        FB: FnOnce(Error) -> FbFut,
        FbFut: Future<Output = Result<T, E>>,
    {
        let outcome = self
            .run_outcome(
                operation,
                |r: &Result<T, Refusable<E>>| match r {
                    Ok(_) => None,
                    Err(Refusable::Op(e)) => Some(e.retryability()),
                    Err(Refusable::Refused(_)) => Some(Retryability::Permanent),
                },
                || {
                    let attempt = op();
                    async move { attempt.await.map_err(Refusable::Op) }
                },
            )
            .await;
        match outcome {
            Ok(v) => Ok(v),
            Err(Refusable::Op(e)) => Err(e),
            Err(Refusable::Refused(e)) => fallback(e).await,
        }
    }

    /// Runs `op`, classifying whole results: `None` is a success, `Some(_)` a failure — so an
    /// `Ok` response with status 503 can be retried (and counted by the breaker). When
    /// retries end on such an `Ok`, that `Ok` is returned.
    pub fn run_outcome<'a, T, E, F, Fut, C>(
        &'a self,
        operation: &'static str,
        classify: C,
        op: F,
    ) -> impl Future<Output = Result<T, E>> + 'a
    where
        F: FnMut() -> Fut + 'a,
        Fut: Future<Output = Result<T, E>> + 'a,
        C: FnMut(&Result<T, E>) -> Option<Retryability> + 'a,
        E: From<Error> + 'a,
        T: 'a,
    {
        self.start(operation, classify, Gated(<E as From<Error>>::from), op)
    }

    /// Like [`run`](RetryPolicy::run), for any error type: no `From<idemgate::Error>` is
    /// needed because nothing is refused up front — the first attempt always runs.
    ///
    /// Meant for policies without a breaker (what `#[retry_policy]` calls when no `breaker`
    /// is given). Budget exhaustion, `max_elapsed`, the attempt cap and a task budget end the
    /// retrying with the last error, as in `run`. If the policy does have a breaker, it is not
    /// asked before the first attempt (that attempt is neither refused nor counted) and still
    /// guards every retry: an open breaker ends the retrying with the last error.
    pub fn run_always<'a, T, E, F, Fut>(
        &'a self,
        operation: &'static str,
        op: F,
    ) -> impl Future<Output = Result<T, E>> + 'a
    where
        F: FnMut() -> Fut + 'a,
        Fut: Future<Output = Result<T, E>> + 'a,
        E: Retryable + 'a,
        T: 'a,
    {
        self.start(operation, classify_err::<T, E>, Ungated, op)
    }

    /// [`run_always`](RetryPolicy::run_always) with a `retry_on` predicate (see
    /// [`run_classified`](RetryPolicy::run_classified)).
    pub fn run_classified_always<'a, T, E, F, Fut, C, R>(
        &'a self,
        operation: &'static str,
        classify: C,
        op: F,
    ) -> impl Future<Output = Result<T, E>> + 'a
    where
        F: FnMut() -> Fut + 'a,
        Fut: Future<Output = Result<T, E>> + 'a,
        C: Fn(&E) -> R + 'a,
        R: Classification,
        E: 'a,
        T: 'a,
    {
        self.start(
            operation,
            move |r: &Result<T, E>| r.as_ref().err().map(|e| classify(e).into_retryability()),
            Ungated,
            op,
        )
    }

    /// [`run_outcome`](RetryPolicy::run_outcome) where `refused` turns a breaker's refusal of
    /// the first attempt into the caller's error (no `From<idemgate::Error>` needed).
    pub fn run_outcome_or<'a, T, E, F, Fut, C, R>(
        &'a self,
        operation: &'static str,
        classify: C,
        refused: R,
        op: F,
    ) -> impl Future<Output = Result<T, E>> + 'a
    where
        F: FnMut() -> Fut + 'a,
        Fut: Future<Output = Result<T, E>> + 'a,
        C: FnMut(&Result<T, E>) -> Option<Retryability> + 'a,
        R: FnOnce(Error) -> E + 'a,
        E: 'a,
        T: 'a,
    {
        self.start(operation, classify, Gated(refused), op)
    }

    /// The future of every `run*`: `refuse` maps a breaker's refusal of the first attempt;
    /// [`Ungated`]: the breaker is not asked before the first attempt.
    fn start<'a, T, E, F, Fut, C, R>(
        &'a self,
        operation: &'static str,
        classify: C,
        refuse: R,
        op: F,
    ) -> impl Future<Output = Result<T, E>> + 'a
    where
        F: FnMut() -> Fut + 'a,
        Fut: Future<Output = Result<T, E>> + 'a,
        C: FnMut(&Result<T, E>) -> Option<Retryability> + 'a,
        R: Refusal<E> + 'a,
        E: 'a,
        T: 'a,
    {
        Run {
            policy: self,
            handles: self.handles(operation),
            refuse: Some(refuse),
            parts: Some((
                op,
                classify,
                |policy: &'a RetryPolicy,
                 handles: &'static Handles,
                 begin: Begin<T, E>,
                 classify: C,
                 op: F| {
                    policy.retry_slow(handles, handles.operation, begin, classify, op)
                },
            )),
            state: RunState::Start,
        }
    }

    /// The handles for `operation`: the policy's cached ones on the hot path.
    #[inline]
    fn handles(&self, operation: &'static str) -> &'static Handles {
        let cached = *self
            .cache
            .get_or_init(|| Handles::get(self.budget, self.breaker, operation));
        if std::ptr::eq(cached.operation, operation) || cached.operation == operation {
            cached
        } else {
            // The same policy value serves several operations: correct, only slower.
            Handles::get(self.budget, self.breaker, operation)
        }
    }

    async fn retry_slow<T, E, F, Fut, C>(
        &self,
        handles: &Handles,
        operation: &'static str,
        begin: Begin<T, E>,
        mut classify: C,
        mut op: F,
    ) -> Result<T, E>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, E>>,
        C: FnMut(&Result<T, E>) -> Option<Retryability>,
    {
        let (mut last, mut verdict) = match begin {
            Begin::Failed(last, verdict) => (last, verdict),
            Begin::Probe(probe) => {
                // A half-open breaker's probe: the first attempt runs here, off the hot path.
                let result = InAttempt { inner: op() }.await;
                let v = classify(&result);
                probe.record(v.is_some_and(|v| v.is_retryable()));
                match v {
                    None => {
                        handles.success.increment(1);
                        handles.attempts.increment(1);
                        return result;
                    }
                    Some(v) => (result, v),
                }
            }
        };
        let mut attempt: u32 = 1;
        let outcome = 'retry: {
            if in_attempt() {
                ::metrics::counter!(crate::metrics::NESTED_SUPPRESSED, "operation" => operation)
                    .increment(1);
                break 'retry "nested";
            }
            let first_failure = Instant::now();
            let deadline = self.max_elapsed.and_then(|d| first_failure.checked_add(d));
            let mut previous = self.base;
            let mut longest_attempt = Duration::ZERO;
            loop {
                let reason = match verdict {
                    Retryability::Permanent => break 'retry "permanent",
                    Retryability::Transient => "transient",
                    Retryability::Throttled { .. } => "throttled",
                };
                if attempt >= self.attempts_limit() {
                    break 'retry "exhausted";
                }
                let mut delay = self.backoff(attempt, &mut previous);
                if let Retryability::Throttled {
                    retry_after: Some(ra),
                } = verdict
                {
                    delay = delay.max(ra);
                }
                if delay > MAX_RETRY_AFTER {
                    break 'retry "deadline";
                }
                if let Some(deadline) = deadline {
                    let end = Instant::now()
                        .checked_add(delay)
                        .and_then(|t| t.checked_add(longest_attempt));
                    if end.is_none_or(|end| end > deadline) {
                        break 'retry "deadline";
                    }
                }
                if !budget::task_has_retry() {
                    exhausted("task", operation);
                    break 'retry "budget_exhausted";
                }
                if let Some(b) = &handles.budget {
                    if !b.try_withdraw() {
                        exhausted(b.name(), operation);
                        break 'retry "budget_exhausted";
                    }
                }
                budget::task_take();
                ::metrics::counter!(crate::metrics::RETRIES, "operation" => operation, "reason" => reason).increment(1);
                tracing::debug!(target: "idemgate", operation, attempt, delay_ms = delay.as_millis() as u64, reason, "retrying");
                tokio::time::sleep(delay).await;
                let permit = match &handles.breaker {
                    Some(b) => match b.acquire() {
                        Ok(p) => Some(p),
                        Err(_) => break 'retry "circuit_open",
                    },
                    None => None,
                };
                let started = Instant::now();
                last = InAttempt { inner: op() }.await;
                longest_attempt = longest_attempt.max(started.elapsed());
                attempt += 1;
                let v = classify(&last);
                if let Some(p) = permit {
                    p.record(v.is_some_and(|v| v.is_retryable()));
                }
                match v {
                    None => break 'retry "success",
                    Some(v) => verdict = v,
                }
            }
        };
        handles.attempts.increment(u64::from(attempt));
        count_call(operation, outcome);
        last
    }

    /// The sleep before retry number `retry` (1-based).
    fn backoff(&self, retry: u32, previous: &mut Duration) -> Duration {
        let exp = self
            .base
            .saturating_mul(
                1u32.checked_shl(retry.saturating_sub(1))
                    .unwrap_or(u32::MAX),
            )
            .min(self.cap);
        let d = match self.jitter {
            Jitter::None => exp,
            Jitter::Full => random_between(Duration::ZERO, exp),
            Jitter::Equal => exp / 2 + random_between(Duration::ZERO, exp - exp / 2),
            Jitter::Decorrelated => {
                let hi = previous.saturating_mul(3).max(self.base);
                random_between(self.base, hi).min(self.cap)
            }
        };
        *previous = d;
        d
    }
}

/// How the retry loop begins: after a failed first attempt, or with a half-open breaker's
/// probe for the first attempt.
enum Begin<T, E> {
    Failed(Result<T, E>, Retryability),
    Probe(Probe<'static>),
}

/// What a breaker's refusal of the first attempt becomes — known from the type, so a policy
/// called through `run_always` does not even look at its breaker on the first attempt.
trait Refusal<E> {
    /// Whether the breaker is asked before the first attempt.
    const GATED: bool;
    fn refused(self, error: Error) -> E;
}

/// The first attempt is gated; `R` maps the refusal.
struct Gated<R>(R);

impl<E, R: FnOnce(Error) -> E> Refusal<E> for Gated<R> {
    const GATED: bool = true;
    fn refused(self, error: Error) -> E {
        (self.0)(error)
    }
}

/// The first attempt always runs (`run_always`).
struct Ungated;

impl<E> Refusal<E> for Ungated {
    const GATED: bool = false;
    fn refused(self, _: Error) -> E {
        unreachable!("an ungated first attempt is never refused")
    }
}

pin_project_lite::pin_project! {
    /// The future of every `run*`. Hand-written so the success path is one small state
    /// machine: the retry loop — and a half-open breaker's probe — is boxed and only built
    /// when needed.
    struct Run<'a, T, E, F, Fut, C, G, S, R> {
        policy: &'a RetryPolicy,
        handles: &'static Handles,
        refuse: Option<R>,
        // The operation, its classifier and the retry loop's constructor: taken together
        // when the retry loop starts.
        parts: Option<(F, C, G)>,
        #[pin]
        state: RunState<Fut, SlowBox<S>, Result<T, E>>,
    }
}

/// The boxed retry loop, dropped out of line: its drop glue stays out of the success path's
/// state changes.
struct SlowBox<S>(Option<Pin<Box<S>>>);

impl<S> Drop for SlowBox<S> {
    #[inline]
    fn drop(&mut self) {
        if self.0.is_some() {
            drop_slow(self.0.take());
        }
    }
}

#[cold]
#[inline(never)]
fn drop_slow<S>(slow: Option<Pin<Box<S>>>) {
    drop(slow);
}

pin_project_lite::pin_project! {
    #[project = RunStateProj]
    enum RunState<Fut, S, R> {
        Start,
        First { #[pin] attempt: InAttempt<Fut> },
        Retrying { slow: S },
        Done { _output: std::marker::PhantomData<fn() -> R> },
    }
}

impl<'a, T, E, F, Fut, C, G, S, R> Run<'a, T, E, F, Fut, C, G, S, R>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, E>>,
    C: FnMut(&Result<T, E>) -> Option<Retryability>,
    G: FnOnce(&'a RetryPolicy, &'static Handles, Begin<T, E>, C, F) -> S,
    S: Future<Output = Result<T, E>>,
    R: Refusal<E>,
{
    /// Builds the retry loop (boxed: the success path never pays for its size) and moves
    /// to it. Out of line, so the success path's own state changes keep their drop glue
    /// inlined.
    #[cold]
    #[inline(never)]
    fn retrying(
        mut state: Pin<&mut RunState<Fut, SlowBox<S>, Result<T, E>>>,
        policy: &'a RetryPolicy,
        handles: &'static Handles,
        parts: &mut Option<(F, C, G)>,
        begin: Begin<T, E>,
    ) {
        let Some((op, classify, slow)) = parts.take() else {
            unreachable!("the retry loop is built once")
        };
        let slow = SlowBox(Some(Box::pin(slow(policy, handles, begin, classify, op))));
        state.set(RunState::Retrying { slow });
    }

    /// Ends the future off the success path (a refused call).
    #[cold]
    #[inline(never)]
    fn done(mut state: Pin<&mut RunState<Fut, SlowBox<S>, Result<T, E>>>) {
        state.set(RunState::Done {
            _output: std::marker::PhantomData,
        });
    }
}

impl<'a, T, E, F, Fut, C, G, S, R> Future for Run<'a, T, E, F, Fut, C, G, S, R>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, E>>,
    C: FnMut(&Result<T, E>) -> Option<Retryability>,
    G: FnOnce(&'a RetryPolicy, &'static Handles, Begin<T, E>, C, F) -> S,
    S: Future<Output = Result<T, E>>,
    R: Refusal<E>,
{
    type Output = Result<T, E>;

    #[inline]
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<T, E>> {
        let mut this = self.project();
        // Straight-line on the success path: start, then poll the first attempt (no loop, so
        // each state change knows the state it replaces and needs no drop check).
        if let RunStateProj::Start = this.state.as_mut().project() {
            let handles: &'static Handles = this.handles;
            if let Some(b) = &handles.budget {
                // One deposit per logical call: a nested call is part of the outer one.
                if !in_attempt() {
                    b.deposit();
                }
            }
            let mut admitted = true;
            if R::GATED {
                if let Some(b) = &handles.breaker {
                    match b.admit() {
                        // Closed: nothing to carry across the call.
                        Ok(None) => {}
                        Ok(Some(probe)) => {
                            Self::retrying(
                                this.state.as_mut(),
                                this.policy,
                                handles,
                                this.parts,
                                Begin::Probe(probe),
                            );
                            admitted = false;
                        }
                        Err(e) => {
                            count_call(handles.operation, "circuit_open");
                            Self::done(this.state.as_mut());
                            let Some(refuse) = this.refuse.take() else {
                                unreachable!("a call is refused once")
                            };
                            return Poll::Ready(Err(refuse.refused(e)));
                        }
                    }
                }
            }
            if admitted {
                let Some((op, _, _)) = this.parts.as_mut() else {
                    unreachable!("the parts are taken only when retrying")
                };
                let attempt = InAttempt { inner: op() };
                this.state.set(RunState::First { attempt });
            }
        }
        if let RunStateProj::First { attempt } = this.state.as_mut().project() {
            let result = std::task::ready!(attempt.poll(cx));
            let Some((_, classify, _)) = this.parts.as_mut() else {
                unreachable!("the parts are taken only when retrying")
            };
            let verdict = classify(&result);
            let handles: &'static Handles = this.handles;
            if R::GATED {
                if let Some(b) = &handles.breaker {
                    b.record_closed(verdict.is_some_and(|v| v.is_retryable()));
                }
            }
            match verdict {
                None => {
                    handles.success.increment(1);
                    handles.attempts.increment(1);
                    this.state.set(RunState::Done {
                        _output: std::marker::PhantomData,
                    });
                    return Poll::Ready(result);
                }
                Some(v) => Self::retrying(
                    this.state.as_mut(),
                    this.policy,
                    handles,
                    this.parts,
                    Begin::Failed(result, v),
                ),
            }
        }
        Self::poll_retrying(this.state, cx)
    }
}

impl<'a, T, E, F, Fut, C, G, S, R> Run<'a, T, E, F, Fut, C, G, S, R>
where
    S: Future<Output = Result<T, E>>,
{
    /// Polls the retry loop (the state is `Retrying`, or `Done` when polled too often).
    #[inline(never)]
    fn poll_retrying(
        mut state: Pin<&mut RunState<Fut, SlowBox<S>, Result<T, E>>>,
        cx: &mut Context<'_>,
    ) -> Poll<Result<T, E>> {
        let result = match state.as_mut().project() {
            RunStateProj::Retrying { slow } => {
                let Some(slow) = slow.0.as_mut() else {
                    unreachable!("the retry loop is dropped only with its state")
                };
                std::task::ready!(slow.as_mut().poll(cx))
            }
            RunStateProj::Done { .. } => {
                panic!("a retry policy's future was polled after it completed")
            }
            _ => unreachable!("the first attempt is polled by `Run::poll`"),
        };
        state.set(RunState::Done {
            _output: std::marker::PhantomData,
        });
        Poll::Ready(result)
    }
}

/// An operation's error, or idemgate's refusal to run it.
enum Refusable<E> {
    Op(E),
    Refused(Error),
}

impl<E> From<Error> for Refusable<E> {
    fn from(e: Error) -> Self {
        Refusable::Refused(e)
    }
}

fn classify_err<T, E: Retryable>(r: &Result<T, E>) -> Option<Retryability> {
    r.as_ref().err().map(Retryable::retryability)
}

#[cold]
#[inline(never)]
fn count_call(operation: &'static str, outcome: &'static str) {
    ::metrics::counter!(crate::metrics::CALLS, "operation" => operation, "outcome" => outcome)
        .increment(1);
}

fn exhausted(budget: &'static str, operation: &'static str) {
    ::metrics::counter!(crate::metrics::BUDGET_EXHAUSTED, "budget" => budget).increment(1);
    tracing::warn!(target: "idemgate", budget, operation, "retry budget exhausted; failing fast");
}

thread_local! {
    /// Lazily seeded: only a failure ever draws a random number.
    static RNG: RefCell<Option<SmallRng>> = const { RefCell::new(None) };
    /// Retry attempts being polled on this thread right now (see [`InAttempt`]).
    static DEPTH: Cell<u32> = const { Cell::new(0) };
}

fn random_between(lo: Duration, hi: Duration) -> Duration {
    if hi <= lo {
        return lo;
    }
    let span = (hi - lo).as_nanos().min(u128::from(u64::MAX)) as u64;
    let n = RNG.with(|r| {
        let mut r = r.borrow_mut();
        let rng = r.get_or_insert_with(SmallRng::from_os_rng);
        rng.random_range(0..=span)
    });
    lo + Duration::from_nanos(n)
}

/// Whether the caller runs inside a retry policy's attempt (so it must not retry itself).
#[inline]
pub fn in_attempt() -> bool {
    DEPTH.with(Cell::get) > 0
}

pin_project_lite::pin_project! {
    /// An attempt's future: while it is polled, nested policies see that they are nested.
    struct InAttempt<F> {
        #[pin]
        inner: F,
    }
}

impl<F: Future> Future for InAttempt<F> {
    type Output = F::Output;

    #[inline]
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let _depth = DepthGuard::enter();
        self.project().inner.poll(cx)
    }
}

/// Raises the depth for one poll and puts the previous value back (a plain store, so
/// consecutive calls do not chain read-modify-writes).
struct DepthGuard(u32);

impl DepthGuard {
    #[inline]
    fn enter() -> Self {
        let previous = DEPTH.with(Cell::get);
        // Wrapping: 2^32 nested polls would overflow the stack long before.
        DEPTH.with(|d| d.set(previous.wrapping_add(1)));
        DepthGuard(previous)
    }
}

impl Drop for DepthGuard {
    #[inline]
    fn drop(&mut self) {
        let previous = self.0;
        DEPTH.with(|d| d.set(previous));
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use std::sync::atomic::{AtomicU32, Ordering};

    use super::*;
    use crate::budget::{BudgetConfig, TaskBudget};
    use crate::test_util::TestErr;

    /// An operation failing with `errs` in turn, then succeeding; counts its calls.
    fn flaky(
        calls: &AtomicU32,
        errs: Vec<TestErr>,
    ) -> impl FnMut() -> std::future::Ready<Result<u32, TestErr>> + '_ {
        let mut errs = errs.into_iter();
        move || {
            let n = calls.fetch_add(1, Ordering::SeqCst) + 1;
            std::future::ready(match errs.next() {
                Some(e) => Err(e),
                None => Ok(n),
            })
        }
    }

    /// A process-wide breaker called `name` that opens on its first failure.
    fn hair_trigger(name: &'static str) -> std::sync::Arc<crate::breaker::Breaker> {
        breaker::configure(
            name,
            crate::breaker::BreakerConfig {
                min_requests: 1,
                consecutive_windows: 1,
                ..Default::default()
            },
        )
        .unwrap()
    }

    fn no_budget() -> RetryPolicy {
        RetryPolicy::new().no_budget()
    }

    #[tokio::test(start_paused = true)]
    async fn success_needs_one_attempt() {
        let calls = AtomicU32::new(0);
        let r = no_budget().run("t.success", flaky(&calls, vec![])).await;
        assert_eq!(r, Ok(1));
        assert_eq!(calls.load(Ordering::SeqCst), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn transient_errors_are_retried_with_bounded_backoff() {
        let calls = AtomicU32::new(0);
        let start = Instant::now();
        let r = no_budget()
            .run(
                "t.transient",
                flaky(&calls, vec![TestErr::Transient, TestErr::Transient]),
            )
            .await;
        assert_eq!(r, Ok(3));
        // full jitter: at most base + 2·base
        assert!(
            start.elapsed() <= Duration::from_millis(600),
            "{:?}",
            start.elapsed()
        );
    }

    #[tokio::test(start_paused = true)]
    async fn permanent_errors_are_not_retried() {
        let calls = AtomicU32::new(0);
        let r = no_budget()
            .run("t.permanent", flaky(&calls, vec![TestErr::Permanent]))
            .await;
        assert_eq!(r, Err(TestErr::Permanent));
        assert_eq!(calls.load(Ordering::SeqCst), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn max_attempts_caps_the_attempts() {
        let calls = AtomicU32::new(0);
        let errs = (0..10).map(|_| TestErr::Transient).collect();
        let r = no_budget()
            .max_attempts(3)
            .run("t.max", flaky(&calls, errs))
            .await;
        assert_eq!(r, Err(TestErr::Transient));
        assert_eq!(calls.load(Ordering::SeqCst), 3);
    }

    #[tokio::test(start_paused = true)]
    async fn no_retry_starts_past_max_elapsed() {
        static P: RetryPolicy = RetryPolicy::new()
            .no_budget()
            .max_attempts(10)
            .base(Duration::from_secs(1))
            .cap(Duration::from_secs(60))
            .jitter(Jitter::None)
            .max_elapsed(Duration::from_millis(2500));
        let calls = AtomicU32::new(0);
        let start = Instant::now();
        let errs = (0..10).map(|_| TestErr::Transient).collect();
        let r = P.run("t.elapsed", flaky(&calls, errs)).await;
        assert_eq!(r, Err(TestErr::Transient));
        // sleeps 1 s, then the next 2 s sleep would end at 3 s > 2.5 s
        assert_eq!(calls.load(Ordering::SeqCst), 2);
        assert_eq!(start.elapsed(), Duration::from_secs(1));
    }

    #[tokio::test(start_paused = true)]
    async fn retry_after_is_honoured() {
        let calls = AtomicU32::new(0);
        let start = Instant::now();
        let r = no_budget()
            .run(
                "t.retry_after",
                flaky(
                    &calls,
                    vec![TestErr::Throttled(Some(Duration::from_secs(3)))],
                ),
            )
            .await;
        assert_eq!(r, Ok(2));
        assert!(start.elapsed() >= Duration::from_secs(3));
        assert!(start.elapsed() < Duration::from_secs(4));
    }

    #[tokio::test(start_paused = true)]
    async fn retry_after_beyond_max_elapsed_ends_retrying() {
        let calls = AtomicU32::new(0);
        let r = no_budget()
            .run(
                "t.retry_after_long",
                flaky(
                    &calls,
                    vec![TestErr::Throttled(Some(Duration::from_secs(60)))],
                ),
            )
            .await;
        assert_eq!(r, Err(TestErr::Throttled(Some(Duration::from_secs(60)))));
        assert_eq!(calls.load(Ordering::SeqCst), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn absurd_retry_after_ends_retrying_without_overflow() {
        let calls = AtomicU32::new(0);
        let huge = Duration::from_secs(u64::MAX);
        let r = no_budget()
            .run(
                "t.huge",
                flaky(&calls, vec![TestErr::Throttled(Some(huge))]),
            )
            .await;
        assert_eq!(r, Err(TestErr::Throttled(Some(huge))));
        let r = no_budget()
            .no_max_elapsed()
            .run(
                "t.huge2",
                flaky(&calls, vec![TestErr::Throttled(Some(huge))]),
            )
            .await;
        assert_eq!(r, Err(TestErr::Throttled(Some(huge))));
        assert_eq!(calls.load(Ordering::SeqCst), 2);
        let p = no_budget().max_elapsed(Duration::MAX);
        let r = p
            .run("t.huge3", flaky(&calls, vec![TestErr::Transient]))
            .await;
        assert!(r.is_ok());
    }

    #[tokio::test(start_paused = true)]
    async fn nested_policies_retry_in_one_layer_only() {
        static OUTER: RetryPolicy = RetryPolicy::new().no_budget().max_attempts(3);
        static INNER: RetryPolicy = RetryPolicy::new().no_budget().max_attempts(3);
        let calls = AtomicU32::new(0);
        let calls = &calls;
        let r: Result<u32, TestErr> = OUTER
            .run("t.outer", || async move {
                INNER
                    .run("t.inner", || async move {
                        calls.fetch_add(1, Ordering::SeqCst);
                        Err::<u32, _>(TestErr::Transient)
                    })
                    .await
            })
            .await;
        assert_eq!(r, Err(TestErr::Transient));
        assert_eq!(calls.load(Ordering::SeqCst), 3, "3 × 3 must not become 9");
        assert!(!in_attempt());
    }

    #[tokio::test(start_paused = true)]
    async fn task_budget_caps_retries_across_policies() {
        let calls = AtomicU32::new(0);
        let errs = (0..20).map(|_| TestErr::Transient).collect();
        let p = no_budget().max_attempts(10).no_max_elapsed();
        let r = budget::scope(TaskBudget::new(2), async {
            p.run("t.task_budget", flaky(&calls, errs)).await
        })
        .await;
        assert_eq!(r, Err(TestErr::Transient));
        assert_eq!(calls.load(Ordering::SeqCst), 3, "first attempt + 2 retries");
    }

    #[tokio::test(start_paused = true)]
    async fn empty_named_budget_fails_fast() {
        budget::configure(
            "t.empty",
            BudgetConfig {
                ratio: 0.0,
                min_per_sec: 0,
                ttl: Duration::from_secs(10),
            },
        )
        .unwrap();
        let calls = AtomicU32::new(0);
        let r = RetryPolicy::new()
            .budget("t.empty")
            .run("t.empty_budget", flaky(&calls, vec![TestErr::Transient]))
            .await;
        assert_eq!(r, Err(TestErr::Transient));
        assert_eq!(calls.load(Ordering::SeqCst), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn open_breaker_fails_fast_with_a_distinct_error() {
        let b = hair_trigger("t.open");
        b.acquire().unwrap().record(true);
        assert_eq!(b.state(), crate::breaker::State::Open);
        let calls = AtomicU32::new(0);
        let r = no_budget()
            .breaker("t.open")
            .run("t.breaker", flaky(&calls, vec![]))
            .await;
        assert_eq!(
            r,
            Err(TestErr::Gate("circuit breaker `t.open` is open".into()))
        );
        assert_eq!(calls.load(Ordering::SeqCst), 0);
    }

    #[tokio::test(start_paused = true)]
    async fn a_half_open_breaker_probes_with_the_first_attempt() {
        use crate::breaker::State;
        let b = hair_trigger("t.probe");
        b.acquire().unwrap().record(true);
        assert_eq!(b.state(), State::Open);
        tokio::time::advance(b.config().open_for).await;
        let p = no_budget().breaker("t.probe").max_attempts(3);
        let calls = AtomicU32::new(0);
        let r = p
            .run(
                "t.probe",
                flaky(&calls, vec![TestErr::Transient, TestErr::Transient]),
            )
            .await;
        assert_eq!(r, Err(TestErr::Transient));
        assert_eq!(
            calls.load(Ordering::SeqCst),
            2,
            "two failed probes re-open the breaker; the third attempt is refused"
        );
        assert_eq!(b.state(), State::Open);
        tokio::time::advance(b.config().open_for).await;
        for _ in 0..4 {
            let r = p.run("t.probe", flaky(&calls, vec![])).await;
            assert!(r.is_ok());
        }
        assert_eq!(b.state(), State::Closed, "four successful probes close it");
        assert_eq!(calls.load(Ordering::SeqCst), 6);
    }

    #[tokio::test(start_paused = true)]
    async fn run_always_needs_no_refusal_and_run_outcome_or_maps_it() {
        #[derive(Debug, PartialEq)]
        struct Plain;
        let b = hair_trigger("t.always");
        b.acquire().unwrap().record(true);
        let p = no_budget().breaker("t.always");
        let calls = AtomicU32::new(0);
        // The first attempt runs although the breaker is open; the retry is refused.
        let r = p
            .run_always("t.always", || {
                calls.fetch_add(1, Ordering::SeqCst);
                std::future::ready(Err::<u32, _>(Retryability::Transient))
            })
            .await;
        assert_eq!(r, Err(Retryability::Transient));
        assert_eq!(calls.load(Ordering::SeqCst), 1);
        let r = p
            .run_outcome_or(
                "t.always_or",
                |r: &Result<u32, Plain>| r.as_ref().err().map(|_| Retryability::Transient),
                |e| {
                    assert!(matches!(e, Error::CircuitOpen { name: "t.always" }));
                    Plain
                },
                || {
                    calls.fetch_add(1, Ordering::SeqCst);
                    std::future::ready(Ok(1))
                },
            )
            .await;
        assert_eq!(r, Err(Plain));
        assert_eq!(
            calls.load(Ordering::SeqCst),
            1,
            "refused before any attempt"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn fallback_answers_when_the_breaker_refuses() {
        let b = hair_trigger("t.fallback");
        let p = no_budget().breaker("t.fallback");
        let calls = AtomicU32::new(0);
        let r = p
            .run_or_fallback("t.fb", flaky(&calls, vec![]), |_| async { Ok(0) })
            .await;
        assert_eq!(r, Ok(1), "closed: the operation answers");
        b.acquire().unwrap().record(true);
        let r = p
            .run_or_fallback("t.fb", flaky(&calls, vec![]), |e| async move {
                assert!(matches!(e, Error::CircuitOpen { name: "t.fallback" }));
                Ok(0)
            })
            .await;
        assert_eq!(r, Ok(0), "open: the fallback answers");
        assert_eq!(calls.load(Ordering::SeqCst), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn nested_calls_deposit_once() {
        static OUTER: RetryPolicy = RetryPolicy::new().budget("t.nested_deposit");
        static INNER: RetryPolicy = RetryPolicy::new().budget("t.nested_deposit");
        let b = budget::configure(
            "t.nested_deposit",
            BudgetConfig {
                ratio: 1.0,
                min_per_sec: 0,
                ttl: Duration::from_secs(10),
            },
        )
        .unwrap();
        for _ in 0..3 {
            let r: Result<u32, TestErr> = OUTER
                .run("t.nd_outer", || INNER.run("t.nd_inner", || async { Ok(1) }))
                .await;
            assert_eq!(r, Ok(1));
        }
        assert_eq!(
            b.balance(),
            3.0,
            "one deposit per logical call, not per layer"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn predicate_overrides_classification() {
        let calls = AtomicU32::new(0);
        // TestErr::Permanent is normally final; the predicate says retry it.
        let r = no_budget()
            .run_classified(
                "t.pred",
                |e: &TestErr| *e == TestErr::Permanent,
                flaky(&calls, vec![TestErr::Permanent]),
            )
            .await;
        assert_eq!(r, Ok(2));
        let calls = AtomicU32::new(0);
        let r = no_budget()
            .run_classified(
                "t.pred2",
                |_: &TestErr| Retryability::Permanent,
                flaky(&calls, vec![TestErr::Transient]),
            )
            .await;
        assert_eq!(r, Err(TestErr::Transient));
    }

    #[tokio::test(start_paused = true)]
    async fn ok_outcomes_can_be_failures() {
        let calls = AtomicU32::new(0);
        let r: Result<http::StatusCode, TestErr> = no_budget()
            .run_outcome(
                "t.outcome",
                |r: &Result<http::StatusCode, TestErr>| match r {
                    Ok(s) if s.is_server_error() => Some(s.retryability()),
                    Ok(_) => None,
                    Err(e) => Some(e.retryability()),
                },
                || {
                    let n = calls.fetch_add(1, Ordering::SeqCst);
                    std::future::ready(Ok(if n < 2 {
                        http::StatusCode::SERVICE_UNAVAILABLE
                    } else {
                        http::StatusCode::OK
                    }))
                },
            )
            .await;
        assert_eq!(r, Ok(http::StatusCode::OK));
        assert_eq!(calls.load(Ordering::SeqCst), 3);
    }

    #[test]
    fn jitter_stays_within_bounds() {
        let base = Duration::from_millis(100);
        let cap = Duration::from_secs(2);
        for jitter in [
            Jitter::Full,
            Jitter::Equal,
            Jitter::Decorrelated,
            Jitter::None,
        ] {
            let p = RetryPolicy::new().base(base).cap(cap).jitter(jitter);
            let mut prev = base;
            for retry in 1..=40u32 {
                let exp = base
                    .saturating_mul(1u32.checked_shl(retry - 1).unwrap_or(u32::MAX))
                    .min(cap);
                let d = p.backoff(retry, &mut prev);
                match jitter {
                    Jitter::Full => assert!(d <= exp),
                    Jitter::Equal => assert!(d >= exp / 2 && d <= exp),
                    Jitter::Decorrelated => assert!(d >= base && d <= cap),
                    Jitter::None => assert_eq!(d, exp),
                }
            }
        }
    }

    /// A small storm: 20 clients, a dependency down for 20 s. Retries stay within the budget,
    /// the breaker opens, and service is back within open time + one window of the heal.
    #[tokio::test(start_paused = true)]
    async fn a_small_storm_is_contained_and_recovers() {
        use crate::breaker::BreakerConfig;
        use std::sync::atomic::AtomicU64;
        use std::sync::Arc;
        static P: RetryPolicy = RetryPolicy::new().budget("t.storm").breaker("t.storm");
        let window = Duration::from_secs(10);
        let open_for = Duration::from_secs(5);
        budget::configure("t.storm", BudgetConfig::new()).unwrap();
        breaker::configure(
            "t.storm",
            BreakerConfig {
                window,
                min_requests: 10,
                open_for,
                ..BreakerConfig::new()
            },
        )
        .unwrap();
        let t0 = Instant::now();
        let heal = Duration::from_secs(20);
        let calls_in_outage = Arc::new(AtomicU64::new(0));
        let requests_in_outage = Arc::new(AtomicU64::new(0));
        let last_failure = Arc::new(AtomicU64::new(0));
        let mut clients = Vec::new();
        for id in 0..20u64 {
            let (calls, requests, last_failure) = (
                calls_in_outage.clone(),
                requests_in_outage.clone(),
                last_failure.clone(),
            );
            clients.push(tokio::spawn(async move {
                tokio::time::sleep(Duration::from_millis(id * 5)).await;
                while t0.elapsed() < Duration::from_secs(60) {
                    if t0.elapsed() < heal {
                        requests.fetch_add(1, Ordering::Relaxed);
                    }
                    let r: Result<(), TestErr> = P
                        .run("t.storm", || {
                            let down = t0.elapsed() < heal;
                            if down {
                                calls.fetch_add(1, Ordering::Relaxed);
                            }
                            async move {
                                tokio::time::sleep(Duration::from_millis(5)).await;
                                if down {
                                    Err(TestErr::Transient)
                                } else {
                                    Ok(())
                                }
                            }
                        })
                        .await;
                    if r.is_err() {
                        last_failure.fetch_max(t0.elapsed().as_millis() as u64, Ordering::Relaxed);
                    }
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            }));
        }
        for c in clients {
            c.await.unwrap();
        }
        let amplification = calls_in_outage.load(Ordering::Relaxed) as f64
            / requests_in_outage.load(Ordering::Relaxed) as f64;
        assert!(amplification <= 1.1, "amplification {amplification}");
        let recovered_after =
            Duration::from_millis(last_failure.load(Ordering::Relaxed)).saturating_sub(heal);
        assert!(
            recovered_after <= open_for + window,
            "recovered {recovered_after:?} after the heal"
        );
    }

    #[test]
    fn futures_are_send() {
        fn assert_send<T: Send>(_: &T) {}
        static P: RetryPolicy = RetryPolicy::new().breaker("t.send");
        let f = P.run("t.send", || async { Ok::<u32, TestErr>(1) });
        assert_send(&f);
        let f = P.run_classified(
            "t.send",
            |_: &TestErr| true,
            || async { Ok::<u32, TestErr>(1) },
        );
        assert_send(&f);
        let f = P.run_or_fallback(
            "t.send",
            || async { Ok::<u32, TestErr>(1) },
            |_| async { Ok(0) },
        );
        assert_send(&f);
        let store = crate::idempotency::MemoryStore::new();
        let key = crate::idempotency::ScopedKey::new("s", "o", "k").unwrap();
        let opts = crate::idempotency::Options::new();
        let f = crate::idempotency::run::<u32, TestErr, _, _>(
            &store,
            &key,
            crate::idempotency::Fingerprint::of(b""),
            &opts,
            || async { Ok(1) },
        );
        assert_send(&f);
    }

    #[test]
    fn policies_are_const() {
        static P: RetryPolicy = RetryPolicy::new().max_attempts(0).breaker("b").budget("x");
        assert_eq!(P.attempts_limit(), 1);
        assert_eq!(P.breaker_name(), Some("b"));
        assert_eq!(P.budget_name(), Some("x"));
        assert_eq!(RetryPolicy::new().no_budget().budget_name(), None);
    }
}
