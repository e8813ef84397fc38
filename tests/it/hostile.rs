//! Hostile servers and hostile names: every case ends in a typed error —
//! never a panic, a hang or unbounded memory. Raw servers on loopback send
//! exactly the bytes each case needs.

use std::convert::Infallible;
use std::time::Duration;

use bytes::Bytes;
use eeops::emulator::Emulator;
use eeops::rpc::Code;
use eeops::{Client, Credentials, RetryPolicy, TransportKind};
use http_body_util::Full;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

type TestResult = Result<(), Box<dyn std::error::Error>>;

/// How a raw HTTP/1.1 server answers every request.
#[derive(Clone)]
enum Behaviour {
    /// These exact bytes, then the connection closes.
    Respond(Vec<u8>),
    /// Headers at once, then the body one byte a second.
    Drip(Vec<u8>, Vec<u8>),
    /// Read the request, then close without a word.
    Reset,
    /// Read the request and never answer.
    Stall,
}

async fn raw_server(
    behaviour: Behaviour,
) -> Result<(String, tokio::task::JoinHandle<()>), std::io::Error> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let endpoint = format!("http://{}", listener.local_addr()?);
    let task = tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let behaviour = behaviour.clone();
            tokio::spawn(async move {
                let mut request = Vec::new();
                let mut buffer = [0u8; 4096];
                while !request.windows(4).any(|w| w == b"\r\n\r\n") {
                    match socket.read(&mut buffer).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => request.extend_from_slice(&buffer[..n]),
                    }
                }
                match behaviour {
                    Behaviour::Respond(bytes) => {
                        let _ = socket.write_all(&bytes).await;
                    }
                    Behaviour::Drip(head, body) => {
                        let _ = socket.write_all(&head).await;
                        for byte in body {
                            if socket.write_all(&[byte]).await.is_err() {
                                return;
                            }
                            tokio::time::sleep(Duration::from_millis(100)).await;
                        }
                    }
                    Behaviour::Reset => drop(socket),
                    Behaviour::Stall => {
                        let _ = socket.read(&mut buffer).await;
                        std::future::pending::<()>().await;
                    }
                }
            });
        }
    });
    Ok((endpoint, task))
}

fn response(status: &str, content_type: &str, body: &[u8]) -> Vec<u8> {
    let mut bytes = format!(
        "HTTP/1.1 {status}\r\ncontent-type: {content_type}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
        body.len()
    )
    .into_bytes();
    bytes.extend_from_slice(body);
    bytes
}

fn rest_client(endpoint: &str) -> eeops::Result<Client> {
    Client::builder()
        .with_transport(TransportKind::Rest)
        .with_endpoint(endpoint)
        .with_credentials(Credentials::anonymous())
        .with_retry_policy(RetryPolicy::never())
        .with_max_response_bytes(64 * 1024)
        .build()
}

async fn rest_get(behaviour: Behaviour) -> Result<eeops::Error, Box<dyn std::error::Error>> {
    let (endpoint, server) = raw_server(behaviour).await?;
    let result = rest_client(&endpoint)?
        .get("projects/p/operations/x")
        .with_timeout(Duration::from_secs(1))
        .await;
    server.abort();
    Ok(result.expect_err("a hostile server cannot give an operation"))
}

#[tokio::test]
async fn hostile_rest_replies_give_typed_errors() -> TestResult {
    let deep = format!("{}{}", "[".repeat(20_000), "]".repeat(20_000));
    let cases: Vec<(&str, Behaviour, Code, &str)> = vec![
        (
            "truncated JSON",
            Behaviour::Respond(response(
                "200 OK",
                "application/json",
                br#"{"name": "projects/p/oper"#,
            )),
            Code::Internal,
            "invalid",
        ),
        (
            "an HTML error page",
            Behaviour::Respond(response(
                "502 Bad Gateway",
                "text/html",
                b"<html><body><h1>502 Bad Gateway</h1></body></html>",
            )),
            Code::Internal,
            "HTTP 502: <html>",
        ),
        (
            "a wrong content type",
            Behaviour::Respond(response("200 OK", "text/plain", b"hello there")),
            Code::Internal,
            "invalid",
        ),
        (
            "JSON that is a list",
            Behaviour::Respond(response("200 OK", "application/json", b"[1,2,3]")),
            Code::Internal,
            "invalid",
        ),
        (
            "JSON null",
            Behaviour::Respond(response("200 OK", "application/json", b"null")),
            Code::Internal,
            "invalid",
        ),
        (
            "invalid UTF-8",
            Behaviour::Respond(response(
                "200 OK",
                "application/json",
                b"{\"name\": \"\xff\xfe\"}",
            )),
            Code::Internal,
            "UTF-8",
        ),
        (
            "20,000 levels of nesting",
            Behaviour::Respond(response("200 OK", "application/json", deep.as_bytes())),
            Code::Internal,
            "invalid",
        ),
        (
            "an error body of the wrong shape",
            Behaviour::Respond(response(
                "404 Not Found",
                "application/json",
                br#"{"error": "no such thing"}"#,
            )),
            Code::NotFound,
            "",
        ),
        (
            "a body far over the size limit",
            Behaviour::Respond(response(
                "200 OK",
                "application/json",
                &vec![b' '; 2 * 1024 * 1024],
            )),
            Code::ResourceExhausted,
            "larger than",
        ),
        (
            "a reset before the response",
            Behaviour::Reset,
            Code::Unavailable,
            "no reply from",
        ),
        (
            "a server that stalls",
            Behaviour::Stall,
            Code::DeadlineExceeded,
            "",
        ),
        (
            "a server that drips one byte every 100 ms",
            Behaviour::Drip(
                b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 100\r\n\r\n"
                    .to_vec(),
                vec![b' '; 100],
            ),
            Code::DeadlineExceeded,
            "",
        ),
    ];
    for (what, behaviour, code, needle) in cases {
        let error = rest_get(behaviour).await?;
        assert_eq!(error.code(), code, "{what}: {error:?}");
        assert!(error.to_string().contains(needle), "{what}: {error}");
        assert!(
            error.to_string().len() < 2000,
            "{what}: the message is bounded"
        );
    }
    Ok(())
}

/// Trailers a hostile gRPC server sends, if any.
type Trailers = Vec<(&'static str, &'static str)>;

/// An HTTP/2 (cleartext) server that answers every gRPC call with the given
/// headers, body and trailers.
async fn grpc_server(
    body: Vec<u8>,
    trailers: Option<Trailers>,
) -> Result<(String, tokio::task::JoinHandle<()>), std::io::Error> {
    use http_body_util::BodyExt;
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let endpoint = format!("http://{}", listener.local_addr()?);
    let task = tokio::spawn(async move {
        while let Ok((socket, _)) = listener.accept().await {
            let (body, trailers) = (body.clone(), trailers.clone());
            tokio::spawn(async move {
                let service = hyper::service::service_fn(
                    move |_request: hyper::Request<hyper::body::Incoming>| {
                        let (body, trailers) = (body.clone(), trailers.clone());
                        async move {
                            let mut map = http::HeaderMap::new();
                            for (name, value) in trailers.unwrap_or_default() {
                                map.insert(name, http::HeaderValue::from_static(value));
                            }
                            let frames = Full::new(Bytes::from(body))
                                .with_trailers(async move { (!map.is_empty()).then_some(Ok(map)) });
                            let response = hyper::Response::builder()
                                .status(200)
                                .header("content-type", "application/grpc")
                                .body(frames)
                                .expect("a response from fixed parts");
                            Ok::<_, Infallible>(response)
                        }
                    },
                );
                let _ =
                    hyper::server::conn::http2::Builder::new(hyper_util::rt::TokioExecutor::new())
                        .serve_connection(hyper_util::rt::TokioIo::new(socket), service)
                        .await;
            });
        }
    });
    Ok((endpoint, task))
}

#[tokio::test]
async fn hostile_grpc_replies_give_typed_errors() -> TestResult {
    let cases: Vec<(&str, Vec<u8>, Option<Trailers>)> = vec![
        (
            "a frame with an unknown compression flag",
            vec![7, 0, 0, 0, 1, 0],
            Some(vec![("grpc-status", "0")]),
        ),
        (
            "a frame longer than the body",
            vec![0, 0, 0, 0, 200, 1, 2, 3],
            Some(vec![("grpc-status", "0")]),
        ),
        (
            "a message that is not protobuf",
            vec![0, 0, 0, 0, 3, 0xff, 0xff, 0xff],
            Some(vec![("grpc-status", "0")]),
        ),
        ("no grpc-status at all", vec![0, 0, 0, 0, 0], None),
        (
            "a grpc-status that is not a number",
            Vec::new(),
            Some(vec![("grpc-status", "banana")]),
        ),
    ];
    for (what, body, trailers) in cases {
        let (endpoint, server) = grpc_server(body, trailers).await?;
        let client = Client::builder()
            .with_transport(TransportKind::Grpc)
            .with_endpoint(&endpoint)
            .with_credentials(Credentials::anonymous())
            .with_retry_policy(RetryPolicy::never())
            .build()?;
        let result = client
            .get("projects/p/operations/x")
            .with_timeout(Duration::from_secs(5))
            .await;
        server.abort();
        let error = result.expect_err(what);
        assert!(
            matches!(
                error.code(),
                Code::Internal | Code::Unknown | Code::Unavailable
            ),
            "{what}: {error:?}"
        );
    }
    Ok(())
}

#[tokio::test]
async fn hostile_names_are_refused_or_kept_to_their_own_resource() -> TestResult {
    let emulator = Emulator::builder().start("127.0.0.1:0").await?;
    let long = format!("projects/p/operations/{}", "x".repeat(10 * 1024));
    let names = [
        "projects/p/operations/../x".to_owned(),
        "projects/p/operations/a%2Fb".to_owned(),
        "projects/p/operations/a?b=c".to_owned(),
        "projects/p/operations/a#frag".to_owned(),
        "projects/p/operations/a\r\nX-Injected: 1".to_owned(),
        "projects/p/operations/a\0b".to_owned(),
        long,
    ];
    for kind in [TransportKind::Grpc, TransportKind::Rest] {
        let client = Client::builder()
            .with_transport(kind)
            .with_endpoint(emulator.endpoint())
            .with_credentials(Credentials::anonymous())
            .with_retry_policy(RetryPolicy::never())
            .build()?;
        for name in &names {
            let error = client.get(name).await.expect_err("no such operation");
            assert!(
                error.to_string().len() < 1000,
                "{kind:?}: messages stay bounded"
            );
            assert!(
                matches!(error.code(), Code::InvalidArgument | Code::NotFound),
                "{kind:?} {:?}: {error:?}",
                name.chars().take(40).collect::<String>()
            );
        }
        let preview = client.get("projects/p/operations/a?b=c#d").http_preview()?;
        assert!(
            preview
                .url
                .ends_with("/v1/projects/p/operations/a%3Fb%3Dc%23d"),
            "{}",
            preview.url
        );
    }
    emulator.shutdown().await?;
    Ok(())
}
