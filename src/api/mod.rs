//! The JSON API under `/v1/` (axum), on the same port as S3.

pub mod admin;
pub mod auth;
pub mod buckets;
pub mod error;
pub mod extract;
pub mod files;
mod health;
pub mod keys;

use axum::Router;
use axum::http::{HeaderValue, Method, header};
use tower_http::cors::{AllowOrigin, CorsLayer};

use crate::app::AppState;

/// All `/v1` routes; unknown paths answer a JSON 404.
pub fn router(state: AppState) -> Router {
    let v1 = Router::new()
        .merge(auth::router())
        .merge(keys::router())
        .merge(buckets::router())
        .merge(files::router())
        .merge(admin::router());
    Router::new()
        .nest("/v1/health", health::router())
        .nest("/v1", v1)
        .fallback(error::not_found)
        .layer(cors(&state.config.cors_origins))
        .with_state(state)
}

/// CORS for the origins in `ALLOW_CORS_ORIGINS` (none: no CORS headers at all).
fn cors(origins: &[String]) -> CorsLayer {
    let allow = if origins.iter().any(|o| o == "*") {
        AllowOrigin::any()
    } else {
        AllowOrigin::list(origins.iter().filter_map(|o| HeaderValue::from_str(o).ok()))
    };
    CorsLayer::new()
        .allow_origin(allow)
        .allow_methods([Method::GET, Method::POST, Method::PUT, Method::PATCH, Method::DELETE])
        .allow_headers([header::AUTHORIZATION, header::CONTENT_TYPE, header::RANGE])
        .expose_headers([header::CONTENT_DISPOSITION, header::CONTENT_LENGTH, header::ETAG])
}
