//! A bare HTTP/2 server with its frames written by hand, to watch a
//! client's keep-alive: it reports every request and every PING it
//! receives, per connection, and answers the pings of its first connections
//! as grpc-core's servers answer pings they find too frequent — `GOAWAY`
//! with `ENHANCE_YOUR_CALM` and the debug data `too_many_pings`, no stream
//! processed. It never answers a request. A deaf server answers no ping
//! at all.

use std::net::SocketAddr;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio::time::Instant;

const PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
const HEADERS: u8 = 0x1;
const SETTINGS: u8 = 0x4;
const PING: u8 = 0x6;
const GOAWAY: u8 = 0x7;
const ACK: u8 = 0x1;
const ENHANCE_YOUR_CALM: u32 = 0xb;

/// What the server saw, on connection `connection` (numbered from 0 in
/// the order they were accepted).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Seen {
    /// A request's HEADERS frame.
    Request { connection: usize },
    /// A PING (not an acknowledgement), when it was read: before the
    /// server answered it, so that the client's next ping, which waits for
    /// that answer, is read after this instant plus the client's interval.
    Ping { connection: usize, at: Instant },
}

/// The server, accepting until dropped.
pub struct PingServer {
    pub addr: SocketAddr,
    seen: mpsc::UnboundedReceiver<Seen>,
    task: tokio::task::JoinHandle<()>,
}

impl PingServer {
    /// Binds `127.0.0.1:0`; on each of the first `calm` connections the
    /// client's first ping is answered with `GOAWAY ENHANCE_YOUR_CALM`
    /// (`too_many_pings`), on later ones every ping is acknowledged.
    pub async fn start(calm: usize) -> std::io::Result<Self> {
        Self::bind(Answer::CalmOnFirst(calm)).await
    }

    /// Binds `127.0.0.1:0`; pings are read and reported but never answered.
    pub async fn deaf() -> std::io::Result<Self> {
        Self::bind(Answer::Never).await
    }

    async fn bind(answer: Answer) -> std::io::Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let (report, seen) = mpsc::unbounded_channel();
        let task = tokio::spawn(async move {
            let mut connections = tokio::task::JoinSet::new();
            for connection in 0.. {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                let pings = match answer {
                    Answer::CalmOnFirst(calm) if connection < calm => Pings::TellOff,
                    Answer::CalmOnFirst(_) => Pings::Acknowledge,
                    Answer::Never => Pings::Ignore,
                };
                connections.spawn(serve(stream, connection, pings, report.clone()));
            }
        });
        Ok(Self { addr, seen, task })
    }

    /// `http://addr`.
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The next thing the server sees.
    pub async fn next(&mut self) -> Seen {
        self.seen
            .recv()
            .await
            .expect("the server runs until dropped")
    }
}

impl Drop for PingServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// How a server answers pings.
#[derive(Clone, Copy)]
enum Answer {
    /// `GOAWAY ENHANCE_YOUR_CALM` on the first ping of each of the first
    /// connections, acknowledgements otherwise.
    CalmOnFirst(usize),
    Never,
}

/// How one connection answers pings.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Pings {
    TellOff,
    Acknowledge,
    Ignore,
}

fn frame(kind: u8, flags: u8, payload: &[u8]) -> Vec<u8> {
    let length = u32::try_from(payload.len())
        .expect("a small frame")
        .to_be_bytes();
    let mut frame = vec![length[1], length[2], length[3], kind, flags, 0, 0, 0, 0];
    frame.extend_from_slice(payload);
    frame
}

/// Serves one connection until the client closes it (or breaks the
/// protocol this server knows).
async fn serve(
    mut stream: TcpStream,
    connection: usize,
    pings: Pings,
    report: mpsc::UnboundedSender<Seen>,
) {
    let mut preface = [0; PREFACE.len()];
    if stream.read_exact(&mut preface).await.is_err() || preface != PREFACE {
        return;
    }
    if stream.write_all(&frame(SETTINGS, 0, &[])).await.is_err() {
        return;
    }
    let mut told_off = false;
    loop {
        let mut header = [0; 9];
        if stream.read_exact(&mut header).await.is_err() {
            return;
        }
        let length =
            usize::from(header[0]) << 16 | usize::from(header[1]) << 8 | usize::from(header[2]);
        let (kind, flags) = (header[3], header[4]);
        let mut payload = vec![0; length];
        if stream.read_exact(&mut payload).await.is_err() {
            return;
        }
        let answer = match kind {
            SETTINGS if flags & ACK == 0 => Some(frame(SETTINGS, ACK, &[])),
            HEADERS => {
                let _ = report.send(Seen::Request { connection });
                None
            }
            PING if flags & ACK == 0 => {
                let _ = report.send(Seen::Ping {
                    connection,
                    at: Instant::now(),
                });
                if pings == Pings::Ignore {
                    None
                } else if pings == Pings::TellOff && !told_off {
                    told_off = true;
                    // Last stream processed: none. The connection stays
                    // open until the client closes it, as the client may
                    // still be reading.
                    let mut goaway = 0u32.to_be_bytes().to_vec();
                    goaway.extend_from_slice(&ENHANCE_YOUR_CALM.to_be_bytes());
                    goaway.extend_from_slice(b"too_many_pings");
                    Some(frame(GOAWAY, 0, &goaway))
                } else {
                    Some(frame(PING, ACK, &payload))
                }
            }
            _ => None,
        };
        if let Some(answer) = answer
            && stream.write_all(&answer).await.is_err()
        {
            return;
        }
    }
}
