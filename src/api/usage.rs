//! `GET /v1/usage`: the caller's storage and requests.

use axum::Json;
use axum::extract::State;
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::error::{ApiError, ErrorBody};
use super::extract::AuthUser;
use crate::app::AppState;
use crate::db;

pub(super) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(mine))
}

/// A user's usage.
#[derive(Debug, Serialize, ToSchema)]
pub struct UsageView {
    /// Bytes of stored objects.
    pub used_bytes: i64,
    /// Bytes reserved by uploads in flight.
    pub reserved_bytes: i64,
    /// The storage quota, or null for none.
    pub quota_bytes: Option<i64>,
    /// Stored objects.
    pub objects: i64,
    /// Requests made, S3 and JSON (counts from other instances arrive within seconds).
    pub requests: i64,
}

#[utoipa::path(get, path = "/usage", tag = "usage", security(("bearer" = [])), responses((status = 200, body = UsageView), (status = 401, description = "unauthenticated", body = ErrorBody), (status = 403, description = "account_disabled", body = ErrorBody)))]
async fn mine(State(state): State<AppState>, AuthUser(user): AuthUser) -> Result<Json<UsageView>, ApiError> {
    // This instance's buffered counts first, so the answer includes this very request.
    if let Err(e) = state.requests.flush(&state.db).await {
        tracing::warn!(error = %e, "could not flush request counts");
    }
    let u = db::usage::of_user(&state.db, user.id)
        .await?
        .ok_or(ApiError::NotFound("user"))?;
    let requests = db::usage::requests_of(&state.db, user.id).await?;
    Ok(Json(UsageView {
        used_bytes: u.used_bytes,
        reserved_bytes: u.reserved_bytes,
        quota_bytes: u.quota_bytes,
        objects: u.object_count,
        requests,
    }))
}
