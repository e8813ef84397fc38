//! The emulator's request record: one JSON line per request received, on
//! either transport, with every value not known to be safe replaced by a
//! fingerprint, cut to a bounded size, the latest kept in memory up to a
//! bounded number of bytes.
//!
//! Redaction is by allow-list: header values and query parameter values
//! are written in clear only for names known to carry no secret; any other
//! value becomes `sha256:{first 16 hex digits of its SHA-256}`, so that a
//! credential under a name nobody thought of is never written.

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

/// How many bytes of records (as written, one line each) [`Recorder::records`]
/// keeps in memory, the most recent ones.
pub(crate) const KEPT_BYTES: usize = 16 << 20;

/// The most of one string (a path, a header name or value) a record shows;
/// the rest is replaced by a marker that gives its full length.
pub(crate) const MAX_SHOWN_BYTES: usize = 1024;

/// The most bytes of headers one record shows; headers beyond it are left
/// out, and the record says how many.
pub(crate) const MAX_HEADER_BYTES: usize = 16 << 10;

/// Headers whose value is an `Authorization`-style credential: written as
/// its scheme and the fingerprint of the token.
const AUTHORIZATION_HEADERS: [&str; 2] = ["authorization", "proxy-authorization"];

/// Headers whose values are written in clear: they describe the request and
/// its client and carry no credential.
const SAFE_HEADERS: [&str; 19] = [
    "accept",
    "accept-encoding",
    "connection",
    "content-encoding",
    "content-length",
    "content-type",
    "grpc-accept-encoding",
    "grpc-encoding",
    "grpc-timeout",
    "host",
    "te",
    "transfer-encoding",
    "user-agent",
    "x-goog-api-client",
    "x-goog-request-params",
    "x-goog-user-project",
    "x-http-method-override",
    "x-server-timeout",
    "x-goog-fieldmask",
];

/// Query parameters whose values are written in clear: the Operations
/// API's own fields and Google's system parameters other than credentials.
const SAFE_PARAMETERS: [&str; 14] = [
    "$.xgafv",
    "alt",
    "fields",
    "filter",
    "pageSize",
    "pageToken",
    "page_size",
    "page_token",
    "prettyPrint",
    "returnPartialSuccess",
    "return_partial_success",
    "upload_protocol",
    "uploadType",
    "version",
];

/// Appends records to a file and keeps the latest in memory.
pub(crate) struct Recorder {
    path: PathBuf,
    file: Mutex<BufWriter<File>>,
    kept: Mutex<Kept>,
    kept_limit: usize,
}

/// The latest records as written, at most [`KEPT_BYTES`] of them.
#[derive(Default)]
struct Kept {
    lines: VecDeque<String>,
    bytes: usize,
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
    /// Opens `path` for appending, creating it readable by its owner only;
    /// refuses a symbolic link at `path` rather than write where it points.
    pub(crate) fn open(path: PathBuf) -> Result<Self> {
        Self::open_keeping(path, KEPT_BYTES)
    }

    /// Like [`open`](Self::open), keeping at most `kept_limit` bytes of
    /// records in memory.
    fn open_keeping(path: PathBuf, kept_limit: usize) -> Result<Self> {
        let file = open_append(&path).map_err(|e| {
            let problem = if is_symlink(&path) {
                "it is a symbolic link, which the record is never written through; \
                 give the path of the file itself"
                    .to_owned()
            } else {
                e.to_string()
            };
            Error::new(
                Code::FailedPrecondition,
                format!("cannot open the record file {}: {problem}", path.display()),
            )
            .with_source(e)
        })?;
        Ok(Self {
            path,
            file: Mutex::new(BufWriter::new(file)),
            kept: Mutex::new(Kept::default()),
            kept_limit,
        })
    }

    /// The file records go to.
    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// Writes the record of `request` as one line and flushes it; a write
    /// error is logged, not raised.
    pub(crate) fn record<B>(&self, request: &Request<B>) {
        let mut line = entry(request, SystemTime::now()).to_string();
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
        line.pop();
        line.shrink_to_fit();
        let mut kept = lock(&self.kept);
        kept.bytes += line.len();
        kept.lines.push_back(line);
        while kept.bytes > self.kept_limit {
            match kept.lines.pop_front() {
                Some(oldest) => kept.bytes -= oldest.len(),
                None => break,
            }
        }
    }

    /// The records kept in memory, oldest first.
    pub(crate) fn records(&self) -> Vec<Value> {
        lock(&self.kept)
            .lines
            .iter()
            .filter_map(|line| serde_json::from_str(line).ok())
            .collect()
    }
}

/// Opens `path` to append, created with mode 0600 and never through a
/// symbolic link (on Unix). A file already there must be a regular file; if
/// others may read or write it, it is narrowed to 0600 before anything is
/// written, or refused when that is not allowed (another user's file).
fn open_append(path: &Path) -> std::io::Result<File> {
    let mut options = OpenOptions::new();
    options.create(true).append(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        // Non-blocking, so that a FIFO at the path is refused rather than
        // waited on; it changes nothing for a regular file.
        options
            .mode(0o600)
            .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK);
    }
    #[cfg(not(unix))]
    if is_symlink(path) {
        return Err(std::io::Error::other("a symbolic link"));
    }
    let file = options.open(path)?;
    let metadata = file.metadata()?;
    if !metadata.is_file() {
        return Err(std::io::Error::other("it is not a regular file"));
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = metadata.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            // Through the open descriptor: the file narrowed is the one
            // written, whatever happens to the path meanwhile.
            file.set_permissions(std::fs::Permissions::from_mode(0o600))
                .map_err(|e| {
                    std::io::Error::new(
                        e.kind(),
                        format!(
                            "it already exists with mode {mode:04o}, which lets others read it, \
                             and cannot be narrowed to 0600 ({e}); remove it or give another path"
                        ),
                    )
                })?;
            tracing::warn!(
                path = %path.display(),
                was = %format_args!("{mode:04o}"),
                "the record file let others read it; it is now readable by its owner only (0600)"
            );
        }
    }
    Ok(file)
}

fn is_symlink(path: &Path) -> bool {
    std::fs::symlink_metadata(path).is_ok_and(|meta| meta.file_type().is_symlink())
}

/// The record of one request received at `now`.
pub(crate) fn entry<B>(request: &Request<B>, now: SystemTime) -> Value {
    let grpc = is_grpc(request.headers());
    let path = request.uri().path_and_query().map_or_else(
        || request.uri().path().to_owned(),
        |pq| pq.as_str().to_owned(),
    );
    let method = if grpc {
        shown(request.uri().path())
    } else {
        shown(request.method().as_str())
    };
    let mut record = json!({
        "time": rfc3339_millis(now),
        "transport": if grpc { "grpc" } else { "rest" },
        "method": method,
        "path": shown(&redact_query(&path)),
        "http_version": version_name(request.version()),
    });
    let (headers, left_out) = headers_to_json(request.headers());
    record["headers"] = headers;
    if left_out > 0 {
        record["headers_left_out"] = json!(left_out);
    }
    record
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

/// `text`, or its first [`MAX_SHOWN_BYTES`] (on a character boundary) and a
/// marker giving its length.
fn shown(text: &str) -> String {
    if text.len() <= MAX_SHOWN_BYTES {
        return text.to_owned();
    }
    let mut cut = MAX_SHOWN_BYTES;
    while !text.is_char_boundary(cut) {
        cut -= 1;
    }
    format!("{}…<truncated, {} bytes>", &text[..cut], text.len())
}

/// Every header by (lower-case) name, a string or an array when repeated,
/// up to [`MAX_HEADER_BYTES`]; and how many headers did not fit.
fn headers_to_json(headers: &HeaderMap) -> (Value, usize) {
    let mut object = Map::new();
    let mut bytes = 0;
    let mut left_out = 0;
    for name in headers.keys() {
        let values: Vec<String> = headers
            .get_all(name)
            .iter()
            .map(|value| shown(&shown_value(name.as_str(), value.as_bytes())))
            .collect();
        let key = shown(name.as_str());
        let size = key.len() + values.iter().map(String::len).sum::<usize>();
        if bytes + size > MAX_HEADER_BYTES {
            left_out += values.len();
            continue;
        }
        bytes += size;
        let value = match <[String; 1]>::try_from(values) {
            Ok([single]) => Value::String(single),
            Err(values) => values.into_iter().map(Value::String).collect(),
        };
        object.insert(key, value);
    }
    (Value::Object(object), left_out)
}

/// A header value as written: in clear for a name known to be safe, the
/// scheme and a fingerprint of the token for credentials, a fingerprint
/// otherwise.
fn shown_value(name: &str, value: &[u8]) -> String {
    if SAFE_HEADERS.contains(&name) {
        String::from_utf8_lossy(value).into_owned()
    } else if AUTHORIZATION_HEADERS.contains(&name) {
        match bearer_token(value) {
            Ok(token) => format!("Bearer sha256:{}", fingerprint(token)),
            Err(_) => format!("<unparsable, sha256:{}>", fingerprint(value)),
        }
    } else {
        format!("sha256:{}", fingerprint(value))
    }
}

/// The path with the value of every query parameter not known to be safe
/// replaced by the fingerprint of its decoded value (a parameter without a
/// value, whose name may be the secret, by the fingerprint of the name).
fn redact_query(path: &str) -> String {
    let Some((before, query)) = path.split_once('?') else {
        return path.to_owned();
    };
    let pairs: Vec<String> = query
        .split('&')
        .map(|pair| {
            let decoded = |raw: &str| percent::decode_query(raw).unwrap_or_else(|| raw.to_owned());
            match pair.split_once('=') {
                _ if pair.is_empty() => String::new(),
                Some((raw_key, _)) if SAFE_PARAMETERS.contains(&decoded(raw_key).as_str()) => {
                    pair.to_owned()
                }
                Some((raw_key, raw_value)) => {
                    format!(
                        "{raw_key}=sha256:{}",
                        fingerprint(decoded(raw_value).as_bytes())
                    )
                }
                None if SAFE_PARAMETERS.contains(&decoded(pair).as_str()) => pair.to_owned(),
                None => format!("sha256:{}", fingerprint(decoded(pair).as_bytes())),
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
    fn values_under_names_not_known_to_be_safe_become_fingerprints() {
        let parameters = [
            "refresh_token",
            "client_secret",
            "id_token",
            "api_key",
            "token",
            "sig",
            "X-Goog-Signature",
            "anything_else",
        ];
        let query: Vec<String> = parameters
            .iter()
            .enumerate()
            .map(|(i, name)| format!("{name}=query-secret-{i}"))
            .collect();
        let mut request = Request::builder().method("GET").uri(format!(
            "/v1/projects/p/operations?filter=done%3Dfalse&{}",
            query.join("&")
        ));
        let headers = [
            "x-serverless-authorization",
            "x-upstream-authorization",
            "x-api-key",
            "x-auth-token",
            "x-amz-security-token",
            "x-csrf-token",
            "x-refresh-token",
            "x-refresh-token-bin",
            "x-made-up-name",
        ];
        for (i, name) in headers.iter().enumerate() {
            request = request.header(*name, format!("header-secret-{i}"));
        }
        let request = request
            .header("user-agent", "eeops/1")
            .header("x-goog-user-project", "billing")
            .body(())
            .expect("a request");
        let record = entry(&request, SystemTime::now());
        let text = record.to_string();
        assert!(!text.contains("-secret-"), "{text}");
        for (i, name) in headers.iter().enumerate() {
            let secret = format!("header-secret-{i}");
            assert_eq!(
                record["headers"][name],
                format!("sha256:{}", fingerprint(secret.as_bytes())),
                "{name}"
            );
        }
        for (i, name) in parameters.iter().enumerate() {
            let secret = format!("query-secret-{i}");
            let shown = format!("{name}=sha256:{}", fingerprint(secret.as_bytes()));
            assert!(text.contains(&shown), "{shown} not in {text}");
        }
        assert!(text.contains("filter=done%3Dfalse"), "{text}");
        assert_eq!(record["headers"]["user-agent"], "eeops/1");
        assert_eq!(record["headers"]["x-goog-user-project"], "billing");
    }

    #[test]
    fn a_grpc_request_is_named_by_its_method() {
        let request = Request::builder()
            .method("POST")
            .version(Version::HTTP_2)
            .uri("http://h/google.longrunning.Operations/GetOperation")
            .header("content-type", "application/grpc")
            .header("grpc-timeout", "5S")
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
        assert_eq!(record["headers"]["grpc-timeout"], "5S");
        assert_eq!(
            record["headers"]["x-trace-bin"],
            format!("sha256:{}", fingerprint(b"AAECAw"))
        );
    }

    #[test]
    fn queries_keep_safe_values_and_the_shape_of_the_rest() {
        for path in [
            "/a",
            "/a?",
            "/a?pageSize=1&&filter=x%3D1",
            "/a?alt=json&prettyPrint",
        ] {
            assert_eq!(redact_query(path), path);
        }
        assert_eq!(
            redact_query("/a?x=%ZZ&opaque"),
            format!(
                "/a?x=sha256:{}&sha256:{}",
                fingerprint(b"%ZZ"),
                fingerprint(b"opaque")
            )
        );
    }

    #[test]
    fn large_requests_are_recorded_cut_short_with_markers() {
        let huge = "u".repeat(350 * 1024);
        let mut request = Request::builder()
            // A URI is at most 64 KiB.
            .uri(format!("/v1/projects/{}/operations", &huge[..10_000]))
            .header("user-agent", huge.as_str());
        for i in 0..2000 {
            request = request.header(format!("x-filler-{i:04}"), "v");
        }
        let request = request.body(()).expect("a request");
        let record = entry(&request, SystemTime::now());
        let line = record.to_string();
        assert!(
            line.len() < MAX_HEADER_BYTES + 4 * MAX_SHOWN_BYTES,
            "{} bytes",
            line.len()
        );
        let marker = format!("…<truncated, {} bytes>", huge.len());
        let agent = record["headers"]["user-agent"].as_str().expect("shown");
        assert!(agent.ends_with(&marker), "{agent}");
        assert!(
            record["path"]
                .as_str()
                .is_some_and(|path| path.contains("<truncated, "))
        );
        let left_out = record["headers_left_out"].as_u64().expect("a count");
        let shown = record["headers"].as_object().expect("headers").len() as u64;
        assert_eq!(left_out + shown, 2001);
    }

    #[test]
    fn memory_holds_the_latest_records_up_to_a_number_of_bytes() {
        let dir = tempfile::tempdir().expect("a directory");
        let recorder =
            Recorder::open_keeping(dir.path().join("r.jsonl"), 64 * 1024).expect("opens");
        let agent = "a".repeat(MAX_SHOWN_BYTES);
        for i in 0..1000 {
            let request = Request::builder()
                .uri(format!("/v1/projects/p/operations/{i}"))
                .header("user-agent", agent.as_str())
                .body(())
                .expect("a request");
            recorder.record(&request);
        }
        let kept = lock(&recorder.kept);
        assert!(kept.bytes <= 64 * 1024, "{}", kept.bytes);
        assert_eq!(
            kept.bytes,
            kept.lines.iter().map(String::len).sum::<usize>()
        );
        assert!(kept.lines.len() > 10, "{}", kept.lines.len());
        assert!(
            kept.lines
                .back()
                .is_some_and(|line| line.contains("operations/999"))
        );
    }

    #[cfg(unix)]
    #[test]
    fn the_file_is_private_and_never_opened_through_a_symbolic_link() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = tempfile::tempdir().expect("a directory");
        let path = dir.path().join("requests.jsonl");
        let recorder = Recorder::open(path.clone()).expect("opens");
        drop(recorder);
        let mode = std::fs::metadata(&path)
            .expect("created")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);

        let target = dir.path().join("elsewhere");
        std::fs::write(&target, "untouched\n").expect("a target");
        let link = dir.path().join("link.jsonl");
        std::os::unix::fs::symlink(&target, &link).expect("a link");
        let error = Recorder::open(link.clone()).expect_err("a link is refused");
        assert!(error.message().contains("symbolic link"), "{error}");
        assert!(
            error.message().contains(&link.display().to_string()),
            "{error}"
        );
        assert_eq!(
            std::fs::read_to_string(&target).expect("the target"),
            "untouched\n"
        );
    }

    #[cfg(unix)]
    #[test]
    fn an_existing_file_others_could_read_is_narrowed_to_0600_and_kept() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = tempfile::tempdir().expect("a directory");
        let path = dir.path().join("requests.jsonl");
        std::fs::write(&path, "{\"earlier\":true}\n").expect("an earlier record");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o666)).expect("widened");
        let recorder = Recorder::open(path.clone()).expect("opens");
        let mode = std::fs::metadata(&path)
            .expect("still there")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
        recorder.record(
            &Request::get("/v1/projects/p/operations/1")
                .body(())
                .expect("a request"),
        );
        drop(recorder);
        let text = std::fs::read_to_string(&path).expect("readable");
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 2, "{text}");
        assert_eq!(lines[0], "{\"earlier\":true}", "appended to, not replaced");
        assert!(lines[1].contains("operations/1"), "{text}");
    }

    #[cfg(unix)]
    #[test]
    fn a_path_that_is_not_a_regular_file_is_refused() {
        let dir = tempfile::tempdir().expect("a directory");
        let error = Recorder::open(dir.path().to_owned()).expect_err("a directory is refused");
        assert!(
            error.message().contains(&dir.path().display().to_string()),
            "{error}"
        );
        let fifo = dir.path().join("fifo");
        let made = std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .expect("mkfifo runs");
        assert!(made.success());
        let error = Recorder::open(fifo).expect_err("a FIFO is refused, not waited on");
        assert_eq!(error.code(), Code::FailedPrecondition, "{error}");
    }
}
