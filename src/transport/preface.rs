//! Whether the peer of a gRPC connection speaks HTTP/2 at all.
//!
//! Every HTTP/2 server starts with its preface, a SETTINGS frame, before it
//! reads any request. So a connection that fails before such a frame came
//! was not with an HTTP/2 server (an HTTP/1.x server answers or closes
//! instead), and no request sent on it was acted on as gRPC: the evidence
//! `auto` needs to try REST without risking a repeat. One that closes
//! without a single byte never had a server read the request at all (a
//! listener's backlog reset by a restart, a balancer with no backend).

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};
use std::task::{Context, Poll, ready};

use hyper::rt::{Read, ReadBuf, ReadBufCursor, Write};

/// The frame type of SETTINGS, the fourth byte of a frame header.
const SETTINGS: u8 = 0x4;

const NOTHING: u8 = 0;
const HTTP2: u8 = 1;
const SOMETHING_ELSE: u8 = 2;

/// What the peer's first bytes showed, shared with the channel.
#[derive(Clone, Debug, Default)]
pub(crate) struct PeerSpeech(Arc<AtomicU8>);

impl PeerSpeech {
    /// Whether the peer's first bytes were an HTTP/2 SETTINGS frame.
    pub(crate) fn spoke_http2(&self) -> bool {
        self.0.load(Ordering::Relaxed) == HTTP2
    }

    /// Whether the peer has sent nothing at all yet.
    pub(crate) fn said_nothing(&self) -> bool {
        self.0.load(Ordering::Relaxed) == NOTHING
    }
}

/// A connection's stream that looks at the peer's first four bytes.
pub(crate) struct PrefaceWatch<T> {
    inner: T,
    first: [u8; 4],
    seen: usize,
    speech: PeerSpeech,
}

impl<T> PrefaceWatch<T> {
    pub(crate) fn new(inner: T) -> (Self, PeerSpeech) {
        let speech = PeerSpeech::default();
        let watch = Self {
            inner,
            first: [0; 4],
            seen: 0,
            speech: speech.clone(),
        };
        (watch, speech)
    }

    fn look(&mut self, bytes: &[u8]) {
        let take = (self.first.len() - self.seen).min(bytes.len());
        self.first[self.seen..self.seen + take].copy_from_slice(&bytes[..take]);
        self.seen += take;
        if self.seen == self.first.len() {
            let verdict = if self.first[3] == SETTINGS {
                HTTP2
            } else {
                SOMETHING_ELSE
            };
            self.speech.0.store(verdict, Ordering::Relaxed);
        }
    }
}

impl<T: Read + Unpin> Read for PrefaceWatch<T> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        mut buf: ReadBufCursor<'_>,
    ) -> Poll<io::Result<()>> {
        if self.seen == self.first.len() {
            return Pin::new(&mut self.inner).poll_read(cx, buf);
        }
        // Until the first bytes are in, reads go through a small buffer
        // where they can be looked at (a few reads per connection).
        let mut scratch = [0u8; 256];
        let room = buf.remaining().min(scratch.len());
        let mut small = ReadBuf::new(&mut scratch[..room]);
        ready!(Pin::new(&mut self.inner).poll_read(cx, small.unfilled()))?;
        let got = small.filled();
        self.look(got);
        buf.put_slice(got);
        Poll::Ready(Ok(()))
    }
}

impl<T: Write + Unpin> Write for PrefaceWatch<T> {
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
    fn a_settings_frame_is_http2_and_anything_else_is_not() {
        let (mut watch, speech) = PrefaceWatch::new(());
        watch.look(&[0, 0]);
        assert!(!speech.spoke_http2(), "undecided after two bytes");
        watch.look(&[6, SETTINGS, 0, 0]);
        assert!(speech.spoke_http2());
        let (mut watch, speech) = PrefaceWatch::new(());
        watch.look(b"HTTP/1.1 400 Bad Request\r\n");
        assert!(!speech.spoke_http2());
        assert_eq!(speech.0.load(Ordering::Relaxed), SOMETHING_ELSE);
    }
}
