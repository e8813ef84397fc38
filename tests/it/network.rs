//! Real networks, against a server written on another HTTP/2 stack than the
//! client's (`support::grpc_server`, on the `h2` crate) and a relay that
//! can go silent: connections rotated by GOAWAY, concurrent-stream limits,
//! restarts, silent connections and lost replies. What arrived is counted
//! on the server's side; nothing may be lost, repeated or hang.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use eeops::rpc::Code;
use eeops::{Client, Credentials, PollingPolicy, Proxies, RetryPolicy, TransportKind};
use tokio::task::JoinSet;

use crate::support::closed_port::ClosedPort;
use crate::support::grpc_server::{Behaviour, GrpcServer};
use crate::support::ping_server::{PingServer, Seen};
use crate::support::relay::Relay;
use crate::support::silent::SilentListener;

type TestResult = Result<(), Box<dyn std::error::Error>>;

fn client(endpoint: &str, kind: TransportKind) -> eeops::Result<Client> {
    Client::builder()
        .with_endpoint(endpoint)
        .with_transport(kind)
        .with_credentials(Credentials::anonymous())
        .with_timeout(Duration::from_secs(30))
        .with_retry_policy(
            RetryPolicy::new()
                .with_initial_delay(Duration::from_millis(5))
                .with_max_delay(Duration::from_millis(100)),
        )
        .build()
}

fn name(i: usize) -> String {
    format!("projects/p/operations/op{i:05}")
}

/// Runs `calls` calls, `in_flight` at a time, each made by `call(i)`.
async fn run_many<F, Fut, T>(
    calls: usize,
    in_flight: usize,
    call: F,
) -> Vec<(usize, eeops::Result<T>)>
where
    F: Fn(usize) -> Fut,
    Fut: std::future::Future<Output = eeops::Result<T>> + Send + 'static,
    T: Send + 'static,
{
    let gate = Arc::new(tokio::sync::Semaphore::new(in_flight));
    let mut running = JoinSet::new();
    for i in 0..calls {
        let permit = gate
            .clone()
            .acquire_owned()
            .await
            .expect("the gate stays open");
        let future = call(i);
        running.spawn(async move {
            let outcome = future.await;
            drop(permit);
            (i, outcome)
        });
    }
    let mut outcomes = Vec::with_capacity(calls);
    while let Some(done) = running.join_next().await {
        outcomes.push(done.expect("no call panics"));
    }
    outcomes
}

#[tokio::test]
async fn deletes_and_gets_through_connections_rotated_every_100_ms_with_4_streams_arrive_once()
-> TestResult {
    let server = GrpcServer::start(Behaviour {
        max_concurrent_streams: Some(4),
        rotate_every: Some(Duration::from_millis(100)),
        ..Behaviour::default()
    })
    .await?;
    const CALLS: usize = 2_000;
    for i in 0..CALLS {
        server.books.add(&name(i));
    }
    let client = client(&server.endpoint(), TransportKind::Grpc)?;
    let gets = run_many(CALLS, 256, |i| {
        let client = client.clone();
        async move { client.get(name(i)).await }
    })
    .await;
    for (i, outcome) in &gets {
        let operation = outcome.as_ref().map_err(|e| format!("get {i}: {e}"))?;
        assert_eq!(operation.name, name(*i));
    }
    let deletes = run_many(CALLS, 256, |i| {
        let client = client.clone();
        async move { client.delete(name(i)).await }
    })
    .await;
    for (i, outcome) in &deletes {
        // Every delete succeeds: none was lost to a closing connection or
        // a refused stream, and none was sent twice (a second would find
        // the operation gone).
        outcome.as_ref().map_err(|e| format!("delete {i}: {e}"))?;
        assert_eq!(
            server.books.arrivals("DeleteOperation", &name(*i)),
            1,
            "delete {i}"
        );
    }
    assert!(
        server.books.connections.load(Ordering::SeqCst) > 1,
        "the server rotated its connections"
    );
    Ok(())
}

#[tokio::test]
async fn a_server_restart_during_many_calls_loses_and_repeats_nothing() -> TestResult {
    let server = GrpcServer::start(Behaviour::default()).await?;
    const CALLS: usize = 600;
    for i in 0..CALLS {
        server.books.add(&name(i));
    }
    let client = client(&server.endpoint(), TransportKind::Grpc)?;
    let books = server.books.clone();
    let calls = {
        let client = client.clone();
        tokio::spawn(async move {
            run_many(CALLS, 64, move |i| {
                let client = client.clone();
                async move {
                    client.get(name(i)).await?;
                    client.delete(name(i)).await
                }
            })
            .await
        })
    };
    // Restart once a third of the calls have arrived: the open connection
    // is closed (GOAWAY), the port refuses connections for a moment, and a
    // new server takes over with the same operations.
    books.until_arrived(CALLS * 2 / 3).await;
    let server = server.restart().await?;
    let outcomes = calls.await?;
    for (i, outcome) in &outcomes {
        outcome.as_ref().map_err(|e| format!("call {i}: {e}"))?;
        assert_eq!(
            server.books.arrivals("DeleteOperation", &name(*i)),
            1,
            "delete {i}"
        );
    }
    assert!(
        server.books.connections.load(Ordering::SeqCst) >= 2,
        "a new connection after the restart"
    );
    Ok(())
}

#[tokio::test]
async fn a_delete_whose_reply_is_lost_is_not_sent_again_over_grpc_or_by_auto() -> TestResult {
    for kind in [TransportKind::Grpc, TransportKind::Auto] {
        let server = GrpcServer::start(Behaviour {
            lose_delete_replies: true,
            ..Behaviour::default()
        })
        .await?;
        let target = name(1);
        server.books.add(&target);
        let client = client(&server.endpoint(), kind)?;
        let error = client
            .delete(&target)
            .await
            .expect_err("the reply never came");
        assert!(error.is_no_reply(), "{kind:?}: {error:?}");
        assert!(!error.is_never_sent(), "{kind:?}: {error:?}");
        assert_eq!(error.code(), Code::Unavailable, "{kind:?}: {error}");
        assert!(
            error.to_string().contains("no reply from"),
            "{kind:?}: {error}"
        );
        assert_eq!(
            server.books.arrivals("DeleteOperation", &target),
            1,
            "{kind:?}: deleted once, not again"
        );
        assert_eq!(
            server.books.not_http2.load(Ordering::SeqCst),
            0,
            "{kind:?}: no attempt over REST"
        );
        // The client stays on gRPC: a get goes there and works.
        server.books.add(&name(2));
        let operation = client.get(name(2)).await?;
        assert_eq!(operation.name, name(2), "{kind:?}");
        assert_eq!(server.books.not_http2.load(Ordering::SeqCst), 0, "{kind:?}");
    }
    Ok(())
}

/// A server on the h2 stack holding one running operation, behind a relay
/// that can go silent, and a gRPC client that goes through the relay.
struct Relayed {
    server: GrpcServer,
    relay: Relay,
    target: String,
    client: Client,
}

impl Relayed {
    async fn start(target: String) -> Result<Self, Box<dyn std::error::Error>> {
        let server = GrpcServer::start(Behaviour::default()).await?;
        let relay = Relay::start(server.addr).await?;
        server.books.add(&target);
        let client = client(&relay.endpoint(), TransportKind::Grpc)?;
        Ok(Self {
            server,
            relay,
            target,
            client,
        })
    }
}

#[tokio::test]
async fn until_done_recovers_from_a_silent_connection_and_reports_the_real_state() -> TestResult {
    let Relayed {
        server,
        relay,
        target,
        client,
    } = Relayed::start(name(7)).await?;
    let waiting = {
        let (client, target) = (client.clone(), target.clone());
        tokio::spawn(async move {
            client
                .until_done(target)
                .with_polling(
                    // The limit only keeps a broken client from hanging the test.
                    PollingPolicy::new()
                        .with_initial_interval(Duration::from_millis(20))
                        .with_server_wait(Duration::from_millis(300))
                        .with_time_limit(Duration::from_secs(30)),
                )
                .await
        })
    };
    // Once the first server-side wait has arrived, the connection goes
    // silent and the operation is cancelled behind it.
    server.books.until_arrived(1).await;
    relay.freeze_existing();
    server.books.cancel(&target);
    let operation = waiting.await??;
    assert!(operation.done);
    assert_eq!(operation.error().map(|e| e.code()), Some(Code::Cancelled));
    assert!(
        relay.accepted() >= 2,
        "a new connection replaced the silent one"
    );
    Ok(())
}

#[tokio::test]
async fn a_long_lived_client_replaces_a_silent_connection() -> TestResult {
    let Relayed {
        server,
        relay,
        target,
        client,
    } = Relayed::start(name(3)).await?;
    client.get(&target).await?;
    relay.freeze_existing();
    let error = client
        .get(&target)
        .with_timeout(Duration::from_millis(300))
        .await
        .expect_err("the connection is silent");
    assert_eq!(error.code(), Code::DeadlineExceeded, "{error:?}");
    assert!(error.is_no_reply(), "{error:?}");
    // The silent connection was retired: the next call connects anew.
    server.books.cancel(&target);
    let operation = client.get(&target).await?;
    assert_eq!(operation.error().map(|e| e.code()), Some(Code::Cancelled));
    assert_eq!(relay.accepted(), 2);
    Ok(())
}

/// Only a deadline that passes with no reply retires a connection: a call
/// its caller gives up on earlier says nothing about the connection, which
/// the calls after it go on using.
#[tokio::test]
async fn a_call_given_up_before_its_deadline_leaves_its_connection_in_use() -> TestResult {
    let Relayed {
        server,
        relay,
        target,
        client,
    } = Relayed::start(name(4)).await?;
    client.get(&target).await?;
    // The server holds a wait until the operation changes.
    let wait = tokio::spawn(
        client
            .wait_once(&target)
            .set_server_wait(Duration::from_secs(20))
            .into_future(),
    );
    server.books.until_arrived(2).await;
    wait.abort();
    assert!(wait.await.is_err_and(|e| e.is_cancelled()));
    client.get(&target).await?;
    assert_eq!(server.books.arrivals("GetOperation", &target), 2);
    assert_eq!(relay.accepted(), 1, "the connection was kept");
    Ok(())
}

#[tokio::test]
async fn watch_recovers_from_a_silent_connection() -> TestResult {
    let server = GrpcServer::start(Behaviour::default()).await?;
    let relay = Relay::start(server.addr).await?;
    let target = name(9);
    server.books.add(&target);
    let client = Client::builder()
        .with_endpoint(relay.endpoint())
        .with_credentials(Credentials::anonymous())
        .with_timeout(Duration::from_millis(500))
        .build()?;
    let mut stream = client
        .watch([target.clone()])
        .with_polling(
            PollingPolicy::new()
                .with_initial_interval(Duration::from_millis(20))
                .with_time_limit(Duration::from_secs(30)),
        )
        .stream();
    let first = stream.next().await.ok_or("a first state")??;
    assert!(!first.operation.done);
    relay.freeze_existing();
    server.books.cancel(&target);
    let last = stream.next().await.ok_or("the final state")??;
    assert!(last.operation.done);
    assert_eq!(
        last.operation.error().map(|e| e.code()),
        Some(Code::Cancelled)
    );
    assert!(
        stream.next().await.is_none(),
        "the watch ends with its operation"
    );
    assert!(relay.accepted() >= 2);
    Ok(())
}

/// A REST reply that is not HTTP at all (here the alert a TLS server sends
/// to a plaintext request) fails the call at once: the same peer would
/// answer a second request the same way.
#[tokio::test]
async fn a_reply_that_is_not_http_fails_at_once_over_rest() -> TestResult {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let endpoint = format!("http://{}", listener.local_addr()?);
    let accepted = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counted = accepted.clone();
    let server = tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            counted.fetch_add(1, Ordering::SeqCst);
            let mut request = [0u8; 1024];
            let _ = socket.read(&mut request).await;
            // A TLS alert record: fatal, unexpected message.
            let _ = socket
                .write_all(&[0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 0x0a])
                .await;
            let _ = socket.shutdown().await;
        }
    });
    let client = client(&endpoint, TransportKind::Rest)?;
    let error = client
        .get(name(1))
        .with_timeout(Duration::from_secs(10))
        .await
        .expect_err("no HTTP comes back");
    assert_eq!(error.code(), Code::Unavailable, "{error:?}");
    assert!(error.is_from_server(), "{error:?}");
    assert!(!error.is_never_sent(), "{error:?}");
    assert!(
        error.to_string().contains("does not answer in HTTP"),
        "{error}"
    );
    assert_eq!(accepted.load(Ordering::SeqCst), 1, "asked once");
    server.abort();
    Ok(())
}

#[tokio::test]
async fn a_refused_connection_is_reported_as_never_sent_and_retried_until_the_deadline()
-> TestResult {
    let closed = ClosedPort::new()?;
    let addr = closed.addr();
    for kind in [TransportKind::Grpc, TransportKind::Rest] {
        let client = client(&format!("http://{addr}"), kind)?;
        let error = client
            .delete(name(1))
            .with_timeout(Duration::from_millis(300))
            .await
            .expect_err("nothing listens");
        assert!(error.is_never_sent(), "{kind:?}: {error:?}");
        assert!(error.is_connect(), "{kind:?}: {error:?}");
        assert!(
            error.to_string().contains("cannot reach"),
            "{kind:?}: {error}"
        );
    }
    Ok(())
}

#[tokio::test]
async fn a_deadline_that_passes_while_connecting_says_the_request_was_never_sent() -> TestResult {
    // A proxy that takes connections and never answers CONNECT: no tunnel
    // to the endpoint ever opens, so no byte of a request can be written.
    let proxy = SilentListener::start().await?;
    for kind in [
        TransportKind::Grpc,
        TransportKind::Rest,
        TransportKind::Auto,
    ] {
        let client = Client::builder()
            .with_endpoint("http://127.0.0.1:1")
            .with_transport(kind)
            .with_credentials(Credentials::anonymous())
            // This proxy alone, whatever the environment says.
            .with_proxies(Proxies::none().with_url(proxy.url()))
            .build()?;
        let error = client
            .delete(name(1))
            .with_timeout(Duration::from_millis(300))
            .await
            .expect_err("the tunnel never opens");
        assert_eq!(error.code(), Code::DeadlineExceeded, "{kind:?}: {error:?}");
        assert!(error.is_never_sent(), "{kind:?}: {error:?}");
        assert!(error.is_connect(), "{kind:?}: {error:?}");
        assert!(
            error
                .to_string()
                .contains("cannot reach http://127.0.0.1:1 before the call's deadline"),
            "{kind:?}: {error}"
        );
    }
    Ok(())
}

/// A gRPC client of `server` with these keep-alive settings, and a long
/// deadline: its calls stay in flight while the server watches the pings.
fn pinging_client(
    server: &PingServer,
    interval: Duration,
    timeout: Duration,
) -> eeops::Result<Client> {
    Client::builder()
        .with_endpoint(server.endpoint())
        .with_transport(TransportKind::Grpc)
        .with_credentials(Credentials::anonymous())
        .with_timeout(Duration::from_secs(120))
        .with_keep_alive(interval, timeout)
        .build()
}

#[tokio::test]
async fn a_server_that_finds_pings_too_frequent_gets_them_half_as_often() -> TestResult {
    const INTERVAL: Duration = Duration::from_millis(200);
    // The first connection's first ping is answered with GOAWAY
    // ENHANCE_YOUR_CALM "too_many_pings"; later ones acknowledge pings.
    let mut server = PingServer::start(1).await?;
    let client = pinging_client(&server, INTERVAL, Duration::from_secs(60))?;
    // The server never answers: the call stays in flight, so the client
    // pings while it waits.
    let call = tokio::spawn(async move { client.get(name(1)).await });
    assert_eq!(server.next().await, Seen::Request { connection: 0 });
    assert!(matches!(
        server.next().await,
        Seen::Ping { connection: 0, .. }
    ));
    // The request had not been processed (the GOAWAY's last stream is 0):
    // it is sent again on a new connection, whose pings come at the
    // doubled interval. Each ping waits for the answer to the one before,
    // sent after the server read it, so two pings read less than twice the
    // interval apart would show the interval was not doubled.
    assert_eq!(server.next().await, Seen::Request { connection: 1 });
    let mut pings = Vec::new();
    while pings.len() < 3 {
        match server.next().await {
            Seen::Ping { connection: 1, at } => pings.push(at),
            other => panic!("only pings on the second connection: {other:?}"),
        }
    }
    for pair in pings.windows(2) {
        let gap = pair[1] - pair[0];
        assert!(gap >= 2 * INTERVAL, "pings {gap:?} apart");
    }
    call.abort();
    Ok(())
}

#[tokio::test]
async fn a_ping_left_unanswered_drops_the_connection_and_fails_its_calls_saying_so() -> TestResult {
    const INTERVAL: Duration = Duration::from_millis(50);
    let mut server = PingServer::deaf().await?;
    let client = pinging_client(&server, INTERVAL, Duration::from_millis(100))?;
    // A delete is not repeated once it may have arrived: its error is the
    // connection's.
    let deleting = client.clone();
    let call = tokio::spawn(async move { deleting.delete(name(1)).await });
    assert_eq!(server.next().await, Seen::Request { connection: 0 });
    assert!(matches!(
        server.next().await,
        Seen::Ping { connection: 0, .. }
    ));
    let error = call.await?.expect_err("the connection was dropped");
    assert_eq!(error.code(), Code::Unavailable, "{error:?}");
    assert!(!error.is_never_sent(), "{error:?}");
    assert!(
        error
            .to_string()
            .contains("did not answer a keep-alive ping within 100ms"),
        "{error}"
    );
    // The next call makes a new connection.
    let call = tokio::spawn(async move { client.get(name(2)).await });
    assert_eq!(server.next().await, Seen::Request { connection: 1 });
    call.abort();
    Ok(())
}

/// The connection's task is told when the last handle on it goes, so the
/// connection closes instead of idling for as long as the process lives.
#[tokio::test]
async fn a_dropped_client_closes_its_connection() -> TestResult {
    let server = GrpcServer::start(Behaviour::default()).await?;
    server.books.add(&name(4));
    let client = client(&server.endpoint(), TransportKind::Grpc)?;
    client.get(name(4)).await?;
    drop(client);
    tokio::time::timeout(Duration::from_secs(30), server.books.until_ended(1))
        .await
        .map_err(|_| "the connection stayed open after its client was dropped")?;
    assert_eq!(server.books.connections.load(Ordering::SeqCst), 1);
    Ok(())
}

/// Replies larger than the windows the client opens (2 MiB per stream,
/// 5 MiB per connection) arrive whole only if every byte read is given
/// back to the server as window: two pages of about 3 MiB each.
#[tokio::test]
async fn pages_larger_than_the_flow_control_windows_arrive_whole_over_grpc() -> TestResult {
    const COUNT: usize = 300;
    let emulator = eeops::emulator::Emulator::builder()
        .start("127.0.0.1:0")
        .await?;
    for i in 0..COUNT {
        emulator.create(
            eeops::emulator::OperationSpec::new("big")
                .with_description(format!("{i:05}{}", "d".repeat(10_000))),
        )?;
    }
    let client = client(&emulator.endpoint(), TransportKind::Grpc)?;
    for _ in 0..2 {
        let page = client
            .list("projects/big")
            .set_page_size(COUNT as i32)
            .send()
            .await?;
        assert_eq!(page.operations.len(), COUNT);
        let mut seen: Vec<String> = page
            .operations
            .iter()
            .map(|operation| {
                let metadata = operation
                    .earth_engine_metadata()
                    .expect("Earth Engine metadata");
                assert_eq!(metadata.description.len(), 10_005);
                metadata.description.chars().take(5).collect()
            })
            .collect();
        seen.sort();
        let wanted: Vec<String> = (0..COUNT).map(|i| format!("{i:05}")).collect();
        assert_eq!(seen, wanted);
    }
    emulator.shutdown().await?;
    Ok(())
}
