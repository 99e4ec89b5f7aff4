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

/// Releases an exclusively owned stripe when its thread exits.
struct Release(Cell<Option<u32>>);

impl Drop for Release {
    fn drop(&mut self) {
        if let Some(i) = self.0.get() {
            OWNED.fetch_and(!(1u32 << i), Ordering::AcqRel);
        }
    }
}

thread_local! {
    /// This thread's stripe: 0 = not assigned yet, else `index + 1`, with bit 7 set when the
    /// thread owns the stripe alone. No destructor here, so reading it is a plain load.
    static STRIPE: Cell<u8> = const { Cell::new(0) };
    /// Only touched when a stripe is assigned: gives it back at thread exit.
    static RELEASE: Release = const { Release(Cell::new(None)) };
}

const EXCLUSIVE: u8 = 0x80;

#[cold]
#[inline(never)]
fn assign() -> u8 {
    let mut owned = OWNED.load(Ordering::Acquire);
    let code = loop {
        let free = !owned & (u32::MAX >> (32 - STRIPES as u32));
        if free == 0 {
            let i = NEXT_SHARED.fetch_add(1, Ordering::Relaxed) % STRIPES;
            break i as u8 + 1;
        }
        let i = free.trailing_zeros();
        match OWNED.compare_exchange_weak(
            owned,
            owned | (1 << i),
            Ordering::AcqRel,
            Ordering::Acquire,
        ) {
            Ok(_) => {
                // If thread-local storage is being torn down, the stripe is simply not
                // given back (it is then shared by later threads through `fetch_add`).
                let _ = RELEASE.try_with(|r| r.0.set(Some(i)));
                break (i as u8 + 1) | EXCLUSIVE;
            }
            Err(now) => owned = now,
        }
    };
    let _ = STRIPE.try_with(|s| s.set(code));
    code
}

/// This thread's stripe, and whether it owns it alone.
#[inline]
fn current() -> (usize, bool) {
    let code = STRIPE.try_with(Cell::get).unwrap_or(0);
    let code = if code == 0 { assign() } else { code };
    (usize::from((code & !EXCLUSIVE) - 1), code & EXCLUSIVE != 0)
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
