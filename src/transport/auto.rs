//! `auto`: gRPC first, REST when the endpoint turns out not to speak gRPC;
//! the first clear answer decides for the client's lifetime.

use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};

use super::grpc::GrpcTransport;
use super::rest::RestTransport;
use super::{BoxFuture, Transport};
use crate::error::{Error, Result};
use crate::options::CallContext;
use crate::proto::longrunning::{
    CancelOperationRequest, DeleteOperationRequest, GetOperationRequest, ListOperationsRequest,
    ListOperationsResponse, Operation, WaitOperationRequest,
};
use crate::proto::rpc::Code;

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

    fn route<T: Send + 'static>(
        &self,
        over_grpc: impl FnOnce(&GrpcTransport) -> BoxFuture<Result<T>>,
        over_rest: impl FnOnce(&RestTransport) -> BoxFuture<Result<T>> + Send + 'static,
    ) -> BoxFuture<Result<T>> {
        match self.choice.load(Ordering::Acquire) {
            GRPC => over_grpc(&self.grpc),
            REST => over_rest(&self.rest),
            _ => {
                let grpc_call = over_grpc(&self.grpc);
                let rest = self.rest.clone();
                let choice = self.choice.clone();
                Box::pin(async move {
                    let grpc_error = match grpc_call.await {
                        Ok(value) => return Ok(decide(&choice, GRPC, value)),
                        Err(error) if !may_not_be_grpc(&error) => {
                            return Err(decide(&choice, GRPC, error));
                        }
                        Err(error) => error,
                    };
                    tracing::debug!(%grpc_error, "gRPC did not answer; trying HTTP/JSON");
                    match over_rest(&rest).await {
                        Ok(value) => Ok(decide(&choice, REST, value)),
                        // An HTTP answer, even an error, shows the endpoint speaks REST.
                        Err(error) if error.code() != Code::Unavailable => {
                            Err(decide(&choice, REST, error))
                        }
                        Err(_) => Err(grpc_error),
                    }
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

/// Errors that a server speaking gRPC would not produce: a plain HTTP reply
/// (tonic maps a reply without `grpc-status` to UNIMPLEMENTED or another code
/// from the HTTP status) or an HTTP/2 failure; connection failures too, since
/// the REST attempt tells whether anything listens.
fn may_not_be_grpc(error: &Error) -> bool {
    let message = error.message();
    message.contains("grpc-status header missing")
        || message.contains("protocol error")
        || (matches!(
            error.code(),
            Code::Unavailable | Code::Unknown | Code::Internal
        ) && error.details().is_empty())
}

impl Transport for AutoTransport {
    fn get_operation(
        &self,
        request: GetOperationRequest,
        call: CallContext,
    ) -> BoxFuture<Result<Operation>> {
        let (r, c) = (request.clone(), call.clone());
        self.route(
            |g| g.get_operation(request, call),
            move |rest| rest.get_operation(r, c),
        )
    }

    fn list_operations(
        &self,
        request: ListOperationsRequest,
        call: CallContext,
    ) -> BoxFuture<Result<ListOperationsResponse>> {
        let (r, c) = (request.clone(), call.clone());
        self.route(
            |g| g.list_operations(request, call),
            move |rest| rest.list_operations(r, c),
        )
    }

    fn cancel_operation(
        &self,
        request: CancelOperationRequest,
        call: CallContext,
    ) -> BoxFuture<Result<()>> {
        let (r, c) = (request.clone(), call.clone());
        self.route(
            |g| g.cancel_operation(request, call),
            move |rest| rest.cancel_operation(r, c),
        )
    }

    fn delete_operation(
        &self,
        request: DeleteOperationRequest,
        call: CallContext,
    ) -> BoxFuture<Result<()>> {
        let (r, c) = (request.clone(), call.clone());
        self.route(
            |g| g.delete_operation(request, call),
            move |rest| rest.delete_operation(r, c),
        )
    }

    fn wait_operation(
        &self,
        request: WaitOperationRequest,
        call: CallContext,
    ) -> BoxFuture<Result<Operation>> {
        let (r, c) = (request.clone(), call.clone());
        self.route(
            |g| g.wait_operation(request, call),
            move |rest| rest.wait_operation(r, c),
        )
    }
}
