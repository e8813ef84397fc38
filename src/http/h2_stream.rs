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

use super::h2_connection::InFlight;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Opens a stream for `request` on the connection (which must be ready,
/// see [`SendRequest::ready`]). An error means no stream was opened and
/// nothing of the request was sent.
pub(crate) fn open<B>(
    sender: &mut SendRequest<Bytes>,
    request: Request<B>,
) -> Result<Exchange<B>, h2::Error>
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
pub(crate) struct Exchange<B> {
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
    pub(crate) fn new(stream: RecvStream, in_flight: InFlight) -> Self {
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
