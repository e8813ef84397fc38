//! The one way this crate builds an HTTP client: rustls (system roots, read
//! only for `https://`), HTTP/1.1 by hyper and HTTP/2 (chosen by ALPN) by
//! h2, pooled connections driven by the calls that use them (see [`pool`]),
//! through a proxy when one applies. The REST transport and the OAuth token
//! exchange both use it; the gRPC channel shares its HTTP/2 parts.

use std::sync::Arc;
use std::time::Duration;

use hyper_rustls::builderstates::WantsSchemes;
use hyper_util::client::legacy::connect::HttpConnector;

use crate::error::{Error, Result};
use crate::proto::rpc::Code;
use crate::proxy::{ProxyConnector, Route};

pub(crate) mod h2_connection;
pub(crate) mod h2_stream;
mod pool;

pub(crate) use h2_connection::KeepAlive;
pub(crate) use pool::{BodyError, HttpClient, ResponseFuture, SendError};

/// An endpoint URL taken apart, as both transports accept it: `http` or
/// `https`, a host and port, and whatever path and query follow them.
pub(crate) struct Origin {
    pub(crate) scheme: http::uri::Scheme,
    pub(crate) authority: http::uri::Authority,
    /// The path as given (`""`, `"/"` or longer).
    pub(crate) path: String,
    pub(crate) has_query: bool,
}

impl Origin {
    pub(crate) fn parse(url: &str) -> Result<Self> {
        let uri: http::Uri = url.parse().map_err(|e| {
            Error::new(
                Code::InvalidArgument,
                format!("invalid endpoint URL {url:?}: {e}"),
            )
        })?;
        let not_an_origin = || {
            Error::new(
                Code::InvalidArgument,
                format!("endpoint {url:?} must be http://host[:port] or https://host[:port]"),
            )
        };
        let parts = uri.into_parts();
        let (Some(scheme), Some(authority)) = (parts.scheme, parts.authority) else {
            return Err(not_an_origin());
        };
        if !matches!(scheme.as_str(), "http" | "https") {
            return Err(not_an_origin());
        }
        let (path, has_query) = parts
            .path_and_query
            .map(|path| (path.path().to_owned(), path.query().is_some()))
            .unwrap_or_default();
        Ok(Self {
            scheme,
            authority,
            path,
            has_query,
        })
    }
}

/// Clients spawn their connections on Tokio, so they are built inside it.
pub(crate) fn require_runtime() -> Result<()> {
    match tokio::runtime::Handle::try_current() {
        Ok(_) => Ok(()),
        Err(_) => Err(Error::new(
            Code::FailedPrecondition,
            "a client must be built inside a Tokio runtime",
        )),
    }
}

/// What `https://` connections trust and how they speak TLS: the system's
/// root certificates (`SSL_CERT_FILE` and `SSL_CERT_DIR` included) unless a
/// configuration of the user's is given. Cheap to clone.
#[derive(Clone, Debug, Default)]
pub(crate) struct Tls(Option<Arc<rustls::ClientConfig>>);

impl Tls {
    /// The system's roots.
    pub(crate) fn system() -> Self {
        Self(None)
    }

    /// `config` as given, but for its ALPN protocols: each transport offers
    /// the HTTP versions it speaks.
    pub(crate) fn from_config(mut config: rustls::ClientConfig) -> Self {
        config.alpn_protocols.clear();
        Self(Some(Arc::new(config)))
    }

    /// The connector builder for a client of `https://` (`secure`) or
    /// `http://` endpoints.
    pub(crate) fn connector(
        &self,
        secure: bool,
    ) -> hyper_rustls::HttpsConnectorBuilder<WantsSchemes> {
        match (&self.0, secure) {
            (_, false) => tls_without_roots(),
            (None, true) => tls_with_system_roots(),
            (Some(config), true) => {
                hyper_rustls::HttpsConnectorBuilder::new().with_tls_config((**config).clone())
            }
        }
    }
}

/// A TLS configuration trusting only `roots`, with the crypto this crate
/// builds (ring), whatever provider the process has installed.
pub(crate) fn config_trusting(roots: rustls::RootCertStore) -> Result<rustls::ClientConfig> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| Error::new(Code::InvalidArgument, format!("TLS configuration: {e}")))?;
    Ok(config.with_root_certificates(roots).with_no_client_auth())
}

/// The certificates in PEM text, as roots; refuses text with none, or with
/// a certificate that cannot be read or trusted, saying which.
pub(crate) fn roots_from_pem(pem: &[u8]) -> Result<rustls::RootCertStore> {
    use rustls::pki_types::CertificateDer;
    use rustls::pki_types::pem::PemObject;
    let invalid =
        |why: String| Error::new(Code::InvalidArgument, format!("root certificates: {why}"));
    let mut roots = rustls::RootCertStore::empty();
    for (index, certificate) in CertificateDer::pem_slice_iter(pem).enumerate() {
        let certificate = certificate
            .map_err(|e| invalid(format!("certificate {} is not valid PEM: {e}", index + 1)))?;
        roots
            .add(certificate)
            .map_err(|e| invalid(format!("certificate {} cannot be trusted: {e}", index + 1)))?;
    }
    if roots.is_empty() {
        return Err(invalid(
            "no certificate found (expected PEM blocks: -----BEGIN CERTIFICATE-----)".to_owned(),
        ));
    }
    Ok(roots)
}

/// A TLS connector builder trusting the system's root certificates.
pub(crate) fn tls_with_system_roots() -> hyper_rustls::HttpsConnectorBuilder<WantsSchemes> {
    // Without system roots, https calls fail with a TLS error that says so;
    // plaintext endpoints (emulators, token servers on loopback) still work.
    hyper_rustls::HttpsConnectorBuilder::new()
        .with_native_roots()
        .unwrap_or_else(|error| {
            tracing::warn!(%error, "no system root certificates; https endpoints will fail");
            tls_without_roots()
        })
}

/// A TLS connector builder that trusts nothing: for clients of `http://`
/// endpoints, which never use it, so that no certificates are read.
pub(crate) fn tls_without_roots() -> hyper_rustls::HttpsConnectorBuilder<WantsSchemes> {
    hyper_rustls::HttpsConnectorBuilder::new().with_tls_config(empty_roots_config())
}

/// Whether `url` is an `https://` URL (scheme compared without case).
pub(crate) fn is_https(url: &str) -> bool {
    url.get(..8)
        .is_some_and(|scheme| scheme.eq_ignore_ascii_case("https://"))
}

/// Builds the client for `https://` endpoints (`secure`, with `tls`) or
/// `http://` ones (reading no certificates, which takes longer than
/// everything else a command does before its first request), connecting
/// through `proxy` when given; must run inside a Tokio runtime. With
/// `adds_host`, it writes `Host` on HTTP/1.1 requests that have none;
/// without, every request must carry its own. HTTP/2 connections are
/// pinged by `keep_alive`.
pub(crate) fn client<B>(
    secure: bool,
    tls: &Tls,
    proxy: Option<Route>,
    adds_host: bool,
    keep_alive: KeepAlive,
) -> HttpClient<B>
where
    B: hyper::body::Body<Data = bytes::Bytes> + Send + Unpin + 'static,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let connector = tls
        .connector(secure)
        .https_or_http()
        .enable_all_versions()
        .wrap_connector(tcp_connector(Duration::from_secs(20), proxy));
    HttpClient::new(connector, adds_host, keep_alive)
}

/// TCP connections with no Nagle delay, bounded in time, through `proxy`
/// when given.
pub(crate) fn tcp_connector(timeout: Duration, proxy: Option<Route>) -> ProxyConnector {
    let mut tcp = HttpConnector::new();
    tcp.enforce_http(false);
    tcp.set_nodelay(true);
    tcp.set_connect_timeout(Some(timeout));
    ProxyConnector::new(tcp, proxy)
}

fn empty_roots_config() -> rustls::ClientConfig {
    rustls::ClientConfig::builder()
        .with_root_certificates(rustls::RootCertStore::empty())
        .with_no_client_auth()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn https_is_told_by_the_scheme_alone() {
        assert!(is_https("https://earthengine.googleapis.com"));
        assert!(is_https("HTTPS://host:443/token"));
        assert!(!is_https("http://127.0.0.1:8080"));
        assert!(!is_https("http://https.example"));
        assert!(!is_https("https:"));
        assert!(!is_https(""));
    }
}
