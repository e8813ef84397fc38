//! How this crate names itself: the `user-agent` of every request it makes,
//! to an endpoint over either transport, to a token server, or to a proxy
//! asked for a tunnel.

/// `eeops/` and the crate's version.
pub(crate) const USER_AGENT: &str = concat!("eeops/", env!("CARGO_PKG_VERSION"));
