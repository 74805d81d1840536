//! [`SendPacing`] for [`MemoryStore`]: the buckets in a map, under the store's lock.

use std::time::Duration;

use async_trait::async_trait;
use messenger_model::Timestamp;

use super::MemoryStore;
use crate::pacing::{horizon_micros, reserve_slots};
use crate::{Pace, Reservation, SendPacing, StoreError};

#[async_trait]
impl SendPacing for MemoryStore {
    async fn reserve_sends(
        &self,
        bucket: &str,
        pace: Pace,
        sends: u32,
        now: Timestamp,
        horizon: Duration,
    ) -> Result<Reservation, StoreError> {
        let mut state = self.state()?;
        let tat = state.send_buckets.get(bucket).copied();
        let (next, reservation) = reserve_slots(tat, pace, sends, now, horizon_micros(horizon));
        if let Some(next) = next {
            state.send_buckets.insert(bucket.to_owned(), next);
        }
        Ok(reservation)
    }
}
