//! A gRPC Operations server that is not ours: it numbers Earth Engine's
//! `OperationMetadata` its own way (its state, description and type under
//! other field numbers than `proto/` gives them), and says nothing about it
//! unless told to send the emulator's marker. Get and List answer one task,
//! or List answers a page given as bytes.

use std::convert::Infallible;

use bytes::{BufMut, Bytes, BytesMut};
use eeops::longrunning::{ListOperationsResponse, Operation};
use http_body_util::StreamBody;
use hyper::body::{Frame, Incoming};
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::{TokioExecutor, TokioIo};
use prost::Message;

/// The one task's name.
pub const NAME: &str = "projects/foreign/operations/OTHERNUMBERING";

/// Its description, which a reader with our numbering would take for its
/// type, and its type, which it would take for its description.
pub const DESCRIPTION: &str = "nightly-ndvi";
pub const KIND: &str = "EXPORT_IMAGE";

/// Metadata as the other server numbers it: field 1 its own state code (4,
/// RUNNING in its scheme; SUCCEEDED in ours), field 2 the type, field 3 the
/// description, field 9 a progress of 0.25 as a double.
pub fn foreign_metadata() -> Vec<u8> {
    let mut bytes = BytesMut::new();
    bytes.put_u8(1 << 3); // field 1, varint
    bytes.put_u8(4);
    for (field, text) in [(2u8, KIND), (3u8, DESCRIPTION)] {
        bytes.put_u8((field << 3) | 2); // length-delimited
        bytes.put_u8(u8::try_from(text.len()).expect("short"));
        bytes.put_slice(text.as_bytes());
    }
    bytes.put_u8((9 << 3) | 1); // field 9, 64-bit
    bytes.put_f64_le(0.25);
    bytes.to_vec()
}

fn operation() -> Operation {
    Operation {
        name: NAME.into(),
        metadata: Some(prost_types::Any {
            type_url: eeops::EARTH_ENGINE_METADATA_TYPE_URLS[0].into(),
            value: foreign_metadata(),
        }),
        done: false,
        result: None,
    }
}

/// The server, on its own runtime; stops when dropped.
pub struct ForeignGrpc {
    pub endpoint: String,
    runtime: Option<tokio::runtime::Runtime>,
}

impl Drop for ForeignGrpc {
    fn drop(&mut self) {
        // Allowed from inside another runtime too (an async test).
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}

impl ForeignGrpc {
    /// Starts listening on 127.0.0.1 before returning; with `marker`, every
    /// reply carries the header the emulator sends to say its numbering is
    /// this crate's.
    pub fn start(marker: Option<(&'static str, &'static str)>) -> Self {
        Self::serving(marker, None)
    }

    /// Starts a server whose List answers `page`, bytes as they are, with
    /// the emulator's marker.
    pub fn listing(page: Bytes) -> Self {
        Self::serving(Some(("x-eeops-metadata-numbering", "eeops-1")), Some(page))
    }

    fn serving(marker: Option<(&'static str, &'static str)>, page: Option<Bytes>) -> Self {
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
        runtime.spawn(async move {
            let listener = tokio::net::TcpListener::from_std(listener).expect("a listener");
            while let Ok((socket, _)) = listener.accept().await {
                let page = page.clone();
                tokio::spawn(async move {
                    let service = service_fn(move |request: Request<Incoming>| {
                        let reply = answer(request.uri().path(), marker, page.as_ref());
                        async move { Ok::<_, Infallible>(reply) }
                    });
                    let _ = hyper::server::conn::http2::Builder::new(TokioExecutor::new())
                        .serve_connection(TokioIo::new(socket), service)
                        .await;
                });
            }
        });
        Self {
            endpoint,
            runtime: Some(runtime),
        }
    }
}

type Frames = futures_util::stream::Iter<std::vec::IntoIter<Result<Frame<Bytes>, Infallible>>>;

fn answer(
    path: &str,
    marker: Option<(&'static str, &'static str)>,
    page: Option<&Bytes>,
) -> Response<StreamBody<Frames>> {
    let reply = match path {
        "/google.longrunning.Operations/GetOperation" => Some(operation().encode_to_vec()),
        "/google.longrunning.Operations/ListOperations" if page.is_some() => {
            page.map(|page| page.to_vec())
        }
        "/google.longrunning.Operations/ListOperations" => Some(
            ListOperationsResponse {
                operations: vec![operation()],
                ..Default::default()
            }
            .encode_to_vec(),
        ),
        _ => None,
    };
    let mut trailers = http::HeaderMap::new();
    let mut frames = Vec::new();
    match reply {
        Some(message) => {
            let mut framed = BytesMut::new();
            framed.put_u8(0);
            framed.put_u32(u32::try_from(message.len()).expect("small"));
            framed.put_slice(&message);
            frames.push(Ok(Frame::data(framed.freeze())));
            trailers.insert("grpc-status", http::HeaderValue::from_static("0"));
        }
        None => {
            trailers.insert("grpc-status", http::HeaderValue::from_static("12"));
        }
    }
    frames.push(Ok(Frame::trailers(trailers)));
    let mut response = Response::new(StreamBody::new(futures_util::stream::iter(frames)));
    let headers = response.headers_mut();
    headers.insert(
        "content-type",
        http::HeaderValue::from_static("application/grpc"),
    );
    if let Some((name, value)) = marker {
        headers.insert(name, http::HeaderValue::from_static(value));
    }
    response
}
