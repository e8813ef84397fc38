//! Request builders returned by [`Client`](crate::Client): `set_*` sets
//! request fields, `with_*` sets call options, and `send()` (or `.await`)
//! runs the call. Each builder holds the client's call pipeline, its request
//! and its options; sending is written once, for every RPC, over the
//! description in `methods.rs`.

use std::future::{Future, IntoFuture};
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use crate::call::{Pipeline, action_of};
use crate::error::Result;
use crate::methods::Method;
use crate::operation::proto_duration;
use crate::options::{CallOptions, NO_OPTIONS};
use crate::pager::{OperationPage, OperationStream, PageStream};
use crate::proto::longrunning::{
    CancelOperationRequest, DeleteOperationRequest, GetOperationRequest, ListOperationsRequest,
    ListOperationsResponse, Operation, WaitOperationRequest,
};
use crate::retry::RetryPolicy;
use crate::task_filter::TaskFilter;
use crate::transport::page::Page;
use crate::transport::rest::HttpPreview;

/// What every builder holds: the pipeline, the request and the call's own
/// options.
#[derive(Clone, Debug)]
struct Call<M> {
    pipeline: Arc<Pipeline>,
    request: M,
    /// The call's own options, boxed: most calls set none, and every
    /// call's future holds this struct.
    options: Option<Box<CallOptions>>,
}

impl<M: Method> Call<M> {
    fn new(pipeline: Arc<Pipeline>, request: M) -> Self {
        Self {
            pipeline,
            request,
            options: None,
        }
    }

    fn options(&self) -> &CallOptions {
        self.options.as_deref().unwrap_or(&NO_OPTIONS)
    }

    fn change_options(&mut self, change: impl FnOnce(CallOptions) -> CallOptions) {
        let own = self
            .options
            .take()
            .map_or_else(CallOptions::new, |own| *own);
        self.options = Some(Box::new(change(own)));
    }

    async fn send(self) -> Result<M::Response> {
        self.pipeline.call(&self.request, self.options()).await
    }

    fn http_preview(&self) -> Result<HttpPreview> {
        self.pipeline.preview(&self.request, self.options())
    }
}

/// The parts every public builder shares, over its `call` field: the
/// per-call option setters, the preview, and `.await` for `send()`.
macro_rules! request_builder {
    ($builder:ident, $output:ty) => {
        impl $builder {
            /// The HTTP/JSON request this call stands for; nothing is sent.
            pub fn http_preview(&self) -> Result<HttpPreview> {
                self.call.http_preview()
            }

            /// The total time this call may take, retries included.
            pub fn with_timeout(mut self, timeout: Duration) -> Self {
                self.call.change_options(|own| own.with_timeout(timeout));
                self
            }

            /// Adds a request header for this call.
            pub fn with_header(mut self, name: impl AsRef<str>, value: impl AsRef<str>) -> Self {
                self.call.change_options(|own| own.with_header(name, value));
                self
            }

            /// Replaces the retry policy for this call.
            pub fn with_retry_policy(mut self, policy: RetryPolicy) -> Self {
                self.call
                    .change_options(|own| own.with_retry_policy(policy));
                self
            }

            /// Replaces all per-call options.
            pub fn with_options(mut self, options: CallOptions) -> Self {
                self.call.options = Some(Box::new(options));
                self
            }
        }

        /// Lets the builder be awaited directly: `client.get(name).await`.
        impl IntoFuture for $builder {
            type Output = Result<$output>;
            type IntoFuture = Pin<Box<dyn Future<Output = Result<$output>> + Send>>;

            fn into_future(self) -> Self::IntoFuture {
                Box::pin(self.send())
            }
        }
    };
}

/// A builder whose `send()` is the call itself.
macro_rules! plain_request_builder {
    ($(#[$doc:meta])* $builder:ident($request:ty) -> $output:ty) => {
        $(#[$doc])*
        #[derive(Clone, Debug)]
        #[must_use = "a request does nothing until it is sent or awaited"]
        pub struct $builder {
            call: Call<$request>,
        }

        impl $builder {
            pub(crate) fn new(pipeline: Arc<Pipeline>, request: $request) -> Self {
                Self {
                    call: Call::new(pipeline, request),
                }
            }

            /// Sends the request.
            pub fn send(self) -> impl Future<Output = Result<$output>> + Send + 'static {
                self.call.send()
            }
        }

        request_builder!($builder, $output);
    };
}

plain_request_builder!(
    /// `GetOperation`: the latest state of one operation.
    GetOperation(GetOperationRequest) -> Operation
);

plain_request_builder!(
    /// `CancelOperation`: asks the server to cancel (asynchronous, best
    /// effort). Cancelling twice is harmless, so it is retried.
    CancelOperation(CancelOperationRequest) -> ()
);

plain_request_builder!(
    /// `DeleteOperation`: forgets the result (does not cancel). Not retried:
    /// a repeated delete whose first reply was lost would report NOT_FOUND
    /// for a delete that worked.
    DeleteOperation(DeleteOperationRequest) -> ()
);

plain_request_builder!(
    /// `WaitOperation`, once (see [`Client::wait_once`](crate::Client::wait_once)):
    /// the server answers when the operation is done or when its wait ends,
    /// so the operation returned may not be done. The preview shows the
    /// server wait as set, before it is fitted to the deadline.
    WaitOperation(WaitOperationRequest) -> Operation
);

/// `ListOperations`: one page, every page, or every operation.
#[derive(Clone, Debug)]
#[must_use = "a request does nothing until it is sent, awaited or streamed"]
pub struct ListOperations {
    call: Call<ListOperationsRequest>,
    task_filter: TaskFilter,
}

request_builder!(ListOperations, ListOperationsResponse);

impl ListOperations {
    pub(crate) fn new(pipeline: Arc<Pipeline>, request: ListOperationsRequest) -> Self {
        Self {
            call: Call::new(pipeline, request),
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
        self.call.request.filter = filter.into();
        self
    }

    /// The most operations per page (the server may send fewer).
    pub fn set_page_size(mut self, page_size: i32) -> Self {
        self.call.request.page_size = page_size;
        self
    }

    /// Resumes from a page token a previous page returned.
    pub fn set_page_token(mut self, token: impl Into<String>) -> Self {
        self.call.request.page_token = token.into();
        self
    }

    /// Fetches one page from the current page token.
    pub async fn send(self) -> Result<ListOperationsResponse> {
        let Self { call, task_filter } = self;
        let page = call.pipeline.call(&call.request, call.options()).await?;
        // The action is written out only for an error.
        let mut page = page
            .into_response()
            .map_err(|error| error.with_action(action_of(&call.request)))?;
        page.operations
            .retain(|operation| task_filter.matches(operation));
        Ok(page)
    }

    /// Every page, following page tokens until the last one.
    pub fn pages(self) -> PageStream {
        let first = self.call.request.page_token.clone();
        PageStream::new(first, move |token| {
            self.clone().set_page_token(token).send()
        })
    }

    /// Every operation of every page, in the server's order. Each
    /// operation is decoded from its page's reply when it is asked for: an
    /// operation the server sent malformed ends the stream with an error
    /// there, after the ones before it.
    pub fn operations(self) -> OperationStream {
        let first = self.call.request.page_token.clone();
        let action: Arc<str> = action_of(&self.call.request).into();
        OperationStream::new(first, move |token| {
            let Self { call, task_filter } = self.clone().set_page_token(token);
            let action = Arc::clone(&action);
            async move {
                Ok(Listed {
                    page: call.send().await?,
                    task_filter,
                    action,
                })
            }
        })
    }
}

/// A page of a listing as its operation stream reads it: only the
/// operations the task filter keeps, and errors that say what the call was
/// doing.
struct Listed {
    page: Page,
    task_filter: TaskFilter,
    action: Arc<str>,
}

impl OperationPage for Listed {
    fn next_operation(&mut self) -> Option<Result<Operation>> {
        loop {
            match self.page.next_operation()? {
                Ok(operation) if !self.task_filter.matches(&operation) => {}
                Ok(operation) => return Some(Ok(operation)),
                Err(error) => return Some(Err(error.with_action(&*self.action))),
            }
        }
    }

    fn next_page_token(&mut self) -> Result<String> {
        self.page
            .finish()
            .map(|end| end.next_page_token)
            .map_err(|error| error.with_action(&*self.action))
    }
}

impl WaitOperation {
    /// How long the server may wait for the operation to be done before it
    /// answers anyway (the request's `timeout` field). Unset, the server
    /// waits for as long as the call's deadline allows. Either way the wait
    /// is fitted inside the call's deadline ([`Self::with_timeout`]); when
    /// no call timeout was set, the deadline is stretched to fit the wait.
    pub fn set_server_wait(mut self, wait: Duration) -> Self {
        self.call.request.timeout = Some(proto_duration(wait));
        self
    }

    /// The old name of [`Self::set_server_wait`].
    #[deprecated(
        since = "0.2.0",
        note = "the server's wait is `set_server_wait`; the call's deadline is `with_timeout`"
    )]
    pub fn set_timeout(self, wait: Duration) -> Self {
        self.set_server_wait(wait)
    }
}

#[cfg(test)]
mod tests {
    use crate::{Client, Credentials, TransportKind};

    /// The largest block glibc's allocator serves from its per-thread cache
    /// (on 64-bit Linux). A call awaited on its builder allocates its whole
    /// future; above this size that takes the locked, slower path: about
    /// 5,500 instructions more per REST Get at 256 calls in flight.
    const ALLOCATOR_FAST_PATH: usize = 1032;

    #[tokio::test]
    async fn the_futures_of_calls_on_one_operation_fit_the_allocators_fast_path() {
        let client = Client::builder()
            .with_endpoint("http://127.0.0.1:9")
            .with_transport(TransportKind::Rest)
            .with_credentials(Credentials::anonymous())
            .build()
            .expect("a client of a well-formed endpoint");
        let name = "projects/p/operations/x";
        let sizes = [
            ("get", size_of_val(&client.get(name).send())),
            ("cancel", size_of_val(&client.cancel(name).send())),
            ("delete", size_of_val(&client.delete(name).send())),
            ("wait", size_of_val(&client.wait_once(name).send())),
        ];
        for (call, size) in sizes {
            assert!(size <= ALLOCATOR_FAST_PATH, "{call}: {size} bytes");
        }
    }
}
