//! A real HTTP `CONNECT` proxy on loopback, for the proxy tests.
//!
//! It resolves names itself from a table it is given (as a proxy resolves
//! what its clients cannot), so a client that reaches `emulator.test` can
//! only have come through it. It can require `Proxy-Authorization`, or
//! refuse every tunnel with a status, and it counts what it did.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex, MutexGuard};

use base64::Engine as _;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

/// How the proxy behaves.
#[derive(Clone, Debug, Default)]
pub struct ProxyConfig {
    /// Host names it resolves, to addresses on loopback.
    pub hosts: HashMap<String, IpAddr>,
    /// `(user, password)` that `Proxy-Authorization: Basic` must carry.
    pub credentials: Option<(String, String)>,
    /// Refuse every tunnel with this status.
    pub refuse_with: Option<u16>,
}

/// What the proxy saw.
#[derive(Debug, Default)]
pub struct Seen {
    /// `CONNECT` requests, in order: target and `Proxy-Authorization`.
    pub requests: Vec<(String, Option<String>)>,
    /// The targets of tunnels that were opened.
    pub tunnels: Vec<String>,
}

/// The proxy, listening until dropped.
pub struct ConnectProxy {
    addr: SocketAddr,
    seen: Arc<Mutex<Seen>>,
    task: JoinHandle<()>,
}

impl ConnectProxy {
    /// Binds `127.0.0.1:0` and starts accepting.
    pub async fn start(config: ProxyConfig) -> ConnectProxy {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the proxy");
        let addr = listener.local_addr().expect("the proxy's address");
        let seen = Arc::new(Mutex::new(Seen::default()));
        let config = Arc::new(config);
        let task = tokio::spawn({
            let seen = seen.clone();
            async move {
                loop {
                    let Ok((client, _)) = listener.accept().await else {
                        continue;
                    };
                    tokio::spawn(serve(client, config.clone(), seen.clone()));
                }
            }
        });
        ConnectProxy { addr, seen, task }
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// `http://USER:PASSWORD@127.0.0.1:PORT`, the parts written as given.
    pub fn url_with(&self, user: &str, password: &str) -> String {
        format!("http://{user}:{password}@{}", self.addr)
    }

    pub fn seen(&self) -> MutexGuard<'_, Seen> {
        self.seen
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl Drop for ConnectProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn serve(client: TcpStream, config: Arc<ProxyConfig>, seen: Arc<Mutex<Seen>>) {
    let mut client = BufReader::new(client);
    let mut request_line = String::new();
    if client.read_line(&mut request_line).await.unwrap_or(0) == 0 {
        return;
    }
    let mut authorization = None;
    loop {
        let mut line = String::new();
        if client.read_line(&mut line).await.unwrap_or(0) == 0 {
            return;
        }
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        if let Some((name, value)) = line.split_once(':')
            && name.eq_ignore_ascii_case("proxy-authorization")
        {
            authorization = Some(value.trim().to_owned());
        }
    }
    let mut parts = request_line.split_whitespace();
    let (method, target) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
    let target = target.to_owned();
    let lock = || {
        seen.lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    };
    lock()
        .requests
        .push((target.clone(), authorization.clone()));
    let answer = |status: &str, extra: &str| {
        format!("HTTP/1.1 {status}\r\n{extra}Content-Length: 0\r\n\r\n")
    };
    if method != "CONNECT" {
        let _ = client
            .write_all(answer("405 Method Not Allowed", "").as_bytes())
            .await;
        return;
    }
    if let Some((user, password)) = &config.credentials {
        let expected = format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"))
        );
        if authorization.as_deref() != Some(expected.as_str()) {
            let refusal = answer(
                "407 Proxy Authentication Required",
                "Proxy-Authenticate: Basic realm=\"tests\"\r\n",
            );
            let _ = client.write_all(refusal.as_bytes()).await;
            return;
        }
    }
    if let Some(status) = config.refuse_with {
        let _ = client
            .write_all(answer(&format!("{status} Refused By Test"), "").as_bytes())
            .await;
        return;
    }
    let Some(upstream) = resolve(&config, &target) else {
        let _ = client
            .write_all(answer("502 Bad Gateway", "").as_bytes())
            .await;
        return;
    };
    let Ok(mut upstream) = TcpStream::connect(upstream).await else {
        let _ = client
            .write_all(answer("502 Bad Gateway", "").as_bytes())
            .await;
        return;
    };
    if client
        .write_all(b"HTTP/1.1 200 Connection established\r\n\r\n")
        .await
        .is_err()
    {
        return;
    }
    lock().tunnels.push(target);
    // Whatever the client sent after its request goes first.
    let early = client.buffer().to_vec();
    if upstream.write_all(&early).await.is_err() {
        return;
    }
    let mut client = client.into_inner();
    let _ = tokio::io::copy_bidirectional(&mut client, &mut upstream).await;
}

/// `host:port` to an address on loopback: a name from the table, or a
/// loopback address as written; anything else is not reachable from here.
fn resolve(config: &ProxyConfig, target: &str) -> Option<SocketAddr> {
    let (host, port) = target.rsplit_once(':')?;
    let port: u16 = port.parse().ok()?;
    let host = host.trim_start_matches('[').trim_end_matches(']');
    let ip = match config.hosts.get(host) {
        Some(ip) => *ip,
        None => host.parse::<IpAddr>().ok().filter(IpAddr::is_loopback)?,
    };
    Some(SocketAddr::new(ip, port))
}
