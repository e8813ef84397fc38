//! A real OAuth 2.0 token endpoint on loopback, for authentication tests.
//!
//! [`TokenServer`] answers `POST /token` over HTTP/1.1 on `127.0.0.1` the way
//! Google's token endpoint does for the two flows eeops uses:
//!
//! * the JWT-bearer grant of a service-account key file (RFC 7523): the
//!   assertion's RS256 signature is checked against the public half of the
//!   process-wide test key, and its claims (`iss`, `aud`, `scope`, `iat`,
//!   `exp`) are checked against the server and its [`TokenServerConfig`];
//! * the refresh-token grant that the Earth Engine credentials file
//!   (`~/.config/earthengine/credentials`) leads to.
//!
//! Nothing here contacts Google. Key material comes from
//! [`ServiceAccountKey`], which reuses one RSA-2048 key per test process so
//! that only the first test pays for key generation.
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
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use bytes::Bytes;
use http_body_util::{BodyExt as _, Full, Limited};
use hyper::body::Incoming;
use hyper::header::{ALLOW, CACHE_CONTROL, CONTENT_TYPE, HeaderValue};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use rsa::pkcs1::EncodeRsaPublicKey as _;
use rsa::pkcs1v15::{Signature, VerifyingKey};
use rsa::pkcs8::{EncodePrivateKey as _, LineEnding};
use rsa::rand_core::OsRng;
use rsa::sha2::{Digest as _, Sha256};
use rsa::signature::Verifier as _;
use rsa::{RsaPrivateKey, RsaPublicKey};
use serde_json::{Map, Value, json};
use tokio::net::TcpListener;
use tokio::task::{JoinHandle, JoinSet};

/// The Earth Engine OAuth scope.
pub const EARTH_ENGINE_SCOPE: &str = "https://www.googleapis.com/auth/earthengine";

/// The Google Cloud Platform OAuth scope.
pub const CLOUD_PLATFORM_SCOPE: &str = "https://www.googleapis.com/auth/cloud-platform";

/// The `grant_type` of a service-account assertion (RFC 7523).
pub const JWT_BEARER_GRANT: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";

/// The project that [`TokenServerConfig::default`] expects keys to belong to.
pub const TEST_PROJECT: &str = "eeops-test-project";

/// The longest lifetime (`exp - iat`, seconds) Google accepts for an assertion.
pub const MAX_ASSERTION_LIFETIME_SECS: i64 = 3600;

/// How far (seconds) an assertion's `iat` may be from the server's clock.
pub const MAX_CLOCK_SKEW_SECS: i64 = 300;

/// The largest request body the server reads.
const MAX_BODY_BYTES: usize = 64 * 1024;

// ---------------------------------------------------------------------------
// Key material
// ---------------------------------------------------------------------------

/// One RSA key pair and what is derived from it, made once per process.
struct KeyMaterial {
    /// The private key, as the service account's owner holds it.
    private: RsaPrivateKey,
    /// The private key as PKCS#8 PEM (`-----BEGIN PRIVATE KEY-----`).
    pem: String,
    /// The key's id: 40 hex digits derived from the public key.
    key_id: String,
    /// The public half, ready to check RS256 signatures.
    verifier: VerifyingKey<Sha256>,
}

impl KeyMaterial {
    /// Generates a fresh RSA-2048 key pair.
    fn generate() -> Self {
        let private =
            RsaPrivateKey::new(&mut OsRng, 2048).expect("RSA-2048 key generation cannot fail");
        let public = RsaPublicKey::from(&private);
        let pem = private
            .to_pkcs8_pem(LineEnding::LF)
            .expect("an RSA key always encodes as PKCS#8")
            .to_string();
        let public_der = public
            .to_pkcs1_der()
            .expect("an RSA public key always encodes as PKCS#1");
        let digest = Sha256::digest(public_der.as_bytes());
        let key_id = digest[..20].iter().map(|b| format!("{b:02x}")).collect();
        Self {
            private,
            pem,
            key_id,
            verifier: VerifyingKey::new(public),
        }
    }
}

/// The key the token server trusts.
static TRUSTED_KEY: OnceLock<KeyMaterial> = OnceLock::new();

/// A second key, which the token server has never heard of.
static FOREIGN_KEY: OnceLock<KeyMaterial> = OnceLock::new();

/// The key pair every [`TokenServer`] in this process verifies against.
fn trusted_key() -> &'static KeyMaterial {
    TRUSTED_KEY.get_or_init(KeyMaterial::generate)
}

/// A key pair no [`TokenServer`] trusts.
fn foreign_key() -> &'static KeyMaterial {
    FOREIGN_KEY.get_or_init(KeyMaterial::generate)
}

/// A Google service-account key, as found in a downloaded `key.json`.
///
/// The private key is shared by every key made with [`generate`](Self::generate)
/// in the process (so every [`TokenServer`] accepts their assertions);
/// [`generate_foreign`](Self::generate_foreign) makes one with a different
/// private key that no server accepts.
#[derive(Clone)]
pub struct ServiceAccountKey {
    /// The `project_id` field.
    pub project_id: String,
    /// The `private_key_id` field; a JWT's `kid`, when present, must equal it.
    pub private_key_id: String,
    /// The `private_key` field: PKCS#8 PEM.
    pub private_key_pem: String,
    /// The `client_email` field: `eeops-test@<project>.iam.gserviceaccount.com`.
    pub client_email: String,
    /// The `client_id` field.
    pub client_id: String,
    /// The `token_uri` field: where the assertion is sent, and its `aud`.
    pub token_uri: String,
    /// The key pair behind `private_key_pem`.
    material: &'static KeyMaterial,
}

impl ServiceAccountKey {
    /// A key for `project_id` whose assertions go to `token_uri`, signed with
    /// the process-wide key that every [`TokenServer`] trusts.
    ///
    /// The first call in a process generates the RSA-2048 key; later calls
    /// reuse it.
    pub fn generate(token_uri: &str, project_id: &str) -> Self {
        Self::with_material(trusted_key(), token_uri, project_id)
    }

    /// Like [`generate`](Self::generate), but with a second process-wide key
    /// that no [`TokenServer`] trusts (its `private_key_id` differs too).
    pub fn generate_foreign(token_uri: &str, project_id: &str) -> Self {
        Self::with_material(foreign_key(), token_uri, project_id)
    }

    /// The `client_email` of the test service account of `project_id`.
    pub fn client_email_for(project_id: &str) -> String {
        format!("eeops-test@{project_id}.iam.gserviceaccount.com")
    }

    fn with_material(material: &'static KeyMaterial, token_uri: &str, project_id: &str) -> Self {
        Self {
            project_id: project_id.to_owned(),
            private_key_id: material.key_id.clone(),
            private_key_pem: material.pem.clone(),
            client_email: Self::client_email_for(project_id),
            client_id: "100000000000000000042".to_owned(),
            token_uri: token_uri.to_owned(),
            material,
        }
    }

    /// The private key, for tests that sign assertions themselves.
    pub fn private_key(&self) -> &'static RsaPrivateKey {
        &self.material.private
    }

    /// The key file's JSON, with every field a downloaded key file has.
    pub fn json(&self) -> Value {
        let escaped_email = self.client_email.replace('@', "%40");
        json!({
            "type": "service_account",
            "project_id": self.project_id,
            "private_key_id": self.private_key_id,
            "private_key": self.private_key_pem,
            "client_email": self.client_email,
            "client_id": self.client_id,
            "auth_uri": "https://accounts.google.com/o/oauth2/auth",
            "token_uri": self.token_uri,
            "auth_provider_x509_cert_url": "https://www.googleapis.com/oauth2/v1/certs",
            "client_x509_cert_url":
                format!("https://www.googleapis.com/robot/v1/metadata/x509/{escaped_email}"),
            "universe_domain": "googleapis.com",
        })
    }

    /// The key file's text, pretty-printed as Google serves it.
    pub fn to_json_string(&self) -> String {
        serde_json::to_string_pretty(&self.json()).expect("a JSON value always serialises")
    }

    /// Writes the key file as `dir/key.json` and returns its path.
    pub fn write_to(&self, dir: &Path) -> PathBuf {
        let path = dir.join("key.json");
        std::fs::write(&path, self.to_json_string())
            .unwrap_or_else(|e| panic!("cannot write {}: {e}", path.display()));
        path
    }
}

/// The JSON that `earthengine authenticate` writes to
/// `~/.config/earthengine/credentials`.
///
/// Fields given as `None` are left out, as the Earth Engine client does when
/// it uses its built-in OAuth client or no default project.
pub fn earth_engine_credentials_json(
    refresh_token: &str,
    client_id: Option<&str>,
    client_secret: Option<&str>,
    project: Option<&str>,
) -> String {
    let mut fields = Map::new();
    fields.insert("refresh_token".to_owned(), refresh_token.into());
    if let Some(client_id) = client_id {
        fields.insert("client_id".to_owned(), client_id.into());
    }
    if let Some(client_secret) = client_secret {
        fields.insert("client_secret".to_owned(), client_secret.into());
    }
    if let Some(project) = project {
        fields.insert("project".to_owned(), project.into());
    }
    serde_json::to_string_pretty(&Value::Object(fields)).expect("a JSON value always serialises")
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

// ---------------------------------------------------------------------------
// Configuration
// ---------------------------------------------------------------------------

/// How [`TokenServerConfig::required_scopes`] is matched against an
/// assertion's `scope` claim.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ScopeMatch {
    /// At least one of the required scopes must be present.
    #[default]
    Any,
    /// Every required scope must be present.
    All,
}

/// What a [`TokenServer`] accepts and how it answers.
#[derive(Clone, Debug)]
pub struct TokenServerConfig {
    /// `expires_in` of every issued token, in seconds. Default 3600.
    pub expires_in: u64,
    /// Scopes checked in an assertion's `scope` claim (space-separated), as
    /// [`scope_match`](Self::scope_match) says. Default: the Earth Engine and
    /// Cloud Platform scopes. An empty list accepts any non-empty `scope`.
    pub required_scopes: Vec<String>,
    /// Whether any or all of `required_scopes` must be present. Default
    /// [`ScopeMatch::Any`].
    pub scope_match: ScopeMatch,
    /// The project whose service account the assertions must come from: `iss`
    /// must be [`ServiceAccountKey::client_email_for`] it. Default
    /// [`TEST_PROJECT`].
    pub project_id: String,
    /// The refresh token the refresh-token grant accepts.
    pub refresh_token: String,
    /// The OAuth client id the refresh-token grant accepts.
    pub client_id: String,
    /// The OAuth client secret the refresh-token grant accepts.
    pub client_secret: String,
    /// The `scope` reported with tokens from the refresh-token grant.
    pub refresh_scope: String,
    /// If set, every answer waits this long first (so concurrent callers pile
    /// up behind one slow refresh).
    pub delay: Option<Duration>,
    /// If set, every request is answered with this status and body (as JSON),
    /// whatever it holds.
    pub fail_with: Option<(u16, String)>,
}

impl Default for TokenServerConfig {
    fn default() -> Self {
        Self {
            expires_in: 3600,
            required_scopes: vec![
                EARTH_ENGINE_SCOPE.to_owned(),
                CLOUD_PLATFORM_SCOPE.to_owned(),
            ],
            scope_match: ScopeMatch::Any,
            project_id: TEST_PROJECT.to_owned(),
            refresh_token: "1//eeops-test-refresh-token".to_owned(),
            client_id: "eeops-test-client.apps.googleusercontent.com".to_owned(),
            client_secret: "eeops-test-client-secret".to_owned(),
            refresh_scope: format!("{EARTH_ENGINE_SCOPE} {CLOUD_PLATFORM_SCOPE}"),
            delay: None,
            fail_with: None,
        }
    }
}

// ---------------------------------------------------------------------------
// The server
// ---------------------------------------------------------------------------

/// What the server's tasks share with the [`TokenServer`] handle.
struct State {
    config: Mutex<TokenServerConfig>,
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

/// An OAuth 2.0 token endpoint on `127.0.0.1`, serving until dropped.
pub struct TokenServer {
    addr: SocketAddr,
    state: Arc<State>,
    task: JoinHandle<()>,
}

impl TokenServer {
    /// Binds `127.0.0.1:0` and starts serving on a tokio task.
    ///
    /// The port is bound before this returns, so [`token_uri`](Self::token_uri)
    /// can be used at once.
    pub async fn start(config: TokenServerConfig) -> TokenServer {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the token server to 127.0.0.1:0");
        let addr = listener
            .local_addr()
            .expect("a bound socket has an address");
        let state = Arc::new(State {
            config: Mutex::new(config),
            token_uri: format!("http://{addr}/token"),
            requests: AtomicUsize::new(0),
            issued: Mutex::new(Vec::new()),
            last_error: Mutex::new(None),
            last_claims: Mutex::new(None),
        });
        let task = tokio::spawn(accept_loop(listener, Arc::clone(&state)));
        TokenServer { addr, state, task }
    }

    /// The server's address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:PORT/token`: the `token_uri` of key files and the
    /// `aud` that assertions must carry.
    pub fn token_uri(&self) -> String {
        self.state.token_uri.clone()
    }

    /// A service-account key that this server accepts assertions from: its
    /// `token_uri` is this server and its project is the configured one.
    pub fn service_account_key(&self) -> ServiceAccountKey {
        let project = lock(&self.state.config).project_id.clone();
        ServiceAccountKey::generate(&self.state.token_uri, &project)
    }

    /// Changes the configuration of a running server; later requests see it.
    pub fn configure(&self, change: impl FnOnce(&mut TokenServerConfig)) {
        change(&mut lock(&self.state.config));
    }

    /// How many `POST /token` requests have been received, answered or not.
    pub fn requests(&self) -> usize {
        self.state.requests.load(Ordering::SeqCst)
    }

    /// The access tokens issued so far, oldest first.
    pub fn issued(&self) -> Vec<String> {
        lock(&self.state.issued).clone()
    }

    /// Why the most recently refused request was refused (`"<error>:
    /// <description>"`); a later successful request does not clear it.
    pub fn last_error(&self) -> Option<String> {
        lock(&self.state.last_error).clone()
    }

    /// The claims of the last assertion that was accepted.
    pub fn last_claims(&self) -> Option<Value> {
        lock(&self.state.last_claims).clone()
    }
}

impl Drop for TokenServer {
    fn drop(&mut self) {
        // Dropping the accept loop drops its `JoinSet`, which aborts every
        // connection task too.
        self.task.abort();
    }
}

/// Accepts connections and serves each on its own task until aborted.
async fn accept_loop(listener: TcpListener, state: Arc<State>) {
    let mut connections = JoinSet::new();
    loop {
        let stream = match listener.accept().await {
            Ok((stream, _)) => stream,
            // Transient accept errors (e.g. too many open files): keep going.
            Err(_) => {
                tokio::task::yield_now().await;
                continue;
            }
        };
        while connections.try_join_next().is_some() {}
        let state = Arc::clone(&state);
        connections.spawn(async move {
            let service = service_fn(move |request| {
                let state = Arc::clone(&state);
                async move { Ok::<_, Infallible>(handle(&state, request).await) }
            });
            // A client that goes away mid-request is not the server's problem.
            let _ = http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

/// A refusal: status, OAuth error code and description.
struct Refusal {
    status: StatusCode,
    error: &'static str,
    description: String,
}

impl Refusal {
    fn bad_request(error: &'static str, description: impl Into<String>) -> Self {
        Self {
            status: StatusCode::BAD_REQUEST,
            error,
            description: description.into(),
        }
    }

    fn invalid_grant(description: impl Into<String>) -> Self {
        Self::bad_request("invalid_grant", description)
    }

    fn invalid_request(description: impl Into<String>) -> Self {
        Self::bad_request("invalid_request", description)
    }
}

/// A JSON response with the headers a token endpoint sends.
fn json_response(status: StatusCode, body: String) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from(body)));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(
        CONTENT_TYPE,
        HeaderValue::from_static("application/json; charset=utf-8"),
    );
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// Answers one request.
async fn handle(state: &State, request: Request<Incoming>) -> Response<Full<Bytes>> {
    if request.uri().path() != "/token" {
        return json_response(
            StatusCode::NOT_FOUND,
            json!({"error": "not_found", "error_description": "only /token is served"}).to_string(),
        );
    }
    if request.method() != Method::POST {
        let mut response = json_response(
            StatusCode::METHOD_NOT_ALLOWED,
            json!({"error": "invalid_request", "error_description": "use POST"}).to_string(),
        );
        response
            .headers_mut()
            .insert(ALLOW, HeaderValue::from_static("POST"));
        return response;
    }
    state.requests.fetch_add(1, Ordering::SeqCst);

    let config = lock(&state.config).clone();
    if let Some(delay) = config.delay {
        tokio::time::sleep(delay).await;
    }
    if let Some((status, body)) = &config.fail_with {
        let status = StatusCode::from_u16(*status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        *lock(&state.last_error) = Some(format!("fail_with: answered {status}"));
        return json_response(status, body.clone());
    }

    match token_request(state, &config, request).await {
        Ok(body) => json_response(StatusCode::OK, body.to_string()),
        Err(refusal) => {
            *lock(&state.last_error) = Some(format!("{}: {}", refusal.error, refusal.description));
            json_response(
                refusal.status,
                json!({"error": refusal.error, "error_description": refusal.description})
                    .to_string(),
            )
        }
    }
}

/// Reads the form of a `POST /token` and dispatches on its `grant_type`.
async fn token_request(
    state: &State,
    config: &TokenServerConfig,
    request: Request<Incoming>,
) -> Result<Value, Refusal> {
    let content_type = request
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .unwrap_or("");
    let media_type = content_type.split(';').next().unwrap_or("").trim();
    if !media_type.eq_ignore_ascii_case("application/x-www-form-urlencoded") {
        return Err(Refusal::invalid_request(format!(
            "Content-Type must be application/x-www-form-urlencoded, not {content_type:?}"
        )));
    }
    let body = Limited::new(request.into_body(), MAX_BODY_BYTES)
        .collect()
        .await
        .map_err(|e| Refusal::invalid_request(format!("cannot read the body: {e}")))?
        .to_bytes();
    let form = parse_form(&body).map_err(Refusal::invalid_request)?;

    match form.get("grant_type").map(String::as_str) {
        Some(JWT_BEARER_GRANT) => jwt_bearer_grant(state, config, &form),
        Some("refresh_token") => refresh_token_grant(state, config, &form),
        Some(other) => Err(Refusal::bad_request(
            "unsupported_grant_type",
            format!("Invalid grant_type: {other}"),
        )),
        None => Err(Refusal::bad_request(
            "unsupported_grant_type",
            "Invalid grant_type: (missing)",
        )),
    }
}

/// Parses an `application/x-www-form-urlencoded` body; a repeated
/// parameter is an error.
fn parse_form(body: &[u8]) -> Result<HashMap<String, String>, String> {
    let mut form = HashMap::new();
    for (name, value) in form_urlencoded::parse(body) {
        if form.insert(name.to_string(), value.into_owned()).is_some() {
            return Err(format!("parameter {name:?} is repeated"));
        }
    }
    Ok(form)
}

/// A required form parameter.
fn required<'a>(form: &'a HashMap<String, String>, name: &str) -> Result<&'a str, Refusal> {
    form.get(name)
        .map(String::as_str)
        .ok_or_else(|| Refusal::invalid_request(format!("Missing required parameter: {name}")))
}

/// Records a newly issued token named `<prefix>-<N>`, N counting all tokens.
fn issue(state: &State, prefix: &str) -> String {
    let mut issued = lock(&state.issued);
    let token = format!("{prefix}-{}", issued.len() + 1);
    issued.push(token.clone());
    token
}

/// Seconds since the Unix epoch.
fn now_secs() -> i64 {
    let since_epoch = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("the clock is after 1970");
    i64::try_from(since_epoch.as_secs()).expect("seconds since 1970 fit in i64")
}

/// The service-account flow: verifies the assertion, then issues a token.
fn jwt_bearer_grant(
    state: &State,
    config: &TokenServerConfig,
    form: &HashMap<String, String>,
) -> Result<Value, Refusal> {
    let assertion = required(form, "assertion")?;
    let claims = verify_assertion(assertion, &state.token_uri, config, now_secs())
        .map_err(Refusal::invalid_grant)?;
    *lock(&state.last_claims) = Some(claims);
    Ok(json!({
        "access_token": issue(state, "sa-token"),
        "expires_in": config.expires_in,
        "token_type": "Bearer",
    }))
}

/// Decodes one base64url JWT part. Padding is tolerated, as Google's token
/// endpoint tolerates it (some client libraries pad the signature).
fn decode_part(part: &str, what: &str) -> Result<Vec<u8>, String> {
    URL_SAFE_NO_PAD
        .decode(part.trim_end_matches('='))
        .map_err(|e| format!("the JWT {what} is not base64url: {e}"))
}

/// Decodes one JWT part holding a JSON object.
fn decode_json_part(part: &str, what: &str) -> Result<Map<String, Value>, String> {
    let bytes = decode_part(part, what)?;
    match serde_json::from_slice(&bytes) {
        Ok(Value::Object(object)) => Ok(object),
        Ok(_) => Err(format!("the JWT {what} is not a JSON object")),
        Err(e) => Err(format!("the JWT {what} is not JSON: {e}")),
    }
}

/// An integer claim.
fn integer_claim(claims: &Map<String, Value>, name: &str) -> Result<i64, String> {
    match claims.get(name) {
        Some(value) => value
            .as_i64()
            .ok_or_else(|| format!("claim {name:?} is not an integer: {value}")),
        None => Err(format!("claim {name:?} is missing")),
    }
}

/// A string claim.
fn string_claim<'a>(claims: &'a Map<String, Value>, name: &str) -> Result<&'a str, String> {
    match claims.get(name) {
        Some(Value::String(value)) => Ok(value),
        Some(value) => Err(format!("claim {name:?} is not a string: {value}")),
        None => Err(format!("claim {name:?} is missing")),
    }
}

/// Checks a service-account assertion and returns its claims, or says what
/// is wrong with it.
fn verify_assertion(
    assertion: &str,
    token_uri: &str,
    config: &TokenServerConfig,
    now: i64,
) -> Result<Value, String> {
    let parts: Vec<&str> = assertion.split('.').collect();
    let [header_part, claims_part, signature_part] = parts[..] else {
        return Err(format!(
            "the assertion has {} dot-separated parts, not 3",
            parts.len()
        ));
    };

    let key = trusted_key();
    let header = decode_json_part(header_part, "header")?;
    match header.get("alg") {
        Some(Value::String(alg)) if alg == "RS256" => {}
        Some(alg) => return Err(format!("JWT alg must be \"RS256\", not {alg}")),
        None => return Err("JWT header has no alg".to_owned()),
    }
    match header.get("typ") {
        None => {}
        Some(Value::String(typ)) if typ == "JWT" => {}
        Some(typ) => return Err(format!("JWT typ must be \"JWT\", not {typ}")),
    }
    match header.get("kid") {
        None => {}
        Some(Value::String(kid)) if *kid == key.key_id => {}
        Some(kid) => {
            return Err(format!(
                "JWT kid {kid} is not the key's private_key_id {:?}",
                key.key_id
            ));
        }
    }

    let signature_bytes = decode_part(signature_part, "signature")?;
    let signature = Signature::try_from(signature_bytes.as_slice())
        .map_err(|e| format!("the JWT signature is malformed: {e}"))?;
    let signing_input = &assertion[..header_part.len() + 1 + claims_part.len()];
    key.verifier
        .verify(signing_input.as_bytes(), &signature)
        .map_err(|_| "Invalid JWT Signature.".to_owned())?;

    let claims = decode_json_part(claims_part, "claim set")?;
    let expected_iss = ServiceAccountKey::client_email_for(&config.project_id);
    let iss = string_claim(&claims, "iss")?;
    if iss != expected_iss {
        return Err(format!("iss {iss:?} is not {expected_iss:?}"));
    }
    let aud = string_claim(&claims, "aud")?;
    if aud != token_uri {
        return Err(format!("aud {aud:?} is not the token URI {token_uri:?}"));
    }
    check_scopes(string_claim(&claims, "scope")?, config)?;

    let iat = integer_claim(&claims, "iat")?;
    let exp = integer_claim(&claims, "exp")?;
    if exp <= iat {
        return Err(format!("exp {exp} is not after iat {iat}"));
    }
    if exp - iat > MAX_ASSERTION_LIFETIME_SECS {
        return Err(format!(
            "the assertion lives {} s (exp - iat), more than {MAX_ASSERTION_LIFETIME_SECS} s",
            exp - iat
        ));
    }
    if exp <= now {
        return Err(format!(
            "the assertion expired {} s ago (exp {exp})",
            now - exp
        ));
    }
    if (iat - now).abs() > MAX_CLOCK_SKEW_SECS {
        return Err(format!(
            "iat {iat} is {} s from now ({now}), more than {MAX_CLOCK_SKEW_SECS} s",
            iat - now
        ));
    }
    Ok(Value::Object(claims))
}

/// Checks a `scope` claim against the configured scopes.
fn check_scopes(scope: &str, config: &TokenServerConfig) -> Result<(), String> {
    let granted: Vec<&str> = scope.split_whitespace().collect();
    if granted.is_empty() {
        return Err("claim \"scope\" is empty".to_owned());
    }
    let present = |wanted: &String| granted.contains(&wanted.as_str());
    if config.required_scopes.is_empty() {
        return Ok(());
    }
    let ok = match config.scope_match {
        ScopeMatch::Any => config.required_scopes.iter().any(present),
        ScopeMatch::All => config.required_scopes.iter().all(present),
    };
    if ok {
        Ok(())
    } else {
        let which = match config.scope_match {
            ScopeMatch::Any => "any",
            ScopeMatch::All => "all",
        };
        Err(format!(
            "scope {scope:?} lacks {which} of {:?}",
            config.required_scopes
        ))
    }
}

/// The Earth Engine credentials flow: checks the client and refresh token,
/// then issues a token.
fn refresh_token_grant(
    state: &State,
    config: &TokenServerConfig,
    form: &HashMap<String, String>,
) -> Result<Value, Refusal> {
    let client_id = required(form, "client_id")?;
    if client_id != config.client_id {
        return Err(Refusal::bad_request(
            "invalid_client",
            "The OAuth client was not found.",
        ));
    }
    let client_secret = required(form, "client_secret")?;
    if client_secret != config.client_secret {
        return Err(Refusal::bad_request("invalid_client", "Unauthorized"));
    }
    let refresh_token = required(form, "refresh_token")?;
    if refresh_token != config.refresh_token {
        return Err(Refusal::invalid_grant("Bad Request"));
    }
    Ok(json!({
        "access_token": issue(state, "user-token"),
        "expires_in": config.expires_in,
        "token_type": "Bearer",
        "scope": config.refresh_scope,
    }))
}
