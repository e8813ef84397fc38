//! The two sides of every comparison: eeops, and the cheapest hand-written
//! client sending the same bytes (tonic for gRPC, hyper for REST) or
//! googleapis' generated client, `google-cloud-longrunning`.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use eeops::longrunning::Operation;
use eeops::longrunning::{GetOperationRequest, ListOperationsRequest, ListOperationsResponse};
use eeops::{Client, Credentials, TransportKind};
use google_cloud_gax::paginator::ItemPaginator;
use google_cloud_longrunning::client::Operations;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client as HyperClient;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use tonic::client::Grpc;
use tonic::codegen::http::uri::PathAndQuery;
use tonic::transport::Channel;
use tonic_prost::ProstCodec;

use crate::PAGE_SIZE;

pub(crate) const GET_PATH: &str = "/google.longrunning.Operations/GetOperation";

pub(crate) const LIST_PATH: &str = "/google.longrunning.Operations/ListOperations";

/// An eeops client as an application would build one for the emulator:
/// anonymous, default retry policy and timeout.
pub(crate) fn eeops_client(endpoint: &str, transport: TransportKind) -> Client {
    Client::builder()
        .with_endpoint(endpoint)
        .with_transport(transport)
        .with_credentials(Credentials::anonymous())
        .build()
        .expect("a client for the emulator builds")
}

pub(crate) async fn raw_channel(endpoint: &str) -> Channel {
    tonic::transport::Endpoint::from_shared(endpoint.to_owned())
        .expect("the emulator's URL is a valid endpoint")
        .tcp_nodelay(true)
        .connect()
        .await
        .expect("a raw channel connects to the emulator")
}

/// What eeops sends to get each of `names` (the raw sides send the same).
pub(crate) fn get_previews(client: &Client, names: &[String]) -> Vec<eeops::HttpPreview> {
    names
        .iter()
        .map(|name| {
            client
                .get(name)
                .http_preview()
                .expect("a Get has a REST preview")
        })
        .collect()
}

/// The gRPC baseline: a raw tonic call carrying the metadata eeops sends
/// with each name, encoded as eeops has it encoded.
pub(crate) async fn raw_with_eeops_metadata(
    endpoint: &str,
    names: Arc<[String]>,
    previews: &[eeops::HttpPreview],
) -> RawGrpcGet {
    let header = |preview: &eeops::HttpPreview, wanted: &str| {
        preview
            .headers
            .iter()
            .find(|(name, _)| name == wanted)
            .map(|(_, value)| value.clone())
    };
    let user_agent = header(&previews[0], "user-agent").expect("eeops sends a user-agent");
    let channel = tonic::transport::Endpoint::from_shared(endpoint.to_owned())
        .expect("the emulator's URL is a valid endpoint")
        .user_agent(user_agent)
        .expect("a valid user agent")
        .tcp_nodelay(true)
        .connect()
        .await
        .expect("a raw channel connects to the emulator");
    let metadata: Vec<tonic::metadata::MetadataMap> = previews
        .iter()
        .map(|preview| {
            let mut metadata = tonic::metadata::MetadataMap::new();
            for (name, value) in &preview.headers {
                // What only the REST transport sends.
                if matches!(name.as_str(), "accept" | "user-agent" | "x-server-timeout") {
                    continue;
                }
                let mut value: tonic::metadata::AsciiMetadataValue =
                    value.parse().expect("a valid metadata value");
                // eeops keeps the routing header, which differs from call to
                // call, out of HPACK's table.
                value.set_sensitive(name == "x-goog-request-params");
                metadata.append(
                    tonic::metadata::AsciiMetadataKey::from_bytes(name.as_bytes())
                        .expect("a valid metadata key"),
                    value,
                );
            }
            // What eeops sends for its default 60 s deadline: the whole
            // seconds left when the call starts. tonic's channel reads it and
            // arms a timer for the call, as eeops does.
            metadata.insert("grpc-timeout", "59S".parse().expect("a valid timeout"));
            metadata
        })
        .collect();
    RawGrpcGet {
        metadata: Some(metadata.into()),
        ..RawGrpcGet::new(channel, names)
    }
}

pub(crate) type RawHyper = HyperClient<HttpConnector, Full<Bytes>>;

pub(crate) fn raw_hyper() -> RawHyper {
    let mut connector = HttpConnector::new();
    connector.set_nodelay(true);
    HyperClient::builder(TokioExecutor::new())
        .pool_idle_timeout(Duration::from_secs(90))
        .build(connector)
}

/// One request as eeops would send it, parsed once.
#[derive(Clone, Debug)]
pub(crate) struct Prepared {
    pub(crate) method: http::Method,
    pub(crate) uri: http::Uri,
    pub(crate) headers: http::HeaderMap,
}

impl Prepared {
    pub(crate) fn from_preview(preview: &eeops::HttpPreview) -> Self {
        let mut headers = http::HeaderMap::new();
        for (name, value) in &preview.headers {
            headers.append(
                http::HeaderName::from_bytes(name.as_bytes()).expect("eeops sends valid names"),
                http::HeaderValue::from_str(value).expect("eeops sends valid values"),
            );
        }
        assert!(preview.body.is_none(), "Get and List have no body");
        Self {
            method: preview.method.parse().expect("eeops sends a valid method"),
            uri: preview.url.parse().expect("eeops sends a valid URL"),
            headers,
        }
    }

    pub(crate) fn request(&self, uri: http::Uri) -> http::Request<Full<Bytes>> {
        let mut request = http::Request::new(Full::new(Bytes::new()));
        *request.method_mut() = self.method.clone();
        *request.uri_mut() = uri;
        *request.headers_mut() = self.headers.clone();
        request
    }
}

/// Sends a prepared request and returns the whole body of a 200 reply.
pub(crate) async fn raw_exchange(client: &RawHyper, request: http::Request<Full<Bytes>>) -> Bytes {
    let response = client
        .request(request)
        .await
        .expect("the emulator answers the raw request");
    assert_eq!(response.status(), http::StatusCode::OK, "raw REST call");
    response
        .into_body()
        .collect()
        .await
        .expect("the raw reply's body arrives")
        .to_bytes()
}

/// One side of a Get comparison.
#[derive(Clone)]
pub(crate) enum Getter {
    Eeops(EeopsGet),
    RawGrpc(RawGrpcGet),
    RawRest(RawRestGet),
    Gcl(GclGet),
}

impl Getter {
    /// What the side is called in METRIC lines.
    pub(crate) fn label(&self) -> &'static str {
        match self {
            Self::Eeops(_) => "eeops",
            Self::RawGrpc(_) | Self::RawRest(_) => "raw",
            Self::Gcl(_) => "gcl",
        }
    }

    /// One GetOperation of operation number `index`.
    pub(crate) async fn get(&mut self, index: usize) {
        match self {
            Self::Eeops(side) => side.get(index).await,
            Self::RawGrpc(side) => side.get(index).await,
            Self::RawRest(side) => side.get(index).await,
            Self::Gcl(side) => side.get(index).await,
        }
    }
}

#[derive(Clone)]
pub(crate) struct EeopsGet {
    pub(crate) client: Client,
    pub(crate) names: Arc<[String]>,
}

impl EeopsGet {
    pub(crate) async fn get(&mut self, index: usize) {
        let name = &self.names[index % self.names.len()];
        let operation = self
            .client
            .get(name)
            .await
            .expect("eeops gets the operation");
        std::hint::black_box(operation);
    }
}

#[derive(Clone)]
pub(crate) struct RawGrpcGet {
    pub(crate) grpc: Grpc<Channel>,
    pub(crate) names: Arc<[String]>,
    /// The metadata sent with each name, if any.
    pub(crate) metadata: Option<Arc<[tonic::metadata::MetadataMap]>>,
}

impl RawGrpcGet {
    pub(crate) fn new(channel: Channel, names: Arc<[String]>) -> Self {
        Self {
            grpc: Grpc::new(channel),
            names,
            metadata: None,
        }
    }

    pub(crate) async fn get(&mut self, index: usize) {
        let name = &self.names[index % self.names.len()];
        self.grpc.ready().await.expect("the raw channel is ready");
        let mut request = tonic::Request::new(GetOperationRequest { name: name.clone() });
        if let Some(metadata) = &self.metadata {
            *request.metadata_mut() = metadata[index % metadata.len()].clone();
        }
        let codec = ProstCodec::<GetOperationRequest, Operation>::default();
        let operation = self
            .grpc
            .unary(request, PathAndQuery::from_static(GET_PATH), codec)
            .await
            .expect("the raw gRPC Get succeeds")
            .into_inner();
        std::hint::black_box(operation);
    }
}

#[derive(Clone)]
pub(crate) struct RawRestGet {
    pub(crate) client: RawHyper,
    pub(crate) prepared: Arc<[Prepared]>,
}

impl RawRestGet {
    pub(crate) async fn get(&mut self, index: usize) {
        let prepared = &self.prepared[index % self.prepared.len()];
        let body = raw_exchange(&self.client, prepared.request(prepared.uri.clone())).await;
        let text = std::str::from_utf8(&body).expect("the reply is UTF-8");
        let operation = eeops::json::parse_operation(text).expect("the reply is an operation");
        std::hint::black_box(operation);
    }
}

/// googleapis' client's GetOperation.
#[derive(Clone)]
pub(crate) struct GclGet {
    pub(crate) client: Operations,
    pub(crate) names: Arc<[String]>,
}

impl GclGet {
    pub(crate) async fn get(&mut self, index: usize) {
        let name = &self.names[index % self.names.len()];
        let operation = self
            .client
            .get_operation()
            .set_name(name)
            .send()
            .await
            .expect("google-cloud-longrunning gets the operation");
        std::hint::black_box(operation);
    }
}

/// The sides of one comparison: eeops, the raw baseline, and optionally a
/// diagnostic variant measured in the same rounds but not part of the ratio.
pub(crate) struct Sides {
    pub(crate) eeops: Getter,
    pub(crate) raw: Getter,
    pub(crate) diagnostic: Option<(&'static str, Getter)>,
}

impl Sides {
    pub(crate) fn all(&mut self) -> Vec<&mut Getter> {
        let mut all = vec![&mut self.eeops, &mut self.raw];
        if let Some((_, side)) = &mut self.diagnostic {
            all.push(side);
        }
        all
    }

    /// The sides' names in METRIC lines, in the order of [`Sides::all`].
    pub(crate) fn labels(&self) -> Vec<&'static str> {
        let mut labels = vec![self.eeops.label(), self.raw.label()];
        labels.extend(self.diagnostic.as_ref().map(|(label, _)| *label));
        labels
    }
}

/// One side of a list comparison.
pub(crate) enum Lister {
    Eeops(Client),
    RawGrpc(Grpc<Channel>),
    RawRest(RawHyper),
    Gcl(Operations),
}

impl Lister {
    /// What the side is called in METRIC lines.
    pub(crate) fn label(&self) -> &'static str {
        match self {
            Self::Eeops(_) => "eeops",
            Self::RawGrpc(_) | Self::RawRest(_) => "raw",
            Self::Gcl(_) => "gcl",
        }
    }

    /// Lists every operation of `parent`, page by page, and returns how
    /// many there were. `first` is the REST request of the first page.
    pub(crate) async fn list(&self, parent: &str, first: Option<&Prepared>) -> usize {
        let parent = parent.to_owned();
        match self {
            Self::Gcl(client) => {
                // Item by item: its paginator asks for the next page when
                // one is used up.
                let mut items = client
                    .list_operations()
                    .set_name(parent)
                    .set_page_size(PAGE_SIZE)
                    .by_item();
                let mut count = 0;
                while let Some(operation) = items.next().await {
                    std::hint::black_box(
                        operation.expect("google-cloud-longrunning lists the operations"),
                    );
                    count += 1;
                }
                count
            }
            Self::Eeops(client) => {
                let mut operations = client.list(parent).set_page_size(PAGE_SIZE).operations();
                let mut count = 0;
                while let Some(operation) = operations.next().await {
                    std::hint::black_box(operation.expect("eeops lists the operations"));
                    count += 1;
                }
                count
            }
            Self::RawGrpc(grpc) => {
                let mut grpc = grpc.clone();
                let mut count = 0;
                let mut page_token = String::new();
                loop {
                    grpc.ready().await.expect("the raw channel is ready");
                    let request = tonic::Request::new(ListOperationsRequest {
                        name: parent.clone(),
                        page_size: PAGE_SIZE,
                        page_token,
                        ..Default::default()
                    });
                    let codec =
                        ProstCodec::<ListOperationsRequest, ListOperationsResponse>::default();
                    let page = grpc
                        .unary(request, PathAndQuery::from_static(LIST_PATH), codec)
                        .await
                        .expect("the raw gRPC List succeeds")
                        .into_inner();
                    for operation in page.operations {
                        std::hint::black_box(operation);
                        count += 1;
                    }
                    if page.next_page_token.is_empty() {
                        return count;
                    }
                    page_token = page.next_page_token;
                }
            }
            Self::RawRest(client) => {
                let first = first.expect("a raw REST listing starts from a prepared request");
                let mut count = 0;
                let mut uri = first.uri.clone();
                loop {
                    let body = raw_exchange(client, first.request(uri)).await;
                    let text = std::str::from_utf8(&body).expect("the reply is UTF-8");
                    let (operations, next_page_token) = split_page(text);
                    for operation in operations {
                        let operation = eeops::json::parse_operation(operation)
                            .expect("each listed operation parses");
                        std::hint::black_box(operation);
                        count += 1;
                    }
                    if next_page_token.is_empty() {
                        return count;
                    }
                    // The emulator's tokens are URL-safe base64: the form
                    // encoding writes them as eeops' query encoding does.
                    let token: String =
                        form_urlencoded::byte_serialize(next_page_token.as_bytes()).collect();
                    uri = format!("{}&pageToken={token}", first.uri)
                        .parse()
                        .expect("a page URL is valid");
                }
            }
        }
    }
}

/// The operations (each as its own JSON text) and the next page token of a
/// ListOperationsResponse in JSON, found without building a JSON tree.
pub(crate) fn split_page(text: &str) -> (Vec<&str>, &str) {
    let mut scanner = Scanner { text, at: 0 };
    let mut operations = Vec::new();
    let mut token = "";
    scanner.expect(b'{');
    if scanner.peek() == b'}' {
        return (operations, token);
    }
    loop {
        let key = scanner.string();
        scanner.expect(b':');
        match key {
            "operations" => {
                scanner.expect(b'[');
                if scanner.peek() != b']' {
                    loop {
                        operations.push(scanner.value());
                        if scanner.peek() != b',' {
                            break;
                        }
                        scanner.at += 1;
                    }
                }
                scanner.expect(b']');
            }
            "nextPageToken" => token = scanner.string(),
            _ => {
                scanner.value();
            }
        }
        if scanner.peek() != b',' {
            break;
        }
        scanner.at += 1;
    }
    scanner.expect(b'}');
    (operations, token)
}

/// A cursor over JSON text that finds where values start and end.
pub(crate) struct Scanner<'a> {
    pub(crate) text: &'a str,
    pub(crate) at: usize,
}

impl<'a> Scanner<'a> {
    pub(crate) fn bytes(&self) -> &'a [u8] {
        self.text.as_bytes()
    }

    /// The next byte that is not white space (without taking it).
    pub(crate) fn peek(&mut self) -> u8 {
        while self.bytes()[self.at].is_ascii_whitespace() {
            self.at += 1;
        }
        self.bytes()[self.at]
    }

    pub(crate) fn expect(&mut self, byte: u8) {
        assert_eq!(self.peek(), byte, "unexpected JSON at byte {}", self.at);
        self.at += 1;
    }

    /// A string's contents, escapes left as they are.
    pub(crate) fn string(&mut self) -> &'a str {
        self.expect(b'"');
        let start = self.at;
        while self.bytes()[self.at] != b'"' {
            self.at += if self.bytes()[self.at] == b'\\' { 2 } else { 1 };
        }
        self.at += 1;
        &self.text[start..self.at - 1]
    }

    /// The text of the next value, whatever it is.
    pub(crate) fn value(&mut self) -> &'a str {
        let start = match self.peek() {
            b'"' => {
                let start = self.at;
                self.string();
                start
            }
            b'{' | b'[' => {
                let start = self.at;
                let mut depth = 0usize;
                loop {
                    match self.bytes()[self.at] {
                        b'"' => {
                            self.string();
                            continue;
                        }
                        b'{' | b'[' => depth += 1,
                        b'}' | b']' => depth -= 1,
                        _ => {}
                    }
                    self.at += 1;
                    if depth == 0 {
                        break;
                    }
                }
                start
            }
            _ => {
                let start = self.at;
                while !matches!(self.bytes()[self.at], b',' | b'}' | b']')
                    && !self.bytes()[self.at].is_ascii_whitespace()
                {
                    self.at += 1;
                }
                start
            }
        };
        &self.text[start..self.at]
    }
}
