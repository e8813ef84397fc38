//! The emulator's gRPC front end: the Operations service over the store.

use std::sync::Arc;
use std::time::Duration;

use prost::Message;
use tokio::time::Instant;
use tonic::service::interceptor::InterceptedService;
use tonic::{Request, Response};

use super::auth::{self, RequiredToken};
use super::state::Store;
use crate::error::Error;
use crate::longrunning::{
    CancelOperationRequest, DeleteOperationRequest, GetOperationRequest, ListOperationsRequest,
    ListOperationsResponse, Operation, WaitOperationRequest,
};
use crate::proto::google::longrunning::operations_server::{Operations, OperationsServer};
use crate::rpc::Code;

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
/// one.
pub(crate) fn service(
    store: Arc<Store>,
    required: Option<RequiredToken>,
) -> InterceptedService<OperationsServer<OperationsService>, TokenCheck> {
    OperationsServer::with_interceptor(OperationsService { store }, TokenCheck { required })
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

fn reply<T>(result: crate::Result<T>) -> Reply<T> {
    result.map(Response::new).map_err(|error| to_status(&error))
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
