//! Per-thread stripes for hot counters: the success path of every thread adds to its own
//! cache line, so two threads calling the same policy do not fight over one atomic.
//!
//! Counters only grow. A thread that owns its stripe exclusively (the first [`STRIPES`]
//! threads to touch one, until they exit) adds with a relaxed load and store — no locked
//! instruction; threads beyond that share a stripe and use `fetch_add`. Readers (the slow
//! paths, under their own lock) sum the stripes and subtract the offsets they recorded when
//! they last reset a slot, so they never write to a stripe. A stripe holds one total, whatever
//! the time slot: a slot's count is closed when its owner moves on to the next slot.

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
    /// This thread's stripe: 0 = not assigned yet, else `index | ASSIGNED`, with `EXCLUSIVE`
    /// set when the thread owns the stripe alone. No destructor here, so reading it is a plain
    /// load.
    static STRIPE: Cell<u8> = const { Cell::new(0) };
    /// Only touched when a stripe is assigned: gives it back at thread exit.
    static RELEASE: Release = const { Release(Cell::new(None)) };
}

const EXCLUSIVE: u8 = 0x80;
const ASSIGNED: u8 = 0x40;
/// The index bits of a stripe code (`STRIPES` is a power of two, so masking needs no bounds
/// check).
const INDEX: u8 = (STRIPES - 1) as u8;
const _: () = assert!(STRIPES.is_power_of_two() && STRIPES <= 32);

#[cold]
#[inline(never)]
fn assign() -> u8 {
    let mut owned = OWNED.load(Ordering::Acquire);
    let code = loop {
        let free = !owned & (u32::MAX >> (32 - STRIPES as u32));
        if free == 0 {
            let i = NEXT_SHARED.fetch_add(1, Ordering::Relaxed) % STRIPES;
            break i as u8 | ASSIGNED;
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
                break i as u8 | ASSIGNED | EXCLUSIVE;
            }
            Err(now) => owned = now,
        }
    };
    let _ = STRIPE.try_with(|s| s.set(code));
    code
}

/// This thread's stripe code (see [`STRIPE`]).
#[inline(always)]
fn code() -> u8 {
    let code = STRIPE.try_with(Cell::get).unwrap_or(0);
    if code == 0 {
        assign()
    } else {
        code
    }
}

/// This thread's stripe, and whether it owns it alone.
#[cfg(test)]
fn current() -> (usize, bool) {
    let code = code();
    (usize::from(code & INDEX), code & EXCLUSIVE != 0)
}

/// `N` monotonic counters (time slots), striped per thread; `current` says which slot the
/// hot path adds to.
///
/// The hot path adds to one monotonic total per stripe, whatever the slot: the current slot
/// only changes under its owner's lock ([`set_current`](Self::set_current), the slow paths of
/// budgets and breakers), which then closes the slot: the total since the slot became current
/// is moved to the slot's base. So an add is a thread-local load and one add, with no slot to
/// look up and no bounds to check.
#[derive(Debug)]
pub(crate) struct SlotCounters<const N: usize> {
    /// Inline (not boxed): one pointer less between a policy and its counter.
    stripes: [Padded<AtomicU64>; STRIPES],
    /// Closed counts per slot (monotonic); written under the owner's lock only.
    base: [AtomicU64; N],
    /// The stripes' total when the current slot became current.
    mark: AtomicU64,
    current: AtomicUsize,
}

impl<const N: usize> SlotCounters<N> {
    pub(crate) fn new() -> Self {
        Self {
            stripes: std::array::from_fn(|_| Padded(AtomicU64::new(0))),
            base: std::array::from_fn(|_| AtomicU64::new(0)),
            mark: AtomicU64::new(0),
            current: AtomicUsize::new(0),
        }
    }

    /// Adds `v` to the current slot: lock-free, clock-free, and without a locked
    /// instruction when this thread owns its stripe.
    #[inline(always)]
    pub(crate) fn add(&self, v: u64) {
        let code = code();
        let c = &self.stripes[usize::from(code & INDEX)].0;
        if code & EXCLUSIVE != 0 {
            c.store(c.load(Ordering::Relaxed).wrapping_add(v), Ordering::Relaxed);
        } else {
            c.fetch_add(v, Ordering::Relaxed);
        }
    }

    /// Everything ever added (wrapping).
    fn total(&self) -> u64 {
        self.stripes
            .iter()
            .fold(0u64, |acc, c| acc.wrapping_add(c.0.load(Ordering::Relaxed)))
    }

    /// The raw (monotonic, wrapping) count of `slot`.
    pub(crate) fn raw(&self, slot: usize) -> u64 {
        let base = self.base.get(slot).map_or(0, |b| b.load(Ordering::Relaxed));
        if slot == self.current() {
            base.wrapping_add(self.total().wrapping_sub(self.mark.load(Ordering::Relaxed)))
        } else {
            base
        }
    }

    /// The slot the hot path adds to.
    pub(crate) fn current(&self) -> usize {
        self.current.load(Ordering::Relaxed) % N
    }

    /// Moves the hot path to `slot`: closes the current slot. Callers serialize this (and
    /// [`raw`](Self::raw)) under their own lock.
    pub(crate) fn set_current(&self, slot: usize) {
        let total = self.total();
        let mark = self.mark.swap(total, Ordering::Relaxed);
        if let Some(base) = self.base.get(self.current()) {
            base.fetch_add(total.wrapping_sub(mark), Ordering::Relaxed);
        }
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
        // the closed slot keeps its count; later adds go to the new slot
        c.add(2);
        assert_eq!(c.raw(0), (STRIPES * 2 * 1000 * 3) as u64);
        assert_eq!(c.raw(1), 2);
        c.set_current(0);
        c.add(1);
        assert_eq!(c.raw(0), (STRIPES * 2 * 1000 * 3) as u64 + 1);
        assert_eq!(c.raw(1), 2);
        // threads that exited gave their stripes back
        let (i, exclusive) = std::thread::spawn(current).join().unwrap();
        assert!(exclusive, "stripe {i} should be free again");
    }
}
