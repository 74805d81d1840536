//! Reservations coalesced per bucket. The messages of a dispatch round reach their page's bucket
//! at about the same time; rather than one store statement each (on PostgreSQL one commit each,
//! thousands a second across many pages), the requests that arrive while a reservation of the
//! bucket is in flight wait and go together in the next one. The store grants consecutive slots,
//! handed out in arrival order, so each message gets exactly the slots it would have got alone
//! and the page keeps the same pace.

use std::sync::{Mutex, PoisonError};

use messenger_model::Timestamp;
use messenger_store::Reservation;
use tokio::sync::oneshot;

/// What a request gets: the reservation, or why the store could not make it (the error's chain).
pub(crate) type Answer = Result<Reservation, String>;

/// One request: how many sends, and where its answer goes.
type Waiter = (u32, oneshot::Sender<Answer>);

/// The requests of one process for one bucket that wait for a reservation.
#[derive(Debug, Default)]
pub(crate) struct Queue {
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    waiting: Vec<Waiter>,
    /// A task is making reservations for the queue (it takes every request that waits).
    serving: bool,
}

impl Queue {
    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Adds a request for `sends`; returns where its answer comes and whether the caller must
    /// start serving the queue (no task does yet).
    pub(crate) fn join(&self, sends: u32) -> (oneshot::Receiver<Answer>, bool) {
        let (reply, answer) = oneshot::channel();
        let mut state = self.state();
        state.waiting.push((sends, reply));
        let serve = !state.serving;
        state.serving = true;
        (answer, serve)
    }

    /// Every request waiting now, with the sends they want in all; `None` when there are none,
    /// and then the server stops (the next request starts another).
    pub(crate) fn take(&self) -> Option<(Vec<Waiter>, u32)> {
        let mut state = self.state();
        if state.waiting.is_empty() {
            state.serving = false;
            return None;
        }
        let waiting = std::mem::take(&mut state.waiting);
        let total = waiting
            .iter()
            .fold(0u32, |sum, (sends, _)| sum.saturating_add(*sends));
        Some((waiting, total))
    }
}

/// Hands `answer`, made for all of `waiting` together, out to each in order: consecutive slots
/// of a grant; the same time to ask again, or the same error, to all.
pub(crate) fn hand_out(waiting: Vec<Waiter>, answer: Answer) {
    match answer {
        Ok(Reservation::Granted(times)) => {
            let again = times.last().copied();
            let mut times = times.into_iter();
            for (sends, reply) in waiting {
                let mine: Vec<Timestamp> = times.by_ref().take(sends as usize).collect();
                let answer = if mine.len() == sends as usize {
                    Reservation::Granted(mine)
                } else {
                    // The store granted fewer slots than asked (it never should): ask again
                    // after the last one granted.
                    Reservation::Busy(again.unwrap_or(Timestamp::from_millis(0)))
                };
                let _ = reply.send(Ok(answer));
            }
        }
        other => {
            for (_, reply) in waiting {
                let _ = reply.send(other.clone());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(ms: i64) -> Timestamp {
        Timestamp::from_millis(ms)
    }

    #[test]
    fn the_first_request_serves_and_the_others_wait_for_it() {
        let queue = Queue::default();
        let (_a, serve_a) = queue.join(1);
        let (_b, serve_b) = queue.join(2);
        assert!(serve_a);
        assert!(!serve_b);
        let (waiting, total) = queue.take().expect("two requests wait");
        assert_eq!((waiting.len(), total), (2, 3));
        assert!(queue.take().is_none(), "nothing waits: serving ends");
        let (_c, serve_c) = queue.join(1);
        assert!(serve_c, "the next request starts serving again");
    }

    #[test]
    fn a_grant_is_split_in_arrival_order() {
        let queue = Queue::default();
        let (mut a, _) = queue.join(2);
        let (mut b, _) = queue.join(1);
        let (waiting, _) = queue.take().expect("waiting");
        hand_out(
            waiting,
            Ok(Reservation::Granted(vec![at(10), at(14), at(18)])),
        );
        assert_eq!(
            a.try_recv().expect("answered"),
            Ok(Reservation::Granted(vec![at(10), at(14)]))
        );
        assert_eq!(
            b.try_recv().expect("answered"),
            Ok(Reservation::Granted(vec![at(18)]))
        );
    }

    #[test]
    fn busy_and_errors_reach_every_request() {
        let queue = Queue::default();
        let (mut a, _) = queue.join(1);
        let (mut b, _) = queue.join(1);
        let (waiting, _) = queue.take().expect("waiting");
        hand_out(waiting, Ok(Reservation::Busy(at(300))));
        assert_eq!(
            a.try_recv().expect("answered"),
            Ok(Reservation::Busy(at(300)))
        );
        assert_eq!(
            b.try_recv().expect("answered"),
            Ok(Reservation::Busy(at(300)))
        );

        let (mut c, _) = queue.join(1);
        let (waiting, _) = queue.take().expect("waiting");
        hand_out(waiting, Err("the store is down".into()));
        assert_eq!(
            c.try_recv().expect("answered"),
            Err("the store is down".into())
        );
    }

    #[test]
    fn a_short_grant_tells_the_last_to_ask_again() {
        let queue = Queue::default();
        let (mut a, _) = queue.join(1);
        let (mut b, _) = queue.join(2);
        let (waiting, _) = queue.take().expect("waiting");
        hand_out(waiting, Ok(Reservation::Granted(vec![at(10), at(14)])));
        assert_eq!(
            a.try_recv().expect("answered"),
            Ok(Reservation::Granted(vec![at(10)]))
        );
        assert_eq!(
            b.try_recv().expect("answered"),
            Ok(Reservation::Busy(at(14)))
        );
    }
}
