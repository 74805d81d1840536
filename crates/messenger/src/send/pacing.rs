//! Per-page send pacing: before its Graph sends, a message reserves them from its page's buckets
//! in the store ([`messenger_store::SendPacing`]), one bucket per page and kind of send
//! ([`SendKind`]: audio and video against the media rate, the rest against the send rate), and
//! waits for the times it is given. The buckets live in the store, so every instance sharing it
//! keeps to one rate together (docs/decisions/0011).
//!
//! A message whose page is booked further ahead than [`HORIZON`] does not wait in a worker: it
//! is given back to the queue untouched ([`messenger_store::DispatchQueue::defer`]), due when
//! the bucket can take it, and other messages use the worker meanwhile. [`PagePacing`] counts what
//! happened for the page's metrics.
//!
//! The requests of one process for one bucket are coalesced (`coalesce`): those that arrive
//! while a reservation is in flight go to the store together in the next one. A send that woke
//! after its slot also passes the process's own gate at the page's pace (`gate`), so sends
//! delayed together (the process starved of CPU) do not go together.

mod coalesce;
mod gate;

use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use messenger_graph::rates::{SendKind, DEFAULT_MEDIA_SEND_RATE, DEFAULT_SEND_RATE};
use messenger_model::Timestamp;
use messenger_store::{Pace, Reservation};

use crate::send::outlet::Outlet;
use crate::InstagramAccount;
use crate::Messenger;

/// How far ahead a message may book its page's sends and wait for them in its worker; beyond
/// it the message is deferred.
pub const HORIZON: Duration = Duration::from_millis(250);

/// A send that leaves more than this after its slot counts as late ([`PacingCounts::late`]):
/// the process could not keep to the page's pace (its CPU or its store was too slow).
pub const LATE_AFTER: Duration = Duration::from_millis(50);

/// How long after a booked bucket could take one more send its messages are tried again: a
/// quarter of the horizon, so that a lease then finds a quarter of it free rather than one slot.
const REASK_MILLIS: i64 = 62;

fn horizon_millis() -> i64 {
    i64::try_from(HORIZON.as_millis()).unwrap_or(i64::MAX)
}

/// The store bucket of `page`'s sends of `kind`.
pub fn bucket(page: &str, kind: SendKind) -> String {
    format!("{page}/{}", kind.as_str())
}

/// The default pace of a page's sends of `kind` (Meta's figures less a margin:
/// [`messenger_graph::rates`]).
pub fn default_pace(kind: SendKind) -> Pace {
    Pace::per_second(match kind {
        SendKind::Media => DEFAULT_MEDIA_SEND_RATE,
        _ => DEFAULT_SEND_RATE,
    })
}

/// One page's (or Instagram account's) pacing, shared by the clones of its [`Space`](crate::Space): its paces, when its buckets are
/// known to be booked (so this process defers without asking the store again), and counters.
#[derive(Debug)]
pub struct PagePacing {
    standard: Pace,
    media: Pace,
    /// Per kind (standard, media): booked beyond the horizon until this time (milliseconds).
    busy_until: [AtomicI64; 2],
    /// Per kind: the latest slot this process knows the bucket to have booked (milliseconds),
    /// from the reservations it made (whoever booked the slots before them).
    frontier: [AtomicI64; 2],
    /// Per kind: this process's requests waiting for a reservation.
    queues: [coalesce::Queue; 2],
    /// Per kind: this process's spacing of the sends that reached their slot.
    gates: [gate::IssueGate; 2],
    sends: AtomicU64,
    late: AtomicU64,
    throttled: AtomicU64,
    deferred: AtomicU64,
    waited_micros: AtomicU64,
}

impl Default for PagePacing {
    fn default() -> Self {
        Self::new(
            default_pace(SendKind::Standard),
            default_pace(SendKind::Media),
        )
    }
}

/// A page's pacing counters, for metrics (totals since the process started).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PacingCounts {
    /// Graph sends made.
    pub sends: u64,
    /// Sends that reached their slot more than [`LATE_AFTER`] after it.
    pub late: u64,
    /// Graph sends that failed because the page was throttled ([`messenger_graph::Blame::Pace`]).
    pub throttled: u64,
    /// Messages given back to the queue because the page's bucket was booked.
    pub deferred: u64,
    /// Time sends waited for their slot in the page's bucket, in microseconds.
    pub waited_micros: u64,
}

impl PagePacing {
    /// Pacing at `standard` for text, templates, images and files, `media` for audio and video.
    pub fn new(standard: Pace, media: Pace) -> Self {
        Self {
            standard,
            media,
            busy_until: [AtomicI64::new(0), AtomicI64::new(0)],
            frontier: [AtomicI64::new(0), AtomicI64::new(0)],
            queues: Default::default(),
            gates: Default::default(),
            sends: AtomicU64::new(0),
            late: AtomicU64::new(0),
            throttled: AtomicU64::new(0),
            deferred: AtomicU64::new(0),
            waited_micros: AtomicU64::new(0),
        }
    }

    /// Pacing at new paces that goes on counting from this one's counters (a configuration
    /// reloaded with other rates): the page's metrics keep growing. Sends waiting in this one
    /// finish at the old paces.
    #[must_use = "the new pacing is returned; this one is unchanged"]
    pub fn with_paces(&self, standard: Pace, media: Pace) -> Self {
        let next = Self::new(standard, media);
        let counts = self.counts();
        next.sends.store(counts.sends, Ordering::Relaxed);
        next.throttled.store(counts.throttled, Ordering::Relaxed);
        next.deferred.store(counts.deferred, Ordering::Relaxed);
        next.waited_micros
            .store(counts.waited_micros, Ordering::Relaxed);
        next
    }

    /// The pace of sends of `kind`.
    pub fn pace(&self, kind: SendKind) -> Pace {
        match kind {
            SendKind::Media => self.media,
            _ => self.standard,
        }
    }

    fn slot(kind: SendKind) -> usize {
        usize::from(kind == SendKind::Media)
    }

    /// How many of the page's messages a lease at `now` may take
    /// ([`messenger_store::DispatchQueue::lease_due_capped`]): what its text bucket (most of its
    /// sends) can still send within the horizon, as far as this process knows; none while it
    /// knows the bucket to be booked through the horizon (its own reservations, or the store's
    /// answer that it is busy).
    pub fn lease_cap(&self, now: Timestamp) -> usize {
        let slot = Self::slot(SendKind::Standard);
        if self.busy_until[slot].load(Ordering::Relaxed) > now.millis() {
            return 0;
        }
        let start = self.frontier[slot]
            .load(Ordering::Relaxed)
            .max(now.millis());
        let free_ms = now
            .millis()
            .saturating_add(horizon_millis())
            .saturating_sub(start);
        let mut cap = u64::try_from(free_ms).unwrap_or(0) * u64::from(self.standard.rate()) / 1_000;
        if start == now.millis() {
            cap += u64::from(self.standard.burst());
        }
        usize::try_from(cap).unwrap_or(usize::MAX)
    }

    /// When a lease may take the page's messages again, if [`PagePacing::lease_cap`] is 0 at
    /// `now`: the store's busy time, or when one more send fits in the horizon after this
    /// process's own reservations.
    pub fn reopens_at(&self, now: Timestamp) -> Option<Timestamp> {
        if self.lease_cap(now) > 0 {
            return None;
        }
        let slot = Self::slot(SendKind::Standard);
        let busy = self.busy_until[slot].load(Ordering::Relaxed);
        let one_send = i64::from(1_000u32.div_ceil(self.standard.rate().max(1)));
        let booked = self.frontier[slot]
            .load(Ordering::Relaxed)
            .saturating_sub(horizon_millis())
            .saturating_add(one_send);
        Some(Timestamp::from_millis(
            busy.max(booked).max(now.millis() + 1),
        ))
    }

    /// The counters so far.
    pub fn counts(&self) -> PacingCounts {
        PacingCounts {
            sends: self.sends.load(Ordering::Relaxed),
            late: self.late.load(Ordering::Relaxed),
            throttled: self.throttled.load(Ordering::Relaxed),
            deferred: self.deferred.load(Ordering::Relaxed),
            waited_micros: self.waited_micros.load(Ordering::Relaxed),
        }
    }

    pub(crate) fn sent(&self) {
        self.sends.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn was_throttled(&self) {
        self.throttled.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn was_deferred(&self) {
        self.deferred.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn waited(&self, micros: u64) {
        self.waited_micros.fetch_add(micros, Ordering::Relaxed);
    }
}

/// The times a message's remaining Graph sends may go, in plan order; or when to try it again.
pub(crate) enum Slots {
    /// Reserved: one time per send.
    Go(Vec<Timestamp>),
    /// The page is booked beyond the horizon (or the store could not say): defer until then.
    Defer(Timestamp),
}

impl Messenger {
    /// Reserves slots for sends of `kinds` (in plan order) from the buckets of `outlet` (a page
    /// or an Instagram account).
    pub(crate) async fn reserve_slots(&self, outlet: &Outlet<'_>, kinds: &[SendKind]) -> Slots {
        let now = self.now();
        let mut times: Vec<Option<Timestamp>> = vec![None; kinds.len()];
        for kind in [SendKind::Standard, SendKind::Media] {
            let positions: Vec<usize> = (0..kinds.len()).filter(|&i| kinds[i] == kind).collect();
            let Ok(count) = u32::try_from(positions.len()) else {
                return Slots::Defer(now.add_millis(1_000));
            };
            if count == 0 {
                continue;
            }
            let busy = &outlet.pacing.busy_until[PagePacing::slot(kind)];
            let until = busy.load(Ordering::Relaxed);
            if until > now.millis() {
                return Slots::Defer(Timestamp::from_millis(until));
            }
            match self.reserve_coalesced(outlet, kind, count).await {
                Ok(Reservation::Granted(at)) => {
                    if let Some(last) = at.last() {
                        outlet.pacing.frontier[PagePacing::slot(kind)]
                            .fetch_max(last.millis(), Ordering::Relaxed);
                    }
                    for (i, t) in positions.into_iter().zip(at) {
                        times[i] = Some(t);
                    }
                }
                Ok(Reservation::Busy(again)) => {
                    // Ask again once a few slots have opened, not for each one.
                    let again = again.add_millis(REASK_MILLIS);
                    busy.fetch_max(again.millis(), Ordering::Relaxed);
                    return Slots::Defer(again);
                }
                Err(error) => {
                    tracing::warn!(
                        space = %outlet.space.id,
                        sender = %outlet.id,
                        %error,
                        "reserving the page's sends failed; the message waits a second"
                    );
                    return Slots::Defer(now.add_millis(1_000));
                }
            }
        }
        Slots::Go(times.into_iter().map(|t| t.unwrap_or(now)).collect())
    }

    /// Reserves `count` sends of `kind` from `outlet`'s bucket, together with this process's
    /// other requests for it that arrive meanwhile (the first request starts a task that makes
    /// reservations until none waits).
    async fn reserve_coalesced(
        &self,
        outlet: &Outlet<'_>,
        kind: SendKind,
        count: u32,
    ) -> coalesce::Answer {
        let (answer, serve) = outlet.pacing.queues[PagePacing::slot(kind)].join(count);
        if serve {
            let this = self.clone();
            let pacing = Arc::clone(outlet.pacing);
            let bucket = bucket(outlet.id, kind);
            tokio::spawn(async move { this.serve_reservations(&pacing, kind, &bucket).await });
        }
        answer
            .await
            .unwrap_or_else(|_| Err("the reservation task ended without answering".to_owned()))
    }

    /// Makes reservations for the requests waiting for `bucket`, all of them at once, until none
    /// waits.
    async fn serve_reservations(&self, pacing: &PagePacing, kind: SendKind, bucket: &str) {
        let queue = &pacing.queues[PagePacing::slot(kind)];
        loop {
            // The round's other messages join before the statement goes.
            tokio::task::yield_now().await;
            let Some((waiting, total)) = queue.take() else {
                return;
            };
            let answer = self
                .inner
                .store
                .reserve_sends(bucket, pacing.pace(kind), total, self.now(), HORIZON)
                .await
                .map_err(|e| crate::error::chain(&e));
            coalesce::hand_out(waiting, answer);
        }
    }

    /// Reserves a private reply from the hourly bucket of Instagram `account` (`outlet`): the
    /// time it may go, or when to ask again. Not coalesced: replies to comments are few.
    pub(crate) async fn reserve_private_reply(
        &self,
        outlet: &Outlet<'_>,
        account: &InstagramAccount,
        now: Timestamp,
    ) -> Slots {
        let bucket = format!("{}/private_reply", outlet.id);
        let pace = account.private_replies;
        match self
            .inner
            .store
            .reserve_sends(&bucket, pace, 1, now, HORIZON)
            .await
        {
            Ok(Reservation::Granted(at)) => Slots::Go(at),
            Ok(Reservation::Busy(again)) => Slots::Defer(again),
            Err(error) => {
                tracing::warn!(
                    space = %outlet.space.id,
                    sender = %outlet.id,
                    error = %crate::error::chain(&error),
                    "reserving a private reply failed; the message waits a second"
                );
                Slots::Defer(now.add_millis(1_000))
            }
        }
    }

    /// Waits for a send's slot, counting the wait on `outlet`'s pacing.
    pub(crate) async fn wait_for_slot(&self, outlet: &Outlet<'_>, kind: SendKind, at: Timestamp) {
        let wait = at.millis().saturating_sub(self.now().millis());
        if wait > 0 {
            let wait = u64::try_from(wait).unwrap_or(0);
            outlet.pacing.waited(wait.saturating_mul(1_000));
            tokio::time::sleep(Duration::from_millis(wait)).await;
        }
        // Woken at (or after) the slot: through the process's gate at the page's pace.
        let now = self.now().millis().saturating_mul(1_000);
        let slot = at.millis().saturating_mul(1_000);
        let pacing = outlet.pacing;
        let late_after = i64::try_from(LATE_AFTER.as_micros()).unwrap_or(i64::MAX);
        if now - slot > late_after {
            pacing.late.fetch_add(1, Ordering::Relaxed);
        }
        let go = pacing.gates[PagePacing::slot(kind)].pass(slot, now, pacing.pace(kind));
        if let Ok(held @ 1..) = u64::try_from(go - now) {
            pacing.waited(held);
            tokio::time::sleep(Duration::from_micros(held)).await;
        }
    }
}
