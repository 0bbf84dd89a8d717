//! A TCP proxy that can be switched off, to make PostgreSQL "go away" for one
//! component while the rest of the stack (and other tests) keep using it.
//!
//! It can also be armed with a statement: the moment a client sends bytes containing
//! it, the proxy goes down before they reach the server (the database died in the
//! middle of a transaction), or forwards them and holds every answer until released
//! (the statement ran, but the function never hears of it). So a fault lands in the
//! middle of a batch, at a chosen step, rather than between batches.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// Bytes of a client's previous read kept to find a statement split across two reads.
const TAIL: usize = 256;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Action {
    GoDown,
    HoldAnswers,
}

struct Shared {
    up: AtomicBool,
    /// Bumped to cut every open connection.
    cuts: watch::Sender<u64>,
    /// While true, nothing the server sends reaches a client.
    held: watch::Sender<bool>,
    armed: Mutex<Option<(Vec<u8>, Action)>>,
    fired: AtomicUsize,
}

impl Shared {
    fn cut(&self) {
        self.up.store(false, Ordering::SeqCst);
        self.cuts.send_modify(|n| *n += 1);
    }

    /// The armed action, once, if `bytes` contain its statement.
    fn fire(&self, bytes: &[u8]) -> Option<Action> {
        let mut armed = self.armed.lock().ok()?;
        let (pattern, action) = armed.as_ref()?;
        if pattern.is_empty() || !bytes.windows(pattern.len()).any(|w| w == pattern.as_slice()) {
            return None;
        }
        let action = *action;
        *armed = None;
        self.fired.fetch_add(1, Ordering::SeqCst);
        if action == Action::HoldAnswers {
            self.held.send_replace(true);
        }
        Some(action)
    }
}

pub struct Proxy {
    addr: SocketAddr,
    shared: Arc<Shared>,
    accept: JoinHandle<()>,
}

impl Proxy {
    pub async fn start(target: SocketAddr) -> std::io::Result<Proxy> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared {
            up: AtomicBool::new(true),
            cuts: watch::channel(0).0,
            held: watch::channel(false).0,
            armed: Mutex::new(None),
            fired: AtomicUsize::new(0),
        });
        let s = shared.clone();
        let accept = tokio::spawn(async move {
            while let Ok((inbound, _)) = listener.accept().await {
                if !s.up.load(Ordering::SeqCst) {
                    drop(inbound); // connection reset: the database is "down"
                    continue;
                }
                tokio::spawn(connection(inbound, target, s.clone()));
            }
        });
        Ok(Proxy { addr, shared, accept })
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Down: every open connection is cut and new ones are refused.
    pub fn set_up(&self, up: bool) {
        if up {
            self.shared.up.store(true, Ordering::SeqCst);
        } else {
            self.shared.cut();
        }
    }

    /// The next time a client sends `statement` (any bytes: SQL text, or a parameter
    /// value of a prepared statement's Bind), the proxy goes down before the server
    /// sees it: an open transaction is rolled back by the server, as when it crashes.
    pub fn go_down_when_sent(&self, statement: &str) {
        self.arm(statement, Action::GoDown);
    }

    /// The next time a client sends `statement`, it is forwarded, and from then on no
    /// answer reaches any client until [`Proxy::release`].
    pub fn hold_answers_after(&self, statement: &str) {
        self.arm(statement, Action::HoldAnswers);
    }

    /// Answers flow again (those held are delivered, unless their connection was cut).
    pub fn release(&self) {
        self.shared.held.send_replace(false);
    }

    /// How many armed statements were seen (and acted on).
    pub fn fired(&self) -> usize {
        self.shared.fired.load(Ordering::SeqCst)
    }

    fn arm(&self, statement: &str, action: Action) {
        if let Ok(mut armed) = self.shared.armed.lock() {
            *armed = Some((statement.as_bytes().to_vec(), action));
        }
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.accept.abort();
        self.shared.cut();
        self.release();
    }
}

/// One client connection: both directions, until either side closes or a cut.
async fn connection(inbound: TcpStream, target: SocketAddr, shared: Arc<Shared>) {
    let mut cuts = shared.cuts.subscribe();
    let Ok(outbound) = TcpStream::connect(target).await else {
        return;
    };
    let (client_read, client_write) = inbound.into_split();
    let (server_read, server_write) = outbound.into_split();
    let pipes = async {
        tokio::join!(
            pipe(client_read, server_write, true, &shared),
            pipe(server_read, client_write, false, &shared)
        )
    };
    tokio::select! {
        _ = pipes => {}
        _ = cuts.changed() => {} // both sockets are dropped: the peers see a reset
    }
}

async fn pipe(mut from: OwnedReadHalf, mut to: OwnedWriteHalf, to_server: bool, shared: &Shared) {
    let mut held = shared.held.subscribe();
    let mut buf = vec![0u8; 16 * 1024];
    let mut tail: Vec<u8> = Vec::new();
    loop {
        let n = match from.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        if to_server {
            let mut window = std::mem::take(&mut tail);
            window.extend_from_slice(&buf[..n]);
            if shared.fire(&window) == Some(Action::GoDown) {
                shared.cut();
                return;
            }
            tail = window[window.len().saturating_sub(TAIL)..].to_vec();
        } else if held.wait_for(|h| !*h).await.is_err() {
            break;
        }
        if to.write_all(&buf[..n]).await.is_err() {
            break;
        }
    }
    let _ = to.shutdown().await;
}

/// `postgres://user:pass@host:port/db` with host:port replaced by `addr`.
pub fn retarget_url(url: &str, addr: SocketAddr) -> Option<String> {
    let at = url.rfind('@')?;
    let slash = url[at..].find('/').map(|i| at + i)?;
    Some(format!("{}{}{}", &url[..=at], addr, &url[slash..]))
}

/// The socket address a `postgres://…@host:port/…` URL points at.
pub fn url_addr(url: &str) -> Option<SocketAddr> {
    let at = url.rfind('@')?;
    let rest = &url[at + 1..];
    let end = rest.find('/').unwrap_or(rest.len());
    rest[..end].parse().ok()
}

/// A proxy in front of the catalog database (`DATABASE_URL`) and the URL that goes
/// through it.
pub async fn database_proxy() -> (Proxy, String) {
    let url = crate::stack::var("DATABASE_URL");
    let proxy = Proxy::start(url_addr(&url).expect("host:port in DATABASE_URL"))
        .await
        .expect("proxy");
    let proxied = retarget_url(&url, proxy.addr()).expect("DATABASE_URL retargeted");
    (proxy, proxied)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_retargeted() {
        let addr: SocketAddr = "127.0.0.1:4000".parse().expect("addr");
        assert_eq!(
            retarget_url("postgres://u:p@127.0.0.1:55432/catalog", addr).as_deref(),
            Some("postgres://u:p@127.0.0.1:4000/catalog")
        );
        assert_eq!(
            url_addr("postgres://u:p@127.0.0.1:55432/catalog"),
            "127.0.0.1:55432".parse().ok()
        );
    }

    #[tokio::test]
    async fn an_armed_statement_holds_the_answers_until_released() {
        // An echo server stands in for the database.
        let server = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let target = server.local_addr().expect("addr");
        tokio::spawn(async move {
            while let Ok((mut s, _)) = server.accept().await {
                tokio::spawn(async move {
                    let mut buf = [0u8; 64];
                    while let Ok(n) = s.read(&mut buf).await {
                        if n == 0 || s.write_all(&buf[..n]).await.is_err() {
                            break;
                        }
                    }
                });
            }
        });
        let proxy = Proxy::start(target).await.expect("proxy");
        proxy.hold_answers_after("COMMIT");
        let mut client = TcpStream::connect(proxy.addr()).await.expect("connect");
        let mut buf = [0u8; 64];
        client.write_all(b"SELECT").await.expect("write");
        let n = client.read(&mut buf).await.expect("read");
        assert_eq!(&buf[..n], b"SELECT");
        client.write_all(b"COMMIT").await.expect("write");
        let held = tokio::time::timeout(std::time::Duration::from_millis(300), client.read(&mut buf)).await;
        assert!(held.is_err(), "the answer to COMMIT is held");
        assert_eq!(proxy.fired(), 1);
        proxy.release();
        let n = client.read(&mut buf).await.expect("read");
        assert_eq!(&buf[..n], b"COMMIT");
    }
}
