//! Authentication with real flows on loopback: a token endpoint that checks
//! the service account's RS256-signed assertion, the Earth Engine credentials
//! file's refresh token, and an emulator that requires the bearer token and
//! records what it receives — on both transports.

use std::time::Duration;

use crate::support::closed_port::ClosedPort;
use crate::support::token_server::{
    ServiceAccountKey, TEST_PROJECT, TokenServer, TokenServerConfig, earth_engine_credentials_json,
    write_earth_engine_credentials,
};
use eeops::emulator::{Emulator, OperationSpec, RunningEmulator};
use eeops::rpc::Code;
use eeops::{Client, CredentialSearch, Credentials, TransportKind};
use serde_json::Value;

type TestResult = Result<(), Box<dyn std::error::Error>>;

const TRANSPORTS: [TransportKind; 2] = [TransportKind::Grpc, TransportKind::Rest];

/// An emulator that requires `token` and records requests into `dir`.
async fn guarded_emulator(
    token: &str,
    dir: &tempfile::TempDir,
) -> Result<RunningEmulator, eeops::Error> {
    Emulator::builder()
        .with_required_token(token)
        .with_record_file(dir.path().join("requests.jsonl"))
        .start("127.0.0.1:0")
        .await
}

fn client(
    kind: TransportKind,
    emulator: &RunningEmulator,
    credentials: Credentials,
) -> eeops::Result<Client> {
    Client::builder()
        .with_transport(kind)
        .with_endpoint(emulator.endpoint())
        .with_credentials(credentials)
        .build()
}

fn header<'a>(record: &'a Value, name: &str) -> Option<&'a str> {
    record["headers"][name].as_str()
}

#[tokio::test]
async fn service_account_key_flow_on_both_transports() -> TestResult {
    let server = TokenServer::start(TokenServerConfig::default()).await;
    let dir = tempfile::tempdir()?;
    let key_file = server.service_account_key().write_to(dir.path());
    let emulator = guarded_emulator("sa-token-1", &dir).await?;
    let name = emulator.create(OperationSpec::new("p"))?;
    let credentials = Credentials::from_service_account_file(&key_file)?;
    for kind in TRANSPORTS {
        let client = Client::builder()
            .with_transport(kind)
            .with_endpoint(emulator.endpoint())
            .with_credentials(credentials.clone())
            .with_quota_project("billing-project")
            .build()?;
        let op = client.get(&name).await?;
        assert_eq!(op.name, name, "{kind:?}");
    }
    // One token served every call of both clients (they share the credentials).
    assert_eq!(server.requests(), 1, "{:?}", server.last_error());
    let claims = server.last_claims().expect("an assertion was checked");
    assert_eq!(
        claims["iss"],
        ServiceAccountKey::client_email_for(TEST_PROJECT)
    );
    let scopes = claims["scope"].as_str().unwrap_or_default();
    assert!(
        scopes.contains("auth/earthengine") && scopes.contains("auth/cloud-platform"),
        "{scopes}"
    );

    let records = emulator.records();
    assert_eq!(records.len(), 2, "{records:#?}");
    for (record, transport) in records.iter().zip(["grpc", "rest"]) {
        assert_eq!(record["transport"], transport);
        let authorization = header(record, "authorization").unwrap_or_default();
        assert!(
            authorization.starts_with("Bearer sha256:"),
            "{authorization}"
        );
        assert_eq!(
            header(record, "x-goog-user-project"),
            Some("billing-project")
        );
        assert_eq!(
            header(record, "x-goog-request-params"),
            Some(format!("name={name}").as_str())
        );
        assert!(
            header(record, "x-goog-api-client").is_some_and(|v| v.contains("eeops/")),
            "{record}"
        );
        assert!(
            header(record, "user-agent").is_some_and(|v| v.contains("eeops/")),
            "{record}"
        );
    }
    let recorded = std::fs::read_to_string(dir.path().join("requests.jsonl"))?;
    assert!(
        !recorded.contains("sa-token-1"),
        "the token itself is never recorded"
    );
    emulator.shutdown().await?;
    Ok(())
}

#[tokio::test]
async fn concurrent_calls_cause_one_token_request() -> TestResult {
    let server = TokenServer::start(TokenServerConfig {
        delay: Some(Duration::from_millis(200)),
        ..TokenServerConfig::default()
    })
    .await;
    let dir = tempfile::tempdir()?;
    let key_file = server.service_account_key().write_to(dir.path());
    let emulator = Emulator::builder().start("127.0.0.1:0").await?;
    let name = emulator.create(OperationSpec::new("p"))?;
    for kind in TRANSPORTS {
        let client = client(
            kind,
            &emulator,
            Credentials::from_service_account_file(&key_file)?,
        )?;
        let calls: Vec<_> = (0..40)
            .map(|_| {
                let (client, name) = (client.clone(), name.clone());
                tokio::spawn(async move { client.get(name).await })
            })
            .collect();
        for call in calls {
            call.await??;
        }
    }
    // Two clients with their own credentials: one token request each.
    assert_eq!(server.requests(), 2, "{:?}", server.issued());
    emulator.shutdown().await?;
    Ok(())
}

#[tokio::test]
async fn an_expired_token_is_refreshed() -> TestResult {
    // Tokens that expire at once: every call needs a new one.
    let server = TokenServer::start(TokenServerConfig {
        expires_in: 0,
        ..TokenServerConfig::default()
    })
    .await;
    let dir = tempfile::tempdir()?;
    let key_file = server.service_account_key().write_to(dir.path());
    let emulator = Emulator::builder()
        .with_record_file(dir.path().join("requests.jsonl"))
        .start("127.0.0.1:0")
        .await?;
    let name = emulator.create(OperationSpec::new("p"))?;
    let client = client(
        TransportKind::Rest,
        &emulator,
        Credentials::from_service_account_file(&key_file)?,
    )?;
    for _ in 0..3 {
        client.get(&name).await?;
    }
    assert_eq!(server.issued(), ["sa-token-1", "sa-token-2", "sa-token-3"]);
    let fingerprints: std::collections::HashSet<String> = emulator
        .records()
        .iter()
        .filter_map(|record| header(record, "authorization").map(str::to_owned))
        .collect();
    assert_eq!(
        fingerprints.len(),
        3,
        "each call carried the token fetched for it"
    );
    emulator.shutdown().await?;
    Ok(())
}

#[tokio::test]
async fn earth_engine_credentials_file_flow() -> TestResult {
    let config = TokenServerConfig::default();
    let (refresh_token, client_id, client_secret) = (
        config.refresh_token.clone(),
        config.client_id.clone(),
        config.client_secret.clone(),
    );
    let server = TokenServer::start(config).await;
    let home = tempfile::tempdir()?;
    let file = write_earth_engine_credentials(
        home.path(),
        &earth_engine_credentials_json(
            &refresh_token,
            Some(&client_id),
            Some(&client_secret),
            Some("ee-project"),
        ),
    );
    let search = CredentialSearch::new()
        .with_earth_engine_file(&file)
        .with_token_uri(server.token_uri())
        .explicit_only(true);
    let credentials = search.find().await?;
    assert_eq!(credentials.quota_project(), Some("ee-project"));
    let emulator = guarded_emulator("user-token-1", &home).await?;
    let name = emulator.create(OperationSpec::new("ee-project"))?;
    for kind in TRANSPORTS {
        client(kind, &emulator, credentials.clone())?
            .get(&name)
            .await?;
    }
    assert_eq!(server.issued(), ["user-token-1"]);
    for record in emulator.records() {
        assert_eq!(
            header(&record, "x-goog-user-project"),
            Some("ee-project"),
            "the file's project is the quota project"
        );
    }
    emulator.shutdown().await?;
    Ok(())
}

#[tokio::test]
async fn a_refused_refresh_token_is_unauthenticated_with_its_cause() -> TestResult {
    let server = TokenServer::start(TokenServerConfig::default()).await;
    let home = tempfile::tempdir()?;
    let file = write_earth_engine_credentials(
        home.path(),
        &earth_engine_credentials_json("1//revoked", None, None, Some("p")),
    );
    let credentials =
        Credentials::from_earth_engine_file(&file)?.with_token_uri(server.token_uri())?;
    let emulator = Emulator::builder().start("127.0.0.1:0").await?;
    let error = client(TransportKind::Grpc, &emulator, credentials)?
        .get("projects/p/operations/x")
        .await
        .expect_err("the token endpoint refuses the refresh token");
    assert_eq!(error.code(), Code::Unauthenticated, "{error:?}");
    let message = error.to_string();
    assert!(
        message.contains(&file.display().to_string()),
        "names the file: {message}"
    );
    assert!(
        message.contains(&server.token_uri()) && message.contains("invalid"),
        "says what the endpoint answered: {message}"
    );
    assert!(
        !message.contains("1//revoked"),
        "never shows the refresh token: {message}"
    );
    assert!(
        server.requests() <= 2,
        "not retried over and over: {}",
        server.requests()
    );
    emulator.shutdown().await?;
    Ok(())
}

#[tokio::test]
async fn a_token_the_server_refuses_is_refreshed_once_then_reported() -> TestResult {
    let server = TokenServer::start(TokenServerConfig::default()).await;
    let dir = tempfile::tempdir()?;
    let key_file = server.service_account_key().write_to(dir.path());
    let emulator = guarded_emulator("some-other-token", &dir).await?;
    for kind in TRANSPORTS {
        let error = client(
            kind,
            &emulator,
            Credentials::from_service_account_file(&key_file)?,
        )?
        .get("projects/p/operations/x")
        .await
        .expect_err("the emulator wants another token");
        assert_eq!(error.code(), Code::Unauthenticated, "{kind:?}: {error:?}");
    }
    // Per client: the first token, refused, then one forced refresh.
    assert_eq!(server.requests(), 4, "{:?}", server.issued());
    emulator.shutdown().await?;
    Ok(())
}

#[tokio::test]
async fn emulator_endpoints_without_credentials_go_out_anonymous() -> TestResult {
    let emulator = Emulator::builder()
        .with_record_file(
            std::env::temp_dir().join(format!("eeops-anon-{}.jsonl", std::process::id())),
        )
        .start("127.0.0.1:0")
        .await?;
    let name = emulator.create(OperationSpec::new("p"))?;
    // Nothing configured and nothing in the (empty) search: anonymous.
    let client = Client::builder()
        .with_endpoint(emulator.endpoint())
        .with_credential_search(CredentialSearch::new())
        .build()?;
    client.get(&name).await?;
    assert!(client.credentials().await?.is_anonymous());
    assert!(
        emulator
            .records()
            .iter()
            .all(|record| header(record, "authorization").is_none())
    );
    if let Some(path) = emulator.record_file().map(std::path::Path::to_path_buf) {
        emulator.shutdown().await?;
        let _ = std::fs::remove_file(path);
    }
    Ok(())
}

#[tokio::test]
async fn credentials_never_go_in_plaintext_to_another_host() -> TestResult {
    let token = || Credentials::from_access_token("ya29.s3cret");
    let refused = Client::builder()
        .with_endpoint("http://10.11.12.13:8080")
        .with_credentials(token()?)
        .build();
    let error = refused.expect_err("plaintext to a remote host");
    assert_eq!(error.code(), Code::FailedPrecondition);
    assert!(
        error.to_string().contains("http://10.11.12.13:8080"),
        "{error}"
    );
    // Without credentials given, the search might find some: refused too.
    assert!(
        Client::builder()
            .with_endpoint("http://example.test")
            .build()
            .is_err()
    );
    // Allowed: TLS, loopback, anonymous, or the explicit opt-out.
    Client::builder()
        .with_endpoint("https://example.test")
        .with_credentials(token()?)
        .build()?;
    Client::builder()
        .with_endpoint("http://127.0.0.1:9")
        .with_credentials(token()?)
        .build()?;
    Client::builder()
        .with_endpoint("http://10.11.12.13:8080")
        .with_credentials(Credentials::anonymous())
        .build()?;
    let opted_in = Client::builder()
        .with_endpoint("http://10.11.12.13:8080")
        .with_credentials(token()?)
        .with_insecure_plaintext_credentials(true)
        .build()?;
    assert!(
        !format!("{opted_in:?}").contains("s3cret"),
        "never in Debug output"
    );
    Ok(())
}

#[tokio::test]
async fn token_uris_in_plaintext_to_other_hosts_are_refused() -> TestResult {
    let home = tempfile::tempdir()?;
    let file = write_earth_engine_credentials(
        home.path(),
        &earth_engine_credentials_json("1//x", None, None, None),
    );
    let error = Credentials::from_earth_engine_file(&file)?
        .with_token_uri("http://10.0.0.1/token")
        .expect_err("plaintext");
    assert!(
        error.to_string().contains("http://10.0.0.1/token"),
        "{error}"
    );
    Ok(())
}

/// Credentials from every source that asks a token endpoint, each pointed
/// at `token_uri`: a service-account key, an `authorized_user` ADC file and
/// the Earth Engine credentials file (the last two through the search);
/// each with the file it came from.
async fn credentials_asking(
    token_uri: &str,
    dir: &std::path::Path,
) -> Result<Vec<(Credentials, std::path::PathBuf)>, Box<dyn std::error::Error>> {
    let config = TokenServerConfig::default();
    let key_file = ServiceAccountKey {
        token_uri: token_uri.to_owned(),
    }
    .write_to(dir);
    let adc_file = dir.join("authorized_user.json");
    std::fs::write(
        &adc_file,
        serde_json::json!({
            "type": "authorized_user",
            "refresh_token": config.refresh_token,
            "client_id": config.client_id,
            "client_secret": config.client_secret,
            "token_uri": token_uri,
        })
        .to_string(),
    )?;
    let ee_file = write_earth_engine_credentials(
        dir,
        &earth_engine_credentials_json(
            &config.refresh_token,
            Some(&config.client_id),
            Some(&config.client_secret),
            Some("p"),
        ),
    );
    Ok(vec![
        (Credentials::from_service_account_file(&key_file)?, key_file),
        (
            CredentialSearch::new()
                .with_key_file(&adc_file)
                .explicit_only(true)
                .find()
                .await?,
            adc_file,
        ),
        (
            CredentialSearch::new()
                .with_earth_engine_file(&ee_file)
                .with_token_uri(token_uri)
                .explicit_only(true)
                .find()
                .await?,
            ee_file,
        ),
    ])
}

#[tokio::test]
async fn a_token_endpoint_that_never_answers_fails_the_call_by_its_deadline() -> TestResult {
    // Accepts every request and answers none within the test.
    let server = TokenServer::start(TokenServerConfig {
        delay: Some(Duration::from_secs(24 * 3600)),
        ..TokenServerConfig::default()
    })
    .await;
    let dir = tempfile::tempdir()?;
    let emulator = Emulator::builder().start("127.0.0.1:0").await?;
    let name = emulator.create(OperationSpec::new("p"))?;
    let sources = credentials_asking(&server.token_uri(), dir.path()).await?;
    for (credentials, _) in sources {
        for kind in TRANSPORTS {
            let call = client(kind, &emulator, credentials.clone())?
                .get(&name)
                .with_timeout(Duration::from_millis(300));
            // The outer limit only turns a hang into a failure.
            let error = tokio::time::timeout(Duration::from_secs(60), call)
                .await
                .expect("the call returns")
                .expect_err("no token ever comes");
            assert_eq!(error.code(), Code::DeadlineExceeded, "{kind:?}: {error}");
            let message = error.to_string();
            assert!(
                message.contains(credentials.description()) && message.contains("did not answer"),
                "names the source and what went wrong: {message}"
            );
        }
    }
    assert!(server.requests() > 0, "the endpoint was reached");
    assert!(
        emulator.records().is_empty(),
        "no call went out without a token"
    );
    emulator.shutdown().await?;
    Ok(())
}

#[tokio::test]
async fn a_token_endpoint_that_is_down_fails_the_call_naming_the_source() -> TestResult {
    // The keys name a port nothing listens on, held for the whole test.
    let closed = ClosedPort::new()?;
    let dir = tempfile::tempdir()?;
    let token_uri = format!("{}/token", closed.endpoint());
    let sources = credentials_asking(&token_uri, dir.path()).await?;
    let emulator = Emulator::builder().start("127.0.0.1:0").await?;
    let name = emulator.create(OperationSpec::new("p"))?;
    for (credentials, file) in sources {
        let error = client(TransportKind::Rest, &emulator, credentials)?
            .get(&name)
            .await
            .expect_err("no token can be had");
        assert_eq!(error.code(), Code::Unauthenticated, "{error}");
        let message = error.to_string();
        assert!(
            message.contains(&file.display().to_string()) && message.contains(&token_uri),
            "names the source and its endpoint: {message}"
        );
        assert!(!message.contains('\n'), "one line: {message}");
    }
    emulator.shutdown().await?;
    Ok(())
}
