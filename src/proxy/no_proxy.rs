//! `NO_PROXY`: the hosts that are reached directly although a proxy is set.

use std::net::IpAddr;

/// A parsed `NO_PROXY` list: comma-separated host names (each also matching
/// its subdomains, with or without a leading `.` or `*.`), IP addresses, CIDR
/// ranges and `*` for every host; any entry may end in `:port` (IPv6 in
/// brackets then) to match only that port. Entries that fit none of these
/// are ignored, as curl ignores them.
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct NoProxy {
    entries: Vec<Entry>,
}

#[derive(Clone, Debug, PartialEq)]
enum Entry {
    Everything,
    /// A lower-case name without leading or trailing dots.
    Domain {
        name: String,
        port: Option<u16>,
    },
    Network {
        addr: IpAddr,
        prefix: u8,
        port: Option<u16>,
    },
}

impl NoProxy {
    pub(crate) fn parse(list: &str) -> Self {
        Self {
            entries: list.split(',').filter_map(parse_entry).collect(),
        }
    }

    /// Whether `host` (as in a URL: a name, an IPv4 address or an IPv6 one
    /// in brackets) on `port` is to be reached directly. Names are compared
    /// as written, never resolved.
    pub(crate) fn matches(&self, host: &str, port: u16) -> bool {
        let host = host.trim_start_matches('[').trim_end_matches(']');
        let host = host.strip_suffix('.').unwrap_or(host).to_ascii_lowercase();
        let ip = host.parse::<IpAddr>().ok();
        self.entries.iter().any(|entry| match entry {
            Entry::Everything => true,
            Entry::Domain { name, port: only } => {
                only.is_none_or(|only| only == port)
                    && (host == *name
                        || host
                            .strip_suffix(name.as_str())
                            .is_some_and(|head| head.ends_with('.')))
            }
            Entry::Network {
                addr,
                prefix,
                port: only,
            } => {
                only.is_none_or(|only| only == port)
                    && ip.is_some_and(|ip| within(ip, *addr, *prefix))
            }
        })
    }
}

fn parse_entry(entry: &str) -> Option<Entry> {
    let entry = entry.trim();
    if entry.is_empty() {
        return None;
    }
    if entry == "*" {
        return Some(Entry::Everything);
    }
    let (host, port) = split_port(entry)?;
    if let Some((addr, bits)) = host.split_once('/') {
        let addr: IpAddr = addr.parse().ok()?;
        let prefix: u8 = bits.parse().ok()?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        return (prefix <= max).then_some(Entry::Network { addr, prefix, port });
    }
    if let Ok(addr) = host.parse::<IpAddr>() {
        let prefix = if addr.is_ipv4() { 32 } else { 128 };
        return Some(Entry::Network { addr, prefix, port });
    }
    let name = host.strip_prefix("*.").unwrap_or(host);
    let name = name.trim_start_matches('.').trim_end_matches('.');
    let valid = !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_'));
    valid.then(|| Entry::Domain {
        name: name.to_ascii_lowercase(),
        port,
    })
}

/// An entry's host and optional port: `[v6]:port`, `[v6]`, a bare IPv6
/// address (more than one colon, no port), `host:port` or `host`. `None`
/// when a port is there but is not a port number.
fn split_port(entry: &str) -> Option<(&str, Option<u16>)> {
    if let Some(rest) = entry.strip_prefix('[') {
        let (host, after) = rest.split_once(']')?;
        return match after.strip_prefix(':') {
            Some(port) => Some((host, Some(port.parse().ok()?))),
            None if after.is_empty() => Some((host, None)),
            None => None,
        };
    }
    match entry.rsplit_once(':') {
        Some((host, port)) if !host.contains(':') => Some((host, Some(port.parse().ok()?))),
        _ => Some((entry, None)),
    }
}

/// Whether `ip` is in `network`/`prefix` (IPv4 and IPv6 never match each
/// other).
fn within(ip: IpAddr, network: IpAddr, prefix: u8) -> bool {
    match (ip, network) {
        (IpAddr::V4(ip), IpAddr::V4(network)) => {
            let mask = u32::MAX.checked_shl(32 - u32::from(prefix)).unwrap_or(0);
            u32::from(ip) & mask == u32::from(network) & mask
        }
        (IpAddr::V6(ip), IpAddr::V6(network)) => {
            let mask = u128::MAX.checked_shl(128 - u32::from(prefix)).unwrap_or(0);
            u128::from(ip) & mask == u128::from(network) & mask
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn direct(list: &str, host: &str, port: u16) -> bool {
        NoProxy::parse(list).matches(host, port)
    }

    #[test]
    fn names_match_themselves_and_their_subdomains_only() {
        for list in [
            "ample.com",
            ".ample.com",
            "*.ample.com",
            " ample.com. ",
            "AMPLE.com",
        ] {
            assert!(direct(list, "ample.com", 443), "{list}");
            assert!(direct(list, "www.ample.com", 443), "{list}");
            assert!(direct(list, "WWW.Ample.Com.", 80), "{list}");
            assert!(!direct(list, "www.example.com", 443), "{list}");
            assert!(!direct(list, "ample.com.org", 443), "{list}");
            assert!(!direct(list, "xample.com", 443), "{list}");
        }
    }

    #[test]
    fn lists_are_comma_separated_and_star_matches_everything() {
        let list = "internal.example, 10.0.0.0/8 ,,localhost";
        assert!(direct(list, "api.internal.example", 443));
        assert!(direct(list, "10.20.30.40", 443));
        assert!(direct(list, "localhost", 8080));
        assert!(!direct(list, "earthengine.googleapis.com", 443));
        assert!(direct("*", "earthengine.googleapis.com", 443));
        assert!(direct("example.com,*", "anything.at.all", 1));
        assert!(!direct("", "example.com", 443));
        assert!(!direct("*.", "example.com", 443), "not the wildcard");
    }

    #[test]
    fn addresses_and_ranges_match_addresses_not_names() {
        assert!(direct("192.168.1.7", "192.168.1.7", 443));
        assert!(!direct("192.168.1.7", "192.168.1.8", 443));
        assert!(direct("192.168.0.0/16", "192.168.200.1", 443));
        assert!(!direct("192.168.0.0/16", "192.169.0.1", 443));
        assert!(direct("0.0.0.0/0", "8.8.8.8", 443));
        assert!(direct("::1", "[::1]", 443));
        assert!(direct("[::1]", "[::1]", 443));
        assert!(direct("fd00::/8", "[fd12:3456::1]", 443));
        assert!(!direct("fd00::/8", "[fe80::1]", 443));
        assert!(!direct("10.0.0.0/8", "[::ffff:10.0.0.1]", 443));
        assert!(
            !direct("127.0.0.1", "localhost", 443),
            "names are not resolved"
        );
        for ignored in ["10.0.0.0/33", "::/129", "10.0.0.0/x", "bad host!"] {
            assert_eq!(NoProxy::parse(ignored), NoProxy::default(), "{ignored}");
        }
    }

    #[test]
    fn a_port_limits_an_entry_to_that_port() {
        assert!(direct("example.com:8443", "api.example.com", 8443));
        assert!(!direct("example.com:8443", "api.example.com", 443));
        assert!(direct("10.1.2.3:80", "10.1.2.3", 80));
        assert!(!direct("10.1.2.3:80", "10.1.2.3", 443));
        assert!(direct("[::1]:9000", "[::1]", 9000));
        assert!(!direct("[::1]:9000", "[::1]", 9001));
        assert_eq!(NoProxy::parse("example.com:http"), NoProxy::default());
    }
}
