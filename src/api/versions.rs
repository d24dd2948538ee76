//! Versions through the JSON API: a bucket's versioning (the state S3 clients set with
//! PutBucketVersioning), and a file's versions: listed (by any version's file id, or by
//! key), downloaded, restored (copied to be the current version again) or deleted for good.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use super::buckets::{BucketView, owned};
use super::error::{ApiError, ErrorBody};
use super::extract::{AppJson, AppPath, AppQuery, AuthUser, plain_text};
use super::files::{FileView, serve};
use super::keys::Page;
use crate::app::AppState;
use crate::db::objects::Object;
use crate::db::versions::{self, Found, Listed};

pub(super) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(set_versioning))
        .routes(routes!(by_key))
        .routes(routes!(of_file))
        .routes(routes!(remove))
        .routes(routes!(content))
        .routes(routes!(restore))
}

/// `{"status"}`: `enabled` or `suspended`.
#[derive(Debug, Deserialize, ToSchema)]
pub struct VersioningBody {
    /// `enabled`: every write keeps the version it replaces; `suspended`: writes replace
    /// the `null` version, older versions stay. A bucket never goes back to `off`.
    pub status: String,
}

/// One version of a file.
#[derive(Debug, Serialize, ToSchema)]
pub struct VersionView {
    /// Its id: the file's own for the current version (a file keeps its id while it is
    /// overwritten, and its last version keeps it when the file is deleted), one of its
    /// own for an older version or a delete marker. Any of them names the file in the
    /// routes below.
    pub id: Uuid,
    /// The object key.
    pub key: String,
    /// The S3 version id (`null` for one written while the bucket was unversioned or
    /// suspended).
    pub version_id: String,
    /// Whether it is the key's newest version.
    pub is_latest: bool,
    /// Whether it is a delete marker (no content: the key looked deleted from then on).
    pub is_delete_marker: bool,
    /// Bytes (0 for a delete marker).
    pub size: i64,
    /// The S3 ETag, without quotes (empty for a delete marker).
    pub etag: String,
    /// When it was written.
    #[serde(with = "time::serde::rfc3339")]
    pub last_modified: OffsetDateTime,
}

/// `?cursor=&limit=` (and `key=` by key).
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct VersionsQuery {
    /// The key whose versions to list (by key only).
    pub key: Option<String>,
    /// From a previous page's `next_cursor`.
    pub cursor: Option<String>,
    /// Page size, 1 to 1000 (100).
    pub limit: Option<i64>,
}

#[utoipa::path(put, path = "/buckets/{id}/versioning", tag = "buckets", security(("bearer" = [])), params(("id" = Uuid, Path, description = "bucket id")), request_body = VersioningBody, responses((status = 200, body = BucketView), (status = 400, description = "validation_error or invalid_json", body = ErrorBody), (status = 401, description = "unauthenticated", body = ErrorBody), (status = 404, description = "not_found", body = ErrorBody)))]
async fn set_versioning(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    AppPath(id): AppPath<Uuid>,
    AppJson(body): AppJson<VersioningBody>,
) -> Result<Json<BucketView>, ApiError> {
    owned(&state, user.id, id).await?;
    let enabled = match body.status.as_str() {
        "enabled" => true,
        "suspended" => false,
        _ => return Err(ApiError::Validation("status must be enabled or suspended".into())),
    };
    versions::set_versioning(&state.db, id, enabled).await?;
    Ok(Json(owned(&state, user.id, id).await?.into()))
}

/// A page of `key`'s versions, newest first.
async fn page(state: &AppState, bucket_id: Uuid, key: &str, q: &VersionsQuery) -> Result<Page<VersionView>, ApiError> {
    let limit = q.limit.unwrap_or(100);
    if !(1..=1000).contains(&limit) {
        return Err(ApiError::Validation("limit must be between 1 and 1000".into()));
    }
    let before = match q.cursor.as_deref() {
        None => None,
        Some(c) => Some(
            c.parse::<i64>()
                .map_err(|_| ApiError::Validation("cursor is not valid".into()))?,
        ),
    };
    let mut rows = versions::of_key(&state.db, bucket_id, key, before, limit + 1).await?;
    let more = rows.len() as i64 > limit;
    rows.truncate(limit as usize);
    let next_cursor = more.then(|| rows.last().map(|r| r.seq.to_string())).flatten();
    // The newest version is the first of the first page.
    let newest_here = before.is_none();
    let items = rows
        .into_iter()
        .enumerate()
        .map(|(i, r)| view(r, newest_here && i == 0))
        .collect();
    Ok(Page { items, next_cursor })
}

fn view(r: Listed, is_latest: bool) -> VersionView {
    VersionView {
        id: r.id,
        key: r.key,
        version_id: r.version_id,
        is_latest,
        is_delete_marker: r.is_marker,
        size: r.size,
        etag: r.etag,
        last_modified: r.updated_at,
    }
}

#[utoipa::path(get, path = "/buckets/{bucket_id}/versions", tag = "files", security(("bearer" = [])), params(("bucket_id" = Uuid, Path, description = "bucket id"), VersionsQuery), responses((status = 200, body = Page<VersionView>), (status = 400, description = "validation_error", body = ErrorBody), (status = 401, description = "unauthenticated", body = ErrorBody), (status = 404, description = "not_found", body = ErrorBody)))]
async fn by_key(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    AppPath(bucket_id): AppPath<Uuid>,
    AppQuery(q): AppQuery<VersionsQuery>,
) -> Result<Json<Page<VersionView>>, ApiError> {
    let bucket = owned(&state, user.id, bucket_id).await?;
    let Some(key) = q.key.as_deref() else {
        return Err(ApiError::Validation("give the key whose versions to list".into()));
    };
    plain_text("key", key)?;
    Ok(Json(page(&state, bucket.id, key, &q).await?))
}

/// The key of a file id (any of its versions), in a bucket the user owns.
async fn key_of(state: &AppState, user_id: Uuid, bucket_id: Uuid, file_id: Uuid) -> Result<String, ApiError> {
    let bucket = owned(state, user_id, bucket_id).await?;
    versions::key_of(&state.db, bucket.id, file_id)
        .await?
        .ok_or(ApiError::NotFound("file"))
}

#[utoipa::path(get, path = "/buckets/{bucket_id}/files/{file_id}/versions", tag = "files", security(("bearer" = [])), params(("bucket_id" = Uuid, Path, description = "bucket id"), ("file_id" = Uuid, Path, description = "the id of any version of the file"), VersionsQuery), responses((status = 200, body = Page<VersionView>), (status = 400, description = "validation_error", body = ErrorBody), (status = 401, description = "unauthenticated", body = ErrorBody), (status = 404, description = "not_found", body = ErrorBody)))]
async fn of_file(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    AppPath((bucket_id, file_id)): AppPath<(Uuid, Uuid)>,
    AppQuery(q): AppQuery<VersionsQuery>,
) -> Result<Json<Page<VersionView>>, ApiError> {
    let key = key_of(&state, user.id, bucket_id, file_id).await?;
    Ok(Json(page(&state, bucket_id, &key, &q).await?))
}

/// Version `version_id` of the file `file_id` names, with content (not a delete marker).
async fn version(
    state: &AppState,
    user_id: Uuid,
    (bucket_id, file_id, version_id): (Uuid, Uuid, String),
) -> Result<Object, ApiError> {
    let key = key_of(state, user_id, bucket_id, file_id).await?;
    plain_text("version_id", &version_id)?;
    match versions::get(&state.db, bucket_id, &key, &version_id).await? {
        Some(Found::Object(obj)) => Ok(*obj),
        Some(Found::Marker(_)) => Err(ApiError::Validation("that version is a delete marker".into())),
        None => Err(ApiError::NotFound("version")),
    }
}

#[utoipa::path(get, path = "/buckets/{bucket_id}/files/{file_id}/versions/{version_id}/content", tag = "files", security(("bearer" = [])), params(("bucket_id" = Uuid, Path, description = "bucket id"), ("file_id" = Uuid, Path, description = "the id of any version of the file"), ("version_id" = String, Path, description = "S3 version id"), ("Range" = Option<String>, Header, description = "bytes=a-b, a- or -n")), responses((status = 200, description = "the bytes", content_type = "application/octet-stream", body = Vec<u8>), (status = 206, description = "the requested range", content_type = "application/octet-stream", body = Vec<u8>), (status = 400, description = "validation_error (a delete marker)", body = ErrorBody), (status = 401, description = "unauthenticated", body = ErrorBody), (status = 404, description = "not_found", body = ErrorBody), (status = 416, description = "range not satisfiable")))]
async fn content(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    AppPath(path): AppPath<(Uuid, Uuid, String)>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let obj = version(&state, user.id, path).await?;
    serve(&state, &obj, &headers).await
}

/// Copies the version to be its file's current version again (a new version on a
/// versioned bucket), counted against quotas like an upload.
#[utoipa::path(post, path = "/buckets/{bucket_id}/files/{file_id}/versions/{version_id}/restore", tag = "files", security(("bearer" = [])), params(("bucket_id" = Uuid, Path, description = "bucket id"), ("file_id" = Uuid, Path, description = "the id of any version of the file"), ("version_id" = String, Path, description = "S3 version id")), responses((status = 201, body = FileView), (status = 400, description = "validation_error (a delete marker)", body = ErrorBody), (status = 401, description = "unauthenticated", body = ErrorBody), (status = 403, description = "quota_exceeded", body = ErrorBody), (status = 404, description = "not_found", body = ErrorBody)))]
async fn restore(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    AppPath(path): AppPath<(Uuid, Uuid, String)>,
) -> Result<(StatusCode, Json<FileView>), ApiError> {
    let bucket_id = path.0;
    let obj = version(&state, user.id, path).await?;
    let to = crate::objects::copy::Destination {
        bucket_id,
        key: obj.key.clone(),
        headers: obj.headers.clone(),
        acl: obj.acl.clone(),
        condition: None,
    };
    crate::objects::copy::copy(&state, &obj, to).await?;
    let current = crate::db::objects::get(&state.db, bucket_id, &obj.key)
        .await?
        .ok_or_else(|| ApiError::internal("the restored file vanished"))?;
    Ok((StatusCode::CREATED, Json(current.into())))
}

/// Deletes one version for good (a delete marker too: deleting the newest one restores
/// the file); if it was the newest, the one before it becomes current.
#[utoipa::path(delete, path = "/buckets/{bucket_id}/files/{file_id}/versions/{version_id}", tag = "files", security(("bearer" = [])), params(("bucket_id" = Uuid, Path, description = "bucket id"), ("file_id" = Uuid, Path, description = "the id of any version of the file"), ("version_id" = String, Path, description = "S3 version id")), responses((status = 204, description = "deleted"), (status = 401, description = "unauthenticated", body = ErrorBody), (status = 404, description = "not_found", body = ErrorBody)))]
async fn remove(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    AppPath((bucket_id, file_id, version_id)): AppPath<(Uuid, Uuid, String)>,
) -> Result<StatusCode, ApiError> {
    let key = key_of(&state, user.id, bucket_id, file_id).await?;
    plain_text("version_id", &version_id)?;
    let done = crate::objects::removal::remove(&state, bucket_id, &[(key, Some(version_id))]).await?;
    match done.first().is_some_and(|r| r.removed) {
        true => Ok(StatusCode::NO_CONTENT),
        false => Err(ApiError::NotFound("version")),
    }
}
