//! The emulator's request record: one JSON line per request received, on
//! either transport, with credentials replaced by fingerprints.

use std::collections::VecDeque;
use std::fs::{File, OpenOptions};
use std::io::{BufWriter, Write as _};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};
use std::time::SystemTime;

use http::{HeaderMap, Request, Version};
use serde_json::{Map, Value, json};

use super::auth::{bearer_token, fingerprint};
use super::rest::is_grpc;
use crate::error::{Error, Result};
use crate::percent;
use crate::proto::rpc::Code;

/// How many records [`Recorder::records`] keeps, the most recent ones.
pub(crate) const KEPT_RECORDS: usize = 10_000;

/// Headers whose value is an `Authorization`-style credential.
const AUTHORIZATION_HEADERS: [&str; 2] = ["authorization", "proxy-authorization"];

/// Headers whose whole value is a credential.
const SECRET_HEADERS: [&str; 3] = ["x-goog-api-key", "cookie", "x-goog-iam-authorization-token"];

/// Query parameters whose value is a credential.
const SECRET_PARAMETERS: [&str; 3] = ["access_token", "oauth_token", "key"];

/// Appends records to a file and keeps the latest in memory.
pub(crate) struct Recorder {
    path: PathBuf,
    file: Mutex<BufWriter<File>>,
    kept: Mutex<VecDeque<Value>>,
}

impl std::fmt::Debug for Recorder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Recorder")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // Every update is a whole line or a whole record: a panic elsewhere
    // cannot leave either half written.
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl Recorder {
    /// Opens (creating it if needed) `path` for appending.
    pub(crate) fn open(path: PathBuf) -> Result<Self> {
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .map_err(|e| {
                Error::new(
                    Code::FailedPrecondition,
                    format!("cannot open the record file {}: {e}", path.display()),
                )
                .with_source(e)
            })?;
        Ok(Self {
            path,
            file: Mutex::new(BufWriter::new(file)),
            kept: Mutex::new(VecDeque::new()),
        })
    }

    /// The file records go to.
    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// Writes the record of `request` as one line and flushes it; a write
    /// error is logged, not raised.
    pub(crate) fn record<B>(&self, request: &Request<B>) {
        let record = entry(request, SystemTime::now());
        let mut line = record.to_string();
        line.push('\n');
        {
            let mut file = lock(&self.file);
            if let Err(error) = file.write_all(line.as_bytes()).and_then(|()| file.flush()) {
                tracing::warn!(
                    path = %self.path.display(),
                    %error,
                    "cannot write to the record file"
                );
            }
        }
        let mut kept = lock(&self.kept);
        if kept.len() == KEPT_RECORDS {
            kept.pop_front();
        }
        kept.push_back(record);
    }

    /// The records kept in memory, oldest first.
    pub(crate) fn records(&self) -> Vec<Value> {
        lock(&self.kept).iter().cloned().collect()
    }
}

/// The record of one request received at `now`.
pub(crate) fn entry<B>(request: &Request<B>, now: SystemTime) -> Value {
    let grpc = is_grpc(request.headers());
    let path = request.uri().path_and_query().map_or_else(
        || request.uri().path().to_owned(),
        |pq| pq.as_str().to_owned(),
    );
    let path = redact_query(&path);
    let method = if grpc {
        request.uri().path().to_owned()
    } else {
        request.method().as_str().to_owned()
    };
    json!({
        "time": rfc3339_millis(now),
        "transport": if grpc { "grpc" } else { "rest" },
        "method": method,
        "path": path,
        "http_version": version_name(request.version()),
        "headers": headers_to_json(request.headers(), grpc),
    })
}

/// `now` in RFC 3339, UTC, to the millisecond.
fn rfc3339_millis(now: SystemTime) -> String {
    let mut timestamp = prost_types::Timestamp::from(now);
    timestamp.nanos -= timestamp.nanos % 1_000_000;
    timestamp.to_string()
}

fn version_name(version: Version) -> &'static str {
    match version {
        Version::HTTP_09 => "HTTP/0.9",
        Version::HTTP_10 => "HTTP/1.0",
        Version::HTTP_11 => "HTTP/1.1",
        Version::HTTP_2 => "HTTP/2",
        Version::HTTP_3 => "HTTP/3",
        _ => "unknown",
    }
}

/// Every header by (lower-case) name: a string, or an array when repeated.
fn headers_to_json(headers: &HeaderMap, grpc: bool) -> Value {
    let mut object = Map::new();
    for name in headers.keys() {
        let values: Vec<Value> = headers
            .get_all(name)
            .iter()
            .map(|value| Value::String(shown_value(name.as_str(), value.as_bytes(), grpc)))
            .collect();
        let value = match <[Value; 1]>::try_from(values) {
            Ok([single]) => single,
            Err(values) => Value::Array(values),
        };
        object.insert(name.as_str().to_owned(), value);
    }
    Value::Object(object)
}

/// A header value as written: credentials as fingerprints, binary gRPC
/// metadata as its size, anything else as text.
fn shown_value(name: &str, value: &[u8], grpc: bool) -> String {
    if AUTHORIZATION_HEADERS.contains(&name) {
        match bearer_token(value) {
            Ok(token) => format!("Bearer sha256:{}", fingerprint(token)),
            Err(_) => format!("<unparsable, sha256:{}>", fingerprint(value)),
        }
    } else if SECRET_HEADERS.contains(&name) {
        format!("sha256:{}", fingerprint(value))
    } else if grpc && name.ends_with("-bin") {
        let digits = value.iter().filter(|&&b| b != b'=').count();
        format!("<binary, {} bytes>", digits * 3 / 4)
    } else {
        String::from_utf8_lossy(value).into_owned()
    }
}

/// The path with the values of credential query parameters replaced by
/// fingerprints of their decoded values.
fn redact_query(path: &str) -> String {
    let Some((before, query)) = path.split_once('?') else {
        return path.to_owned();
    };
    let pairs: Vec<String> = query
        .split('&')
        .map(|pair| {
            let Some((raw_key, raw_value)) = pair.split_once('=') else {
                return pair.to_owned();
            };
            let key = percent::decode_query(raw_key).unwrap_or_default();
            if SECRET_PARAMETERS.contains(&key.as_str()) {
                let value =
                    percent::decode_query(raw_value).unwrap_or_else(|| raw_value.to_owned());
                format!("{raw_key}=sha256:{}", fingerprint(value.as_bytes()))
            } else {
                pair.to_owned()
            }
        })
        .collect();
    format!("{before}?{}", pairs.join("&"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_rest_request_is_recorded_without_its_credentials() {
        let request = Request::builder()
            .method("GET")
            .uri("/v1/projects/p/operations?pageSize=2&access_token=tok%2B1&key=k")
            .header("Authorization", "Bearer s3cret")
            .header("X-Goog-Api-Key", "apikey")
            .header("Cookie", "sid=1")
            .header("Accept", "a")
            .header("Accept", "b")
            .body(())
            .expect("a request");
        let at = SystemTime::UNIX_EPOCH + std::time::Duration::from_nanos(1_500_123_456);
        let record = entry(&request, at);
        assert_eq!(record["time"], "1970-01-01T00:00:01.500Z");
        assert_eq!(record["transport"], "rest");
        assert_eq!(record["method"], "GET");
        assert_eq!(record["http_version"], "HTTP/1.1");
        assert_eq!(
            record["path"],
            format!(
                "/v1/projects/p/operations?pageSize=2&access_token=sha256:{}&key=sha256:{}",
                fingerprint(b"tok+1"),
                fingerprint(b"k")
            )
        );
        let headers = &record["headers"];
        assert_eq!(
            headers["authorization"],
            format!("Bearer sha256:{}", fingerprint(b"s3cret"))
        );
        assert_eq!(
            headers["x-goog-api-key"],
            format!("sha256:{}", fingerprint(b"apikey"))
        );
        assert_eq!(
            headers["cookie"],
            format!("sha256:{}", fingerprint(b"sid=1"))
        );
        assert_eq!(headers["accept"], json!(["a", "b"]));
        let text = record.to_string();
        for secret in ["s3cret", "apikey", "sid=1", "tok+1", "tok%2B1", "=k"] {
            assert!(!text.contains(secret), "{secret} in {text}");
        }
    }

    #[test]
    fn a_grpc_request_is_named_by_its_method() {
        let request = Request::builder()
            .method("POST")
            .version(Version::HTTP_2)
            .uri("http://h/google.longrunning.Operations/GetOperation")
            .header("content-type", "application/grpc")
            .header("authorization", "Token s3cret")
            .header("x-trace-bin", "AAECAw")
            .body(())
            .expect("a request");
        let record = entry(&request, SystemTime::now());
        assert_eq!(record["transport"], "grpc");
        assert_eq!(
            record["method"],
            "/google.longrunning.Operations/GetOperation"
        );
        assert_eq!(
            record["path"],
            "/google.longrunning.Operations/GetOperation"
        );
        assert_eq!(record["http_version"], "HTTP/2");
        assert_eq!(
            record["headers"]["authorization"],
            format!("<unparsable, sha256:{}>", fingerprint(b"Token s3cret"))
        );
        assert_eq!(record["headers"]["x-trace-bin"], "<binary, 4 bytes>");
    }

    #[test]
    fn queries_without_credentials_are_kept_as_received() {
        for path in ["/a", "/a?", "/a?x=1&&y", "/a?x=%ZZ", "/a?key"] {
            assert_eq!(redact_query(path), path);
        }
    }
}
