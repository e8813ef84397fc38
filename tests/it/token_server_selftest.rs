//! The test token server refuses what Google's token endpoint refuses, so
//! that the authentication tests cannot pass on a wrong request: assertions
//! are signed here, apart from the server, and sent over HTTP on loopback.

use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use bytes::Bytes;
use http_body_util::{BodyExt as _, Full};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use serde_json::{Value, json};

use crate::support::token_server::{
    JWT_BEARER_GRANT, KEY_PAIR, ServiceAccountKey, TEST_PROJECT, TokenServer, TokenServerConfig,
};

/// POSTs `body` with `content_type`; the status and the JSON answer.
async fn post(uri: &str, content_type: &str, body: String) -> (u16, Value) {
    let client = Client::builder(TokioExecutor::new()).build_http::<Full<Bytes>>();
    let request = http::Request::post(uri)
        .header(http::header::CONTENT_TYPE, content_type)
        .body(Full::new(Bytes::from(body)))
        .expect("a well-formed request");
    let response = client.request(request).await.expect("the server answers");
    let status = response.status().as_u16();
    let bytes = response.into_body().collect().await.expect("a body");
    let answer = serde_json::from_slice(&bytes.to_bytes()).expect("a JSON answer");
    (status, answer)
}

/// POSTs a form of `pairs`.
async fn post_form(server: &TokenServer, pairs: &[(&str, &str)]) -> (u16, Value) {
    let form = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs)
        .finish();
    let content_type = "application/x-www-form-urlencoded";
    post(&server.token_uri(), content_type, form).await
}

/// Seconds since the Unix epoch.
fn now() -> i64 {
    let since = SystemTime::now().duration_since(UNIX_EPOCH);
    i64::try_from(since.expect("after 1970").as_secs()).expect("fits")
}

/// `header.claims.signature`, signed RS256 with the key file's key.
fn sign(header: &Value, claims: &Value) -> String {
    let signed = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(claims.to_string())
    );
    let mut signature = vec![0; KEY_PAIR.public().modulus_len()];
    KEY_PAIR
        .sign(
            &ring::signature::RSA_PKCS1_SHA256,
            &ring::rand::SystemRandom::new(),
            signed.as_bytes(),
            &mut signature,
        )
        .expect("RS256 signing");
    format!("{signed}.{}", URL_SAFE_NO_PAD.encode(signature))
}

/// Claims the server accepts from `key`, issued now.
fn good_claims(key: &ServiceAccountKey) -> Value {
    let now = now();
    json!({
        "iss": ServiceAccountKey::client_email_for(TEST_PROJECT),
        "aud": key.token_uri,
        "scope": "https://www.googleapis.com/auth/earthengine",
        "iat": now,
        "exp": now + 3600,
    })
}

#[tokio::test]
async fn good_grants_get_tokens_numbered_across_both() {
    let config = TokenServerConfig::default();
    let server = TokenServer::start(config.clone()).await;
    let key = server.service_account_key();
    let header = json!({"alg": "RS256", "typ": "JWT"});
    let assertion = sign(&header, &good_claims(&key));
    let (status, answer) = post_form(
        &server,
        &[("grant_type", JWT_BEARER_GRANT), ("assertion", &assertion)],
    )
    .await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["token_type"], "Bearer");
    assert_eq!(answer["expires_in"], 3600);
    let refresh = [
        ("grant_type", "refresh_token"),
        ("refresh_token", config.refresh_token.as_str()),
        ("client_id", &config.client_id),
        ("client_secret", &config.client_secret),
    ];
    let (status, answer) = post_form(&server, &refresh).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(server.issued(), ["sa-token-1", "user-token-2"]);
    let claims = server.last_claims().expect("the assertion's claims");
    assert_eq!(claims["aud"], server.token_uri());
}

#[tokio::test]
async fn bad_assertions_are_refused_with_the_reason() {
    let server = TokenServer::start(TokenServerConfig::default()).await;
    let key = server.service_account_key();
    let header = json!({"alg": "RS256", "typ": "JWT"});
    let now = now();
    let with = |change: &dyn Fn(&mut Value)| {
        let mut claims = good_claims(&key);
        change(&mut claims);
        sign(&header, &claims)
    };
    // Claims that were not the ones signed.
    let signed = sign(&header, &good_claims(&key));
    let other = with(&|c| c["scope"] = json!("https://www.googleapis.com/auth/cloud-platform"));
    let mut parts: Vec<&str> = signed.split('.').collect();
    parts[1] = other.split('.').nth(1).unwrap_or_default();
    let tampered = parts.join(".");
    let cases = [
        (tampered, "Invalid JWT Signature"),
        (sign(&json!({"alg": "HS256"}), &good_claims(&key)), "RS256"),
        (
            sign(&json!({"alg": "RS256", "kid": "x"}), &good_claims(&key)),
            "kid",
        ),
        ("a.b".to_owned(), "2 parts"),
        (
            with(&|c| c["aud"] = json!("https://oauth2.example/token")),
            "aud",
        ),
        (
            with(&|c| c["iss"] = json!("someone@else.iam.gserviceaccount.com")),
            "iss",
        ),
        (
            with(&|c| {
                if let Some(claims) = c.as_object_mut() {
                    claims.remove("iss");
                }
            }),
            "missing field `iss`",
        ),
        (
            with(&|c| c["scope"] = json!("https://www.googleapis.com/auth/devstorage")),
            "scope",
        ),
        (
            with(&|c| c["exp"] = json!(now - 60)),
            "exp is not after iat",
        ),
        (
            with(&|c| {
                c["iat"] = json!(now - 7200);
                c["exp"] = json!(now - 3600);
            }),
            "expired",
        ),
        (
            with(&|c| {
                c["iat"] = json!(now + 600);
                c["exp"] = json!(now + 1200);
            }),
            "iat is too far",
        ),
        // Both times pinned: one second over, whatever the clock did since.
        (
            with(&|c| {
                c["iat"] = json!(now);
                c["exp"] = json!(now + 3601);
            }),
            "more than an hour",
        ),
        (
            with(&|c| c["iat"] = json!(now as f64 + 0.5)),
            "expected i64",
        ),
    ];
    for (assertion, reason) in &cases {
        let form = [("grant_type", JWT_BEARER_GRANT), ("assertion", assertion)];
        let (status, answer) = post_form(&server, &form).await;
        assert_eq!(
            (status, answer["error"].as_str()),
            (400, Some("invalid_grant")),
            "{reason}"
        );
        let description = answer["error_description"].as_str().unwrap_or_default();
        assert!(description.contains(reason), "{reason}: {description}");
    }
    assert!(server.issued().is_empty());
}

#[tokio::test]
async fn bad_requests_are_refused_with_the_oauth_error() {
    let config = TokenServerConfig::default();
    let server = TokenServer::start(config.clone()).await;
    let refresh = |client_id: &'static str, secret: &'static str, token: &'static str| {
        let pick = |given: &'static str, right: &str| {
            if given.is_empty() {
                right.to_owned()
            } else {
                given.to_owned()
            }
        };
        [
            ("grant_type", "refresh_token".to_owned()),
            ("client_id", pick(client_id, &config.client_id)),
            ("client_secret", pick(secret, &config.client_secret)),
            ("refresh_token", pick(token, &config.refresh_token)),
        ]
    };
    let cases: Vec<(Vec<(&str, String)>, &str)> = vec![
        (refresh("other-client", "", "").to_vec(), "invalid_client"),
        (refresh("", "wrong", "").to_vec(), "invalid_client"),
        (refresh("", "", "1//revoked").to_vec(), "invalid_grant"),
        (refresh("", "", "")[..3].to_vec(), "invalid_request"),
        (vec![], "unsupported_grant_type"),
        (
            vec![("grant_type", "password".to_owned())],
            "unsupported_grant_type",
        ),
        (
            vec![("grant_type", JWT_BEARER_GRANT.to_owned())],
            "invalid_request",
        ),
        (
            vec![
                ("grant_type", "a".to_owned()),
                ("grant_type", "b".to_owned()),
            ],
            "invalid_request",
        ),
    ];
    for (pairs, error) in &cases {
        let pairs: Vec<(&str, &str)> = pairs.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let (status, answer) = post_form(&server, &pairs).await;
        assert_eq!(
            (status, answer["error"].as_str()),
            (400, Some(*error)),
            "{pairs:?}"
        );
    }
    let json = r#"{"grant_type":"refresh_token"}"#.to_owned();
    let (status, answer) = post(&server.token_uri(), "application/json", json).await;
    assert_eq!(
        (status, answer["error"].as_str()),
        (400, Some("invalid_request"))
    );
    assert_eq!(server.requests(), cases.len() + 1);
    assert!(server.issued().is_empty());
    assert!(
        server
            .last_error()
            .is_some_and(|e| e.contains("application/json"))
    );
}
