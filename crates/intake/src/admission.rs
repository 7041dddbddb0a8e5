//! Who may be read at once (ADR 0017).
//!
//! Two pools, each sized from a memory budget: *reports* being read (the text phase:
//! every submission starts here) and *uploads* (a submission sending files). A
//! submission moves from the first to the second when its first file begins, so files,
//! however many and slow, never take the room a text-only report needs.
//!
//! Whether a pool admits is decided from its occupancy sampled once a period (a
//! minute), not at each request: a prober counting busy answers learns how full the
//! door was at the last sample, not the second a real upload started or ended. Between
//! samples a pool admits until it is full; filling it closes it until the next sample,
//! and that moment is the one finer-grained signal left (see the ADR for what it costs
//! an attacker to observe it).

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Weak};
use std::time::Duration;

/// A pool of identical slots with a sampled admission state.
#[derive(Debug)]
struct Pool {
    capacity: usize,
    in_use: AtomicUsize,
    open: AtomicBool,
}

impl Pool {
    fn new(capacity: usize) -> Self {
        Self {
            capacity,
            in_use: AtomicUsize::new(0),
            open: AtomicBool::new(capacity > 0),
        }
    }

    fn try_admit(self: &Arc<Self>) -> Option<Slot> {
        if !self.open.load(Ordering::SeqCst) {
            return None;
        }
        let mut n = self.in_use.load(Ordering::SeqCst);
        loop {
            if n >= self.capacity {
                // Full: closed until the next sample decides again.
                self.open.store(false, Ordering::SeqCst);
                return None;
            }
            match self
                .in_use
                .compare_exchange(n, n + 1, Ordering::SeqCst, Ordering::SeqCst)
            {
                Ok(_) => {
                    return Some(Slot {
                        pool: Arc::clone(self),
                    });
                }
                Err(now) => n = now,
            }
        }
    }

    /// Opens the pool for the next period if it is less than half full now.
    fn sample(&self) {
        let in_use = self.in_use.load(Ordering::SeqCst);
        self.open
            .store(in_use < self.capacity.div_ceil(2), Ordering::SeqCst);
    }
}

/// One admitted submission's place in a pool; given back when dropped.
#[derive(Debug)]
pub struct Slot {
    pool: Arc<Pool>,
}

impl Drop for Slot {
    fn drop(&mut self) {
        self.pool.in_use.fetch_sub(1, Ordering::SeqCst);
    }
}

/// How many submissions of each kind the door reads at once.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GateSizes {
    pub reports: usize,
    pub uploads: usize,
    /// Refused submissions read to their end (to give the text back and let the
    /// browser see the answer) at once; others are answered without reading on.
    pub drains: usize,
}

/// What one connection holds before any text: actix's read buffer and payload queue,
/// the multipart parser's buffer, the task (measured in docs/benchmarks.md, "Slow
/// uploads").
pub const CONNECTION_BYTES: u64 = 40 * 1024;
/// age's plaintext chunk, held by every file being encrypted.
const AGE_CHUNK_BYTES: u64 = 64 * 1024;
/// Refused submissions drained at once: a few suffice to give text back in a flood.
const DRAINS: usize = 64;

impl GateSizes {
    /// Sizes with the usual number of drains.
    pub fn for_counts(reports: usize, uploads: usize) -> Self {
        Self {
            reports,
            uploads,
            drains: DRAINS,
        }
    }

    /// As many as fit in the two memory budgets, counting each at its worst: a report
    /// being read may hold `text_bytes` of text as received (JSON-escaped, at the
    /// API) plus the answers parsed from it; an upload holds the answers (at most
    /// `answer_bytes`) and one age chunk.
    pub fn for_memory(report_budget: u64, upload_budget: u64, text_bytes: u64, answer_bytes: u64) -> Self {
        let report = CONNECTION_BYTES + text_bytes + answer_bytes;
        let upload = CONNECTION_BYTES + AGE_CHUNK_BYTES + answer_bytes;
        let fit = |budget: u64, each: u64| usize::try_from(budget / each).unwrap_or(usize::MAX);
        Self::for_counts(fit(report_budget, report), fit(upload_budget, upload))
    }
}

/// Admission to the intake's two pools, plus the bound on draining refused ones.
#[derive(Debug)]
pub struct UploadGate {
    reports: Arc<Pool>,
    uploads: Arc<Pool>,
    drains: Arc<Pool>,
}

impl UploadGate {
    /// A gate whose pools are sampled every `period` by a task on the current Tokio
    /// runtime; the task ends when the gate is dropped.
    pub fn start(sizes: GateSizes, period: Duration) -> Arc<Self> {
        let gate = Arc::new(Self {
            reports: Arc::new(Pool::new(sizes.reports)),
            uploads: Arc::new(Pool::new(sizes.uploads)),
            drains: Arc::new(Pool::new(sizes.drains)),
        });
        let weak: Weak<Self> = Arc::downgrade(&gate);
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(period);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            tick.tick().await; // the first tick is immediate
            loop {
                tick.tick().await;
                let Some(gate) = weak.upgrade() else { return };
                gate.sample();
            }
        });
        gate
    }

    /// Decides admission for the next period from the occupancy now. The gate's own
    /// task calls it once a period; tests call it to end a period at once.
    pub fn sample(&self) {
        self.reports.sample();
        self.uploads.sample();
        // Draining is not an oracle worth sampling (a refused request is drained or
        // not), but a full drain pool must not stay closed.
        self.drains.open.store(true, Ordering::SeqCst);
    }

    /// A place to read one more submission's text, if the door admits.
    pub fn admit_report(&self) -> Option<Slot> {
        self.reports.try_admit()
    }

    /// A place for one more submission's files, if the door admits.
    pub fn admit_upload(&self) -> Option<Slot> {
        self.uploads.try_admit()
    }

    /// A place to read a refused submission to its end.
    pub fn admit_drain(&self) -> Option<Slot> {
        let slot = self.drains.try_admit();
        // Unlike the sampled pools, draining reopens as soon as there is room.
        if slot.is_none() && self.drains.in_use.load(Ordering::SeqCst) < self.drains.capacity {
            self.drains.open.store(true, Ordering::SeqCst);
            return self.drains.try_admit();
        }
        slot
    }

    /// (reports, uploads) the gate holds at most.
    pub fn capacity(&self) -> (usize, usize) {
        (self.reports.capacity, self.uploads.capacity)
    }

    /// (reports, uploads) in progress, for tests and benchmarks.
    pub fn in_use(&self) -> (usize, usize) {
        (
            self.reports.in_use.load(Ordering::SeqCst),
            self.uploads.in_use.load(Ordering::SeqCst),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gate(reports: usize, uploads: usize) -> Arc<UploadGate> {
        // A period long enough that the test samples by hand.
        UploadGate::start(
            GateSizes {
                reports,
                uploads,
                drains: 2,
            },
            Duration::from_secs(3600),
        )
    }

    #[tokio::test]
    async fn a_full_pool_stays_closed_until_a_sample_finds_it_less_than_half_full() {
        let g = gate(4, 4);
        let mut held: Vec<Slot> = (0..4).map(|_| g.admit_upload().unwrap()).collect();
        assert!(g.admit_upload().is_none(), "full");
        held.truncate(2);
        // Two slots are free, but the answer does not change between samples.
        assert!(g.admit_upload().is_none(), "closed until the next sample");
        g.sample();
        assert!(
            g.admit_upload().is_none(),
            "half full at the sample: still closed"
        );
        held.truncate(1);
        assert!(g.admit_upload().is_none(), "still the same period");
        g.sample();
        let more: Vec<Slot> = (0..3).map(|_| g.admit_upload().unwrap()).collect();
        assert_eq!(
            g.in_use(),
            (0, 4),
            "a quarter full at the sample: open until full"
        );
        drop((held, more));
    }

    #[tokio::test]
    async fn uploads_never_take_the_room_of_reports() {
        let g = gate(2, 3);
        let _uploads: Vec<Slot> = (0..3).map(|_| g.admit_upload().unwrap()).collect();
        assert!(g.admit_upload().is_none());
        let report = g.admit_report();
        assert!(
            report.is_some(),
            "a text-only report is read whatever the uploads do"
        );
    }

    #[test]
    fn the_default_budgets_hold_a_thousand_uploads_at_their_worst() {
        // The shipped questionnaire's bounds: 20,000 + 4 × 200 + 500 characters.
        let chars = 21_300u64;
        let sizes = GateSizes::for_memory(48 << 20, 192 << 20, chars * 6, chars * 4);
        assert!(sizes.uploads >= 1000, "{sizes:?}");
        assert!(sizes.reports >= 150, "{sizes:?}");
    }

    #[tokio::test]
    async fn a_pool_of_no_slots_admits_nothing() {
        let g = gate(0, 0);
        assert!(g.admit_report().is_none());
        g.sample();
        assert!(g.admit_upload().is_none());
    }

    #[tokio::test]
    async fn draining_reopens_as_soon_as_there_is_room() {
        let g = gate(1, 1);
        let a = g.admit_drain().unwrap();
        let _b = g.admit_drain().unwrap();
        assert!(g.admit_drain().is_none());
        drop(a);
        assert!(g.admit_drain().is_some());
    }
}
