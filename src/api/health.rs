//! `/v1/health/live` (the process answers) and `/v1/health/ready` (PostgreSQL and the
//! storage backend answer).

use std::time::Duration;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde_json::{Value, json};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::app::AppState;
use crate::db;

const CHECK_TIMEOUT: Duration = Duration::from_secs(2);

pub(super) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(live)).routes(routes!(ready))
}

#[utoipa::path(get, path = "/health/live", tag = "health", responses((status = 200, description = "the process answers")))]
async fn live() -> Json<Value> {
    Json(json!({"status": "ok"}))
}

#[utoipa::path(get, path = "/health/ready", tag = "health", responses((status = 200, description = "PostgreSQL and the storage backend answer"), (status = 503, description = "a dependency is down")))]
async fn ready(State(state): State<AppState>) -> (StatusCode, Json<Value>) {
    let (database, storage) = tokio::join!(
        tokio::time::timeout(CHECK_TIMEOUT, db::ping(&state.db)),
        tokio::time::timeout(CHECK_TIMEOUT, state.storage.health()),
    );
    let database_ok = matches!(database, Ok(Ok(())));
    let storage_ok = matches!(storage, Ok(Ok(())));
    let word = |ok: bool| if ok { "ok" } else { "unavailable" };
    let status = if database_ok && storage_ok {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (
        status,
        Json(json!({
            "status": word(database_ok && storage_ok),
            "checks": {"database": word(database_ok), "storage": word(storage_ok)},
        })),
    )
}
