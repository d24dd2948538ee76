//! Admin routes: users (list, get, update flags, quota), their buckets and bucket limits.
//! Every route takes [`AdminUser`], so a non-admin gets 403.

use axum::Json;
use axum::extract::State;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use super::auth::UserView;
use super::buckets::{BucketQuota, BucketQuotaView, BucketView};
use super::error::{ApiError, ErrorBody};
use super::extract::{AdminUser, AppJson, AppPath, AppQuery};
use super::keys::Page;
use crate::accounts::cache::Change;
use crate::app::AppState;
use crate::db;

pub(super) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list))
        .routes(routes!(one, update))
        .routes(routes!(set_quota))
        .routes(routes!(buckets_of))
        .routes(routes!(set_bucket_quota))
}

/// `?email=&limit=&cursor=`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// Only users whose email contains this (any case).
    pub email: Option<String>,
    /// Page size, 1 to 1000 (100).
    pub limit: Option<i64>,
    /// From a previous page's `next_cursor`.
    pub cursor: Option<String>,
}

/// `{"is_admin"?, "disabled"?}`.
#[derive(Debug, Deserialize, ToSchema)]
pub struct UserPatch {
    /// Grant or revoke admin.
    pub is_admin: Option<bool>,
    /// Disable or re-enable; a disabled user is refused on the JSON and S3 sides at once.
    pub disabled: Option<bool>,
}

fn encode_cursor(u: &db::users::User) -> String {
    URL_SAFE_NO_PAD.encode(format!("{}|{}", u.created_at.unix_timestamp_nanos(), u.id))
}

fn decode_cursor(c: &str) -> Result<(time::OffsetDateTime, Uuid), ApiError> {
    let bad = || ApiError::Validation("cursor is not valid".into());
    let raw = String::from_utf8(URL_SAFE_NO_PAD.decode(c).map_err(|_| bad())?).map_err(|_| bad())?;
    let (nanos, id) = raw.split_once('|').ok_or_else(bad)?;
    let at = time::OffsetDateTime::from_unix_timestamp_nanos(nanos.parse().map_err(|_| bad())?).map_err(|_| bad())?;
    Ok((at, Uuid::parse_str(id).map_err(|_| bad())?))
}

#[utoipa::path(get, path = "/admin/users", tag = "admin", security(("bearer" = [])), params(ListQuery), responses((status = 200, body = Page<UserView>), (status = 400, description = "validation_error or invalid_json", body = ErrorBody), (status = 401, description = "unauthenticated", body = ErrorBody), (status = 403, description = "forbidden or account_disabled", body = ErrorBody)))]
async fn list(
    State(state): State<AppState>,
    _admin: AdminUser,
    AppQuery(q): AppQuery<ListQuery>,
) -> Result<Json<Page<UserView>>, ApiError> {
    let limit = q.limit.unwrap_or(100);
    if !(1..=1000).contains(&limit) {
        return Err(ApiError::Validation("limit must be between 1 and 1000".into()));
    }
    let after = q.cursor.as_deref().map(decode_cursor).transpose()?;
    let email = q.email.filter(|e| !e.is_empty());
    if let Some(e) = &email {
        super::extract::plain_text("email", e)?;
    }
    let mut users = db::users::list(&state.db, email.as_deref(), after, limit + 1).await?;
    let next = (users.len() as i64 > limit).then(|| {
        users.truncate(limit as usize);
        users.last().map(encode_cursor)
    });
    Ok(Json(Page {
        items: users.into_iter().map(Into::into).collect(),
        next_cursor: next.flatten(),
    }))
}

#[utoipa::path(get, path = "/admin/users/{id}", tag = "admin", security(("bearer" = [])), params(("id" = Uuid, Path, description = "user id")), responses((status = 200, body = UserView), (status = 401, description = "unauthenticated", body = ErrorBody), (status = 403, description = "forbidden or account_disabled", body = ErrorBody), (status = 404, description = "not_found", body = ErrorBody)))]
async fn one(
    State(state): State<AppState>,
    _admin: AdminUser,
    AppPath(id): AppPath<Uuid>,
) -> Result<Json<UserView>, ApiError> {
    let user = db::users::get(&state.db, id).await?.ok_or(ApiError::NotFound("user"))?;
    Ok(Json(user.into()))
}

#[utoipa::path(patch, path = "/admin/users/{id}", tag = "admin", security(("bearer" = [])), params(("id" = Uuid, Path, description = "user id")), request_body = UserPatch, responses((status = 200, body = UserView), (status = 400, description = "validation_error or invalid_json", body = ErrorBody), (status = 401, description = "unauthenticated", body = ErrorBody), (status = 403, description = "forbidden or account_disabled", body = ErrorBody), (status = 404, description = "not_found", body = ErrorBody)))]
async fn update(
    State(state): State<AppState>,
    AdminUser(admin): AdminUser,
    AppPath(id): AppPath<Uuid>,
    AppJson(p): AppJson<UserPatch>,
) -> Result<Json<UserView>, ApiError> {
    if id == admin.id && (p.is_admin == Some(false) || p.disabled == Some(true)) {
        return Err(ApiError::Validation(
            "admins cannot demote or disable themselves".into(),
        ));
    }
    let user = db::users::update_flags(&state.db, id, p.is_admin, p.disabled)
        .await?
        .ok_or(ApiError::NotFound("user"))?;
    state.auth_cache.changed(&state.db, Change::User(id)).await;
    Ok(Json(user.into()))
}

/// `{"quota_bytes": N}`; null means unlimited.
#[derive(Debug, Deserialize, serde::Serialize, ToSchema)]
pub struct QuotaBody {
    /// The user's storage quota in bytes, or null for none.
    pub quota_bytes: Option<i64>,
}

#[utoipa::path(put, path = "/admin/users/{id}/quota", tag = "admin", security(("bearer" = [])), params(("id" = Uuid, Path, description = "user id")), request_body = QuotaBody, responses((status = 200, body = QuotaBody), (status = 400, description = "validation_error or invalid_json", body = ErrorBody), (status = 401, description = "unauthenticated", body = ErrorBody), (status = 403, description = "forbidden", body = ErrorBody), (status = 404, description = "not_found", body = ErrorBody)))]
async fn set_quota(
    State(state): State<AppState>,
    _admin: AdminUser,
    AppPath(id): AppPath<Uuid>,
    AppJson(q): AppJson<QuotaBody>,
) -> Result<Json<QuotaBody>, ApiError> {
    if q.quota_bytes.is_some_and(|b| b < 0) {
        return Err(ApiError::Validation("quota_bytes must not be negative".into()));
    }
    // Lowering a quota below current use refuses further growth; nothing is deleted.
    if !db::usage::set_user_quota(&state.db, id, q.quota_bytes).await? {
        return Err(ApiError::NotFound("user"));
    }
    state.auth_cache.changed(&state.db, Change::User(id)).await;
    Ok(Json(q))
}

#[utoipa::path(get, path = "/admin/users/{id}/buckets", tag = "admin", security(("bearer" = [])), params(("id" = Uuid, Path, description = "user id")), responses((status = 200, body = Page<BucketView>), (status = 401, description = "unauthenticated", body = ErrorBody), (status = 403, description = "forbidden", body = ErrorBody), (status = 404, description = "not_found", body = ErrorBody)))]
async fn buckets_of(
    State(state): State<AppState>,
    _admin: AdminUser,
    AppPath(id): AppPath<Uuid>,
) -> Result<Json<Page<BucketView>>, ApiError> {
    db::users::get(&state.db, id).await?.ok_or(ApiError::NotFound("user"))?;
    Ok(Json(super::buckets::owned_by(&state, id).await?))
}

#[utoipa::path(put, path = "/admin/buckets/{id}/quota", tag = "admin", security(("bearer" = [])), params(("id" = Uuid, Path, description = "bucket id")), request_body = BucketQuota, responses((status = 200, body = BucketQuotaView), (status = 400, description = "validation_error or invalid_json", body = ErrorBody), (status = 401, description = "unauthenticated", body = ErrorBody), (status = 403, description = "forbidden", body = ErrorBody), (status = 404, description = "not_found", body = ErrorBody)))]
async fn set_bucket_quota(
    State(state): State<AppState>,
    _admin: AdminUser,
    AppPath(id): AppPath<Uuid>,
    AppJson(q): AppJson<BucketQuota>,
) -> Result<Json<BucketQuotaView>, ApiError> {
    let bucket = db::buckets::get(&state.db, id)
        .await?
        .ok_or(ApiError::NotFound("bucket"))?;
    Ok(Json(super::buckets::apply_quota(&state, bucket, &q).await?))
}
