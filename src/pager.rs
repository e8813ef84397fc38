//! Pagination as streams: every page, or every operation of every page.
//! Pages come from a fetch function given each page's token, so this module
//! depends on no request type.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use futures_util::stream::{self, BoxStream, Stream, StreamExt, TryStreamExt};

use crate::error::{Error, Result};
use crate::proto::longrunning::{ListOperationsResponse, Operation};
use crate::proto::rpc::Code;

/// Every page of a listing, following page tokens. Ends after the first
/// error. Use [`PageStream::next`] without importing a trait, or any
/// `Stream` combinator.
#[must_use = "streams do nothing unless polled"]
pub struct PageStream {
    inner: BoxStream<'static, Result<ListOperationsResponse>>,
}

/// Every operation of a listing, page after page. Ends after the first error.
#[must_use = "streams do nothing unless polled"]
pub struct OperationStream {
    inner: BoxStream<'static, Result<Operation>>,
}

impl PageStream {
    /// The pages `fetch` returns, given each page's token, from
    /// `first_token` on; the stream knows nothing else about the listing.
    pub(crate) fn new<F, Fut>(first_token: String, fetch: F) -> Self
    where
        F: FnMut(String) -> Fut + Send + 'static,
        Fut: Future<Output = Result<ListOperationsResponse>> + Send + 'static,
    {
        let inner = stream::try_unfold(
            (Some(first_token), fetch),
            |(next, mut fetch)| async move {
                let Some(sent_token) = next else {
                    return Ok(None);
                };
                let page = fetch(sent_token.clone()).await?;
                let token = page.next_page_token.clone();
                if !token.is_empty() && token == sent_token {
                    return Err(Error::new(
                        Code::Internal,
                        format!(
                            "the server returned the page token it was sent ({token:?}); stopping rather than looping"
                        ),
                    ));
                }
                let following = (!token.is_empty()).then_some(token);
                Ok(Some((page, (following, fetch))))
            },
        );
        Self {
            inner: inner.boxed(),
        }
    }

    /// The next page, `None` after the last one or after an error.
    pub async fn next(&mut self) -> Option<Result<ListOperationsResponse>> {
        StreamExt::next(&mut self.inner).await
    }
}

impl OperationStream {
    pub(crate) fn new(pages: PageStream) -> Self {
        let inner = pages
            .inner
            .map_ok(|page| stream::iter(page.operations.into_iter().map(Ok)))
            .try_flatten();
        Self {
            inner: inner.boxed(),
        }
    }

    /// The next operation, `None` after the last one or after an error.
    pub async fn next(&mut self) -> Option<Result<Operation>> {
        StreamExt::next(&mut self.inner).await
    }

    /// Collects every operation, stopping at the first error.
    pub async fn try_collect(self) -> Result<Vec<Operation>> {
        TryStreamExt::try_collect(self.inner).await
    }
}

impl Stream for PageStream {
    type Item = Result<ListOperationsResponse>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.inner.poll_next_unpin(cx)
    }
}

impl Stream for OperationStream {
    type Item = Result<Operation>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.inner.poll_next_unpin(cx)
    }
}

impl std::fmt::Debug for PageStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PageStream")
    }
}

impl std::fmt::Debug for OperationStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("OperationStream")
    }
}
