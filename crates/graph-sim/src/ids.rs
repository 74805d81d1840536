//! The ids the simulator hands out: Graph message ids, attachment ids, `fbtrace_id`s, Twilio
//! SIDs, all unique to one simulator.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::signature;

/// A simulator's id source: a nonce (its start time, address and process) and a counter.
pub(crate) struct Ids {
    nonce: String,
    next_id: AtomicU64,
}

impl Ids {
    /// The ids of a simulator listening on `addr`, started now.
    pub(crate) fn new(addr: SocketAddr) -> Self {
        let started = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default()
            .as_nanos();
        let nonce_src = format!("{started}:{addr}:{}", std::process::id());
        let nonce = hex::encode(&signature::hmac_sha256(b"graph-sim", nonce_src.as_bytes())[..6]);
        Self {
            nonce,
            next_id: AtomicU64::new(1),
        }
    }

    /// A number unique within this simulator.
    pub(crate) fn next_id(&self) -> u64 {
        self.next_id.fetch_add(1, Ordering::Relaxed)
    }

    /// A fresh Graph message id.
    pub(crate) fn new_mid(&self) -> String {
        format!("m_{}{:010x}", self.nonce, self.next_id())
    }

    /// A fresh Instagram message id: like Instagram's, base64 (URL-safe, unpadded) of an
    /// `ig_item` reference.
    pub(crate) fn new_instagram_mid(&self) -> String {
        use base64::Engine;
        let item = format!(
            "ig_item:1:IGMessageID:{}{:010x}",
            self.nonce,
            self.next_id()
        );
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(item)
    }

    /// A fresh Instagram user access token (`IGAA...`).
    pub(crate) fn new_instagram_token(&self) -> String {
        format!("IGAA{}{}", self.new_hex32(), self.new_hex32())
    }

    /// A fresh numeric id (attachment ids, like Graph's).
    pub(crate) fn new_numeric_id(&self) -> String {
        let base = u64::from_str_radix(&self.nonce[..8], 16).unwrap_or(1) % 9_000_000 + 1_000_000;
        format!("{base}{:09}", self.next_id())
    }

    /// A fresh `fbtrace_id`.
    pub(crate) fn fbtrace_id(&self) -> String {
        format!("A{}{:06x}", &self.nonce[..8], self.next_id())
    }

    /// 32 hex digits unique to this simulator and call (Twilio SIDs).
    pub(crate) fn new_hex32(&self) -> String {
        let n = self.next_id();
        let digest = signature::hmac_sha256(self.nonce.as_bytes(), &n.to_be_bytes());
        hex::encode(&digest[..16])
    }
}
