//! Counting proxies on loopback, so requests are counted at the client without touching
//! the product's clients: bytes are forwarded as they come and a copy is parsed.
//!
//! - PostgreSQL: every frontend message is framed (type byte + length). A `Sync` or a
//!   simple `Query` ends an exchange the server answers with one `ReadyForQuery`:
//!   `exchanges` counts them. `round_trips` counts the times the client sends while it
//!   has nothing outstanding (pipelined exchanges share one wait).
//! - DynamoDB (HTTP/1.1): every request names its operation in `x-amz-target`.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

#[derive(Default)]
pub struct Counts {
    pub exchanges: AtomicU64,
    pub round_trips: AtomicU64,
    /// Operation (`DynamoDB_20120810.BatchWriteItem`, ...) → requests.
    pub operations: Mutex<BTreeMap<String, u64>>,
}

impl Counts {
    pub fn operations(&self) -> BTreeMap<String, u64> {
        self.operations.lock().map(|m| m.clone()).unwrap_or_default()
    }

    pub fn pg(&self) -> (u64, u64) {
        (
            self.exchanges.load(Ordering::SeqCst),
            self.round_trips.load(Ordering::SeqCst),
        )
    }
}

#[derive(Clone, Copy)]
pub enum Protocol {
    Postgres,
    Http,
}

/// Listens on an ephemeral loopback port forwarding to `upstream` (`host:port`).
pub async fn start(upstream: String, protocol: Protocol) -> anyhow::Result<(u16, Arc<Counts>)> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let port = listener.local_addr()?.port();
    let counts = Arc::new(Counts::default());
    let shared = counts.clone();
    tokio::spawn(async move {
        while let Ok((client, _)) = listener.accept().await {
            let (upstream, counts) = (upstream.clone(), shared.clone());
            tokio::spawn(async move {
                if let Ok(server) = TcpStream::connect(&upstream).await {
                    let _ = connection(client, server, protocol, counts).await;
                }
            });
        }
    });
    Ok((port, counts))
}

async fn connection(
    client: TcpStream,
    server: TcpStream,
    protocol: Protocol,
    counts: Arc<Counts>,
) -> std::io::Result<()> {
    let _ = client.set_nodelay(true);
    let _ = server.set_nodelay(true);
    let (mut cr, mut cw) = client.into_split();
    let (mut sr, mut sw) = server.into_split();
    // Per connection: exchanges sent and not yet answered; single-byte replies due.
    let outstanding = Arc::new(AtomicI64::new(0));
    let single_replies = Arc::new(AtomicI64::new(0));
    let (out2, single2) = (outstanding.clone(), single_replies.clone());
    let upward = async move {
        let mut frontend = Frames::new(true);
        let mut http = HttpSniffer::default();
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            let n = cr.read(&mut buf).await?;
            if n == 0 {
                return sw.shutdown().await;
            }
            match protocol {
                Protocol::Postgres => {
                    let (mut ends, mut singles) = (0, 0);
                    frontend.feed(&buf[..n], |kind| match kind {
                        Some(b'S') | Some(b'Q') => ends += 1,
                        None => singles += 1,
                        _ => {}
                    });
                    single_replies.fetch_add(singles, Ordering::SeqCst);
                    if ends > 0 {
                        if outstanding.fetch_add(ends, Ordering::SeqCst) <= 0 {
                            counts.round_trips.fetch_add(1, Ordering::SeqCst);
                        }
                        counts.exchanges.fetch_add(ends as u64, Ordering::SeqCst);
                    }
                }
                Protocol::Http => http.feed(&buf[..n], &counts),
            }
            sw.write_all(&buf[..n]).await?;
        }
    };
    let downward = async move {
        let mut backend = Frames::new(false);
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            let n = sr.read(&mut buf).await?;
            if n == 0 {
                return cw.shutdown().await;
            }
            if let Protocol::Postgres = protocol {
                backend.feed_backend(&buf[..n], &single2, |kind| {
                    if kind == b'Z' {
                        out2.fetch_sub(1, Ordering::SeqCst);
                    }
                });
            }
            cw.write_all(&buf[..n]).await?;
        }
    };
    let _ = tokio::try_join!(upward, downward);
    Ok(())
}

/// PostgreSQL message framing across reads.
struct Frames {
    pending: Vec<u8>,
    /// The frontend's first messages have no type byte (SSLRequest, StartupMessage).
    untyped: bool,
}

const SSL_REQUEST: u32 = 80_877_103;
const GSS_REQUEST: u32 = 80_877_104;

impl Frames {
    fn new(untyped: bool) -> Self {
        Frames {
            pending: Vec::new(),
            untyped,
        }
    }

    /// Frontend: `seen(Some(type))` per typed message, `seen(None)` per request that the
    /// server answers with a single byte (SSL/GSS negotiation).
    fn feed(&mut self, bytes: &[u8], mut seen: impl FnMut(Option<u8>)) {
        self.pending.extend_from_slice(bytes);
        let mut at = 0;
        loop {
            let rest = &self.pending[at..];
            if self.untyped {
                if rest.len() < 8 {
                    break;
                }
                let len = u32::from_be_bytes([rest[0], rest[1], rest[2], rest[3]]) as usize;
                if rest.len() < len {
                    break;
                }
                let code = u32::from_be_bytes([rest[4], rest[5], rest[6], rest[7]]);
                if code == SSL_REQUEST || code == GSS_REQUEST {
                    seen(None);
                } else {
                    self.untyped = false;
                }
                at += len.max(8);
            } else {
                if rest.len() < 5 {
                    break;
                }
                let len = u32::from_be_bytes([rest[1], rest[2], rest[3], rest[4]]) as usize;
                if rest.len() < 1 + len {
                    break;
                }
                seen(Some(rest[0]));
                at += 1 + len.max(4);
            }
        }
        self.pending.drain(..at);
    }

    /// Backend: single-byte SSL/GSS answers first, then typed messages.
    fn feed_backend(&mut self, bytes: &[u8], singles: &AtomicI64, mut seen: impl FnMut(u8)) {
        let mut bytes = bytes;
        while self.pending.is_empty() && !bytes.is_empty() && singles.load(Ordering::SeqCst) > 0 {
            singles.fetch_sub(1, Ordering::SeqCst);
            bytes = &bytes[1..];
        }
        self.pending.extend_from_slice(bytes);
        let mut at = 0;
        while self.pending.len() - at >= 5 {
            let rest = &self.pending[at..];
            let len = u32::from_be_bytes([rest[1], rest[2], rest[3], rest[4]]) as usize;
            if rest.len() < 1 + len {
                break;
            }
            seen(rest[0]);
            at += 1 + len.max(4);
        }
        self.pending.drain(..at);
    }
}

/// Finds `x-amz-target: <op>\r\n` in a request stream, across reads.
#[derive(Default)]
struct HttpSniffer {
    pending: Vec<u8>,
}

const TARGET: &[u8] = b"\r\nx-amz-target:";

impl HttpSniffer {
    fn feed(&mut self, bytes: &[u8], counts: &Counts) {
        self.pending.extend(bytes.iter().map(|b| b.to_ascii_lowercase()));
        loop {
            let Some(start) = find(&self.pending, TARGET) else {
                let keep = self.pending.len().saturating_sub(TARGET.len());
                self.pending.drain(..keep);
                return;
            };
            let value_at = start + TARGET.len();
            let Some(end) = find(&self.pending[value_at..], b"\r\n") else {
                self.pending.drain(..start);
                return;
            };
            let op = String::from_utf8_lossy(&self.pending[value_at..value_at + end])
                .trim()
                .to_string();
            if let Ok(mut ops) = counts.operations.lock() {
                *ops.entry(op).or_default() += 1;
            }
            self.pending.drain(..value_at + end);
        }
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_split_across_reads_are_counted_once() {
        let counts = Counts::default();
        let mut s = HttpSniffer::default();
        s.feed(b"POST / HTTP/1.1\r\nX-Amz-Tar", &counts);
        s.feed(b"get: DynamoDB_20120810.BatchWriteItem\r\n\r\n{}", &counts);
        s.feed(
            b"POST / HTTP/1.1\r\nx-amz-target: DynamoDB_20120810.Query\r\n",
            &counts,
        );
        let ops = counts.operations();
        assert_eq!(ops.get("dynamodb_20120810.batchwriteitem"), Some(&1));
        assert_eq!(ops.get("dynamodb_20120810.query"), Some(&1));
    }

    #[test]
    fn frontend_frames_after_ssl_request() {
        let mut f = Frames::new(true);
        let mut seen = Vec::new();
        let mut bytes = vec![0, 0, 0, 8];
        bytes.extend_from_slice(&SSL_REQUEST.to_be_bytes());
        bytes.extend_from_slice(&[0, 0, 0, 9, 0, 3, 0, 0, 0]);
        bytes.extend_from_slice(&[b'P', 0, 0, 0, 4, b'S', 0, 0]);
        f.feed(&bytes, |k| seen.push(k));
        f.feed(&[0, 4], |k| seen.push(k));
        assert_eq!(seen, vec![None, Some(b'P'), Some(b'S')]);
    }
}
