//! [`HeldReceipts`] for [`MemoryStore`].

use async_trait::async_trait;
use messenger_model::{MessageStatus, Timestamp};

use super::MemoryStore;
use crate::{HeldReceipt, HeldReceipts, MessageRecord, MessengerRecipient, StoreError};

/// Receipts held for sends recorded after them.
#[derive(Debug, Default)]
pub(super) struct Held {
    /// `(space, mid)` -> (delivered at, held at).
    mids: std::collections::HashMap<(String, String), (Timestamp, Timestamp)>,
    /// `(space, page, psid, status)` -> (watermark, at, held at).
    watermarks: std::collections::HashMap<WatermarkKey, (Timestamp, Timestamp, Timestamp)>,
}

type WatermarkKey = (String, String, String, MessageStatus);

impl Held {
    /// When the oldest receipt still held was held.
    pub(super) fn oldest(&self) -> Option<Timestamp> {
        let mids = self.mids.values().map(|(_, at)| *at);
        mids.chain(self.watermarks.values().map(|(_, _, at)| *at))
            .min()
    }
}

impl Held {
    /// Forgets the watermarks held for `psids` of `space`.
    pub(super) fn forget_psids(&mut self, space: &str, psids: &[&str]) {
        self.watermarks
            .retain(|(s, _, psid, _), _| s != space || !psids.contains(&psid.as_str()));
    }
}

fn watermark_key(space: &str, to: &MessengerRecipient, status: MessageStatus) -> WatermarkKey {
    (space.into(), to.page_id.clone(), to.psid.clone(), status)
}

#[async_trait]
impl HeldReceipts for MemoryStore {
    async fn hold_receipt(
        &self,
        space: &str,
        recipient: &MessengerRecipient,
        held: &[HeldReceipt],
        now: Timestamp,
    ) -> Result<(), StoreError> {
        let mut state = self.state()?;
        for receipt in held {
            match receipt {
                HeldReceipt::Delivered { mid, at } => {
                    state
                        .held
                        .mids
                        .entry((space.into(), mid.clone()))
                        .or_insert((*at, now));
                }
                HeldReceipt::Watermark {
                    status,
                    watermark,
                    at,
                } => {
                    let key = watermark_key(space, recipient, *status);
                    let entry = state
                        .held
                        .watermarks
                        .entry(key)
                        .or_insert((*watermark, *at, now));
                    if *watermark > entry.0 {
                        *entry = (*watermark, *at, now);
                    }
                }
            }
        }
        Ok(())
    }

    async fn held_receipts_for(
        &self,
        message: &MessageRecord,
    ) -> Result<Vec<HeldReceipt>, StoreError> {
        let Some(to) = &message.sent_to else {
            return Ok(Vec::new());
        };
        let state = self.state()?;
        let mut held: Vec<HeldReceipt> = message
            .graph_message_ids
            .iter()
            .filter_map(|mid| {
                let (at, _) = state.held.mids.get(&(message.space.clone(), mid.clone()))?;
                Some(HeldReceipt::Delivered {
                    mid: mid.clone(),
                    at: *at,
                })
            })
            .collect();
        for status in [MessageStatus::Delivered, MessageStatus::Read] {
            let key = watermark_key(&message.space, to, status);
            if let Some((watermark, at, _)) = state.held.watermarks.get(&key) {
                held.push(HeldReceipt::Watermark {
                    status,
                    watermark: *watermark,
                    at: *at,
                });
            }
        }
        Ok(held)
    }

    async fn purge_held_receipts(&self, before: Timestamp) -> Result<u64, StoreError> {
        let mut state = self.state()?;
        let count = state.held.mids.len() + state.held.watermarks.len();
        state.held.mids.retain(|_, (_, held_at)| *held_at >= before);
        state
            .held
            .watermarks
            .retain(|_, (_, _, held_at)| *held_at >= before);
        let left = state.held.mids.len() + state.held.watermarks.len();
        Ok((count - left) as u64)
    }
}
