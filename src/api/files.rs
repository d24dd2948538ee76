//! Files through the JSON API: the objects of a bucket, by id. Uploads are multipart/form-data
//! streamed into a blob (never held in memory) under `GODRIVE_MAX_UPLOAD_BYTES`.

use axum::Json;
use axum::body::Body;
use axum::extract::multipart::{Field, MultipartError, MultipartRejection};
use axum::extract::{DefaultBodyLimit, Multipart, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use serde::Serialize;
use time::OffsetDateTime;
use utoipa::ToSchema;
use utoipa_axum::router::{OpenApiRouter, UtoipaMethodRouterExt};
use utoipa_axum::routes;
use uuid::Uuid;

use super::buckets::owned;
use super::error::{ApiError, ErrorBody};
use super::extract::{AppPath, AuthUser};
use crate::app::AppState;
use crate::db::objects::{self, Headers, NewObject, Object};
use crate::objects::integrity::Expected;
use crate::objects::quota::Reservation;
use crate::objects::upload::{self, PendingBlob};
use crate::storage::StorageError;

pub(super) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        // Our own limit applies while streaming; axum's 2 MB default must not.
        .routes(routes!(upload, super::listing::list).layer(DefaultBodyLimit::disable()))
        .routes(routes!(metadata, remove))
        .routes(routes!(content))
}

/// The upload form (multipart/form-data).
#[derive(Debug, ToSchema)]
#[allow(dead_code)]
pub struct UploadForm {
    /// The file; its file name is the key unless `key` is given.
    #[schema(value_type = String, format = Binary)]
    file: Vec<u8>,
    /// The object key to store it under.
    key: Option<String>,
}

/// A file as the API shows it.
#[derive(Debug, Serialize, ToSchema)]
pub struct FileView {
    /// Id (for the routes below).
    pub id: Uuid,
    /// The object key (as S3 clients see it).
    pub key: String,
    /// Bytes.
    pub size: i64,
    /// Content-Type given at upload.
    pub content_type: Option<String>,
    /// The S3 ETag, without quotes.
    pub etag: String,
    /// Hex SHA-256 of the content (null for multipart uploads made over S3).
    pub sha256: Option<String>,
    /// First upload time.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

impl From<Object> for FileView {
    fn from(o: Object) -> Self {
        Self {
            id: o.id,
            key: o.key,
            size: o.size,
            content_type: o.headers.content_type,
            etag: o.etag,
            sha256: o.sha256.map(hex::encode),
            created_at: o.created_at,
        }
    }
}

#[utoipa::path(post, path = "/buckets/{bucket_id}/files", tag = "files", security(("bearer" = [])), params(("bucket_id" = Uuid, Path, description = "bucket id")), request_body(content = UploadForm, content_type = "multipart/form-data"), responses((status = 201, body = FileView), (status = 400, description = "validation_error or invalid_json", body = ErrorBody), (status = 401, description = "unauthenticated", body = ErrorBody), (status = 404, description = "not_found", body = ErrorBody), (status = 413, description = "payload_too_large", body = ErrorBody)))]
async fn upload(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    AppPath(bucket_id): AppPath<Uuid>,
    headers: HeaderMap,
    form: Result<Multipart, MultipartRejection>,
) -> Result<(StatusCode, Json<FileView>), ApiError> {
    let bucket = owned(&state, user.id, bucket_id).await?;
    let limit = state.config.max_upload_bytes;
    let declared = declared_length(&headers, limit)?;
    let form = form.map_err(|e| ApiError::Validation(format!("expected multipart/form-data: {e}")))?;
    let received = read_form(&state, bucket.id, form, declared, limit).await?;
    let obj = commit_file(&state, bucket.id, received).await?;
    Ok((StatusCode::CREATED, Json(obj.into())))
}

/// The form's file, streamed into a new blob that no row references yet.
struct StoredFile {
    pending: PendingBlob,
    digests: upload::Digests,
    filename: Option<String>,
    content_type: Option<String>,
}

/// What the form brought: its `key` field, its file, and the room reserved for the file.
#[derive(Default)]
struct Received {
    key: Option<String>,
    file: Option<StoredFile>,
    reservation: Option<Reservation>,
}

/// The request's Content-Length, if it gives one; a body declared far past the limit is
/// refused before a byte is read.
fn declared_length(headers: &HeaderMap, limit: u64) -> Result<Option<u64>, ApiError> {
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit.saturating_add(64 * 1024)) {
        return Err(ApiError::PayloadTooLarge(limit));
    }
    Ok(declared)
}

fn malformed(e: MultipartError) -> ApiError {
    ApiError::Validation(format!("malformed form: {e}"))
}

/// Reads the form's fields in order: a `key` field is kept; the first `file` field is
/// reserved for and streamed into a new blob; any other field is read and ignored.
async fn read_form(
    state: &AppState,
    bucket_id: Uuid,
    mut form: Multipart,
    declared: Option<u64>,
    limit: u64,
) -> Result<Received, ApiError> {
    let mut received = Received::default();
    while let Some(mut field) = form.next_field().await.map_err(malformed)? {
        match field.name() {
            Some("key") => {
                received.key = Some(field.text().await.map_err(malformed)?);
            }
            Some("file") if received.file.is_none() => {
                let filename = field.file_name().map(str::to_owned);
                let content_type = field.content_type().map(str::to_owned);
                // Before the file's first byte: reserve what the request declares (an upper
                // bound on the file), or the limit, for the key if it is known by now (a key
                // field before the file, or the file name); the commit settles the real size.
                let key = received.key.as_deref().or(filename.as_deref());
                let len = declared.unwrap_or(limit).min(limit);
                received.reservation = Some(reserve(state, bucket_id, key, len).await?);
                let (pending, digests) = stream_file(state, field, limit).await?;
                received.file = Some(StoredFile {
                    pending,
                    digests,
                    filename,
                    content_type,
                });
            }
            _ => {
                // Unknown fields are read and ignored.
                while field.chunk().await.map_err(malformed)?.is_some() {}
            }
        }
    }
    Ok(received)
}

/// Reserves `len` bytes in the bucket for an object under `key` (checked first), or for
/// an object whose key is not known yet.
async fn reserve(state: &AppState, bucket_id: Uuid, key: Option<&str>, len: u64) -> Result<Reservation, ApiError> {
    let target = match key {
        Some(k) => {
            crate::objects::keys::check(k)?;
            crate::objects::quota::Target::Key(k)
        }
        None => crate::objects::quota::Target::UnknownKey,
    };
    crate::objects::quota::reserve(&state.db, state.instance_id, bucket_id, target, len)
        .await
        .map_err(ApiError::from)
}

/// Streams the file field through the core's hashing pipeline into a new blob of at most
/// `limit` bytes.
async fn stream_file(
    state: &AppState,
    mut field: Field<'_>,
    limit: u64,
) -> Result<(PendingBlob, upload::Digests), ApiError> {
    let pending = PendingBlob::new(state.storage.clone());
    // The field borrows the form, so it is pumped through a small channel into the storage
    // write, which needs an owned stream.
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<Bytes, crate::objects::BodyError>>(4);
    let body = tokio_stream::wrappers::ReceiverStream::new(rx);
    let storage = state.storage.clone();
    let id = pending.id;
    let write = upload::hash_through(Some(body), u64::MAX, Expected::none(), |stream| async move {
        storage.put_unsized(id, stream, limit).await
    });
    let pump = async move {
        loop {
            match field.chunk().await {
                Ok(Some(chunk)) => {
                    if tx.send(Ok(chunk)).await.is_err() {
                        return; // the write stopped (too large, or failed)
                    }
                }
                Ok(None) => return,
                Err(e) => {
                    let _ = tx.send(Err(e.to_string().into())).await;
                    return;
                }
            }
        }
    };
    // Ending the pump drops the sender, which ends the stream.
    let (written, ()) = tokio::join!(write, pump);
    let (digests, _len) = written?;
    Ok((pending, digests))
}

/// Commits the stored file under the `key` field, else its file name, and reads the object
/// back.
async fn commit_file(state: &AppState, bucket_id: Uuid, received: Received) -> Result<Object, ApiError> {
    let Received { key, file, reservation } = received;
    let Some(file) = file else {
        return Err(ApiError::Validation("the form has no file field".into()));
    };
    let key = match key.or(file.filename) {
        Some(k) => k,
        None => return Err(ApiError::Validation("give a key field or a file name".into())),
    };
    crate::objects::keys::check(&key)?;
    let new = NewObject {
        bucket_id,
        key: key.clone(),
        size: i64::try_from(file.digests.len).map_err(ApiError::internal)?,
        etag: hex::encode(file.digests.md5),
        md5: Some(file.digests.md5.to_vec()),
        sha256: Some(file.digests.sha256.to_vec()),
        headers: Headers {
            content_type: file.content_type,
            ..Headers::default()
        },
        checksums: Default::default(),
        checksum_type: None,
        parts_count: None,
        part_sizes: None,
        part_blobs: None,
        blob_id: file.pending.id.0,
        reservations: Vec::new(),
        condition: None,
        acl: None,
    };
    upload::commit(state, new, file.pending, reservation).await?;
    objects::get(&state.db, bucket_id, &key)
        .await?
        .ok_or_else(|| ApiError::internal("object vanished after commit"))
}

async fn find(state: &AppState, user_id: Uuid, bucket_id: Uuid, file_id: Uuid) -> Result<Object, ApiError> {
    let bucket = owned(state, user_id, bucket_id).await?;
    objects::get_by_id(&state.db, bucket.id, file_id)
        .await?
        .ok_or(ApiError::NotFound("file"))
}

#[utoipa::path(get, path = "/buckets/{bucket_id}/files/{file_id}", tag = "files", security(("bearer" = [])), params(("bucket_id" = Uuid, Path, description = "bucket id"), ("file_id" = Uuid, Path, description = "file id")), responses((status = 200, body = FileView), (status = 401, description = "unauthenticated", body = ErrorBody), (status = 404, description = "not_found", body = ErrorBody)))]
async fn metadata(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    AppPath((bucket_id, file_id)): AppPath<(Uuid, Uuid)>,
) -> Result<Json<FileView>, ApiError> {
    Ok(Json(find(&state, user.id, bucket_id, file_id).await?.into()))
}

/// `attachment` with the key's last segment as the file name, ASCII-safe plus RFC 6266
/// `filename*` for the rest.
fn disposition(key: &str) -> HeaderValue {
    let name = key.rsplit('/').next().unwrap_or(key);
    let ascii: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_graphic() && c != '"' && c != '\\' || c == ' ' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let encoded = percent_encoding::utf8_percent_encode(name, percent_encoding::NON_ALPHANUMERIC);
    HeaderValue::from_str(&format!("attachment; filename=\"{ascii}\"; filename*=UTF-8''{encoded}"))
        .unwrap_or_else(|_| HeaderValue::from_static("attachment"))
}

#[utoipa::path(get, path = "/buckets/{bucket_id}/files/{file_id}/content", tag = "files", security(("bearer" = [])), params(("bucket_id" = Uuid, Path, description = "bucket id"), ("file_id" = Uuid, Path, description = "file id"), ("Range" = Option<String>, Header, description = "bytes=a-b, a- or -n")), responses((status = 200, description = "the bytes", content_type = "application/octet-stream", body = Vec<u8>), (status = 206, description = "the requested range", content_type = "application/octet-stream", body = Vec<u8>), (status = 401, description = "unauthenticated", body = ErrorBody), (status = 404, description = "not_found", body = ErrorBody), (status = 416, description = "range not satisfiable")))]
async fn content(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    AppPath((bucket_id, file_id)): AppPath<(Uuid, Uuid)>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let obj = find(&state, user.id, bucket_id, file_id).await?;
    serve(&state, &obj, &headers).await
}

/// The bytes of `obj` (a file, or a version of one), or the range `headers` ask for.
pub(super) async fn serve(state: &AppState, obj: &Object, headers: &HeaderMap) -> Result<Response, ApiError> {
    let total = obj.size as u64;
    let range = match headers.get(header::RANGE).and_then(|v| v.to_str().ok()) {
        None => None,
        Some(h) => {
            let r = crate::objects::range::ByteRange::parse(h)
                .map_err(|_| ApiError::Validation("Range must be bytes=a-b, a- or -n".into()))?;
            match r.check(total) {
                Ok(r) => Some(r),
                Err(_) => {
                    let mut resp = StatusCode::RANGE_NOT_SATISFIABLE.into_response();
                    if let Ok(v) = HeaderValue::from_str(&format!("bytes */{total}")) {
                        resp.headers_mut().insert(header::CONTENT_RANGE, v);
                    }
                    return Ok(resp);
                }
            }
        }
    };
    let stream = crate::objects::stored::open(&state.storage, obj, range.clone())
        .await
        .map_err(|e| match e {
            StorageError::NotFound => ApiError::NotFound("file"),
            other => ApiError::internal(other),
        })?;
    let mut resp = Response::new(Body::from_stream(stream));
    let h = resp.headers_mut();
    let ctype = obj
        .headers
        .content_type
        .as_deref()
        .unwrap_or("application/octet-stream");
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_str(ctype).unwrap_or(HeaderValue::from_static("application/octet-stream")),
    );
    h.insert(header::CONTENT_DISPOSITION, disposition(&obj.key));
    h.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    if let Ok(v) = HeaderValue::from_str(&format!("\"{}\"", obj.etag)) {
        h.insert(header::ETAG, v);
    }
    match range {
        None => {
            h.insert(header::CONTENT_LENGTH, HeaderValue::from(total));
        }
        Some(r) => {
            h.insert(header::CONTENT_LENGTH, HeaderValue::from(r.end - r.start));
            if let Ok(v) = HeaderValue::from_str(&format!("bytes {}-{}/{total}", r.start, r.end - 1)) {
                h.insert(header::CONTENT_RANGE, v);
            }
            *resp.status_mut() = StatusCode::PARTIAL_CONTENT;
        }
    }
    Ok(resp)
}

#[utoipa::path(delete, path = "/buckets/{bucket_id}/files/{file_id}", tag = "files", security(("bearer" = [])), params(("bucket_id" = Uuid, Path, description = "bucket id"), ("file_id" = Uuid, Path, description = "file id")), responses((status = 204, description = "deleted"), (status = 401, description = "unauthenticated", body = ErrorBody), (status = 404, description = "not_found", body = ErrorBody)))]
async fn remove(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    AppPath((bucket_id, file_id)): AppPath<(Uuid, Uuid)>,
) -> Result<StatusCode, ApiError> {
    let bucket = owned(&state, user.id, bucket_id).await?;
    // As an S3 DeleteObject of its key: on a versioned bucket, a delete marker.
    let file = objects::get_by_id(&state.db, bucket.id, file_id)
        .await?
        .ok_or(ApiError::NotFound("file"))?;
    crate::objects::removal::remove(&state, bucket.id, &[(file.key, None)]).await?;
    Ok(StatusCode::NO_CONTENT)
}
