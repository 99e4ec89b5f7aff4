//! Retry budgets: retries are paid for by successful traffic, so a failing dependency cannot
//! be hit with more than a fixed share of extra load.
//!
//! A [`RetryBudget`] is a token bucket shared by every policy that names it (process-wide,
//! looked up once per policy): each logical call deposits `ratio` tokens (default 0.1), each
//! retry withdraws one, deposits expire after `ttl` (default 10 s), and a floor of
//! `min_per_sec` retries per second (default 10) keeps low-traffic services able to retry at
//! all. When it is empty, retries fail fast with the last error.
//!
//! A [`TaskBudget`] caps the retry events of one task, whatever policies it goes through:
//!
//! ```
//! # async fn demo() {
//! use idemgate::budget::{self, TaskBudget};
//! budget::scope(TaskBudget::new(5), async {
//!     // at most 5 retries in here, across every policy
//! }).await;
//! # }
//! ```
//!
//! Deposits are one relaxed atomic add on a per-thread stripe: no lock, no clock. The clock is
//! read and slots are rotated only when a retry asks for a token.

use std::cell::Cell;
use std::collections::HashMap;
use std::future::Future;
use std::sync::atomic::{AtomicI64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock, PoisonError, RwLock};
use std::time::Duration;

use tokio::time::Instant;

use crate::stripe::{self, Padded, STRIPES};
use crate::Error;

/// Fixed-point scale: one token is `SCALE` units.
const SCALE: i64 = 1000;
/// Number of time slots deposits are spread over (the TTL is slid slot by slot).
const SLOTS: usize = 10;

/// How a named retry budget behaves.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct BudgetConfig {
    /// Tokens deposited per logical call (0.1: retries may add 10 % load).
    pub ratio: f64,
    /// Retries per second always allowed, whatever the deposits.
    pub min_per_sec: u32,
    /// How long a deposit stays spendable.
    pub ttl: Duration,
}

impl BudgetConfig {
    /// The defaults: ratio 0.1, 10 retries per second floor, 10 s TTL.
    pub const fn new() -> Self {
        Self { ratio: 0.1, min_per_sec: 10, ttl: Duration::from_secs(10) }
    }
}

impl Default for BudgetConfig {
    fn default() -> Self {
        Self::new()
    }
}

/// A named token bucket that pays for retries. Obtain one with [`get`] or [`configure`].
#[derive(Debug)]
pub struct RetryBudget {
    name: &'static str,
    config: BudgetConfig,
    /// Units deposited per call.
    deposit_units: i64,
    /// Per-thread stripes, each holding the net units of every slot.
    stripes: Box<[Padded<[AtomicI64; SLOTS]>]>,
    /// The slot deposits currently go to.
    current: AtomicUsize,
    slow: Mutex<Slow>,
}

#[derive(Debug)]
struct Slow {
    /// When the current slot started.
    slot_start: Instant,
    /// Floor tokens (refilled at `min_per_sec`, at most `min_per_sec`).
    floor_tokens: f64,
    floor_at: Instant,
}

impl RetryBudget {
    /// A budget outside the registry (tests, or a component holding its own).
    pub fn new(name: &'static str, config: BudgetConfig) -> Self {
        let ratio = if config.ratio.is_finite() && config.ratio > 0.0 { config.ratio } else { 0.0 };
        let now = Instant::now();
        Self {
            name,
            config,
            deposit_units: (ratio * SCALE as f64).round() as i64,
            stripes: (0..STRIPES).map(|_| Padded(Default::default())).collect(),
            current: AtomicUsize::new(0),
            slow: Mutex::new(Slow {
                slot_start: now,
                floor_tokens: f64::from(config.min_per_sec),
                floor_at: now,
            }),
        }
    }

    /// The budget's name.
    pub fn name(&self) -> &'static str {
        self.name
    }

    /// Its configuration.
    pub fn config(&self) -> BudgetConfig {
        self.config
    }

    /// Records one logical call: adds `ratio` tokens. Lock-free, clock-free.
    #[inline]
    pub fn deposit(&self) {
        let slot = self.current.load(Ordering::Relaxed);
        if let Some(s) = self.stripes[stripe::current()].0.get(slot) {
            s.fetch_add(self.deposit_units, Ordering::Relaxed);
        }
    }

    /// Takes one token for a retry; `false` means the budget is exhausted: do not retry.
    pub fn try_withdraw(&self) -> bool {
        let now = Instant::now();
        let mut slow = self.slow.lock().unwrap_or_else(PoisonError::into_inner);
        let current = self.rotate(&mut slow, now);
        if self.balance_units() >= SCALE {
            self.stripes[stripe::current()].0[current].fetch_sub(SCALE, Ordering::Relaxed);
            return true;
        }
        let rate = f64::from(self.config.min_per_sec);
        let refill = now.saturating_duration_since(slow.floor_at).as_secs_f64() * rate;
        slow.floor_tokens = (slow.floor_tokens + refill).min(rate);
        slow.floor_at = now;
        if slow.floor_tokens >= 1.0 {
            slow.floor_tokens -= 1.0;
            true
        } else {
            false
        }
    }

    /// Deposited tokens currently spendable (floor excluded), as a float.
    pub fn balance(&self) -> f64 {
        let now = Instant::now();
        let mut slow = self.slow.lock().unwrap_or_else(PoisonError::into_inner);
        self.rotate(&mut slow, now);
        self.balance_units() as f64 / SCALE as f64
    }

    fn balance_units(&self) -> i64 {
        self.stripes
            .iter()
            .flat_map(|s| s.0.iter())
            .map(|a| a.load(Ordering::Relaxed))
            .sum()
    }

    fn slot_units(&self, slot: usize) -> i64 {
        self.stripes.iter().map(|s| s.0[slot].load(Ordering::Relaxed)).sum()
    }

    fn clear_slot(&self, slot: usize) {
        for s in self.stripes.iter() {
            s.0[slot].store(0, Ordering::Relaxed);
        }
    }

    /// Slides the window to `now`; returns the current slot.
    fn rotate(&self, slow: &mut Slow, now: Instant) -> usize {
        let slot_len = (self.config.ttl / SLOTS as u32).max(Duration::from_millis(1));
        let current = self.current.load(Ordering::Relaxed);
        let age = now.saturating_duration_since(slow.slot_start);
        if age < slot_len {
            return current;
        }
        let steps = (age.as_nanos() / slot_len.as_nanos()).min(u128::from(u32::MAX)) as u32;
        // Deposits are counted without a clock, so the current slot holds everything since
        // it started. When more than one slot length went by, keep only the share that a
        // steady arrival rate would have put inside the TTL, and move it to the new slot.
        let carried = if steps > 1 {
            let units = self.slot_units(current).max(0);
            let share = (self.config.ttl.as_secs_f64() / age.as_secs_f64()).min(1.0);
            (units as f64 * share) as i64
        } else {
            0
        };
        if steps > 1 {
            self.clear_slot(current);
        }
        for k in 1..=steps.min(SLOTS as u32) as usize {
            self.clear_slot((current + k) % SLOTS);
        }
        let next = (current + steps as usize % SLOTS) % SLOTS;
        if carried > 0 {
            self.stripes[0].0[next].fetch_add(carried, Ordering::Relaxed);
        }
        slow.slot_start += slot_len * steps;
        self.current.store(next, Ordering::Relaxed);
        next
    }
}

fn registry() -> &'static RwLock<HashMap<&'static str, Arc<RetryBudget>>> {
    static REGISTRY: OnceLock<RwLock<HashMap<&'static str, Arc<RetryBudget>>>> = OnceLock::new();
    REGISTRY.get_or_init(Default::default)
}

/// The process-wide budget called `name`, created with the defaults on first use.
///
/// Policies call this once and keep the handle, so the registry lock is never on a hot path.
pub fn get(name: &'static str) -> Arc<RetryBudget> {
    if let Some(b) = registry().read().unwrap_or_else(PoisonError::into_inner).get(name) {
        return b.clone();
    }
    registry()
        .write()
        .unwrap_or_else(PoisonError::into_inner)
        .entry(name)
        .or_insert_with(|| Arc::new(RetryBudget::new(name, BudgetConfig::new())))
        .clone()
}

/// Creates the process-wide budget `name` with `config`. Call it at start-up, before any
/// policy uses the name; afterwards it fails with [`Error::AlreadyConfigured`].
pub fn configure(name: &'static str, config: BudgetConfig) -> Result<Arc<RetryBudget>, Error> {
    let mut reg = registry().write().unwrap_or_else(PoisonError::into_inner);
    if reg.contains_key(name) {
        return Err(Error::AlreadyConfigured { kind: "budget", name });
    }
    let b = Arc::new(RetryBudget::new(name, config));
    reg.insert(name, b.clone());
    Ok(b)
}

/// A cap on retry events within one task, whatever policies it goes through.
#[derive(Debug)]
pub struct TaskBudget {
    remaining: Cell<u32>,
}

impl TaskBudget {
    /// At most `retries` retries in the scope.
    pub const fn new(retries: u32) -> Self {
        Self { remaining: Cell::new(retries) }
    }

    /// Retries still allowed.
    pub fn remaining(&self) -> u32 {
        self.remaining.get()
    }
}

tokio::task_local! {
    static TASK_BUDGET: TaskBudget;
}

/// Runs `fut` with a task budget: every retry inside it (in any policy) spends one event.
pub async fn scope<F: Future>(budget: TaskBudget, fut: F) -> F::Output {
    TASK_BUDGET.scope(budget, fut).await
}

/// Retries left in the current task's budget, if a [`scope`] is active.
pub fn task_remaining() -> Option<u32> {
    TASK_BUDGET.try_with(TaskBudget::remaining).ok()
}

/// Whether the task budget (if any) has a retry left.
pub(crate) fn task_has_retry() -> bool {
    TASK_BUDGET.try_with(|b| b.remaining.get() > 0).unwrap_or(true)
}

/// Spends one retry event from the task budget (if any).
pub(crate) fn task_take() {
    let _ = TASK_BUDGET.try_with(|b| b.remaining.set(b.remaining.get().saturating_sub(1)));
}
