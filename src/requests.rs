//! Request builders returned by [`Client`]: `set_*` sets request fields,
//! `with_*` sets call options, and `send()` (or `.await`) runs the call.

use std::future::{Future, IntoFuture};
use std::pin::Pin;
use std::time::Duration;

use crate::client::{Client, require_name, shown_name};
use crate::error::Result;
use crate::operation::proto_duration;
use crate::options::CallOptions;
use crate::pager::{OperationStream, PageStream};
use crate::proto::longrunning::{
    CancelOperationRequest, DeleteOperationRequest, GetOperationRequest, ListOperationsRequest,
    ListOperationsResponse, Operation, WaitOperationRequest,
};
use crate::retry::RetryPolicy;
use crate::routes::Rpc;
use crate::task_filter::TaskFilter;
use crate::transport::rest::HttpPreview;

/// The per-call option setters every request builder has.
macro_rules! call_option_setters {
    () => {
        /// The total time this call may take, retries included.
        pub fn with_timeout(mut self, timeout: Duration) -> Self {
            self.options = self.options.with_timeout(timeout);
            self
        }

        /// Adds a request header for this call.
        pub fn with_header(mut self, name: impl AsRef<str>, value: impl AsRef<str>) -> Self {
            self.options = self.options.with_header(name, value);
            self
        }

        /// Replaces the retry policy for this call.
        pub fn with_retry_policy(mut self, policy: RetryPolicy) -> Self {
            self.options = self.options.with_retry_policy(policy);
            self
        }

        /// Replaces all per-call options.
        pub fn with_options(mut self, options: CallOptions) -> Self {
            self.options = options;
            self
        }
    };
}

/// Lets a builder be awaited directly: `client.get(name).await`.
macro_rules! awaitable {
    ($builder:ty, $output:ty) => {
        impl IntoFuture for $builder {
            type Output = Result<$output>;
            type IntoFuture = Pin<Box<dyn Future<Output = Result<$output>> + Send>>;

            fn into_future(self) -> Self::IntoFuture {
                Box::pin(self.send())
            }
        }
    };
}

/// `GetOperation`: the latest state of one operation.
#[derive(Clone, Debug)]
#[must_use = "a request does nothing until it is sent or awaited"]
pub struct GetOperation {
    client: Client,
    request: GetOperationRequest,
    options: CallOptions,
}

impl GetOperation {
    pub(crate) fn new(client: Client, name: String) -> Self {
        Self {
            client,
            request: GetOperationRequest { name },
            options: CallOptions::new(),
        }
    }

    /// The HTTP/JSON request this call stands for; nothing is sent.
    pub fn http_preview(&self) -> Result<HttpPreview> {
        require_name(&self.request.name, "operation")?;
        self.client.preview(
            Rpc::GetOperation,
            &self.request,
            "google.longrunning.GetOperationRequest",
            &self.request.name,
            &self.options,
        )
    }

    call_option_setters!();

    /// Sends the request.
    pub async fn send(self) -> Result<Operation> {
        let Self {
            client,
            request,
            options,
        } = self;
        let name = &request.name;
        client
            .execute(
                || format!("getting operation {}", shown_name(name)),
                name,
                &options,
                true,
                require_name(name, "operation"),
                |call| client.transport().get_operation(request.clone(), call),
            )
            .await
    }
}
awaitable!(GetOperation, Operation);

/// `ListOperations`: one page, every page, or every operation.
#[derive(Clone, Debug)]
#[must_use = "a request does nothing until it is sent, awaited or streamed"]
pub struct ListOperations {
    client: Client,
    request: ListOperationsRequest,
    options: CallOptions,
    task_filter: TaskFilter,
}

impl ListOperations {
    pub(crate) fn new(client: Client, parent: String) -> Self {
        Self {
            client,
            request: ListOperationsRequest {
                name: parent,
                ..Default::default()
            },
            options: CallOptions::new(),
            task_filter: TaskFilter::new(),
        }
    }

    /// Keeps only the operations that match `filter`, checked on the client
    /// against every operation of every page (a page may then hold fewer
    /// operations than the server sent, or none). This is right whatever
    /// the server does with filters; see [`TaskFilter`].
    pub fn with_task_filter(mut self, filter: TaskFilter) -> Self {
        self.task_filter = filter;
        self
    }

    /// A server-side filter, passed through as given, such as `done=false`:
    /// its grammar is the server's (Earth Engine documents none). For conditions on tasks that
    /// must hold whatever the server, use [`Self::with_task_filter`].
    pub fn set_filter(mut self, filter: impl Into<String>) -> Self {
        self.request.filter = filter.into();
        self
    }

    /// The most operations per page (the server may send fewer).
    pub fn set_page_size(mut self, page_size: i32) -> Self {
        self.request.page_size = page_size;
        self
    }

    /// Resumes from a page token a previous page returned.
    pub fn set_page_token(mut self, token: impl Into<String>) -> Self {
        self.request.page_token = token.into();
        self
    }

    /// The HTTP/JSON request for this page; nothing is sent.
    pub fn http_preview(&self) -> Result<HttpPreview> {
        require_name(&self.request.name, "parent")?;
        self.client.preview(
            Rpc::ListOperations,
            &self.request,
            "google.longrunning.ListOperationsRequest",
            &self.request.name,
            &self.options,
        )
    }

    call_option_setters!();

    /// Fetches one page from the current page token.
    pub async fn send(self) -> Result<ListOperationsResponse> {
        let Self {
            client,
            request,
            options,
            task_filter,
        } = self;
        let parent = request.name.clone();
        let mut page = client
            .execute(
                || format!("listing operations of {}", shown_name(&parent)),
                &parent,
                &options,
                true,
                require_name(&request.name, "parent"),
                |call| client.transport().list_operations(request.clone(), call),
            )
            .await?;
        page.operations
            .retain(|operation| task_filter.matches(operation));
        Ok(page)
    }

    /// Every page, following page tokens until the last one.
    pub fn pages(self) -> PageStream {
        PageStream::new(self)
    }

    /// Every operation of every page, in the server's order.
    pub fn operations(self) -> OperationStream {
        OperationStream::new(self.pages())
    }

    pub(crate) fn page_token(&self) -> &str {
        &self.request.page_token
    }
}
awaitable!(ListOperations, ListOperationsResponse);

/// `CancelOperation`: asks the server to cancel (asynchronous, best effort).
#[derive(Clone, Debug)]
#[must_use = "a request does nothing until it is sent or awaited"]
pub struct CancelOperation {
    client: Client,
    request: CancelOperationRequest,
    options: CallOptions,
}

impl CancelOperation {
    pub(crate) fn new(client: Client, name: String) -> Self {
        Self {
            client,
            request: CancelOperationRequest { name },
            options: CallOptions::new(),
        }
    }

    /// The HTTP/JSON request this call stands for; nothing is sent.
    pub fn http_preview(&self) -> Result<HttpPreview> {
        require_name(&self.request.name, "operation")?;
        self.client.preview(
            Rpc::CancelOperation,
            &self.request,
            "google.longrunning.CancelOperationRequest",
            &self.request.name,
            &self.options,
        )
    }

    call_option_setters!();

    /// Sends the request. Cancelling twice is harmless, so it is retried.
    pub async fn send(self) -> Result<()> {
        let Self {
            client,
            request,
            options,
        } = self;
        let name = request.name.clone();
        client
            .execute(
                || format!("cancelling operation {}", shown_name(&name)),
                &name,
                &options,
                true,
                require_name(&request.name, "operation"),
                |call| client.transport().cancel_operation(request.clone(), call),
            )
            .await
    }
}
awaitable!(CancelOperation, ());

/// `DeleteOperation`: forgets the result (does not cancel).
#[derive(Clone, Debug)]
#[must_use = "a request does nothing until it is sent or awaited"]
pub struct DeleteOperation {
    client: Client,
    request: DeleteOperationRequest,
    options: CallOptions,
}

impl DeleteOperation {
    pub(crate) fn new(client: Client, name: String) -> Self {
        Self {
            client,
            request: DeleteOperationRequest { name },
            options: CallOptions::new(),
        }
    }

    /// The HTTP/JSON request this call stands for; nothing is sent.
    pub fn http_preview(&self) -> Result<HttpPreview> {
        require_name(&self.request.name, "operation")?;
        self.client.preview(
            Rpc::DeleteOperation,
            &self.request,
            "google.longrunning.DeleteOperationRequest",
            &self.request.name,
            &self.options,
        )
    }

    call_option_setters!();

    /// Sends the request. Not retried: a repeated delete whose first reply
    /// was lost would report NOT_FOUND for a delete that worked.
    pub async fn send(self) -> Result<()> {
        let Self {
            client,
            request,
            options,
        } = self;
        let name = request.name.clone();
        client
            .execute(
                || format!("deleting operation {}", shown_name(&name)),
                &name,
                &options,
                false,
                require_name(&request.name, "operation"),
                |call| client.transport().delete_operation(request.clone(), call),
            )
            .await
    }
}
awaitable!(DeleteOperation, ());

/// How much of a call's remaining time a server-side wait may use: all but
/// a tenth, at most one second, left for the reply to travel back.
fn wait_within(remaining: Duration) -> Duration {
    remaining.saturating_sub((remaining / 10).min(Duration::from_secs(1)))
}

/// Extra call time granted beyond a requested wait timeout.
const WAIT_CALL_MARGIN: Duration = Duration::from_secs(10);

/// `WaitOperation`: blocks on the server until the operation is done or the
/// wait timeout passes, then returns the latest state (done or not).
#[derive(Clone, Debug)]
#[must_use = "a request does nothing until it is sent or awaited"]
pub struct WaitOperation {
    client: Client,
    name: String,
    wait_timeout: Option<Duration>,
    options: CallOptions,
}

impl WaitOperation {
    pub(crate) fn new(client: Client, name: String) -> Self {
        Self {
            client,
            name,
            wait_timeout: None,
            options: CallOptions::new(),
        }
    }

    /// The longest time the server should wait. Without one, the server
    /// waits for as long as the call's deadline allows. Either way the wait
    /// is kept inside the call's deadline; when no call timeout was set, the
    /// deadline is stretched to fit the wait.
    pub fn set_timeout(mut self, timeout: Duration) -> Self {
        self.wait_timeout = Some(timeout);
        self
    }

    /// The HTTP/JSON request this call stands for (with the wait timeout
    /// as set, before fitting it to the deadline); nothing is sent.
    pub fn http_preview(&self) -> Result<HttpPreview> {
        require_name(&self.name, "operation")?;
        let request = WaitOperationRequest {
            name: self.name.clone(),
            timeout: self.wait_timeout.map(proto_duration),
        };
        self.client.preview(
            Rpc::WaitOperation,
            &request,
            "google.longrunning.WaitOperationRequest",
            &self.name,
            &self.options,
        )
    }

    call_option_setters!();

    /// Sends the request.
    pub async fn send(self) -> Result<Operation> {
        let Self {
            client,
            name,
            wait_timeout,
            mut options,
        } = self;
        if let (None, Some(wait)) = (options.timeout, wait_timeout) {
            let default = client.call_timeout(&options).unwrap_or_default();
            options.timeout = Some(default.max(wait.saturating_add(WAIT_CALL_MARGIN)));
        }
        let action_name = name.clone();
        client
            .execute(
                || format!("waiting for operation {}", shown_name(&action_name)),
                &action_name,
                &options,
                true,
                require_name(&name, "operation"),
                |call| {
                    let server_wait = match (wait_timeout, call.remaining()) {
                        (Some(wait), Some(remaining)) => Some(wait.min(wait_within(remaining))),
                        (None, Some(remaining)) => Some(wait_within(remaining)),
                        (wait, None) => wait,
                    };
                    let request = WaitOperationRequest {
                        name: name.clone(),
                        timeout: server_wait.map(proto_duration),
                    };
                    client.transport().wait_operation(request, call)
                },
            )
            .await
    }
}
awaitable!(WaitOperation, Operation);

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
