//! The built tool's authentication, as a user runs it: a service-account key
//! whose token endpoint is on loopback, the Earth Engine credentials file,
//! explicit tokens, against `eeops serve --require-token --record` on both
//! transports; no secret in any output, logs included.

use std::path::Path;
use std::process::{Command, Output, Stdio};

use crate::support::closed_port::ClosedPort;
use crate::support::serve::{EEOPS, Serve};
use crate::support::token_server::{
    ServiceAccountKey, TokenServer, TokenServerConfig, earth_engine_credentials_json,
    write_earth_engine_credentials,
};

type TestResult = Result<(), Box<dyn std::error::Error>>;

/// `eeops serve` requiring `token` and recording to `record`.
fn serve(token: &str, record: &Path) -> Serve {
    let record = record.to_string_lossy();
    Serve::start(&[
        "--project",
        "p",
        "--seed",
        "3",
        "--require-token",
        token,
        "--record",
        &record,
    ])
}

/// Runs the tool with a controlled environment: its own HOME, a PATH with
/// no gcloud, no ambient credentials, full logging.
fn eeops(home: &Path, env: &[(&str, &str)], args: &[&str]) -> Output {
    command(home, env, args)
        .env("RUST_LOG", "trace")
        .output()
        .expect("the eeops binary runs")
}

/// The tool in a controlled environment, logging as it does by default.
fn command(home: &Path, env: &[(&str, &str)], args: &[&str]) -> Command {
    let mut command = Command::new(EEOPS);
    command
        .args(args)
        .env_clear()
        .env("HOME", home)
        .env("PATH", home)
        .stdin(Stdio::null());
    for (name, value) in env {
        command.env(name, value);
    }
    command
}

fn text(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

fn records(path: &Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .filter_map(|line| serde_json::from_str(line).ok())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn service_account_key_on_both_transports() -> TestResult {
    for transport in ["grpc", "rest"] {
        let server = TokenServer::start(TokenServerConfig::default()).await;
        let home = tempfile::tempdir()?;
        let key = server.service_account_key().write_to(home.path());
        let record = home.path().join("requests.jsonl");
        let emulator = serve("sa-token-1", &record);
        let key_env = key.to_string_lossy().into_owned();
        let output = eeops(
            home.path(),
            &[("GOOGLE_APPLICATION_CREDENTIALS", &key_env)],
            &[
                "--endpoint",
                &emulator.endpoint,
                "--transport",
                transport,
                "--project",
                "p",
                "list",
                "--format",
                "json",
            ],
        );
        assert_eq!(
            output.status.code(),
            Some(0),
            "{transport}: {}",
            text(&output)
        );
        let listed: serde_json::Value = serde_json::from_slice(&output.stdout)?;
        assert_eq!(listed.as_array().map(Vec::len), Some(3));
        assert_eq!(server.requests(), 1, "{transport}");
        assert!(
            !text(&output).contains("sa-token-1"),
            "{transport}: the token leaked into the output"
        );
        let lines = records(&record);
        let list = lines
            .iter()
            .find(|r| r["headers"]["x-goog-request-params"] == "name=projects/p")
            .ok_or("no list call recorded")?;
        assert_eq!(list["transport"], transport);
        assert_eq!(list["headers"]["x-goog-user-project"], "p");
        assert!(
            list["headers"]["authorization"]
                .as_str()
                .is_some_and(|a| a.starts_with("Bearer sha256:"))
        );
        assert!(!std::fs::read_to_string(&record)?.contains("sa-token-1"));
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn earth_engine_credentials_file_gives_token_and_project() -> TestResult {
    for transport in ["rest", "grpc"] {
        let config = TokenServerConfig::default();
        let json = earth_engine_credentials_json(
            &config.refresh_token,
            Some(&config.client_id),
            Some(&config.client_secret),
            Some("p"),
        );
        let server = TokenServer::start(config).await;
        let home = tempfile::tempdir()?;
        write_earth_engine_credentials(home.path(), &json);
        let record = home.path().join("requests.jsonl");
        let emulator = serve("user-token-1", &record);
        let token_uri = server.token_uri();
        // No --project: the file's project is the default project.
        let output = eeops(
            home.path(),
            &[("EEOPS_TOKEN_URI", &token_uri)],
            &[
                "--endpoint",
                &emulator.endpoint,
                "--transport",
                transport,
                "list",
                "--format",
                "json",
            ],
        );
        assert_eq!(
            output.status.code(),
            Some(0),
            "{transport}: {}",
            text(&output)
        );
        let combined = text(&output);
        assert!(
            !combined.contains("user-token") && !combined.contains(&server_refresh_token()),
            "secret in output"
        );
        assert_eq!(server.issued(), ["user-token-1"]);
        let lines = records(&record);
        assert!(
            !lines.is_empty()
                && lines
                    .iter()
                    .all(|r| r["headers"]["x-goog-user-project"] == "p"),
            "{lines:?}"
        );
    }
    Ok(())
}

fn server_refresh_token() -> String {
    TokenServerConfig::default().refresh_token
}

#[test]
fn missing_and_wrong_tokens_are_unauthenticated_without_echoing_them() -> TestResult {
    let home = tempfile::tempdir()?;
    let record = home.path().join("requests.jsonl");
    let emulator = serve("right-token", &record);
    for transport in ["grpc", "rest"] {
        let anonymous = eeops(
            home.path(),
            &[],
            &[
                "--endpoint",
                &emulator.endpoint,
                "--transport",
                transport,
                "--project",
                "p",
                "list",
            ],
        );
        assert_eq!(anonymous.status.code(), Some(1), "{}", text(&anonymous));
        assert!(
            text(&anonymous).contains("UNAUTHENTICATED"),
            "{}",
            text(&anonymous)
        );
        let wrong = eeops(
            home.path(),
            &[("EEOPS_ACCESS_TOKEN", "wrong-token-123")],
            &[
                "--endpoint",
                &emulator.endpoint,
                "--transport",
                transport,
                "--project",
                "p",
                "list",
            ],
        );
        assert_eq!(wrong.status.code(), Some(1));
        assert!(
            text(&wrong).contains("UNAUTHENTICATED") && !text(&wrong).contains("wrong-token-123"),
            "{}",
            text(&wrong)
        );
        let right = eeops(
            home.path(),
            &[],
            &[
                "--endpoint",
                &emulator.endpoint,
                "--transport",
                transport,
                "--access-token",
                "right-token",
                "--project",
                "p",
                "list",
            ],
        );
        assert_eq!(right.status.code(), Some(0), "{}", text(&right));
        assert!(
            !text(&right).contains("right-token"),
            "the token leaked: {}",
            text(&right)
        );
    }
    let recorded = std::fs::read_to_string(&record)?;
    assert!(!recorded.contains("right-token") && !recorded.contains("wrong-token-123"));
    Ok(())
}

#[test]
fn credentials_are_not_sent_in_plaintext_to_another_host() -> TestResult {
    let home = tempfile::tempdir()?;
    let output = eeops(
        home.path(),
        &[("EEOPS_ACCESS_TOKEN", "ya29.tok")],
        &[
            "--endpoint",
            "http://10.255.255.1:8080",
            "get",
            "projects/p/operations/x",
        ],
    );
    assert_eq!(output.status.code(), Some(1), "{}", text(&output));
    let combined = text(&output);
    assert!(
        combined.contains("refusing to send credentials in plaintext to http://10.255.255.1:8080"),
        "{combined}"
    );
    assert!(!combined.contains("ya29.tok"));
    // The dry run still shows what would go, credential redacted.
    let dry = eeops(
        home.path(),
        &[("EEOPS_ACCESS_TOKEN", "ya29.tok")],
        &[
            "--endpoint",
            "https://example.test",
            "--dry-run",
            "get",
            "projects/p/operations/x",
        ],
    );
    assert_eq!(dry.status.code(), Some(0), "{}", text(&dry));
    assert!(
        String::from_utf8_lossy(&dry.stdout).contains("authorization: <redacted>")
            && !text(&dry).contains("ya29.tok")
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_endpoint_that_never_answers_ends_the_command_by_its_timeout() -> TestResult {
    // Accepts every request and answers none within the test.
    let config = TokenServerConfig {
        delay: Some(std::time::Duration::from_secs(24 * 3600)),
        ..TokenServerConfig::default()
    };
    let json = earth_engine_credentials_json(
        &config.refresh_token,
        Some(&config.client_id),
        Some(&config.client_secret),
        Some("p"),
    );
    let server = TokenServer::start(config).await;
    let home = tempfile::tempdir()?;
    let key = server.service_account_key().write_to(home.path());
    write_earth_engine_credentials(home.path(), &json);
    let record = home.path().join("requests.jsonl");
    let emulator = serve("sa-token-1", &record);
    let (key, token_uri) = (key.to_string_lossy().into_owned(), server.token_uri());
    let sources: [&[(&str, &str)]; 2] = [
        &[("GOOGLE_APPLICATION_CREDENTIALS", &key)],
        &[("EEOPS_TOKEN_URI", &token_uri)],
    ];
    for env in sources {
        let output = command(
            home.path(),
            env,
            &[
                "--endpoint",
                &emulator.endpoint,
                "--rpc-timeout",
                "500ms",
                "--project",
                "p",
                "list",
            ],
        )
        .output()?;
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(1), "{env:?}: {stderr}");
        assert!(
            stderr.contains("DEADLINE_EXCEEDED") && stderr.contains("did not answer"),
            "{env:?}: {stderr}"
        );
    }
    assert!(server.requests() >= 2, "both sources asked the endpoint");
    assert!(
        records(&record).is_empty(),
        "nothing went out without a token"
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_endpoint_that_is_down_gives_one_error_line() -> TestResult {
    // The key names a port nothing listens on, held for the whole test.
    let closed = ClosedPort::new()?;
    let home = tempfile::tempdir()?;
    let token_uri = format!("{}/token", closed.endpoint());
    let key = ServiceAccountKey {
        token_uri: token_uri.clone(),
    }
    .write_to(home.path());
    let record = home.path().join("requests.jsonl");
    let emulator = serve("sa-token-1", &record);
    let key = key.to_string_lossy().into_owned();
    let output = command(
        home.path(),
        &[("GOOGLE_APPLICATION_CREDENTIALS", &key)],
        &["--endpoint", &emulator.endpoint, "--project", "p", "list"],
    )
    .output()?;
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    let lines: Vec<&str> = stderr
        .lines()
        .filter(|line| !line.trim().is_empty())
        .collect();
    assert_eq!(lines.len(), 1, "{stderr}");
    assert!(
        lines[0].contains("UNAUTHENTICATED")
            && lines[0].contains(&token_uri)
            && lines[0].contains(&key),
        "{stderr}"
    );
    Ok(())
}
