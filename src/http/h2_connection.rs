//! One HTTP/2 connection (the gRPC channel's, or the REST pool's when TLS
//! chose HTTP/2): its handshake, the task that drives it, and its
//! keep-alive pings.
//!
//! Calls use the connection's handle themselves (see `h2_stream`): they
//! open their streams, write their requests and read their replies in
//! their own task, so the task here only moves frames and pings.
//!
//! Pings go out only while calls are in flight, once nothing has been read
//! from the peer for the whole ping interval. A ping not answered in time
//! ends the connection: its calls fail, saying so, and later calls connect
//! anew.

use std::error::Error as StdError;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicU64, AtomicUsize, Ordering};
use std::task::{Context, Poll, ready};
use std::time::Duration;

use bytes::Bytes;
use h2::client::SendRequest;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::time::Instant;

use crate::error::find_cause;

/// HTTP/2 settings of every connection: flow-control windows large enough
/// for a page of a thousand operations to arrive without waiting on
/// window updates, and frames and header lists of common sizes.
const STREAM_WINDOW: u32 = 2 * 1024 * 1024;
const CONNECTION_WINDOW: u32 = 5 * 1024 * 1024;
const MAX_FRAME: u32 = 16 * 1024;
const MAX_HEADER_LIST: u32 = 16 * 1024;
const MAX_SEND_BUFFER: usize = 1024 * 1024;
/// Streams opened before the server's own limit is known.
const INITIAL_STREAMS: usize = 100;

/// When and how a connection is pinged.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct KeepAlive {
    /// Quiet time (nothing received while calls are in flight) before a ping.
    pub(crate) interval: Duration,
    /// How long a ping's answer may take before the connection is dropped.
    pub(crate) timeout: Duration,
}

impl Default for KeepAlive {
    /// Every 5 minutes (the most often servers built on grpc-core accept
    /// pings on a connection without data), answered within 20 s.
    fn default() -> Self {
        Self {
            interval: Duration::from_secs(5 * 60),
            timeout: Duration::from_secs(20),
        }
    }
}

/// The longest ping interval doubling may reach.
const MAX_PING_INTERVAL: Duration = Duration::from_secs(2 * 60 * 60);

/// A client's keep-alive, shared by the connections it makes one after
/// another: a server that answers pings with `GOAWAY ENHANCE_YOUR_CALM`
/// gets half as many on later connections.
#[derive(Clone, Debug)]
pub(crate) struct PingSchedule {
    interval_ms: Arc<AtomicU64>,
    timeout: Duration,
}

impl PingSchedule {
    pub(crate) fn new(keep_alive: KeepAlive) -> Self {
        Self {
            interval_ms: Arc::new(AtomicU64::new(millis(keep_alive.interval))),
            timeout: keep_alive.timeout,
        }
    }

    /// What the next connection is pinged by.
    fn current(&self) -> KeepAlive {
        KeepAlive {
            interval: Duration::from_millis(self.interval_ms.load(Ordering::Relaxed)),
            timeout: self.timeout,
        }
    }

    /// Halves how often later connections ping when `error` (or one of its
    /// causes) is the server finding the pings too frequent: once per
    /// connection, whoever sees it first — a call, which may connect anew
    /// at once, or the connection's end.
    pub(crate) fn slow_down_if_told(&self, state: &State, error: &(dyn StdError + 'static)) {
        if find_cause::<h2::Error>(error).is_some_and(told_too_many_pings) && state.first_told_off()
        {
            let doubled = self
                .interval_ms
                .load(Ordering::Relaxed)
                .saturating_mul(2)
                .min(millis(MAX_PING_INTERVAL));
            self.interval_ms.store(doubled, Ordering::Relaxed);
            tracing::info!(
                interval_ms = doubled,
                "the server found pings too frequent; pinging half as often"
            );
        }
    }
}

fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

/// Whether a connection ended because the server found its pings too
/// frequent (`GOAWAY` with `ENHANCE_YOUR_CALM`).
fn told_too_many_pings(h2: &h2::Error) -> bool {
    h2.is_go_away() && h2.is_remote() && h2.reason() == Some(h2::Reason::ENHANCE_YOUR_CALM)
}

/// What the calls on a connection and its task share.
#[derive(Debug)]
pub(crate) struct State {
    in_flight: AtomicUsize,
    ended: AtomicBool,
    /// A ping went unanswered: why the connection ended.
    unanswered_after: AtomicU64,
    /// When a byte last came from the peer, in nanoseconds since `born`
    /// (whole milliseconds would let a ping go out up to one early).
    heard_at: AtomicU64,
    /// The server said it finds the pings too frequent.
    told_off: AtomicBool,
    /// What the peer's first bytes showed (see [`State::spoke_http2`]).
    speech: AtomicU8,
    born: Instant,
}

impl State {
    fn new() -> Self {
        Self {
            in_flight: AtomicUsize::new(0),
            ended: AtomicBool::new(false),
            unanswered_after: AtomicU64::new(0),
            heard_at: AtomicU64::new(0),
            told_off: AtomicBool::new(false),
            speech: AtomicU8::new(SAID_NOTHING),
            born: Instant::now(),
        }
    }

    /// Whether the connection has ended: no new call may use it.
    pub(crate) fn has_ended(&self) -> bool {
        self.ended.load(Ordering::Acquire)
    }

    /// The ping timeout, if the connection ended because a ping went
    /// unanswered.
    pub(crate) fn unanswered_ping(&self) -> Option<Duration> {
        match self.unanswered_after.load(Ordering::Acquire) {
            0 => None,
            millis => Some(Duration::from_millis(millis)),
        }
    }

    /// Notes that the server found the pings too frequent; true the first
    /// time only, whether a call or the connection's end saw it first.
    fn first_told_off(&self) -> bool {
        !self.told_off.swap(true, Ordering::AcqRel)
    }

    /// Whether the peer's first bytes were an HTTP/2 SETTINGS frame.
    ///
    /// Every HTTP/2 server starts with its preface, a SETTINGS frame,
    /// before it reads any request. So a connection that fails before such
    /// a frame came was not with an HTTP/2 server (an HTTP/1.x server
    /// answers or closes instead), and no request sent on it was acted on
    /// as gRPC: the evidence `auto` needs to try REST without risking a
    /// repeat.
    pub(crate) fn spoke_http2(&self) -> bool {
        self.speech.load(Ordering::Relaxed) == SPOKE_HTTP2
    }

    /// Whether the peer has sent nothing at all yet: a connection that
    /// closes so never had a server read its requests (a listener's
    /// backlog reset by a restart, a balancer with no backend).
    pub(crate) fn said_nothing(&self) -> bool {
        self.speech.load(Ordering::Relaxed) == SAID_NOTHING
    }

    fn heard(&self) {
        let nanos = u64::try_from(self.born.elapsed().as_nanos()).unwrap_or(u64::MAX);
        self.heard_at.store(nanos, Ordering::Relaxed);
    }

    fn last_heard(&self) -> Instant {
        self.born + Duration::from_nanos(self.heard_at.load(Ordering::Relaxed))
    }
}

/// One call counted in flight on a connection until dropped.
#[derive(Debug)]
pub(crate) struct InFlight(Arc<State>);

impl InFlight {
    pub(crate) fn enter(state: &Arc<State>) -> Self {
        state.in_flight.fetch_add(1, Ordering::Relaxed);
        Self(state.clone())
    }

    pub(crate) fn state(&self) -> &State {
        &self.0
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::Relaxed);
    }
}

/// A handle on a live connection: cheap to clone. When the last clone is
/// gone, h2 closes the connection once its last call ends.
#[derive(Clone)]
pub(crate) struct Handle {
    pub(crate) sender: SendRequest<Bytes>,
    pub(crate) state: Arc<State>,
}

/// The error of a call on a connection that was dropped because a ping
/// went unanswered. It stands in for what the call itself saw (h2's
/// "broken pipe"), which would only mislead.
#[derive(Debug)]
pub(crate) struct PingUnanswered {
    pub(crate) timeout: Duration,
}

impl std::fmt::Display for PingUnanswered {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "the connection was dropped: the server did not answer a keep-alive ping within {:?}",
            self.timeout
        )
    }
}

impl std::error::Error for PingUnanswered {}

type BoxError = Box<dyn std::error::Error + Send + Sync>;

impl State {
    /// A call's error, told as the unanswered ping it came from if that is
    /// why the connection ended.
    pub(crate) fn explain(&self, error: BoxError) -> BoxError {
        match self.unanswered_ping() {
            Some(timeout) => Box::new(PingUnanswered { timeout }),
            None => error,
        }
    }
}

/// How a connection's task ended.
pub(crate) enum Ended {
    /// Closed, by either side, or broken.
    Connection(Result<(), h2::Error>),
    /// A ping went unanswered for the whole ping timeout.
    Unanswered,
}

/// Makes an HTTP/2 connection over `io`, pinged by `schedule`, and starts
/// its task, which calls `ended` with how it ended.
pub(crate) async fn handshake<T>(
    io: T,
    schedule: &PingSchedule,
    ended: impl FnOnce(&Ended) + Send + 'static,
) -> Result<Handle, h2::Error>
where
    T: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let state = Arc::new(State::new());
    let io = Heard::new(io, state.clone());
    let (sender, mut connection) = h2::client::Builder::new()
        .initial_max_send_streams(INITIAL_STREAMS)
        .initial_window_size(STREAM_WINDOW)
        .initial_connection_window_size(CONNECTION_WINDOW)
        .max_frame_size(MAX_FRAME)
        .max_header_list_size(MAX_HEADER_LIST)
        .max_send_buffer_size(MAX_SEND_BUFFER)
        .enable_push(false)
        .handshake::<_, Bytes>(io)
        .await?;
    let pinger = connection.ping_pong();
    let pings = schedule.current();
    let schedule = schedule.clone();
    let task_state = state.clone();
    tokio::spawn(async move {
        let keep_alive = async {
            match pinger {
                Some(pinger) => keep_alive(pinger, &task_state, pings).await,
                None => std::future::pending().await,
            }
        };
        let outcome = drive(connection, keep_alive).await;
        task_state.ended.store(true, Ordering::Release);
        if let Ended::Connection(Err(error)) = &outcome {
            schedule.slow_down_if_told(&task_state, error);
        }
        ended(&outcome);
    });
    Ok(Handle { sender, state })
}

/// Drives `connection` until it ends or `keep_alive` gives up on it.
async fn drive<C, K>(connection: C, keep_alive: K) -> Ended
where
    C: Future<Output = Result<(), h2::Error>>,
    K: Future<Output = ()>,
{
    let mut connection = std::pin::pin!(connection);
    let mut keep_alive = std::pin::pin!(keep_alive);
    std::future::poll_fn(|cx| {
        if let Poll::Ready(outcome) = connection.as_mut().poll(cx) {
            return Poll::Ready(Ended::Connection(outcome));
        }
        keep_alive.as_mut().poll(cx).map(|()| Ended::Unanswered)
    })
    .await
}

/// Pings the peer whenever calls are in flight and nothing was heard from
/// it for `pings.interval`; returns when a ping goes unanswered.
async fn keep_alive(mut pinger: h2::PingPong, state: &State, pings: KeepAlive) {
    loop {
        let quiet_until = state.last_heard() + pings.interval;
        if Instant::now() < quiet_until {
            tokio::time::sleep_until(quiet_until).await;
            continue;
        }
        if state.in_flight.load(Ordering::Relaxed) == 0 {
            // Idle connections are not pinged; look again later.
            tokio::time::sleep(pings.interval).await;
            continue;
        }
        match tokio::time::timeout(pings.timeout, pinger.ping(h2::Ping::opaque())).await {
            Ok(Ok(_pong)) => {}
            // The connection itself failed: its own error ends it.
            Ok(Err(_)) => return std::future::pending().await,
            Err(_) => {
                let millis = u64::try_from(pings.timeout.as_millis())
                    .unwrap_or(u64::MAX)
                    .max(1);
                state.unanswered_after.store(millis, Ordering::Release);
                return;
            }
        }
    }
}

/// What the peer's first bytes showed.
const SAID_NOTHING: u8 = 0;
const SPOKE_HTTP2: u8 = 1;
const SPOKE_OTHERWISE: u8 = 2;

/// The frame type of SETTINGS, the fourth byte of a frame header.
const SETTINGS: u8 = 0x4;

/// The connection's stream, noting what the peer's first bytes were and
/// when it last sent any.
struct Heard<T> {
    inner: T,
    state: Arc<State>,
    first: [u8; 4],
    seen: usize,
}

impl<T> Heard<T> {
    fn new(inner: T, state: Arc<State>) -> Self {
        Self {
            inner,
            state,
            first: [0; 4],
            seen: 0,
        }
    }

    fn look(&mut self, bytes: &[u8]) {
        let take = (self.first.len() - self.seen).min(bytes.len());
        self.first[self.seen..self.seen + take].copy_from_slice(&bytes[..take]);
        self.seen += take;
        if self.seen == self.first.len() {
            let verdict = if self.first[3] == SETTINGS {
                SPOKE_HTTP2
            } else {
                SPOKE_OTHERWISE
            };
            self.state.speech.store(verdict, Ordering::Relaxed);
        }
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for Heard<T> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        ready!(Pin::new(&mut self.inner).poll_read(cx, buf))?;
        let this = self.get_mut();
        let new = &buf.filled()[before..];
        if !new.is_empty() {
            if this.seen < this.first.len() {
                this.look(new);
            }
            this.state.heard();
        }
        Poll::Ready(Ok(()))
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for Heard<T> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_settings_frame_first_is_http2_and_anything_else_is_not() {
        let state = Arc::new(State::new());
        let mut heard = Heard::new((), state.clone());
        assert!(state.said_nothing());
        heard.look(&[0, 0]);
        assert!(!state.spoke_http2(), "undecided after two bytes");
        heard.look(&[6, SETTINGS, 0, 0]);
        assert!(state.spoke_http2());
        let state = Arc::new(State::new());
        let mut heard = Heard::new((), state.clone());
        heard.look(b"HTTP/1.1 400 Bad Request\r\n");
        assert!(!state.spoke_http2());
        assert!(!state.said_nothing());
    }
}
