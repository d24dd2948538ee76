//! A bucket's lifecycle rules through the JSON API: the same rules S3 clients set with
//! PutBucketLifecycleConfiguration (`objects::lifecycle`), shown and replaced whole.

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::State;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use super::buckets::owned;
use super::error::{ApiError, ErrorBody};
use super::extract::{AppJson, AppPath, AuthUser};
use crate::app::AppState;
use crate::db;
use crate::objects::lifecycle::{self, Rule};

pub(super) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(get_rules, set_rules))
}

/// One rule. Days count lifecycle days (`GODRIVE_LIFECYCLE_DAY_SECS`).
#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
pub struct RuleView {
    /// Unique within the bucket; made up when absent.
    #[serde(default)]
    pub id: Option<String>,
    /// Disabled rules are kept, not applied. Default true.
    #[serde(default = "yes")]
    pub enabled: bool,
    /// Keys under this prefix (default: all).
    #[serde(default)]
    pub prefix: String,
    /// Objects carrying every one of these tags.
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
    /// Objects larger than this many bytes.
    #[serde(default)]
    pub size_greater_than: Option<i64>,
    /// Objects smaller than this many bytes.
    #[serde(default)]
    pub size_less_than: Option<i64>,
    /// Expire objects this many days after they were written.
    #[serde(default)]
    pub expiration_days: Option<i32>,
    /// Expire objects from this date (midnight UTC).
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub expiration_date: Option<OffsetDateTime>,
    /// Abort multipart uploads this many days after they began.
    #[serde(default)]
    pub abort_incomplete_after_days: Option<i32>,
    /// Expire noncurrent versions this many days after they became noncurrent.
    #[serde(default)]
    pub noncurrent_days: Option<i32>,
    /// With `noncurrent_days`: keep this many newer noncurrent versions (1 to 100).
    #[serde(default)]
    pub newer_noncurrent_versions: Option<i32>,
    /// Remove delete markers with no version left behind them.
    #[serde(default)]
    pub expired_object_delete_marker: bool,
}

fn yes() -> bool {
    true
}

impl From<RuleView> for Rule {
    fn from(v: RuleView) -> Self {
        Rule {
            id: v
                .id
                .filter(|i| !i.is_empty())
                .unwrap_or_else(|| Uuid::new_v4().simple().to_string()),
            enabled: v.enabled,
            prefix: v.prefix,
            tags: v.tags,
            size_greater_than: v.size_greater_than,
            size_less_than: v.size_less_than,
            expiration_days: v.expiration_days,
            expiration_date: v.expiration_date,
            expired_object_delete_marker: v.expired_object_delete_marker,
            noncurrent_days: v.noncurrent_days,
            newer_noncurrent_versions: v.newer_noncurrent_versions,
            abort_incomplete_after_days: v.abort_incomplete_after_days,
        }
    }
}

impl From<Rule> for RuleView {
    fn from(r: Rule) -> Self {
        RuleView {
            id: Some(r.id),
            enabled: r.enabled,
            prefix: r.prefix,
            tags: r.tags,
            size_greater_than: r.size_greater_than,
            size_less_than: r.size_less_than,
            expiration_days: r.expiration_days,
            expiration_date: r.expiration_date,
            abort_incomplete_after_days: r.abort_incomplete_after_days,
            noncurrent_days: r.noncurrent_days,
            newer_noncurrent_versions: r.newer_noncurrent_versions,
            expired_object_delete_marker: r.expired_object_delete_marker,
        }
    }
}

/// `{"rules": [...]}`: all of a bucket's rules (an empty list: none).
#[derive(Debug, Deserialize, Serialize, ToSchema)]
pub struct Rules {
    /// The rules, in order.
    pub rules: Vec<RuleView>,
}

#[utoipa::path(get, path = "/buckets/{id}/lifecycle", tag = "buckets", security(("bearer" = [])), params(("id" = Uuid, Path, description = "bucket id")), responses((status = 200, body = Rules), (status = 401, description = "unauthenticated", body = ErrorBody), (status = 404, description = "not_found", body = ErrorBody)))]
async fn get_rules(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    AppPath(id): AppPath<Uuid>,
) -> Result<Json<Rules>, ApiError> {
    owned(&state, user.id, id).await?;
    let rules = db::lifecycle::get::<Rule>(&state.db, id).await?.unwrap_or_default();
    Ok(Json(Rules {
        rules: rules.into_iter().map(Into::into).collect(),
    }))
}

/// Replaces the bucket's rules (an empty list removes them), checked as S3 checks them.
#[utoipa::path(put, path = "/buckets/{id}/lifecycle", tag = "buckets", security(("bearer" = [])), params(("id" = Uuid, Path, description = "bucket id")), request_body = Rules, responses((status = 200, body = Rules), (status = 400, description = "validation_error or invalid_json", body = ErrorBody), (status = 401, description = "unauthenticated", body = ErrorBody), (status = 404, description = "not_found", body = ErrorBody)))]
async fn set_rules(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    AppPath(id): AppPath<Uuid>,
    AppJson(body): AppJson<Rules>,
) -> Result<Json<Rules>, ApiError> {
    owned(&state, user.id, id).await?;
    let rules: Vec<Rule> = body.rules.into_iter().map(Into::into).collect();
    if rules.is_empty() {
        db::lifecycle::set::<Rule>(&state.db, id, None).await?;
    } else {
        lifecycle::validate(&rules).map_err(|e| ApiError::Validation(e.to_string()))?;
        db::lifecycle::set(&state.db, id, Some(&rules)).await?;
    }
    Ok(Json(Rules {
        rules: rules.into_iter().map(Into::into).collect(),
    }))
}
