//! Layers of your own around the HTTP requests a client sends: metrics,
//! rate limits, logging, anything written as a tower
//! [`Layer`] over an [`HttpService`].
//!
//! The layers sit below retries, credentials and deadlines: they see every
//! attempt as it goes on the wire, with its headers set (the bearer token
//! included, as a header value marked sensitive), and its response before
//! the client reads it. Over gRPC a request is the HTTP/2 request of the
//! call (`POST /google.longrunning.Operations/GetOperation`, the message
//! framed in its body); over REST it is the HTTP/JSON request.

use std::error::Error as StdError;
use std::future::{Future, poll_fn};
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};

use bytes::Bytes;
use futures_util::TryFutureExt;
use http::{Request, Response};
use http_body_util::combinators::UnsyncBoxBody;
use tower_layer::Layer;
use tower_service::Service;

use crate::error::{Error, Origin};
use crate::proto::rpc::Code;

/// An error of a layer or of the exchange below it.
pub type BoxError = Box<dyn StdError + Send + Sync>;

/// The body of requests and responses as layers see them.
pub type BoxBody = UnsyncBoxBody<Bytes, BoxError>;

type HttpFuture = Pin<Box<dyn Future<Output = Result<Response<BoxBody>, BoxError>> + Send>>;

/// One HTTP exchange, as a tower service: what a layer wraps, and what it
/// must turn into again (with [`HttpService::new`]).
///
/// The innermost one sends the request on the transport's connection. Its
/// errors should pass through layers unchanged: the client reads them to
/// tell a request that never left (sent again) from one that may have
/// reached the server. An error a layer makes of its own (a refusal, a
/// timeout) ends the attempt as `UNAVAILABLE`, saying a layer failed it
/// (retried like any other transient failure); a layer that fails with an
/// [`eeops::Error`](crate::Error) ends it with that error.
pub struct HttpService(Box<dyn CloneService>);

impl HttpService {
    /// A service of any type that exchanges [`BoxBody`] requests for
    /// [`BoxBody`] responses.
    pub fn new<S>(service: S) -> Self
    where
        S: Service<Request<BoxBody>, Response = Response<BoxBody>> + Clone + Send + 'static,
        S::Error: Into<BoxError>,
        S::Future: Send + 'static,
    {
        Self(Box::new(service))
    }
}

impl Clone for HttpService {
    fn clone(&self) -> Self {
        Self(self.0.clone_box())
    }
}

impl std::fmt::Debug for HttpService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("HttpService")
    }
}

impl Service<Request<BoxBody>> for HttpService {
    type Response = Response<BoxBody>;
    type Error = BoxError;
    type Future = HttpFuture;

    fn poll_ready(&mut self, context: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        self.0.poll_ready(context)
    }

    fn call(&mut self, request: Request<BoxBody>) -> HttpFuture {
        self.0.call(request)
    }
}

/// A service behind a box, cloneable.
trait CloneService: Send {
    fn poll_ready(&mut self, context: &mut Context<'_>) -> Poll<Result<(), BoxError>>;
    fn call(&mut self, request: Request<BoxBody>) -> HttpFuture;
    fn clone_box(&self) -> Box<dyn CloneService>;
}

impl<S> CloneService for S
where
    S: Service<Request<BoxBody>, Response = Response<BoxBody>> + Clone + Send + 'static,
    S::Error: Into<BoxError>,
    S::Future: Send + 'static,
{
    fn poll_ready(&mut self, context: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        Service::poll_ready(self, context).map_err(Into::into)
    }

    fn call(&mut self, request: Request<BoxBody>) -> HttpFuture {
        Box::pin(TryFutureExt::map_err(
            Service::call(self, request),
            Into::into,
        ))
    }

    fn clone_box(&self) -> Box<dyn CloneService> {
        Box::new(self.clone())
    }
}

type Wrap = dyn Fn(HttpService) -> HttpService + Send + Sync;

/// The layers a builder was given, the first outermost.
#[derive(Clone, Default)]
pub(crate) struct Layers(Vec<Arc<Wrap>>);

impl std::fmt::Debug for Layers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} layers", self.0.len())
    }
}

impl Layers {
    /// Adds `layer` inside the ones already given.
    pub(crate) fn push<L>(&mut self, layer: L)
    where
        L: Layer<HttpService> + Send + Sync + 'static,
        L::Service:
            Service<Request<BoxBody>, Response = Response<BoxBody>> + Clone + Send + 'static,
        <L::Service as Service<Request<BoxBody>>>::Error: Into<BoxError>,
        <L::Service as Service<Request<BoxBody>>>::Future: Send + 'static,
    {
        self.0
            .push(Arc::new(move |inner| HttpService::new(layer.layer(inner))));
    }

    /// `sender` inside every layer; `None` when there are none, so that a
    /// client without layers sends as it would without this module.
    pub(crate) fn around(&self, sender: HttpService) -> Option<Stack> {
        if self.0.is_empty() {
            return None;
        }
        let service = self.0.iter().rev().fold(sender, |inner, wrap| wrap(inner));
        Some(Stack(Arc::new(Mutex::new(service))))
    }
}

/// A transport's layers around its sender, shared by its calls: each
/// request goes through a clone, as tonic and hyper clone their services.
#[derive(Clone)]
pub(crate) struct Stack(Arc<Mutex<HttpService>>);

impl std::fmt::Debug for Stack {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Stack")
    }
}

impl Stack {
    /// Sends `request` through the layers. The sender's errors come out as
    /// they went in; a layer's own come out as a [`LayerError`].
    pub(crate) fn send(&self, request: Request<BoxBody>) -> HttpFuture {
        let mut service = self
            .0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        Box::pin(async move {
            let outcome = match poll_fn(|context| Service::poll_ready(&mut service, context)).await
            {
                Ok(()) => Service::call(&mut service, request).await,
                Err(error) => Err(error),
            };
            outcome.map_err(|error| match error.downcast::<SendFailure>() {
                Ok(failure) => failure.0,
                Err(own) => Box::new(LayerError(own)),
            })
        })
    }
}

/// What the innermost service fails with, wrapped so that it is told apart
/// from a layer's own errors when it comes out of the stack.
#[derive(Debug)]
pub(crate) struct SendFailure(pub(crate) BoxError);

impl std::fmt::Display for SendFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl StdError for SendFailure {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        Some(self.0.as_ref())
    }
}

/// An error a layer made of its own.
#[derive(Debug)]
pub(crate) struct LayerError(BoxError);

impl std::fmt::Display for LayerError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "a request layer failed the request: {}", self.0)
    }
}

impl StdError for LayerError {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        Some(self.0.as_ref())
    }
}

impl LayerError {
    /// The layer error in `cause`'s chain, if there is one.
    pub(crate) fn find<'a>(cause: &'a (dyn StdError + 'static)) -> Option<&'a LayerError> {
        crate::error::find_cause(cause)
    }

    /// The client's error for it: the layer's own [`Error`] when it failed
    /// with one; otherwise UNAVAILABLE naming the endpoint, as a request
    /// that was never sent, or, when the sender's error is inside it (a
    /// layer wrapped it), as one that may have been.
    pub(crate) fn to_error(&self, endpoint: &str) -> Error {
        if let Some(own) = self.0.downcast_ref::<Error>() {
            return own.clone();
        }
        let mut next: Option<&(dyn StdError + 'static)> = Some(self.0.as_ref());
        while let Some(cause) = next {
            if cause.is::<SendFailure>() {
                return Error::local(
                    Origin::NoReply,
                    Code::Unavailable,
                    format!("no reply from {endpoint}: {}", self.0),
                );
            }
            next = cause.source();
        }
        Error::local(
            Origin::Request,
            Code::Unavailable,
            format!(
                "a request layer failed the request to {endpoint}: {}",
                self.0
            ),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_layers_error_says_so_and_keeps_an_eeops_error_or_a_wrapped_send_failure() {
        let refused = LayerError("over the limit".into()).to_error("http://127.0.0.1:1");
        assert_eq!(refused.code(), Code::Unavailable);
        assert!(refused.is_never_sent(), "{refused:?}");
        assert!(
            refused
                .to_string()
                .contains("a request layer failed the request"),
            "{refused}"
        );

        let own = Error::new(Code::ResourceExhausted, "quota");
        let kept = LayerError(Box::new(own)).to_error("http://127.0.0.1:1");
        assert_eq!(kept.code(), Code::ResourceExhausted);

        #[derive(Debug)]
        struct Wrapped(SendFailure);
        impl std::fmt::Display for Wrapped {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("wrapped")
            }
        }
        impl StdError for Wrapped {
            fn source(&self) -> Option<&(dyn StdError + 'static)> {
                Some(&self.0)
            }
        }
        let wrapped = Wrapped(SendFailure("connection reset".into()));
        let maybe_sent = LayerError(Box::new(wrapped)).to_error("http://127.0.0.1:1");
        assert!(maybe_sent.is_no_reply(), "{maybe_sent:?}");
    }
}
