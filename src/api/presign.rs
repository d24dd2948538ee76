//! Presigned links: `POST /v1/presign` makes one (signed with one of the caller's access
//! keys, its id carried in the URL), `GET /v1/presign` lists mine, `DELETE /v1/presign/{id}`
//! revokes mine, `GET /v1/presign/{id}/accesses` reads its audit; admins revoke anyone's
//! (`DELETE /v1/admin/presign/{id}`) and read the whole audit (`GET /v1/admin/audit`).

use std::time::Duration;

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use super::error::{ApiError, ErrorBody};
use super::extract::{AdminUser, AppJson, AppPath, AppQuery, AuthUser, ClientAddr, plain_text};
use super::keys::Page;
use crate::accounts::cache::Change;
use crate::app::AppState;
use crate::db::{self, links::Link};
use crate::presign::{LINK_PARAM, UrlRequest, sign_url};

pub(super) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create, list))
        .routes(routes!(revoke))
        .routes(routes!(accesses))
        .routes(routes!(admin_revoke))
        .routes(routes!(admin_audit))
}

/// `{"bucket", "key", "method", "expires_in", "content_type"?, "content_disposition"?}`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewLink {
    /// Bucket name (one of mine).
    pub bucket: String,
    /// Object key.
    pub key: String,
    /// GET, HEAD or PUT.
    pub method: String,
    /// Lifetime in seconds, 1 to `GODRIVE_PRESIGN_MAX_EXPIRY` (7 days at most).
    pub expires_in: u64,
    /// GET: the Content-Type to answer with (`response-content-type`).
    pub content_type: Option<String>,
    /// GET: the Content-Disposition to answer with, e.g. `attachment; filename="a.pdf"`.
    pub content_disposition: Option<String>,
    /// The access key to sign with (default: my newest).
    pub access_key_id: Option<String>,
}

/// A link just made.
#[derive(Debug, Serialize, ToSchema)]
pub struct CreatedLink {
    /// Id, for revocation and the audit.
    pub id: Uuid,
    /// The presigned URL.
    pub url: String,
    /// GET, HEAD or PUT.
    pub method: String,
    /// When the URL stops working.
    #[serde(with = "time::serde::rfc3339")]
    pub expires_at: OffsetDateTime,
}

/// A link as listed (not its URL, which holds a signature).
#[derive(Debug, Serialize, ToSchema)]
pub struct LinkView {
    /// Id.
    pub id: Uuid,
    /// Bucket name.
    pub bucket: String,
    /// Object key.
    pub key: String,
    /// GET, HEAD or PUT.
    pub method: String,
    /// The access key that signed it.
    pub access_key_id: String,
    /// Creation time.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// Expiry.
    #[serde(with = "time::serde::rfc3339")]
    pub expires_at: OffsetDateTime,
    /// Revocation time, or null.
    #[serde(with = "time::serde::rfc3339::option")]
    pub revoked_at: Option<OffsetDateTime>,
}

impl From<Link> for LinkView {
    fn from(l: Link) -> Self {
        Self {
            id: l.id,
            bucket: l.bucket,
            key: l.key,
            method: l.method,
            access_key_id: l.access_key_id,
            created_at: l.created_at,
            expires_at: l.expires_at,
            revoked_at: l.revoked_at,
        }
    }
}

/// One audit row: a link made, or a presigned URL used.
#[derive(Debug, Serialize, ToSchema)]
pub struct AccessView {
    /// Row id (increasing; the cursor).
    pub id: i64,
    /// When.
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    /// `created` or `used`.
    pub event: String,
    /// The link, for URLs made by GoDrive.
    pub link_id: Option<Uuid>,
    /// The access key that signed the URL.
    pub access_key_id: Option<String>,
    /// The key's owner.
    pub user_id: Option<Uuid>,
    /// Bucket name.
    pub bucket: Option<String>,
    /// Object key.
    pub key: Option<String>,
    /// HTTP method.
    pub method: String,
    /// HTTP status answered.
    pub status: i32,
    /// Body bytes sent (GET) or received (PUT), as announced.
    pub bytes: i64,
    /// Client IP address.
    pub client_addr: Option<String>,
    /// Client User-Agent.
    pub user_agent: Option<String>,
}

impl From<db::links::AuditRow> for AccessView {
    fn from(r: db::links::AuditRow) -> Self {
        Self {
            id: r.id,
            at: r.at,
            event: r.event,
            link_id: r.link_id,
            access_key_id: r.access_key_id,
            user_id: r.user_id,
            bucket: r.bucket,
            key: r.key,
            method: r.method,
            status: r.status,
            bytes: r.bytes,
            client_addr: r.client_addr,
            user_agent: r.user_agent,
        }
    }
}

/// `?limit=&cursor=`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    /// Page size, 1 to 1000 (100).
    pub limit: Option<i64>,
    /// From a previous page's `next_cursor`.
    pub cursor: Option<String>,
}

/// `?user_id=&link_id=&limit=&cursor=`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditQuery {
    /// Only this user's keys.
    pub user_id: Option<Uuid>,
    /// Only this link.
    pub link_id: Option<Uuid>,
    /// Page size, 1 to 1000 (100).
    pub limit: Option<i64>,
    /// From a previous page's `next_cursor`.
    pub cursor: Option<String>,
}

fn page_args(limit: Option<i64>, cursor: Option<&str>) -> Result<(i64, i64), ApiError> {
    let limit = limit.unwrap_or(100);
    if !(1..=1000).contains(&limit) {
        return Err(ApiError::Validation("limit must be between 1 and 1000".into()));
    }
    let after = match cursor {
        None => 0,
        Some(c) => c
            .parse()
            .ok()
            .filter(|v: &i64| *v >= 0)
            .ok_or_else(|| ApiError::Validation("cursor is not valid".into()))?,
    };
    Ok((limit, after))
}

/// Where URLs point: `GODRIVE_PUBLIC_URL`, else the Host this request came to.
fn base_url(state: &AppState, headers: &HeaderMap) -> Result<String, ApiError> {
    if let Some(u) = &state.config.public_url {
        return Ok(u.clone());
    }
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .filter(|h| !h.is_empty() && h.bytes().all(|b| b.is_ascii_graphic()) && !h.contains('/'))
        .ok_or_else(|| ApiError::Validation("the request has no usable Host header".into()))?;
    Ok(format!("http://{host}"))
}

#[utoipa::path(post, path = "/presign", tag = "presign", security(("bearer" = [])), request_body = NewLink, responses((status = 201, body = CreatedLink), (status = 400, description = "validation_error (bad method, expiry over the maximum, no access key) or invalid_json", body = ErrorBody), (status = 401, description = "unauthenticated", body = ErrorBody), (status = 404, description = "not_found (no such bucket of mine)", body = ErrorBody)))]
async fn create(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    ClientAddr(client): ClientAddr,
    headers: HeaderMap,
    AppJson(req): AppJson<NewLink>,
) -> Result<(StatusCode, Json<CreatedLink>), ApiError> {
    let method = req.method.to_ascii_uppercase();
    if !matches!(method.as_str(), "GET" | "HEAD" | "PUT") {
        return Err(ApiError::Validation("method must be GET, HEAD or PUT".into()));
    }
    let max = crate::presign::max_expiry_secs(&state.config);
    if req.expires_in == 0 || req.expires_in > max {
        return Err(ApiError::Validation(format!(
            "expires_in must be between 1 and {max} seconds"
        )));
    }
    crate::objects::keys::check(&req.key)?;
    plain_text("bucket", &req.bucket)?;
    if let Some(k) = &req.access_key_id {
        plain_text("access_key_id", k)?;
    }
    // Sent back as response headers when the link is used: they must be sendable.
    for (field, value) in [
        ("content_type", &req.content_type),
        ("content_disposition", &req.content_disposition),
    ] {
        if value.as_deref().is_some_and(|v| !crate::text::is_header_value(v)) {
            return Err(ApiError::Validation(format!(
                "{field} must not contain control characters"
            )));
        }
    }
    if method != "GET" && (req.content_type.is_some() || req.content_disposition.is_some()) {
        return Err(ApiError::Validation(
            "content_type and content_disposition apply to GET links".into(),
        ));
    }
    let bucket = db::buckets::by_name(&state.db, &req.bucket)
        .await?
        .filter(|b| b.owner_id == user.id)
        .ok_or(ApiError::NotFound("bucket"))?;
    let (access_key_id, sealed) = db::links::signing_key(&state.db, user.id, req.access_key_id.as_deref())
        .await?
        .ok_or_else(|| ApiError::Validation("create an access key first (POST /v1/keys)".into()))?;
    let secret = state
        .secrets
        .open(&sealed, access_key_id.as_bytes())
        .map_err(ApiError::internal)?;
    let secret = String::from_utf8(secret.to_vec()).map_err(ApiError::internal)?;

    let now = OffsetDateTime::now_utc()
        .replace_nanosecond(0)
        .map_err(ApiError::internal)?;
    let link = Link {
        id: Uuid::new_v4(),
        user_id: user.id,
        access_key_id,
        bucket: bucket.name.clone(),
        key: req.key.clone(),
        method: method.clone(),
        expires_at: now + Duration::from_secs(req.expires_in),
        created_at: now,
        revoked_at: None,
    };
    let mut params = vec![(LINK_PARAM, link.id.to_string())];
    if let Some(d) = &req.content_disposition {
        params.push(("response-content-disposition", d.clone()));
    }
    if let Some(t) = &req.content_type {
        params.push(("response-content-type", t.clone()));
    }
    let base = base_url(&state, &headers)?;
    let url = sign_url(
        &UrlRequest {
            base: &base,
            method: &method,
            bucket: &link.bucket,
            key: &link.key,
            params,
            region: &state.config.s3_region,
            expires_in: Duration::from_secs(req.expires_in),
        },
        &link.access_key_id,
        &secret,
        now.into(),
    )
    .map_err(ApiError::internal)?;
    db::links::create(&state.db, &link).await?;
    let agent = headers
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    db::links::insert_audit(
        &state.db,
        &[crate::presign::audit::created(&link, Some(client.to_string()), agent)],
    )
    .await?;
    Ok((
        StatusCode::CREATED,
        Json(CreatedLink {
            id: link.id,
            url,
            method,
            expires_at: link.expires_at,
        }),
    ))
}

#[utoipa::path(get, path = "/presign", tag = "presign", security(("bearer" = [])), params(PageQuery), responses((status = 200, body = Page<LinkView>), (status = 400, description = "validation_error", body = ErrorBody), (status = 401, description = "unauthenticated", body = ErrorBody)))]
async fn list(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    AppQuery(q): AppQuery<PageQuery>,
) -> Result<Json<Page<LinkView>>, ApiError> {
    let (limit, offset) = page_args(q.limit, q.cursor.as_deref())?;
    let mut links = db::links::list(&state.db, user.id, offset, limit + 1).await?;
    let more = links.len() as i64 > limit;
    links.truncate(limit as usize);
    Ok(Json(Page {
        next_cursor: more.then(|| (offset + limit).to_string()),
        items: links.into_iter().map(Into::into).collect(),
    }))
}

#[utoipa::path(delete, path = "/presign/{id}", tag = "presign", security(("bearer" = [])), params(("id" = Uuid, Path, description = "link id")), responses((status = 204, description = "revoked; refused from the next request on, on every instance"), (status = 401, description = "unauthenticated", body = ErrorBody), (status = 404, description = "not_found", body = ErrorBody)))]
async fn revoke(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    AppPath(id): AppPath<Uuid>,
) -> Result<StatusCode, ApiError> {
    if db::links::revoke(&state.db, id, Some(user.id), user.id).await? {
        state.auth_cache.changed(&state.db, Change::Link(id)).await;
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::NotFound("link"))
    }
}

#[utoipa::path(get, path = "/presign/{id}/accesses", tag = "presign", security(("bearer" = [])), params(("id" = Uuid, Path, description = "link id"), PageQuery), responses((status = 200, body = Page<AccessView>), (status = 400, description = "validation_error", body = ErrorBody), (status = 401, description = "unauthenticated", body = ErrorBody), (status = 404, description = "not_found", body = ErrorBody)))]
async fn accesses(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    AppPath(id): AppPath<Uuid>,
    AppQuery(q): AppQuery<PageQuery>,
) -> Result<Json<Page<AccessView>>, ApiError> {
    let (limit, after) = page_args(q.limit, q.cursor.as_deref())?;
    db::links::get(&state.db, id)
        .await?
        .filter(|l| l.user_id == user.id)
        .ok_or(ApiError::NotFound("link"))?;
    audit_page(&state, Some(id), None, after, limit).await
}

async fn audit_page(
    state: &AppState,
    link: Option<Uuid>,
    user: Option<Uuid>,
    after: i64,
    limit: i64,
) -> Result<Json<Page<AccessView>>, ApiError> {
    // This instance's buffered rows first (other instances' arrive within seconds).
    if let Err(e) = state.audit.flush(&state.db).await {
        tracing::warn!(error = %e, "could not write the presigned-URL audit");
    }
    let mut rows = db::links::audit(&state.db, link, user, after, limit + 1).await?;
    let more = rows.len() as i64 > limit;
    rows.truncate(limit as usize);
    Ok(Json(Page {
        next_cursor: if more {
            rows.last().map(|r| r.id.to_string())
        } else {
            None
        },
        items: rows.into_iter().map(Into::into).collect(),
    }))
}

#[utoipa::path(delete, path = "/admin/presign/{id}", tag = "admin", security(("bearer" = [])), params(("id" = Uuid, Path, description = "link id")), responses((status = 204, description = "revoked"), (status = 401, description = "unauthenticated", body = ErrorBody), (status = 403, description = "forbidden", body = ErrorBody), (status = 404, description = "not_found", body = ErrorBody)))]
async fn admin_revoke(
    State(state): State<AppState>,
    AdminUser(admin): AdminUser,
    AppPath(id): AppPath<Uuid>,
) -> Result<StatusCode, ApiError> {
    if db::links::revoke(&state.db, id, None, admin.id).await? {
        state.auth_cache.changed(&state.db, Change::Link(id)).await;
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::NotFound("link"))
    }
}

#[utoipa::path(get, path = "/admin/audit", tag = "admin", security(("bearer" = [])), params(AuditQuery), responses((status = 200, body = Page<AccessView>), (status = 400, description = "validation_error", body = ErrorBody), (status = 401, description = "unauthenticated", body = ErrorBody), (status = 403, description = "forbidden", body = ErrorBody)))]
async fn admin_audit(
    State(state): State<AppState>,
    _admin: AdminUser,
    AppQuery(q): AppQuery<AuditQuery>,
) -> Result<Json<Page<AccessView>>, ApiError> {
    let (limit, after) = page_args(q.limit, q.cursor.as_deref())?;
    audit_page(&state, q.link_id, q.user_id, after, limit).await
}
