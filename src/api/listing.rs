//! A bucket's files as the JSON API lists them: a page at a time in key order, with the
//! keys under a delimiter rolled up into folders (the walk S3's listings use).

use axum::Json;
use axum::extract::State;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::buckets::owned;
use super::error::{ApiError, ErrorBody};
use super::extract::{AppPath, AppQuery, AuthUser, plain_text};
use super::files::FileView;
use crate::app::AppState;
use crate::objects::listing;

/// `?prefix=&delimiter=&cursor=&limit=`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// Only keys starting with this.
    pub prefix: Option<String>,
    /// Rolls the keys that have it after the prefix up into folders (`/` for a file
    /// browser's view), as S3's delimiter does.
    pub delimiter: Option<String>,
    /// From a previous page's `next_cursor`.
    pub cursor: Option<String>,
    /// Page size (files and folders together), 1 to 1000 (100).
    pub limit: Option<i64>,
}

/// A page of a bucket's files, with the folders among them when a delimiter is given.
#[derive(Debug, Serialize, ToSchema)]
pub struct FileList {
    /// Files, in key order.
    pub items: Vec<FileView>,
    /// Folders (common prefixes, each ending with the delimiter), in key order.
    pub folders: Vec<String>,
    /// Give this as `cursor` for the next page; null on the last.
    pub next_cursor: Option<String>,
}

#[utoipa::path(get, path = "/buckets/{bucket_id}/files", tag = "files", security(("bearer" = [])), params(("bucket_id" = Uuid, Path, description = "bucket id"), ListQuery), responses((status = 200, body = FileList), (status = 400, description = "validation_error or invalid_json", body = ErrorBody), (status = 401, description = "unauthenticated", body = ErrorBody), (status = 404, description = "not_found", body = ErrorBody)))]
pub(super) async fn list(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    AppPath(bucket_id): AppPath<Uuid>,
    AppQuery(q): AppQuery<ListQuery>,
) -> Result<Json<FileList>, ApiError> {
    let bucket = owned(&state, user.id, bucket_id).await?;
    let limit = q.limit.unwrap_or(100);
    if !(1..=1000).contains(&limit) {
        return Err(ApiError::Validation("limit must be between 1 and 1000".into()));
    }
    let after = match q.cursor.as_deref() {
        None => None,
        Some(c) => Some(
            URL_SAFE_NO_PAD
                .decode(c)
                .ok()
                .and_then(|b| String::from_utf8(b).ok())
                // Cursors we hand out name a key, which holds no control character.
                .filter(|k| !crate::text::has_control(k))
                .ok_or_else(|| ApiError::Validation("cursor is not valid".into()))?,
        ),
    };
    let prefix = q.prefix.unwrap_or_default();
    plain_text("prefix", &prefix)?;
    let delimiter = q.delimiter.filter(|d| !d.is_empty());
    if let Some(d) = &delimiter {
        plain_text("delimiter", d)?;
    }
    let query = listing::Query {
        prefix: &prefix,
        delimiter: delimiter.as_deref(),
        after: after.as_deref(),
        from: None,
        max_keys: i32::try_from(limit).map_err(ApiError::internal)?,
    };
    let page = listing::page::<listing::Files>(&state.db, bucket.id, &query).await?;
    let next_cursor = if page.truncated {
        page.last.as_deref().map(|k| URL_SAFE_NO_PAD.encode(k))
    } else {
        None
    };
    Ok(Json(FileList {
        items: page.objects.into_iter().map(Into::into).collect(),
        folders: page.prefixes,
        next_cursor,
    }))
}
