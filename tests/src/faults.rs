//! A TCP proxy that can be switched off, to make PostgreSQL "go away" for one
//! component while the rest of the stack (and other tests) keep using it.
//!
//! It can also be armed with a statement: the moment a client sends a message
//! containing it, or binds a prepared statement whose text contains it, the proxy goes
//! down before the message reaches the server (the database died in the middle of a
//! transaction), or forwards it and holds every answer until released (the statement
//! ran, but the function never hears of it). So a fault lands in the middle of a
//! batch, at a chosen step, rather than between batches. The client's side is read as
//! the wire protocol's messages for that: a prepared statement's text travels once, in
//! its Parse, and each execution names it in a Bind.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// The first word of the untyped requests a client may send before its startup
/// message: SSLRequest, GSSENCRequest (CancelRequest ends its connection).
const PRE_STARTUP: [u32; 2] = [80_877_103, 80_877_104];

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

    /// The armed action, once, if `message` sends its statement: it contains it (SQL
    /// text, or a parameter value of a Bind), or it binds a statement prepared with
    /// it. A Parse only prepares: it fires nothing.
    fn fire(&self, message: &Message, prepared: &HashMap<Vec<u8>, Vec<u8>>) -> Option<Action> {
        let mut armed = self.armed.lock().ok()?;
        let (pattern, action) = armed.as_ref()?;
        let contains = |bytes: &[u8]| {
            !pattern.is_empty() && bytes.windows(pattern.len()).any(|w| w == pattern.as_slice())
        };
        let sent = match message.kind {
            Some(b'P') => false,
            Some(b'B') => {
                contains(&message.body)
                    || message
                        .cstring(1)
                        .and_then(|name| prepared.get(name))
                        .is_some_and(|text| contains(text))
            }
            _ => contains(&message.body),
        };
        if !sent {
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

/// One message a client sent: its type (none for the startup phase's) and its body.
struct Message {
    kind: Option<u8>,
    body: Vec<u8>,
}

impl Message {
    /// The `index`-th NUL-terminated string at the start of the body (a Parse's
    /// statement name is 0 and its text 1; a Bind's portal is 0 and its statement 1).
    fn cstring(&self, index: usize) -> Option<&[u8]> {
        self.body.split(|b| *b == 0).nth(index)
    }
}

/// Cuts a client's byte stream into messages, across reads.
#[derive(Default)]
struct Framer {
    pending: Vec<u8>,
    started: bool,
    /// A length no message can have was seen: from then on each read is one untyped
    /// "message", searched whole for the armed statement (as before the framing).
    lost: bool,
}

impl Framer {
    /// The messages `bytes` complete.
    fn push(&mut self, bytes: &[u8]) -> Vec<Message> {
        if self.lost {
            return vec![Message {
                kind: None,
                body: bytes.to_vec(),
            }];
        }
        self.pending.extend_from_slice(bytes);
        let mut messages = Vec::new();
        loop {
            let header = usize::from(self.started);
            let Some(length) = self.pending.get(header..header + 4) else {
                break;
            };
            let length = u32::from_be_bytes([length[0], length[1], length[2], length[3]]) as usize;
            if length < 4 {
                self.lost = true;
                messages.push(Message {
                    kind: None,
                    body: std::mem::take(&mut self.pending),
                });
                break;
            }
            if self.pending.len() < header + length {
                break;
            }
            let kind = self.started.then(|| self.pending[0]);
            let body = self.pending[header + 4..header + length].to_vec();
            self.pending.drain(..header + length);
            if kind.is_none() {
                let code = body
                    .get(..4)
                    .map(|c| u32::from_be_bytes([c[0], c[1], c[2], c[3]]));
                self.started = !code.is_some_and(|c| PRE_STARTUP.contains(&c));
            }
            messages.push(Message { kind, body });
        }
        messages
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
    let mut framer = Framer::default();
    // Statement name → text, for this connection's Binds.
    let mut prepared: HashMap<Vec<u8>, Vec<u8>> = HashMap::new();
    loop {
        let n = match from.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        if to_server {
            for message in framer.push(&buf[..n]) {
                if shared.fire(&message, &prepared) == Some(Action::GoDown) {
                    shared.cut();
                    return;
                }
                if message.kind == Some(b'P') {
                    if let (Some(name), Some(text)) = (message.cstring(0), message.cstring(1)) {
                        prepared.insert(name.to_vec(), text.to_vec());
                    }
                }
            }
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

    /// A message of the wire protocol: `kind`, then its length, then `body`.
    fn message(kind: Option<u8>, body: &[u8]) -> Vec<u8> {
        let mut out: Vec<u8> = kind.into_iter().collect();
        out.extend_from_slice(&(body.len() as u32 + 4).to_be_bytes());
        out.extend_from_slice(body);
        out
    }

    fn startup() -> Vec<u8> {
        let mut body = 196_608u32.to_be_bytes().to_vec();
        body.extend_from_slice(b"user\0pipeline\0\0");
        message(None, &body)
    }

    fn query(sql: &str) -> Vec<u8> {
        message(Some(b'Q'), format!("{sql}\0").as_bytes())
    }

    fn parse(name: &str, sql: &str) -> Vec<u8> {
        message(Some(b'P'), format!("{name}\0{sql}\0\0\0").as_bytes())
    }

    fn bind(statement: &str) -> Vec<u8> {
        message(Some(b'B'), format!("\0{statement}\0\0\0\0\0\0\0").as_bytes())
    }

    #[test]
    fn after_an_impossible_length_every_read_is_searched_whole() {
        let mut framer = Framer::default();
        framer.push(&startup());
        let broken = framer.push(b"Q\0\0\0\x02COMMIT");
        assert_eq!(broken.len(), 1);
        assert_eq!(broken[0].kind, None);
        assert!(broken[0].body.ends_with(b"COMMIT"));
        let next = framer.push(b"more COMMIT");
        assert_eq!(next.len(), 1);
        assert_eq!(next[0].body, b"more COMMIT");
    }

    #[test]
    fn the_framer_cuts_messages_across_reads_after_an_ssl_request() {
        let mut ssl = message(None, &80_877_103u32.to_be_bytes());
        ssl.extend(startup());
        ssl.extend(query("SELECT 1"));
        let mut framer = Framer::default();
        let (first, rest) = ssl.split_at(10);
        assert_eq!(framer.push(first).len(), 1, "the SSLRequest, whole");
        let (second, third) = rest.split_at(rest.len() - 3);
        let startup_only = framer.push(second);
        assert_eq!(startup_only.len(), 1);
        assert_eq!(startup_only[0].kind, None);
        let last = framer.push(third);
        assert_eq!(last.len(), 1);
        assert_eq!(last[0].kind, Some(b'Q'));
        assert_eq!(last[0].body, b"SELECT 1\0");
    }

    /// An echo server standing in for the database, and a client through a proxy armed
    /// to hold answers after `statement`, past its startup message.
    async fn echo_through_proxy(statement: &str) -> (Proxy, TcpStream) {
        let server = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let target = server.local_addr().expect("addr");
        tokio::spawn(async move {
            while let Ok((mut s, _)) = server.accept().await {
                tokio::spawn(async move {
                    let mut buf = [0u8; 256];
                    while let Ok(n) = s.read(&mut buf).await {
                        if n == 0 || s.write_all(&buf[..n]).await.is_err() {
                            break;
                        }
                    }
                });
            }
        });
        let proxy = Proxy::start(target).await.expect("proxy");
        proxy.hold_answers_after(statement);
        let mut client = TcpStream::connect(proxy.addr()).await.expect("connect");
        let hello = startup();
        client.write_all(&hello).await.expect("write");
        let mut buf = vec![0u8; hello.len()];
        client.read_exact(&mut buf).await.expect("read");
        (proxy, client)
    }

    /// Sends `bytes` and reads the echo, or `None` if it is held for 300 ms.
    async fn round_trip(client: &mut TcpStream, bytes: &[u8]) -> Option<Vec<u8>> {
        client.write_all(bytes).await.expect("write");
        let mut buf = vec![0u8; bytes.len()];
        let read = tokio::time::timeout(std::time::Duration::from_millis(300), client.read_exact(&mut buf));
        read.await.ok().map(|r| {
            r.expect("read");
            buf
        })
    }

    #[tokio::test]
    async fn an_armed_statement_holds_the_answers_until_released() {
        let (proxy, mut client) = echo_through_proxy("COMMIT").await;
        let select = query("SELECT 1");
        assert_eq!(round_trip(&mut client, &select).await, Some(select));
        let commit = query("COMMIT");
        assert_eq!(
            round_trip(&mut client, &commit).await,
            None,
            "the answer to COMMIT is held"
        );
        assert_eq!(proxy.fired(), 1);
        proxy.release();
        let mut buf = vec![0u8; commit.len()];
        client.read_exact(&mut buf).await.expect("read");
        assert_eq!(buf, commit);
    }

    #[tokio::test]
    async fn a_prepared_statement_fires_when_bound_not_when_prepared() {
        let (proxy, mut client) = echo_through_proxy("-- commit_batch\n").await;
        let prepare = parse("s7", "-- commit_batch\nSELECT 1");
        assert_eq!(
            round_trip(&mut client, &prepare).await,
            Some(prepare),
            "preparing runs nothing"
        );
        let other = bind("s8");
        assert_eq!(
            round_trip(&mut client, &other).await,
            Some(other),
            "another statement"
        );
        assert_eq!(proxy.fired(), 0);
        assert_eq!(
            round_trip(&mut client, &bind("s7")).await,
            None,
            "its execution is held"
        );
        assert_eq!(proxy.fired(), 1);
    }
}
