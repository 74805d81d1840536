//! Which new connections the listener takes: at most `server.max_connections` open at once, and
//! at most `server.max_connections_per_client` from one address (a trusted proxy's connections
//! count only in the total). A connection past either cap is answered 503 and closed; those
//! already open are not touched.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex, PoisonError};

use ipnet::IpNet;

use crate::client::is_trusted;

/// Why a connection was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// `server.max_connections` are open.
    Total,
    /// `server.max_connections_per_client` are open from this address.
    PerClient,
}

impl Refusal {
    /// The metric label.
    pub fn label(self) -> &'static str {
        match self {
            Refusal::Total => "total",
            Refusal::PerClient => "per_client",
        }
    }
}

/// The count of open connections, in all and per address.
#[derive(Debug)]
pub struct Admission {
    max_total: usize,
    max_per_client: usize,
    trusted: Vec<IpNet>,
    open: Mutex<Open>,
}

#[derive(Debug, Default)]
struct Open {
    total: usize,
    per_client: HashMap<IpAddr, usize>,
}

impl Admission {
    /// Caps of `max_total` and `max_per_client` (each at least 1); connections from `trusted`
    /// count only in the total.
    pub fn new(max_total: usize, max_per_client: usize, trusted: Vec<IpNet>) -> Arc<Self> {
        Arc::new(Self {
            max_total: max_total.max(1),
            max_per_client: max_per_client.max(1),
            trusted,
            open: Mutex::new(Open::default()),
        })
    }

    /// Takes a place for a connection from `ip`, held until the returned guard is dropped.
    pub fn admit(self: &Arc<Self>, ip: IpAddr) -> Result<Admitted, Refusal> {
        let counted = !is_trusted(ip, &self.trusted);
        let mut open = self.open.lock().unwrap_or_else(PoisonError::into_inner);
        if open.total >= self.max_total {
            return Err(Refusal::Total);
        }
        if counted {
            let n = open.per_client.entry(ip).or_insert(0);
            if *n >= self.max_per_client {
                return Err(Refusal::PerClient);
            }
            *n += 1;
        }
        open.total += 1;
        Ok(Admitted {
            admission: Arc::clone(self),
            ip: counted.then_some(ip),
        })
    }

    /// Connections open now.
    pub fn open(&self) -> usize {
        self.open
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .total
    }
}

/// A connection's place; dropping it frees the place.
#[derive(Debug)]
pub struct Admitted {
    admission: Arc<Admission>,
    ip: Option<IpAddr>,
}

impl Drop for Admitted {
    fn drop(&mut self) {
        let mut open = self
            .admission
            .open
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        open.total = open.total.saturating_sub(1);
        if let Some(ip) = self.ip {
            if let Some(n) = open.per_client.get_mut(&ip) {
                *n -= 1;
                if *n == 0 {
                    open.per_client.remove(&ip);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn caps_in_all_and_per_client_and_places_come_back() {
        let a = Admission::new(3, 2, vec!["10.0.0.0/8".parse().unwrap()]);
        let one = a.admit(ip("192.0.2.1")).unwrap();
        let _two = a.admit(ip("192.0.2.1")).unwrap();
        assert_eq!(a.admit(ip("192.0.2.1")).unwrap_err(), Refusal::PerClient);
        let _proxy = a.admit(ip("10.0.0.1")).unwrap();
        assert_eq!(a.admit(ip("192.0.2.2")).unwrap_err(), Refusal::Total);
        assert_eq!(a.open(), 3);
        drop(one);
        assert_eq!(a.open(), 2);
        let _three = a.admit(ip("192.0.2.1")).unwrap();
        assert!(a.open.lock().unwrap().per_client.len() == 1);
    }

    #[test]
    fn a_trusted_proxy_is_not_capped_per_address() {
        let a = Admission::new(100, 1, vec!["10.0.0.0/8".parse().unwrap()]);
        let held: Vec<_> = (0..50).map(|_| a.admit(ip("10.0.0.1")).unwrap()).collect();
        assert_eq!(a.open(), 50);
        drop(held);
        assert_eq!(a.open(), 0);
        assert!(a.open.lock().unwrap().per_client.is_empty());
    }
}
