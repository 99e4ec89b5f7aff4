//! `#[retry_policy]` expansions run the body once per attempt, with the signature intact.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::fmt::Display;
use std::sync::atomic::{AtomicU32, Ordering};

use idemgate::{retry_policy, Retryability, Retryable};

#[derive(Debug, Clone, PartialEq)]
enum CallError {
    Unavailable,
    Rejected,
    Idemgate(String),
}

impl Retryable for CallError {
    fn retryability(&self) -> Retryability {
        match self {
            CallError::Unavailable => Retryability::Transient,
            _ => Retryability::Permanent,
        }
    }
}

impl From<idemgate::Error> for CallError {
    fn from(e: idemgate::Error) -> Self {
        CallError::Idemgate(e.to_string())
    }
}

/// Fails with `error` until `calls` reaches `succeed_on`.
fn attempt(calls: &AtomicU32, succeed_on: u32, error: CallError) -> Result<u32, CallError> {
    let n = calls.fetch_add(1, Ordering::SeqCst) + 1;
    if n >= succeed_on {
        Ok(n)
    } else {
        Err(error)
    }
}

#[retry_policy(
    max_attempts = 4,
    base = "10ms",
    cap = "100ms",
    max_elapsed = "10s",
    budget = "none"
)]
async fn flaky(calls: &AtomicU32, succeed_on: u32) -> Result<u32, CallError> {
    attempt(calls, succeed_on, CallError::Unavailable)
}

#[tokio::test(start_paused = true)]
async fn transient_errors_are_retried_until_success() {
    let calls = AtomicU32::new(0);
    assert_eq!(flaky(&calls, 3).await, Ok(3));
    assert_eq!(calls.load(Ordering::SeqCst), 3);
}

#[tokio::test(start_paused = true)]
async fn attempts_are_capped() {
    let calls = AtomicU32::new(0);
    assert_eq!(flaky(&calls, 100).await, Err(CallError::Unavailable));
    assert_eq!(calls.load(Ordering::SeqCst), 4);
}

#[retry_policy(max_attempts = 4, base = "10ms", budget = "none")]
async fn rejected(calls: &AtomicU32) -> Result<u32, CallError> {
    attempt(calls, 100, CallError::Rejected)
}

#[tokio::test(start_paused = true)]
async fn permanent_errors_are_not_retried() {
    let calls = AtomicU32::new(0);
    assert_eq!(rejected(&calls).await, Err(CallError::Rejected));
    assert_eq!(calls.load(Ordering::SeqCst), 1);
}

fn only_unavailable(e: &CallError) -> bool {
    *e == CallError::Unavailable
}

fn everything_permanent(_: &CallError) -> Retryability {
    Retryability::Permanent
}

#[retry_policy(max_attempts = 3, base = "10ms", retry_on = only_unavailable, budget = "none")]
async fn with_predicate(calls: &AtomicU32) -> Result<u32, CallError> {
    attempt(calls, 2, CallError::Unavailable)
}

#[retry_policy(max_attempts = 3, base = "10ms", retry_on = everything_permanent, budget = "none")]
async fn with_classifier(calls: &AtomicU32) -> Result<u32, CallError> {
    attempt(calls, 2, CallError::Unavailable)
}

#[tokio::test(start_paused = true)]
async fn retry_on_overrides_the_error_type() {
    let calls = AtomicU32::new(0);
    assert_eq!(with_predicate(&calls).await, Ok(2));
    let calls = AtomicU32::new(0);
    assert_eq!(with_classifier(&calls).await, Err(CallError::Unavailable));
    assert_eq!(calls.load(Ordering::SeqCst), 1);
}

struct Client {
    calls: AtomicU32,
    sent: Vec<String>,
}

impl Client {
    #[retry_policy(max_attempts = 3, base = "10ms", budget = "none")]
    async fn by_ref(&self, payload: &str) -> Result<String, CallError> {
        attempt(&self.calls, 2, CallError::Unavailable)?;
        Ok(payload.to_uppercase())
    }

    /// `&mut self` is lent to one attempt at a time; mutations persist across attempts.
    #[retry_policy(max_attempts = 3, base = "10ms", budget = "none")]
    async fn by_mut(&mut self, payload: String) -> Result<usize, CallError> {
        self.sent.push(payload);
        if self.sent.len() < 2 {
            return Err(CallError::Unavailable);
        }
        Ok(self.sent.len())
    }
}

#[tokio::test(start_paused = true)]
async fn methods_taking_self_by_reference() {
    let mut client = Client {
        calls: AtomicU32::new(0),
        sent: Vec::new(),
    };
    assert_eq!(client.by_ref("hi").await, Ok("HI".to_owned()));
    assert_eq!(client.calls.load(Ordering::SeqCst), 2);
    assert_eq!(client.by_mut("a".to_owned()).await, Ok(2));
    assert_eq!(client.sent, vec!["a".to_owned(), "a".to_owned()]);
}

/// Generic, a where clause, `impl Trait` in the return type, `&mut` argument, pattern argument.
#[retry_policy(max_attempts = 3, base = "10ms", budget = "none")]
async fn generic<T>(
    value: T,
    log: &mut Vec<u32>,
    (a, b): (u32, u32),
) -> Result<impl Display, CallError>
where
    T: Display + Clone,
{
    log.push(a + b);
    if log.len() < 2 {
        Err(CallError::Unavailable)
    } else {
        Ok(format!("{value}:{}", log.len()))
    }
}

#[tokio::test(start_paused = true)]
async fn generic_fns_and_impl_trait() {
    let mut log = Vec::new();
    let out = generic("v", &mut log, (1, 2)).await.map(|d| d.to_string());
    assert_eq!(out, Ok("v:2".to_owned()));
    assert_eq!(log, vec![3, 3]);
}

/// The default budget, a breaker, and every knob at once; still one call on success.
#[retry_policy(
    max_attempts = 2,
    base = "1ms",
    cap = "2ms",
    max_elapsed = "1s",
    jitter = "equal",
    budget = "macro-tests",
    breaker = "macro-tests"
)]
async fn all_knobs(calls: &AtomicU32) -> Result<u32, CallError> {
    attempt(calls, 1, CallError::Unavailable)
}

#[tokio::test(start_paused = true)]
async fn success_runs_once() {
    let calls = AtomicU32::new(0);
    assert_eq!(all_knobs(&calls).await, Ok(1));
    assert_eq!(calls.load(Ordering::SeqCst), 1);
}

#[retry_policy(max_attempts = 3, base = "1ms", budget = "none")]
async fn inner(calls: &AtomicU32) -> Result<u32, CallError> {
    attempt(calls, 100, CallError::Unavailable)
}

#[retry_policy(max_attempts = 3, base = "1ms", budget = "none")]
async fn outer(calls: &AtomicU32) -> Result<u32, CallError> {
    inner(calls).await
}

#[tokio::test(start_paused = true)]
async fn nested_policies_do_not_multiply() {
    let calls = AtomicU32::new(0);
    assert_eq!(outer(&calls).await, Err(CallError::Unavailable));
    assert_eq!(
        calls.load(Ordering::SeqCst),
        3,
        "3 outer attempts x 1 inner attempt, not 9"
    );
}

/// `#[idempotent]` outside `#[retry_policy]`: the key is claimed once, the body retried inside,
/// and a later call with the key replays without running anything.
#[idemgate::idempotent(key = format!("stacked:{id}"))]
#[retry_policy(max_attempts = 3, base = "1ms", budget = "none")]
async fn stacked(calls: &'static AtomicU32, id: u32) -> Result<u32, CallError> {
    attempt(calls, 2, CallError::Unavailable)
}

#[tokio::test(start_paused = true)]
async fn idempotent_around_retry_policy() {
    static CALLS: AtomicU32 = AtomicU32::new(0);
    assert_eq!(stacked(&CALLS, 1).await, Ok(2));
    assert_eq!(stacked(&CALLS, 1).await, Ok(2), "replayed");
    assert_eq!(
        CALLS.load(Ordering::SeqCst),
        2,
        "one failed attempt, one success, no more"
    );
}

/// An error type with no `From<idemgate::Error>`: fine for a policy without a breaker.
#[derive(Debug, Clone, PartialEq)]
enum Plain {
    Transient,
    Fatal,
}

fn plain_transient(e: &Plain) -> bool {
    matches!(e, Plain::Transient)
}

#[retry_policy(max_attempts = 3, base = "1ms", cap = "5ms", retry_on = plain_transient, budget = "none")]
async fn plain(calls: &AtomicU32, errors: &[Plain]) -> Result<u32, Plain> {
    let n = calls.fetch_add(1, Ordering::SeqCst);
    match errors.get(n as usize) {
        Some(e) => Err(e.clone()),
        None => Ok(n + 1),
    }
}

#[retry_policy(max_attempts = 10, base = "1ms", cap = "5ms", retry_on = plain_transient, budget = "t.plain_empty")]
async fn plain_budgeted(calls: &AtomicU32) -> Result<u32, Plain> {
    calls.fetch_add(1, Ordering::SeqCst);
    Err(Plain::Transient)
}

#[tokio::test(start_paused = true)]
async fn any_error_type_without_a_breaker() {
    let calls = AtomicU32::new(0);
    assert_eq!(plain(&calls, &[Plain::Transient]).await, Ok(2));
    let calls = AtomicU32::new(0);
    assert_eq!(plain(&calls, &[Plain::Fatal]).await, Err(Plain::Fatal));
    assert_eq!(
        calls.load(Ordering::SeqCst),
        1,
        "a fatal error is not retried"
    );
    let calls = AtomicU32::new(0);
    let all = [
        Plain::Transient,
        Plain::Transient,
        Plain::Transient,
        Plain::Transient,
    ];
    assert_eq!(plain(&calls, &all).await, Err(Plain::Transient));
    assert_eq!(
        calls.load(Ordering::SeqCst),
        3,
        "the attempt cap returns the last error"
    );
    // An empty budget ends the retrying with the last error, not with an idemgate error.
    idemgate::budget::configure(
        "t.plain_empty",
        idemgate::budget::BudgetConfig {
            ratio: 0.0,
            min_per_sec: 0,
            ttl: std::time::Duration::from_secs(10),
        },
    )
    .unwrap();
    let calls = AtomicU32::new(0);
    assert_eq!(plain_budgeted(&calls).await, Err(Plain::Transient));
    assert_eq!(calls.load(Ordering::SeqCst), 1);
    // A task budget too.
    let calls = AtomicU32::new(0);
    let r =
        idemgate::budget::scope(idemgate::budget::TaskBudget::new(1), plain(&calls, &all)).await;
    assert_eq!(r, Err(Plain::Transient));
    assert_eq!(calls.load(Ordering::SeqCst), 2);
}
