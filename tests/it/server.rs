//! `eeops serve` as a server people leave running: it stops on SIGTERM or
//! Ctrl-C whatever its clients do, slow, idle or too many clients cannot
//! hold its resources, its record keeps no secret, and thousands of
//! concurrent waits are all answered. The shutdown tests run the built tool
//! and send it real signals.

use std::future::IntoFuture as _;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::Command;
use std::time::Duration;

use eeops::emulator::{Emulator, OperationSpec};
use serde_json::Value;

use crate::support::serve::{EEOPS, PATIENCE, Serve, isolated};

/// The client connection preface of HTTP/2, and nothing after it.
const HTTP2_PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

fn connect(server: &Serve) -> TcpStream {
    let stream = TcpStream::connect(server.addr()).expect("connects");
    stream
        .set_read_timeout(Some(PATIENCE))
        .expect("a read timeout");
    stream
}

/// A client that sent the HTTP/2 preface and nothing more, once the server
/// has begun its side of the handshake (its first frame has arrived).
fn preface_only(server: &Serve) -> TcpStream {
    let mut stream = connect(server);
    stream.write_all(HTTP2_PREFACE).expect("sends the preface");
    let mut frame_header = [0; 9];
    stream
        .read_exact(&mut frame_header)
        .expect("the server's SETTINGS frame");
    assert_eq!(frame_header[3], 0x4, "a SETTINGS frame: {frame_header:?}");
    stream
}

/// Reads one HTTP/1.1 response with a `Content-Length` from `stream`: its
/// status and body.
fn read_response(stream: &mut TcpStream) -> (u16, Vec<u8>) {
    let mut head = Vec::new();
    let mut byte = [0; 1];
    while !head.ends_with(b"\r\n\r\n") {
        stream.read_exact(&mut byte).expect("a response head");
        head.push(byte[0]);
    }
    let head = String::from_utf8_lossy(&head).into_owned();
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|code| code.parse().ok())
        .unwrap_or_else(|| panic!("no status in {head:?}"));
    let length: usize = head
        .lines()
        .find_map(|line| {
            let (name, value) = line.split_once(':')?;
            name.eq_ignore_ascii_case("content-length")
                .then(|| value.trim().parse().ok())?
        })
        .unwrap_or_else(|| panic!("no content-length in {head:?}"));
    let mut body = vec![0; length];
    stream.read_exact(&mut body).expect("the response body");
    (status, body)
}

/// Sends a whole HTTP/1.1 request on `stream` and reads its response.
fn exchange(stream: &mut TcpStream, method: &str, path: &str, body: &str) -> (u16, Vec<u8>) {
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nhost: test\r\ncontent-type: application/json\r\n\
         content-length: {}\r\n\r\n{body}",
        body.len()
    )
    .expect("sends the request");
    read_response(stream)
}

/// Whether the server closed `stream` (the read ends without an error once
/// whatever it still sent is read).
fn closed_by_server(stream: &mut TcpStream) -> bool {
    let mut rest = Vec::new();
    match stream.read_to_end(&mut rest) {
        Ok(_) => true,
        Err(error) => error.kind() == std::io::ErrorKind::ConnectionReset,
    }
}

#[test]
fn sigterm_stops_serve_while_a_client_sent_only_the_http2_preface() {
    let mut server = Serve::start(&[]);
    let mut stuck = preface_only(&server);
    server.signal("TERM");
    let status = server.exit_status();
    assert!(status.success(), "{status}");
    assert!(closed_by_server(&mut stuck));
}

#[test]
fn ctrl_c_stops_serve_while_a_client_is_half_way_through_an_http1_request() {
    let mut server = Serve::start(&[]);
    let mut stuck = connect(&server);
    // A whole request first: the connection is being served.
    let (status, _) = exchange(&mut stuck, "GET", "/$discovery/rest", "");
    assert_eq!(status, 200);
    stuck
        .write_all(b"GET /v1/projects/p/operations HTTP/1.1\r\nhost: te")
        .expect("sends half a request");
    server.signal("INT");
    let status = server.exit_status();
    assert!(status.success(), "{status}");
    assert!(closed_by_server(&mut stuck));
}

#[test]
fn a_second_ctrl_c_exits_at_once() {
    // A grace period longer than the test's patience: only the second
    // interrupt can end it in time.
    let mut server = Serve::start_logged(&["--shutdown-grace", "1h"]);
    let _stuck = preface_only(&server);
    server.signal("INT");
    server.log_line("stopping");
    server.signal("INT");
    let status = server.exit_status();
    assert_eq!(status.code(), Some(130), "{status}");
}

/// A seeded operation that will not be done for hours.
fn long_running_operation(server: &Serve) -> String {
    let mut stream = connect(server);
    let (status, body) = exchange(&mut stream, "GET", "/v1/projects/demo/operations", "");
    assert_eq!(status, 200);
    let page: Value = serde_json::from_slice(&body).expect("a JSON page");
    page["operations"]
        .as_array()
        .expect("operations")
        .iter()
        .find(|operation| operation["done"] != true)
        .and_then(|operation| operation["name"].as_str())
        .expect("an operation still running")
        .to_owned()
}

/// WaitOperation over gRPC with a timeout of an hour.
fn grpc_wait(
    endpoint: String,
    name: String,
) -> Result<eeops::longrunning::Operation, tonic::Status> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    runtime.block_on(async move {
        let channel = tonic::transport::Endpoint::from_shared(endpoint)
            .expect("an endpoint")
            .connect()
            .await
            .map_err(|e| tonic::Status::unavailable(e.to_string()))?;
        let mut grpc = tonic::client::Grpc::new(channel);
        grpc.ready()
            .await
            .map_err(|e| tonic::Status::unavailable(e.to_string()))?;
        let request = tonic::Request::new(eeops::longrunning::WaitOperationRequest {
            name,
            timeout: Some(prost_types::Duration {
                seconds: 3600,
                nanos: 0,
            }),
        });
        let path = tonic::codegen::http::uri::PathAndQuery::from_static(
            "/google.longrunning.Operations/WaitOperation",
        );
        let codec = tonic_prost::ProstCodec::<
            eeops::longrunning::WaitOperationRequest,
            eeops::longrunning::Operation,
        >::default();
        grpc.unary(request, path, codec)
            .await
            .map(tonic::Response::into_inner)
    })
}

#[test]
fn hour_long_waits_over_grpc_and_rest_are_answered_when_serve_stops() {
    let mut server = Serve::start_logged(&["--seed", "12", "--run-time", "3h"]);
    let name = long_running_operation(&server);
    let grpc = std::thread::spawn({
        let (endpoint, name) = (server.endpoint.clone(), name.clone());
        move || grpc_wait(endpoint, name)
    });
    server.log_line("wait started");
    let mut rest = connect(&server);
    write!(
        rest,
        "POST /v1/{name}:wait HTTP/1.1\r\nhost: test\r\ncontent-type: application/json\r\n\
         content-length: 19\r\n\r\n{{\"timeout\":\"3600s\"}}"
    )
    .expect("sends the wait");
    server.log_line("wait started");
    server.signal("TERM");

    let (status, body) = read_response(&mut rest);
    match status {
        200 => {
            let operation: Value = serde_json::from_slice(&body).expect("an operation");
            assert_eq!(operation["name"], name.as_str());
            assert_ne!(operation["done"], true);
        }
        503 => {}
        other => panic!(
            "REST wait answered {other}: {}",
            String::from_utf8_lossy(&body)
        ),
    }
    match grpc.join().expect("the gRPC client") {
        Ok(operation) => {
            assert_eq!(operation.name, name);
            assert!(!operation.done);
        }
        Err(status) => assert_eq!(status.code(), tonic::Code::Unavailable, "{status:?}"),
    }
    let status = server.exit_status();
    assert!(status.success(), "{status}");
}

#[test]
fn slow_silent_and_idle_clients_are_disconnected() {
    let server = Serve::start(&["--header-read-timeout", "1s", "--idle-timeout", "1s"]);
    // Only the HTTP/2 preface: the handshake never finishes.
    let mut preface = preface_only(&server);
    // Half the headers of an HTTP/1.1 request.
    let mut half = connect(&server);
    half.write_all(b"GET /v1/projects/p/operations HTTP/1.1\r\nhost:")
        .expect("sends half a request");
    // Nothing at all.
    let mut silent = connect(&server);
    // A kept-alive HTTP/1.1 connection after its request.
    let mut idle = connect(&server);
    let (status, _) = exchange(&mut idle, "GET", "/$discovery/rest", "");
    assert_eq!(status, 200);
    for (client, stream) in [
        ("preface only", &mut preface),
        ("half a request", &mut half),
        ("silent", &mut silent),
        ("idle", &mut idle),
    ] {
        assert!(closed_by_server(stream), "{client}");
    }
}

#[test]
fn http1_requests_whose_body_stops_or_trickles_are_answered_and_closed() {
    let server = Serve::start(&["--body-read-timeout", "300ms", "--seed", "1"]);
    let head = "POST /v1/projects/p/operations/x:cancel HTTP/1.1\r\nhost: test\r\n\
                content-type: application/json\r\ncontent-length: 100\r\n\r\n";
    // Headers and a tenth of the body, then nothing.
    let mut stopped = connect(&server);
    write!(stopped, "{head}{{\"name\":").expect("sends a part of the request");
    // Headers, then a byte of body now and then, for as long as the server
    // takes them: each byte comes well within any per-read limit, the whole
    // body never within the body's.
    let mut trickling = connect(&server);
    trickling
        .write_all(head.as_bytes())
        .expect("sends the headers");
    let mut trickle = trickling.try_clone().expect("a second handle");
    let trickler = std::thread::spawn(move || {
        let mut sent = 0;
        while sent < 99 && trickle.write_all(b" ").is_ok() {
            sent += 1;
            std::thread::sleep(Duration::from_millis(50));
        }
        sent
    });
    for (client, stream) in [("stopped", &mut stopped), ("trickling", &mut trickling)] {
        let (status, body) = read_response(stream);
        assert!(
            (400..500).contains(&status),
            "{client}: {status} {}",
            String::from_utf8_lossy(&body)
        );
        assert!(closed_by_server(stream), "{client}");
    }
    let sent = trickler.join().expect("the trickler ends");
    assert!(sent < 99, "the body was cut off before it was complete");
    // The server still serves whole requests.
    let (status, _) = exchange(&mut connect(&server), "GET", "/$discovery/rest", "");
    assert_eq!(status, 200);
}

#[tokio::test]
async fn an_http2_call_whose_body_stops_is_answered_and_its_stream_closed()
-> Result<(), Box<dyn std::error::Error>> {
    let emulator = Emulator::builder()
        .with_body_read_timeout(Duration::from_millis(300))
        .start("127.0.0.1:0")
        .await?;
    let tcp = tokio::net::TcpStream::connect(emulator.local_addr()).await?;
    let (mut sender, connection) = h2::client::handshake(tcp).await?;
    tokio::spawn(connection);
    let request = |path: &str| {
        http::Request::post(format!("http://{}{path}", emulator.local_addr()))
            .header("content-type", "application/grpc")
            .header("te", "trailers")
            .body(())
    };
    sender = sender.ready().await?;
    let (reply, mut body) = sender.send_request(
        request("/google.longrunning.Operations/GetOperation")?,
        false,
    )?;
    // The first bytes of a gRPC message's frame, and never the rest.
    body.send_data(bytes::Bytes::from_static(&[0, 0, 0]), false)?;
    let reply = tokio::time::timeout(PATIENCE, reply).await??;
    let status = reply
        .headers()
        .get("grpc-status")
        .and_then(|status| status.to_str().ok())
        .unwrap_or("0")
        .to_owned();
    assert_ne!(status, "0", "{reply:?}");
    // The server closes the stream the client never finished.
    let reset =
        tokio::time::timeout(PATIENCE, std::future::poll_fn(|cx| body.poll_reset(cx))).await??;
    assert!(
        [h2::Reason::NO_ERROR, h2::Reason::CANCEL].contains(&reset),
        "{reset:?}"
    );
    // The connection's other calls go on.
    let mut sender = sender.ready().await?;
    let (reply, _) = sender.send_request(
        http::Request::get(format!("http://{}/$discovery/rest", emulator.local_addr())).body(())?,
        true,
    )?;
    let reply = tokio::time::timeout(PATIENCE, reply).await??;
    assert_eq!(reply.status(), 200);
    emulator.shutdown().await?;
    Ok(())
}

#[test]
fn connections_beyond_the_limit_wait_for_a_busy_one_to_finish() {
    let server =
        Serve::start_logged(&["--max-connections", "1", "--seed", "12", "--run-time", "3h"]);
    let name = long_running_operation(&server);
    server.log_line("connection accepted");
    // The one slot goes to a connection with a short wait in progress.
    let mut busy = connect(&server);
    write!(
        busy,
        "POST /v1/{name}:wait HTTP/1.1\r\nhost: test\r\ncontent-type: application/json\r\n\
         content-length: 16\r\n\r\n{{\"timeout\":\"2s\"}}"
    )
    .expect("sends the wait");
    server.log_line("wait started");
    let mut waiting = connect(&server);
    write!(
        waiting,
        "GET /$discovery/rest HTTP/1.1\r\nhost: test\r\ncontent-length: 0\r\n\r\n"
    )
    .expect("sends a request");
    let (status, _) = read_response(&mut busy);
    assert_eq!(status, 200);
    // Once idle, the busy connection gives its slot up to the waiting one
    // (long before its idle timeout).
    let (status, _) = read_response(&mut waiting);
    assert_eq!(status, 200);
    assert!(closed_by_server(&mut busy));
    server.log_line("connection closed");
    server.log_line("connection accepted");
}

#[test]
fn serve_on_every_interface_warns_and_shows_a_usable_address() {
    let server = Serve::start_logged_on("0.0.0.0:0", &[]);
    assert!(
        server.addr().ip().is_loopback(),
        "the banner names a loopback address: {}",
        server.banner
    );
    let warning = server.log_line("warning");
    for exposed in [
        "0.0.0.0",
        "Operations API",
        "/_eeops/faults",
        "no token required",
    ] {
        assert!(warning.contains(exposed), "{exposed} not in {warning}");
    }
    let mut stream = connect(&server);
    let (status, _) = exchange(&mut stream, "GET", "/$discovery/rest", "");
    assert_eq!(status, 200);
}

#[test]
fn the_record_keeps_no_secret_and_is_never_written_through_a_link() {
    let dir = tempfile::tempdir().expect("a directory");
    let record = dir.path().join("requests.jsonl");
    let record_arg = record.to_str().expect("a UTF-8 path");
    let server = Serve::start(&["--seed", "3", "--record", record_arg]);
    for transport in ["grpc", "rest"] {
        let output = isolated(&mut Command::new(EEOPS))
            .args([
                "--endpoint",
                &server.endpoint,
                "--project",
                "demo",
                "--no-auth",
            ])
            .args([
                "--transport",
                transport,
                "--header",
                "x-team-secret: hunter2",
            ])
            .args(["list", "--format", "json"])
            .output()
            .expect("eeops runs");
        assert!(output.status.success(), "{output:?}");
    }
    // Refused (unknown parameters), and recorded all the same.
    let mut stream = connect(&server);
    let (status, _) = exchange(
        &mut stream,
        "GET",
        "/v1/projects/demo/operations?refresh_token=rt-secret&sig=sig-secret&pageSize=2",
        "",
    );
    assert_eq!(status, 400);
    drop(server);

    let text = std::fs::read_to_string(&record).expect("the record");
    assert_eq!(text.lines().count(), 3, "{text}");
    for secret in ["hunter2", "rt-secret", "sig-secret"] {
        assert!(!text.contains(secret), "{secret} in {text}");
    }
    assert!(text.contains("pageSize=2"), "{text}");
    assert!(text.contains("\"x-team-secret\":\"sha256:"), "{text}");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(&record)
            .expect("the record")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);

        let link = dir.path().join("link.jsonl");
        std::os::unix::fs::symlink(&record, &link).expect("a link");
        let output = isolated(&mut Command::new(EEOPS))
            .args(["serve", "--listen", "127.0.0.1:0", "--record"])
            .arg(&link)
            .output()
            .expect("eeops runs");
        assert!(!output.status.success(), "{output:?}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains("symbolic link"), "{stderr}");
        assert_eq!(std::fs::read_to_string(&record).expect("the record"), text);
    }
}

/// Concurrent WaitOperation calls over gRPC, spread over ten connections.
const CONCURRENT_WAITS: usize = 10_000;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn thousands_of_concurrent_grpc_waits_through_ten_connections_are_all_answered()
-> Result<(), Box<dyn std::error::Error>> {
    // Fewer streams per connection than waits on it: clients must queue.
    let emulator = Emulator::builder()
        .with_max_concurrent_streams(100)
        .start("127.0.0.1:0")
        .await?;
    let names = (0..20)
        .map(|_| {
            emulator.create(
                OperationSpec::new("many")
                    .with_queue_time(Duration::ZERO)
                    .with_run_time(Duration::from_secs(1)),
            )
        })
        .collect::<Result<Vec<_>, _>>()?;
    let clients = (0..10)
        .map(|_| {
            eeops::Client::builder()
                .with_endpoint(emulator.endpoint())
                .with_transport(eeops::TransportKind::Grpc)
                .with_credentials(eeops::Credentials::anonymous())
                .build()
        })
        .collect::<Result<Vec<_>, _>>()?;
    let mut waits = tokio::task::JoinSet::new();
    for i in 0..CONCURRENT_WAITS {
        let wait = clients[i % clients.len()]
            .wait_once(names[i % names.len()].clone())
            .set_server_wait(Duration::from_secs(60));
        waits.spawn(wait.into_future());
    }
    let mut answered = 0;
    while let Some(joined) = waits.join_next().await {
        let operation = joined??;
        assert!(operation.done, "{operation:?}");
        answered += 1;
    }
    assert_eq!(answered, CONCURRENT_WAITS);
    // Nothing of the waits is left on the server.
    assert_eq!(emulator.waits_in_progress(), 0);
    emulator.shutdown().await?;
    Ok(())
}
