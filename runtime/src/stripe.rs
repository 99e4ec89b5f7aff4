//! Per-thread stripes for hot counters: the success path of every thread adds to its own
//! cache line, so two threads calling the same policy do not fight over one atomic.
//!
//! Counters only grow. A thread that owns its stripe exclusively (the first [`STRIPES`]
//! threads to touch one, until they exit) adds with a relaxed load and store — no locked
//! instruction; threads beyond that share a stripe and use `fetch_add`. Readers (the slow
//! paths, under their own lock) sum the stripes and subtract the offsets they recorded when
//! they last reset a slot, so they never write to a stripe.

use std::cell::Cell;
use std::sync::atomic::{AtomicU32, AtomicU64, AtomicUsize, Ordering};

/// Number of stripes (at most 32: one bit each in the ownership mask).
pub(crate) const STRIPES: usize = 16;

/// Aligns its content to its own pair of cache lines (adjacent-line prefetch included).
#[derive(Debug, Default)]
#[repr(align(128))]
pub(crate) struct Padded<T>(pub(crate) T);

/// Stripes owned by a live thread.
static OWNED: AtomicU32 = AtomicU32::new(0);
static NEXT_SHARED: AtomicUsize = AtomicUsize::new(0);

const UNASSIGNED: usize = usize::MAX;

struct ThreadStripe {
    index: Cell<usize>,
    exclusive: Cell<bool>,
}

impl Drop for ThreadStripe {
    fn drop(&mut self) {
        if self.exclusive.get() {
            OWNED.fetch_and(!(1u32 << self.index.get()), Ordering::AcqRel);
        }
    }
}

thread_local! {
    static STRIPE: ThreadStripe = const {
        ThreadStripe { index: Cell::new(UNASSIGNED), exclusive: Cell::new(false) }
    };
}

#[cold]
#[inline(never)]
fn assign(s: &ThreadStripe) -> (usize, bool) {
    let mut owned = OWNED.load(Ordering::Acquire);
    loop {
        let free = !owned & (u32::MAX >> (32 - STRIPES as u32));
        if free == 0 {
            let i = NEXT_SHARED.fetch_add(1, Ordering::Relaxed) % STRIPES;
            s.index.set(i);
            s.exclusive.set(false);
            return (i, false);
        }
        let i = free.trailing_zeros();
        match OWNED.compare_exchange_weak(owned, owned | (1 << i), Ordering::AcqRel, Ordering::Acquire) {
            Ok(_) => {
                s.index.set(i as usize);
                s.exclusive.set(true);
                return (i as usize, true);
            }
            Err(now) => owned = now,
        }
    }
}

/// This thread's stripe, and whether it owns it alone.
#[inline]
fn current() -> (usize, bool) {
    STRIPE
        .try_with(|s| {
            let i = s.index.get();
            if i == UNASSIGNED {
                assign(s)
            } else {
                (i, s.exclusive.get())
            }
        })
        // thread-local storage already torn down (a call from a TLS destructor): share
        .unwrap_or((0, false))
}

/// `N` monotonic counters (time slots), striped per thread; `current` says which slot the
/// hot path adds to.
#[derive(Debug)]
pub(crate) struct SlotCounters<const N: usize> {
    /// Inline (not boxed): one pointer less between a policy and its counter.
    stripes: [Padded<[AtomicU64; N]>; STRIPES],
    current: AtomicUsize,
}

impl<const N: usize> SlotCounters<N> {
    pub(crate) fn new() -> Self {
        Self {
            stripes: std::array::from_fn(|_| Padded(std::array::from_fn(|_| AtomicU64::new(0)))),
            current: AtomicUsize::new(0),
        }
    }

    /// Adds `v` to the current slot: lock-free, clock-free, and without a locked
    /// instruction when this thread owns its stripe.
    #[inline]
    pub(crate) fn add(&self, v: u64) {
        let (stripe, exclusive) = current();
        let slot = self.current.load(Ordering::Relaxed); // always < N: see set_current
        if let Some(c) = self.stripes.get(stripe).and_then(|s| s.0.get(slot)) {
            if exclusive {
                c.store(c.load(Ordering::Relaxed).wrapping_add(v), Ordering::Relaxed);
            } else {
                c.fetch_add(v, Ordering::Relaxed);
            }
        }
    }

    /// The raw (monotonic, wrapping) sum of `slot` over every stripe.
    pub(crate) fn raw(&self, slot: usize) -> u64 {
        self.stripes
            .iter()
            .filter_map(|s| s.0.get(slot))
            .fold(0u64, |acc, c| acc.wrapping_add(c.load(Ordering::Relaxed)))
    }

    /// The slot the hot path adds to.
    pub(crate) fn current(&self) -> usize {
        self.current.load(Ordering::Relaxed) % N
    }

    /// Moves the hot path to `slot`.
    pub(crate) fn set_current(&self, slot: usize) {
        self.current.store(slot % N, Ordering::Relaxed);
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn counts_are_exact_with_more_threads_than_stripes() {
        let c = SlotCounters::<4>::new();
        std::thread::scope(|s| {
            for _ in 0..(STRIPES * 2) {
                s.spawn(|| {
                    for _ in 0..1000 {
                        c.add(3);
                    }
                });
            }
        });
        assert_eq!(c.raw(0), (STRIPES * 2 * 1000 * 3) as u64);
        assert_eq!(c.raw(1), 0);
        c.set_current(5);
        assert_eq!(c.current(), 1);
        // threads that exited gave their stripes back
        let (i, exclusive) = std::thread::spawn(current).join().unwrap();
        assert!(exclusive, "stripe {i} should be free again");
    }
}
