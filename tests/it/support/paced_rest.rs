//! An Earth Engine-dialect REST server that answers a listing one page at
//! a time: the first page at once, each later page only when the test
//! releases it. The test can wait until a page has been asked for, so it
//! can look at what a client did before it had that page. Every request
//! is recorded.

use std::convert::Infallible;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};
use tokio::sync::watch;

/// The project the operations belong to.
pub const PROJECT: &str = "paced";

/// The server, on the test's runtime; stops with it.
pub struct PacedRest {
    pub endpoint: String,
    pages: usize,
    per_page: usize,
    /// The highest page asked for so far (page 0 is the first).
    asked: watch::Receiver<Option<usize>>,
    /// The highest page that may be answered.
    released: watch::Sender<usize>,
    requests: Arc<Mutex<Vec<String>>>,
}

impl PacedRest {
    /// Serves `pages` pages of `per_page` operations each, listening on
    /// 127.0.0.1 before returning.
    pub async fn start(pages: usize, per_page: usize) -> std::io::Result<Self> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let endpoint = format!("http://{}", listener.local_addr()?);
        let (asked_tx, asked) = watch::channel(None);
        let (released, released_rx) = watch::channel(0);
        let requests = Arc::new(Mutex::new(Vec::new()));
        let shared = Arc::new(Shared {
            pages,
            per_page,
            asked: asked_tx,
            released: released_rx,
            requests: requests.clone(),
        });
        tokio::spawn(async move {
            while let Ok((socket, _)) = listener.accept().await {
                let shared = shared.clone();
                tokio::spawn(async move {
                    let service = service_fn(move |request: Request<Incoming>| {
                        let shared = shared.clone();
                        async move {
                            let (status, body) = shared.answer(&request).await;
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
        Ok(Self {
            endpoint,
            pages,
            per_page,
            asked,
            released,
            requests,
        })
    }

    /// The task id of operation `index` of page `page`.
    pub fn id(page: usize, index: usize) -> String {
        format!("PAGE{page}TASK{index}")
    }

    /// Every task id, in the order listed.
    pub fn ids(&self) -> Vec<String> {
        (0..self.pages)
            .flat_map(|page| (0..self.per_page).map(move |index| Self::id(page, index)))
            .collect()
    }

    /// Returns once page `page` (or a later one) has been asked for.
    pub async fn asked_for(&mut self, page: usize) {
        self.asked
            .wait_for(|asked| asked.is_some_and(|asked| asked >= page))
            .await
            .expect("the server runs");
    }

    /// Lets the server answer page `page` (and those before it).
    pub fn release(&self, page: usize) {
        self.released
            .send_modify(|released| *released = page.max(*released));
    }

    /// Every request so far, as `METHOD path?query`.
    pub fn requests(&self) -> Vec<String> {
        self.requests.lock().expect("requests").clone()
    }
}

struct Shared {
    pages: usize,
    per_page: usize,
    asked: watch::Sender<Option<usize>>,
    released: watch::Receiver<usize>,
    requests: Arc<Mutex<Vec<String>>>,
}

impl Shared {
    async fn answer(&self, request: &Request<Incoming>) -> (u16, Value) {
        let target = request.uri().path_and_query().map_or("", |p| p.as_str());
        self.requests
            .lock()
            .expect("requests")
            .push(format!("{} {target}", request.method()));
        if request.method() != "GET"
            || request.uri().path() != format!("/v1/projects/{PROJECT}/operations")
        {
            return (
                404,
                json!({"error": {"code": 404, "status": "NOT_FOUND", "message": "no such path"}}),
            );
        }
        let token = request
            .uri()
            .query()
            .unwrap_or_default()
            .split('&')
            .find_map(|pair| pair.strip_prefix("pageToken="))
            .unwrap_or_default();
        let page = match token.strip_prefix("page") {
            None if token.is_empty() => 0,
            Some(number) => match number.parse::<usize>() {
                Ok(page) if page < self.pages => page,
                _ => return bad_token(token),
            },
            None => return bad_token(token),
        };
        self.asked
            .send_modify(|asked| *asked = Some(asked.map_or(page, |a| a.max(page))));
        let mut released = self.released.clone();
        if released
            .wait_for(|released| *released >= page)
            .await
            .is_err()
        {
            return (
                503,
                json!({"error": {"code": 503, "status": "UNAVAILABLE", "message": "stopping"}}),
            );
        }
        let operations: Vec<Value> = (0..self.per_page)
            .map(|index| operation(&PacedRest::id(page, index)))
            .collect();
        let mut body = json!({ "operations": operations });
        if page + 1 < self.pages {
            body["nextPageToken"] = json!(format!("page{}", page + 1));
        }
        (200, body)
    }
}

fn bad_token(token: &str) -> (u16, Value) {
    (
        400,
        json!({"error": {"code": 400, "status": "INVALID_ARGUMENT", "message": format!("bad page token {token:?}")}}),
    )
}

fn operation(id: &str) -> Value {
    json!({
        "name": format!("projects/{PROJECT}/operations/{id}"),
        "metadata": {
            "@type": "type.googleapis.com/google.earthengine.v1.OperationMetadata",
            "state": "SUCCEEDED",
            "type": "EXPORT_IMAGE",
            "description": format!("export of {id}"),
            "createTime": "2026-12-01T10:00:00Z",
            "startTime": "2026-12-01T10:01:00Z",
            "endTime": "2026-12-01T10:05:00Z",
        },
        "done": true,
        "response": {"@type": "type.googleapis.com/google.protobuf.Empty"},
    })
}
