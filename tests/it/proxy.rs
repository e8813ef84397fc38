//! Proxies end to end: a real `CONNECT` proxy on 127.0.0.1 in front of the
//! emulator on 127.0.0.2, through the library and the built tool, over both
//! transports. The proxy alone knows the name `emulator.test`, so a call
//! that reaches it by that name came through the proxy; the proxy counts
//! the tunnels it opened and the credentials it was shown.
//!
//! Proxy variables are handed to the library with `Proxies::from_vars` and
//! to the tool through its own environment: the test process's environment
//! is never changed.

use std::collections::HashMap;
use std::net::IpAddr;
use std::process::Output;

use crate::support::closed_port::ClosedPort;
use crate::support::proxy::{ConnectProxy, ProxyConfig};
use crate::support::serve::{EEOPS, isolated};
use crate::support::token_server::{
    TokenServer, TokenServerConfig, earth_engine_credentials_json, write_earth_engine_credentials,
};
use eeops::emulator::{Emulator, RunningEmulator};
use eeops::rpc::Code;
use eeops::{Client, CredentialSearch, Credentials, Proxies, RetryPolicy, TransportKind};

type TestResult = Result<(), Box<dyn std::error::Error>>;

/// The name only the proxy can resolve.
const HOST: &str = "emulator.test";
const PROJECT: &str = "proxied";
const USER: &str = "alice";
/// The password as the proxy checks it, and as written in a proxy URL.
const PASSWORD: &str = "pa:ss@w0rd";
const PASSWORD_IN_URL: &str = "pa%3Ass%40w0rd";

const TRANSPORTS: [TransportKind; 3] = [
    TransportKind::Grpc,
    TransportKind::Rest,
    TransportKind::Auto,
];

/// The emulator on 127.0.0.2, seeded with three operations.
async fn emulator() -> Result<RunningEmulator, eeops::Error> {
    Emulator::builder()
        .with_seed(PROJECT, 3)
        .start("127.0.0.2:0")
        .await
}

/// A proxy that resolves `emulator.test` to 127.0.0.2.
fn config() -> ProxyConfig {
    ProxyConfig {
        hosts: HashMap::from([(HOST.to_owned(), IpAddr::from([127, 0, 0, 2]))]),
        ..ProxyConfig::default()
    }
}

/// A proxy that requires `alice`'s credentials.
fn config_with_credentials() -> ProxyConfig {
    ProxyConfig {
        credentials: Some((USER.to_owned(), PASSWORD.to_owned())),
        ..config()
    }
}

/// `http://emulator.test:PORT`.
fn named_endpoint(emulator: &RunningEmulator) -> String {
    format!("http://{HOST}:{}", emulator.local_addr().port())
}

fn client(endpoint: &str, kind: TransportKind, proxies: Proxies) -> Result<Client, eeops::Error> {
    Client::builder()
        .with_endpoint(endpoint)
        .with_transport(kind)
        .with_credentials(Credentials::anonymous())
        .with_retry_policy(RetryPolicy::never())
        .with_proxies(proxies)
        .build()
}

/// A client whose calls fail at the proxy: a call that never reached the
/// server is sent again until its deadline (whatever the retry policy), so
/// a short one keeps the test from waiting out the default minute.
fn client_failing_at_the_proxy(
    endpoint: &str,
    kind: TransportKind,
    proxies: Proxies,
) -> Result<Client, eeops::Error> {
    Client::builder()
        .with_endpoint(endpoint)
        .with_transport(kind)
        .with_credentials(Credentials::anonymous())
        .with_retry_policy(RetryPolicy::never())
        .with_timeout(std::time::Duration::from_secs(2))
        .with_proxies(proxies)
        .build()
}

/// Lists the project and gets its first operation.
async fn list_and_get(client: &Client) -> Result<(), eeops::Error> {
    let page = client.list(format!("projects/{PROJECT}")).send().await?;
    assert_eq!(page.operations.len(), 3);
    client.get(&page.operations[0].name).await?;
    Ok(())
}

#[tokio::test]
async fn both_transports_tunnel_through_the_proxy_the_variables_name() -> TestResult {
    let emulator = emulator().await?;
    let endpoint = named_endpoint(&emulator);
    let target = format!("{HOST}:{}", emulator.local_addr().port());
    for (kind, variable) in TRANSPORTS
        .iter()
        .zip(["HTTP_PROXY", "http_proxy", "ALL_PROXY"])
    {
        let proxy = ConnectProxy::start(config_with_credentials()).await;
        let url = proxy.url_with(USER, PASSWORD_IN_URL);
        let client = client(
            &endpoint,
            *kind,
            Proxies::from_vars([(variable, url.as_str())]),
        )?;
        list_and_get(&client).await?;
        assert!(!format!("{client:?}").contains(PASSWORD_IN_URL));
        let seen = proxy.seen();
        assert!(!seen.tunnels.is_empty(), "{kind:?}: no tunnel");
        assert!(
            seen.tunnels.iter().all(|t| *t == target),
            "{kind:?}: {:?}",
            seen.tunnels
        );
        assert!(
            seen.requests.iter().all(|(_, auth)| auth.is_some()),
            "{kind:?}"
        );
    }
    Ok(())
}

#[tokio::test]
async fn an_explicit_proxy_carries_calls_to_this_machine_unless_no_proxy_lists_it() -> TestResult {
    let emulator = emulator().await?;
    let endpoint = emulator.endpoint();
    let target = format!("127.0.0.2:{}", emulator.local_addr().port());
    for kind in TRANSPORTS {
        let proxy = ConnectProxy::start(config()).await;
        let explicit = Proxies::from_vars([("NO_PROXY", "example.com")]).with_url(proxy.url());
        list_and_get(&client(&endpoint, kind, explicit)?).await?;
        assert!(!proxy.seen().tunnels.is_empty(), "{kind:?}");
        assert!(
            proxy.seen().tunnels.iter().all(|t| *t == target),
            "{kind:?}"
        );

        let listed = Proxies::from_vars([("no_proxy", "127.0.0.0/8")]).with_url(proxy.url());
        let turned_off = Proxies::from_vars([("ALL_PROXY", proxy.url())]).with_url(proxy.url());
        let before = proxy.seen().requests.len();
        list_and_get(&client(&endpoint, kind, listed)?).await?;
        let direct = Client::builder()
            .with_endpoint(&endpoint)
            .with_transport(kind)
            .with_credentials(Credentials::anonymous())
            .with_proxies(turned_off)
            .without_proxy()
            .build()?;
        list_and_get(&direct).await?;
        assert_eq!(proxy.seen().requests.len(), before, "{kind:?}: bypassed");
    }
    Ok(())
}

#[tokio::test]
async fn the_environments_proxy_is_not_used_for_this_machine() -> TestResult {
    let emulator = emulator().await?;
    // A proxy that would refuse every call, were it asked.
    let proxy = ConnectProxy::start(ProxyConfig {
        refuse_with: Some(403),
        ..config()
    })
    .await;
    let url = proxy.url();
    let everything = [
        ("HTTP_PROXY", url.as_str()),
        ("http_proxy", &url),
        ("ALL_PROXY", &url),
    ];
    for kind in TRANSPORTS {
        let endpoint = emulator.endpoint();
        list_and_get(&client(&endpoint, kind, Proxies::from_vars(everything))?).await?;
    }
    assert!(
        proxy.seen().requests.is_empty(),
        "{:?}",
        proxy.seen().requests
    );
    Ok(())
}

#[tokio::test]
async fn refusals_name_the_proxy_and_its_status_never_the_credentials() -> TestResult {
    let emulator = emulator().await?;
    let endpoint = named_endpoint(&emulator);
    let cases = [
        (
            config_with_credentials(),
            "wrong",
            Code::Unauthenticated,
            "HTTP 407",
        ),
        (
            config_with_credentials(),
            "",
            Code::Unauthenticated,
            "HTTP 407",
        ),
        (
            ProxyConfig {
                refuse_with: Some(403),
                ..config()
            },
            "any",
            Code::PermissionDenied,
            "HTTP 403",
        ),
        (
            ProxyConfig {
                refuse_with: Some(502),
                ..config()
            },
            "any",
            Code::Unavailable,
            "HTTP 502",
        ),
        // The proxy cannot resolve this name either.
        (
            ProxyConfig {
                hosts: HashMap::new(),
                ..config()
            },
            "any",
            Code::Unavailable,
            "HTTP 502",
        ),
    ];
    for (config, password, code, status) in cases {
        let proxy = ConnectProxy::start(config).await;
        let url = if password.is_empty() {
            proxy.url()
        } else {
            proxy.url_with("mallory", &format!("{password}-s3cret"))
        };
        for kind in [TransportKind::Grpc, TransportKind::Rest] {
            let proxies = Proxies::from_vars([("HTTP_PROXY", &url)]);
            let client = client_failing_at_the_proxy(&endpoint, kind, proxies)?;
            let error = client
                .get(format!("projects/{PROJECT}/operations/x"))
                .await
                .expect_err("refused");
            let text = format!("{error} {error:?}");
            assert_eq!(error.code(), code, "{kind:?}: {text}");
            assert!(text.contains(status), "{kind:?}: {text}");
            assert!(
                text.contains(&proxy.url()["http://".len()..]),
                "{kind:?}: {text}"
            );
            assert!(text.contains("HTTP_PROXY"), "{kind:?}: {text}");
            assert!(
                !text.contains("s3cret") && !text.contains("mallory"),
                "{kind:?}: {text}"
            );
        }
        assert!(proxy.seen().tunnels.is_empty());
    }
    Ok(())
}

#[tokio::test]
async fn an_unreachable_proxy_is_unavailable_and_named() -> TestResult {
    let emulator = emulator().await?;
    let closed_port = ClosedPort::new()?;
    let closed = closed_port.addr();
    let url = format!("http://user:s3cret@{closed}");
    for kind in [TransportKind::Grpc, TransportKind::Rest] {
        let client = client_failing_at_the_proxy(
            &named_endpoint(&emulator),
            kind,
            Proxies::from_vars([("all_proxy", &url)]),
        )?;
        let error = client
            .get(format!("projects/{PROJECT}/operations/x"))
            .await
            .expect_err("unreachable");
        let text = error.to_string();
        assert_eq!(error.code(), Code::Unavailable, "{text}");
        assert!(
            text.contains(&format!(
                "cannot reach the proxy http://<redacted>@{closed} (all_proxy)"
            )),
            "{text}"
        );
        assert!(!text.contains("s3cret"), "{text}");
    }
    Ok(())
}

#[tokio::test]
async fn unusable_proxy_urls_fail_the_build_unless_proxies_are_off() -> TestResult {
    let vars = [("HTTPS_PROXY", "socks5://bob:s3cret@proxy.example:1080")];
    let builder = || {
        Client::builder()
            .with_endpoint("https://earthengine.googleapis.com")
            .with_credentials(Credentials::anonymous())
            .with_proxies(Proxies::from_vars(vars))
    };
    let error = builder().build().expect_err("SOCKS is not supported");
    assert_eq!(error.code(), Code::InvalidArgument);
    assert!(error.to_string().contains("HTTPS_PROXY"), "{error}");
    assert!(!error.to_string().contains("s3cret"), "{error}");
    builder().without_proxy().build()?;
    let error = builder()
        .with_proxy("http://carol:s3cret@")
        .build()
        .expect_err("no host");
    assert!(!format!("{error} {error:?}").contains("s3cret"), "{error}");
    Ok(())
}

/// A token server on 127.0.0.1, an Earth Engine credentials file for it in
/// a HOME of its own, and the emulator on 127.0.0.2 requiring its token.
async fn token_setup() -> Result<(TokenServer, tempfile::TempDir, RunningEmulator), eeops::Error> {
    let config = TokenServerConfig::default();
    let json = earth_engine_credentials_json(
        &config.refresh_token,
        Some(&config.client_id),
        Some(&config.client_secret),
        Some(PROJECT),
    );
    let server = TokenServer::start(config).await;
    let home = tempfile::tempdir().map_err(|e| eeops::Error::new(Code::Internal, e.to_string()))?;
    write_earth_engine_credentials(home.path(), &json);
    let emulator = Emulator::builder()
        .with_seed(PROJECT, 3)
        .with_required_token("user-token-1")
        .start("127.0.0.2:0")
        .await?;
    Ok((server, home, emulator))
}

#[tokio::test]
async fn refresh_tokens_are_exchanged_through_the_clients_proxy() -> TestResult {
    let (server, home, emulator) = token_setup().await?;
    let proxy = ConnectProxy::start(config_with_credentials()).await;
    let file = home.path().join(".config/earthengine/credentials");
    let client = Client::builder()
        .with_endpoint(emulator.endpoint())
        .with_credential_search(
            CredentialSearch::new()
                .with_earth_engine_file(&file)
                .with_token_uri(server.token_uri()),
        )
        .with_proxy(proxy.url_with(USER, PASSWORD_IN_URL))
        .build()?;
    list_and_get(&client).await?;
    assert_eq!(server.issued(), ["user-token-1"]);
    let tunnels = proxy.seen().tunnels.clone();
    assert!(tunnels.contains(&server.addr().to_string()), "{tunnels:?}");
    assert!(
        tunnels.contains(&emulator.local_addr().to_string()),
        "{tunnels:?}"
    );

    // Credentials made by hand take proxies of their own.
    let refusing = ConnectProxy::start(ProxyConfig {
        refuse_with: Some(403),
        ..config()
    })
    .await;
    let credentials = Credentials::from_earth_engine_file(&file)?
        .with_token_uri(server.token_uri())?
        .with_proxies(Proxies::none().with_url(refusing.url()));
    let client = Client::builder()
        .with_endpoint(emulator.endpoint())
        .with_credentials(credentials)
        .without_proxy()
        .build()?;
    let error = client
        .list(format!("projects/{PROJECT}"))
        .send()
        .await
        .expect_err("refused");
    assert_eq!(error.code(), Code::Unauthenticated, "{error}");
    assert!(error.to_string().contains("HTTP 403"), "{error}");
    assert_eq!(
        refusing.seen().requests.len(),
        1,
        "{:?}",
        refusing.seen().requests
    );
    Ok(())
}

#[tokio::test]
async fn a_proxy_asking_for_credentials_fails_the_call_without_replacing_the_token() -> TestResult {
    let (server, home, emulator) = token_setup().await?;
    let proxy = ConnectProxy::start(config_with_credentials()).await;
    let file = home.path().join(".config/earthengine/credentials");
    // One set of credentials for every call: a token dropped as refused
    // would show as a second exchange on the token server.
    let credentials = Credentials::from_earth_engine_file(&file)?
        .with_token_uri(server.token_uri())?
        .with_proxies(Proxies::none());
    for kind in TRANSPORTS {
        let client = Client::builder()
            .with_endpoint(emulator.endpoint())
            .with_transport(kind)
            .with_credentials(credentials.clone())
            .with_proxy(proxy.url_with(USER, "wrong"))
            .build()?;
        let error = client
            .list(format!("projects/{PROJECT}"))
            .send()
            .await
            .expect_err("the proxy refuses");
        let text = error.to_string();
        assert_eq!(error.code(), Code::Unauthenticated, "{kind:?}: {text}");
        assert!(text.contains("HTTP 407"), "{kind:?}: {text}");
        assert!(
            text.contains(&proxy.url()["http://".len()..]),
            "{kind:?}: the proxy is named: {text}"
        );
        assert!(!text.contains("wrong"), "{kind:?}: {text}");
    }
    assert_eq!(
        server.requests(),
        1,
        "one token, never replaced: {:?}",
        server.issued()
    );
    assert!(proxy.seen().tunnels.is_empty());
    Ok(())
}

#[tokio::test]
async fn service_account_tokens_are_fetched_through_the_proxy_unless_no_proxy_lists_the_endpoint()
-> TestResult {
    // The token endpoint on an address of its own, the emulator on another.
    let server =
        TokenServer::start_on(IpAddr::from([127, 0, 0, 3]), TokenServerConfig::default()).await;
    let dir = tempfile::tempdir()?;
    let key = server.service_account_key().write_to(dir.path());
    let emulator = Emulator::builder()
        .with_seed(PROJECT, 3)
        .with_required_token("sa-token-1")
        .start("127.0.0.2:0")
        .await?;
    let proxy = ConnectProxy::start(config_with_credentials()).await;
    let with_password = proxy.url_with(USER, PASSWORD_IN_URL);

    // A key the client finds goes through the client's proxy.
    let client = Client::builder()
        .with_endpoint(emulator.endpoint())
        .with_credential_search(
            CredentialSearch::new()
                .with_key_file(&key)
                .explicit_only(true),
        )
        .with_proxy(&with_password)
        .build()?;
    list_and_get(&client).await?;
    assert_eq!(server.issued(), ["sa-token-1"]);
    let seen = proxy.seen().requests.clone();
    let token_endpoint = server.addr().to_string();
    assert!(
        seen.iter()
            .any(|(target, authorization)| *target == token_endpoint && authorization.is_some()),
        "the exchange tunnelled with the proxy's credentials: {seen:?}"
    );
    assert!(
        proxy.seen().tunnels.contains(&token_endpoint),
        "{:?}",
        proxy.seen().tunnels
    );

    // A key made by hand takes proxies of its own; NO_PROXY sends the
    // exchange to the token endpoint directly.
    let second = Emulator::builder()
        .with_seed(PROJECT, 3)
        .with_required_token("sa-token-2")
        .start("127.0.0.2:0")
        .await?;
    let tunnels_before = proxy.seen().tunnels.len();
    let credentials = Credentials::from_service_account_file(&key)?
        .with_proxies(Proxies::from_vars([("NO_PROXY", "127.0.0.3")]).with_url(&with_password));
    let client = Client::builder()
        .with_endpoint(second.endpoint())
        .with_credentials(credentials)
        .without_proxy()
        .build()?;
    list_and_get(&client).await?;
    assert_eq!(server.issued(), ["sa-token-1", "sa-token-2"]);
    assert_eq!(proxy.seen().tunnels.len(), tunnels_before, "direct");

    // A proxy that refuses the exchange is named in the call's error.
    let refusing = ConnectProxy::start(ProxyConfig {
        refuse_with: Some(403),
        ..config()
    })
    .await;
    let credentials = Credentials::from_service_account_file(&key)?
        .with_proxies(Proxies::none().with_url(refusing.url()));
    let client = Client::builder()
        .with_endpoint(second.endpoint())
        .with_credentials(credentials)
        .without_proxy()
        .build()?;
    let error = client
        .list(format!("projects/{PROJECT}"))
        .send()
        .await
        .expect_err("refused");
    let text = error.to_string();
    assert_eq!(error.code(), Code::Unauthenticated, "{text}");
    assert!(text.contains("HTTP 403"), "{text}");
    assert!(text.contains(&refusing.url()["http://".len()..]), "{text}");
    assert!(text.contains(&server.token_uri()), "{text}");
    assert_eq!(server.requests(), 2, "nothing reached the token endpoint");
    Ok(())
}

// ---- The tool ----

/// Runs the tool with only the given proxy variables (and nothing ambient).
async fn eeops(args: &[&str], vars: &[(&str, &str)]) -> std::io::Result<Output> {
    let mut command = tokio::process::Command::new(EEOPS);
    isolated(command.as_std_mut());
    command
        .args(args)
        .envs(vars.iter().copied())
        .kill_on_drop(true);
    command.output().await
}

fn text(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn the_tool_tunnels_through_the_environments_proxy_and_never_shows_its_password() -> TestResult
{
    let emulator = emulator().await?;
    let endpoint = named_endpoint(&emulator);
    let target = format!("{HOST}:{}", emulator.local_addr().port());
    let proxy = ConnectProxy::start(config_with_credentials()).await;
    let url = proxy.url_with(USER, PASSWORD_IN_URL);
    for transport in ["grpc", "rest"] {
        let before = proxy.seen().tunnels.len();
        let args = [
            "--endpoint",
            &endpoint,
            "--transport",
            transport,
            "--project",
            PROJECT,
            "--no-auth",
            "-vv",
            "list",
        ];
        let output = eeops(&args, &[("HTTP_PROXY", &url)]).await?;
        let shown = text(&output);
        assert!(output.status.success(), "{transport}: {shown}");
        assert!(
            shown.contains(&format!(
                "http://<redacted>@{}",
                &proxy.url()["http://".len()..]
            )),
            "{transport}: {shown}"
        );
        assert!(
            !shown.contains(PASSWORD_IN_URL) && !shown.contains(PASSWORD),
            "{transport}: {shown}"
        );
        assert!(proxy.seen().tunnels.len() > before, "{transport}");
        assert!(proxy.seen().tunnels.iter().all(|t| *t == target));

        let dry_run = [
            "--endpoint",
            &endpoint,
            "--transport",
            transport,
            "--no-auth",
            "-v",
            "--dry-run",
            "get",
            "projects/p/operations/x",
        ];
        let output = eeops(&dry_run, &[("HTTP_PROXY", &url)]).await?;
        let shown = text(&output);
        assert!(output.status.success(), "{shown}");
        assert!(
            !shown.contains(PASSWORD_IN_URL) && !shown.contains(PASSWORD),
            "{shown}"
        );
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn the_tool_takes_a_proxy_explicitly_and_turns_them_off() -> TestResult {
    let emulator = emulator().await?;
    let proxy = ConnectProxy::start(config_with_credentials()).await;
    let url = proxy.url_with(USER, PASSWORD_IN_URL);
    let endpoint = emulator.endpoint();
    for transport in ["grpc", "rest"] {
        let before = proxy.seen().tunnels.len();
        let args = [
            "--endpoint",
            &endpoint,
            "--transport",
            transport,
            "--project",
            PROJECT,
            "--no-auth",
            "--proxy",
            &url,
            "list",
        ];
        let output = eeops(&args, &[]).await?;
        assert!(output.status.success(), "{}", text(&output));
        assert!(
            proxy.seen().tunnels.len() > before,
            "{transport}: through the proxy to 127.0.0.2"
        );
    }
    // An unusable proxy stops the tool, naming the variable, unless proxies are off.
    let socks = [("HTTPS_PROXY", "socks5://bob:s3cret@proxy.example:1080")];
    let dry_run = ["--no-auth", "--dry-run", "get", "projects/p/operations/x"];
    let output = eeops(&dry_run, &socks).await?;
    let shown = text(&output);
    assert!(!output.status.success(), "{shown}");
    assert!(
        shown.contains("HTTPS_PROXY") && !shown.contains("s3cret"),
        "{shown}"
    );
    let off = [
        "--no-proxy",
        "--no-auth",
        "--dry-run",
        "get",
        "projects/p/operations/x",
    ];
    let output = eeops(&off, &socks).await?;
    assert!(output.status.success(), "{}", text(&output));
    let both = [
        "--no-proxy",
        "--proxy",
        &url,
        "--no-auth",
        "--dry-run",
        "get",
        "x",
    ];
    let output = eeops(&both, &[]).await?;
    assert_eq!(output.status.code(), Some(2), "{}", text(&output));
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn the_tool_reports_a_refusing_proxy_in_one_clear_line() -> TestResult {
    let emulator = emulator().await?;
    let proxy = ConnectProxy::start(config_with_credentials()).await;
    let wrong = proxy.url_with(USER, "n0t-the-s3cret");
    for transport in ["grpc", "rest"] {
        let args = [
            "--endpoint",
            &named_endpoint(&emulator),
            "--transport",
            transport,
            "--no-auth",
            "get",
            "projects/p/operations/x",
        ];
        let output = eeops(
            &args,
            &[("https_proxy", "unused:1"), ("http_proxy", &wrong)],
        )
        .await?;
        let shown = text(&output);
        assert_eq!(output.status.code(), Some(1), "{shown}");
        assert!(shown.contains("UNAUTHENTICATED"), "{shown}");
        assert!(
            shown.contains("HTTP 407") && shown.contains("http_proxy"),
            "{shown}"
        );
        assert!(!shown.contains("s3cret"), "{shown}");
    }
    assert!(proxy.seen().tunnels.is_empty());
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn the_tool_exchanges_its_refresh_token_through_its_proxy() -> TestResult {
    let (server, home, emulator) = token_setup().await?;
    let proxy = ConnectProxy::start(config_with_credentials()).await;
    let url = proxy.url_with(USER, PASSWORD_IN_URL);
    let token_uri = server.token_uri();
    let home = home.path().to_string_lossy().into_owned();
    let args = [
        "--endpoint",
        &emulator.endpoint(),
        "--transport",
        "rest",
        "--proxy",
        &url,
        "-v",
        "list",
    ];
    let output = eeops(&args, &[("HOME", &home), ("EEOPS_TOKEN_URI", &token_uri)]).await?;
    let shown = text(&output);
    assert!(output.status.success(), "{shown}");
    assert!(!shown.contains(PASSWORD_IN_URL), "{shown}");
    assert_eq!(server.issued(), ["user-token-1"]);
    let tunnels = proxy.seen().tunnels.clone();
    assert!(tunnels.contains(&server.addr().to_string()), "{tunnels:?}");
    assert!(
        tunnels.contains(&emulator.local_addr().to_string()),
        "{tunnels:?}"
    );
    Ok(())
}
