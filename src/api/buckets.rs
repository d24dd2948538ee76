//! Buckets through the JSON API: the same buckets the S3 side sees.

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
use super::extract::{AppJson, AppPath, AuthUser};
use super::keys::Page;
use crate::accounts::cache::Change;
use crate::app::AppState;
use crate::db::{self, buckets::CreateBucketError};
use crate::objects::stored;

pub(super) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list, create))
        .routes(routes!(one, remove))
        .routes(routes!(set_quota))
        .routes(routes!(set_public))
}

/// `{"name"}`.
#[derive(Debug, Deserialize, ToSchema)]
pub struct NewBucket {
    /// An S3 bucket name (3-63 lowercase letters, digits, dots, hyphens).
    pub name: String,
}

/// A bucket as the API shows it.
#[derive(Debug, Serialize, ToSchema)]
pub struct BucketView {
    /// Id (used in file routes).
    pub id: Uuid,
    /// Name (as S3 clients see it).
    pub name: String,
    /// Creation time.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// Whether anyone may read its objects without signing (a public canned ACL or bucket
    /// policy, set here or through S3).
    pub public: bool,
    /// `off` (never enabled), `enabled` (every write keeps the version it replaces) or
    /// `suspended` (set here or through S3 PutBucketVersioning).
    pub versioning: String,
    /// Bytes stored.
    pub used_bytes: i64,
    /// Objects stored (every version and delete marker counts).
    pub objects: i64,
    /// The bucket's byte limit, or null for none.
    pub max_bytes: Option<i64>,
    /// The bucket's object-count limit, or null for none.
    pub max_objects: Option<i64>,
}

impl From<db::buckets::Bucket> for BucketView {
    fn from(b: db::buckets::Bucket) -> Self {
        Self {
            id: b.id,
            name: b.name,
            created_at: b.created_at,
            public: b.public,
            versioning: b
                .versioning
                .map_or_else(|| "off".to_owned(), |v| v.to_ascii_lowercase()),
            used_bytes: b.used_bytes,
            objects: b.object_count,
            max_bytes: b.max_bytes,
            max_objects: b.max_objects,
        }
    }
}

/// `{"public"}`.
#[derive(Debug, Deserialize, ToSchema)]
pub struct Publicity {
    /// true: anyone may read every object (not list the bucket); false: private again.
    pub public: bool,
}

/// Makes a bucket public (a bucket policy allowing everyone `s3:GetObject` on every object,
/// the one S3 clients would set) or private again (no policy, canned ACL `private`).
/// Needs `GODRIVE_ALLOW_PUBLIC_BUCKETS` to make it public.
#[utoipa::path(put, path = "/buckets/{id}/public", tag = "buckets", security(("bearer" = [])), params(("id" = Uuid, Path, description = "bucket id")), request_body = Publicity, responses((status = 200, body = BucketView), (status = 400, description = "validation_error or invalid_json", body = ErrorBody), (status = 401, description = "unauthenticated", body = ErrorBody), (status = 403, description = "public_buckets_disabled", body = ErrorBody), (status = 404, description = "not_found", body = ErrorBody)))]
async fn set_public(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    AppPath(id): AppPath<Uuid>,
    AppJson(p): AppJson<Publicity>,
) -> Result<Json<BucketView>, ApiError> {
    let bucket = owned(&state, user.id, id).await?;
    if p.public {
        if !state.config.allow_public_buckets {
            return Err(ApiError::PublicBucketsDisabled);
        }
        let policy = serde_json::json!({
            "Version": "2012-10-17",
            "Statement": [{
                "Sid": "GoDrivePublicRead",
                "Effect": "Allow",
                "Principal": "*",
                "Action": "s3:GetObject",
                "Resource": format!("arn:aws:s3:::{}/*", bucket.name),
            }],
        });
        db::buckets::set_policy(&state.db, id, Some(&policy.to_string())).await?;
    } else {
        db::buckets::set_policy(&state.db, id, None).await?;
        db::buckets::set_acl(&state.db, id, "private").await?;
    }
    Ok(Json(owned(&state, user.id, id).await?.into()))
}

/// The caller's bucket by id; another user's is 404, exactly like a missing one.
pub(super) async fn owned(state: &AppState, user_id: Uuid, id: Uuid) -> Result<db::buckets::Bucket, ApiError> {
    db::buckets::get_owned(&state.db, id, user_id)
        .await?
        .ok_or(ApiError::NotFound("bucket"))
}

#[utoipa::path(post, path = "/buckets", tag = "buckets", security(("bearer" = [])), request_body = NewBucket, responses((status = 201, body = BucketView), (status = 400, description = "validation_error or invalid_json", body = ErrorBody), (status = 401, description = "unauthenticated", body = ErrorBody), (status = 409, description = "bucket_name_taken", body = ErrorBody)))]
async fn create(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    AppJson(b): AppJson<NewBucket>,
) -> Result<(StatusCode, Json<BucketView>), ApiError> {
    crate::objects::buckets::check(&b.name).map_err(|_| {
        ApiError::Validation(
            "name must be 3-63 lowercase letters, digits, dots or hyphens, start and end with a letter or digit, and not be v1 or console".into(),
        )
    })?;
    let mut conn = state.db.acquire().await?;
    match db::buckets::create(&mut conn, &b.name, user.id, &state.config.s3_region).await {
        Ok(bucket) => Ok((StatusCode::CREATED, Json(bucket.into()))),
        Err(CreateBucketError::Taken { .. }) => Err(ApiError::BucketNameTaken),
        Err(CreateBucketError::Db(e)) => Err(e.into()),
    }
}

#[utoipa::path(get, path = "/buckets", tag = "buckets", security(("bearer" = [])), responses((status = 200, body = Page<BucketView>), (status = 401, description = "unauthenticated", body = ErrorBody)))]
async fn list(State(state): State<AppState>, AuthUser(user): AuthUser) -> Result<Json<Page<BucketView>>, ApiError> {
    Ok(Json(owned_by(&state, user.id).await?))
}

/// Every bucket a user owns, by name, as one page (for them here, for admins there).
pub(super) async fn owned_by(state: &AppState, owner: Uuid) -> Result<Page<BucketView>, ApiError> {
    let items = db::buckets::list_owned(&state.db, owner)
        .await?
        .into_iter()
        .map(Into::into)
        .collect();
    Ok(Page {
        items,
        next_cursor: None,
    })
}

#[utoipa::path(get, path = "/buckets/{id}", tag = "buckets", security(("bearer" = [])), params(("id" = Uuid, Path, description = "bucket id")), responses((status = 200, body = BucketView), (status = 401, description = "unauthenticated", body = ErrorBody), (status = 404, description = "not_found", body = ErrorBody)))]
async fn one(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    AppPath(id): AppPath<Uuid>,
) -> Result<Json<BucketView>, ApiError> {
    Ok(Json(owned(&state, user.id, id).await?.into()))
}

/// Deletes the bucket with everything in it: rows first, in one transaction, then bytes.
#[utoipa::path(delete, path = "/buckets/{id}", tag = "buckets", security(("bearer" = [])), params(("id" = Uuid, Path, description = "bucket id")), responses((status = 204, description = "deleted with its files"), (status = 401, description = "unauthenticated", body = ErrorBody), (status = 404, description = "not_found", body = ErrorBody)))]
async fn remove(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    AppPath(id): AppPath<Uuid>,
) -> Result<StatusCode, ApiError> {
    let bucket = owned(&state, user.id, id).await?;
    let mut conn = state.db.acquire().await?;
    let removed = db::buckets::delete_cascade(&mut conn, id)
        .await?
        .ok_or(ApiError::NotFound("bucket"))?;
    drop(conn);
    state.auth_cache.changed(&state.db, Change::Bucket(bucket.name)).await;
    stored::delete_in_background(state.storage.clone(), removed.blobs);
    stored::drop_uploads_in_background(state.storage.clone(), removed.uploads);
    Ok(StatusCode::NO_CONTENT)
}

/// `{"max_bytes", "max_objects"}`; either may be null (no limit).
#[derive(Debug, Deserialize, Serialize, ToSchema)]
pub struct BucketQuota {
    /// Byte limit for the bucket, or null.
    pub max_bytes: Option<i64>,
    /// Object-count limit for the bucket, or null.
    pub max_objects: Option<i64>,
}

/// A bucket's limits and usage.
#[derive(Debug, Serialize, ToSchema)]
pub struct BucketQuotaView {
    /// Byte limit, or null.
    pub max_bytes: Option<i64>,
    /// Object-count limit, or null.
    pub max_objects: Option<i64>,
    /// Bytes stored.
    pub used_bytes: i64,
    /// Bytes reserved by uploads in flight.
    pub reserved_bytes: i64,
    /// Objects stored.
    pub objects: i64,
}

#[utoipa::path(put, path = "/buckets/{id}/quota", tag = "buckets", security(("bearer" = [])), params(("id" = Uuid, Path, description = "bucket id")), request_body = BucketQuota, responses((status = 200, body = BucketQuotaView), (status = 400, description = "validation_error or invalid_json", body = ErrorBody), (status = 401, description = "unauthenticated", body = ErrorBody), (status = 404, description = "not_found", body = ErrorBody)))]
async fn set_quota(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    AppPath(id): AppPath<Uuid>,
    AppJson(q): AppJson<BucketQuota>,
) -> Result<Json<BucketQuotaView>, ApiError> {
    let bucket = owned(&state, user.id, id).await?;
    Ok(Json(apply_quota(&state, bucket, &q).await?))
}

/// Sets a bucket's limits (for its owner here, for any bucket on the admin route).
pub(super) async fn apply_quota(
    state: &AppState,
    bucket: db::buckets::Bucket,
    q: &BucketQuota,
) -> Result<BucketQuotaView, ApiError> {
    if q.max_bytes.is_some_and(|b| b < 0) || q.max_objects.is_some_and(|o| o < 0) {
        return Err(ApiError::Validation("limits must not be negative".into()));
    }
    let u = db::usage::set_bucket_quota(&state.db, bucket.id, q.max_bytes, q.max_objects)
        .await?
        .ok_or(ApiError::NotFound("bucket"))?;
    state.auth_cache.changed(&state.db, Change::Bucket(bucket.name)).await;
    Ok(BucketQuotaView {
        max_bytes: u.max_bytes,
        max_objects: u.max_objects,
        used_bytes: u.used_bytes,
        reserved_bytes: u.reserved_bytes,
        objects: u.object_count,
    })
}
