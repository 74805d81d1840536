//! [`SendPacing`](messenger_store::SendPacing) for a SQL backend, written once for both.
//!
//! A reservation is one statement when it is granted, the common case:
//! `UPDATE send_buckets SET tat = max(tat, now) + sends * interval WHERE bucket = $1 AND
//! max(tat, now) - tolerance <= now + horizon RETURNING tat`. A single `UPDATE` is atomic on
//! both backends (PostgreSQL locks the row for it; SQLite has one writer), so instances sharing
//! the database never book the same slot. When no row comes back, the bucket is either booked
//! beyond the horizon (its `tat` is read to say when to ask again) or new (it is created, and
//! the reservation tried again).

/// Implements `SendPacing` for `$store`.
macro_rules! impl_send_pacing {
    ($store:ty) => {
        #[async_trait::async_trait]
        impl messenger_store::SendPacing for $store {
            async fn reserve_sends(
                &self,
                bucket: &str,
                pace: messenger_store::Pace,
                sends: u32,
                now: messenger_model::Timestamp,
                horizon: std::time::Duration,
            ) -> Result<messenger_store::Reservation, messenger_store::StoreError> {
                use messenger_store::implementors::{
                    horizon_micros, reservation_bounds, reserve_slots,
                };
                let horizon = horizon_micros(horizon);
                let (now_us, cost, tolerance, latest) =
                    reservation_bounds(pace, sends, now, horizon);
                for _ in 0..3 {
                    let booked: Option<(i64,)> = sqlx::query_as(
                        "UPDATE send_buckets \
                         SET tat = (CASE WHEN tat > $2 THEN tat ELSE $2 END) + $3 \
                         WHERE bucket = $1 \
                         AND (CASE WHEN tat > $2 THEN tat ELSE $2 END) - $4 <= $5 \
                         RETURNING tat",
                    )
                    .bind(bucket)
                    .bind(now_us)
                    .bind(cost)
                    .bind(tolerance)
                    .bind(latest)
                    .fetch_optional(self.writer())
                    .await
                    .map_err(crate::error::db("reserving sends"))?;
                    if let Some((tat,)) = booked {
                        // The slots the statement booked: the same arithmetic from where it
                        // started.
                        let (_, reservation) =
                            reserve_slots(Some(tat - cost), pace, sends, now, i64::MAX / 2);
                        return Ok(reservation);
                    }
                    let stored: Option<(i64,)> =
                        sqlx::query_as("SELECT tat FROM send_buckets WHERE bucket = $1")
                            .bind(bucket)
                            .fetch_optional(self.writer())
                            .await
                            .map_err(crate::error::db("reading a send bucket"))?;
                    match stored {
                        Some((tat,)) => {
                            if let (None, busy) =
                                reserve_slots(Some(tat), pace, sends, now, horizon)
                            {
                                return Ok(busy);
                            }
                            // Booked meanwhile by others back to within reach: try again.
                        }
                        None => {
                            sqlx::query(
                                "INSERT INTO send_buckets (bucket, tat) VALUES ($1, 0) \
                                 ON CONFLICT (bucket) DO NOTHING",
                            )
                            .bind(bucket)
                            .execute(self.writer())
                            .await
                            .map_err(crate::error::db("creating a send bucket"))?;
                        }
                    }
                }
                Err(messenger_store::StoreError::conflict(format!(
                    "the send bucket {bucket:?} changed under three reservations"
                )))
            }
        }
    };
}
pub(crate) use impl_send_pacing;
