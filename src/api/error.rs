//! JSON errors: `{"error": {"code", "message"}}` with a stable snake_case code and the
//! matching status. Internal causes are logged here, once, and never sent.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::db::DbError;

/// The shape of every error body (for the OpenAPI document).
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    /// The error.
    pub error: ErrorDetail,
}

/// `code` is stable; `message` is for people.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct ErrorDetail {
    /// A stable snake_case code, such as `not_found` or `quota_exceeded`.
    pub code: String,
    /// A human-readable explanation.
    pub message: String,
}

/// Every error the JSON API answers with.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// 400 `validation_error`: a field is missing or wrong; the message says which.
    #[error("{0}")]
    Validation(String),
    /// 400 `invalid_json`: the body is not the JSON the route takes.
    #[error("{0}")]
    InvalidJson(String),
    /// 401 `unauthenticated`: no, expired or invalid bearer token.
    #[error("{0}")]
    Unauthenticated(&'static str),
    /// 401 `invalid_credentials`: wrong email or password (the same answer for both).
    #[error("invalid email or password")]
    InvalidCredentials,
    /// 401 `invalid_refresh_token`: unknown, expired, revoked or reused refresh token.
    #[error("invalid refresh token")]
    InvalidRefreshToken,
    /// 403 `forbidden`: authenticated, but not allowed (admin routes).
    #[error("{0}")]
    Forbidden(&'static str),
    /// 403 `public_buckets_disabled`: making a bucket public needs
    /// `GODRIVE_ALLOW_PUBLIC_BUCKETS`.
    #[error("public buckets are disabled on this server (GODRIVE_ALLOW_PUBLIC_BUCKETS)")]
    PublicBucketsDisabled,
    /// 403 `account_disabled`: the user is disabled.
    #[error("this account is disabled")]
    AccountDisabled,
    /// 404 `not_found`: no such route or resource, or it is not yours.
    #[error("{0} not found")]
    NotFound(&'static str),
    /// 409 `email_taken`: another account uses this email.
    #[error("an account with this email already exists")]
    EmailTaken,
    /// 409 `bucket_name_taken`: the bucket name is in use (bucket names are global).
    #[error("bucket name is already taken")]
    BucketNameTaken,
    /// 403 `quota_exceeded`: the upload would exceed a quota; the message names it.
    #[error(transparent)]
    QuotaExceeded(crate::objects::quota::Limit),
    /// 413 `payload_too_large`: the upload exceeds `GODRIVE_MAX_UPLOAD_BYTES`.
    #[error("upload exceeds the limit of {0} bytes")]
    PayloadTooLarge(u64),
    /// 429 `too_many_requests`: too many failed logins; retry later.
    #[error("too many failed login attempts; try again later")]
    TooManyRequests,
    /// 503 `unavailable`: a dependency is down.
    #[error("service temporarily unavailable")]
    Unavailable,
    /// 500 `internal_error`: anything unexpected (logged, never detailed to the client).
    #[error("internal error")]
    Internal,
}

impl ApiError {
    /// The stable code and HTTP status.
    pub fn code(&self) -> (&'static str, StatusCode) {
        use ApiError::*;
        match self {
            Validation(_) => ("validation_error", StatusCode::BAD_REQUEST),
            InvalidJson(_) => ("invalid_json", StatusCode::BAD_REQUEST),
            Unauthenticated(_) => ("unauthenticated", StatusCode::UNAUTHORIZED),
            InvalidCredentials => ("invalid_credentials", StatusCode::UNAUTHORIZED),
            InvalidRefreshToken => ("invalid_refresh_token", StatusCode::UNAUTHORIZED),
            Forbidden(_) => ("forbidden", StatusCode::FORBIDDEN),
            PublicBucketsDisabled => ("public_buckets_disabled", StatusCode::FORBIDDEN),
            AccountDisabled => ("account_disabled", StatusCode::FORBIDDEN),
            NotFound(_) => ("not_found", StatusCode::NOT_FOUND),
            EmailTaken => ("email_taken", StatusCode::CONFLICT),
            BucketNameTaken => ("bucket_name_taken", StatusCode::CONFLICT),
            QuotaExceeded(_) => ("quota_exceeded", StatusCode::FORBIDDEN),
            PayloadTooLarge(_) => ("payload_too_large", StatusCode::PAYLOAD_TOO_LARGE),
            TooManyRequests => ("too_many_requests", StatusCode::TOO_MANY_REQUESTS),
            Unavailable => ("unavailable", StatusCode::SERVICE_UNAVAILABLE),
            Internal => ("internal_error", StatusCode::INTERNAL_SERVER_ERROR),
        }
    }

    /// An unexpected failure: logged here, answered as 500.
    pub fn internal(err: impl std::fmt::Display) -> Self {
        tracing::error!(error = %err, "internal error");
        ApiError::Internal
    }
}

impl From<DbError> for ApiError {
    fn from(e: DbError) -> Self {
        match &e {
            DbError::Sqlx(sqlx::Error::PoolTimedOut | sqlx::Error::Io(_) | sqlx::Error::PoolClosed) => {
                tracing::error!(error = %e, "database unavailable");
                ApiError::Unavailable
            }
            DbError::QuotaExceeded => ApiError::QuotaExceeded(crate::objects::quota::Limit::AtCommit),
            _ => ApiError::internal(e),
        }
    }
}

/// A key the core refuses (`objects::keys`).
impl From<crate::objects::keys::KeyError> for ApiError {
    fn from(_: crate::objects::keys::KeyError) -> Self {
        ApiError::Validation("key must be 1 to 1024 bytes without control characters".into())
    }
}

/// A refused or failed reservation.
impl From<crate::objects::quota::QuotaError> for ApiError {
    fn from(e: crate::objects::quota::QuotaError) -> Self {
        match e {
            crate::objects::quota::QuotaError::Exceeded(limit) => ApiError::QuotaExceeded(limit),
            crate::objects::quota::QuotaError::Db(e) => e.into(),
        }
    }
}

/// The core's upload failures in the API's terms.
impl From<crate::objects::UploadError> for ApiError {
    fn from(e: crate::objects::UploadError) -> Self {
        use crate::objects::UploadError;
        use crate::storage::StorageError;
        match e {
            UploadError::Body(_) | UploadError::Storage(StorageError::LengthMismatch { .. }) => {
                ApiError::Validation("the upload ended before the form was complete".into())
            }
            UploadError::Storage(StorageError::TooLarge { limit }) => ApiError::PayloadTooLarge(limit),
            UploadError::Storage(e @ StorageError::Backend(_)) => {
                tracing::error!(error = %e, "storage backend unavailable");
                ApiError::Unavailable
            }
            UploadError::Quota(limit) => ApiError::QuotaExceeded(limit),
            UploadError::Db(e) => e.into(),
            other => ApiError::internal(other),
        }
    }
}

/// The core's multipart failures in the API's terms.
impl From<crate::objects::multipart::MultipartError> for ApiError {
    fn from(e: crate::objects::multipart::MultipartError) -> Self {
        use crate::objects::multipart::MultipartError as M;
        match e {
            M::NoSuchUpload => ApiError::NotFound("upload"),
            M::MissingLength => ApiError::Validation("give the part's Content-Length".into()),
            e @ (M::NoParts | M::UnnumberedPart | M::PartOrder | M::InvalidPart | M::PartTooSmall) => {
                ApiError::Validation(e.to_string())
            }
            M::Upload(u) => u.into(),
            M::Quota(q) => q.into(),
            M::Db(d) => d.into(),
            M::Storage(st) => crate::objects::UploadError::Storage(st).into(),
            e @ (M::PartChecksumMissing(_) | M::Condition { .. } | M::Internal(_)) => ApiError::internal(e),
        }
    }
}

impl From<sqlx::Error> for ApiError {
    fn from(e: sqlx::Error) -> Self {
        DbError::from(e).into()
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (code, status) = self.code();
        match &self {
            Self::Unauthenticated(_) => crate::obs::metrics::auth("json", "failure", Some("invalid_token")),
            Self::InvalidCredentials => {
                crate::obs::metrics::auth("json", "invalid_credentials", Some("invalid_credentials"));
            }
            Self::Forbidden(_) | Self::AccountDisabled => {
                crate::obs::metrics::METRICS
                    .auth_failures
                    .get_or_create(&crate::obs::metrics::AuthFailureLabels {
                        api: "json",
                        reason: "access_denied",
                    })
                    .inc();
            }
            Self::QuotaExceeded(limit) => crate::obs::metrics::METRICS.quota_refused("json", limit.label()),
            _ => {}
        }
        (
            status,
            Json(json!({"error": {"code": code, "message": self.to_string()}})),
        )
            .into_response()
    }
}

/// Fallback for unknown `/v1` paths.
pub async fn not_found() -> ApiError {
    ApiError::NotFound("route")
}
