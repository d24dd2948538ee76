//! Users.

use sqlx::PgExecutor;
use uuid::Uuid;

use super::DbError;

/// A user as stored.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct User {
    /// Primary key.
    pub id: Uuid,
    /// Login email.
    pub email: String,
    /// Whether the user may use admin routes.
    pub is_admin: bool,
    /// A disabled user is refused everywhere.
    pub disabled: bool,
}

/// Why creating a user failed.
#[derive(Debug, thiserror::Error)]
pub enum CreateUserError {
    /// Another user has this email (case-insensitive).
    #[error("a user with this email already exists")]
    EmailTaken,
    /// Any other database failure.
    #[error(transparent)]
    Db(#[from] DbError),
}

/// Inserts a user with an already hashed password.
pub async fn create(
    db: impl PgExecutor<'_>,
    email: &str,
    password_hash: &str,
    is_admin: bool,
) -> Result<User, CreateUserError> {
    sqlx::query_as(
        "insert into users (id, email, password_hash, is_admin) values ($1, $2, $3, $4)
         returning id, email, is_admin, disabled",
    )
    .bind(Uuid::new_v4())
    .bind(email)
    .bind(password_hash)
    .bind(is_admin)
    .fetch_one(db)
    .await
    .map_err(|e| match super::violated_constraint(&e) {
        Some("users_email_key") => CreateUserError::EmailTaken,
        _ => CreateUserError::Db(e.into()),
    })
}

/// Finds a user by email (case-insensitive).
pub async fn by_email(db: impl PgExecutor<'_>, email: &str) -> Result<Option<User>, DbError> {
    Ok(
        sqlx::query_as("select id, email, is_admin, disabled from users where lower(email) = lower($1)")
            .bind(email)
            .fetch_optional(db)
            .await?,
    )
}
