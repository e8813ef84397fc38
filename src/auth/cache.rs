//! A token cache with one refresh in flight: concurrent calls that find no
//! fresh token wait for the same fetch instead of each starting their own.

use std::future::Future;
use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;

use super::SecretToken;
use crate::error::Result;

/// How long before expiry a token is replaced (at most half its lifetime).
const REFRESH_MARGIN: Duration = Duration::from_secs(30);

/// A token as a source returned it.
pub(crate) struct Fetched {
    pub(crate) token: SecretToken,
    /// `None` when the source does not say (the token is kept until refused).
    pub(crate) lifetime: Option<Duration>,
}

#[derive(Clone)]
struct Cached {
    token: SecretToken,
    refresh_at: Option<Instant>,
}

/// The cache; one per credential.
#[derive(Default)]
pub(crate) struct TokenCache {
    current: Mutex<Option<Cached>>,
    refreshing: tokio::sync::Mutex<()>,
}

impl TokenCache {
    /// A fresh token, fetching one when there is none.
    pub(crate) async fn get<F, Fut>(&self, fetch: F) -> Result<SecretToken>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<Fetched>>,
    {
        if let Some(token) = self.fresh() {
            return Ok(token);
        }
        let _turn = self.refreshing.lock().await;
        // Whoever held the lock before us may have refreshed already.
        if let Some(token) = self.fresh() {
            return Ok(token);
        }
        let fetched = fetch().await?;
        let refresh_at = fetched.lifetime.map(|lifetime| {
            let margin = REFRESH_MARGIN.min(lifetime / 2);
            Instant::now() + lifetime.saturating_sub(margin)
        });
        let token = fetched.token;
        *self.lock() = Some(Cached {
            token: token.clone(),
            refresh_at,
        });
        Ok(token)
    }

    /// The cached token if it is fresh; never waits.
    pub(crate) fn fresh(&self) -> Option<SecretToken> {
        let current = self.lock().clone()?;
        let expired = current.refresh_at.is_some_and(|at| Instant::now() >= at);
        (!expired).then_some(current.token)
    }

    /// Drops `refused` (a token the server rejected) if it is still the
    /// cached one: it is never handed out again. A newer token that another
    /// call already fetched stays.
    pub(crate) fn forget(&self, refused: &SecretToken) {
        let mut current = self.lock();
        if current
            .as_ref()
            .is_some_and(|cached| cached.token.expose() == refused.expose())
        {
            *current = None;
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Option<Cached>> {
        // The guarded value is replaced whole; a poisoned lock holds a valid one.
        self.current
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    fn source(
        counter: &Arc<AtomicUsize>,
        lifetime: Duration,
    ) -> impl Future<Output = Result<Fetched>> + use<> {
        let counter = counter.clone();
        async move {
            let n = counter.fetch_add(1, Ordering::SeqCst) + 1;
            // Let concurrent callers pile up behind this fetch.
            tokio::time::sleep(Duration::from_millis(50)).await;
            Ok(Fetched {
                token: SecretToken::new(format!("token-{n}")),
                lifetime: Some(lifetime),
            })
        }
    }

    #[tokio::test(start_paused = true)]
    async fn concurrent_callers_share_one_fetch() {
        let cache = Arc::new(TokenCache::default());
        let counter = Arc::new(AtomicUsize::new(0));
        let calls: Vec<_> = (0..50)
            .map(|_| {
                let (cache, counter) = (cache.clone(), counter.clone());
                tokio::spawn(async move {
                    cache
                        .get(|| source(&counter, Duration::from_secs(3600)))
                        .await
                })
            })
            .collect();
        for call in calls {
            let token = call.await.expect("task").expect("token");
            assert_eq!(token.expose(), "token-1");
        }
        assert_eq!(counter.load(Ordering::SeqCst), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn tokens_are_refreshed_before_they_expire() {
        let cache = TokenCache::default();
        let counter = Arc::new(AtomicUsize::new(0));
        let hour = Duration::from_secs(3600);
        let first = cache.get(|| source(&counter, hour)).await.expect("token");
        tokio::time::advance(hour - Duration::from_secs(31)).await;
        let still = cache.get(|| source(&counter, hour)).await.expect("token");
        assert_eq!(
            still.expose(),
            first.expose(),
            "valid for more than the margin: kept"
        );
        tokio::time::advance(Duration::from_secs(2)).await;
        let renewed = cache.get(|| source(&counter, hour)).await.expect("token");
        assert_ne!(
            renewed.expose(),
            first.expose(),
            "within the margin of expiry: refreshed"
        );
        assert_eq!(counter.load(Ordering::SeqCst), 2);
    }

    #[tokio::test(start_paused = true)]
    async fn a_refused_token_is_replaced() {
        let cache = TokenCache::default();
        let counter = Arc::new(AtomicUsize::new(0));
        let hour = Duration::from_secs(3600);
        let first = cache.get(|| source(&counter, hour)).await.expect("token");
        cache.forget(&first);
        let second = cache.get(|| source(&counter, hour)).await.expect("token");
        assert_ne!(first.expose(), second.expose());
    }

    #[tokio::test(start_paused = true)]
    async fn forgetting_an_old_token_keeps_a_newer_one() {
        let cache = TokenCache::default();
        let counter = Arc::new(AtomicUsize::new(0));
        let hour = Duration::from_secs(3600);
        let first = cache.get(|| source(&counter, hour)).await.expect("token");
        cache.forget(&first);
        let second = cache.get(|| source(&counter, hour)).await.expect("token");
        // A call that still held the first token reports its refusal late.
        cache.forget(&first);
        let still = cache.get(|| source(&counter, hour)).await.expect("token");
        assert_eq!(still.expose(), second.expose());
        assert_eq!(counter.load(Ordering::SeqCst), 2);
    }
}
