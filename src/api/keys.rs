//! Access keys for S3 clients: create (the secret is shown once), list, delete.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use super::error::{ApiError, ErrorBody};
use super::extract::{AppJson, AppPath, AuthUser, plain_text};
use crate::accounts::cache::Change;
use crate::app::AppState;
use crate::db;

pub(super) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list, create))
        .routes(routes!(remove))
}

/// `{"name"}`.
#[derive(Debug, Deserialize, ToSchema)]
pub struct NewKey {
    /// A name to recognise the key by.
    pub name: String,
}

/// A key as listed: never its secret.
#[derive(Debug, Serialize, ToSchema)]
pub struct KeyView {
    /// Id (for DELETE).
    pub id: Uuid,
    /// Name.
    pub name: String,
    /// The access key id clients send.
    pub access_key_id: String,
    /// Creation time.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// Last S3 use (recorded in batches, within seconds); null until used.
    #[serde(with = "time::serde::rfc3339::option")]
    pub last_used_at: Option<OffsetDateTime>,
}

impl From<db::access_keys::KeyInfo> for KeyView {
    fn from(k: db::access_keys::KeyInfo) -> Self {
        Self {
            id: k.id,
            name: k.name,
            access_key_id: k.access_key_id,
            created_at: k.created_at,
            last_used_at: k.last_used_at,
        }
    }
}

/// A new key with its secret, answered once.
#[derive(Debug, Serialize, ToSchema)]
pub struct CreatedKey {
    /// Id.
    pub id: Uuid,
    /// Name.
    pub name: String,
    /// The access key id.
    pub access_key_id: String,
    /// The secret: shown now and never again.
    pub secret_access_key: String,
    /// Creation time.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

/// Lists are `{"items": [...], "next_cursor"}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct Page<T> {
    /// This page.
    pub items: Vec<T>,
    /// Pass as `cursor` for the next page; null on the last.
    pub next_cursor: Option<String>,
}

#[utoipa::path(post, path = "/keys", tag = "keys", security(("bearer" = [])), request_body = NewKey, responses((status = 201, body = CreatedKey), (status = 400, description = "validation_error or invalid_json", body = ErrorBody), (status = 401, description = "unauthenticated", body = ErrorBody)))]
async fn create(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    AppJson(k): AppJson<NewKey>,
) -> Result<(StatusCode, Json<CreatedKey>), ApiError> {
    let name = k.name.trim();
    if name.is_empty() || name.chars().count() > 100 {
        return Err(ApiError::Validation("name must have 1 to 100 characters".into()));
    }
    plain_text("name", name)?;
    let key = crate::accounts::mint_key(&state.db, &state.secrets, user.id, name).await?;
    let info = db::access_keys::get(&state.db, user.id, key.id)
        .await?
        .ok_or_else(|| ApiError::internal("key vanished after insert"))?;
    Ok((
        StatusCode::CREATED,
        Json(CreatedKey {
            id: key.id,
            name: info.name,
            access_key_id: key.access_key_id,
            secret_access_key: key.secret.to_string(),
            created_at: info.created_at,
        }),
    ))
}

#[utoipa::path(get, path = "/keys", tag = "keys", security(("bearer" = [])), responses((status = 200, body = Page<KeyView>), (status = 401, description = "unauthenticated", body = ErrorBody)))]
async fn list(State(state): State<AppState>, AuthUser(user): AuthUser) -> Result<Json<Page<KeyView>>, ApiError> {
    // This instance's recent key use first (other instances' arrive within seconds).
    if let Err(e) = state.requests.flush(&state.db).await {
        tracing::warn!(error = %e, "could not flush key use");
    }
    let items = db::access_keys::list(&state.db, user.id)
        .await?
        .into_iter()
        .map(Into::into)
        .collect();
    Ok(Json(Page {
        items,
        next_cursor: None,
    }))
}

#[utoipa::path(delete, path = "/keys/{id}", tag = "keys", security(("bearer" = [])), params(("id" = Uuid, Path, description = "key id")), responses((status = 204, description = "deleted; S3 refuses it from the next request on"), (status = 401, description = "unauthenticated", body = ErrorBody), (status = 404, description = "not_found", body = ErrorBody)))]
async fn remove(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    AppPath(id): AppPath<Uuid>,
) -> Result<StatusCode, ApiError> {
    // The row is gone, and the answer waits until every instance has dropped the key from
    // its cache: the next S3 request signed with it fails everywhere.
    if db::access_keys::delete(&state.db, user.id, id).await? {
        state.auth_cache.changed(&state.db, Change::User(user.id)).await;
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::NotFound("key"))
    }
}
