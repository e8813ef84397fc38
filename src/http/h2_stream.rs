//! One call's HTTP/2 stream, driven by the call's own task: the stream
//! opened on the connection's handle, the request body written while the
//! call waits for the reply's head, and the reply's body read straight
//! from the stream, its flow-control window given back as it is read.
//!
//! No task stands between a call and the connection, so a call costs the
//! connection's task no more than the frames it moves.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use bytes::Bytes;
use h2::client::{ResponseFuture, SendRequest};
use h2::{RecvStream, SendStream};
use http::{HeaderMap, Request, Response};
use hyper::body::{Body, Frame, SizeHint};
use tokio::time::Instant;

use super::h2_connection::{Handle, InFlight, PingSchedule};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Why a call on an HTTP/2 connection got no reply's head.
pub(crate) enum Failed {
    /// No stream was opened: nothing of the request was sent.
    NotOpened(h2::Error),
    /// The exchange broke off once the stream was open.
    BrokeOff(BoxError),
}

/// Sends `request` on `connection`, whose handle `sender` is ready (see
/// [`SendRequest::ready`]), and returns the reply's head; the call counts
/// as in flight until its body is read or dropped.
///
/// The call's own timer ends it at its deadline by dropping this future:
/// dropped then with no reply, it runs `on_silence`'s action, for the
/// connection may have gone silent (a NAT or load balancer that dropped
/// its state). A call given up earlier says nothing about the connection.
/// A failure that is the server finding the pings too frequent slows
/// `pings` down before the caller may connect anew.
pub(crate) async fn send<B, F>(
    connection: &Handle,
    sender: &mut SendRequest<Bytes>,
    request: Request<B>,
    pings: &PingSchedule,
    on_silence: Option<(Instant, F)>,
) -> Result<Response<Reply>, Failed>
where
    B: Body<Data = Bytes> + Unpin,
    B::Error: Into<BoxError>,
    F: FnOnce(),
{
    let in_flight = InFlight::enter(&connection.state);
    let exchange = open(sender, request).map_err(Failed::NotOpened)?;
    let watch = on_silence.map(|(deadline, act)| SilenceWatch::new(deadline, act));
    let reply = exchange.await;
    if let Some(watch) = watch {
        watch.disarm();
    }
    match reply {
        Ok(response) => Ok(response.map(|stream| Reply::new(stream, in_flight))),
        Err(error) => {
            pings.slow_down_if_told(&connection.state, error.as_ref());
            Err(Failed::BrokeOff(error))
        }
    }
}

/// Opens a stream for `request` on the connection (which must be ready).
/// An error means no stream was opened and nothing of the request was
/// sent.
fn open<B>(sender: &mut SendRequest<Bytes>, request: Request<B>) -> Result<Exchange<B>, h2::Error>
where
    B: Body<Data = Bytes> + Unpin,
    B::Error: Into<BoxError>,
{
    let (mut parts, body) = request.into_parts();
    strip_connection_headers(&mut parts.headers);
    let end_of_stream = body.is_end_stream();
    let (response, stream) = sender.send_request(Request::from_parts(parts, ()), end_of_stream)?;
    Ok(Exchange {
        response,
        pipe: (!end_of_stream).then(|| Pipe { body, stream }),
    })
}

/// A request on its way: its body still being written, perhaps, and the
/// reply's head awaited.
struct Exchange<B> {
    response: ResponseFuture,
    /// Until the whole body is written. A reply that comes first ends the
    /// writing: the server has answered without the rest.
    pipe: Option<Pipe<B>>,
}

impl<B> Future for Exchange<B>
where
    B: Body<Data = Bytes> + Unpin,
    B::Error: Into<BoxError>,
{
    type Output = Result<Response<RecvStream>, BoxError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        if let Some(pipe) = &mut this.pipe {
            match Pin::new(pipe).poll(cx) {
                Poll::Ready(Ok(())) => this.pipe = None,
                Poll::Ready(Err(error)) => return Poll::Ready(Err(error)),
                Poll::Pending => {}
            }
        }
        Pin::new(&mut this.response).poll(cx).map_err(Into::into)
    }
}

/// Writes a request body to its stream: each data frame as the body gives
/// it, then its trailers or the end of the stream.
///
/// Requests are the client's own small messages, so each frame is handed
/// to the stream whole; h2 holds it until the peer's window lets it go.
struct Pipe<B> {
    body: B,
    stream: SendStream<Bytes>,
}

impl<B> Future for Pipe<B>
where
    B: Body<Data = Bytes> + Unpin,
    B::Error: Into<BoxError>,
{
    type Output = Result<(), BoxError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        loop {
            let frame = match ready!(Pin::new(&mut this.body).poll_frame(cx)) {
                Some(Ok(frame)) => frame,
                Some(Err(error)) => {
                    this.stream.send_reset(h2::Reason::CANCEL);
                    return Poll::Ready(Err(error.into()));
                }
                None => {
                    this.stream.send_data(Bytes::new(), true)?;
                    return Poll::Ready(Ok(()));
                }
            };
            match frame.into_data() {
                Ok(data) => {
                    let last = this.body.is_end_stream();
                    this.stream.send_data(data, last)?;
                    if last {
                        return Poll::Ready(Ok(()));
                    }
                }
                Err(frame) => {
                    if let Ok(trailers) = frame.into_trailers() {
                        this.stream.send_trailers(trailers)?;
                        return Poll::Ready(Ok(()));
                    }
                }
            }
        }
    }
}

/// A reply's body, read from its stream.
pub(crate) struct Reply {
    stream: RecvStream,
    data_done: bool,
    done: bool,
    /// Keeps the call counted until its reply is read or dropped.
    in_flight: InFlight,
}

impl Reply {
    fn new(stream: RecvStream, in_flight: InFlight) -> Self {
        let done = stream.is_end_stream();
        Self {
            stream,
            data_done: done,
            done,
            in_flight,
        }
    }
}

impl Body for Reply {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let this = self.get_mut();
        if this.done {
            return Poll::Ready(None);
        }
        if !this.data_done {
            match ready!(this.stream.poll_data(cx)) {
                Some(Ok(data)) => {
                    // Read: the peer may send as much again.
                    let _ = this.stream.flow_control().release_capacity(data.len());
                    return Poll::Ready(Some(Ok(Frame::data(data))));
                }
                Some(Err(error)) => {
                    this.done = true;
                    return Poll::Ready(Some(Err(this.in_flight.state().explain(error.into()))));
                }
                None => this.data_done = true,
            }
        }
        this.done = true;
        match ready!(this.stream.poll_trailers(cx)) {
            Ok(Some(trailers)) => Poll::Ready(Some(Ok(Frame::trailers(trailers)))),
            Ok(None) => Poll::Ready(None),
            Err(error) => Poll::Ready(Some(Err(this.in_flight.state().explain(error.into())))),
        }
    }

    fn is_end_stream(&self) -> bool {
        self.done
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::default()
    }
}

/// Runs its action if dropped at or after its deadline before it is
/// disarmed: a call that was still waiting for its reply then.
struct SilenceWatch<F: FnOnce()> {
    deadline: Instant,
    on_silence: Option<F>,
}

impl<F: FnOnce()> SilenceWatch<F> {
    fn new(deadline: Instant, on_silence: F) -> Self {
        Self {
            deadline,
            on_silence: Some(on_silence),
        }
    }

    /// The reply came: nothing to watch for any more.
    fn disarm(mut self) {
        self.on_silence = None;
    }
}

impl<F: FnOnce()> Drop for SilenceWatch<F> {
    fn drop(&mut self) {
        if Instant::now() >= self.deadline
            && let Some(on_silence) = self.on_silence.take()
        {
            on_silence();
        }
    }
}

/// Headers that belong to one HTTP/1 connection and that HTTP/2 forbids;
/// h2 refuses a request that carries one, so they are left out.
fn strip_connection_headers(headers: &mut HeaderMap) {
    use http::header::{CONNECTION, TE, TRANSFER_ENCODING, UPGRADE};
    for name in [CONNECTION, TRANSFER_ENCODING, UPGRADE] {
        headers.remove(name);
    }
    headers.remove("keep-alive");
    headers.remove("proxy-connection");
    if headers
        .get(TE)
        .is_some_and(|value| value.as_bytes() != b"trailers")
    {
        headers.remove(TE);
    }
}
