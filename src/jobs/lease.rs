//! Instance leases: crash-safe quota reservations.
//!
//! A reservation taken for an upload in flight names the instance serving it
//! (`AppState::instance_id`). The instance holds a lease row in PostgreSQL, renewed by a
//! heartbeat every quarter of `GODRIVE_INSTANCE_LEASE_SECS`; every instance sweeps every
//! half of it, releasing the reservations of instances whose lease lapsed (or whose row is
//! gone) and deleting lapsed leases. An instance killed mid-upload thus gives its room back
//! within about 1.5 leases. Releasing is idempotent, so instances sweep concurrently.
//!
//! An instance alive but cut off from PostgreSQL for longer than a lease may see its
//! reservations released under its uploads; their commit then checks the quota again
//! (`db::quota::may_grow`), so nothing is over-allocated. Reservations held by multipart
//! part rows name no instance: they follow their upload and keep the 24 h expiry, also
//! swept here.

use std::time::Duration;

use crate::app::AppState;
use crate::db;

/// Takes this instance's lease, then renews it and sweeps in the background until the
/// process ends. Awaited before serving, so no reservation of this instance exists without
/// its lease row (one that did would be released by the next sweep anywhere).
pub async fn start(state: &AppState) {
    let lease = Duration::from_secs(state.config.instance_lease_secs);
    if let Err(e) = db::leases::renew(&state.db, state.instance_id, lease.as_secs_f64()).await {
        tracing::warn!(error = %e, "could not take the instance lease; retrying");
    }
    // Every quarter lease: renew (the lease was just taken, so not at once); every second
    // one, sweep first.
    let mut n = 0u64;
    let state = state.clone();
    super::spawn_every(lease / 4, move || {
        let (state, tick) = (state.clone(), n);
        n += 1;
        async move {
            if tick % 2 == 0 {
                sweep(&state).await;
            }
            if tick > 0
                && let Err(e) = db::leases::renew(&state.db, state.instance_id, lease.as_secs_f64()).await
            {
                tracing::warn!(error = %e, "could not renew the instance lease; retrying");
            }
        }
    });
}

/// Releases dead instances' reservations and expired ones.
async fn sweep(state: &AppState) {
    let swept = async {
        let mut conn = state.db.acquire().await?;
        let dead = db::leases::sweep(&mut conn).await?;
        let expired = db::quota::release_expired(&mut conn).await?;
        Ok::<_, db::DbError>((dead, expired))
    }
    .await;
    match swept {
        Ok((dead, expired)) => {
            if dead.reservations > 0 || dead.leases > 0 {
                tracing::info!(
                    released = dead.reservations,
                    leases = dead.leases,
                    "released the quota reservations of instances whose lease lapsed"
                );
            }
            if expired > 0 {
                tracing::info!(released = expired, "released expired quota reservations");
            }
        }
        Err(e) => tracing::warn!(error = %e, "could not sweep quota reservations"),
    }
}
