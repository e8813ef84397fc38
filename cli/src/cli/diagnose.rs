//! Mistakes about the endpoint, said in words: no scheme, TLS against a
//! plaintext server, plaintext against a TLS server.

use std::net::{TcpStream, ToSocketAddrs};
use std::sync::Arc;
use std::time::Duration;

use super::CliError;

/// How long the TLS probe may take.
const PROBE_TIMEOUT: Duration = Duration::from_secs(2);

/// Checks that `endpoint` says how to connect.
pub(crate) fn check_endpoint(endpoint: &str) -> Result<(), CliError> {
    let Some((scheme, rest)) = endpoint.split_once("://") else {
        return Err(CliError::Usage(format!(
            "the endpoint {endpoint:?} has no scheme: write http://{endpoint} (plaintext, \
             e.g. an emulator) or https://{endpoint} (TLS)"
        )));
    };
    match scheme.to_ascii_lowercase().as_str() {
        "http" | "https" if !rest.is_empty() => Ok(()),
        "http" | "https" => Err(CliError::Usage(format!(
            "the endpoint {endpoint:?} names no host"
        ))),
        _ => Err(CliError::Usage(format!(
            "the endpoint {endpoint:?} has the scheme {scheme:?}: use http:// (plaintext) or https:// (TLS)"
        ))),
    }
}

/// A sentence explaining a failed call when the cause is the wrong scheme.
/// For `http://` it probes the server with a TLS handshake (only after a
/// call failed to connect).
pub(crate) fn hint(endpoint: &str, error: &eeops::Error) -> Option<String> {
    let chain = chain_text(error);
    let (scheme, authority) = endpoint.split_once("://")?;
    let authority = authority.split('/').next().unwrap_or(authority);
    match scheme {
        "https" if chain.contains("InvalidContentType") || chain.contains("corrupt message") => {
            Some(format!(
                "the server at {authority} answered in plaintext, not TLS: if it is a plaintext \
                 server (such as an emulator), use --endpoint http://{authority}"
            ))
        }
        "http" if error.code() == eeops::rpc::Code::Unavailable && speaks_tls(authority) => {
            Some(format!(
                "the server at {authority} speaks TLS, not plaintext: use --endpoint https://{authority}"
            ))
        }
        _ => None,
    }
}

fn chain_text(error: &eeops::Error) -> String {
    let mut text = error.to_string();
    let mut cause = std::error::Error::source(error);
    while let Some(inner) = cause {
        text.push('\n');
        text.push_str(&inner.to_string());
        cause = inner.source();
    }
    text
}

/// Whether the server at `authority` answers a TLS handshake. The probe
/// trusts no certificate, so it never completes; any answer in TLS (a
/// certificate it cannot verify) is enough.
fn speaks_tls(authority: &str) -> bool {
    let Some(address) = authority
        .to_socket_addrs()
        .ok()
        .and_then(|mut addresses| addresses.next())
    else {
        return false;
    };
    let Ok(mut socket) = TcpStream::connect_timeout(&address, PROBE_TIMEOUT) else {
        return false;
    };
    let _ = socket.set_read_timeout(Some(PROBE_TIMEOUT));
    let _ = socket.set_write_timeout(Some(PROBE_TIMEOUT));
    let config = rustls::ClientConfig::builder()
        .with_root_certificates(rustls::RootCertStore::empty())
        .with_no_client_auth();
    let host = authority
        .rsplit_once(':')
        .map_or(authority, |(host, _)| host)
        .trim_start_matches('[')
        .trim_end_matches(']');
    let Ok(name) = rustls::pki_types::ServerName::try_from(host.to_owned()) else {
        return false;
    };
    let Ok(mut connection) = rustls::ClientConnection::new(Arc::new(config), name) else {
        return false;
    };
    match connection.complete_io(&mut socket) {
        Ok(_) => true,
        // A certificate it cannot verify, or an alert, means the server
        // answered in TLS; a corrupt message or a closed socket does not.
        Err(error) => error
            .get_ref()
            .and_then(|inner| inner.downcast_ref::<rustls::Error>())
            .is_some_and(|tls| {
                matches!(
                    tls,
                    rustls::Error::InvalidCertificate(_)
                        | rustls::Error::AlertReceived(_)
                        | rustls::Error::NoCertificatesPresented
                )
            }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_without_a_scheme_are_usage_errors() {
        assert!(check_endpoint("http://127.0.0.1:8080").is_ok());
        assert!(check_endpoint("https://earthengine.googleapis.com").is_ok());
        let Err(CliError::Usage(message)) = check_endpoint("127.0.0.1:18080") else {
            panic!("a usage error")
        };
        assert!(message.contains("http://127.0.0.1:18080"), "{message}");
        assert!(message.contains("https://127.0.0.1:18080"), "{message}");
        assert!(matches!(
            check_endpoint("ftp://host"),
            Err(CliError::Usage(_))
        ));
    }
}
