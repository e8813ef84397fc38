//! A REST server written by hand over TCP, to see how a client uses its
//! HTTP/1.1 connections: it counts connections and requests, answers
//! `GET` of a small operation and of one too large for small limits, and
//! `DELETE` with `{}`; it may announce `Connection: close` on every reply
//! and close after it, as HTTP/1.1 allows.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};

/// The operation `GET /v1/projects/p/operations/X` returns.
pub const OPERATION: &str = r#"{"name":"projects/p/operations/X","done":true}"#;

/// The size of the reply to `GET /v1/projects/p/operations/BIG`.
pub const BIG_REPLY_BYTES: usize = 64 * 1024;

/// The server, accepting until dropped.
pub struct PlainRest {
    pub endpoint: String,
    pub connections: Arc<AtomicUsize>,
    pub requests: Arc<AtomicUsize>,
    task: tokio::task::JoinHandle<()>,
}

impl PlainRest {
    /// Binds `127.0.0.1:0`; with `closing`, every reply says
    /// `Connection: close` and its connection is closed after it.
    pub async fn start(closing: bool) -> std::io::Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let endpoint = format!("http://{}", listener.local_addr()?);
        let connections = Arc::new(AtomicUsize::new(0));
        let requests = Arc::new(AtomicUsize::new(0));
        let (accepted, seen) = (connections.clone(), requests.clone());
        let task = tokio::spawn(async move {
            while let Ok((socket, _)) = listener.accept().await {
                accepted.fetch_add(1, Ordering::SeqCst);
                tokio::spawn(serve(socket, closing, seen.clone()));
            }
        });
        Ok(Self {
            endpoint,
            connections,
            requests,
            task,
        })
    }
}

impl Drop for PlainRest {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn serve(socket: TcpStream, closing: bool, requests: Arc<AtomicUsize>) {
    let mut socket = BufReader::new(socket);
    loop {
        let mut request_line = String::new();
        if socket.read_line(&mut request_line).await.unwrap_or(0) == 0 {
            return;
        }
        // The head's other lines; the requests seen here have no body.
        loop {
            let mut line = String::new();
            if socket.read_line(&mut line).await.unwrap_or(0) == 0 {
                return;
            }
            if line == "\r\n" {
                break;
            }
        }
        requests.fetch_add(1, Ordering::SeqCst);
        let mut words = request_line.split_whitespace();
        let (method, path) = (words.next().unwrap_or(""), words.next().unwrap_or(""));
        let path = path.split('?').next().unwrap_or("");
        let (status, body) = match (method, path) {
            ("GET", "/v1/projects/p/operations/X") => ("200 OK", OPERATION.to_owned()),
            ("GET", "/v1/projects/p/operations/BIG") => (
                "200 OK",
                format!(
                    r#"{{"name":"projects/p/operations/BIG","done":true,"metadata":{{"@type":"type.googleapis.com/google.protobuf.Empty"}},"x":"{}"}}"#,
                    "x".repeat(BIG_REPLY_BYTES)
                ),
            ),
            ("DELETE", "/v1/projects/p/operations/X") => ("200 OK", "{}".to_owned()),
            _ => (
                "404 Not Found",
                r#"{"error":{"code":404,"message":"nope","status":"NOT_FOUND"}}"#.to_owned(),
            ),
        };
        let connection = if closing { "Connection: close\r\n" } else { "" };
        let reply = format!(
            "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n{connection}\r\n{body}",
            body.len()
        );
        if socket.get_mut().write_all(reply.as_bytes()).await.is_err() || closing {
            let _ = socket.get_mut().shutdown().await;
            return;
        }
    }
}
