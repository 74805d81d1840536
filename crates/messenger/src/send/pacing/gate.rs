//! This process's own spacing of a page's sends, behind the store's slots.
//!
//! The store's bucket hands out send times at the page's pace, and each send sleeps until its
//! time. A process starved of CPU wakes late, and sends whose times passed during the stall would
//! all go at once with the sends that are on time: at 250 a second the most in any one second
//! reached 301 when a flood took both cores. So when a send wakes, it also passes this gate: a
//! GCRA at the page's pace and burst, kept in the process. On time, the store's slots are already
//! spaced and the gate never holds a send; after a stall, the late sends leave spaced at the pace
//! instead of together. With several instances each has its own gate at the full pace, which
//! never holds back the share the store gives it.

use std::sync::atomic::{AtomicI64, Ordering};

use messenger_store::Pace;

/// When a send whose slot is `slot` may go, at `now`, given the gate's theoretical arrival time
/// `tat` (all in microseconds): not before its slot, nor before the pace allows (`tat` less the
/// burst's tolerance). Returns that time and the gate's next `tat`.
fn gate(tat: i64, slot: i64, now: i64, pace: Pace) -> (i64, i64) {
    let at = slot
        .max(now)
        .max(tat.saturating_sub(pace.tolerance_micros()));
    (at, at.max(tat).saturating_add(pace.interval_micros()))
}

/// One kind of a page's sends: the gate's theoretical arrival time, shared by the process's
/// sends to the page.
#[derive(Debug, Default)]
pub(crate) struct IssueGate {
    tat: AtomicI64,
}

impl IssueGate {
    /// Takes the next place at the gate for a send whose slot is `slot`, at `now` (microseconds):
    /// returns when it may go.
    pub(crate) fn pass(&self, slot: i64, now: i64, pace: Pace) -> i64 {
        let mut tat = self.tat.load(Ordering::Relaxed);
        loop {
            let (at, next) = gate(tat, slot, now, pace);
            match self
                .tat
                .compare_exchange_weak(tat, next, Ordering::AcqRel, Ordering::Relaxed)
            {
                Ok(_) => return at,
                Err(actual) => tat = actual,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 250 a second, bursts of 5: one send every 4 ms, up to 5 at once.
    fn pace() -> Pace {
        Pace::new(250, 5).unwrap()
    }

    #[test]
    fn sends_on_time_are_never_held() {
        let gate = IssueGate::default();
        for n in 0..1_000 {
            let slot = 1_000_000 + n * 4_000;
            assert_eq!(gate.pass(slot, slot, pace()), slot);
        }
    }

    #[test]
    fn sends_that_woke_late_together_leave_spaced_at_the_pace() {
        let gate = IssueGate::default();
        // 100 sends whose slots (every 4 ms from 1 s) passed while the process stalled; they all
        // wake at 1.5 s.
        let woke = 1_500_000;
        let times: Vec<i64> = (0..100)
            .map(|n| gate.pass(1_000_000 + n * 4_000, woke, pace()))
            .collect();
        // The burst goes at once, the rest 4 ms apart.
        assert!(times[..5].iter().all(|&t| t == woke), "{times:?}");
        for pair in times[4..].windows(2) {
            assert_eq!(pair[1] - pair[0], 4_000, "{times:?}");
        }
        // In any one second: at most the rate plus the burst.
        let mut all = times.clone();
        all.extend((100..600).map(|n| gate.pass(1_000_000 + n * 4_000, woke, pace())));
        for (i, &start) in all.iter().enumerate() {
            let within = all[i..]
                .iter()
                .take_while(|&&t| t < start + 1_000_000)
                .count();
            assert!(within <= 255, "{within} sends in the second from {start}");
        }
    }

    #[test]
    fn a_quiet_spell_refills_the_burst() {
        let gate = IssueGate::default();
        for _ in 0..5 {
            assert_eq!(gate.pass(0, 0, pace()), 0);
        }
        assert_eq!(
            gate.pass(0, 0, pace()),
            4_000,
            "the sixth waits one interval"
        );
        // A second later the gate is clear again.
        assert_eq!(gate.pass(1_000_000, 1_000_000, pace()), 1_000_000);
    }
}
