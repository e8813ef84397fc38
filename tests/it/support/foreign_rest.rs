//! An Earth Engine-dialect REST server that is not ours: it serves a fixed
//! set of tasks in two pages and either refuses every list filter (as a
//! server with no filter grammar does) or ignores it. It records every
//! request it gets.

use std::convert::Infallible;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};

/// What the server does with a `filter` query parameter.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Filters {
    /// 400 INVALID_ARGUMENT for any non-empty filter.
    Refused,
    /// Lists everything whatever the filter says.
    Ignored,
}

/// One task the server knows.
pub struct Task {
    pub id: &'static str,
    pub state: &'static str,
    pub kind: &'static str,
    pub description: &'static str,
    pub age: Duration,
}

/// The tasks, in the order they are listed (three on the first page, the
/// rest on the second).
pub const TASKS: [Task; 5] = [
    Task {
        id: "RUNNINGIMAGE",
        state: "RUNNING",
        kind: "EXPORT_IMAGE",
        description: "nightly-ndvi",
        age: Duration::from_secs(3600),
    },
    Task {
        id: "PENDINGTABLE",
        state: "PENDING",
        kind: "EXPORT_FEATURES",
        description: "Roads table",
        age: Duration::from_secs(3 * 86_400),
    },
    Task {
        id: "DONEIMAGE",
        state: "SUCCEEDED",
        kind: "EXPORT_IMAGE",
        description: "Nightly-old",
        age: Duration::from_secs(3 * 86_400),
    },
    Task {
        id: "FAILEDUPLOAD",
        state: "FAILED",
        kind: "INGEST_IMAGE",
        description: "upload scene",
        age: Duration::from_secs(3600),
    },
    Task {
        id: "CANCELLINGVIDEO",
        state: "CANCELLING",
        kind: "EXPORT_VIDEO",
        description: "timelapse",
        age: Duration::from_secs(3600),
    },
];

/// The project the tasks belong to.
pub const PROJECT: &str = "foreign";

/// The server, on its own runtime; stops when dropped.
pub struct ForeignRest {
    pub endpoint: String,
    requests: Arc<Mutex<Vec<String>>>,
    runtime: Option<tokio::runtime::Runtime>,
}

impl Drop for ForeignRest {
    fn drop(&mut self) {
        // Allowed from inside another runtime too (an async test).
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}

impl ForeignRest {
    /// Starts listening on 127.0.0.1 before returning. With `gets_are_done`,
    /// Get and Wait answer every task as SUCCEEDED (so that waits end).
    pub fn start(filters: Filters, gets_are_done: bool) -> Self {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .expect("a runtime");
        // Bound here, before the server runs, without entering the runtime
        // (this may be called from inside another one).
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        listener.set_nonblocking(true).expect("non-blocking");
        let endpoint = format!("http://{}", listener.local_addr().expect("address"));
        let requests = Arc::new(Mutex::new(Vec::new()));
        let seen = requests.clone();
        let now = SystemTime::now();
        runtime.spawn(async move {
            let listener = tokio::net::TcpListener::from_std(listener).expect("a listener");
            while let Ok((socket, _)) = listener.accept().await {
                let seen = seen.clone();
                tokio::spawn(async move {
                    let service = service_fn(move |request: Request<Incoming>| {
                        let target = format!(
                            "{} {}",
                            request.method(),
                            request.uri().path_and_query().map_or("", |p| p.as_str())
                        );
                        seen.lock().expect("requests").push(target);
                        let (status, body) = answer(&request, filters, gets_are_done, now);
                        async move {
                            Ok::<_, Infallible>(
                                Response::builder()
                                    .status(status)
                                    .header("content-type", "application/json")
                                    .body(Full::new(Bytes::from(body.to_string())))
                                    .expect("a response"),
                            )
                        }
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(socket), service)
                        .await;
                });
            }
        });
        Self {
            endpoint,
            requests,
            runtime: Some(runtime),
        }
    }

    /// Every request so far, as `METHOD path?query`.
    pub fn requests(&self) -> Vec<String> {
        self.requests.lock().expect("requests").clone()
    }
}

fn answer(
    request: &Request<Incoming>,
    filters: Filters,
    gets_are_done: bool,
    now: SystemTime,
) -> (u16, Value) {
    let path = request.uri().path();
    let query = request.uri().query().unwrap_or_default();
    let list_path = format!("/v1/projects/{PROJECT}/operations");
    if path == list_path && request.method() == "GET" {
        let parameter = |name: &str| {
            query
                .split('&')
                .find_map(|pair| pair.strip_prefix(&format!("{name}=")))
                .unwrap_or_default()
                .to_owned()
        };
        let filter = parameter("filter");
        if filters == Filters::Refused && !filter.is_empty() {
            return error(
                400,
                "INVALID_ARGUMENT",
                &format!("Invalid filter: unsupported filter term: '{filter}'"),
            );
        }
        let page = if parameter("pageToken") == "second" {
            json!({"operations": TASKS[3..].iter().map(|t| operation(t, now, false)).collect::<Vec<_>>()})
        } else {
            json!({
                "operations": TASKS[..3].iter().map(|t| operation(t, now, false)).collect::<Vec<_>>(),
                "nextPageToken": "second",
            })
        };
        return (200, page);
    }
    let Some(rest) = path.strip_prefix(&format!("{list_path}/")) else {
        return error(404, "NOT_FOUND", "no such path");
    };
    let (id, verb) = rest.split_once(':').unwrap_or((rest, ""));
    let Some(task) = TASKS.iter().find(|task| task.id == id) else {
        return error(404, "NOT_FOUND", "no such operation");
    };
    match (request.method().as_str(), verb) {
        ("GET", "") | ("POST", "wait") => (200, operation(task, now, gets_are_done)),
        ("POST", "cancel") => (200, json!({})),
        _ => error(404, "NOT_FOUND", "no such method"),
    }
}

fn operation(task: &Task, now: SystemTime, finished: bool) -> Value {
    let state = if finished { "SUCCEEDED" } else { task.state };
    let done = matches!(state, "SUCCEEDED" | "FAILED" | "CANCELLED");
    let created = prost_types::Timestamp::from(now - task.age).to_string();
    let mut operation = json!({
        "name": format!("projects/{PROJECT}/operations/{}", task.id),
        "metadata": {
            "@type": "type.googleapis.com/google.earthengine.v1.OperationMetadata",
            "state": state,
            "type": task.kind,
            "description": task.description,
            "createTime": created,
        },
        "done": done,
    });
    if state == "FAILED" {
        operation["error"] = json!({"code": 13, "message": "it broke"});
    }
    operation
}

fn error(code: u16, status: &str, message: &str) -> (u16, Value) {
    (
        code,
        json!({"error": {"code": code, "status": status, "message": message}}),
    )
}
