//! Per-thread stripes for hot counters: the success path of every thread adds to its own
//! cache line, so two threads calling the same policy do not fight over one atomic.

use std::cell::Cell;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Number of stripes; a power of two.
pub(crate) const STRIPES: usize = 8;

/// Aligns its content to its own pair of cache lines (adjacent-line prefetch included).
#[derive(Debug, Default)]
#[repr(align(128))]
pub(crate) struct Padded<T>(pub(crate) T);

thread_local! {
    static STRIPE: Cell<usize> = const { Cell::new(usize::MAX) };
}

static NEXT_STRIPE: AtomicUsize = AtomicUsize::new(0);

/// The stripe of the current thread (assigned round-robin on first use).
#[inline]
pub(crate) fn current() -> usize {
    STRIPE.with(|s| {
        let v = s.get();
        if v != usize::MAX {
            v
        } else {
            let n = NEXT_STRIPE.fetch_add(1, Ordering::Relaxed) % STRIPES;
            s.set(n);
            n
        }
    })
}
