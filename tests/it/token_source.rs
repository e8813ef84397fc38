//! Tokens from the application's own source (`with_token_source`), over
//! both transports against the emulator requiring a token: cached while
//! fresh, asked for again once expired and once after the server refuses
//! one, bounded by the call's deadline when the source hangs, and failures
//! reported as UNAUTHENTICATED naming the source.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use eeops::emulator::Emulator;
use eeops::rpc::Code;
use eeops::{AccessToken, Client, Credentials, TokenSource, TokenSourceError, TransportKind};

type TestResult = Result<(), Box<dyn std::error::Error>>;

const TRANSPORTS: [TransportKind; 2] = [TransportKind::Grpc, TransportKind::Rest];
const GOOD: &str = "good-token";

/// What the counting source hands out.
#[derive(Clone, Copy)]
enum Behaviour {
    /// `GOOD`, valid for an hour.
    Fresh,
    /// `GOOD`, already expired.
    Expired,
    /// A token the server refuses first, then `GOOD`.
    StaleFirst,
    /// Never answers.
    Hangs,
    /// Fails.
    Fails,
}

/// A source that counts how often it is asked.
struct Counting {
    asked: Arc<AtomicUsize>,
    behaviour: Behaviour,
}

impl TokenSource for Counting {
    async fn token(&self) -> Result<AccessToken, TokenSourceError> {
        let n = self.asked.fetch_add(1, Ordering::SeqCst);
        match self.behaviour {
            Behaviour::Fresh => Ok(AccessToken::new(GOOD).expiring_in(Duration::from_secs(3600))),
            Behaviour::Expired => Ok(AccessToken::new(GOOD)
                .expiring_at(std::time::SystemTime::now() - Duration::from_secs(1))),
            Behaviour::StaleFirst if n == 0 => Ok(AccessToken::new("stale-token")),
            Behaviour::StaleFirst => Ok(AccessToken::new(GOOD)),
            Behaviour::Hangs => std::future::pending().await,
            Behaviour::Fails => Err("the vault is sealed".into()),
        }
    }

    fn name(&self) -> String {
        "the test vault".into()
    }
}

fn client(
    endpoint: &str,
    transport: TransportKind,
    behaviour: Behaviour,
) -> eeops::Result<(Client, Arc<AtomicUsize>)> {
    let asked = Arc::new(AtomicUsize::new(0));
    let client = Client::builder()
        .with_endpoint(endpoint)
        .with_transport(transport)
        .with_token_source(Counting {
            asked: asked.clone(),
            behaviour,
        })
        .build()?;
    Ok((client, asked))
}

#[tokio::test]
async fn tokens_are_cached_while_fresh_and_fetched_again_once_expired() -> TestResult {
    let emulator = Emulator::builder()
        .with_required_token(GOOD)
        .start("127.0.0.1:0")
        .await?;
    for transport in TRANSPORTS {
        let (fresh, asked) = client(&emulator.endpoint(), transport, Behaviour::Fresh)?;
        for _ in 0..3 {
            fresh.list("projects/p").send().await?;
        }
        assert_eq!(asked.load(Ordering::SeqCst), 1, "{transport:?}");

        let (expired, asked) = client(&emulator.endpoint(), transport, Behaviour::Expired)?;
        for _ in 0..3 {
            expired.list("projects/p").send().await?;
        }
        assert_eq!(asked.load(Ordering::SeqCst), 3, "{transport:?}");
    }
    emulator.shutdown().await?;
    Ok(())
}

#[tokio::test]
async fn a_refused_token_is_fetched_again_once() -> TestResult {
    let emulator = Emulator::builder()
        .with_required_token(GOOD)
        .start("127.0.0.1:0")
        .await?;
    for transport in TRANSPORTS {
        let (client, asked) = client(&emulator.endpoint(), transport, Behaviour::StaleFirst)?;
        client.list("projects/p").send().await?;
        assert_eq!(asked.load(Ordering::SeqCst), 2, "{transport:?}");
        client.list("projects/p").send().await?;
        assert_eq!(asked.load(Ordering::SeqCst), 2, "{transport:?}: kept");
    }
    emulator.shutdown().await?;
    Ok(())
}

#[tokio::test]
async fn a_source_that_hangs_fails_the_call_by_its_deadline() -> TestResult {
    let emulator = Emulator::builder()
        .with_required_token(GOOD)
        .start("127.0.0.1:0")
        .await?;
    for transport in TRANSPORTS {
        let (client, asked) = client(&emulator.endpoint(), transport, Behaviour::Hangs)?;
        let error = client
            .get("projects/p/operations/X")
            .with_timeout(Duration::from_millis(300))
            .await
            .expect_err("no token");
        assert_eq!(
            error.code(),
            Code::DeadlineExceeded,
            "{transport:?} {error}"
        );
        assert!(error.message().contains("the test vault"), "{error}");
        assert_eq!(asked.load(Ordering::SeqCst), 1, "{transport:?}");
    }
    emulator.shutdown().await?;
    Ok(())
}

#[tokio::test]
async fn a_failing_source_is_unauthenticated_naming_it() -> TestResult {
    let emulator = Emulator::builder()
        .with_required_token(GOOD)
        .start("127.0.0.1:0")
        .await?;
    for transport in TRANSPORTS {
        let (client, _) = client(&emulator.endpoint(), transport, Behaviour::Fails)?;
        let error = client
            .list("projects/p")
            .send()
            .await
            .expect_err("no token");
        assert_eq!(error.code(), Code::Unauthenticated, "{transport:?} {error}");
        assert!(
            error.message().contains("the test vault")
                && error.message().contains("the vault is sealed"),
            "{error}"
        );
    }
    emulator.shutdown().await?;
    Ok(())
}

#[test]
fn tokens_never_show() {
    let token = AccessToken::new("s3cret-token").expiring_in(Duration::from_secs(60));
    let credentials = Credentials::from_token_source(Counting {
        asked: Arc::default(),
        behaviour: Behaviour::Fresh,
    });
    for shown in [
        format!("{token:?}"),
        format!("{credentials:?}"),
        credentials.to_string(),
    ] {
        assert!(
            !shown.contains("s3cret") && !shown.contains(GOOD),
            "{shown}"
        );
    }
    assert!(credentials.to_string().contains("the test vault"));
}
