//! The one call pipeline every RPC goes through, whatever the transport:
//! the call's options over the client's defaults, the deadline, credentials
//! (found and fetched inside the deadline, a token per attempt), the
//! request headers, the retry loop, and previews of what would be sent.
//!
//! A token the server refuses is one more reason to retry, decided here: the
//! token is dropped, and the next attempt — counted like any other — goes at
//! once with a new one, even for a call that is not repeatable (the server
//! refused it before acting). A second refusal ends the call. Only the
//! server's own UNAUTHENTICATED counts: a proxy asking for its credentials
//! (HTTP 407) fails the call as it is.

use std::sync::atomic::{AtomicU8, Ordering};

use http::{HeaderMap, HeaderName, HeaderValue};
use tokio::time::Instant;
use tracing::Instrument;

use crate::auth::{CredentialSearch, Credentials, before};
use crate::error::{Error, Origin, Result};
use crate::methods::Method;
use crate::names::check_fits_routes;
use crate::options::{CallContext, CallOptions, append_headers};
use crate::proto::rpc::Code;
use crate::retry::{self, RetryPolicy};
use crate::routes::{Routes, Rpc};
use crate::telemetry::{self, Server};
use crate::transport::Transport;
use crate::transport::rest::{self as rest_transport, HttpPreview};

/// What a client is built from, as the pipeline needs it.
pub(crate) struct Setup {
    pub(crate) transport: Box<dyn Transport>,
    pub(crate) endpoint: String,
    pub(crate) routes: Routes,
    /// Given, or `None` to search on first use.
    pub(crate) credentials: Option<Credentials>,
    pub(crate) search: CredentialSearch,
    /// The builder's options (timeout, headers).
    pub(crate) defaults: CallOptions,
    pub(crate) quota_project: Option<String>,
    pub(crate) retry: RetryPolicy,
}

/// A client's calls: shared by the client and every request builder.
#[derive(Debug)]
pub(crate) struct Pipeline {
    transport: Box<dyn Transport>,
    endpoint: String,
    /// The endpoint's host and port, as spans name them.
    server: Server,
    routes: Routes,
    /// Given, or found on first use.
    credentials: tokio::sync::OnceCell<Credentials>,
    search: CredentialSearch,
    /// The builder's options, merged once: what a call that sets none of
    /// its own runs with, and what a call's own options go over. Their
    /// headers are left out: every call sends them from `fixed_headers`.
    defaults: CallOptions,
    /// The headers every call carries, converted once: the builder's own
    /// and `x-goog-api-client`.
    fixed_headers: HeaderMap,
    /// `x-goog-user-project` when the builder or the environment names it.
    quota_header: Option<HeaderValue>,
    retry: RetryPolicy,
}

impl Pipeline {
    pub(crate) fn new(setup: Setup) -> Result<Self> {
        Ok(Self {
            fixed_headers: fixed_headers(&setup.defaults)?,
            quota_header: setup
                .quota_project
                .as_deref()
                .map(quota_header)
                .transpose()?,
            defaults: CallOptions::new().over(&setup.defaults),
            transport: setup.transport,
            server: Server::of(&setup.endpoint),
            endpoint: setup.endpoint,
            routes: setup.routes,
            credentials: tokio::sync::OnceCell::new_with(setup.credentials),
            search: setup.search,
            retry: setup.retry,
        })
    }

    /// The endpoint calls go to.
    pub(crate) fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// Runs one call: the request, retried as its method and the policy
    /// allow; the error says what the call was doing.
    pub(crate) async fn call<M: Method>(
        &self,
        request: &M,
        options: &CallOptions,
    ) -> Result<M::Response> {
        // Most calls set no options of their own and use the defaults merged
        // once; merged ones are boxed, because this future is allocated for
        // every call and without them inline it stays small enough for the
        // allocator's fast path.
        let merged = self.merge(options, request);
        let options = merged.as_deref().unwrap_or(&self.defaults);
        let span = telemetry::call_span(
            M::RPC,
            self.transport.rpc_system(),
            &self.server,
            request.resource(),
        );
        async {
            let outcome = self.run(request, options).await;
            let span = tracing::Span::current();
            if !span.is_disabled() {
                // An `auto` client knows its protocol once a call is through.
                span.record("rpc.system", self.transport.rpc_system());
                telemetry::record_outcome(&span, &outcome);
            }
            outcome
        }
        .instrument(span)
        .await
        .map_err(|error| error.with_action(action_of(request)))
    }

    async fn run<M: Method>(&self, request: &M, options: &CallOptions) -> Result<M::Response> {
        let resource = request.resource();
        // The options first: they may hold why the name is missing.
        options
            .check()
            .and_then(|()| require_name(resource, M::RESOURCE))
            .and_then(|()| check_fits_routes(&self.routes, M::RPC, M::RESOURCE, resource))
            .map_err(|error| error.with_origin(Origin::Request))?;
        let deadline = options.timeout.map(|timeout| Instant::now() + timeout);
        let policy = options.retry.as_ref().unwrap_or(&self.retry);
        let credentials = self
            .credentials(deadline)
            .await
            .map_err(|error| error.with_origin(Origin::Credentials))?;
        let refusal = Refusal::default();
        let refusal = &refusal;
        // Every request sent, re-sends of ones that never arrived included.
        let mut attempts = 0;
        let counted = &mut attempts;
        let outcome = retry::run(
            policy,
            M::REPEATABLE,
            deadline,
            |_| refusal.take(),
            |_| {
                *counted += 1;
                let span = telemetry::attempt_span(
                    M::RPC,
                    self.transport.rpc_system(),
                    &self.server,
                    *counted,
                );
                let attempt = Attempt {
                    credentials,
                    refusal,
                    deadline,
                    options,
                };
                async move {
                    let outcome = self.attempt(request, attempt).await;
                    telemetry::record_outcome(&tracing::Span::current(), &outcome);
                    outcome
                }
                .instrument(span)
            },
        )
        .await;
        tracing::Span::current().record("eeops.attempts", attempts);
        outcome
    }

    /// Sends one attempt of a call: a token, the headers, the request for
    /// the time left.
    async fn attempt<M: Method>(&self, request: &M, attempt: Attempt<'_>) -> Result<M::Response> {
        let Attempt {
            credentials,
            refusal,
            deadline,
            options,
        } = attempt;
        let token = credentials
            .token(deadline)
            .await
            .map_err(|error| error.with_origin(Origin::Credentials))?;
        // Built for each attempt rather than cloned: most calls make one.
        let mut headers = self.request_headers(M::RPC, credentials, request.resource(), options)?;
        if let Some(token) = &token {
            headers.insert(http::header::AUTHORIZATION, token.bearer_header()?);
        }
        let call = CallContext { deadline, headers };
        let sent = request.for_attempt(&call);
        let outcome = M::attempt(self.transport.as_ref(), sent, call).await;
        if let (Err(error), Some(token)) = (&outcome, &token)
            && is_token_refusal(error)
            && credentials.can_refresh()
            && refusal.note()
        {
            tracing::info!(
                source = credentials.description(),
                reason = %error,
                "the server refused the access token; replacing it"
            );
            credentials.refused(token);
        }
        outcome
    }

    /// What a call would send over HTTP/JSON with this client's routes and
    /// options, whatever its transport; nothing is sent.
    pub(crate) fn preview<M: Method>(
        &self,
        request: &M,
        options: &CallOptions,
    ) -> Result<HttpPreview> {
        let resource = request.resource();
        require_name(resource, M::RESOURCE)?;
        check_fits_routes(&self.routes, M::RPC, M::RESOURCE, resource)?;
        let merged = self.merge(options, request);
        let options = merged.as_deref().unwrap_or(&self.defaults);
        options.check()?;
        // Known credentials show as a redacted bearer token; ones still to be
        // found show as what they will be once found.
        let headers = match self.credentials.get() {
            Some(credentials) => {
                let mut headers = self.request_headers(M::RPC, credentials, resource, options)?;
                if !credentials.is_anonymous() {
                    headers.insert(
                        http::header::AUTHORIZATION,
                        HeaderValue::from_static("Bearer <redacted>"),
                    );
                }
                headers
            }
            None => self.request_headers(M::RPC, &Credentials::anonymous(), resource, options)?,
        };
        let context = CallContext {
            deadline: options.timeout.map(|timeout| Instant::now() + timeout),
            headers,
        };
        rest_transport::preview(&self.endpoint, &self.routes, M::RPC, request, &context)
    }

    /// A call's own options over the client's defaults; `None` when the
    /// defaults serve as they are. A call without a timeout of its own gets
    /// at least the time its request needs (a long server-side wait).
    fn merge<M: Method>(&self, own: &CallOptions, request: &M) -> Option<Box<CallOptions>> {
        let stretch = request.time_needed().filter(|_| own.timeout.is_none());
        if own.is_empty() && stretch.is_none() {
            return None;
        }
        let mut merged = own.over(&self.defaults);
        if let Some(needed) = stretch {
            merged.timeout = Some(merged.timeout.unwrap_or_default().max(needed));
        }
        Some(Box::new(merged))
    }

    /// The credentials calls are made with: those given, or the ones the
    /// credential search finds (once, on first use; by `deadline`).
    pub(crate) async fn credentials(&self, deadline: Option<Instant>) -> Result<&Credentials> {
        if let Some(credentials) = self.credentials.get() {
            return Ok(credentials);
        }
        // The search is boxed so that its large future is not part of every
        // call's.
        Box::pin(before(deadline, self.find_credentials(), || {
            Error::new(
                Code::DeadlineExceeded,
                "looking for credentials did not finish before the call's deadline",
            )
        }))
        .await
    }

    async fn find_credentials(&self) -> Result<&Credentials> {
        self.credentials
            .get_or_try_init(|| async {
                let found = self.search.find().await?;
                tracing::info!(credentials = %found, "credentials");
                Ok::<_, Error>(found)
            })
            .await
    }

    /// The headers of a call besides the bearer token: the client's own,
    /// the call's, the quota project and routing.
    fn request_headers(
        &self,
        rpc: Rpc,
        credentials: &Credentials,
        resource: &str,
        options: &CallOptions,
    ) -> Result<HeaderMap> {
        let fixed = &self.fixed_headers;
        // Made at the size it ends at, with what the transport adds, so
        // that it never grows. Most calls end with six headers or fewer,
        // which fit the allocator's per-thread cache; more take its slower
        // path.
        let own = fixed.len()
            + options.headers.len()
            + usize::from(!resource.is_empty())
            // The token and `x-goog-user-project`.
            + if credentials.is_anonymous() { 0 } else { 2 };
        let mut headers = HeaderMap::with_capacity(own + self.transport.headers_added(rpc));
        for (name, value) in fixed {
            headers.append(name.clone(), value.clone());
        }
        append_headers(&mut headers, &options.headers)?;
        if !credentials.is_anonymous() {
            let quota = match (&self.quota_header, credentials.quota_project()) {
                (Some(header), _) => Some(header.clone()),
                (None, Some(project)) => Some(quota_header(project)?),
                (None, None) => None,
            };
            if let Some(quota) = quota {
                headers.insert(X_GOOG_USER_PROJECT, quota);
            }
        }
        if !resource.is_empty() {
            headers.insert(X_GOOG_REQUEST_PARAMS, request_params(resource)?);
        }
        Ok(headers)
    }
}

/// Whether `error` is the server refusing the call's token: UNAUTHENTICATED
/// in the endpoint's own answer. The same code from anywhere else — a proxy
/// that wants credentials of its own (HTTP 407), a token source — says
/// nothing about the token, and a new one would not help.
fn is_token_refusal(error: &Error) -> bool {
    error.code() == Code::Unauthenticated && error.is_from_server()
}

/// What every attempt of a call shares.
#[derive(Clone, Copy)]
struct Attempt<'a> {
    credentials: &'a Credentials,
    refusal: &'a Refusal,
    deadline: Option<Instant>,
    options: &'a CallOptions,
}

/// Whether the server refused one of a call's tokens: the first refusal
/// replaces the token and retries at once; a second ends the call.
#[derive(Default)]
struct Refusal(AtomicU8);

impl Refusal {
    const NONE: u8 = 0;
    const JUST_NOW: u8 = 1;
    const REPLACED: u8 = 2;

    /// Notes a refusal; true for the call's first only.
    fn note(&self) -> bool {
        self.0
            .compare_exchange(
                Self::NONE,
                Self::JUST_NOW,
                Ordering::Relaxed,
                Ordering::Relaxed,
            )
            .is_ok()
    }

    /// Whether the attempt that just failed was that first refusal.
    fn take(&self) -> bool {
        self.0
            .compare_exchange(
                Self::JUST_NOW,
                Self::REPLACED,
                Ordering::Relaxed,
                Ordering::Relaxed,
            )
            .is_ok()
    }
}

/// `x-goog-api-client`: who is calling, as Google's client libraries say it.
pub(crate) const API_CLIENT: &str = concat!(
    "gl-rust/",
    env!("EEOPS_RUSTC_VERSION"),
    " eeops/",
    env!("CARGO_PKG_VERSION")
);

const X_GOOG_REQUEST_PARAMS: HeaderName = HeaderName::from_static("x-goog-request-params");
const X_GOOG_USER_PROJECT: HeaderName = HeaderName::from_static("x-goog-user-project");
const X_GOOG_API_CLIENT: HeaderName = HeaderName::from_static("x-goog-api-client");

/// The headers every call of a client carries: its default headers and
/// `x-goog-api-client`.
fn fixed_headers(defaults: &CallOptions) -> Result<HeaderMap> {
    let mut headers = HeaderMap::new();
    append_headers(&mut headers, &defaults.headers)?;
    headers.insert(X_GOOG_API_CLIENT, HeaderValue::from_static(API_CLIENT));
    Ok(headers)
}

fn quota_header(project: &str) -> Result<HeaderValue> {
    HeaderValue::from_str(project).map_err(|_| {
        Error::new(
            Code::InvalidArgument,
            format!("the quota project {project:?} cannot be sent in a header"),
        )
    })
}

/// `name=<resource>` for `x-goog-request-params`: percent-encoded except
/// for `/`, which Google's clients leave as it is.
fn request_params(resource: &str) -> Result<HeaderValue> {
    use crate::percent::{KEEPING_SLASHES, encode_into};
    // Sized for a name that needs no escapes, as most do: a string filled
    // to its capacity becomes the header's bytes without a copy.
    let mut text = String::with_capacity("name=".len() + resource.len());
    text.push_str("name=");
    encode_into(&mut text, resource, KEEPING_SLASHES);
    let mut value = HeaderValue::try_from(text).map_err(|_| {
        Error::new(
            Code::InvalidArgument,
            format!(
                "the name {} cannot be sent in a header",
                shown_name(resource)
            ),
        )
    })?;
    // A value that differs from call to call is kept out of HTTP/2's header
    // compression table, where it would only push out the headers that do
    // repeat (this flag means exactly "never index" to the HPACK encoder).
    value.set_sensitive(true);
    Ok(value)
}

/// Names longer than this are refused: no service has such names, and they
/// would not fit in a request's routing header.
pub(crate) const MAX_NAME_BYTES: usize = 4096;

/// Refuses an empty or overlong resource name before anything is sent.
fn require_name(name: &str, what: &str) -> Result<()> {
    if name.trim().is_empty() {
        return Err(Error::new(
            Code::InvalidArgument,
            format!("the {what} name is empty"),
        ));
    }
    if name.len() > MAX_NAME_BYTES {
        return Err(Error::new(
            Code::InvalidArgument,
            format!(
                "the {what} name {} is {} bytes long; names are at most {MAX_NAME_BYTES}",
                shown_name(name),
                name.len()
            ),
        ));
    }
    Ok(())
}

/// What a call was doing, as its errors say: `getting operation NAME`.
pub(crate) fn action_of<M: Method>(request: &M) -> String {
    format!("{} {}", M::ACTION, shown_name(request.resource()))
}

/// A name as messages show it: cut short when very long.
fn shown_name(name: &str) -> String {
    const SHOWN: usize = 200;
    if name.chars().count() <= SHOWN {
        name.to_owned()
    } else {
        format!("{}…", name.chars().take(SHOWN).collect::<String>())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layer::Layers;
    use crate::routes::ApiVersion;
    use crate::transport::grpc::GrpcTransport;
    use crate::transport::rest::RestTransport;

    /// A call's header map holds up to six entries in one allocation that
    /// fits the allocator's per-thread cache (1,032 bytes); seven to twelve
    /// take twice that, above it.
    #[tokio::test]
    async fn an_anonymous_get_makes_a_header_map_of_six_entries_at_most() {
        let endpoint = "http://127.0.0.1:9";
        let routes = Routes::earth_engine(ApiVersion::V1);
        let tls = crate::http::Tls::system();
        let layers = Layers::default();
        let transports: [Box<dyn Transport>; 2] = [
            Box::new(
                RestTransport::new(
                    endpoint,
                    routes.clone(),
                    1024,
                    None,
                    Default::default(),
                    &layers,
                    &tls,
                )
                .expect("a valid endpoint"),
            ),
            Box::new(
                GrpcTransport::new(endpoint, 1024, None, Default::default(), &layers, &tls)
                    .expect("a valid endpoint"),
            ),
        ];
        for transport in transports {
            let system = transport.rpc_system();
            let pipeline = Pipeline::new(Setup {
                transport,
                endpoint: endpoint.to_owned(),
                routes: routes.clone(),
                credentials: Some(Credentials::anonymous()),
                search: CredentialSearch::default(),
                defaults: CallOptions::new(),
                quota_project: None,
                retry: RetryPolicy::new(),
            })
            .expect("valid defaults");
            let headers = pipeline
                .request_headers(
                    Rpc::GetOperation,
                    &Credentials::anonymous(),
                    "projects/p/operations/x",
                    &pipeline.defaults,
                )
                .expect("valid headers");
            assert!(headers.capacity() <= 6, "{system}: {}", headers.capacity());
        }
    }

    #[test]
    fn only_the_first_refusal_retries_at_once() {
        let refusal = Refusal::default();
        assert!(!refusal.take(), "nothing refused yet");
        assert!(refusal.note());
        assert!(refusal.take());
        assert!(!refusal.take(), "taken once");
        assert!(!refusal.note(), "a second refusal is not replaced");
        assert!(!refusal.take());
    }
}
