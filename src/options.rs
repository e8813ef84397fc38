//! Per-call options: deadline, extra request headers, retry policy.

use std::time::Duration;

use http::{HeaderMap, HeaderName, HeaderValue};

use tokio::time::Instant;

use crate::error::{Error, Result};
use crate::proto::rpc::Code;
use crate::retry::RetryPolicy;

/// Options for one call, layered over the client's defaults.
///
/// Headers are checked when they are added; a bad one is reported when the
/// call is sent, so building a request never fails half-way.
#[derive(Clone, Debug, Default)]
pub struct CallOptions {
    pub(crate) timeout: Option<Duration>,
    pub(crate) headers: Vec<Header>,
    pub(crate) retry: Option<RetryPolicy>,
    pub(crate) invalid: Option<String>,
}

/// No options: what a call that sets none of its own is sent with.
pub(crate) static NO_OPTIONS: CallOptions = CallOptions {
    timeout: None,
    headers: Vec::new(),
    retry: None,
    invalid: None,
};

/// One validated request header (gRPC metadata or HTTP header).
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct Header {
    pub(crate) name: String,
    pub(crate) value: String,
}

/// Headers whose values are credentials: never shown.
const CREDENTIAL_HEADERS: &[&str] = &[
    "authorization",
    "proxy-authorization",
    "x-goog-api-key",
    "cookie",
];

impl Header {
    /// The value as it may be shown: credentials are redacted.
    pub(crate) fn shown_value(&self) -> &str {
        shown_value(&self.name, &self.value)
    }
}

impl std::fmt::Debug for Header {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.name, self.shown_value())
    }
}

/// Headers the transports set themselves; a user may not override them.
const RESERVED_HEADERS: &[&str] = &[
    "content-type",
    "content-length",
    "te",
    "host",
    "connection",
    "transfer-encoding",
    "user-agent",
];

impl CallOptions {
    /// Options with nothing set.
    pub fn new() -> Self {
        Self::default()
    }

    /// The total time the call may take, retries included.
    #[must_use]
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// Options that fail the call with INVALID_ARGUMENT and `problem`.
    pub(crate) fn invalid(problem: impl Into<String>) -> Self {
        Self {
            invalid: Some(problem.into()),
            ..Self::default()
        }
    }

    /// Adds a request header (sent as gRPC metadata or an HTTP header).
    #[must_use]
    pub fn with_header(mut self, name: impl AsRef<str>, value: impl AsRef<str>) -> Self {
        match Header::new(name.as_ref(), value.as_ref()) {
            Ok(header) => self.headers.push(header),
            Err(problem) => {
                self.invalid.get_or_insert(problem);
            }
        }
        self
    }

    /// Replaces the retry policy for this call.
    #[must_use]
    pub fn with_retry_policy(mut self, policy: RetryPolicy) -> Self {
        self.retry = Some(policy);
        self
    }

    /// These options over `defaults`: a value set here wins. Only this
    /// call's own headers are kept: the client sends the defaults' from a
    /// header map it builds once.
    pub(crate) fn over(&self, defaults: &CallOptions) -> CallOptions {
        CallOptions {
            timeout: self.timeout.or(defaults.timeout),
            headers: self.headers.clone(),
            retry: self.retry.clone().or_else(|| defaults.retry.clone()),
            invalid: self.invalid.clone().or_else(|| defaults.invalid.clone()),
        }
    }

    /// Whether nothing is set: a call with these options runs with its
    /// client's defaults alone.
    pub(crate) fn is_empty(&self) -> bool {
        self.timeout.is_none()
            && self.headers.is_empty()
            && self.retry.is_none()
            && self.invalid.is_none()
    }

    /// The error kept from building these options, if any.
    pub(crate) fn check(&self) -> Result<()> {
        match &self.invalid {
            Some(problem) => Err(Error::new(Code::InvalidArgument, problem.clone())),
            None => Ok(()),
        }
    }
}

impl Header {
    fn new(name: &str, value: &str) -> std::result::Result<Self, String> {
        let lower = name.to_ascii_lowercase();
        if lower.is_empty()
            || !lower
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
        {
            return Err(format!(
                "invalid header name {name:?}: use letters, digits, '-', '_' or '.'"
            ));
        }
        if lower.starts_with("grpc-")
            || lower.ends_with("-bin")
            || RESERVED_HEADERS.contains(&lower.as_str())
        {
            return Err(format!(
                "header {name:?} is set by the transport and cannot be overridden"
            ));
        }
        if let Some(bad) = value.chars().find(|c| !(' '..='~').contains(c)) {
            return Err(format!(
                "invalid value for header {name:?}: character {bad:?} is not allowed (printable ASCII only)"
            ));
        }
        Ok(Self {
            name: lower,
            value: value.to_owned(),
        })
    }
}

impl Header {
    /// The header as it goes on the wire.
    pub(crate) fn to_wire(&self) -> Result<(HeaderName, HeaderValue)> {
        // Names and values were checked when the header was made, so this
        // only fails if those checks and the http crate's ever disagree.
        let name = HeaderName::from_bytes(self.name.as_bytes());
        let value = HeaderValue::from_str(&self.value);
        match (name, value) {
            (Ok(name), Ok(value)) => Ok((name, value)),
            _ => Err(Error::new(
                Code::InvalidArgument,
                format!("header {:?} cannot be sent", self.name),
            )),
        }
    }
}

/// Appends `headers` to `map`, converted for the wire.
pub(crate) fn append_headers(map: &mut HeaderMap, headers: &[Header]) -> Result<()> {
    for header in headers {
        let (name, value) = header.to_wire()?;
        map.append(name, value);
    }
    Ok(())
}

/// A header's value as it may be shown: a credential's is redacted.
fn shown_value<'a>(name: &str, value: &'a str) -> &'a str {
    if CREDENTIAL_HEADERS.contains(&name) {
        "<redacted>"
    } else {
        value
    }
}

/// Request headers as they may be shown: name and value, credentials
/// redacted.
pub(crate) fn shown_headers(map: &HeaderMap) -> Vec<(String, String)> {
    map.iter()
        .map(|(name, value)| {
            let value = String::from_utf8_lossy(value.as_bytes());
            let shown = shown_value(name.as_str(), &value).to_owned();
            (name.as_str().to_owned(), shown)
        })
        .collect()
}

/// What a transport needs to know about one attempt.
#[derive(Clone, Debug)]
pub(crate) struct CallContext {
    /// When the whole call must be over.
    pub(crate) deadline: Option<Instant>,
    /// Every header of the attempt but those the transport sets itself
    /// (content type, user agent, timeouts).
    pub(crate) headers: HeaderMap,
}

impl CallContext {
    /// Time left before the deadline, if there is one.
    pub(crate) fn remaining(&self) -> Option<Duration> {
        self.deadline
            .map(|deadline| deadline.saturating_duration_since(Instant::now()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_are_empty_until_something_is_set() {
        assert!(CallOptions::new().is_empty());
        assert!(
            !CallOptions::new()
                .with_timeout(Duration::from_secs(1))
                .is_empty()
        );
        assert!(!CallOptions::new().with_header("x-a", "b").is_empty());
        assert!(!CallOptions::new().with_header("bad name", "b").is_empty());
        assert!(
            !CallOptions::new()
                .with_retry_policy(RetryPolicy::never())
                .is_empty()
        );
    }

    #[test]
    fn bad_headers_are_kept_until_the_call() {
        for (name, value) in [
            ("x-ok", "line\r\nbreak"),
            ("bad name", "v"),
            ("", "v"),
            ("grpc-timeout", "1S"),
            ("x-nul", "a\0b"),
            ("content-type", "text/plain"),
        ] {
            let options = CallOptions::new().with_header(name, value);
            let error = options.check().expect_err(name);
            assert_eq!(error.code(), Code::InvalidArgument);
        }
        let fine = CallOptions::new().with_header("X-Trace", "abc def");
        assert!(fine.check().is_ok());
        assert_eq!(fine.headers[0].name, "x-trace");
    }

    #[test]
    fn credentials_never_show_in_debug_output() {
        let options = CallOptions::new()
            .with_header("Authorization", "Bearer s3cret")
            .with_header("x-trace", "t1");
        let shown = format!("{options:?}");
        assert!(
            !shown.contains("s3cret") && shown.contains("<redacted>") && shown.contains("t1"),
            "{shown}"
        );
    }

    #[test]
    fn call_options_override_defaults() {
        let defaults = CallOptions::new()
            .with_timeout(Duration::from_secs(60))
            .with_header("x-a", "1");
        let merged = CallOptions::new()
            .with_timeout(Duration::from_secs(5))
            .with_header("x-b", "2")
            .over(&defaults);
        assert_eq!(merged.timeout, Some(Duration::from_secs(5)));
        assert_eq!(
            merged.headers.len(),
            1,
            "the defaults' headers are sent from the client"
        );
        assert_eq!(merged.headers[0].name, "x-b");
    }
}
