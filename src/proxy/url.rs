//! A proxy's URL taken apart: where to connect, the credentials to send,
//! and how to show it without them.

use base64::Engine as _;
use http::HeaderValue;

/// The port of a proxy URL that names none, as curl assumes.
pub(crate) const DEFAULT_PROXY_PORT: u16 = 1080;

/// An HTTP proxy: `[http://][user[:password]@]host[:port][/]`.
#[derive(Clone)]
pub(crate) struct ProxyUrl {
    /// `http://host:port`, for the TCP connector.
    pub(crate) uri: http::Uri,
    /// `Basic base64(user:password)`, marked sensitive.
    pub(crate) authorization: Option<HeaderValue>,
    /// The URL with any credentials replaced by `<redacted>`.
    pub(crate) shown: String,
}

impl std::fmt::Debug for ProxyUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.shown)
    }
}

impl ProxyUrl {
    /// Parses a proxy URL; the error never repeats the credentials.
    pub(crate) fn parse(text: &str) -> Result<Self, String> {
        let text = text.trim();
        let (scheme, rest) = match text.split_once("://") {
            Some((scheme, rest)) => (scheme.to_ascii_lowercase(), rest),
            None => ("http".to_owned(), text),
        };
        match scheme.as_str() {
            "http" => {}
            "https" => {
                return Err(
                    "TLS to the proxy (https://) is not supported; use an http:// proxy, \
                            which still carries TLS to the endpoint inside its tunnel"
                        .to_owned(),
                );
            }
            socks if socks.starts_with("socks") => {
                return Err("SOCKS proxies are not supported; use an HTTP proxy".to_owned());
            }
            other => return Err(format!("the scheme {other:?} is not http://")),
        }
        let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
        let (userinfo, host_port) = match authority.rsplit_once('@') {
            Some((userinfo, host_port)) => (Some(userinfo), host_port),
            None => (None, authority),
        };
        let parsed: http::uri::Authority = host_port
            .parse()
            .map_err(|_| format!("{host_port:?} is not a host[:port]"))?;
        if parsed.host().is_empty() {
            return Err("it names no host".to_owned());
        }
        let port = match host_port[parsed.host().len()..].strip_prefix(':') {
            Some(port) => port
                .parse::<u16>()
                .map_err(|_| format!("{port:?} is not a port number"))?,
            None => DEFAULT_PROXY_PORT,
        };
        let host_port = format!("{}:{port}", parsed.host());
        let uri = http::Uri::builder()
            .scheme("http")
            .authority(host_port.as_str())
            .path_and_query("/")
            .build()
            .map_err(|_| format!("{host_port:?} is not a host[:port]"))?;
        let authorization = userinfo.map(basic_authorization).transpose()?;
        let shown = match authorization {
            Some(_) => format!("http://<redacted>@{host_port}"),
            None => format!("http://{host_port}"),
        };
        Ok(Self {
            uri,
            authorization,
            shown,
        })
    }
}

/// `Basic ...` for `user[:password]`, each percent-decoded.
fn basic_authorization(userinfo: &str) -> Result<HeaderValue, String> {
    let (user, password) = userinfo.split_once(':').unwrap_or((userinfo, ""));
    let decode = |part: &str, what: &str| {
        percent_encoding::percent_decode_str(part)
            .decode_utf8()
            .map(|text| text.into_owned())
            .map_err(|_| format!("the proxy {what} is not percent-encoded UTF-8"))
    };
    let pair = format!(
        "{}:{}",
        decode(user, "user")?,
        decode(password, "password")?
    );
    let encoded = base64::engine::general_purpose::STANDARD.encode(pair);
    let mut value = HeaderValue::try_from(format!("Basic {encoded}"))
        .map_err(|_| "the proxy credentials cannot be sent in a header".to_owned())?;
    value.set_sensitive(true);
    Ok(value)
}

/// `text` (a proxy URL, perhaps not a valid one) with whatever stands
/// before an `@` in its authority replaced by `<redacted>`.
pub(crate) fn redacted(text: &str) -> String {
    let text = text.trim();
    let start = text.find("://").map_or(0, |at| at + 3);
    let end = text[start..]
        .find(['/', '?', '#'])
        .map_or(text.len(), |at| start + at);
    match text[start..end].rfind('@') {
        Some(at) => format!("{}<redacted>{}", &text[..start], &text[start + at..]),
        None => text.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_port_and_credentials() {
        let proxy =
            ProxyUrl::parse("http://al%40ice:p%3Ass%20w@proxy.example:3128/").expect("valid");
        assert_eq!(proxy.uri, "http://proxy.example:3128/");
        assert_eq!(proxy.shown, "http://<redacted>@proxy.example:3128");
        let authorization = proxy.authorization.clone().expect("credentials");
        assert!(authorization.is_sensitive());
        let encoded = authorization
            .to_str()
            .expect("ASCII")
            .strip_prefix("Basic ")
            .expect("Basic");
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(encoded)
            .expect("base64");
        assert_eq!(decoded, b"al@ice:p:ss w");
        assert!(!format!("{proxy:?}").contains("ss"));
    }

    #[test]
    fn scheme_and_port_default_as_in_curl() {
        let proxy = ProxyUrl::parse(" proxy.example ").expect("valid");
        assert_eq!(proxy.uri, "http://proxy.example:1080/");
        assert_eq!(proxy.shown, "http://proxy.example:1080");
        assert!(proxy.authorization.is_none());
        let proxy = ProxyUrl::parse("HTTP://user@[::1]:8080").expect("valid");
        assert_eq!(proxy.uri, "http://[::1]:8080/");
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(&proxy.authorization.expect("a user").as_bytes()[6..])
            .expect("base64");
        assert_eq!(decoded, b"user:");
    }

    #[test]
    fn unusable_urls_are_refused_without_their_credentials() {
        for bad in [
            "https://user:s3cret@proxy.example",
            "socks5://user:s3cret@proxy.example:1080",
            "ftp://proxy.example",
            "http://user:s3cret@",
            "http://user:s3cret@host:notaport",
            "http://user:%ff%fe@host",
            "",
        ] {
            let error = ProxyUrl::parse(bad).expect_err(bad);
            assert!(!error.contains("s3cret"), "{error}");
        }
    }

    #[test]
    fn redaction_hides_everything_before_the_at_sign() {
        assert_eq!(
            redacted("http://u:p@host:1/path@x"),
            "http://<redacted>@host:1/path@x"
        );
        assert_eq!(redacted("u:p@host"), "<redacted>@host");
        assert_eq!(redacted("http://host:1"), "http://host:1");
        assert_eq!(redacted("socks5://a@b@c"), "socks5://<redacted>@c");
    }
}
