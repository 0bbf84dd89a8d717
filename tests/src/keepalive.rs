//! Connection reuse, checked with a raw HTTP/1.1 client: clients that keep connections
//! alive (httpx, most MCP SDKs, curl with several URLs) send their next request on the
//! connection that carried a refused one.

use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Sends two `POST path` requests with `body` on one connection to `authority`
/// (`127.0.0.1:PORT`), no `Authorization`. The first request's body arrives 300 ms
/// after its headers, in a separate write: a server that answers before reading the
/// body and then closes the connection loses the second request. Returns the number of
/// `HTTP/1.1 {status}` answers read before the server closed or 30 s passed, and what
/// was read.
pub async fn answers_on_one_connection(
    authority: &str,
    path: &str,
    body: &str,
    status: u16,
) -> (usize, String) {
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: {authority}\r\nContent-Type: application/json\r\n\
         Accept: application/json, text/event-stream\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    let status_line = format!("HTTP/1.1 {status}");
    let mut stream = tokio::net::TcpStream::connect(authority)
        .await
        .unwrap_or_else(|e| panic!("connect {authority}: {e}"));
    let mut seen = String::new();
    let exchange = async {
        stream.write_all(head.as_bytes()).await?;
        tokio::time::sleep(Duration::from_millis(300)).await;
        stream.write_all(body.as_bytes()).await?;
        stream.write_all(head.as_bytes()).await?;
        stream.write_all(body.as_bytes()).await?;
        let mut buf = [0u8; 4096];
        while seen.matches(&status_line).count() < 2 {
            let n = stream.read(&mut buf).await?;
            if n == 0 {
                break;
            }
            seen.push_str(&String::from_utf8_lossy(&buf[..n]));
        }
        std::io::Result::Ok(())
    };
    // A closed connection (a broken pipe on the second write) counts what was read.
    let _ = tokio::time::timeout(Duration::from_secs(30), exchange).await;
    (seen.matches(&status_line).count(), seen)
}
