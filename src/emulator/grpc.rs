//! The emulator's gRPC front end: the Operations service over the store.
//!
//! A call goes through the token check, then the faults in force
//! ([`FaultGate`]), then the service.

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http::header::{CONTENT_TYPE, HeaderValue};
use prost::Message;
use tokio::time::Instant;
use tonic::codegen::Service;
use tonic::server::NamedService;
use tonic::service::interceptor::InterceptedService;
use tonic::{Request, Response};

use super::auth::{self, RequiredToken};
use super::faults::{self, Faults, Outcome};
use super::state::Store;
use crate::error::Error;
use crate::metadata_numbering;
use crate::proto::google::longrunning::operations_server::{Operations, OperationsServer};
use crate::proto::longrunning::{
    CancelOperationRequest, DeleteOperationRequest, GetOperationRequest, ListOperationsRequest,
    ListOperationsResponse, Operation, WaitOperationRequest,
};
use crate::proto::rpc::Code;

/// Serves `google.longrunning.Operations` from the shared store.
pub(crate) struct OperationsService {
    store: Arc<Store>,
}

/// Refuses calls without the required token, if there is one, before they
/// reach the service.
#[derive(Clone)]
pub(crate) struct TokenCheck {
    required: Option<RequiredToken>,
}

impl tonic::service::Interceptor for TokenCheck {
    fn call(&mut self, request: Request<()>) -> Result<Request<()>, tonic::Status> {
        let authorization = request.metadata().get_all("authorization");
        auth::check(
            self.required.as_ref(),
            authorization.iter().map(|value| value.as_bytes()),
        )
        .map_err(|error| to_status(&error))?;
        Ok(request)
    }
}

/// The Operations service over `store`, requiring `required` if there is
/// one and applying `faults` to the calls that pass the check.
pub(crate) fn service(
    store: Arc<Store>,
    required: Option<RequiredToken>,
    faults: Faults,
) -> InterceptedService<FaultGate<OperationsServer<OperationsService>>, TokenCheck> {
    InterceptedService::new(
        FaultGate {
            inner: OperationsServer::new(OperationsService { store }),
            faults,
        },
        TokenCheck { required },
    )
}

/// Applies the faults in force to each Operations call before the service
/// decodes it: waits out their latency, then answers with their error
/// (a gRPC status in the response headers, "trailers only"), cuts the
/// reply off, or lets the call through.
#[derive(Clone)]
pub(crate) struct FaultGate<S> {
    inner: S,
    faults: Faults,
}

impl<S: NamedService> NamedService for FaultGate<S> {
    const NAME: &'static str = S::NAME;
}

type GateFuture<B> = Pin<Box<dyn Future<Output = Result<http::Response<B>, Infallible>> + Send>>;

impl<S, ReqBody> Service<http::Request<ReqBody>> for FaultGate<S>
where
    S: Service<
            http::Request<ReqBody>,
            Response = http::Response<tonic::body::Body>,
            Error = Infallible,
        > + Clone
        + Send
        + 'static,
    S::Future: Send + 'static,
    ReqBody: Send + 'static,
{
    type Response = http::Response<tonic::body::Body>;
    type Error = Infallible;
    type Future = GateFuture<tonic::body::Body>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<ReqBody>) -> Self::Future {
        let injection =
            faults::grpc_rpc(request.uri().path()).and_then(|rpc| self.faults.select(rpc));
        let Some(injection) = injection else {
            return Box::pin(self.inner.call(request));
        };
        // The service that was polled ready goes with the call.
        let ready = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, ready);
        Box::pin(async move {
            if !injection.latency.is_zero() {
                tokio::time::sleep(injection.latency).await;
            }
            match injection.outcome {
                Outcome::Proceed => inner.call(request).await,
                Outcome::Fail(injected) => Ok(to_status(&injected.error).into_http()),
                Outcome::Drop => Ok(dropped_reply()),
            }
        })
    }
}

/// A reply cut off: response headers, the start of a message whose length
/// prefix promises more, then the HTTP/2 stream is reset.
fn dropped_reply() -> http::Response<tonic::body::Body> {
    // The length prefix of an uncompressed message of DROPPED_BYTES bytes,
    // then the start of an Operation's name field.
    let mut partial = vec![0];
    partial.extend_from_slice(&faults::DROPPED_BYTES.to_be_bytes());
    partial.extend_from_slice(b"\x0a\x20projects/");
    let body = faults::cut_off(Bytes::from(partial));
    let mut response = http::Response::new(tonic::body::Body::new(body));
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/grpc"));
    response
}

/// The error as a gRPC status with its details in `grpc-status-details-bin`.
pub(crate) fn to_status(error: &Error) -> tonic::Status {
    let code = tonic::Code::from_i32(error.code() as i32);
    tonic::Status::with_details(
        code,
        error.message(),
        error.to_status().encode_to_vec().into(),
    )
}

type Reply<T> = Result<Response<T>, tonic::Status>;

/// The result as a reply whose headers say that its Earth Engine metadata
/// is numbered as this crate's `.proto` numbers it.
fn reply<T>(result: crate::error::Result<T>) -> Reply<T> {
    let mut response = result
        .map(Response::new)
        .map_err(|error| to_status(&error))?;
    response.metadata_mut().insert(
        metadata_numbering::HEADER,
        tonic::metadata::AsciiMetadataValue::from_static(metadata_numbering::OURS),
    );
    Ok(response)
}

/// The caller's deadline from `grpc-timeout` (`<digits><unit>`, unit one of
/// H M S m u n), if it sent one that parses.
fn deadline<T>(request: &Request<T>) -> Option<Instant> {
    let raw = request.metadata().get("grpc-timeout")?.to_str().ok()?;
    let split = raw.len().checked_sub(1)?;
    let (digits, unit) = raw.split_at(split);
    let amount: u64 = digits.parse().ok()?;
    let timeout = match unit {
        "H" => Duration::from_secs(amount.checked_mul(3600)?),
        "M" => Duration::from_secs(amount.checked_mul(60)?),
        "S" => Duration::from_secs(amount),
        "m" => Duration::from_millis(amount),
        "u" => Duration::from_micros(amount),
        "n" => Duration::from_nanos(amount),
        _ => return None,
    };
    Instant::now().checked_add(timeout)
}

#[tonic::async_trait]
impl Operations for OperationsService {
    async fn list_operations(
        &self,
        request: Request<ListOperationsRequest>,
    ) -> Reply<ListOperationsResponse> {
        let r = request.get_ref();
        reply(
            self.store
                .list(&r.name, &r.filter, r.page_size, &r.page_token),
        )
    }

    async fn get_operation(&self, request: Request<GetOperationRequest>) -> Reply<Operation> {
        reply(self.store.get(&request.get_ref().name))
    }

    async fn delete_operation(&self, request: Request<DeleteOperationRequest>) -> Reply<()> {
        reply(self.store.delete(&request.get_ref().name))
    }

    async fn cancel_operation(&self, request: Request<CancelOperationRequest>) -> Reply<()> {
        reply(self.store.cancel(&request.get_ref().name))
    }

    async fn wait_operation(&self, request: Request<WaitOperationRequest>) -> Reply<Operation> {
        let deadline = deadline(&request);
        let r = request.into_inner();
        let timeout = match r.timeout.map(Duration::try_from) {
            None => None,
            Some(Ok(timeout)) => Some(timeout),
            Some(Err(_)) => {
                return reply(Err(Error::new(
                    Code::InvalidArgument,
                    "timeout must be a non-negative duration",
                )));
            }
        };
        reply(self.store.wait(&r.name, timeout, deadline).await)
    }
}
