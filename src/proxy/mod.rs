//! Proxies: which one, if any, a connection goes through — the environment's
//! variables as curl reads them, or one given explicitly — and the HTTP
//! `CONNECT` tunnel through it, which both transports and the token
//! exchange connect with.

mod connect;
mod no_proxy;
mod url;

use std::sync::Arc;

pub(crate) use connect::{ProxyConnector, ProxyError};
use no_proxy::NoProxy;
use url::{ProxyUrl, redacted};

use crate::error::{Error, Result};
use crate::proto::rpc::Code;

/// The variables [`Proxies`] reads.
const VARIABLES: [&str; 9] = [
    "https_proxy",
    "HTTPS_PROXY",
    "http_proxy",
    "HTTP_PROXY",
    "all_proxy",
    "ALL_PROXY",
    "no_proxy",
    "NO_PROXY",
    "REQUEST_METHOD",
];

/// Which proxy, if any, a client's connections go through.
///
/// From the environment ([`Proxies::from_env`], what a [`Client`] uses
/// unless told otherwise), as curl reads it, lower case first:
///
/// - `https://` endpoints: `https_proxy`, `HTTPS_PROXY`, then `all_proxy`,
///   `ALL_PROXY`;
/// - `http://` endpoints: `http_proxy`, `HTTP_PROXY` (ignored when
///   `REQUEST_METHOD` says the process runs as a CGI script, where a client
///   could set it), then `all_proxy`, `ALL_PROXY`;
/// - `no_proxy`, `NO_PROXY`: hosts reached directly — comma-separated names
///   (each matching its subdomains too; a leading `.` or `*.` changes
///   nothing), IP addresses, CIDR ranges, `*` for every host, any of them
///   with `:port` to match only that port;
/// - an empty variable counts as unset;
/// - endpoints on this machine (`localhost`, 127.0.0.0/8, `::1`) are always
///   reached directly.
///
/// A proxy given explicitly ([`Proxies::with_url`],
/// [`ClientBuilder::with_proxy`], `--proxy`) is used for every endpoint,
/// this machine's included, except the hosts `NO_PROXY` lists (as in curl).
/// [`Proxies::none`] connects directly whatever the environment says.
///
/// Proxy URLs are `http://[user:password@]host[:port]` (the scheme may be
/// left out; the port defaults to 1080, as in curl). Every connection goes
/// through a `CONNECT` tunnel, so TLS runs end to end with the endpoint;
/// credentials in the URL (percent-decoded) are sent as
/// `Proxy-Authorization: Basic ...` and never shown: `Debug`, logs and
/// error messages print `http://<redacted>@host:port`.
///
/// ```
/// use eeops::{Client, Credentials, Proxies};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> eeops::Result<()> {
/// // Variables given here instead of read from the process.
/// let proxies = Proxies::from_vars([
///     ("HTTPS_PROXY", "http://alice:s3cret@proxy.example:3128"),
///     ("NO_PROXY", ".internal.example"),
/// ]);
/// assert!(!format!("{proxies:?}").contains("s3cret"));
/// let client = Client::builder()
///     .with_proxies(proxies)
///     .with_credentials(Credentials::anonymous())
///     .build()?; // nothing is connected yet
/// # drop(client);
/// # Ok(()) }
/// ```
///
/// [`Client`]: crate::Client
/// [`ClientBuilder::with_proxy`]: crate::ClientBuilder::with_proxy
#[derive(Clone)]
#[must_use]
pub struct Proxies {
    off: bool,
    explicit: Option<Arc<str>>,
    variables: Arc<[(&'static str, String)]>,
}

/// A proxy chosen for an endpoint, and where its URL came from.
#[derive(Clone, Debug)]
pub(crate) struct Route {
    pub(crate) proxy: ProxyUrl,
    /// The variable's name, or `set explicitly`.
    pub(crate) from: &'static str,
}

impl std::fmt::Debug for Proxies {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut shown = f.debug_struct("Proxies");
        if self.off {
            return shown.field("off", &true).finish();
        }
        if let Some(url) = &self.explicit {
            shown.field("explicit", &redacted(url));
        }
        for (name, value) in self.variables.iter() {
            shown.field(name, &redacted(value));
        }
        shown.finish()
    }
}

impl Proxies {
    /// The proxy variables of this process's environment.
    pub fn from_env() -> Self {
        Self::from_vars(
            VARIABLES
                .iter()
                .filter_map(|name| std::env::var(name).ok().map(|value| (*name, value))),
        )
    }

    /// Proxy variables given as `(name, value)` pairs instead of read from
    /// the environment (names as in the environment, case included; other
    /// names are ignored).
    pub fn from_vars<K: AsRef<str>, V: AsRef<str>>(vars: impl IntoIterator<Item = (K, V)>) -> Self {
        let variables = vars
            .into_iter()
            .filter_map(|(name, value)| {
                let known = VARIABLES.iter().find(|known| **known == name.as_ref())?;
                Some((*known, value.as_ref().to_owned()))
            })
            .collect();
        Self {
            off: false,
            explicit: None,
            variables,
        }
    }

    /// No proxy for any connection, whatever the environment says.
    pub fn none() -> Self {
        Self {
            off: true,
            explicit: None,
            variables: Arc::new([]),
        }
    }

    /// Every connection through the proxy at `url` — endpoints on this
    /// machine included — except to the hosts `NO_PROXY` lists. An unusable
    /// URL fails the client's `build()`.
    pub fn with_url(mut self, url: impl AsRef<str>) -> Self {
        self.off = false;
        self.explicit = Some(url.as_ref().into());
        self
    }

    /// The first non-empty value of these variables.
    fn first(&self, names: &[&'static str]) -> Option<(&'static str, &str)> {
        names.iter().find_map(|wanted| {
            self.variables
                .iter()
                .find(|(name, value)| name == wanted && !value.trim().is_empty())
                .map(|(name, value)| (*name, value.as_str()))
        })
    }

    /// The proxy to reach `endpoint` through, or `None` to connect directly.
    /// Fails when the proxy URL chosen cannot be used.
    pub(crate) fn route(&self, endpoint: &str) -> Result<Option<Route>> {
        if self.off {
            return Ok(None);
        }
        let Ok(uri) = endpoint.parse::<http::Uri>() else {
            // The transport reports the endpoint itself.
            return Ok(None);
        };
        let Some(host) = uri.host() else {
            return Ok(None);
        };
        let https = uri
            .scheme_str()
            .is_some_and(|scheme| scheme.eq_ignore_ascii_case("https"));
        let port = uri.port_u16().unwrap_or(if https { 443 } else { 80 });
        if let Some((name, list)) = self.first(&["no_proxy", "NO_PROXY"])
            && NoProxy::parse(list).matches(host, port)
        {
            tracing::debug!(endpoint, "{name} lists the endpoint: connecting directly");
            return Ok(None);
        }
        let (url, from) = match &self.explicit {
            Some(url) => (url.as_ref(), "set explicitly"),
            None if crate::host::is_loopback_host(host) => return Ok(None),
            None => {
                let cgi = self.first(&["REQUEST_METHOD"]).is_some();
                let names: &[&'static str] = match (https, cgi) {
                    (true, _) => &["https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"],
                    (false, false) => &["http_proxy", "HTTP_PROXY", "all_proxy", "ALL_PROXY"],
                    (false, true) => &["http_proxy", "all_proxy", "ALL_PROXY"],
                };
                match self.first(names) {
                    Some((name, url)) => (url, name),
                    None => return Ok(None),
                }
            }
        };
        let proxy = ProxyUrl::parse(url).map_err(|why| {
            Error::new(
                Code::InvalidArgument,
                format!("the proxy {} ({from}) cannot be used: {why}", redacted(url)),
            )
        })?;
        tracing::info!(proxy = %proxy.shown, from, endpoint, "connecting through a proxy");
        Ok(Some(Route { proxy, from }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn proxy_for(proxies: &Proxies, endpoint: &str) -> Option<(String, &'static str)> {
        proxies
            .route(endpoint)
            .expect("a usable proxy")
            .map(|route| (route.proxy.shown, route.from))
    }

    fn shown(url: &str, from: &'static str) -> Option<(String, &'static str)> {
        Some((url.to_owned(), from))
    }

    #[test]
    fn the_endpoints_scheme_chooses_the_variable_lower_case_first() {
        let proxies = Proxies::from_vars([
            ("HTTPS_PROXY", "upper-s:1"),
            ("https_proxy", "lower-s:2"),
            ("HTTP_PROXY", "upper:3"),
            ("http_proxy", "lower:4"),
            ("ALL_PROXY", "all:5"),
        ]);
        let ee = "https://earthengine.googleapis.com";
        assert_eq!(
            proxy_for(&proxies, ee),
            shown("http://lower-s:2", "https_proxy")
        );
        assert_eq!(
            proxy_for(&proxies, "http://10.0.0.1:8080"),
            shown("http://lower:4", "http_proxy")
        );
        let upper = Proxies::from_vars([("HTTPS_PROXY", "upper-s:1"), ("HTTP_PROXY", "upper:3")]);
        assert_eq!(
            proxy_for(&upper, ee),
            shown("http://upper-s:1", "HTTPS_PROXY")
        );
        assert_eq!(
            proxy_for(&upper, "http://example.com"),
            shown("http://upper:3", "HTTP_PROXY")
        );
    }

    #[test]
    fn all_proxy_is_the_fallback_and_empty_values_count_as_unset() {
        let proxies = Proxies::from_vars([
            ("https_proxy", " "),
            ("all_proxy", ""),
            ("ALL_PROXY", "http://all.example:3128"),
        ]);
        for endpoint in ["https://example.com", "http://example.com"] {
            assert_eq!(
                proxy_for(&proxies, endpoint),
                shown("http://all.example:3128", "ALL_PROXY")
            );
        }
        let lower_all = Proxies::from_vars([("ALL_PROXY", "upper:1"), ("all_proxy", "lower:2")]);
        assert_eq!(
            proxy_for(&lower_all, "https://example.com"),
            shown("http://lower:2", "all_proxy")
        );
        assert_eq!(
            proxy_for(
                &Proxies::from_vars([("PATH", "/bin")]),
                "https://example.com"
            ),
            None
        );
    }

    #[test]
    fn cgi_scripts_ignore_the_upper_case_http_proxy() {
        let proxies = Proxies::from_vars([("HTTP_PROXY", "evil:1"), ("REQUEST_METHOD", "GET")]);
        assert_eq!(proxy_for(&proxies, "http://example.com"), None);
        let proxies = Proxies::from_vars([("http_proxy", "fine:1"), ("REQUEST_METHOD", "GET")]);
        assert_eq!(
            proxy_for(&proxies, "http://example.com"),
            shown("http://fine:1", "http_proxy")
        );
    }

    #[test]
    fn no_proxy_and_this_machine_bypass_the_environments_proxy() {
        let proxies = Proxies::from_vars([
            ("HTTPS_PROXY", "proxy.example:3128"),
            ("HTTP_PROXY", "proxy.example:3128"),
            ("no_proxy", "internal.example,10.0.0.0/8"),
            ("NO_PROXY", "ignored.example"),
        ]);
        for direct in [
            "https://api.internal.example",
            "http://10.1.2.3:8080",
            "http://127.0.0.2:8080",
            "http://localhost:8080",
            "http://[::1]:8080",
        ] {
            assert_eq!(proxy_for(&proxies, direct), None, "{direct}");
        }
        for proxied in ["https://ignored.example", "http://192.168.0.1"] {
            assert!(proxy_for(&proxies, proxied).is_some(), "{proxied}");
        }
    }

    #[test]
    fn an_explicit_proxy_covers_this_machine_but_not_no_proxy() {
        let proxies = Proxies::from_vars([("NO_PROXY", "127.0.0.3"), ("HTTPS_PROXY", "env:1")])
            .with_url("http://u:p@explicit.example:8080");
        for endpoint in [
            "http://127.0.0.2:9000",
            "https://earthengine.googleapis.com",
        ] {
            assert_eq!(
                proxy_for(&proxies, endpoint),
                shown("http://<redacted>@explicit.example:8080", "set explicitly"),
                "{endpoint}"
            );
        }
        assert_eq!(proxy_for(&proxies, "http://127.0.0.3:9000"), None);
    }

    #[test]
    fn none_turns_every_proxy_off() {
        let proxies = Proxies::none();
        assert_eq!(proxy_for(&proxies, "https://example.com"), None);
        assert_eq!(
            proxy_for(&proxies.with_url("explicit:1"), "https://example.com"),
            shown("http://explicit:1", "set explicitly")
        );
    }

    #[test]
    fn unusable_urls_fail_naming_the_variable_without_credentials() {
        let proxies = Proxies::from_vars([("HTTPS_PROXY", "socks5://bob:s3cret@proxy.example")]);
        let error = proxies.route("https://example.com").expect_err("SOCKS");
        assert_eq!(error.code(), Code::InvalidArgument);
        assert!(error.message().contains("HTTPS_PROXY"), "{error}");
        assert!(
            error
                .message()
                .contains("socks5://<redacted>@proxy.example"),
            "{error}"
        );
        assert!(!error.to_string().contains("s3cret"), "{error}");
        // Only the variable the endpoint needs is looked at.
        assert!(
            proxies
                .route("http://example.com")
                .expect("no proxy")
                .is_none()
        );
    }

    #[test]
    fn debug_output_hides_credentials() {
        let proxies = Proxies::from_vars([("ALL_PROXY", "http://bob:s3cret@proxy.example:1")])
            .with_url("http://alice:t0ps3cret@explicit.example:2");
        let shown = format!("{proxies:?}");
        assert!(
            !shown.contains("s3cret") && !shown.contains("alice"),
            "{shown}"
        );
        assert!(shown.contains("explicit.example:2"), "{shown}");
    }
}
