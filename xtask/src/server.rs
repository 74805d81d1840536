//! A process the xtask started to talk to over HTTP (the gateway, graph-sim): killed and reaped
//! when dropped, whatever happened, so a failed step leaves nothing running.

use std::process::Child;

/// Kills the process when dropped.
pub(crate) struct Server(pub(crate) Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}
