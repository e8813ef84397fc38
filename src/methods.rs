//! The five Operations RPCs, each described once: request and response
//! types, whether a call may be repeated, which field names the resource,
//! and how one attempt goes over a transport. The call pipeline and the
//! request builders work from this description alone.

use std::time::Duration;

use crate::error::Result;
use crate::operation::proto_duration;
use crate::options::CallContext;
use crate::proto::longrunning::{
    CancelOperationRequest, DeleteOperationRequest, GetOperationRequest, ListOperationsRequest,
    Operation, WaitOperationRequest,
};
use crate::routes::Rpc;
use crate::transport::page::Page;
use crate::transport::{BoxFuture, Transport};

/// One RPC, implemented by its request message.
pub(crate) trait Method:
    prost::Message + prost::Name + Clone + std::fmt::Debug + Send + Sync + 'static
{
    /// What a successful call returns.
    type Response: Send + 'static;

    /// The RPC, for routes and messages.
    const RPC: Rpc;

    /// Whether a call may be sent again after a failure that may have
    /// reached the server. Delete may not: a repeated delete whose first
    /// reply was lost would report NOT_FOUND for a delete that worked.
    const REPEATABLE: bool;

    /// What the resource field names, for messages: `operation` or `parent`.
    const RESOURCE: &'static str;

    /// What a call does, for messages: `getting operation`.
    const ACTION: &'static str;

    /// The resource name the call is about (routing header, messages).
    fn resource(&self) -> &str;

    /// The least call time the request asks for: a call without a timeout
    /// of its own gets at least this much.
    fn time_needed(&self) -> Option<Duration> {
        None
    }

    /// The request one attempt sends, given what is left of the call.
    fn for_attempt(&self, _call: &CallContext) -> Self {
        self.clone()
    }

    /// One attempt over `transport`.
    fn attempt(
        transport: &dyn Transport,
        request: Self,
        call: CallContext,
    ) -> BoxFuture<Result<Self::Response>>;
}

/// One row of the table: the request type, its response, the RPC and the
/// transport method that sends one attempt, whether it is repeatable, what
/// its `name` field names, what a call does; then any hooks of its own.
macro_rules! method {
    (
        $request:ty => $response:ty, $rpc:ident via $send:ident,
        repeatable: $repeatable:literal, resource: $resource:literal, action: $action:literal
        $(, { $($hooks:tt)* })?
    ) => {
        impl Method for $request {
            type Response = $response;
            const RPC: Rpc = Rpc::$rpc;
            const REPEATABLE: bool = $repeatable;
            const RESOURCE: &'static str = $resource;
            const ACTION: &'static str = $action;

            fn resource(&self) -> &str {
                &self.name
            }

            fn attempt(
                transport: &dyn Transport,
                request: Self,
                call: CallContext,
            ) -> BoxFuture<Result<$response>> {
                transport.$send(request, call)
            }

            $($($hooks)*)?
        }
    };
}

method!(GetOperationRequest => Operation, GetOperation via get_operation,
    repeatable: true, resource: "operation", action: "getting operation");
method!(ListOperationsRequest => Page, ListOperations via list_operations,
    repeatable: true, resource: "parent", action: "listing operations of");
// Cancelling twice is harmless.
method!(CancelOperationRequest => (), CancelOperation via cancel_operation,
    repeatable: true, resource: "operation", action: "cancelling operation");
method!(DeleteOperationRequest => (), DeleteOperation via delete_operation,
    repeatable: false, resource: "operation", action: "deleting operation");
// The request's `timeout` is the wait the caller asked for; each attempt
// sends it fitted inside what is left of the call's deadline.
method!(WaitOperationRequest => Operation, WaitOperation via wait_operation,
    repeatable: true, resource: "operation", action: "waiting for operation", {
    fn time_needed(&self) -> Option<Duration> {
        requested_wait(self).map(|wait| wait.saturating_add(WAIT_CALL_MARGIN))
    }

    fn for_attempt(&self, call: &CallContext) -> Self {
        let server_wait = match (requested_wait(self), call.remaining()) {
            (Some(wait), Some(remaining)) => Some(wait.min(wait_within(remaining))),
            (None, Some(remaining)) => Some(wait_within(remaining)),
            (wait, None) => wait,
        };
        WaitOperationRequest {
            name: self.name.clone(),
            timeout: server_wait.map(proto_duration),
        }
    }
});

/// Extra call time granted beyond a requested wait timeout.
const WAIT_CALL_MARGIN: Duration = Duration::from_secs(10);

/// How much of a call's remaining time a server-side wait may use: all but
/// a tenth, at most one second, left for the reply to travel back.
fn wait_within(remaining: Duration) -> Duration {
    remaining.saturating_sub((remaining / 10).min(Duration::from_secs(1)))
}

/// The wait timeout a request was built with (`None` when unset or not a
/// valid duration).
fn requested_wait(request: &WaitOperationRequest) -> Option<Duration> {
    request
        .timeout
        .and_then(|timeout| Duration::try_from(timeout).ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits_leave_room_for_the_reply() {
        assert_eq!(
            wait_within(Duration::from_secs(60)),
            Duration::from_secs(59)
        );
        assert_eq!(
            wait_within(Duration::from_secs(5)),
            Duration::from_millis(4500)
        );
        assert_eq!(wait_within(Duration::ZERO), Duration::ZERO);
    }
}
