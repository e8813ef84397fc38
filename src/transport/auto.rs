//! `auto`: gRPC first, REST when the endpoint turns out not to speak gRPC;
//! the first clear answer decides for the client's lifetime.
//!
//! Only evidence that the endpoint does not speak gRPC sends a call over
//! REST: never a failed connection or a lost reply, after which a second
//! attempt over REST could repeat what the server already did.

use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};

use super::grpc::GrpcTransport;
use super::page::Page;
use super::rest::RestTransport;
use super::{BoxFuture, Transport};
use crate::error::{Error, Origin, Result};
use crate::options::CallContext;
use crate::proto::longrunning::{
    CancelOperationRequest, DeleteOperationRequest, GetOperationRequest, ListOperationsRequest,
    Operation, WaitOperationRequest,
};
use crate::proto::rpc::Code;
use crate::routes::Rpc;
use crate::telemetry;

const UNDECIDED: u8 = 0;
const GRPC: u8 = 1;
const REST: u8 = 2;

/// Chooses between gRPC and REST on the first call that tells them apart.
#[derive(Debug)]
pub(crate) struct AutoTransport {
    grpc: GrpcTransport,
    rest: RestTransport,
    choice: Arc<AtomicU8>,
}

impl AutoTransport {
    pub(crate) fn new(grpc: GrpcTransport, rest: RestTransport) -> Self {
        Self {
            grpc,
            rest,
            choice: Arc::new(AtomicU8::new(UNDECIDED)),
        }
    }

    /// Sends over the chosen transport; while undecided, over gRPC first
    /// and over REST only when the answer shows the endpoint does not speak
    /// gRPC. The request is cloned for REST only while undecided.
    fn route<Req: Clone + Send + 'static, T: Send + 'static>(
        &self,
        request: Req,
        call: CallContext,
        service_wide: bool,
        over_grpc: fn(&GrpcTransport, Req, CallContext) -> BoxFuture<Result<T>>,
        over_rest: fn(&RestTransport, Req, CallContext) -> BoxFuture<Result<T>>,
    ) -> BoxFuture<Result<T>> {
        match self.choice.load(Ordering::Acquire) {
            GRPC => over_grpc(&self.grpc, request, call),
            REST => over_rest(&self.rest, request, call),
            _ => {
                let kept = (request.clone(), call.clone());
                let grpc_call = over_grpc(&self.grpc, request, call);
                let rest = self.rest.clone();
                let choice = self.choice.clone();
                Box::pin(async move {
                    let grpc_error = match grpc_call.await {
                        Ok(value) => return Ok(decide(&choice, GRPC, value)),
                        Err(error) if shows_not_grpc(&error, service_wide) => error,
                        // Anything else (an answer in gRPC, a connection
                        // that failed or broke) decides nothing about the
                        // protocol, or is gRPC's answer: no second attempt
                        // over REST, which could repeat what the server did.
                        Err(error) => {
                            if error.is_from_server() {
                                decide(&choice, GRPC, ());
                            }
                            return Err(error);
                        }
                    };
                    tracing::info!(
                        from = telemetry::GRPC,
                        to = telemetry::HTTP,
                        reason = %grpc_error,
                        "the endpoint does not speak gRPC; falling back to HTTP/JSON"
                    );
                    let (request, call) = kept;
                    let outcome = over_rest(&rest, request, call).await;
                    match &outcome {
                        // An HTTP answer, even an error, shows the endpoint speaks REST.
                        Ok(_) => decide(&choice, REST, ()),
                        Err(error) if error.is_from_server() || error.is_decode() => {
                            decide(&choice, REST, ())
                        }
                        Err(_) => {}
                    }
                    outcome
                })
            }
        }
    }
}

/// Records the choice (once) and passes `value` through.
fn decide<T>(choice: &AtomicU8, transport: u8, value: T) -> T {
    if choice
        .compare_exchange(UNDECIDED, transport, Ordering::AcqRel, Ordering::Acquire)
        .is_ok()
    {
        let name = if transport == GRPC {
            "gRPC"
        } else {
            "HTTP/JSON (REST)"
        };
        tracing::info!(transport = name, "transport chosen");
    }
    value
}

/// Evidence that the endpoint does not speak gRPC: an HTTP answer without
/// a gRPC status, a peer that does not speak HTTP/2 (or closes the
/// connection without a word of it), or (for a call every Operations
/// service implements) UNIMPLEMENTED, as a gRPC server without the service
/// answers. None of these can have acted on the request.
fn shows_not_grpc(error: &Error, service_wide: bool) -> bool {
    matches!(error.origin(), Origin::NotGrpc | Origin::Unheard)
        || (service_wide && error.is_from_server() && error.code() == Code::Unimplemented)
}

impl Transport for AutoTransport {
    fn rpc_system(&self) -> &'static str {
        match self.choice.load(Ordering::Relaxed) {
            REST => telemetry::HTTP,
            _ => telemetry::GRPC,
        }
    }

    fn headers_added(&self, rpc: Rpc) -> usize {
        self.grpc
            .headers_added(rpc)
            .max(self.rest.headers_added(rpc))
    }

    fn get_operation(
        &self,
        request: GetOperationRequest,
        call: CallContext,
    ) -> BoxFuture<Result<Operation>> {
        self.route(
            request,
            call,
            true,
            GrpcTransport::get_operation,
            RestTransport::get_operation,
        )
    }

    fn list_operations(
        &self,
        request: ListOperationsRequest,
        call: CallContext,
    ) -> BoxFuture<Result<Page>> {
        self.route(
            request,
            call,
            true,
            GrpcTransport::list_operations,
            RestTransport::list_operations,
        )
    }

    fn cancel_operation(
        &self,
        request: CancelOperationRequest,
        call: CallContext,
    ) -> BoxFuture<Result<()>> {
        self.route(
            request,
            call,
            false,
            GrpcTransport::cancel_operation,
            RestTransport::cancel_operation,
        )
    }

    fn delete_operation(
        &self,
        request: DeleteOperationRequest,
        call: CallContext,
    ) -> BoxFuture<Result<()>> {
        self.route(
            request,
            call,
            false,
            GrpcTransport::delete_operation,
            RestTransport::delete_operation,
        )
    }

    fn wait_operation(
        &self,
        request: WaitOperationRequest,
        call: CallContext,
    ) -> BoxFuture<Result<Operation>> {
        self.route(
            request,
            call,
            false,
            GrpcTransport::wait_operation,
            RestTransport::wait_operation,
        )
    }
}
