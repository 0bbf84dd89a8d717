//! A TCP proxy that can be switched off, to make PostgreSQL "go away" for one
//! component while the rest of the stack (and other tests) keep using it.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

pub struct Proxy {
    addr: SocketAddr,
    up: Arc<AtomicBool>,
    connections: Arc<Mutex<Vec<JoinHandle<()>>>>,
    accept: JoinHandle<()>,
}

impl Proxy {
    pub async fn start(target: SocketAddr) -> std::io::Result<Proxy> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let up = Arc::new(AtomicBool::new(true));
        let connections: Arc<Mutex<Vec<JoinHandle<()>>>> = Arc::default();
        let (up2, conns2) = (up.clone(), connections.clone());
        let accept = tokio::spawn(async move {
            while let Ok((mut inbound, _)) = listener.accept().await {
                if !up2.load(Ordering::SeqCst) {
                    drop(inbound); // connection reset: the database is "down"
                    continue;
                }
                let task = tokio::spawn(async move {
                    if let Ok(mut outbound) = TcpStream::connect(target).await {
                        let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                    }
                });
                if let Ok(mut list) = conns2.lock() {
                    list.push(task);
                }
            }
        });
        Ok(Proxy {
            addr,
            up,
            connections,
            accept,
        })
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Down: every open connection is cut and new ones are refused.
    pub fn set_up(&self, up: bool) {
        self.up.store(up, Ordering::SeqCst);
        if !up {
            if let Ok(mut list) = self.connections.lock() {
                for task in list.drain(..) {
                    task.abort();
                }
            }
        }
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.accept.abort();
        self.set_up(false);
    }
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
}
