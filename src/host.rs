//! Where a URL's host is: this machine or elsewhere. Whether credentials may
//! go in plaintext and whether proxies apply both depend on it.

/// True when `host` (as in a URL authority, IPv6 possibly in brackets) is
/// this machine: `localhost`, 127.0.0.0/8 or ::1.
pub(crate) fn is_loopback_host(host: &str) -> bool {
    let host = host.trim_start_matches('[').trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// Whether a URL is plaintext (`http://`) to a host other than this machine.
pub(crate) fn is_remote_plaintext(url: &str) -> bool {
    match url.parse::<http::Uri>() {
        Ok(uri) => uri.scheme_str() == Some("http") && !uri.host().is_some_and(is_loopback_host),
        Err(_) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_hosts() {
        for host in [
            "localhost",
            "LOCALHOST",
            "127.0.0.1",
            "127.8.9.10",
            "::1",
            "[::1]",
        ] {
            assert!(is_loopback_host(host), "{host}");
        }
        for host in [
            "10.0.0.1",
            "192.168.1.2",
            "example.com",
            "localhost.example.com",
            "0.0.0.0",
            "::",
        ] {
            assert!(!is_loopback_host(host), "{host}");
        }
    }

    #[test]
    fn remote_plaintext_urls() {
        assert!(is_remote_plaintext("http://10.1.2.3:8080"));
        assert!(is_remote_plaintext("http://example.com"));
        assert!(!is_remote_plaintext("http://127.0.0.1:8080"));
        assert!(!is_remote_plaintext("http://[::1]:8080"));
        assert!(!is_remote_plaintext("https://earthengine.googleapis.com"));
    }
}
