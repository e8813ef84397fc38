//! Which endpoints are Earth Engine's own.
//!
//! Earth Engine's task metadata has documented JSON names and undocumented
//! field numbers, so against Earth Engine REST is the transport that reads
//! it right: the client's builder makes it the default there.

/// Whether `url` is one of Earth Engine's endpoints: `earthengine.googleapis.com`
/// and its variants under `googleapis.com` (`earthengine-highvolume`,
/// regional `earthengine.REGION.rep`, mTLS `earthengine.mtls`, Private
/// Service Connect `earthengine-NAME.p`, ...).
pub fn is_earth_engine_endpoint(url: &str) -> bool {
    let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let host_and_port = authority
        .rsplit_once('@')
        .map_or(authority, |(_, host)| host);
    let host = host_and_port
        .rsplit_once(':')
        .filter(|(_, port)| port.bytes().all(|b| b.is_ascii_digit()))
        .map_or(host_and_port, |(host, _)| host)
        .trim_end_matches('.')
        .to_ascii_lowercase();
    let Some(service) = host.strip_suffix(".googleapis.com") else {
        return false;
    };
    service.split('.').any(|label| {
        label == "earthengine"
            || label.starts_with("earthengine-")
            || label.ends_with("-earthengine")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn earth_engine_hosts_and_their_variants() {
        for url in [
            "https://earthengine.googleapis.com",
            "https://EarthEngine.googleapis.com/",
            "https://earthengine.googleapis.com:443",
            "https://earthengine-highvolume.googleapis.com",
            "https://earthengine.us-central1.rep.googleapis.com",
            "https://us-central1-earthengine.googleapis.com",
            "https://earthengine.mtls.googleapis.com",
            "https://earthengine-myendpoint.p.googleapis.com",
            "https://earthengine.googleapis.com.",
        ] {
            assert!(is_earth_engine_endpoint(url), "{url}");
        }
        for url in [
            "http://127.0.0.1:8080",
            "https://longrunning.googleapis.com",
            "https://earthengine.example.com",
            "https://earthengine.googleapis.com.evil.example",
            "https://notearthengine.googleapis.com",
            "https://storage.googleapis.com/earthengine.googleapis.com",
        ] {
            assert!(!is_earth_engine_endpoint(url), "{url}");
        }
    }
}
