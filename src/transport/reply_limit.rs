//! A gRPC reply's body, cut off as soon as a message in it announces more
//! bytes than the client accepts: before tonic would set memory aside for
//! it, and with an error of a type the transport recognises.

use std::pin::Pin;
use std::task::{Context, Poll, ready};

use bytes::{Buf, Bytes};
use hyper::body::{Body, Frame, SizeHint};

use crate::http::h2_stream::Reply;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// The length of a gRPC message's prefix: a flag byte and a 32-bit length.
const PREFIX: usize = 5;

/// A reply message over the client's size limit.
#[derive(Debug)]
pub(crate) struct ReplyTooLarge {
    pub(crate) announced: usize,
    pub(crate) limit: usize,
}

impl std::fmt::Display for ReplyTooLarge {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "a reply message of {} bytes is over the limit of {} bytes",
            self.announced, self.limit
        )
    }
}

impl std::error::Error for ReplyTooLarge {}

/// A reply body whose messages' length prefixes are checked as they pass.
pub(crate) struct LimitedReply {
    inner: Reply,
    scanner: Scanner,
}

impl LimitedReply {
    pub(crate) fn new(inner: Reply, limit: usize) -> Self {
        Self {
            inner,
            scanner: Scanner::new(limit),
        }
    }
}

/// Where in the stream of length-prefixed messages the body is.
struct Scanner {
    limit: usize,
    prefix: [u8; PREFIX],
    prefix_seen: usize,
    /// Bytes of the current message still to pass.
    message_left: usize,
}

impl Scanner {
    fn new(limit: usize) -> Self {
        Self {
            limit,
            prefix: [0; PREFIX],
            prefix_seen: 0,
            message_left: 0,
        }
    }

    /// Follows the messages through one chunk of the body.
    fn scan(&mut self, mut chunk: &[u8]) -> Result<(), ReplyTooLarge> {
        while !chunk.is_empty() {
            if self.message_left > 0 {
                let skip = self.message_left.min(chunk.len());
                self.message_left -= skip;
                chunk.advance(skip);
                continue;
            }
            let take = (PREFIX - self.prefix_seen).min(chunk.len());
            self.prefix[self.prefix_seen..self.prefix_seen + take].copy_from_slice(&chunk[..take]);
            self.prefix_seen += take;
            chunk.advance(take);
            if self.prefix_seen == PREFIX {
                self.prefix_seen = 0;
                let [_, a, b, c, d] = self.prefix;
                let announced =
                    usize::try_from(u32::from_be_bytes([a, b, c, d])).unwrap_or(usize::MAX);
                if announced > self.limit {
                    return Err(ReplyTooLarge {
                        announced,
                        limit: self.limit,
                    });
                }
                self.message_left = announced;
            }
        }
        Ok(())
    }
}

impl Body for LimitedReply {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let this = self.get_mut();
        let frame = match ready!(Pin::new(&mut this.inner).poll_frame(cx)) {
            Some(Ok(frame)) => frame,
            Some(Err(error)) => return Poll::Ready(Some(Err(error))),
            None => return Poll::Ready(None),
        };
        if let Some(Err(too_large)) = frame.data_ref().map(|data| this.scanner.scan(data)) {
            return Poll::Ready(Some(Err(too_large.into())));
        }
        Poll::Ready(Some(Ok(frame)))
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(length: u32) -> Vec<u8> {
        let mut bytes = vec![0];
        bytes.extend_from_slice(&length.to_be_bytes());
        bytes.resize(PREFIX + length as usize, 7);
        bytes
    }

    #[test]
    fn messages_within_the_limit_pass_in_any_chunking() {
        let stream: Vec<u8> = [message(10), message(0), message(100)].concat();
        for chunk_size in [1, 2, 5, 7, 64, stream.len()] {
            let mut scanner = Scanner::new(100);
            for chunk in stream.chunks(chunk_size) {
                assert!(scanner.scan(chunk).is_ok(), "chunks of {chunk_size}");
            }
        }
    }

    #[test]
    fn a_message_over_the_limit_is_stopped_at_its_prefix() {
        let stream: Vec<u8> = [message(10), message(101)].concat();
        let mut scanner = Scanner::new(100);
        // The second prefix, split across chunks, is enough.
        assert!(scanner.scan(&stream[..17]).is_ok());
        let error = scanner
            .scan(&stream[17..PREFIX + 10 + PREFIX])
            .expect_err("over the limit");
        assert_eq!((error.announced, error.limit), (101, 100));
    }
}
