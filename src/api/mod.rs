//! The JSON API under `/v1/` (axum), on the same port as S3. Routes and the OpenAPI 3.1
//! document served at `/v1/openapi.json` are registered together (utoipa-axum), so the
//! document cannot miss a route.

pub mod admin;
pub mod auth;
pub mod buckets;
pub mod error;
pub mod extract;
pub mod files;
mod health;
pub mod keys;
mod lifecycle;
mod listing;
pub mod presign;
mod uploads;
mod usage;
mod versions;

use axum::http::{HeaderValue, Method, header};
use axum::routing::get;
use axum::{Json, Router};
use tower_http::cors::{AllowOrigin, CorsLayer};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};
use utoipa_axum::router::OpenApiRouter;

use crate::app::AppState;

#[derive(OpenApi)]
#[openapi(
    info(title = "GoDrive JSON API", description = "Accounts, access keys, buckets and files of an S3-compatible facade."),
    modifiers(&BearerAuth)
)]
struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        let components = doc.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .build(),
            ),
        );
    }
}

/// The OpenAPI document and the routes it describes.
pub fn routes() -> (Router<AppState>, utoipa::openapi::OpenApi) {
    let v1 = OpenApiRouter::new()
        .merge(health::router())
        .merge(auth::router())
        .merge(keys::router())
        .merge(buckets::router())
        .merge(lifecycle::router())
        .merge(files::router())
        .merge(uploads::router())
        .merge(versions::router())
        .merge(admin::router())
        .merge(usage::router())
        .merge(presign::router());
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .nest("/v1", v1)
        .split_for_parts()
}

/// The OpenAPI document, as served.
pub fn openapi() -> utoipa::openapi::OpenApi {
    routes().1
}

/// All `/v1` routes plus `/v1/openapi.json`; unknown paths answer a JSON 404.
pub fn router(state: AppState) -> Router {
    let (routes, doc) = routes();
    routes
        .route("/v1/openapi.json", get(move || async move { Json(doc) }))
        .route_layer(axum::middleware::from_fn(name_operation))
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

/// Names the request's operation for the metrics: its method and route template (never the
/// raw path: ids would make the label set unbounded).
async fn name_operation(req: axum::extract::Request, next: axum::middleware::Next) -> axum::response::Response {
    if let (Some(context), Some(route)) = (
        req.extensions().get::<crate::obs::context::RequestContext>(),
        req.extensions().get::<axum::extract::MatchedPath>(),
    ) {
        context.set_operation(format!("{} {}", req.method(), route.as_str()));
    }
    next.run(req).await
}
