//! The test token server refuses what Google's token endpoint refuses and
//! accepts what it accepts: assertions are signed here independently, and
//! every request goes over real HTTP on loopback.

use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use bytes::Bytes;
use http_body_util::{BodyExt as _, Full};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use rsa::RsaPrivateKey;
use rsa::pkcs1v15::SigningKey;
use rsa::pkcs8::DecodePrivateKey as _;
use rsa::sha2::Sha256;
use rsa::signature::{SignatureEncoding as _, Signer as _};
use serde_json::{Value, json};

use crate::support::token_server::{
    CLOUD_PLATFORM_SCOPE, EARTH_ENGINE_SCOPE, JWT_BEARER_GRANT, ScopeMatch, ServiceAccountKey,
    TEST_PROJECT, TokenServer, TokenServerConfig, earth_engine_credentials_json,
    write_earth_engine_credentials,
};

/// An answer from the server: status and JSON body.
struct Answer {
    status: u16,
    body: Value,
}

impl Answer {
    /// The body's `error` field.
    fn error(&self) -> &str {
        self.body["error"].as_str().unwrap_or("")
    }

    /// The body's `error_description` field.
    fn description(&self) -> &str {
        self.body["error_description"].as_str().unwrap_or("")
    }
}

/// Sends `body` to `uri` with the given method and content type.
async fn send(method: &str, uri: &str, content_type: &str, body: &str) -> Answer {
    let client = Client::builder(TokioExecutor::new()).build_http::<Full<Bytes>>();
    let request = http::Request::builder()
        .method(method)
        .uri(uri)
        .header(http::header::CONTENT_TYPE, content_type)
        .body(Full::new(Bytes::from(body.to_owned())))
        .expect("a well-formed request");
    let response = client
        .request(request)
        .await
        .expect("the token server answers");
    let status = response.status().as_u16();
    let bytes = response
        .into_body()
        .collect()
        .await
        .expect("the whole body arrives")
        .to_bytes();
    let body = if bytes.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&bytes).expect("the token server answers JSON")
    };
    Answer { status, body }
}

/// POSTs a form body to `uri`.
async fn post_form(uri: &str, body: &str) -> Answer {
    send("POST", uri, "application/x-www-form-urlencoded", body).await
}

/// A form body from name/value pairs.
fn form(pairs: &[(&str, &str)]) -> String {
    form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs)
        .finish()
}

/// The body of a JWT-bearer grant carrying `assertion`.
fn jwt_grant(assertion: &str) -> String {
    form(&[("grant_type", JWT_BEARER_GRANT), ("assertion", assertion)])
}

/// Seconds since the Unix epoch.
fn now() -> i64 {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("the clock is after 1970")
        .as_secs();
    i64::try_from(secs).expect("fits in i64")
}

/// Signs `header.claims` with RS256, as a service-account client does.
fn sign(private_key: &RsaPrivateKey, header: &Value, claims: &Value) -> String {
    let header = URL_SAFE_NO_PAD.encode(header.to_string());
    let claims = URL_SAFE_NO_PAD.encode(claims.to_string());
    let signing_input = format!("{header}.{claims}");
    let signer = SigningKey::<Sha256>::new(private_key.clone());
    let signature = signer.sign(signing_input.as_bytes());
    format!(
        "{signing_input}.{}",
        URL_SAFE_NO_PAD.encode(signature.to_bytes())
    )
}

/// The private key inside a key file, read back from its PEM.
fn private_key_of(key: &ServiceAccountKey) -> RsaPrivateKey {
    RsaPrivateKey::from_pkcs8_pem(&key.private_key_pem).expect("the key file holds PKCS#8 PEM")
}

/// The header a Google client sends for `key`.
fn header_for(key: &ServiceAccountKey) -> Value {
    json!({"alg": "RS256", "typ": "JWT", "kid": key.private_key_id})
}

/// Claims that the server accepts for `key`.
fn good_claims(key: &ServiceAccountKey) -> Value {
    let now = now();
    json!({
        "iss": key.client_email,
        "aud": key.token_uri,
        "scope": format!("{EARTH_ENGINE_SCOPE} {CLOUD_PLATFORM_SCOPE}"),
        "iat": now,
        "exp": now + 3600,
    })
}

/// A correctly signed assertion for `key` with `claims`.
fn assertion(key: &ServiceAccountKey, claims: &Value) -> String {
    sign(&private_key_of(key), &header_for(key), claims)
}

#[tokio::test]
async fn a_signed_assertion_gets_numbered_tokens() {
    let server = TokenServer::start(TokenServerConfig {
        expires_in: 1234,
        ..TokenServerConfig::default()
    })
    .await;
    let key = server.service_account_key();
    assert!(server.token_uri().starts_with("http://127.0.0.1:"));
    assert!(server.token_uri().ends_with("/token"));

    let first = post_form(
        &server.token_uri(),
        &jwt_grant(&assertion(&key, &good_claims(&key))),
    )
    .await;
    assert_eq!(first.status, 200, "{}", first.body);
    assert_eq!(
        first.body,
        json!({"access_token": "sa-token-1", "expires_in": 1234, "token_type": "Bearer"})
    );

    // A header without kid is accepted too.
    let no_kid = sign(
        &private_key_of(&key),
        &json!({"alg": "RS256", "typ": "JWT"}),
        &good_claims(&key),
    );
    let second = post_form(&server.token_uri(), &jwt_grant(&no_kid)).await;
    assert_eq!(second.status, 200, "{}", second.body);
    assert_eq!(second.body["access_token"], "sa-token-2");

    assert_eq!(server.requests(), 2);
    assert_eq!(server.issued(), ["sa-token-1", "sa-token-2"]);
    assert_eq!(server.last_error(), None);
    let claims = server
        .last_claims()
        .expect("claims of the accepted assertion");
    assert_eq!(claims["iss"], key.client_email);
}

#[tokio::test]
async fn an_assertion_signed_by_another_key_is_refused() {
    let server = TokenServer::start(TokenServerConfig::default()).await;
    let key = server.service_account_key();
    let foreign = ServiceAccountKey::generate_foreign(&server.token_uri(), TEST_PROJECT);
    assert_ne!(foreign.private_key_id, key.private_key_id);

    // Signed by the foreign key, but claiming the trusted key's id.
    let forged = sign(
        &private_key_of(&foreign),
        &header_for(&key),
        &good_claims(&key),
    );
    let answer = post_form(&server.token_uri(), &jwt_grant(&forged)).await;
    assert_eq!(answer.status, 400, "{}", answer.body);
    assert_eq!(answer.error(), "invalid_grant");
    assert!(
        answer.description().contains("Signature"),
        "{}",
        answer.body
    );
    let reason = server.last_error().expect("the refusal is recorded");
    assert!(reason.contains("Signature"), "{reason}");

    // The foreign key file as a whole: its kid is unknown.
    let answer = post_form(
        &server.token_uri(),
        &jwt_grant(&assertion(&foreign, &good_claims(&foreign))),
    )
    .await;
    assert_eq!(answer.status, 400, "{}", answer.body);
    assert_eq!(answer.error(), "invalid_grant");
    assert!(answer.description().contains("kid"), "{}", answer.body);

    // A signature that was tampered with after signing.
    let good = assertion(&key, &good_claims(&key));
    let (signed, signature) = good.rsplit_once('.').expect("three parts");
    let mut tampered = URL_SAFE_NO_PAD.decode(signature).expect("base64url");
    tampered[0] ^= 1;
    let tampered = format!("{signed}.{}", URL_SAFE_NO_PAD.encode(tampered));
    let answer = post_form(&server.token_uri(), &jwt_grant(&tampered)).await;
    assert_eq!(answer.status, 400, "{}", answer.body);
    assert_eq!(answer.error(), "invalid_grant");

    assert_eq!(server.requests(), 3);
    assert!(server.issued().is_empty());
}

/// Sends an assertion for `key` whose claims were changed by `change`, and
/// checks that it is refused with a description mentioning `expected`.
async fn assert_refused(
    server: &TokenServer,
    key: &ServiceAccountKey,
    change: impl FnOnce(&mut Value),
    expected: &str,
) {
    let mut claims = good_claims(key);
    change(&mut claims);
    let answer = post_form(&server.token_uri(), &jwt_grant(&assertion(key, &claims))).await;
    assert_eq!(answer.status, 400, "claims {claims}: {}", answer.body);
    assert_eq!(answer.error(), "invalid_grant", "claims {claims}");
    assert!(
        answer.description().contains(expected),
        "claims {claims}: expected {expected:?} in {}",
        answer.body
    );
    let reason = server.last_error().expect("the refusal is recorded");
    assert!(reason.contains(expected), "{reason}");
}

#[tokio::test]
async fn wrong_claims_are_refused_with_a_reason() {
    let server = TokenServer::start(TokenServerConfig::default()).await;
    let key = server.service_account_key();
    let now = now();

    assert_refused(
        &server,
        &key,
        |c| c["aud"] = json!("https://oauth2.googleapis.com/token"),
        "aud",
    )
    .await;
    assert_refused(
        &server,
        &key,
        |c| c["iss"] = json!("someone@else.iam.gserviceaccount.com"),
        "iss",
    )
    .await;
    assert_refused(
        &server,
        &key,
        |c| {
            c.as_object_mut().expect("object").remove("iss");
        },
        "iss",
    )
    .await;
    assert_refused(
        &server,
        &key,
        |c| c["scope"] = json!("https://www.googleapis.com/auth/devstorage.read_only"),
        "scope",
    )
    .await;
    assert_refused(&server, &key, |c| c["scope"] = json!(""), "scope").await;
    assert_refused(
        &server,
        &key,
        |c| {
            c.as_object_mut().expect("object").remove("scope");
        },
        "scope",
    )
    .await;
    // Expired an hour ago.
    assert_refused(
        &server,
        &key,
        |c| {
            c["iat"] = json!(now - 7200);
            c["exp"] = json!(now - 3600);
        },
        "expired",
    )
    .await;
    // Issued too long ago, though not expired yet.
    assert_refused(
        &server,
        &key,
        |c| {
            c["iat"] = json!(now - 600);
            c["exp"] = json!(now + 600);
        },
        "iat",
    )
    .await;
    // Issued in the future.
    assert_refused(
        &server,
        &key,
        |c| {
            c["iat"] = json!(now + 600);
            c["exp"] = json!(now + 1200);
        },
        "iat",
    )
    .await;
    // Both times pinned: a lifetime one second over the limit, whatever
    // the clock did since `now` was read.
    assert_refused(
        &server,
        &key,
        |c| {
            c["iat"] = json!(now);
            c["exp"] = json!(now + 3601);
        },
        "3600",
    )
    .await;
    assert_refused(
        &server,
        &key,
        |c| {
            c["iat"] = json!(now);
            c["exp"] = json!(now);
        },
        "exp",
    )
    .await;
    assert_refused(
        &server,
        &key,
        |c| c["iat"] = json!(now as f64 + 0.5),
        "integer",
    )
    .await;
    assert_refused(
        &server,
        &key,
        |c| c["exp"] = json!((now + 60).to_string()),
        "integer",
    )
    .await;

    assert_eq!(server.requests(), 13);
    assert!(server.issued().is_empty());

    // The same server still issues a token for good claims.
    let answer = post_form(
        &server.token_uri(),
        &jwt_grant(&assertion(&key, &good_claims(&key))),
    )
    .await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert_eq!(server.issued(), ["sa-token-1"]);
}

#[tokio::test]
async fn scopes_are_checked_as_configured() {
    // By default one of the two Earth Engine scopes is enough.
    let server = TokenServer::start(TokenServerConfig::default()).await;
    let key = server.service_account_key();
    for scope in [EARTH_ENGINE_SCOPE, CLOUD_PLATFORM_SCOPE] {
        let mut claims = good_claims(&key);
        claims["scope"] = json!(scope);
        let answer = post_form(&server.token_uri(), &jwt_grant(&assertion(&key, &claims))).await;
        assert_eq!(answer.status, 200, "{scope}: {}", answer.body);
    }

    // Tightened: every listed scope must be there.
    let strict = TokenServer::start(TokenServerConfig {
        scope_match: ScopeMatch::All,
        ..TokenServerConfig::default()
    })
    .await;
    let key = strict.service_account_key();
    assert_refused(
        &strict,
        &key,
        |c| c["scope"] = json!(EARTH_ENGINE_SCOPE),
        "scope",
    )
    .await;
    let answer = post_form(
        &strict.token_uri(),
        &jwt_grant(&assertion(&key, &good_claims(&key))),
    )
    .await;
    assert_eq!(answer.status, 200, "{}", answer.body);
}

#[tokio::test]
async fn a_bad_header_is_refused() {
    let server = TokenServer::start(TokenServerConfig::default()).await;
    let key = server.service_account_key();
    let private_key = private_key_of(&key);
    let claims = good_claims(&key);
    for (header, expected) in [
        (json!({"alg": "HS256", "typ": "JWT"}), "alg"),
        (json!({"alg": "none", "typ": "JWT"}), "alg"),
        (json!({"typ": "JWT"}), "alg"),
        (json!({"alg": "RS256", "typ": "JWS"}), "typ"),
        (json!({"alg": "RS256", "kid": "0123"}), "kid"),
        (json!(["RS256"]), "object"),
    ] {
        let answer = post_form(
            &server.token_uri(),
            &jwt_grant(&sign(&private_key, &header, &claims)),
        )
        .await;
        assert_eq!(answer.status, 400, "{header}: {}", answer.body);
        assert_eq!(answer.error(), "invalid_grant", "{header}");
        assert!(
            answer.description().contains(expected),
            "{header}: {}",
            answer.body
        );
    }
    assert!(server.issued().is_empty());
}

#[tokio::test]
async fn the_refresh_token_grant_checks_token_and_client() {
    let config = TokenServerConfig::default();
    let server = TokenServer::start(config.clone()).await;
    let grant = |refresh_token: &str, client_id: &str, client_secret: &str| {
        form(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh_token),
            ("client_id", client_id),
            ("client_secret", client_secret),
        ])
    };

    let answer = post_form(
        &server.token_uri(),
        &grant(
            &config.refresh_token,
            &config.client_id,
            &config.client_secret,
        ),
    )
    .await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert_eq!(answer.body["access_token"], "user-token-1");
    assert_eq!(answer.body["expires_in"], 3600);
    assert_eq!(answer.body["token_type"], "Bearer");
    assert_eq!(answer.body["scope"], config.refresh_scope);

    let answer = post_form(
        &server.token_uri(),
        &grant("1//revoked", &config.client_id, &config.client_secret),
    )
    .await;
    assert_eq!(answer.status, 400, "{}", answer.body);
    assert_eq!(
        answer.body,
        json!({"error": "invalid_grant", "error_description": "Bad Request"})
    );

    let answer = post_form(
        &server.token_uri(),
        &grant(&config.refresh_token, &config.client_id, "wrong secret"),
    )
    .await;
    assert_eq!(answer.status, 400, "{}", answer.body);
    assert_eq!(answer.error(), "invalid_client");

    let answer = post_form(
        &server.token_uri(),
        &grant(&config.refresh_token, "someone-else", &config.client_secret),
    )
    .await;
    assert_eq!(answer.status, 400, "{}", answer.body);
    assert_eq!(answer.error(), "invalid_client");

    let answer = post_form(
        &server.token_uri(),
        &form(&[
            ("grant_type", "refresh_token"),
            ("client_id", &config.client_id),
            ("client_secret", &config.client_secret),
        ]),
    )
    .await;
    assert_eq!(answer.status, 400, "{}", answer.body);
    assert_eq!(answer.error(), "invalid_request");
    assert!(
        answer.description().contains("refresh_token"),
        "{}",
        answer.body
    );

    let answer = post_form(
        &server.token_uri(),
        &grant(
            &config.refresh_token,
            &config.client_id,
            &config.client_secret,
        ),
    )
    .await;
    assert_eq!(answer.body["access_token"], "user-token-2");

    assert_eq!(server.requests(), 6);
    assert_eq!(server.issued(), ["user-token-1", "user-token-2"]);
}

#[tokio::test]
async fn tokens_of_both_grants_share_one_count() {
    let config = TokenServerConfig::default();
    let server = TokenServer::start(config.clone()).await;
    let key = server.service_account_key();
    let refresh = form(&[
        ("grant_type", "refresh_token"),
        ("refresh_token", &config.refresh_token),
        ("client_id", &config.client_id),
        ("client_secret", &config.client_secret),
    ]);
    assert_eq!(post_form(&server.token_uri(), &refresh).await.status, 200);
    let jwt = jwt_grant(&assertion(&key, &good_claims(&key)));
    assert_eq!(post_form(&server.token_uri(), &jwt).await.status, 200);
    assert_eq!(server.issued(), ["user-token-1", "sa-token-2"]);
}

#[tokio::test]
async fn malformed_requests_get_400_with_a_reason() {
    let server = TokenServer::start(TokenServerConfig::default()).await;
    let key = server.service_account_key();
    let uri = server.token_uri();
    let grant_type = form(&[("grant_type", JWT_BEARER_GRANT)]);
    let cases: Vec<(String, &str)> = vec![
        (String::new(), "unsupported_grant_type"),
        (
            "grant_type=password&username=a&password=b".to_owned(),
            "unsupported_grant_type",
        ),
        ("grant_type=a&grant_type=b".to_owned(), "invalid_request"),
        (grant_type.clone(), "invalid_request"),
        (format!("{grant_type}&assertion="), "invalid_grant"),
        (format!("{grant_type}&assertion=a.b"), "invalid_grant"),
        (format!("{grant_type}&assertion=a.b.c.d"), "invalid_grant"),
        (
            format!("{grant_type}&assertion=!!!.%23%23%23.$$$"),
            "invalid_grant",
        ),
        (
            format!("{grant_type}&assertion=e30=.e30=.AA=="),
            "invalid_grant",
        ),
        (
            format!("{grant_type}&assertion=bm90IGpzb24.e30.AA"),
            "invalid_grant",
        ),
        (
            format!("{grant_type}&assertion=e30.e30.AA"),
            "invalid_grant",
        ),
        (
            format!("{grant_type}&assertion=eyJhbGciOiJSUzI1NiJ9.e30."),
            "invalid_grant",
        ),
        (
            format!("{grant_type}&assertion=eyJhbGciOiJSUzI1NiJ9.e30.AAAA"),
            "invalid_grant",
        ),
    ];
    for (body, error) in &cases {
        let answer = post_form(&uri, body).await;
        assert_eq!(answer.status, 400, "{body:?}: {}", answer.body);
        assert_eq!(answer.error(), *error, "{body:?}: {}", answer.body);
        assert!(
            !answer.description().is_empty(),
            "{body:?}: {}",
            answer.body
        );
    }

    // Not a form at all.
    let answer = send(
        "POST",
        &uri,
        "application/json",
        r#"{"grant_type":"refresh_token"}"#,
    )
    .await;
    assert_eq!(answer.status, 400, "{}", answer.body);
    assert_eq!(answer.error(), "invalid_request");
    // Not UTF-8 after decoding, inside a JWT part.
    let answer = post_form(&uri, &format!("{grant_type}&assertion=%FF.e30.AA")).await;
    assert_eq!(answer.status, 400, "{}", answer.body);

    assert_eq!(server.requests(), cases.len() + 2);
    assert!(server.issued().is_empty());
    assert!(server.last_error().is_some());

    // The server is still well and still checks signatures properly.
    let answer = post_form(&uri, &jwt_grant(&assertion(&key, &good_claims(&key)))).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
}

#[tokio::test]
async fn other_paths_and_methods() {
    let server = TokenServer::start(TokenServerConfig::default()).await;
    let base = format!("http://{}", server.addr());
    let answer = post_form(&format!("{base}/oauth2/token"), "grant_type=refresh_token").await;
    assert_eq!(answer.status, 404);
    let answer = send("GET", &server.token_uri(), "text/plain", "").await;
    assert_eq!(answer.status, 405);
    // Neither counts as a token request.
    assert_eq!(server.requests(), 0);
}

#[tokio::test]
async fn fail_with_answers_every_request_and_can_be_lifted() {
    let server = TokenServer::start(TokenServerConfig {
        fail_with: Some((503, r#"{"error":"temporarily_unavailable"}"#.to_owned())),
        ..TokenServerConfig::default()
    })
    .await;
    let key = server.service_account_key();
    let body = jwt_grant(&assertion(&key, &good_claims(&key)));
    let answer = post_form(&server.token_uri(), &body).await;
    assert_eq!(answer.status, 503);
    assert_eq!(answer.body, json!({"error": "temporarily_unavailable"}));
    assert!(server.issued().is_empty());
    assert!(server.last_error().is_some());

    server.configure(|config| config.fail_with = None);
    let answer = post_form(&server.token_uri(), &body).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert_eq!(server.requests(), 2);
    assert_eq!(server.issued(), ["sa-token-1"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delayed_answers_serve_concurrent_callers() {
    let server = TokenServer::start(TokenServerConfig {
        delay: Some(std::time::Duration::from_millis(50)),
        ..TokenServerConfig::default()
    })
    .await;
    let key = server.service_account_key();
    let uri = server.token_uri();
    let mut callers = tokio::task::JoinSet::new();
    for _ in 0..4 {
        let body = jwt_grant(&assertion(&key, &good_claims(&key)));
        let uri = uri.clone();
        callers.spawn(async move { post_form(&uri, &body).await });
    }
    let mut tokens = Vec::new();
    while let Some(answer) = callers.join_next().await {
        let answer = answer.expect("the caller finished");
        assert_eq!(answer.status, 200, "{}", answer.body);
        tokens.push(
            answer.body["access_token"]
                .as_str()
                .expect("a token")
                .to_owned(),
        );
    }
    tokens.sort();
    assert_eq!(
        tokens,
        ["sa-token-1", "sa-token-2", "sa-token-3", "sa-token-4"]
    );
    assert_eq!(server.requests(), 4);
}

#[tokio::test]
async fn the_server_stops_when_dropped() {
    let server = TokenServer::start(TokenServerConfig::default()).await;
    let addr = server.addr();
    drop(server);
    // The accept loop is aborted; once it has gone, connecting fails.
    for _ in 0..1000 {
        if tokio::net::TcpStream::connect(addr).await.is_err() {
            return;
        }
        tokio::task::yield_now().await;
    }
    panic!("the token server at {addr} still accepts connections");
}

#[test]
fn key_file_has_the_fields_of_a_google_key() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let key = ServiceAccountKey::generate("http://127.0.0.1:9/token", "my-project");
    let path = key.write_to(dir.path());
    assert_eq!(path, dir.path().join("key.json"));
    let text = std::fs::read_to_string(&path).expect("the key file was written");
    let json: Value = serde_json::from_str(&text).expect("the key file is JSON");
    assert_eq!(json["type"], "service_account");
    assert_eq!(json["project_id"], "my-project");
    assert_eq!(
        json["client_email"],
        "eeops-test@my-project.iam.gserviceaccount.com"
    );
    assert_eq!(json["token_uri"], "http://127.0.0.1:9/token");
    assert_eq!(
        json["auth_uri"],
        "https://accounts.google.com/o/oauth2/auth"
    );
    assert_eq!(json["private_key_id"].as_str().map(str::len), Some(40));
    assert!(json["client_id"].as_str().is_some_and(|id| !id.is_empty()));
    let pem = json["private_key"].as_str().expect("a PEM string");
    assert!(pem.starts_with("-----BEGIN PRIVATE KEY-----\n"), "{pem}");
    assert!(
        pem.trim_end().ends_with("-----END PRIVATE KEY-----"),
        "{pem}"
    );
    let parsed = RsaPrivateKey::from_pkcs8_pem(pem).expect("PKCS#8 PEM");
    assert_eq!(&parsed, key.private_key());

    // Every key made in the process shares the one trusted RSA key.
    let again = ServiceAccountKey::generate("http://127.0.0.1:9/token", "other");
    assert_eq!(again.private_key_pem, key.private_key_pem);
    assert_eq!(again.private_key_id, key.private_key_id);
}

#[test]
fn earth_engine_credentials_have_the_fields_the_client_writes() {
    let full: Value = serde_json::from_str(&earth_engine_credentials_json(
        "1//refresh",
        Some("id.apps.googleusercontent.com"),
        Some("secret"),
        Some("my-project"),
    ))
    .expect("JSON");
    assert_eq!(
        full,
        json!({
            "refresh_token": "1//refresh",
            "client_id": "id.apps.googleusercontent.com",
            "client_secret": "secret",
            "project": "my-project",
        })
    );
    let minimal = earth_engine_credentials_json("1//refresh", None, None, None);
    let minimal_json: Value = serde_json::from_str(&minimal).expect("JSON");
    assert_eq!(minimal_json, json!({"refresh_token": "1//refresh"}));

    let home = tempfile::tempdir().expect("a temporary directory");
    let path = write_earth_engine_credentials(home.path(), &minimal);
    assert_eq!(path, home.path().join(".config/earthengine/credentials"));
    assert_eq!(std::fs::read_to_string(&path).expect("written"), minimal);
}
