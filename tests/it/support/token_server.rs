//! A real OAuth 2.0 token endpoint on loopback, for authentication tests.
//!
//! [`TokenServer`] answers `POST /token` over HTTP/1.1 on `127.0.0.1` for the
//! two flows eeops uses, refusing what Google's endpoint refuses:
//!
//! * the JWT-bearer grant of a service-account key file (RFC 7523): the
//!   assertion's RS256 signature is checked against the test key (ring), its
//!   claims (`iss`, `aud`, `scope`, `iat`, `exp`) against the
//!   server;
//! * the refresh-token grant of the Earth Engine credentials file.
//!
//! Forms are read with `form_urlencoded`, JWT parts with `base64` and serde.
//! Tokens are numbered across both grants: `sa-token-1`, `user-token-2`...
//!
//! ```ignore
//! let server = TokenServer::start(TokenServerConfig::default()).await;
//! let key_file = server.service_account_key().write_to(dir.path());
//! // ... point the code under test at `key_file` ...
//! assert_eq!(server.issued(), ["sa-token-1"]);
//! ```

use std::collections::HashMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, LazyLock, Mutex, MutexGuard};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use bytes::Bytes;
use http_body_util::{BodyExt as _, Full, Limited};
use hyper::body::Incoming;
use hyper::header::{CONTENT_TYPE, HeaderValue};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use serde::Deserialize;
use serde_json::{Map, Value, json};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

/// The `grant_type` of a service-account assertion (RFC 7523).
pub const JWT_BEARER_GRANT: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";

/// The project whose service account the server trusts.
pub const TEST_PROJECT: &str = "eeops-test-project";

/// The scopes of which an assertion must ask for at least one.
const SCOPES: [&str; 2] = [
    "https://www.googleapis.com/auth/earthengine",
    "https://www.googleapis.com/auth/cloud-platform",
];

/// The longest lifetime (`exp - iat`, seconds) Google accepts for an assertion.
const MAX_ASSERTION_LIFETIME_SECS: i64 = 3600;

/// How far (seconds) an assertion's `iat` may be from the server's clock.
const MAX_CLOCK_SKEW_SECS: u64 = 300;

/// The `private_key_id` of the test key; an assertion's `kid` must be it.
const KEY_ID: &str = "0123456789abcdef0123456789abcdef01234567";

/// The test service account's RSA-2048 key, PKCS#8 PEM: made for these
/// tests and trusted by nothing but the token server they start.
const KEY_PEM: &str = include_str!("../../data/keys/test-service-account.pem");

/// The test key as ring reads it, to sign with (the server's own checks
/// need only its public half).
pub static KEY_PAIR: LazyLock<ring::signature::RsaKeyPair> = LazyLock::new(|| {
    let body: String = KEY_PEM
        .lines()
        .filter(|line| !line.starts_with("-----"))
        .collect();
    let der = STANDARD.decode(body).expect("the test key's PEM is base64");
    ring::signature::RsaKeyPair::from_pkcs8(&der).expect("the test key is PKCS#8 RSA")
});

/// A Google service-account key file (`key.json`) that a [`TokenServer`]
/// accepts assertions from.
pub struct ServiceAccountKey {
    /// Where its assertions go, and their `aud`.
    pub token_uri: String,
}

impl ServiceAccountKey {
    /// The `client_email` of the test service account of `project_id`.
    pub fn client_email_for(project_id: &str) -> String {
        format!("eeops-test@{project_id}.iam.gserviceaccount.com")
    }

    /// The private key, PKCS#8 PEM.
    pub fn private_key_pem(&self) -> &'static str {
        KEY_PEM
    }

    /// Writes the key file, with the fields a downloaded one has, as
    /// `dir/key.json` and returns its path.
    pub fn write_to(&self, dir: &Path) -> PathBuf {
        let email = Self::client_email_for(TEST_PROJECT);
        let json = json!({
            "type": "service_account",
            "project_id": TEST_PROJECT,
            "private_key_id": KEY_ID,
            "private_key": self.private_key_pem(),
            "client_email": email,
            "client_id": "100000000000000000042",
            "auth_uri": "https://accounts.google.com/o/oauth2/auth",
            "token_uri": self.token_uri,
            "auth_provider_x509_cert_url": "https://www.googleapis.com/oauth2/v1/certs",
            "client_x509_cert_url": format!(
                "https://www.googleapis.com/robot/v1/metadata/x509/{}",
                email.replace('@', "%40")
            ),
            "universe_domain": "googleapis.com",
        });
        let path = dir.join("key.json");
        std::fs::write(&path, format!("{json:#}"))
            .unwrap_or_else(|e| panic!("cannot write {}: {e}", path.display()));
        path
    }
}

/// The JSON that `earthengine authenticate` writes to
/// `~/.config/earthengine/credentials`; fields given as `None` are left out,
/// as the Earth Engine client does with its built-in OAuth client.
pub fn earth_engine_credentials_json(
    refresh_token: &str,
    client_id: Option<&str>,
    client_secret: Option<&str>,
    project: Option<&str>,
) -> String {
    let mut fields = Map::new();
    fields.insert("refresh_token".to_owned(), refresh_token.into());
    for (name, value) in [
        ("client_id", client_id),
        ("client_secret", client_secret),
        ("project", project),
    ] {
        if let Some(value) = value {
            fields.insert(name.to_owned(), value.into());
        }
    }
    format!("{:#}", Value::Object(fields))
}

/// Writes `json` to `home/.config/earthengine/credentials` (making the
/// folders) and returns the file's path.
pub fn write_earth_engine_credentials(home: &Path, json: &str) -> PathBuf {
    let dir = home.join(".config").join("earthengine");
    std::fs::create_dir_all(&dir)
        .unwrap_or_else(|e| panic!("cannot create {}: {e}", dir.display()));
    let path = dir.join("credentials");
    std::fs::write(&path, json).unwrap_or_else(|e| panic!("cannot write {}: {e}", path.display()));
    path
}

/// What a [`TokenServer`] accepts and how it answers.
#[derive(Clone, Debug)]
pub struct TokenServerConfig {
    /// `expires_in` of every issued token, in seconds. Default 3600.
    pub expires_in: u64,
    /// The refresh token the refresh-token grant accepts.
    pub refresh_token: String,
    /// The OAuth client id the refresh-token grant accepts.
    pub client_id: String,
    /// The OAuth client secret the refresh-token grant accepts.
    pub client_secret: String,
    /// If set, every answer waits this long first (so that concurrent
    /// callers pile up behind one slow exchange).
    pub delay: Option<Duration>,
}

impl Default for TokenServerConfig {
    fn default() -> Self {
        Self {
            expires_in: 3600,
            refresh_token: "1//eeops-test-refresh-token".to_owned(),
            client_id: "eeops-test-client.apps.googleusercontent.com".to_owned(),
            client_secret: "eeops-test-client-secret".to_owned(),
            delay: None,
        }
    }
}

/// What the server's tasks share with the [`TokenServer`] handle.
struct State {
    config: TokenServerConfig,
    token_uri: String,
    requests: AtomicUsize,
    issued: Mutex<Vec<String>>,
    last_error: Mutex<Option<String>>,
    last_claims: Mutex<Option<Value>>,
}

/// Locks `mutex`, ignoring poisoning (the data is plain bookkeeping).
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// An OAuth 2.0 token endpoint on loopback (`127.0.0.1` unless told),
/// serving until dropped.
pub struct TokenServer {
    addr: SocketAddr,
    state: Arc<State>,
    task: JoinHandle<()>,
}

impl TokenServer {
    /// Binds `127.0.0.1:0` (before returning) and serves on a task.
    pub async fn start(config: TokenServerConfig) -> TokenServer {
        Self::start_on(std::net::Ipv4Addr::LOCALHOST.into(), config).await
    }

    /// Like [`start`](Self::start), on another loopback address.
    pub async fn start_on(ip: std::net::IpAddr, config: TokenServerConfig) -> TokenServer {
        let listener = TcpListener::bind((ip, 0))
            .await
            .unwrap_or_else(|e| panic!("bind the token server to {ip}: {e}"));
        let addr = listener.local_addr().expect("a bound socket's address");
        let state = Arc::new(State {
            config,
            token_uri: format!("http://{addr}/token"),
            requests: AtomicUsize::new(0),
            issued: Mutex::new(Vec::new()),
            last_error: Mutex::new(None),
            last_claims: Mutex::new(None),
        });
        let serving = Arc::clone(&state);
        // Aborting this task drops the connections' tasks with it.
        let task = tokio::spawn(async move {
            let mut connections = tokio::task::JoinSet::new();
            loop {
                // An accept error (too many open files...) passes.
                let Ok((stream, _)) = listener.accept().await else {
                    tokio::task::yield_now().await;
                    continue;
                };
                while connections.try_join_next().is_some() {}
                let state = Arc::clone(&serving);
                let service = service_fn(move |request| {
                    let state = Arc::clone(&state);
                    async move { Ok::<_, Infallible>(handle(&state, request).await) }
                });
                connections
                    .spawn(http1::Builder::new().serve_connection(TokioIo::new(stream), service));
            }
        });
        TokenServer { addr, state, task }
    }

    /// The server's address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://ADDRESS:PORT/token`: the `token_uri` of key files and the
    /// `aud` that assertions must carry.
    pub fn token_uri(&self) -> String {
        self.state.token_uri.clone()
    }

    /// A service-account key whose assertions this server accepts.
    pub fn service_account_key(&self) -> ServiceAccountKey {
        ServiceAccountKey {
            token_uri: self.token_uri(),
        }
    }

    /// How many `POST /token` requests came in, answered or not.
    pub fn requests(&self) -> usize {
        self.state.requests.load(Ordering::SeqCst)
    }

    /// The access tokens issued so far, oldest first.
    pub fn issued(&self) -> Vec<String> {
        lock(&self.state.issued).clone()
    }

    /// Why the latest refused request was refused: `"<error>: <description>"`.
    pub fn last_error(&self) -> Option<String> {
        lock(&self.state.last_error).clone()
    }

    /// The claims of the latest accepted assertion.
    pub fn last_claims(&self) -> Option<Value> {
        lock(&self.state.last_claims).clone()
    }
}

impl Drop for TokenServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// A refusal as OAuth words it: `{"error", "error_description"}`, with 400.
struct Refusal(&'static str, String);

/// Answers one request: a token, or 400 (404 off `/token`) saying why not.
async fn handle(state: &State, request: Request<Incoming>) -> Response<Full<Bytes>> {
    let (status, body) = if request.uri().path() != "/token" {
        (StatusCode::NOT_FOUND, json!({"error": "not_found"}))
    } else {
        state.requests.fetch_add(1, Ordering::SeqCst);
        if let Some(delay) = state.config.delay {
            tokio::time::sleep(delay).await;
        }
        match token(state, request).await {
            Ok(token) => (StatusCode::OK, token),
            Err(Refusal(error, description)) => {
                *lock(&state.last_error) = Some(format!("{error}: {description}"));
                let body = json!({"error": error, "error_description": description});
                (StatusCode::BAD_REQUEST, body)
            }
        }
    };
    let mut response = Response::new(Full::new(Bytes::from(body.to_string())));
    *response.status_mut() = status;
    response.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static("application/json; charset=utf-8"),
    );
    response
}

/// Reads the form of a `POST /token` and issues a token for its grant.
async fn token(state: &State, request: Request<Incoming>) -> Result<Value, Refusal> {
    let invalid = |what: String| Refusal("invalid_request", what);
    let form_type = "application/x-www-form-urlencoded";
    let content_type = request.headers().get(CONTENT_TYPE).cloned();
    let media_type = content_type
        .as_ref()
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.split(';').next());
    if request.method() != "POST"
        || !media_type.is_some_and(|t| t.trim().eq_ignore_ascii_case(form_type))
    {
        return Err(invalid(format!(
            "POST a {form_type} body, not {content_type:?}"
        )));
    }
    let body = Limited::new(request.into_body(), 64 * 1024)
        .collect()
        .await
        .map_err(|e| invalid(format!("cannot read the body: {e}")))?
        .to_bytes();
    let mut form = HashMap::new();
    for (name, value) in form_urlencoded::parse(&body) {
        if form.insert(name.to_string(), value.into_owned()).is_some() {
            return Err(invalid(format!("parameter {name:?} is repeated")));
        }
    }
    let field = |name: &str| {
        form.get(name)
            .map(String::as_str)
            .ok_or_else(|| invalid(format!("Missing required parameter: {name}")))
    };
    let config = &state.config;
    let (prefix, scope) = match form.get("grant_type").map(String::as_str) {
        Some(JWT_BEARER_GRANT) => {
            let claims = verify_assertion(field("assertion")?, &state.token_uri)
                .map_err(|why| Refusal("invalid_grant", why))?;
            *lock(&state.last_claims) = Some(claims);
            ("sa-token", None)
        }
        Some("refresh_token") => {
            if field("client_id")? != config.client_id
                || field("client_secret")? != config.client_secret
            {
                return Err(Refusal("invalid_client", "Unauthorized".to_owned()));
            }
            if field("refresh_token")? != config.refresh_token {
                return Err(Refusal("invalid_grant", "Bad Request".to_owned()));
            }
            ("user-token", Some(SCOPES.join(" ")))
        }
        other => {
            let other = other.unwrap_or("(missing)");
            return Err(Refusal(
                "unsupported_grant_type",
                format!("Invalid grant_type: {other}"),
            ));
        }
    };
    let mut issued = lock(&state.issued);
    let token = format!("{prefix}-{}", issued.len() + 1);
    issued.push(token.clone());
    let mut answer = json!({
        "access_token": token,
        "expires_in": config.expires_in,
        "token_type": "Bearer",
    });
    if let Some(scope) = scope {
        answer["scope"] = scope.into();
    }
    Ok(answer)
}

/// A JWT's header, as far as it is checked.
#[derive(Deserialize)]
struct Header {
    alg: String,
    typ: Option<String>,
    kid: Option<String>,
}

/// A service-account assertion's claims.
#[derive(Deserialize)]
struct Claims {
    iss: String,
    aud: String,
    scope: String,
    iat: i64,
    exp: i64,
}

/// Decodes one JWT part holding JSON. Padding is tolerated, as Google's
/// endpoint tolerates it.
fn decode_part<T: serde::de::DeserializeOwned>(part: &str, what: &str) -> Result<T, String> {
    let bytes = URL_SAFE_NO_PAD
        .decode(part.trim_end_matches('='))
        .map_err(|e| format!("the JWT {what} is not base64url: {e}"))?;
    serde_json::from_slice(&bytes).map_err(|e| format!("the JWT {what} does not hold: {e}"))
}

/// Checks a service-account assertion and returns its claims, or says what
/// is wrong with it.
fn verify_assertion(assertion: &str, token_uri: &str) -> Result<Value, String> {
    let parts: Vec<&str> = assertion.split('.').collect();
    let [header_part, claims_part, signature_part] = parts[..] else {
        return Err(format!("the assertion has {} parts, not 3", parts.len()));
    };
    let header: Header = decode_part(header_part, "header")?;
    if header.alg != "RS256" || header.typ.is_some_and(|typ| typ != "JWT") {
        return Err("the JWT header must say alg RS256 (and typ JWT)".to_owned());
    }
    if header.kid.is_some_and(|kid| kid != KEY_ID) {
        return Err(format!("the JWT kid is not the key's id {KEY_ID}"));
    }
    let signature = URL_SAFE_NO_PAD
        .decode(signature_part.trim_end_matches('='))
        .map_err(|_| "the JWT signature is not base64url")?;
    let signed = &assertion[..header_part.len() + 1 + claims_part.len()];
    use ring::signature::KeyPair as _;
    ring::signature::UnparsedPublicKey::new(
        &ring::signature::RSA_PKCS1_2048_8192_SHA256,
        KEY_PAIR.public_key().as_ref(),
    )
    .verify(signed.as_bytes(), &signature)
    .map_err(|_| "Invalid JWT Signature.".to_owned())?;

    let claims: Value = decode_part(claims_part, "claim set")?;
    let Claims {
        iss,
        aud,
        scope,
        iat,
        exp,
    } = serde_json::from_value(claims.clone())
        .map_err(|e| format!("the JWT claim set does not hold: {e}"))?;
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |since| {
            i64::try_from(since.as_secs()).unwrap_or(i64::MAX)
        });
    let problems = [
        (
            iss != ServiceAccountKey::client_email_for(TEST_PROJECT),
            "iss is not the service account",
        ),
        (aud != token_uri, "aud is not the token URI"),
        (
            !scope.split(' ').any(|s| SCOPES.contains(&s)),
            "scope lacks every known scope",
        ),
        (exp <= iat, "exp is not after iat"),
        (
            exp.saturating_sub(iat) > MAX_ASSERTION_LIFETIME_SECS,
            "the assertion lives more than an hour",
        ),
        (exp <= now, "the assertion expired"),
        (
            iat.abs_diff(now) > MAX_CLOCK_SKEW_SECS,
            "iat is too far from now",
        ),
    ];
    match problems.iter().find(|(wrong, _)| *wrong) {
        Some((_, problem)) => Err(format!("{problem}: {claims}")),
        None => Ok(claims),
    }
}
