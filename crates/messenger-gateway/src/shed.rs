//! Shedding new messages when this instance's sending falls behind
//! ([decision 0025](../../../docs/decisions/0025-an-instance-behind-sheds-the-spaces-that-add.md);
//! a space's own bound on its backlog is [`crate::backlog`]).
//!
//! Accepting costs CPU that sending needs: a flood of accepts can leave the paced pages below
//! their rate, every tenant's sends late. Once a second [`Shedder::tick`] looks at what the last
//! second did, per space: the Graph sends its page made, how many of them left more than
//! [`LATE_AFTER`] after their slot, its unsent messages (the store's count) and the messages
//! this instance accepted for it. The instance is **behind** when more than one send in
//! twenty left late, or a healthy page with a backlog of at least a second of its rate sent
//! less than nine tenths of that rate. While it is behind, a space that accepted more than its
//! page sent (by more than a tenth of its rate) is **shed**: its new messages are refused with
//! 429 and a `Retry-After` of its unsent messages over what its page really sent in that
//! second, so a space that only replaces what it sends, a quiet tenant above all, is never
//! refused, and the refused one is told when its backlog will have drained at the speed this
//! instance achieves. A shed space stays shed while the instance is behind and the space still
//! holds more than a second of its rate; the first second that is not behind lifts every shed.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::Arc;

pub use messenger::send::pacing::LATE_AFTER;

use crate::config::SpaceConfig;

/// The most a refused send is told to wait, in seconds.
pub const MAX_RETRY_AFTER_SECS: u32 = 60;

/// One space's last second, as [`Shedder::tick`] reads it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Second {
    /// The space.
    pub space: String,
    /// Graph sends its page made.
    pub sent: u64,
    /// Of them, sends that left more than [`LATE_AFTER`] after their slot.
    pub late: u64,
    /// Whether the page had trouble of its own (throttled by Meta, or its circuit not closed):
    /// its pace says nothing about this instance.
    pub troubled: bool,
    /// The space's unsent messages (every instance's, from the store).
    pub unsent: u64,
}

#[derive(Debug)]
struct SpaceLoad {
    /// The page's text send rate, messages a second.
    rate: u64,
    /// Messages this instance accepted for the space since the last tick.
    accepted: AtomicU64,
    /// While shed, the seconds a refused send is told to wait; 0 when not shed.
    shed_secs: AtomicU32,
}

/// A send refused because the instance is behind and the space adds more than it sends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shed {
    /// Seconds until the space's backlog drains at what its page really sent.
    pub retry_after_secs: u32,
}

/// Every space's accepts and shed state, shared by the HTTP handlers and the backlog task.
#[derive(Debug, Default, Clone)]
pub struct Shedder {
    spaces: Arc<HashMap<String, SpaceLoad>>,
}

impl Shedder {
    /// The spaces of the configuration, none shed.
    pub fn new(spaces: &[SpaceConfig]) -> Self {
        let spaces = spaces
            .iter()
            .map(|s| {
                let load = SpaceLoad {
                    rate: u64::from(s.send_rate.max(1)),
                    accepted: AtomicU64::new(0),
                    shed_secs: AtomicU32::new(0),
                };
                (s.id.clone(), load)
            })
            .collect();
        Self {
            spaces: Arc::new(spaces),
        }
    }

    /// Counts `count` new messages of `space`, or refuses them while the space is shed.
    pub fn admit(&self, space: &str, count: u64) -> Result<(), Shed> {
        let Some(load) = self.spaces.get(space) else {
            return Ok(());
        };
        match load.shed_secs.load(Ordering::Relaxed) {
            0 => {
                load.accepted.fetch_add(count, Ordering::Relaxed);
                Ok(())
            }
            secs => Err(Shed {
                retry_after_secs: secs,
            }),
        }
    }

    /// Whether `space` is shed now.
    pub fn is_shed(&self, space: &str) -> bool {
        self.spaces
            .get(space)
            .is_some_and(|l| l.shed_secs.load(Ordering::Relaxed) > 0)
    }

    /// Decides the next second from the last one (`seconds`: one per space; a space not listed
    /// sent nothing and holds nothing) and starts counting accepts again. Returns the spaces whose
    /// shed state changed, with the new state.
    pub fn tick(&self, seconds: &[Second]) -> Vec<(String, bool)> {
        let by_space: HashMap<&str, &Second> =
            seconds.iter().map(|s| (s.space.as_str(), s)).collect();
        let behind = is_behind(seconds, |space| self.spaces.get(space).map(|l| l.rate));
        let mut changed = Vec::new();
        for (space, load) in self.spaces.iter() {
            let accepted = load.accepted.swap(0, Ordering::Relaxed);
            let second = by_space.get(space.as_str()).copied();
            let (sent, unsent) = second.map_or((0, 0), |s| (s.sent, s.unsent));
            let adds = accepted > sent.saturating_add(load.rate.div_ceil(10));
            // A shed space accepts nothing, so it stays shed while it still holds more than a
            // second of its rate: lifting it would only let the next flood in.
            let was_shed = load.shed_secs.load(Ordering::Relaxed) > 0;
            let secs = if behind && (adds || (was_shed && unsent > load.rate)) {
                let drained = unsent.div_ceil(sent.max(1));
                u32::try_from(drained)
                    .unwrap_or(u32::MAX)
                    .clamp(1, MAX_RETRY_AFTER_SECS)
            } else {
                0
            };
            let was = load.shed_secs.swap(secs, Ordering::Relaxed);
            if (was > 0) != (secs > 0) {
                changed.push((space.clone(), secs > 0));
            }
        }
        changed.sort();
        changed
    }
}

/// Whether the instance fell behind in `seconds`: more than one send in twenty late, or a
/// healthy page with at least a second of its rate unsent sent under nine tenths of it.
fn is_behind(seconds: &[Second], rate_of: impl Fn(&str) -> Option<u64>) -> bool {
    let (sent, late) = seconds
        .iter()
        .fold((0u64, 0u64), |(s, l), x| (s + x.sent, l + x.late));
    if late > 0 && late.saturating_mul(20) > sent {
        return true;
    }
    seconds.iter().any(|s| {
        let Some(rate) = rate_of(&s.space) else {
            return false;
        };
        !s.troubled && s.unsent >= rate && s.sent.saturating_mul(10) < rate.saturating_mul(9)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shedder(rates: &[(&str, u64)]) -> Shedder {
        let spaces = rates
            .iter()
            .map(|(s, rate)| {
                let load = SpaceLoad {
                    rate: *rate,
                    accepted: AtomicU64::new(0),
                    shed_secs: AtomicU32::new(0),
                };
                ((*s).to_owned(), load)
            })
            .collect();
        Shedder {
            spaces: Arc::new(spaces),
        }
    }

    fn second(space: &str, sent: u64, late: u64, unsent: u64) -> Second {
        Second {
            space: space.to_owned(),
            sent,
            late,
            troubled: false,
            unsent,
        }
    }

    #[test]
    fn on_time_nothing_is_shed_however_much_is_accepted() {
        let s = shedder(&[("flood", 250), ("quiet", 250)]);
        s.admit("flood", 20_000).unwrap();
        assert!(s
            .tick(&[second("flood", 250, 0, 50_000), second("quiet", 10, 0, 0)])
            .is_empty());
        assert_eq!(s.admit("flood", 500), Ok(()));
    }

    #[test]
    fn behind_the_space_that_adds_is_shed_and_the_quiet_one_is_not() {
        let s = shedder(&[("flood", 250), ("quiet", 250)]);
        s.admit("flood", 20_000).unwrap();
        s.admit("quiet", 10).unwrap();
        // 30 of 260 sends late: behind.
        let changed = s.tick(&[second("flood", 200, 25, 50_000), second("quiet", 10, 5, 0)]);
        assert_eq!(changed, [("flood".to_owned(), true)]);
        // 50,000 unsent at the 200 a second its page really sent: 250 s, told 60 at most.
        assert_eq!(
            s.admit("flood", 1),
            Err(Shed {
                retry_after_secs: MAX_RETRY_AFTER_SECS
            })
        );
        assert_eq!(s.admit("quiet", 10), Ok(()));
        assert!(!s.is_shed("quiet"));
        // Still behind: refused, it accepted nothing, but it still holds its flood.
        assert!(s
            .tick(&[second("flood", 200, 25, 49_800), second("quiet", 10, 5, 0)])
            .is_empty());
        assert!(s.is_shed("flood"));
        // A second on time lifts it.
        let changed = s.tick(&[second("flood", 250, 0, 49_000), second("quiet", 10, 0, 0)]);
        assert_eq!(changed, [("flood".to_owned(), false)]);
        assert_eq!(s.admit("flood", 1), Ok(()));
    }

    #[test]
    fn a_page_under_its_rate_with_a_backlog_is_behind_unless_it_has_trouble_of_its_own() {
        let s = shedder(&[("a", 250), ("b", 250)]);
        s.admit("b", 1_000).unwrap();
        // Page a has 10 s of backlog and sent 100: the instance is behind; b (at its rate) adds,
        // so b is shed and told its 2,000 unsent drain in 8 s at the 250 a second it sends.
        let changed = s.tick(&[second("a", 100, 0, 2_500), second("b", 250, 0, 2_000)]);
        assert_eq!(changed, [("b".to_owned(), true)]);
        assert_eq!(s.admit("b", 1).unwrap_err().retry_after_secs, 8);
        // The same, but page a is throttled by Meta: its pace is not the instance's doing.
        let mut a = second("a", 100, 0, 2_500);
        a.troubled = true;
        let changed = s.tick(&[a, second("b", 250, 0, 2_000)]);
        assert_eq!(changed, [("b".to_owned(), false)]);
    }

    #[test]
    fn a_few_late_sends_are_not_behind() {
        let s = shedder(&[("a", 250)]);
        s.admit("a", 10_000).unwrap();
        // 10 late of 250: one in twenty-five.
        assert!(s.tick(&[second("a", 250, 10, 10_000)]).is_empty());
    }
}
