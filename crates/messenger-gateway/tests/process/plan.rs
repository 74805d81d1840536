//! The messages a test accepts (each text unique and naming its recipient and its place:
//! `r07-m0012`) and what graph-sim received, checked against them.

use std::collections::{BTreeMap, HashSet};
use std::ops::Range;
use std::time::{Duration, Instant};

use graph_sim::GraphSim;
use serde_json::{json, Value};

/// `recipients` users, `per_recipient` messages each, accepted interleaved: message `m` of
/// every recipient before message `m + 1` of any.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Plan {
    pub recipients: usize,
    pub per_recipient: usize,
}

impl Plan {
    pub(crate) fn total(&self) -> usize {
        self.recipients * self.per_recipient
    }

    /// Recipient `r`'s PSID (numeric, as Meta's are).
    pub(crate) fn psid(r: usize) -> String {
        format!("2473000000{r:04}")
    }

    /// The text of recipient `r`'s message `m`.
    pub(crate) fn text(r: usize, m: usize) -> String {
        format!("r{r:02}-m{m:04}")
    }

    /// The send requests for messages `ms` of every recipient, in acceptance order.
    pub(crate) fn requests(&self, ms: Range<usize>) -> Vec<Value> {
        ms.flat_map(|m| {
            (0..self.recipients).map(move |r| {
                json!({
                    "to": {"fbMessengerId": Self::psid(r)},
                    "body": Self::text(r, m),
                    "rules": ["fbMessenger"],
                })
            })
        })
        .collect()
    }
}

/// Waits (at most `timeout`) until graph-sim has received every planned message at least once;
/// returns how long that took. Cheap to poll: it runs in this process.
pub(crate) async fn wait_all_received(sim: &GraphSim, plan: Plan, timeout: Duration) -> Duration {
    let started = Instant::now();
    let total = u64::try_from(plan.total()).expect("a count");
    loop {
        // The count includes duplicates: look at the distinct texts only once it is enough.
        if sim.sent_count() >= total && Sends::from_sim(sim).occurrences().len() >= plan.total() {
            return started.elapsed();
        }
        if started.elapsed() > timeout {
            let distinct = Sends::from_sim(sim).occurrences().len();
            panic!(
                "graph-sim received {distinct} of {} messages within {timeout:?}",
                plan.total()
            );
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// `(recipient, message)` from a text of [`Plan::text`].
fn parse(text: &str) -> Option<(usize, usize)> {
    let (r, m) = text.strip_prefix('r')?.split_once("-m")?;
    Some((r.parse().ok()?, m.parse().ok()?))
}

/// What graph-sim's Send API accepted, in the order it accepted it.
pub(crate) struct Sends {
    /// `(recipient, message)` of each send, in order.
    pub sends: Vec<(usize, usize)>,
}

impl Sends {
    /// Reads the simulator's record; every send must be a planned text to its own recipient.
    pub(crate) fn from_sim(sim: &GraphSim) -> Self {
        let sends = sim
            .sent_messages()
            .iter()
            .map(|s| {
                let text = s
                    .request
                    .message
                    .as_ref()
                    .and_then(|m| m.text.as_deref())
                    .unwrap_or_default();
                let (r, m) = parse(text)
                    .unwrap_or_else(|| panic!("graph-sim received an unplanned text {text:?}"));
                assert_eq!(
                    s.recipient_id,
                    Plan::psid(r),
                    "{text:?} went to the wrong recipient"
                );
                (r, m)
            })
            .collect();
        Self { sends }
    }

    /// Sends given as `(recipient, text)` in order (another channel's record); every text must
    /// be a planned one for its recipient.
    pub(crate) fn from_texts(texts: impl IntoIterator<Item = (usize, String)>) -> Self {
        let sends = texts
            .into_iter()
            .map(|(to, text)| {
                let (r, m) = parse(&text)
                    .unwrap_or_else(|| panic!("Graph received an unplanned text {text:?}"));
                assert_eq!(r, to, "{text:?} went to the wrong recipient");
                (r, m)
            })
            .collect();
        Self { sends }
    }

    /// Where each message was sent (indexes into the sends).
    pub(crate) fn occurrences(&self) -> BTreeMap<(usize, usize), Vec<usize>> {
        let mut out: BTreeMap<(usize, usize), Vec<usize>> = BTreeMap::new();
        for (i, key) in self.sends.iter().enumerate() {
            out.entry(*key).or_default().push(i);
        }
        out
    }

    /// Every planned message reached graph-sim at least once, and nothing else did.
    #[track_caller]
    pub(crate) fn assert_none_lost(&self, plan: Plan) {
        let seen = self.occurrences();
        let missing: Vec<String> = (0..plan.per_recipient)
            .flat_map(|m| (0..plan.recipients).map(move |r| (r, m)))
            .filter(|k| !seen.contains_key(k))
            .map(|(r, m)| Plan::text(r, m))
            .collect();
        assert!(
            missing.is_empty(),
            "{} accepted messages never reached Graph, e.g. {:?}",
            missing.len(),
            &missing[..missing.len().min(10)]
        );
        assert_eq!(seen.len(), plan.total(), "only planned messages were sent");
    }

    /// For each recipient, the first sends of its messages are in acceptance order.
    #[track_caller]
    pub(crate) fn assert_order(&self, plan: Plan) {
        let mut firsts: Vec<Vec<usize>> = vec![Vec::new(); plan.recipients];
        let mut seen = HashSet::new();
        for &(r, m) in &self.sends {
            if seen.insert((r, m)) {
                firsts[r].push(m);
            }
        }
        for (r, ms) in firsts.iter().enumerate() {
            let expected: Vec<usize> = (0..plan.per_recipient).collect();
            assert_eq!(
                ms, &expected,
                "recipient {r}: messages left out of acceptance order"
            );
        }
    }

    /// The messages sent more than once, with where they were sent.
    pub(crate) fn duplicates(&self) -> Vec<((usize, usize), Vec<usize>)> {
        self.occurrences()
            .into_iter()
            .filter(|(_, at)| at.len() > 1)
            .collect()
    }

    /// Each message was sent exactly once.
    #[track_caller]
    pub(crate) fn assert_exactly_once(&self) {
        let dups = self.duplicates();
        assert!(
            dups.is_empty(),
            "{} messages were sent more than once, e.g. {:?}",
            dups.len(),
            dups.iter()
                .take(10)
                .map(|((r, m), at)| format!("{} at sends {at:?}", Plan::text(*r, *m)))
                .collect::<Vec<_>>()
        );
    }
}
