//! JSON errors: `{"error": {"code", "message"}}` with a stable snake_case code.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

/// Every error the JSON API answers with.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// 404 `not_found`: no such route or resource (or not yours).
    #[error("not found")]
    NotFound,
    /// 503 `unavailable`: a dependency is down.
    #[error("service unavailable")]
    Unavailable,
}

impl ApiError {
    /// The stable code and HTTP status.
    pub fn code(&self) -> (&'static str, StatusCode) {
        match self {
            ApiError::NotFound => ("not_found", StatusCode::NOT_FOUND),
            ApiError::Unavailable => ("unavailable", StatusCode::SERVICE_UNAVAILABLE),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (code, status) = self.code();
        (
            status,
            Json(json!({"error": {"code": code, "message": self.to_string()}})),
        )
            .into_response()
    }
}

/// Fallback for unknown `/v1` paths.
pub async fn not_found() -> ApiError {
    ApiError::NotFound
}
