//! TLS end to end, as a user meets it: the built tool reaches an `https://`
//! endpoint over both transports, verifying the server's certificate against
//! the roots it trusts and negotiating HTTP/2 by ALPN, and refuses a server
//! whose certificate none of them signed.
//!
//! The server is the emulator behind a TLS front of the test's own (rustls
//! on loopback, forwarding the decrypted bytes). The certificate authority is
//! made here too and handed to the tool the way a user would trust a private
//! one: `SSL_CERT_FILE`, which replaces the system's roots.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::support::ping_server::{PingServer, Seen};
use crate::support::proxy::{ConnectProxy, ProxyConfig};
use crate::support::relay::Relay;
use crate::support::serve::{EEOPS, isolated};
use eeops::emulator::{Emulator, OperationSpec, RunningEmulator};
use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::TlsAcceptor;

type TestResult = Result<(), Box<dyn std::error::Error>>;

/// A name only the test's proxy resolves.
const PROXIED_HOST: &str = "tls.emulator.test";

/// A certificate authority: its certificate (PEM) and what it can sign with.
struct Authority {
    issuer: CertifiedIssuer<'static, KeyPair>,
}

impl Authority {
    fn new(name: &str) -> Result<Self, rcgen::Error> {
        let mut params = CertificateParams::new(Vec::<String>::new())?;
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.distinguished_name.push(DnType::CommonName, name);
        Ok(Self {
            issuer: CertifiedIssuer::self_signed(params, KeyPair::generate()?)?,
        })
    }

    fn pem(&self) -> String {
        self.issuer.pem()
    }

    /// A server certificate for this machine's names and for
    /// [`PROXIED_HOST`], and its private key.
    fn server_certificate(
        &self,
    ) -> Result<(CertificateDer<'static>, PrivateKeyDer<'static>), rcgen::Error> {
        let key = KeyPair::generate()?;
        let names = ["localhost", "127.0.0.1", PROXIED_HOST];
        let params = CertificateParams::new(names.map(str::to_owned).to_vec())?;
        let certificate = params.signed_by(&key, &self.issuer)?;
        let key = PrivateKeyDer::from(PrivatePkcs8KeyDer::from(key.serialize_der()));
        Ok((certificate.der().clone(), key))
    }
}

/// A TLS endpoint on loopback that forwards what it decrypts to `target`,
/// counts the connections it accepts and notes the protocol each completed
/// handshake negotiated by ALPN.
struct TlsFront {
    address: SocketAddr,
    accepted: Arc<AtomicUsize>,
    negotiated: Arc<Mutex<Vec<String>>>,
    task: tokio::task::JoinHandle<()>,
}

impl TlsFront {
    /// Offers `protocols` by ALPN.
    async fn offering(
        target: SocketAddr,
        (certificate, key): (CertificateDer<'static>, PrivateKeyDer<'static>),
        protocols: &[&[u8]],
    ) -> Result<Self, Box<dyn std::error::Error>> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()?
            .with_no_client_auth()
            .with_single_cert(vec![certificate], key)?;
        config.alpn_protocols = protocols.iter().map(|p| p.to_vec()).collect();
        let acceptor = TlsAcceptor::from(Arc::new(config));
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let address = listener.local_addr()?;
        let negotiated = Arc::new(Mutex::new(Vec::new()));
        let noted = negotiated.clone();
        let accepted = Arc::new(AtomicUsize::new(0));
        let counted = accepted.clone();
        let task = tokio::spawn(async move {
            while let Ok((tcp, _)) = listener.accept().await {
                counted.fetch_add(1, Ordering::SeqCst);
                let (acceptor, noted) = (acceptor.clone(), noted.clone());
                tokio::spawn(async move {
                    // A client that refuses the certificate ends the handshake.
                    let Ok(mut tls) = acceptor.accept(tcp).await else {
                        return;
                    };
                    let protocol = tls.get_ref().1.alpn_protocol().map_or_else(
                        || "none".to_owned(),
                        |p| String::from_utf8_lossy(p).into_owned(),
                    );
                    noted.lock().expect("not poisoned").push(protocol);
                    if let Ok(mut upstream) = TcpStream::connect(target).await {
                        let _ = tokio::io::copy_bidirectional(&mut tls, &mut upstream).await;
                    }
                });
            }
        });
        Ok(Self {
            address,
            accepted,
            negotiated,
            task,
        })
    }

    fn endpoint(&self) -> String {
        format!("https://127.0.0.1:{}", self.address.port())
    }

    fn negotiated(&self) -> Vec<String> {
        self.negotiated.lock().expect("not poisoned").clone()
    }

    /// TCP connections accepted so far, handshakes that failed included.
    fn accepted(&self) -> usize {
        self.accepted.load(Ordering::SeqCst)
    }
}

impl Drop for TlsFront {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// An emulator with one finished operation, behind a TLS front whose
/// certificate `server` signed, and a roots file holding `trusted`'s.
struct Setup {
    name: String,
    front: TlsFront,
    roots: tempfile::NamedTempFile,
    _emulator: RunningEmulator,
}

impl Setup {
    async fn new(
        server: &Authority,
        trusted: &Authority,
    ) -> Result<Self, Box<dyn std::error::Error>> {
        Self::offering(server, trusted, &[b"h2", b"http/1.1"]).await
    }

    /// The same with a front offering `protocols` by ALPN.
    async fn offering(
        server: &Authority,
        trusted: &Authority,
        protocols: &[&[u8]],
    ) -> Result<Self, Box<dyn std::error::Error>> {
        let emulator = Emulator::builder().start("127.0.0.1:0").await?;
        let name = emulator.handle().create(
            OperationSpec::new("tls")
                .with_id("TLSCHECK")
                .with_type("EXPORT_IMAGE")
                .created_ago(Duration::from_secs(3600)),
        )?;
        let plaintext: SocketAddr = emulator
            .endpoint()
            .strip_prefix("http://")
            .ok_or("the emulator's endpoint is http://")?
            .parse()?;
        let front = TlsFront::offering(plaintext, server.server_certificate()?, protocols).await?;
        let roots = tempfile::NamedTempFile::new()?;
        std::fs::write(roots.path(), trusted.pem())?;
        Ok(Self {
            name,
            front,
            roots,
            _emulator: emulator,
        })
    }
}

/// `eeops get NAME` against `endpoint`, trusting only the roots in `roots`.
async fn get_trusting(roots: &Path, endpoint: &str, transport: &str, name: &str) -> Output {
    get_trusting_with(roots, endpoint, transport, name, &[]).await
}

/// The same with these environment variables.
async fn get_trusting_with(
    roots: &Path,
    endpoint: &str,
    transport: &str,
    name: &str,
    vars: &[(&str, &str)],
) -> Output {
    let mut command = Command::new(EEOPS);
    isolated(&mut command)
        .envs(vars.iter().copied())
        .env("SSL_CERT_FILE", roots)
        .env_remove("SSL_CERT_DIR")
        .args([
            "--endpoint",
            endpoint,
            "--transport",
            transport,
            "--no-auth",
            "--format",
            "json",
            "--rpc-timeout",
            "20s",
            "get",
            name,
        ])
        .stdin(Stdio::null());
    tokio::task::spawn_blocking(move || command.output().expect("the eeops binary runs"))
        .await
        .expect("the command's thread ends")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[tokio::test]
async fn both_transports_verify_the_servers_certificate_and_speak_http2() -> TestResult {
    let authority = Authority::new("eeops test authority")?;
    let setup = Setup::new(&authority, &authority).await?;
    let (roots, front, name) = (setup.roots.path(), &setup.front, &setup.name);

    for transport in ["grpc", "rest"] {
        let output = get_trusting(roots, &front.endpoint(), transport, name).await;
        assert_eq!(
            output.status.code(),
            Some(0),
            "{transport}: {}",
            text(&output.stderr)
        );
        let operation: serde_json::Value = serde_json::from_slice(&output.stdout)?;
        assert_eq!(operation["name"], name.as_str(), "{transport}");
        assert_eq!(operation["done"], true, "{transport}");
    }
    // One connection per command, each negotiated as HTTP/2: gRPC needs it,
    // and REST over TLS asks for it before HTTP/1.1.
    assert_eq!(front.negotiated(), ["h2", "h2"]);
    Ok(())
}

#[tokio::test]
async fn a_certificate_no_trusted_root_signed_is_refused_on_both_transports() -> TestResult {
    let server_authority = Authority::new("eeops test authority")?;
    let trusted_authority = Authority::new("another authority")?;
    let setup = Setup::new(&server_authority, &trusted_authority).await?;
    let (roots, front, name) = (setup.roots.path(), &setup.front, &setup.name);

    for transport in ["grpc", "rest"] {
        let output = get_trusting(roots, &front.endpoint(), transport, name).await;
        let stderr = text(&output.stderr);
        assert_eq!(output.status.code(), Some(1), "{transport}: {stderr}");
        assert!(output.stdout.is_empty(), "{transport}: nothing is printed");
        assert!(
            stderr.contains("UNAVAILABLE")
                && stderr.contains("invalid peer certificate: UnknownIssuer"),
            "{transport}: the error names the certificate: {stderr}"
        );
    }
    // The handshakes failed, so nothing was forwarded; and a certificate
    // nobody trusts is not tried again: one connection per command.
    assert!(front.negotiated().is_empty(), "{:?}", front.negotiated());
    assert_eq!(front.accepted(), 2);
    Ok(())
}

#[tokio::test]
async fn both_transports_speak_tls_end_to_end_inside_a_proxy_tunnel() -> TestResult {
    let authority = Authority::new("eeops test authority")?;
    let setup = Setup::new(&authority, &authority).await?;
    let (roots, front, name) = (setup.roots.path(), &setup.front, &setup.name);
    let proxy = ConnectProxy::start(ProxyConfig {
        hosts: HashMap::from([(PROXIED_HOST.to_owned(), IpAddr::from([127, 0, 0, 1]))]),
        credentials: Some(("alice".to_owned(), "s3cret".to_owned())),
        ..ProxyConfig::default()
    })
    .await;
    let url = proxy.url_with("alice", "s3cret");
    // Only the proxy knows this name, and the certificate is checked for it.
    let endpoint = format!("https://{PROXIED_HOST}:{}", front.address.port());
    for transport in ["grpc", "rest"] {
        let vars = [
            ("HTTPS_PROXY", url.as_str()),
            ("HTTP_PROXY", "http://unused.test:1"),
        ];
        let output = get_trusting_with(roots, &endpoint, transport, name, &vars).await;
        let stderr = text(&output.stderr);
        assert_eq!(output.status.code(), Some(0), "{transport}: {stderr}");
        let operation: serde_json::Value = serde_json::from_slice(&output.stdout)?;
        assert_eq!(operation["name"], name.as_str(), "{transport}");
        assert!(!stderr.contains("s3cret"), "{transport}: {stderr}");
    }
    let target = format!("{PROXIED_HOST}:{}", front.address.port());
    assert_eq!(proxy.seen().tunnels, [target.clone(), target]);
    // TLS ran with the front, through the tunnel: HTTP/2 negotiated by ALPN.
    assert_eq!(front.negotiated(), ["h2", "h2"]);
    Ok(())
}

#[tokio::test]
async fn the_wrong_scheme_is_explained_in_words() -> TestResult {
    let authority = Authority::new("eeops test authority")?;
    let setup = Setup::new(&authority, &authority).await?;
    let (roots, name) = (setup.roots.path(), &setup.name);

    // Plaintext against the TLS front.
    let tls = setup.front.endpoint();
    let authority_part = tls.trim_start_matches("https://").to_owned();
    let output = get_trusting(roots, &format!("http://{authority_part}"), "rest", name).await;
    let stderr = text(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("speaks TLS") && stderr.contains(&format!("https://{authority_part}")),
        "{stderr}"
    );
    // The call is not sent again to a peer that answered in TLS: one
    // connection for it, one for the probe behind the hint.
    assert_eq!(setup.front.accepted(), 2, "{stderr}");

    // TLS against the plaintext emulator, through a relay that counts the
    // connections: a server that does not answer in TLS is not tried again.
    let relay = Relay::start(setup._emulator.local_addr()).await?;
    let authority_part = relay.endpoint().trim_start_matches("http://").to_owned();
    for transport in ["grpc", "rest"] {
        let output =
            get_trusting(roots, &format!("https://{authority_part}"), transport, name).await;
        let stderr = text(&output.stderr);
        assert_eq!(output.status.code(), Some(1), "{transport}: {stderr}");
        assert!(
            stderr.contains("plaintext, not TLS")
                && stderr.contains(&format!("http://{authority_part}")),
            "{transport}: {stderr}"
        );
    }
    assert_eq!(relay.accepted(), 2);
    Ok(())
}

/// A library client of `endpoint` over `transport` with the TLS settings
/// `tls` puts on its builder.
fn library_client(
    endpoint: &str,
    transport: eeops::TransportKind,
    tls: impl FnOnce(eeops::ClientBuilder) -> eeops::ClientBuilder,
) -> eeops::Result<eeops::Client> {
    tls(eeops::Client::builder()
        .with_endpoint(endpoint)
        .with_transport(transport)
        .with_credentials(eeops::Credentials::anonymous())
        .without_proxy()
        .with_timeout(Duration::from_secs(20)))
    .build()
}

const LIBRARY_TRANSPORTS: [eeops::TransportKind; 2] =
    [eeops::TransportKind::Grpc, eeops::TransportKind::Rest];

/// A full TLS configuration of the user's own trusting `authority` (with
/// ALPN protocols of its own, which the transports replace).
fn config_trusting(
    authority: &Authority,
) -> Result<rustls::ClientConfig, Box<dyn std::error::Error>> {
    use rustls::pki_types::pem::PemObject;
    let mut roots = rustls::RootCertStore::empty();
    roots.add(CertificateDer::from_pem_slice(authority.pem().as_bytes())?)?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.alpn_protocols = vec![b"spdy/1".to_vec()];
    Ok(config)
}

#[tokio::test]
async fn the_library_trusts_a_private_authority_given_to_the_builder() -> TestResult {
    let authority = Authority::new("eeops test authority")?;
    let setup = Setup::new(&authority, &authority).await?;
    let (front, name) = (&setup.front, &setup.name);
    for transport in LIBRARY_TRANSPORTS {
        let pem = authority.pem();
        let by_pem = library_client(&front.endpoint(), transport, |builder| {
            builder.with_root_certificates_pem(pem)
        })?;
        assert_eq!(by_pem.get(name).await?.name, *name, "{transport:?}");

        let config = config_trusting(&authority)?;
        let by_config = library_client(&front.endpoint(), transport, |builder| {
            builder.with_tls_config(config)
        })?;
        assert_eq!(by_config.get(name).await?.name, *name, "{transport:?}");

        let mut roots = rustls::RootCertStore::empty();
        roots.add(authority.issuer.der().clone())?;
        let by_roots = library_client(&front.endpoint(), transport, |builder| {
            builder.with_root_certificates(roots)
        })?;
        assert_eq!(by_roots.get(name).await?.name, *name, "{transport:?}");
    }
    // Every connection negotiated HTTP/2 by the transports' own ALPN.
    assert_eq!(front.negotiated(), ["h2"; 6]);
    Ok(())
}

#[tokio::test]
async fn the_library_refuses_a_server_its_roots_did_not_sign() -> TestResult {
    let server_authority = Authority::new("eeops test authority")?;
    let trusted_authority = Authority::new("another authority")?;
    let setup = Setup::new(&server_authority, &trusted_authority).await?;
    let (front, name) = (&setup.front, &setup.name);
    for transport in LIBRARY_TRANSPORTS {
        let pem = trusted_authority.pem();
        let config = config_trusting(&trusted_authority)?;
        for client in [
            library_client(&front.endpoint(), transport, |builder| {
                builder.with_root_certificates_pem(pem)
            })?,
            library_client(&front.endpoint(), transport, |builder| {
                builder.with_tls_config(config)
            })?,
        ] {
            let error = client.get(name).await.expect_err("an unknown issuer");
            assert!(error.is_unavailable() && error.is_never_sent(), "{error:?}");
            assert!(
                error
                    .to_string()
                    .contains("invalid peer certificate: UnknownIssuer"),
                "{transport:?}: {error}"
            );
        }
    }
    assert!(front.negotiated().is_empty(), "{:?}", front.negotiated());
    // Sent once each: a certificate no root signed will not change.
    assert_eq!(front.accepted(), 2 * LIBRARY_TRANSPORTS.len());
    Ok(())
}

#[tokio::test]
async fn root_certificates_that_cannot_be_read_are_refused_by_build() -> TestResult {
    for (pem, says) in [
        ("", "no certificate found"),
        ("not a certificate at all", "no certificate found"),
        (
            "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
            "certificate 1",
        ),
    ] {
        let error = library_client("https://127.0.0.1:9", eeops::TransportKind::Rest, |b| {
            b.with_root_certificates_pem(pem)
        })
        .expect_err(pem);
        assert_eq!(error.code(), eeops::rpc::Code::InvalidArgument, "{pem}");
        assert!(error.message().contains(says), "{pem:?}: {error}");
    }
    Ok(())
}

/// A TLS server that speaks only HTTP/1.1 gets REST over HTTP/1.1, on one
/// connection the calls take turns on.
#[tokio::test]
async fn rest_speaks_http1_over_tls_to_a_server_that_offers_only_that() -> TestResult {
    let authority = Authority::new("eeops test authority")?;
    let setup = Setup::offering(&authority, &authority, &[b"http/1.1"]).await?;
    let (front, name) = (&setup.front, &setup.name);
    let pem = authority.pem();
    let client = library_client(&front.endpoint(), eeops::TransportKind::Rest, |builder| {
        builder.with_root_certificates_pem(pem)
    })?;
    for _ in 0..3 {
        assert_eq!(client.get(name).await?.name, *name);
    }
    assert_eq!(front.negotiated(), ["http/1.1"]);
    assert_eq!(front.accepted(), 1);
    Ok(())
}

/// REST over TLS shares one HTTP/2 connection between calls; one that
/// goes silent (a relay that stops forwarding without closing) is let go
/// by the first call whose deadline passes with no reply on it, and the
/// calls after it connect anew.
#[tokio::test]
async fn rest_over_http2_replaces_a_shared_connection_gone_silent() -> TestResult {
    let authority = Authority::new("eeops test authority")?;
    let setup = Setup::new(&authority, &authority).await?;
    let relay = Relay::start(setup.front.address).await?;
    let endpoint = relay.endpoint().replace("http://", "https://");
    let pem = authority.pem();
    let client = library_client(&endpoint, eeops::TransportKind::Rest, |builder| {
        builder.with_root_certificates_pem(pem)
    })?;
    let name = &setup.name;
    client.get(name).await?;
    relay.freeze_existing();
    let error = client
        .get(name)
        .with_timeout(Duration::from_millis(300))
        .await
        .expect_err("the connection is silent");
    assert_eq!(
        error.code(),
        eeops::rpc::Code::DeadlineExceeded,
        "{error:?}"
    );
    assert_eq!(client.get(name).await?.name, *name);
    assert_eq!(relay.accepted(), 2);
    assert_eq!(setup.front.negotiated(), ["h2", "h2"]);
    Ok(())
}

/// REST's HTTP/2 connection is pinged as the builder says, and one whose
/// ping goes unanswered is dropped, its calls saying why.
#[tokio::test]
async fn rest_over_http2_drops_a_connection_whose_ping_goes_unanswered() -> TestResult {
    let authority = Authority::new("eeops test authority")?;
    let mut server = PingServer::deaf().await?;
    let front = TlsFront::offering(server.addr, authority.server_certificate()?, &[b"h2"]).await?;
    let pem = authority.pem();
    let client = library_client(&front.endpoint(), eeops::TransportKind::Rest, |builder| {
        builder
            .with_root_certificates_pem(pem)
            .with_keep_alive(Duration::from_millis(50), Duration::from_millis(100))
    })?;
    // A delete is not repeated once it may have arrived: its error is the
    // connection's.
    let call = tokio::spawn(async move { client.delete("projects/p/operations/x").await });
    assert_eq!(server.next().await, Seen::Request { connection: 0 });
    assert!(matches!(
        server.next().await,
        Seen::Ping { connection: 0, .. }
    ));
    let error = call.await?.expect_err("the connection was dropped");
    assert!(
        error
            .to_string()
            .contains("did not answer a keep-alive ping within 100ms"),
        "{error}"
    );
    assert_eq!(front.negotiated(), ["h2"]);
    Ok(())
}
