//! Where an exchange that got no answer broke off, read from the error
//! values of the layers below (hyper, h2, the connectors, the gRPC
//! channel), never from their messages, and what a call whose deadline
//! passed is told: whether its request was ever sent; and the error of a
//! gRPC reply that cannot be decoded. Both transports use it.

use std::error::Error as StdError;

use super::h2_channel::ChannelError;
use super::taken::Taken;
use crate::error::{Error, Origin};
use crate::proto::rpc::Code;

/// The error of a call whose deadline passed, by how far its request got:
/// written (at least in part) with no reply yet, so the server may have
/// acted on it; or never written (no time left to start, the connection or
/// a proxy's tunnel still being made), so that, like a refused connection,
/// the server never saw it.
pub(crate) fn deadline_passed(endpoint: &str, written: Written) -> Error {
    match written {
        Written::Maybe => Error::local(
            Origin::NoReply,
            Code::DeadlineExceeded,
            format!("no reply from {endpoint} before the call's deadline"),
        ),
        Written::Never => Error::local(
            Origin::Connect,
            Code::DeadlineExceeded,
            format!(
                "cannot reach {endpoint} before the call's deadline: the request was never sent"
            ),
        ),
    }
}

/// A gRPC reply from `endpoint` that cannot be decoded, and why (`detail`):
/// the whole reply, or one operation of a page decoded on its own.
pub(crate) fn undecodable_reply(endpoint: &str, detail: &str) -> Error {
    Error::local(
        Origin::Decode,
        Code::Internal,
        format!("the reply from {endpoint} cannot be decoded: {detail}"),
    )
}

/// How far a request got when its call's deadline passed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Written {
    /// It was handed to a connection (or to something this crate cannot
    /// see into, such as the caller's layers): some of it may have been
    /// written.
    Maybe,
    /// It provably never reached a connection: no byte of it was written.
    Never,
}

/// How far a request got, as its marker shows: not taken, not a byte was
/// written, and none will be once the exchange is dropped. A request sent
/// without a marker (through the caller's layers) is taken to be sent.
pub(crate) fn written(taken: Option<&Taken>) -> Written {
    match taken {
        Some(taken) if !taken.may_be_written() => Written::Never,
        _ => Written::Maybe,
    }
}

/// The origin of a failure with no answer from the server:
/// [`Origin::Handshake`] when TLS failed for good, [`Origin::Connect`] when
/// the request provably never reached it, [`Origin::NotGrpc`] when the peer
/// does not speak gRPC, [`Origin::NotHttp`] when a REST reply is not HTTP,
/// otherwise [`Origin::NoReply`].
pub(crate) fn origin_of(error: &(dyn StdError + 'static)) -> Origin {
    if tls_refused(error) {
        return Origin::Handshake;
    }
    let mut next = Some(error);
    while let Some(cause) = next {
        if let Some(origin) = origin_of_one(cause) {
            return origin;
        }
        next = cause.source();
    }
    Origin::NoReply
}

fn origin_of_one(cause: &(dyn StdError + 'static)) -> Option<Origin> {
    if let Some(channel) = cause.downcast_ref::<ChannelError>() {
        return Some(match channel {
            ChannelError::Connect(_) | ChannelError::NotSent(_) => Origin::Connect,
            ChannelError::Unheard(_) => Origin::Unheard,
            ChannelError::NotHttp2(_) | ChannelError::NotGrpc { .. } => Origin::NotGrpc,
        });
    }
    if let Some(client) = cause.downcast_ref::<crate::http::SendError>() {
        // No connection, or none that took the request: nothing was written.
        if client.is_never_sent() {
            return Some(Origin::Connect);
        }
    }
    if let Some(hyper) = cause.downcast_ref::<hyper::Error>() {
        // Dropped before the connection took it (canceled, closed), or while
        // it waited for a stream the server would allow (the connection
        // closed first: hyper reports that as its dispatch being gone, the
        // only "user" error a client's reply can carry).
        if hyper.is_canceled() || hyper.is_closed() || hyper.is_user() {
            return Some(Origin::Connect);
        }
        // The reply's first bytes are not an HTTP/1 response head.
        if hyper.is_parse() {
            return Some(Origin::NotHttp);
        }
    }
    if let Some(h2) = cause.downcast_ref::<h2::Error>() {
        return Some(if never_processed(h2) {
            Origin::Connect
        } else {
            Origin::NoReply
        });
    }
    None
}

/// Whether a TLS handshake anywhere in `error`'s causes failed in a way that
/// trying again cannot change: the certificate is not trusted or not for
/// this name, the peer answered in something other than TLS (a plaintext
/// server behind `https://`), the server sent an alert, or the two sides
/// share no protocol. A handshake cut short (the peer closed, a reset) is
/// not among them: a restarting server does that.
fn tls_refused(error: &(dyn StdError + 'static)) -> bool {
    let mut next = Some(error);
    while let Some(cause) = next {
        if let Some(tls) = cause.downcast_ref::<rustls::Error>() {
            return is_lasting(tls);
        }
        // An I/O error's `source()` skips the error it wraps, and rustls'
        // errors reach the connectors wrapped in one, or in two.
        next = match cause.downcast_ref::<std::io::Error>() {
            Some(io) => io.get_ref().map(|inner| inner as &(dyn StdError + 'static)),
            None => cause.source(),
        };
    }
    false
}

fn is_lasting(error: &rustls::Error) -> bool {
    use rustls::Error as Tls;
    matches!(
        error,
        Tls::InvalidCertificate(_)
            | Tls::NoCertificatesPresented
            | Tls::UnsupportedNameType
            | Tls::InvalidMessage(_)
            | Tls::InappropriateMessage { .. }
            | Tls::InappropriateHandshakeMessage { .. }
            | Tls::AlertReceived(_)
            | Tls::PeerIncompatible(_)
            | Tls::PeerMisbehaved(_)
            | Tls::NoApplicationProtocol
    )
}

/// A stream the server refused before processing it (`REFUSED_STREAM`), or
/// one above the last stream id of the server's `GOAWAY` (h2 fails only
/// those with the remote `GOAWAY` itself).
fn never_processed(error: &h2::Error) -> bool {
    error.is_remote()
        && ((error.is_reset() && error.reason() == Some(h2::Reason::REFUSED_STREAM))
            || error.is_go_away())
}

#[cfg(test)]
mod tests {
    use std::io;

    use super::*;

    #[test]
    fn a_request_is_never_written_only_while_its_marker_is_untouched() {
        let taken = Taken::default();
        assert_eq!(written(Some(&taken)), Written::Never);
        taken.note();
        assert_eq!(written(Some(&taken)), Written::Maybe);
        assert_eq!(written(None), Written::Maybe, "no marker: taken to be sent");
    }

    /// As the connectors hand it on: rustls' error in tokio-rustls' I/O
    /// error, in hyper-rustls' own.
    fn wrapped(tls: rustls::Error) -> io::Error {
        io::Error::other(io::Error::new(io::ErrorKind::InvalidData, tls))
    }

    #[test]
    fn tls_failures_that_last_are_told_from_handshakes_cut_short() {
        let untrusted = wrapped(rustls::Error::InvalidCertificate(
            rustls::CertificateError::UnknownIssuer,
        ));
        let not_tls = wrapped(rustls::Error::InvalidMessage(
            rustls::InvalidMessage::InvalidContentType,
        ));
        let channel = ChannelError::Connect(Box::new(wrapped(rustls::Error::AlertReceived(
            rustls::AlertDescription::HandshakeFailure,
        ))));
        for lasting in [&untrusted as &(dyn StdError + 'static), &not_tls, &channel] {
            assert_eq!(origin_of(lasting), Origin::Handshake, "{lasting}");
        }
        let cut_short = ChannelError::Connect(Box::new(io::Error::new(
            io::ErrorKind::UnexpectedEof,
            "tls handshake eof",
        )));
        assert_eq!(origin_of(&cut_short), Origin::Connect);
        let undecryptable = wrapped(rustls::Error::DecryptError);
        assert_eq!(origin_of(&undecryptable), Origin::NoReply);
    }
}
