//! Extractors: JSON bodies with JSON errors, the authenticated user, the admin.

use std::net::IpAddr;

use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use serde::de::DeserializeOwned;

use super::error::ApiError;
use crate::accounts::tokens::TokenError;
use crate::app::AppState;
use crate::db;
use crate::obs::context::RequestContext;

/// `Json` whose rejections answer in the API's error shape (`invalid_json`).
pub struct AppJson<T>(pub T);

impl<T: DeserializeOwned> FromRequest<AppState> for AppJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, ApiError> {
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(v)) => Ok(AppJson(v)),
            Err(JsonRejection::JsonDataError(e)) => Err(ApiError::InvalidJson(e.body_text())),
            Err(e) => Err(ApiError::InvalidJson(e.body_text())),
        }
    }
}

/// `Query` whose rejections (a number that is not one, a malformed id) answer in the API's
/// error shape (`validation_error`), not as plain text.
pub struct AppQuery<T>(pub T);

impl<T: DeserializeOwned + Send> FromRequestParts<AppState> for AppQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        axum::extract::Query::<T>::from_request_parts(parts, state)
            .await
            .map(|axum::extract::Query(v)| AppQuery(v))
            .map_err(|e| ApiError::Validation(e.body_text()))
    }
}

/// Refuses a control character in a text field (`validation_error`): PostgreSQL cannot
/// store NUL, and none belongs in a name, key, prefix or cursor.
pub fn plain_text(field: &str, value: &str) -> Result<(), ApiError> {
    if crate::text::has_control(value) {
        return Err(ApiError::Validation(format!(
            "{field} must not contain control characters"
        )));
    }
    Ok(())
}

/// The caller of a JSON route, from `Authorization: Bearer <access token>`. The user is
/// re-read from PostgreSQL on every request, so disabling a user takes effect at once on
/// every instance.
#[derive(Debug, Clone)]
pub struct AuthUser(pub db::users::User);

impl FromRequestParts<AppState> for AuthUser {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let header = parts
            .headers
            .get(http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .ok_or(ApiError::Unauthenticated("missing bearer token"))?;
        let token = header
            .strip_prefix("Bearer ")
            .or_else(|| header.strip_prefix("bearer "))
            .ok_or(ApiError::Unauthenticated("missing bearer token"))?;
        let claims = state.tokens.verify(token.trim()).map_err(|e| match e {
            TokenError::Expired => ApiError::Unauthenticated("token expired"),
            TokenError::Invalid => ApiError::Unauthenticated("invalid token"),
        })?;
        let user = db::users::get(&state.db, claims.sub)
            .await?
            .ok_or(ApiError::Unauthenticated("invalid token"))?;
        if user.disabled {
            return Err(ApiError::AccountDisabled);
        }
        crate::obs::metrics::auth("json", "success", None);
        if let Some(context) = parts.extensions.get::<RequestContext>() {
            context.set_user(user.id);
        }
        // The route template, never the raw path (ids would make the label set unbounded).
        let route = parts
            .extensions
            .get::<axum::extract::MatchedPath>()
            .map_or("unknown", |m| m.as_str());
        state.requests.count(user.id, &format!("{} {route}", parts.method));
        Ok(AuthUser(user))
    }
}

/// An authenticated admin (checked against the database, not the token's claim).
#[derive(Debug, Clone)]
pub struct AdminUser(pub db::users::User);

impl FromRequestParts<AppState> for AdminUser {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let AuthUser(user) = AuthUser::from_request_parts(parts, state).await?;
        if !user.is_admin {
            return Err(ApiError::Forbidden("admin only"));
        }
        Ok(AdminUser(user))
    }
}

/// The client's address, from the request's context (the socket's peer, or the address a
/// trusted proxy forwarded, `GODRIVE_TRUSTED_PROXIES`).
#[derive(Debug, Clone, Copy)]
pub struct ClientAddr(pub IpAddr);

impl FromRequestParts<AppState> for ClientAddr {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &AppState) -> Result<Self, ApiError> {
        parts
            .extensions
            .get::<RequestContext>()
            .map(|c| ClientAddr(c.client()))
            .ok_or_else(|| ApiError::internal("request context missing"))
    }
}

/// `Path` whose rejections answer in the API's error shape; a malformed id is a 404, as
/// an id that names nothing would be.
pub struct AppPath<T>(pub T);

impl<T: DeserializeOwned + Send> FromRequestParts<AppState> for AppPath<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        axum::extract::Path::<T>::from_request_parts(parts, state)
            .await
            .map(|axum::extract::Path(v)| AppPath(v))
            .map_err(|_| ApiError::NotFound("resource"))
    }
}
