//! The listener of cache invalidations: one connection per serving instance LISTENs on
//! `godrive_invalidate`, hands every change notified to the authorization cache
//! (`accounts::cache`) and acknowledges the fences of instances that made a change. The
//! cache is used only while it listens: it is emptied and bypassed when the connection is
//! lost, until a new one listens again.

use std::time::Duration;

use crate::accounts::cache::Notice;
use crate::app::AppState;
use crate::db;

/// How soon a lost or refused listening connection is tried again (the first retry after
/// a loss is at once).
pub const RETRY_EVERY: Duration = Duration::from_millis(500);

/// Starts listening in the background; the cache is bypassed until the listener is ready.
pub fn start(state: &AppState) {
    let state = state.clone();
    super::spawn_every(RETRY_EVERY, move || {
        let state = state.clone();
        async move { listen_until_lost(&state).await }
    });
}

/// Listens, feeding the cache, until the connection is lost.
async fn listen_until_lost(state: &AppState) {
    let cache = &state.auth_cache;
    let mut listener = match db::invalidation::listen(&state.db).await {
        Ok(l) => l,
        Err(e) => {
            tracing::warn!(error = %e, "cannot listen for cache invalidations; the cache stays bypassed");
            return;
        }
    };
    cache.set_listening(true);
    crate::obs::metrics::METRICS.auth_cache_listens.inc();
    while let Some(payload) = listener.next().await {
        match Notice::parse(&payload) {
            Notice::Changed(change) => cache.notified(&change),
            // Every change before the fence has been applied above: acknowledge it, without
            // holding up the notifications behind it.
            Notice::Fence(fence) => {
                let db = state.db.clone();
                tokio::spawn(async move {
                    if let Err(e) = db::invalidation::ack(&db, fence).await {
                        tracing::warn!(error = %e, "could not acknowledge a cache invalidation fence");
                    }
                });
            }
            Notice::Ack(fence) => cache.acked(fence),
        }
    }
    cache.set_listening(false);
    tracing::warn!("lost the cache invalidation listener; the cache is bypassed until it listens again");
}
