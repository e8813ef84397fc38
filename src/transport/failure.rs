//! Where an exchange that got no answer broke off, read from the error
//! values of the layers below (hyper, h2, the connectors, the gRPC
//! channel), never from their messages, and what a call whose deadline
//! passed is told: whether its request was ever sent. Both transports use
//! it.

use std::error::Error as StdError;

use super::h2_channel::ChannelError;
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

/// The origin of a failure with no answer from the server: [`Origin::Connect`]
/// when the request provably never reached it, [`Origin::NotGrpc`] when the
/// peer does not speak gRPC, otherwise [`Origin::NoReply`].
pub(crate) fn origin_of(error: &(dyn StdError + 'static)) -> Origin {
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
            ChannelError::Connect(_) => Origin::Connect,
            ChannelError::Unheard(_) => Origin::Unheard,
            ChannelError::Silent => Origin::NoReply,
            ChannelError::NotHttp2(_) | ChannelError::NotGrpc { .. } => Origin::NotGrpc,
        });
    }
    if let Some(client) = cause.downcast_ref::<hyper_util::client::legacy::Error>() {
        // The connector failed: no request was written.
        if client.is_connect() {
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

/// A stream the server refused before processing it (`REFUSED_STREAM`), or
/// one above the last stream id of the server's `GOAWAY` (h2 fails only
/// those with the remote `GOAWAY` itself).
fn never_processed(error: &h2::Error) -> bool {
    error.is_remote()
        && ((error.is_reset() && error.reason() == Some(h2::Reason::REFUSED_STREAM))
            || error.is_go_away())
}
