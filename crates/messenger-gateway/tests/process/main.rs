//! The real `messenger-gateway` binary as a child process (`serve --config FILE`), against
//! graph-sim running in this test process: what "nothing lost" (docs/design.md §7) means when the
//! process itself dies or stops.
//!
//! - [`crash`]: `kill -9` in the middle of a 2,000-message batch on SQLite; after a restart
//!   every accepted message is sent, in order per recipient, and only messages that were in
//!   flight at the kill are sent twice (Meta's Send API has no idempotency key).
//! - [`owner`]: the README's defaults (no `instance_id`): `kill -9` mid-batch, and the restart
//!   takes back every lease of the SQLite file it owns at once; a second process on the same
//!   file is refused at start.
//! - [`backup`]: `messenger-gateway backup` while the gateway serves, `restore` into a fresh
//!   directory after a disaster: every message accepted before the backup is there, and each
//!   is sent once.
//! - [`batch_replay`]: a batch retried with its `Idempotency-Key` after `kill -9` right after
//!   its 202: the replay answers the first response and no message is sent twice.
//! - [`shared_queue`]: two processes on one PostgreSQL share the queue; each message is sent
//!   exactly once, in order per recipient, and both processes send.
//! - [`slow_graph`]: Graph answering in 100 ms, as Meta does: two processes on PostgreSQL,
//!   the accept path while dispatch is busy, SIGTERM, and a restart taking its own leases back.
//! - [`store_failure`]: PostgreSQL refusing to record sends: recorded by retrying, never sent
//!   twice.
//! - [`pg_outage`]: PostgreSQL's connections cut (`pg_terminate_backend`) and PostgreSQL
//!   unreachable for 30 s (a TCP proxy the test stops): 503 with `Retry-After` meanwhile,
//!   `/readyz` says why, nothing accepted is lost or sent twice, sending resumes; and an
//!   instance without `instance_id` on PostgreSQL keeps its id across `kill -9`.
//! - [`shutdown`]: SIGTERM while dispatching; the process exits 0 within seconds, leaves no
//!   lease behind, and a restart sends the rest exactly once.
//! - [`deadline`]: a Messenger delivery deadline passes while the gateway is down (`kill -9`):
//!   the restart sends the SMS, once; two processes on PostgreSQL send each deadline's SMS once.
//! - [`pacing`]: two processes on one PostgreSQL keep one page to its `send_rate` together,
//!   each message sent once.
//! - [`disk_full`]: SQLite on a 12 MB tmpfs that fills up: 503 with `Retry-After` and `/readyz`
//!   naming the full disk, then, once space returns, every accepted message sent once without a
//!   restart.
//! - [`connection`]: a page token revoked (190/460) holds the page's messages in
//!   `needs_reauth` (logged once, named by `/readyz` and a metric) until the token check finds
//!   it valid, then each is sent once, in order; `doctor` names a subscription missing
//!   `message_echoes` and `subscribe` fixes it.
//! - [`hash_key`]: `messenger-gateway hash-key` against digests computed by openssl.
//! - [`hostile`]: what a client without a key can do to the public listener (invented methods,
//!   idle and half-sent connections under a low file limit, silent webhook bodies, one tenant's
//!   slow bodies, oversized requests): the gateway keeps answering Meta and the probes.
//!
//! Each child's stdout and stderr go to files in the test's temporary directory; their tails
//! are printed when a test fails. A child is always killed when its guard is dropped.

mod child;
#[path = "../common/key_rotation.rs"]
mod key_rotation;
mod pg_proxy;
mod plan;
// Shared with the api tests, which use all of it; this binary uses a part.
#[allow(dead_code)]
#[path = "../common/raw_tcp.rs"]
mod raw_tcp;
mod sim;
mod small_disk;
mod two_gateways;
mod window;

mod backup;
mod batch_replay;
mod connection;
mod crash;
mod deadline;
mod disk_full;
mod hangup;
mod hash_key;
mod hostile;
mod instagram;
mod owner;
mod pacing;
mod pg_outage;
mod shared_queue;
mod shutdown;
mod slow_graph;
mod store_failure;
