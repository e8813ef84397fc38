//! An Operations server written directly on the `h2` crate, not on tonic or
//! hyper as the client is, with the ways real servers misbehave as knobs:
//! connections rotated by GOAWAY, a limit on concurrent streams, replies
//! lost after acting, restarts. It counts what arrived.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use eeops::longrunning::{
    DeleteOperationRequest, GetOperationRequest, Operation, WaitOperationRequest, operation,
};
use eeops::rpc::{Code, Status};
use prost::Message;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinSet;

const SERVICE: &str = "/google.longrunning.Operations/";

/// How the server behaves.
#[derive(Clone, Debug, Default)]
pub struct Behaviour {
    /// SETTINGS_MAX_CONCURRENT_STREAMS.
    pub max_concurrent_streams: Option<u32>,
    /// Each connection is closed gracefully (GOAWAY) this long after it opened.
    pub rotate_every: Option<Duration>,
    /// Deletes are carried out and then the connection is dropped, reply unsent.
    pub lose_delete_replies: bool,
}

/// What the server holds and has seen; kept across restarts.
#[derive(Debug, Default)]
pub struct Books {
    /// Operations by name: `Some(code)` once done (OK or an error code).
    operations: Mutex<HashMap<String, Option<Code>>>,
    /// `(method, name)` → how many requests arrived.
    arrivals: Mutex<HashMap<(String, String), usize>>,
    /// Connections that completed the HTTP/2 handshake.
    pub connections: AtomicUsize,
    /// Connections whose first bytes were not HTTP/2.
    pub not_http2: AtomicUsize,
    /// Every arrival, counted (for tests to wait on).
    arrived: watch::Sender<usize>,
    /// Connections that ended after their handshake, counted.
    ended: watch::Sender<usize>,
    /// Bumped on every change of an operation (for waits).
    changed: watch::Sender<u64>,
}

impl Books {
    /// Adds a running operation.
    pub fn add(&self, name: &str) {
        self.lock_ops().insert(name.to_owned(), None);
        self.changed.send_modify(|n| *n += 1);
    }

    /// Ends an operation as cancelled.
    pub fn cancel(&self, name: &str) {
        self.lock_ops()
            .insert(name.to_owned(), Some(Code::Cancelled));
        self.changed.send_modify(|n| *n += 1);
    }

    /// How many `method` requests for `name` arrived.
    pub fn arrivals(&self, method: &str, name: &str) -> usize {
        let arrivals = self.arrivals.lock().unwrap_or_else(|e| e.into_inner());
        arrivals
            .get(&(method.to_owned(), name.to_owned()))
            .copied()
            .unwrap_or(0)
    }

    /// Waits until at least `count` requests have arrived in all.
    pub async fn until_arrived(&self, count: usize) {
        let mut arrived = self.arrived.subscribe();
        let _ = arrived.wait_for(|n| *n >= count).await;
    }

    /// Waits until at least `count` connections have ended.
    pub async fn until_ended(&self, count: usize) {
        let mut ended = self.ended.subscribe();
        let _ = ended.wait_for(|n| *n >= count).await;
    }

    fn lock_ops(&self) -> std::sync::MutexGuard<'_, HashMap<String, Option<Code>>> {
        self.operations.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn arrive(&self, method: &str, name: &str) {
        *self
            .arrivals
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .entry((method.to_owned(), name.to_owned()))
            .or_default() += 1;
        self.arrived.send_modify(|n| *n += 1);
    }

    fn snapshot(&self, name: &str) -> Option<Operation> {
        let done = *self.lock_ops().get(name)?;
        Some(Operation {
            name: name.to_owned(),
            metadata: None,
            done: done.is_some(),
            result: match done {
                Some(Code::Ok) | None => None,
                Some(code) => Some(operation::Result::Error(Status {
                    code: code as i32,
                    message: "ended".into(),
                    details: vec![],
                })),
            },
        })
    }
}

/// A running server; dropping it stops it abruptly.
pub struct GrpcServer {
    pub addr: SocketAddr,
    pub books: Arc<Books>,
    behaviour: Behaviour,
    stop: watch::Sender<bool>,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl GrpcServer {
    /// Starts on a free loopback port.
    pub async fn start(behaviour: Behaviour) -> std::io::Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        Ok(Self::serve(listener, Arc::default(), behaviour))
    }

    /// `http://addr`.
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Stops gracefully: no new connections, GOAWAY on the open ones, and
    /// returns once the requests they carry are answered and they closed.
    pub async fn stop(mut self) {
        let _ = self.stop.send(true);
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }

    /// Starts again on the same address with the same books.
    pub async fn restart(self) -> std::io::Result<Self> {
        let (addr, books, behaviour) = (self.addr, self.books.clone(), self.behaviour.clone());
        self.stop().await;
        let listener = TcpListener::bind(addr).await?;
        Ok(Self::serve(listener, books, behaviour))
    }

    fn serve(listener: TcpListener, books: Arc<Books>, behaviour: Behaviour) -> Self {
        let addr = listener
            .local_addr()
            .expect("a bound listener has an address");
        let (stop, stopped) = watch::channel(false);
        let task = tokio::spawn(accept_loop(
            listener,
            books.clone(),
            behaviour.clone(),
            stopped,
        ));
        Self {
            addr,
            books,
            behaviour,
            stop,
            task: Some(task),
        }
    }
}

impl Drop for GrpcServer {
    fn drop(&mut self) {
        if let Some(task) = &self.task {
            task.abort();
        }
    }
}

async fn accept_loop(
    listener: TcpListener,
    books: Arc<Books>,
    behaviour: Behaviour,
    stopped: watch::Receiver<bool>,
) {
    let mut connections = JoinSet::new();
    let mut stop = stopped.clone();
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let Ok((socket, _)) = accepted else { continue };
                let _ = socket.set_nodelay(true);
                connections.spawn(serve_connection(socket, books.clone(), behaviour.clone(), stopped.clone()));
            }
            _ = stop.wait_for(|stop| *stop) => break,
        }
    }
    drop(listener);
    while connections.join_next().await.is_some() {}
}

async fn serve_connection(
    socket: tokio::net::TcpStream,
    books: Arc<Books>,
    behaviour: Behaviour,
    mut stopped: watch::Receiver<bool>,
) {
    let mut builder = h2::server::Builder::new();
    if let Some(limit) = behaviour.max_concurrent_streams {
        builder.max_concurrent_streams(limit);
    }
    let mut connection = match builder.handshake::<_, Bytes>(socket).await {
        Ok(connection) => connection,
        Err(_) => {
            books.not_http2.fetch_add(1, Ordering::SeqCst);
            return;
        }
    };
    books.connections.fetch_add(1, Ordering::SeqCst);
    let _counted = EndCounted(&books);
    let rotate = async {
        match behaviour.rotate_every {
            Some(age) => tokio::time::sleep(age).await,
            None => std::future::pending().await,
        }
    };
    tokio::pin!(rotate);
    let (kill, mut killed) = tokio::sync::mpsc::channel::<()>(1);
    let mut handlers = JoinSet::new();
    let mut closing = false;
    loop {
        tokio::select! {
            request = connection.accept() => match request {
                Some(Ok((request, respond))) => {
                    handlers.spawn(handle(request, respond, books.clone(), behaviour.clone(), kill.clone()));
                }
                _ => break,
            },
            () = &mut rotate, if !closing => {
                closing = true;
                connection.graceful_shutdown();
            }
            _ = stopped.wait_for(|stop| *stop), if !closing => {
                closing = true;
                connection.graceful_shutdown();
            }
            // Dropping the connection closes the socket: no reply goes out.
            _ = killed.recv() => return,
        }
    }
    while handlers.join_next().await.is_some() {}
}

/// Counts its connection as ended when dropped.
struct EndCounted<'a>(&'a Books);

impl Drop for EndCounted<'_> {
    fn drop(&mut self) {
        self.0.ended.send_modify(|n| *n += 1);
    }
}

async fn handle(
    request: http::Request<h2::RecvStream>,
    mut respond: h2::server::SendResponse<Bytes>,
    books: Arc<Books>,
    behaviour: Behaviour,
    kill: tokio::sync::mpsc::Sender<()>,
) {
    let path = request.uri().path().to_owned();
    let mut body = request.into_body();
    let mut bytes = BytesMut::new();
    while let Some(chunk) = body.data().await {
        let Ok(chunk) = chunk else { return };
        let _ = body.flow_control().release_capacity(chunk.len());
        bytes.extend_from_slice(&chunk);
    }
    let message = bytes.get(5..).unwrap_or_default();
    let method = path.strip_prefix(SERVICE).unwrap_or(&path).to_owned();
    let reply: Result<Vec<u8>, (Code, String)> = match method.as_str() {
        "GetOperation" => match GetOperationRequest::decode(message) {
            Ok(get) => {
                books.arrive(&method, &get.name);
                books
                    .snapshot(&get.name)
                    .map(|op| op.encode_to_vec())
                    .ok_or((Code::NotFound, format!("no {}", get.name)))
            }
            Err(e) => Err((Code::InvalidArgument, e.to_string())),
        },
        "DeleteOperation" => match DeleteOperationRequest::decode(message) {
            Ok(delete) => {
                books.arrive(&method, &delete.name);
                let removed = books.lock_ops().remove(&delete.name).is_some();
                if behaviour.lose_delete_replies {
                    let _ = kill.send(()).await;
                    return;
                }
                if removed {
                    Ok(Vec::new())
                } else {
                    Err((Code::NotFound, format!("no {}", delete.name)))
                }
            }
            Err(e) => Err((Code::InvalidArgument, e.to_string())),
        },
        "WaitOperation" => match WaitOperationRequest::decode(message) {
            Ok(wait) => {
                books.arrive(&method, &wait.name);
                let timeout = wait
                    .timeout
                    .and_then(|t| Duration::try_from(t).ok())
                    .unwrap_or(Duration::from_secs(60));
                let mut changed = books.changed.subscribe();
                let done = |books: &Books| books.snapshot(&wait.name).is_none_or(|op| op.done);
                let _ = tokio::time::timeout(timeout, changed.wait_for(|_| done(&books))).await;
                books
                    .snapshot(&wait.name)
                    .map(|op| op.encode_to_vec())
                    .ok_or((Code::NotFound, format!("no {}", wait.name)))
            }
            Err(e) => Err((Code::InvalidArgument, e.to_string())),
        },
        other => Err((Code::Unimplemented, format!("no method {other}"))),
    };
    let _ = send_reply(&mut respond, reply);
}

fn send_reply(
    respond: &mut h2::server::SendResponse<Bytes>,
    reply: Result<Vec<u8>, (Code, String)>,
) -> Result<(), h2::Error> {
    let head = http::Response::builder()
        .status(200)
        .header("content-type", "application/grpc");
    match reply {
        Ok(message) => {
            let mut stream = respond.send_response(head.body(()).unwrap_or_default(), false)?;
            let mut framed = vec![0];
            framed.extend_from_slice(&u32::try_from(message.len()).unwrap_or(0).to_be_bytes());
            framed.extend_from_slice(&message);
            stream.send_data(Bytes::from(framed), false)?;
            let mut trailers = http::HeaderMap::new();
            trailers.insert("grpc-status", http::HeaderValue::from_static("0"));
            stream.send_trailers(trailers)
        }
        Err((code, message)) => {
            let head = head
                .header("grpc-status", (code as i32).to_string())
                .header(
                    "grpc-message",
                    message.replace(|c: char| !c.is_ascii_alphanumeric() && c != ' ', "_"),
                );
            respond
                .send_response(head.body(()).unwrap_or_default(), true)
                .map(|_| ())
        }
    }
}
