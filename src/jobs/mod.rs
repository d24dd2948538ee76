//! Work that is not a request: the background loops every instance runs (instance leases
//! and the reservation sweep, the request-count and audit flushes, the daily usage roll-up,
//! the listener of cache invalidations, the lifecycle rules)
//! and the maintenance commands (`godrive gc`, `godrive usage reconcile`).

pub mod gc;
pub mod invalidate;
pub mod lease;
pub mod lifecycle;
pub mod reconcile;
pub mod rollup;

use std::future::Future;
use std::time::Duration;

use time::OffsetDateTime;

use crate::app::AppState;

/// How often each instance writes its buffered request counts and presigned-URL audit.
pub const FLUSH_EVERY: Duration = Duration::from_secs(5);

/// Runs `step` every `every`, the first time at once, until the process ends. A step that
/// outlasts the period delays the next one rather than letting them pile up.
pub fn spawn_every<F, Fut>(every: Duration, mut step: F)
where
    F: FnMut() -> Fut + Send + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            step().await;
        }
    });
}

/// Starts every background loop of a serving instance. The lease is taken before this
/// returns, so no upload can reserve quota under an instance without one.
pub async fn start(state: &AppState) {
    lease::start(state).await;
    invalidate::start(state);
    let s = state.clone();
    spawn_every(FLUSH_EVERY, move || {
        let s = s.clone();
        async move {
            if let Err(e) = s.requests.flush(&s.db).await {
                tracing::warn!(error = %e, "could not flush request counts; retrying");
            }
        }
    });
    let s = state.clone();
    spawn_every(FLUSH_EVERY, move || {
        let s = s.clone();
        async move {
            if let Err(e) = s.audit.flush(&s.db).await {
                tracing::warn!(error = %e, "could not write the presigned-URL audit; retrying");
            }
        }
    });
    let db = state.db.clone();
    spawn_every(rollup::EVERY, move || {
        let db = db.clone();
        async move {
            match rollup::run(&db, OffsetDateTime::now_utc()).await {
                Ok(rollup::Outcome::Rolled(days)) if !days.is_empty() => {
                    tracing::info!(days = days.len(), first = %days[0], "usage rolled up");
                }
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "usage roll-up failed; retrying later"),
            }
        }
    });
    lifecycle::start(state);
}
