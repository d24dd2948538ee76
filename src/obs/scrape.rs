//! The `/metrics` listener (`GODRIVE_METRICS_ADDR`): gauges that describe shared state
//! (database and backend health, pool use, storage) are read when Prometheus scrapes.

use std::time::Duration;

use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;
use tokio::net::TcpListener;

use crate::app::AppState;
use crate::db;
use crate::obs::metrics::{METRICS, PoolLabels, TOP_USERS, UserLabel};

/// How long a probe may take before the dependency counts as down.
const PROBE_TIMEOUT: Duration = Duration::from_secs(2);

/// Serves `/metrics` until the process ends.
pub async fn serve(state: AppState, listener: TcpListener) -> std::io::Result<()> {
    let app = axum::Router::new().route("/metrics", get(scrape)).with_state(state);
    axum::serve(listener, app).await
}

async fn scrape(State(state): State<AppState>) -> impl IntoResponse {
    refresh(&state).await;
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        METRICS.encode(),
    )
}

/// Reads the gauges that describe shared state.
pub async fn refresh(state: &AppState) {
    let m = &*METRICS;
    let backend = tokio::time::timeout(PROBE_TIMEOUT, state.storage.health()).await;
    m.backend_up.set(i64::from(matches!(backend, Ok(Ok(())))));
    let size = i64::from(state.db.size());
    let idle = state.db.num_idle() as i64;
    m.pool_connections
        .get_or_create(&PoolLabels { state: "idle" })
        .set(idle);
    m.pool_connections
        .get_or_create(&PoolLabels { state: "in_use" })
        .set(size - idle);
    m.pool_max.set(i64::from(state.config.database.max_connections));
    let totals = tokio::time::timeout(PROBE_TIMEOUT, db::usage::totals(&state.db)).await;
    let Ok(Ok(totals)) = totals else {
        m.database_up.set(0);
        return;
    };
    m.database_up.set(1);
    m.storage_used.set(totals.used_bytes);
    m.storage_objects.set(totals.objects);
    m.users_over_quota.set(totals.over_quota);
    if let Ok(Ok((largest, closest))) =
        tokio::time::timeout(PROBE_TIMEOUT, db::usage::top_users(&state.db, TOP_USERS)).await
    {
        // Users that left the top disappear instead of keeping a stale value.
        m.user_storage_used.clear();
        for (user, used) in largest {
            m.user_storage_used.get_or_create(&UserLabel { user }).set(used);
        }
        m.user_quota_ratio.clear();
        for (user, ratio) in closest {
            m.user_quota_ratio.get_or_create(&UserLabel { user }).set(ratio);
        }
    }
}
