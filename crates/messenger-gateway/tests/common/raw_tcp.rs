//! Talking to the gateway over raw TCP, for what an HTTP client library would hide: connecting
//! from another loopback address (Linux routes all of 127.0.0.0/8 to loopback, so 127.0.0.2 is
//! another client), sending half a request, reading until the gateway closes.

use std::time::Duration;

use tokio::io::AsyncReadExt;
use tokio::net::{TcpSocket, TcpStream};

/// Connects to the gateway at `base` (`http://127.0.0.1:PORT`) from `from`.
pub(crate) async fn connect_from(base: &str, from: &str) -> TcpStream {
    let addr: std::net::SocketAddr = base.trim_start_matches("http://").parse().unwrap();
    let socket = TcpSocket::new_v4().unwrap();
    socket
        .bind(format!("{from}:0").parse().unwrap())
        .expect("binding a loopback address");
    socket.connect(addr).await.expect("connecting")
}

/// Reads until the peer closes (or `cap` passes: the test then fails). Returns what was read.
pub(crate) async fn read_until_closed(stream: &mut TcpStream, cap: Duration) -> Vec<u8> {
    let mut out = Vec::new();
    let mut chunk = [0u8; 4096];
    tokio::time::timeout(cap, async {
        loop {
            match stream.read(&mut chunk).await {
                Ok(0) | Err(_) => break,
                Ok(n) => out.extend_from_slice(&chunk[..n]),
            }
        }
    })
    .await
    .expect("the gateway closed the connection");
    out
}

/// Reads one whole answer (head and `Content-Length` body) as text, within `cap`.
pub(crate) async fn read_one_answer(stream: &mut TcpStream, cap: Duration) -> String {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    tokio::time::timeout(cap, async {
        loop {
            if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                let head = String::from_utf8_lossy(&buf[..end]).to_ascii_lowercase();
                let length: usize = head
                    .lines()
                    .find_map(|l| l.strip_prefix("content-length:"))
                    .map_or(0, |v| v.trim().parse().unwrap());
                if buf.len() >= end + 4 + length {
                    break;
                }
            }
            let n = stream.read(&mut chunk).await.unwrap_or(0);
            assert!(
                n > 0,
                "closed before a whole answer: {:?}",
                String::from_utf8_lossy(&buf)
            );
            buf.extend_from_slice(&chunk[..n]);
        }
    })
    .await
    .expect("an answer");
    String::from_utf8_lossy(&buf).into_owned()
}

/// The body of a raw answer, as JSON.
pub(crate) fn body_json(answer: &str) -> serde_json::Value {
    let body = answer.split_once("\r\n\r\n").map_or("", |(_, b)| b);
    serde_json::from_str(body).unwrap_or_else(|e| panic!("{e}: {answer}"))
}
