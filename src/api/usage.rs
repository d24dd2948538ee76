//! `GET /v1/usage` (the caller's storage and requests) and `GET /v1/admin/usage` (everyone's).

use axum::Json;
use axum::extract::State;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::error::{ApiError, ErrorBody};
use super::extract::{AdminUser, AppQuery, AuthUser};
use super::keys::Page;
use crate::app::AppState;
use crate::db::{self, usage::UsageSort};

pub(super) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(mine))
        .routes(routes!(all))
        .routes(routes!(report))
        .routes(routes!(history))
}

/// `?sort=used_bytes|objects|requests|email&limit=&cursor=`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AllQuery {
    /// `used_bytes` (default), `objects`, `requests` or `email`.
    pub sort: Option<String>,
    /// Page size, 1 to 1000 (100).
    pub limit: Option<i64>,
    /// From a previous page's `next_cursor`.
    pub cursor: Option<String>,
}

/// One user's usage, for admins.
#[derive(Debug, Serialize, ToSchema)]
pub struct UserUsageView {
    /// The user.
    pub user_id: uuid::Uuid,
    /// Their email.
    pub email: String,
    /// Bytes stored.
    pub used_bytes: i64,
    /// Bytes reserved by uploads in flight.
    pub reserved_bytes: i64,
    /// Quota, or null.
    pub quota_bytes: Option<i64>,
    /// Objects stored.
    pub objects: i64,
    /// Requests counted.
    pub requests: i64,
}

#[utoipa::path(get, path = "/admin/usage", tag = "admin", security(("bearer" = [])), params(AllQuery), responses((status = 200, body = Page<UserUsageView>), (status = 400, description = "validation_error", body = ErrorBody), (status = 401, description = "unauthenticated", body = ErrorBody), (status = 403, description = "forbidden", body = ErrorBody)))]
async fn all(
    State(state): State<AppState>,
    _admin: AdminUser,
    AppQuery(q): AppQuery<AllQuery>,
) -> Result<Json<Page<UserUsageView>>, ApiError> {
    let sort = match q.sort.as_deref().unwrap_or("used_bytes") {
        "used_bytes" => UsageSort::UsedBytes,
        "objects" => UsageSort::Objects,
        "requests" => UsageSort::Requests,
        "email" => UsageSort::Email,
        _ => {
            return Err(ApiError::Validation(
                "sort must be used_bytes, objects, requests or email".into(),
            ));
        }
    };
    let limit = q.limit.unwrap_or(100);
    if !(1..=1000).contains(&limit) {
        return Err(ApiError::Validation("limit must be between 1 and 1000".into()));
    }
    let offset: i64 = match q.cursor.as_deref() {
        None => 0,
        Some(c) => c
            .parse()
            .ok()
            .filter(|o| *o >= 0)
            .ok_or_else(|| ApiError::Validation("cursor is not valid".into()))?,
    };
    if let Err(e) = state.requests.flush(&state.db).await {
        tracing::warn!(error = %e, "could not flush request counts");
    }
    let mut lines = db::usage::all_users(&state.db, sort, offset, limit + 1).await?;
    let more = lines.len() as i64 > limit;
    lines.truncate(limit as usize);
    Ok(Json(Page {
        next_cursor: more.then(|| (offset + limit).to_string()),
        items: lines
            .into_iter()
            .map(|l| UserUsageView {
                user_id: l.user_id,
                email: l.email,
                used_bytes: l.used_bytes,
                reserved_bytes: l.reserved_bytes,
                quota_bytes: l.quota_bytes,
                objects: l.object_count,
                requests: l.requests,
            })
            .collect(),
    }))
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

/// `?from=YYYY-MM-DD&to=YYYY-MM-DD&user_id=`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ReportQuery {
    /// First day (UTC), inclusive.
    pub from: String,
    /// Last day (UTC), inclusive; at most 366 days after `from`.
    pub to: String,
    /// Only this user (default: every user).
    pub user_id: Option<uuid::Uuid>,
}

/// One day of usage.
#[derive(Debug, Serialize, ToSchema)]
pub struct DayView {
    /// The day (UTC), `YYYY-MM-DD`.
    pub day: String,
    /// Bytes stored at the end of the day (so far, for a day not finished).
    pub used_bytes: i64,
    /// The sum of each user's highest stored bytes that day.
    pub peak_bytes: i64,
    /// Objects stored at the end of the day.
    pub objects: i64,
    /// Requests made that day.
    pub requests: i64,
    /// Users counted.
    pub users: i64,
    /// True once the day is rolled up and will not change; false for today (live numbers).
    #[serde(rename = "final")]
    pub is_final: bool,
}

/// A daily series.
#[derive(Debug, Serialize, ToSchema)]
pub struct ReportView {
    /// First day.
    pub from: String,
    /// Last day.
    pub to: String,
    /// One entry per day up to today, oldest first.
    pub days: Vec<DayView>,
}

const DAY: &[time::format_description::BorrowedFormatItem<'static>] =
    time::macros::format_description!("[year]-[month]-[day]");

fn parse_day(name: &str, text: &str) -> Result<time::Date, ApiError> {
    time::Date::parse(text, DAY).map_err(|_| ApiError::Validation(format!("{name} must be a date like 2026-01-31")))
}

fn format_day(day: time::Date) -> String {
    day.format(DAY).expect("a date formats")
}

#[utoipa::path(get, path = "/admin/usage/report", tag = "admin", security(("bearer" = [])), params(ReportQuery), responses((status = 200, body = ReportView), (status = 400, description = "validation_error", body = ErrorBody), (status = 401, description = "unauthenticated", body = ErrorBody), (status = 403, description = "forbidden", body = ErrorBody)))]
async fn report(
    State(state): State<AppState>,
    _admin: AdminUser,
    AppQuery(q): AppQuery<ReportQuery>,
) -> Result<Json<ReportView>, ApiError> {
    let (from, to) = (parse_day("from", &q.from)?, parse_day("to", &q.to)?);
    Ok(Json(series(&state, from, to, q.user_id).await?))
}

/// `?from=YYYY-MM-DD&to=YYYY-MM-DD`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct HistoryQuery {
    /// First day (UTC), inclusive (default: 29 days before `to`).
    pub from: Option<String>,
    /// Last day (UTC), inclusive (default: today); at most 366 days after `from`.
    pub to: Option<String>,
}

/// The caller's own daily usage (the admin report's series, for one user).
#[utoipa::path(get, path = "/usage/history", tag = "usage", security(("bearer" = [])), params(HistoryQuery), responses((status = 200, body = ReportView), (status = 400, description = "validation_error", body = ErrorBody), (status = 401, description = "unauthenticated", body = ErrorBody), (status = 403, description = "account_disabled", body = ErrorBody)))]
async fn history(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    AppQuery(q): AppQuery<HistoryQuery>,
) -> Result<Json<ReportView>, ApiError> {
    let to = match q.to.as_deref() {
        Some(t) => parse_day("to", t)?,
        None => time::OffsetDateTime::now_utc().date(),
    };
    let from = match q.from.as_deref() {
        Some(f) => parse_day("from", f)?,
        None => to.saturating_sub(time::Duration::days(29)),
    };
    Ok(Json(series(&state, from, to, Some(user.id)).await?))
}

/// One entry a day from `from` to `to` (or today, if sooner): rolled-up days as stored,
/// the others counted live; every user's, or one's.
async fn series(
    state: &AppState,
    from: time::Date,
    to: time::Date,
    user: Option<uuid::Uuid>,
) -> Result<ReportView, ApiError> {
    if to < from || (to - from).whole_days() > 366 {
        return Err(ApiError::Validation(
            "to must be on or after from, at most 366 days later".into(),
        ));
    }
    if let Err(e) = state.requests.flush(&state.db).await {
        tracing::warn!(error = %e, "could not flush request counts");
    }
    let days = db::history::series(&state.db, from, to, user)
        .await?
        .into_iter()
        .map(|(totals, is_final)| DayView {
            day: format_day(totals.day),
            used_bytes: totals.used_bytes,
            peak_bytes: totals.peak_bytes,
            objects: totals.object_count,
            requests: totals.requests,
            users: totals.users,
            is_final,
        })
        .collect();
    Ok(ReportView {
        from: format_day(from),
        to: format_day(to),
        days,
    })
}
