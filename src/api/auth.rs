//! Accounts and sessions: register, login, refresh (rotating, with reuse detection),
//! logout, me.

use std::sync::OnceLock;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use super::error::{ApiError, ErrorBody};
use super::extract::{AppJson, AuthUser, ClientAddr};
use crate::accounts::{self, crypto, tokens::Tokens};
use crate::app::AppState;
use crate::db::{self, users::CreateUserError};

pub(super) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(register))
        .routes(routes!(login))
        .routes(routes!(refresh))
        .routes(routes!(logout))
        .routes(routes!(me))
}

/// `{"email", "password"}`.
#[derive(Debug, Deserialize, ToSchema)]
pub struct Credentials {
    /// Login email.
    pub email: String,
    /// Password.
    pub password: String,
}

/// `{"refresh_token"}`.
#[derive(Debug, Deserialize, ToSchema)]
pub struct RefreshRequest {
    /// A refresh token from login or a previous refresh.
    pub refresh_token: String,
}

/// What login and refresh answer.
#[derive(Debug, Serialize, ToSchema)]
pub struct TokenPair {
    /// HS256 JWT for `Authorization: Bearer`.
    pub access_token: String,
    /// Opaque; exchange it at `/v1/auth/refresh`.
    pub refresh_token: String,
    /// Always `Bearer`.
    pub token_type: &'static str,
    /// Access token lifetime in seconds.
    pub expires_in: i64,
}

/// A user as the API shows it.
#[derive(Debug, Serialize, ToSchema)]
pub struct UserView {
    /// Id.
    pub id: Uuid,
    /// Email.
    pub email: String,
    /// Admin flag.
    pub is_admin: bool,
    /// Disabled flag.
    pub disabled: bool,
    /// Creation time.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// Storage quota in bytes, or null for none.
    pub quota_bytes: Option<i64>,
    /// Bytes stored.
    pub used_bytes: i64,
}

impl From<db::users::User> for UserView {
    fn from(u: db::users::User) -> Self {
        Self {
            id: u.id,
            email: u.email,
            is_admin: u.is_admin,
            disabled: u.disabled,
            created_at: u.created_at,
            quota_bytes: u.quota_bytes,
            used_bytes: u.used_bytes,
        }
    }
}

/// An account rule broken: `validation_error`.
fn invalid(e: crate::accounts::RuleError) -> ApiError {
    ApiError::Validation(e.to_string())
}

/// bcrypt is slow on purpose: keep it off the async workers.
async fn hash(password: String, cost: u32) -> Result<String, ApiError> {
    tokio::task::spawn_blocking(move || crypto::hash_password(&password, cost))
        .await
        .map_err(ApiError::internal)?
        .map_err(ApiError::internal)
}

async fn verify(password: String, hash: String) -> Result<bool, ApiError> {
    tokio::task::spawn_blocking(move || crypto::verify_password(&password, &hash))
        .await
        .map_err(ApiError::internal)
}

/// A hash at the configured cost to check against when the email is unknown, so a wrong
/// email takes as long as a wrong password.
fn dummy_hash(cost: u32) -> &'static str {
    static HASH: OnceLock<String> = OnceLock::new();
    HASH.get_or_init(|| crypto::hash_password("no such user, no such password", cost).unwrap_or_default())
}

#[utoipa::path(post, path = "/auth/register", tag = "auth", request_body = Credentials, responses((status = 201, body = UserView), (status = 400, description = "validation_error or invalid_json", body = ErrorBody), (status = 409, description = "email_taken", body = ErrorBody)))]
async fn register(
    State(state): State<AppState>,
    ClientAddr(client): ClientAddr,
    AppJson(c): AppJson<Credentials>,
) -> Result<(StatusCode, Json<UserView>), ApiError> {
    let email = accounts::normalize_email(&c.email).map_err(invalid)?;
    accounts::check_password(&c.password).map_err(invalid)?;
    // Each registration costs a bcrypt hash: at most so many per client address an hour,
    // counted before the hash (failed attempts count too).
    let by_addr = format!("register:{client}");
    let hour = 3600;
    let made = db::throttle::recent(&state.db, &[&by_addr], hour).await?;
    if made.first().copied().unwrap_or(0) >= i64::from(state.config.auth.register_max_per_hour) {
        return Err(ApiError::TooManyRequests);
    }
    db::throttle::record(&state.db, &[&by_addr], hour).await?;
    let hashed = hash(c.password, state.config.bcrypt_cost).await?;
    match db::users::create(&state.db, &email, &hashed, false, state.config.default_quota()).await {
        Ok(user) => Ok((StatusCode::CREATED, Json(user.into()))),
        Err(CreateUserError::EmailTaken) => Err(ApiError::EmailTaken),
        Err(CreateUserError::Db(e)) => Err(e.into()),
    }
}

/// Issues a token pair, starting a new family or continuing `family`.
async fn issue(state: &AppState, user: &db::users::User, family: Uuid) -> Result<TokenPair, ApiError> {
    let t: &Tokens = &state.tokens;
    let (refresh_token, mac) = t.new_refresh();
    let expires = OffsetDateTime::now_utc() + time::Duration::seconds(t.refresh_ttl);
    db::tokens::insert(&state.db, user.id, family, &mac, expires).await?;
    Ok(TokenPair {
        access_token: t.access_token(user.id, &user.email, user.is_admin),
        refresh_token,
        token_type: "Bearer",
        expires_in: t.access_ttl,
    })
}

#[utoipa::path(post, path = "/auth/login", tag = "auth", request_body = Credentials, responses((status = 200, body = TokenPair), (status = 400, description = "validation_error or invalid_json", body = ErrorBody), (status = 401, description = "invalid_credentials", body = ErrorBody), (status = 403, description = "forbidden or account_disabled", body = ErrorBody), (status = 429, description = "too_many_requests", body = ErrorBody)))]
async fn login(
    State(state): State<AppState>,
    ClientAddr(client): ClientAddr,
    AppJson(c): AppJson<Credentials>,
) -> Result<Json<TokenPair>, ApiError> {
    let auth = &state.config.auth;
    let window = auth.login_window.0 as i64;
    let email = accounts::canonical_email(&c.email).map_err(invalid)?;
    let throttle = LoginThrottle::new(&email, client);
    if throttle
        .refuses(&state, i64::from(auth.login_max_failures), window)
        .await?
    {
        return Err(ApiError::TooManyRequests);
    }
    let found = db::users::credentials_by_email(&state.db, &email).await?;
    let (user, ok) = match found {
        Some((user, stored)) => {
            let ok = verify(c.password, stored).await?;
            (Some(user), ok)
        }
        None => {
            let _ = verify(c.password, dummy_hash(state.config.bcrypt_cost).to_owned()).await?;
            (None, false)
        }
    };
    let Some(user) = user.filter(|_| ok) else {
        db::throttle::record(&state.db, &throttle.counted(), window).await?;
        return Err(ApiError::InvalidCredentials);
    };
    if user.disabled {
        return Err(ApiError::AccountDisabled);
    }
    throttle.succeeded(&state).await?;
    crate::obs::metrics::auth("json", "success", None);
    Ok(Json(issue(&state, &user, Uuid::new_v4()).await?))
}

/// Failed logins are counted three ways, so the attacker is throttled and not the crowd
/// (OWASP authentication cheat sheet):
/// - per account and address, up to `GODRIVE_LOGIN_MAX_FAILURES`: guessing one account
///   from one place stops, and other accounts behind that address are untouched;
/// - per account, up to ten times that: guessing one account from many places stops;
/// - per address, up to ten times that: spraying many accounts from one place stops, but
///   only for accounts that have not logged in from that address in the last 30 days, so
///   the people behind the same NAT or proxy as an attacker still log in.
struct LoginThrottle {
    pair: String,
    account: String,
    address: String,
    known: String,
}

/// How many more failures the account-wide and address-wide counters allow.
const SPREAD: i64 = 10;
/// How long a successful login keeps an account known at an address.
const KNOWN_FOR_SECS: i64 = 30 * 24 * 3600;

impl LoginThrottle {
    fn new(email: &str, client: std::net::IpAddr) -> Self {
        Self {
            pair: format!("pair:{email}|{client}"),
            account: format!("email:{email}"),
            address: format!("addr:{client}"),
            known: format!("{email}|{client}"),
        }
    }

    fn counted(&self) -> [&str; 3] {
        [&self.pair, &self.account, &self.address]
    }

    async fn refuses(&self, state: &AppState, max: i64, window: i64) -> Result<bool, ApiError> {
        let n = db::throttle::recent(&state.db, &self.counted(), window).await?;
        let (pair, account, address) = (n[0], n[1], n[2]);
        if pair >= max || account >= max * SPREAD {
            return Ok(true);
        }
        Ok(address >= max * SPREAD && !db::throttle::is_known_client(&state.db, &self.known, KNOWN_FOR_SECS).await?)
    }

    async fn succeeded(&self, state: &AppState) -> Result<(), ApiError> {
        db::throttle::clear(&state.db, &[&self.pair, &self.account]).await?;
        db::throttle::remember_client(&state.db, &self.known).await?;
        Ok(())
    }
}

#[utoipa::path(post, path = "/auth/refresh", tag = "auth", request_body = RefreshRequest, responses((status = 200, body = TokenPair), (status = 400, description = "validation_error or invalid_json", body = ErrorBody), (status = 401, description = "invalid_refresh_token", body = ErrorBody), (status = 403, description = "forbidden or account_disabled", body = ErrorBody)))]
async fn refresh(
    State(state): State<AppState>,
    AppJson(r): AppJson<RefreshRequest>,
) -> Result<Json<TokenPair>, ApiError> {
    let mac = state.tokens.refresh_hmac(&r.refresh_token);
    let mut tx = state.db.begin().await?;
    let Some(tok) = db::tokens::find_for_update(&mut tx, &mac).await? else {
        return Err(ApiError::InvalidRefreshToken);
    };
    if tok.revoked_at.is_some() {
        return Err(ApiError::InvalidRefreshToken);
    }
    if tok.rotated_at.is_some() {
        // Presented again after rotation: someone else holds the family. Kill it all.
        db::tokens::revoke_family(&mut *tx, tok.family_id).await?;
        tx.commit().await?;
        tracing::warn!(user.id = %tok.user_id, "refresh token reuse detected; family revoked");
        return Err(ApiError::InvalidRefreshToken);
    }
    if tok.expires_at <= OffsetDateTime::now_utc() {
        return Err(ApiError::InvalidRefreshToken);
    }
    let user = db::users::get(&mut *tx, tok.user_id)
        .await?
        .ok_or(ApiError::InvalidRefreshToken)?;
    if user.disabled {
        return Err(ApiError::AccountDisabled);
    }
    db::tokens::mark_rotated(&mut *tx, tok.id).await?;
    tx.commit().await?;
    Ok(Json(issue(&state, &user, tok.family_id).await?))
}

#[utoipa::path(post, path = "/auth/logout", tag = "auth", request_body = RefreshRequest, responses((status = 204, description = "the session is revoked"), (status = 400, description = "validation_error or invalid_json", body = ErrorBody)))]
async fn logout(State(state): State<AppState>, AppJson(r): AppJson<RefreshRequest>) -> Result<StatusCode, ApiError> {
    let mac = state.tokens.refresh_hmac(&r.refresh_token);
    let mut tx = state.db.begin().await?;
    if let Some(tok) = db::tokens::find_for_update(&mut tx, &mac).await? {
        db::tokens::revoke_family(&mut *tx, tok.family_id).await?;
    }
    tx.commit().await?;
    // The same answer whether or not the token existed.
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(get, path = "/me", tag = "auth", security(("bearer" = [])), responses((status = 200, body = UserView), (status = 401, description = "unauthenticated", body = ErrorBody), (status = 403, description = "forbidden or account_disabled", body = ErrorBody)))]
async fn me(AuthUser(user): AuthUser) -> Json<UserView> {
    Json(user.into())
}
