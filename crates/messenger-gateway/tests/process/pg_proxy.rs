//! A TCP proxy in front of PostgreSQL that the test stops and starts: the gateway connects to
//! the proxy, so stopping it makes the database unreachable for the gateway alone (connections
//! refused, open ones cut) while the machine's server runs on for everyone else.

use std::net::SocketAddr;

use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinSet;

/// The proxy: listening on a port of its own while running.
pub(crate) struct PgProxy {
    addr: SocketAddr,
    upstream: String,
    /// The accept loop and every piped connection, while running.
    running: Option<JoinSet<()>>,
}

impl PgProxy {
    /// Starts a proxy on a free loopback port to `upstream` (`host:port`).
    pub(crate) async fn start(upstream: &str) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("binding the proxy");
        let addr = listener.local_addr().expect("the proxy's address");
        let mut proxy = Self {
            addr,
            upstream: upstream.to_owned(),
            running: None,
        };
        proxy.serve(listener);
        proxy
    }

    pub(crate) fn port(&self) -> u16 {
        self.addr.port()
    }

    /// Stops: the port refuses connections, and every open one is cut.
    pub(crate) fn stop(&mut self) {
        if let Some(mut tasks) = self.running.take() {
            tasks.abort_all();
        }
    }

    /// Serves again on the same port.
    pub(crate) async fn resume(&mut self) {
        let listener = TcpListener::bind(self.addr)
            .await
            .expect("binding the proxy's port again");
        self.serve(listener);
    }

    fn serve(&mut self, listener: TcpListener) {
        let upstream = self.upstream.clone();
        let mut tasks = JoinSet::new();
        let (conns_tx, mut conns_rx) = tokio::sync::mpsc::unbounded_channel::<TcpStream>();
        tasks.spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                if conns_tx.send(client).is_err() {
                    break;
                }
            }
        });
        // The pipes live in the same set, so stopping cuts them too.
        let (pipes_tx, mut pipes_rx) = tokio::sync::mpsc::unbounded_channel();
        tasks.spawn(async move {
            while let Some(mut client) = conns_rx.recv().await {
                let upstream = upstream.clone();
                let _ = pipes_tx.send(async move {
                    if let Ok(mut server) = TcpStream::connect(&upstream).await {
                        let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
                    }
                });
            }
        });
        let mut pipes = JoinSet::new();
        tasks.spawn(async move {
            loop {
                tokio::select! {
                    pipe = pipes_rx.recv() => match pipe {
                        Some(pipe) => { pipes.spawn(pipe); }
                        None => break,
                    },
                    Some(_) = pipes.join_next(), if !pipes.is_empty() => {}
                }
            }
            // Aborted (or the accept loop ended): dropping the set cuts every pipe.
        });
        self.running = Some(tasks);
    }
}

impl Drop for PgProxy {
    fn drop(&mut self) {
        self.stop();
    }
}
