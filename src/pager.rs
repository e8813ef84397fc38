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

/// A page as the operation stream walks it: its operations, which may be
/// read as they are asked for and so may fail one by one, then the token of
/// the page after it (empty on the last page).
pub(crate) trait OperationPage: Send + 'static {
    /// The next operation; `None` after the last, or after an error.
    fn next_operation(&mut self) -> Option<Result<Operation>>;

    /// The next page's token, once the operations are used up.
    fn next_page_token(&mut self) -> Result<String>;
}

/// The token to fetch after a page fetched with `sent` that gave `given`:
/// none after the last page. A server that gives back the token it was
/// sent would be asked for the same page forever.
fn following(sent: &str, given: &str) -> Result<Option<String>> {
    if !given.is_empty() && given == sent {
        return Err(Error::new(
            Code::Internal,
            format!(
                "the server returned the page token it was sent ({given:?}); stopping rather than looping"
            ),
        ));
    }
    Ok((!given.is_empty()).then(|| given.to_owned()))
}

/// Where a walk through the operations of a listing is.
struct Walk<P, F> {
    /// The page being read, and the token it was fetched with.
    page: Option<(P, String)>,
    /// The token of the page to fetch when this one is used up.
    next: Option<String>,
    fetch: F,
}

impl PageStream {
    /// The pages `fetch` returns, given each page's token, from
    /// `first_token` on; the stream knows nothing else about the listing.
    pub(crate) fn new<F, Fut>(first_token: String, fetch: F) -> Self
    where
        F: FnMut(String) -> Fut + Send + 'static,
        Fut: Future<Output = Result<ListOperationsResponse>> + Send + 'static,
    {
        let pages =
            stream::try_unfold((Some(first_token), fetch), |(next, mut fetch)| async move {
                let Some(sent_token) = next else {
                    return Ok(None);
                };
                let page = fetch(sent_token.clone()).await?;
                let following = following(&sent_token, &page.next_page_token)?;
                Ok(Some((page, (following, fetch))))
            });
        Self {
            inner: pages.boxed(),
        }
    }

    /// The next page, `None` after the last one or after an error.
    pub async fn next(&mut self) -> Option<Result<ListOperationsResponse>> {
        StreamExt::next(&mut self.inner).await
    }
}

impl OperationStream {
    /// The operations of the pages `fetch` returns, given each page's
    /// token, from `first_token` on. A page is fetched when the operations
    /// before it are used up.
    pub(crate) fn new<P, F, Fut>(first_token: String, fetch: F) -> Self
    where
        P: OperationPage,
        F: FnMut(String) -> Fut + Send + 'static,
        Fut: Future<Output = Result<P>> + Send + 'static,
    {
        let walk: Walk<P, F> = Walk {
            page: None,
            next: Some(first_token),
            fetch,
        };
        let operations = stream::try_unfold(walk, |mut walk| async move {
            loop {
                if let Some((page, sent)) = &mut walk.page {
                    if let Some(operation) = page.next_operation() {
                        return operation.map(|operation| Some((operation, walk)));
                    }
                    walk.next = following(sent, &page.next_page_token()?)?;
                    walk.page = None;
                }
                let Some(token) = walk.next.take() else {
                    return Ok(None);
                };
                let page = (walk.fetch)(token.clone()).await?;
                walk.page = Some((page, token));
            }
        });
        Self {
            inner: operations.boxed(),
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

#[cfg(test)]
mod tests {
    use std::collections::HashMap;
    use std::sync::{Arc, Mutex};

    use super::*;

    /// A page of the fake server: its operations (an `Err` stands for one
    /// that cannot be read) and the token it gives.
    #[derive(Clone)]
    struct FakePage {
        operations: Vec<std::result::Result<&'static str, &'static str>>,
        token: &'static str,
    }

    struct Walked {
        operations: std::vec::IntoIter<std::result::Result<&'static str, &'static str>>,
        token: &'static str,
    }

    impl OperationPage for Walked {
        fn next_operation(&mut self) -> Option<Result<Operation>> {
            Some(match self.operations.next()? {
                Ok(name) => Ok(Operation {
                    name: name.to_owned(),
                    ..Operation::default()
                }),
                Err(why) => Err(Error::new(Code::Internal, why)),
            })
        }

        fn next_page_token(&mut self) -> Result<String> {
            Ok(self.token.to_owned())
        }
    }

    /// The tokens a server was asked with, in order.
    type Asked = Arc<Mutex<Vec<String>>>;

    /// A server of `pages` by the token that asks for each, and the tokens
    /// it was asked with.
    fn server(
        pages: &[(&'static str, FakePage)],
    ) -> (
        impl FnMut(String) -> std::future::Ready<Result<FakePage>> + Send + 'static,
        Asked,
    ) {
        let pages: HashMap<_, _> = pages.iter().cloned().collect();
        let asked = Arc::new(Mutex::new(Vec::new()));
        let seen = Arc::clone(&asked);
        let fetch = move |token: String| {
            seen.lock().expect("not poisoned").push(token.clone());
            std::future::ready(
                pages
                    .get(token.as_str())
                    .cloned()
                    .ok_or_else(|| Error::new(Code::NotFound, format!("no page {token:?}"))),
            )
        };
        (fetch, asked)
    }

    async fn walk(pages: &[(&'static str, FakePage)]) -> (Vec<String>, Vec<String>) {
        let (mut fetch, asked) = server(pages);
        let mut stream = OperationStream::new(String::new(), move |token| {
            let page = fetch(token);
            async move {
                page.await.map(|page| Walked {
                    operations: page.operations.into_iter(),
                    token: page.token,
                })
            }
        });
        let mut seen = Vec::new();
        while let Some(item) = stream.next().await {
            seen.push(item.map_or_else(|e| format!("error: {}", e.message()), |op| op.name));
        }
        let asked = asked.lock().expect("not poisoned").clone();
        (seen, asked)
    }

    fn page(
        operations: &[std::result::Result<&'static str, &'static str>],
        token: &'static str,
    ) -> FakePage {
        FakePage {
            operations: operations.to_vec(),
            token,
        }
    }

    #[tokio::test]
    async fn operations_come_page_after_page_and_each_page_is_asked_for_once() {
        let (seen, asked) = walk(&[
            ("", page(&[Ok("a"), Ok("b")], "t1")),
            ("t1", page(&[], "t2")),
            ("t2", page(&[Ok("c")], "")),
        ])
        .await;
        assert_eq!(seen, ["a", "b", "c"]);
        assert_eq!(asked, ["", "t1", "t2"]);
    }

    #[tokio::test]
    async fn an_operation_that_cannot_be_read_ends_the_stream_there() {
        let (seen, asked) = walk(&[
            ("", page(&[Ok("a"), Err("bad"), Ok("b")], "t1")),
            ("t1", page(&[Ok("c")], "")),
        ])
        .await;
        assert_eq!(seen, ["a", "error: bad"]);
        assert_eq!(asked, [""], "the next page is not fetched");
    }

    #[tokio::test]
    async fn a_server_that_gives_back_the_token_it_was_sent_is_not_asked_again() {
        let (seen, asked) =
            walk(&[("", page(&[Ok("a")], "t1")), ("t1", page(&[Ok("b")], "t1"))]).await;
        assert_eq!(seen.len(), 3, "{seen:?}");
        assert!(seen[2].contains("stopping rather than looping"), "{seen:?}");
        assert_eq!(asked, ["", "t1"]);

        let (mut fetch, asked) =
            server(&[("", page(&[Ok("a")], "t1")), ("t1", page(&[Ok("b")], "t1"))]);
        let mut pages = PageStream::new(String::new(), move |token| {
            let page = fetch(token);
            async move {
                page.await.map(|page| ListOperationsResponse {
                    next_page_token: page.token.to_owned(),
                    ..ListOperationsResponse::default()
                })
            }
        });
        assert!(pages.next().await.is_some_and(|page| page.is_ok()));
        let looped = pages.next().await.expect("an item").expect_err("a loop");
        assert!(looped.message().contains("stopping rather than looping"));
        assert!(pages.next().await.is_none());
        assert_eq!(*asked.lock().expect("not poisoned"), ["", "t1"]);
    }
}
