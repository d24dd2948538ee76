//! Uploads in parts through the JSON API, for files too large for one request (the
//! console's large uploads, which resume after a failure): begin, put parts (each a plain
//! request body of at most `GODRIVE_MAX_UPLOAD_BYTES`), list the parts stored so far,
//! complete, abort. The same core as S3's multipart uploads (`objects::multipart`): parts
//! reserve quota before their bytes are read, and an aborted upload leaves nothing.

use axum::Json;
use axum::body::Body;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, StatusCode, header};
use bytes::Bytes;
use futures::StreamExt as _;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::{OpenApiRouter, UtoipaMethodRouterExt};
use utoipa_axum::routes;
use uuid::Uuid;

use super::buckets::owned;
use super::error::{ApiError, ErrorBody};
use super::extract::{AppJson, AppPath, AuthUser, plain_text};
use super::files::FileView;
use crate::app::AppState;
use crate::db::objects::{self, Headers};
use crate::objects::BodyError;
use crate::objects::integrity::Expected;
use crate::objects::multipart::{self as core, Claim, Listed, MAX_PARTS, MIN_PART_SIZE};

pub(super) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(begin))
        .routes(routes!(abort))
        .routes(routes!(put_part).layer(DefaultBodyLimit::disable()))
        .routes(routes!(parts))
        .routes(routes!(complete))
}

/// `{"key", "content_type"?}`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewUpload {
    /// The key the file will have.
    pub key: String,
    /// Its Content-Type.
    pub content_type: Option<String>,
}

/// An upload in progress.
#[derive(Debug, Serialize, ToSchema)]
pub struct UploadView {
    /// Its id, for the routes below.
    pub id: Uuid,
    /// The key the file will have.
    pub key: String,
    /// Every part but the last must be at least this large.
    pub min_part_size: i64,
    /// No part may be larger than this (`GODRIVE_MAX_UPLOAD_BYTES`).
    pub max_part_size: u64,
    /// Parts are numbered 1 to this.
    pub max_parts: i32,
}

/// A part stored.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct PartView {
    /// Its number.
    pub number: i32,
    /// Bytes.
    pub size: i64,
    /// Hex MD5 of its bytes (the ETag to list when completing).
    pub etag: String,
}

/// The parts stored so far.
#[derive(Debug, Serialize, ToSchema)]
pub struct PartList {
    /// In number order.
    pub items: Vec<PartView>,
}

/// A listed part: `{"number", "etag"}`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CompletedPart {
    /// Its number.
    pub number: i32,
    /// The ETag its upload answered.
    pub etag: String,
}

/// `{"parts": [{"number", "etag"}, ...]}`, ascending.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Completion {
    /// The parts that make the file, in order.
    pub parts: Vec<CompletedPart>,
}

#[utoipa::path(post, path = "/buckets/{bucket_id}/uploads", tag = "files", security(("bearer" = [])), params(("bucket_id" = Uuid, Path, description = "bucket id")), request_body = NewUpload, responses((status = 201, body = UploadView), (status = 400, description = "validation_error or invalid_json", body = ErrorBody), (status = 401, description = "unauthenticated", body = ErrorBody), (status = 404, description = "not_found", body = ErrorBody)))]
async fn begin(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    AppPath(bucket_id): AppPath<Uuid>,
    AppJson(u): AppJson<NewUpload>,
) -> Result<(StatusCode, Json<UploadView>), ApiError> {
    let bucket = owned(&state, user.id, bucket_id).await?;
    crate::objects::keys::check(&u.key)?;
    if let Some(t) = &u.content_type
        && !crate::text::is_header_value(t)
    {
        return Err(ApiError::Validation(
            "content_type must not contain control characters".into(),
        ));
    }
    let upload = core::begin(
        &state.db,
        core::NewUpload {
            bucket_id: bucket.id,
            key: u.key,
            headers: Headers {
                content_type: u.content_type,
                ..Headers::default()
            },
            algorithm: None,
            checksum_type: None,
        },
    )
    .await?;
    Ok((
        StatusCode::CREATED,
        Json(UploadView {
            id: upload.id,
            key: upload.key,
            min_part_size: MIN_PART_SIZE,
            max_part_size: state.config.max_upload_bytes,
            max_parts: MAX_PARTS,
        }),
    ))
}

#[utoipa::path(put, path = "/buckets/{bucket_id}/uploads/{upload_id}/parts/{number}", tag = "files", security(("bearer" = [])), params(("bucket_id" = Uuid, Path, description = "bucket id"), ("upload_id" = Uuid, Path, description = "upload id"), ("number" = i32, Path, description = "part number, 1 to 10000")), request_body(content = Vec<u8>, content_type = "application/octet-stream"), responses((status = 200, body = PartView), (status = 400, description = "validation_error", body = ErrorBody), (status = 401, description = "unauthenticated", body = ErrorBody), (status = 403, description = "quota_exceeded", body = ErrorBody), (status = 404, description = "not_found", body = ErrorBody), (status = 413, description = "payload_too_large", body = ErrorBody)))]
async fn put_part(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    AppPath((bucket_id, upload_id, number)): AppPath<(Uuid, Uuid, i32)>,
    headers: HeaderMap,
    body: Body,
) -> Result<Json<PartView>, ApiError> {
    let bucket = owned(&state, user.id, bucket_id).await?;
    if !(1..=MAX_PARTS).contains(&number) {
        return Err(ApiError::Validation(format!(
            "number must be between 1 and {MAX_PARTS}"
        )));
    }
    let limit = state.config.max_upload_bytes;
    let len = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok())
        .ok_or_else(|| ApiError::Validation("give the part's Content-Length".into()))?;
    if len > limit {
        return Err(ApiError::PayloadTooLarge(limit));
    }
    let upload = core::live_in_bucket(&state.db, upload_id, bucket.id).await?;
    let digests = core::store_part(
        &state,
        &upload,
        number,
        Some(sync_body(body)),
        Some(len),
        Expected::none(),
        None,
    )
    .await?;
    Ok(Json(PartView {
        number,
        size: i64::try_from(digests.len).map_err(ApiError::internal)?,
        etag: hex::encode(digests.md5),
    }))
}

/// The request body as the core's streams are (`Sync`): pumped through a small channel.
fn sync_body(body: Body) -> tokio_stream::wrappers::ReceiverStream<Result<Bytes, BodyError>> {
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<Bytes, BodyError>>(4);
    tokio::spawn(async move {
        let mut stream = body.into_data_stream();
        while let Some(chunk) = stream.next().await {
            let failed = chunk.is_err();
            if tx
                .send(chunk.map_err(|e| BodyError::from(e.to_string())))
                .await
                .is_err()
                || failed
            {
                return; // the write stopped, or the body failed
            }
        }
    });
    tokio_stream::wrappers::ReceiverStream::new(rx)
}

#[utoipa::path(get, path = "/buckets/{bucket_id}/uploads/{upload_id}/parts", tag = "files", security(("bearer" = [])), params(("bucket_id" = Uuid, Path, description = "bucket id"), ("upload_id" = Uuid, Path, description = "upload id")), responses((status = 200, body = PartList), (status = 401, description = "unauthenticated", body = ErrorBody), (status = 404, description = "not_found", body = ErrorBody)))]
async fn parts(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    AppPath((bucket_id, upload_id)): AppPath<(Uuid, Uuid)>,
) -> Result<Json<PartList>, ApiError> {
    let bucket = owned(&state, user.id, bucket_id).await?;
    let upload = core::live_in_bucket(&state.db, upload_id, bucket.id).await?;
    let mut items: Vec<PartView> = core::stored_parts(&state.db, &upload)
        .await?
        .into_values()
        .map(|p| PartView {
            number: p.part_number,
            size: p.size,
            etag: p.etag,
        })
        .collect();
    items.sort_by_key(|p| p.number);
    Ok(Json(PartList { items }))
}

#[utoipa::path(post, path = "/buckets/{bucket_id}/uploads/{upload_id}/complete", tag = "files", security(("bearer" = [])), params(("bucket_id" = Uuid, Path, description = "bucket id"), ("upload_id" = Uuid, Path, description = "upload id")), request_body = Completion, responses((status = 201, body = FileView), (status = 400, description = "validation_error (a part missing, out of order or too small) or invalid_json", body = ErrorBody), (status = 401, description = "unauthenticated", body = ErrorBody), (status = 403, description = "quota_exceeded", body = ErrorBody), (status = 404, description = "not_found", body = ErrorBody)))]
async fn complete(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    AppPath((bucket_id, upload_id)): AppPath<(Uuid, Uuid)>,
    AppJson(c): AppJson<Completion>,
) -> Result<(StatusCode, Json<FileView>), ApiError> {
    let bucket = owned(&state, user.id, bucket_id).await?;
    let requested: Vec<Listed> = c
        .parts
        .into_iter()
        .map(|p| Listed {
            number: Some(p.number),
            etag: Some(p.etag),
            checksums: Vec::new(),
        })
        .collect();
    core::rules::check_list(&requested)?;
    for p in &requested {
        plain_text("etag", p.etag.as_deref().unwrap_or_default())?;
    }
    let upload = core::live_in_bucket(&state.db, upload_id, bucket.id).await?;
    let key = upload.key.clone();
    match core::claim(&state, upload_id, bucket.id, &key).await? {
        Claim::Claimed(upload) => {
            core::finish(&state, *upload, requested, Expected::none(), None).await?;
        }
        // Completed by a request that raced this one: the file is there all the same.
        Claim::Done(_) => {}
    }
    let file = objects::get(&state.db, bucket.id, &key)
        .await?
        .ok_or(ApiError::NotFound("file"))?;
    Ok((StatusCode::CREATED, Json(file.into())))
}

#[utoipa::path(delete, path = "/buckets/{bucket_id}/uploads/{upload_id}", tag = "files", security(("bearer" = [])), params(("bucket_id" = Uuid, Path, description = "bucket id"), ("upload_id" = Uuid, Path, description = "upload id")), responses((status = 204, description = "aborted: its parts are gone and their room given back"), (status = 401, description = "unauthenticated", body = ErrorBody), (status = 404, description = "not_found", body = ErrorBody)))]
async fn abort(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    AppPath((bucket_id, upload_id)): AppPath<(Uuid, Uuid)>,
) -> Result<StatusCode, ApiError> {
    let bucket = owned(&state, user.id, bucket_id).await?;
    let upload = core::live_in_bucket(&state.db, upload_id, bucket.id).await?;
    core::abort(&state, upload_id, bucket.id, &upload.key).await?;
    Ok(StatusCode::NO_CONTENT)
}
