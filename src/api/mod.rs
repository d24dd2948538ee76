//! The JSON API under `/v1/` (axum), on the same port as S3.

pub mod error;
mod health;

use axum::Router;

use crate::app::AppState;

/// All `/v1` routes; unknown paths answer a JSON 404.
pub fn router(state: AppState) -> Router {
    Router::new()
        .nest("/v1/health", health::router())
        .fallback(error::not_found)
        .with_state(state)
}
