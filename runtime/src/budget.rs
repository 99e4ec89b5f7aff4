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
use std::future::Future;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tokio::time::Instant;

use crate::named::Named;
use crate::stripe::SlotCounters;
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
        Self {
            ratio: 0.1,
            min_per_sec: 10,
            ttl: Duration::from_secs(10),
        }
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
    deposit_units: u64,
    /// Units deposited, per time slot (monotonic, striped per thread).
    deposits: SlotCounters<SLOTS>,
    slow: Mutex<Slow>,
}

#[derive(Debug)]
struct Slow {
    /// When the current slot started.
    slot_start: Instant,
    /// Raw deposit count of each slot when it was last reset.
    offset: [u64; SLOTS],
    /// Withdrawals (negative) and carried-over deposits (positive) per slot.
    adjust: [i64; SLOTS],
    /// Floor tokens (refilled at `min_per_sec`, at most `min_per_sec`).
    floor_tokens: f64,
    floor_at: Instant,
}

impl RetryBudget {
    /// A budget outside the registry (tests, or a component holding its own).
    pub fn new(name: &'static str, config: BudgetConfig) -> Self {
        let ratio = if config.ratio.is_finite() && config.ratio > 0.0 {
            config.ratio
        } else {
            0.0
        };
        let now = Instant::now();
        Self {
            name,
            config,
            deposit_units: (ratio * SCALE as f64).round() as u64,
            deposits: SlotCounters::new(),
            slow: Mutex::new(Slow {
                slot_start: now,
                offset: [0; SLOTS],
                adjust: [0; SLOTS],
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
        self.deposits.add(self.deposit_units);
    }

    /// Takes one token for a retry; `false` means the budget is exhausted: do not retry.
    pub fn try_withdraw(&self) -> bool {
        let now = Instant::now();
        let mut slow = self.slow.lock().unwrap_or_else(PoisonError::into_inner);
        let current = self.rotate(&mut slow, now);
        if self.balance_units(&slow) >= SCALE {
            // Spend the oldest tokens first, so no slot goes negative (a debt in a slot that
            // expires would otherwise vanish and let expired-later deposits be spent twice).
            let mut need = SCALE;
            for i in 1..=SLOTS {
                let slot = (current + i) % SLOTS;
                let take = self.slot_units(&slow, slot).clamp(0, need);
                if take > 0 {
                    slow.adjust[slot] -= take;
                    need -= take;
                }
                if need == 0 {
                    break;
                }
            }
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
        self.balance_units(&slow) as f64 / SCALE as f64
    }

    fn balance_units(&self, slow: &Slow) -> i64 {
        (0..SLOTS).map(|slot| self.slot_units(slow, slot)).sum()
    }

    fn slot_units(&self, slow: &Slow, slot: usize) -> i64 {
        self.deposits.raw(slot).wrapping_sub(slow.offset[slot]) as i64 + slow.adjust[slot]
    }

    fn clear_slot(&self, slow: &mut Slow, slot: usize) {
        slow.offset[slot] = self.deposits.raw(slot);
        slow.adjust[slot] = 0;
    }

    /// Slides the window to `now`; returns the current slot.
    fn rotate(&self, slow: &mut Slow, now: Instant) -> usize {
        let slot_len = (self.config.ttl / SLOTS as u32).max(Duration::from_millis(1));
        let current = self.deposits.current();
        let age = now.saturating_duration_since(slow.slot_start);
        if age < slot_len {
            return current;
        }
        let steps = (age.as_nanos() / slot_len.as_nanos()).min(u128::from(u32::MAX)) as u32;
        let k = steps as usize;
        let units = self.slot_units(slow, current).max(0);
        for i in 1..=k.min(SLOTS) {
            self.clear_slot(slow, (current + i) % SLOTS);
        }
        if k >= 2 {
            // Deposits carry no timestamp (no clock on the success path), so the current slot
            // holds everything since it started, `k` slot lengths ago. Assume a steady
            // arrival rate: spread it over those `k` slots and drop the share that is
            // already past the TTL. Never creates tokens.
            self.clear_slot(slow, current);
            let live = k.min(SLOTS - 1);
            let per = units / k as i64;
            for j in 0..live {
                slow.adjust[(current + k - 1 - j) % SLOTS] += per;
            }
        }
        let next = (current + k % SLOTS) % SLOTS;
        slow.slot_start += slot_len.saturating_mul(steps);
        self.deposits.set_current(next);
        next
    }
}

static REGISTRY: Named<RetryBudget> = Named::new("budget");

/// The process-wide budget called `name`, created with the defaults on first use.
///
/// Policies call this once and keep the handle, so the registry lock is never on a hot path.
pub fn get(name: &'static str) -> Arc<RetryBudget> {
    REGISTRY.get_or_create(name, || RetryBudget::new(name, BudgetConfig::new()))
}

/// Creates the process-wide budget `name` with `config`. Call it at start-up, before any
/// policy uses the name; afterwards it fails with [`Error::AlreadyConfigured`].
pub fn configure(name: &'static str, config: BudgetConfig) -> Result<Arc<RetryBudget>, Error> {
    REGISTRY.configure(name, || RetryBudget::new(name, config))
}

/// A cap on retry events within one task, whatever policies it goes through.
#[derive(Debug)]
pub struct TaskBudget {
    remaining: Cell<u32>,
}

impl TaskBudget {
    /// At most `retries` retries in the scope.
    pub const fn new(retries: u32) -> Self {
        Self {
            remaining: Cell::new(retries),
        }
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
    TASK_BUDGET
        .try_with(|b| b.remaining.get() > 0)
        .unwrap_or(true)
}

/// Spends one retry event from the task budget (if any).
pub(crate) fn task_take() {
    let _ = TASK_BUDGET.try_with(|b| b.remaining.set(b.remaining.get().saturating_sub(1)));
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn cfg(ratio: f64, min_per_sec: u32, ttl_secs: u64) -> BudgetConfig {
        BudgetConfig {
            ratio,
            min_per_sec,
            ttl: Duration::from_secs(ttl_secs),
        }
    }

    #[tokio::test(start_paused = true)]
    async fn deposits_pay_for_retries() {
        let b = RetryBudget::new("t", cfg(0.5, 0, 10));
        assert!(!b.try_withdraw());
        for _ in 0..10 {
            b.deposit();
        }
        for _ in 0..5 {
            assert!(b.try_withdraw());
        }
        assert!(!b.try_withdraw());
    }

    #[tokio::test(start_paused = true)]
    async fn floor_allows_a_few_retries_per_second() {
        let b = RetryBudget::new("t", cfg(0.0, 2, 10));
        assert!(b.try_withdraw());
        assert!(b.try_withdraw());
        assert!(!b.try_withdraw());
        tokio::time::advance(Duration::from_millis(500)).await;
        assert!(b.try_withdraw());
        assert!(!b.try_withdraw());
        tokio::time::advance(Duration::from_secs(5)).await;
        assert!(b.try_withdraw());
        assert!(b.try_withdraw());
        assert!(
            !b.try_withdraw(),
            "the floor does not accumulate past one second's worth"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn deposits_expire_after_the_ttl() {
        let b = RetryBudget::new("t", cfg(1.0, 0, 10));
        for _ in 0..3 {
            b.deposit();
        }
        // with the clock read often (as failures do), deposits are timed to the slot
        for _ in 0..19 {
            tokio::time::advance(Duration::from_millis(500)).await;
            assert_eq!(b.balance(), 3.0);
        }
        tokio::time::advance(Duration::from_millis(500)).await;
        assert_eq!(b.balance(), 0.0, "gone once the 10 s TTL is over");
    }

    #[tokio::test(start_paused = true)]
    async fn unobserved_deposits_are_spread_and_expire() {
        let b = RetryBudget::new("t", cfg(1.0, 0, 10));
        for _ in 0..10 {
            b.deposit();
        }
        // first clock read 5 s later: the 10 tokens are assumed spread over those 5 s
        tokio::time::advance(Duration::from_secs(5)).await;
        assert_eq!(b.balance(), 10.0);
        tokio::time::advance(Duration::from_secs(6)).await;
        assert_eq!(b.balance(), 6.0, "the shares of seconds 0 and 1 expired");
        tokio::time::advance(Duration::from_secs(30)).await;
        assert_eq!(b.balance(), 0.0);
        // spending takes the oldest tokens first and never more than exist
        for _ in 0..4 {
            b.deposit();
        }
        tokio::time::advance(Duration::from_secs(2)).await;
        let mut granted = 0;
        while b.try_withdraw() {
            granted += 1;
        }
        assert_eq!(granted, 4);
    }

    #[tokio::test(start_paused = true)]
    async fn task_scope_counts_down() {
        assert_eq!(task_remaining(), None);
        scope(TaskBudget::new(2), async {
            assert_eq!(task_remaining(), Some(2));
            assert!(task_has_retry());
            task_take();
            task_take();
            assert!(!task_has_retry());
        })
        .await;
        assert!(task_has_retry(), "no scope: unlimited");
    }

    #[test]
    fn registry_hands_out_one_budget_per_name() {
        let a = get("t.registry");
        let b = get("t.registry");
        assert!(Arc::ptr_eq(&a, &b));
        assert!(configure("t.registry", BudgetConfig::new()).is_err());
        assert_eq!(
            configure("t.registry2", cfg(0.2, 1, 1))
                .unwrap()
                .config()
                .ratio,
            0.2
        );
    }

    #[derive(Debug, Clone)]
    enum Op {
        Deposit(u16),
        Withdraw(u16),
        Advance(u16),
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            (1u16..200).prop_map(Op::Deposit),
            (1u16..50).prop_map(Op::Withdraw),
            (1u16..5000).prop_map(Op::Advance),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        /// Never more retries than deposits allow: granted ≤ ratio·deposits + floor, where
        /// the floor is min_per_sec up front plus min_per_sec per elapsed second.
        #[test]
        fn never_more_retries_than_deposits_allow(
            ratio in 0.0f64..1.0,
            min_per_sec in 0u32..5,
            ops in proptest::collection::vec(op(), 1..60),
        ) {
            let rt = tokio::runtime::Builder::new_current_thread().enable_time().start_paused(true).build().unwrap();
            rt.block_on(async {
                let b = RetryBudget::new("prop", cfg(ratio, min_per_sec, 10));
                let unit = (ratio * SCALE as f64).round() / SCALE as f64;
                let (mut deposits, mut granted, mut elapsed_ms) = (0u64, 0u64, 0u64);
                for op in ops {
                    match op {
                        Op::Deposit(n) => { for _ in 0..n { b.deposit(); } deposits += u64::from(n); }
                        Op::Withdraw(n) => { for _ in 0..n { if b.try_withdraw() { granted += 1; } } }
                        Op::Advance(ms) => { tokio::time::advance(Duration::from_millis(u64::from(ms))).await; elapsed_ms += u64::from(ms); }
                    }
                    let floor = f64::from(min_per_sec) * (1.0 + elapsed_ms as f64 / 1000.0);
                    let allowed = (unit * deposits as f64 + floor).floor() as u64;
                    prop_assert!(granted <= allowed, "granted {} > allowed {}", granted, allowed);
                }
                Ok(())
            })?;
        }

        /// Without time passing, every whole deposited token can be spent (nothing is lost).
        #[test]
        fn deposits_are_spendable(n in 0u32..500) {
            let rt = tokio::runtime::Builder::new_current_thread().enable_time().start_paused(true).build().unwrap();
            rt.block_on(async {
                let b = RetryBudget::new("prop2", cfg(0.1, 0, 10));
                for _ in 0..n { b.deposit(); }
                let mut granted = 0;
                while b.try_withdraw() { granted += 1; }
                prop_assert_eq!(granted, n / 10);
                Ok(())
            })?;
        }
    }
}
