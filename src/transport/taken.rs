//! Whether a request was taken for writing: the marker both transports
//! keep for a call that may pass its deadline, and the REST body that sets
//! it.
//!
//! The gRPC channel notes it when it hands a request to a connection (or to
//! the caller's layers). Over REST, a request's body is asked whether it is
//! empty (and how long it is) only once a connection holds the request,
//! right before its head is written: by hyper's HTTP/1.1 dispatcher, or as
//! the call opens its HTTP/2 stream. A request given up before then is
//! dropped unwritten.
//! So a body that was never asked belongs to a request of which no byte was
//! written, and none will be once the exchange is dropped. This costs one
//! flag per call.

use std::convert::Infallible;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::{Body, Frame, SizeHint};

/// Set once the request may be written: a connection (or the caller's
/// layers, which nothing can see into) took it.
#[derive(Clone, Debug, Default)]
pub(crate) struct Taken(Arc<AtomicBool>);

impl Taken {
    /// Notes that the request may be written from now on.
    pub(crate) fn note(&self) {
        self.0.store(true, Ordering::Relaxed);
    }

    /// Whether the request may have been written.
    pub(crate) fn may_be_written(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }
}

/// A request body that notes on `taken` the first time the connection
/// looks at it.
#[derive(Debug)]
pub(crate) struct TakenBody {
    body: Full<Bytes>,
    taken: Option<Taken>,
}

impl TakenBody {
    /// `body`, noting on `taken` (if given) when a connection takes it.
    pub(crate) fn new(body: Full<Bytes>, taken: Option<Taken>) -> Self {
        Self { body, taken }
    }

    fn note(&self) {
        if let Some(taken) = &self.taken {
            taken.note();
        }
    }
}

impl Body for TakenBody {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        self: Pin<&mut Self>,
        context: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        let this = self.get_mut();
        this.note();
        Pin::new(&mut this.body).poll_frame(context)
    }

    fn is_end_stream(&self) -> bool {
        self.note();
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.note();
        self.body.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::BodyExt;

    #[tokio::test]
    async fn a_body_notes_the_first_look_and_keeps_its_bytes() {
        let taken = Taken::default();
        let body = TakenBody::new(Full::new(Bytes::from_static(b"{}")), Some(taken.clone()));
        assert!(!taken.may_be_written());
        assert_eq!(body.size_hint().exact(), Some(2));
        assert!(taken.may_be_written());
        let read = body.collect().await.map(|c| c.to_bytes());
        assert_eq!(read.ok(), Some(Bytes::from_static(b"{}")));
    }

    #[test]
    fn an_empty_body_is_noted_when_asked_if_it_ends() {
        let taken = Taken::default();
        let body = TakenBody::new(Full::new(Bytes::new()), Some(taken.clone()));
        assert!(body.is_end_stream());
        assert!(taken.may_be_written());
    }
}
