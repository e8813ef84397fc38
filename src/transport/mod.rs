//! The private seam between [`crate::Client`] and the wire.
//!
//! Each transport turns one attempt of one RPC into a result; retries,
//! deadlines and options live in the client, above this trait, so every
//! transport behaves the same.

use crate::error::Result;
use crate::options::CallContext;
use crate::proto::longrunning::{
    CancelOperationRequest, DeleteOperationRequest, GetOperationRequest, ListOperationsRequest,
    Operation, WaitOperationRequest,
};
use crate::routes::Rpc;
use page::Page;

pub(crate) mod auto;
pub(crate) mod codec;
mod failure;
pub(crate) mod grpc;
pub(crate) mod h2_channel;
pub(crate) mod json_reply;
pub(crate) mod page;
mod reply_limit;
pub(crate) mod rest;
mod taken;

/// A boxed future that owns everything it needs.
pub(crate) type BoxFuture<T> = futures_util::future::BoxFuture<'static, T>;

/// One attempt of each Operations RPC.
pub(crate) trait Transport: Send + Sync + std::fmt::Debug + 'static {
    /// The protocol calls go over, as spans name it (`rpc.system`): `grpc`
    /// or `http`; for `auto`, gRPC until the endpoint shows otherwise.
    fn rpc_system(&self) -> &'static str;

    /// How many headers, at most, this transport adds to a call's own for
    /// `rpc`: the call's header map is made with room for them.
    fn headers_added(&self, rpc: Rpc) -> usize;

    fn get_operation(
        &self,
        request: GetOperationRequest,
        call: CallContext,
    ) -> BoxFuture<Result<Operation>>;

    fn list_operations(
        &self,
        request: ListOperationsRequest,
        call: CallContext,
    ) -> BoxFuture<Result<Page>>;

    fn cancel_operation(
        &self,
        request: CancelOperationRequest,
        call: CallContext,
    ) -> BoxFuture<Result<()>>;

    fn delete_operation(
        &self,
        request: DeleteOperationRequest,
        call: CallContext,
    ) -> BoxFuture<Result<()>>;

    fn wait_operation(
        &self,
        request: WaitOperationRequest,
        call: CallContext,
    ) -> BoxFuture<Result<Operation>>;
}
