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
    /// When the account was made.
    pub created_at: time::OffsetDateTime,
    /// The storage quota in bytes, if any.
    pub quota_bytes: Option<i64>,
    /// Bytes stored.
    pub used_bytes: i64,
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
    quota_bytes: Option<i64>,
) -> Result<User, CreateUserError> {
    sqlx::query_as(
        "insert into users (id, email, password_hash, is_admin, quota_bytes) values ($1, $2, $3, $4, $5)
         returning id, email, is_admin, disabled, created_at, quota_bytes, used_bytes",
    )
    .bind(Uuid::new_v4())
    .bind(email)
    .bind(password_hash)
    .bind(is_admin)
    .bind(quota_bytes)
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
        sqlx::query_as("select id, email, is_admin, disabled, created_at, quota_bytes, used_bytes from users where lower(email) = lower($1)")
            .bind(email)
            .fetch_optional(db)
            .await?,
    )
}

/// A user and their password hash, for login.
pub async fn credentials_by_email(db: impl PgExecutor<'_>, email: &str) -> Result<Option<(User, String)>, DbError> {
    #[derive(sqlx::FromRow)]
    struct Row {
        #[sqlx(flatten)]
        user: User,
        password_hash: String,
    }
    let row: Option<Row> = sqlx::query_as(
        "select id, email, is_admin, disabled, created_at, quota_bytes, used_bytes, password_hash from users where lower(email) = lower($1)",
    )
    .bind(email)
    .fetch_optional(db)
    .await?;
    Ok(row.map(|r| (r.user, r.password_hash)))
}

/// A user by id.
pub async fn get(db: impl PgExecutor<'_>, id: Uuid) -> Result<Option<User>, DbError> {
    Ok(sqlx::query_as(
        "select id, email, is_admin, disabled, created_at, quota_bytes, used_bytes from users where id = $1",
    )
    .bind(id)
    .fetch_optional(db)
    .await?)
}

/// Users by creation, after `after` (a cursor), at most `limit`; only those whose email
/// contains `email_contains` (any case) when it is given.
pub async fn list(
    db: impl PgExecutor<'_>,
    email_contains: Option<&str>,
    after: Option<(time::OffsetDateTime, Uuid)>,
    limit: i64,
) -> Result<Vec<User>, DbError> {
    let (at, id) = after.unzip();
    Ok(sqlx::query_as(
        "select id, email, is_admin, disabled, created_at, quota_bytes, used_bytes from users
          where ($1::timestamptz is null or (created_at, id) > ($1, $2))
            and ($4::text is null or strpos(lower(email), lower($4)) > 0)
          order by created_at, id limit $3",
    )
    .bind(at)
    .bind(id)
    .bind(limit)
    .bind(email_contains)
    .fetch_all(db)
    .await?)
}

/// Sets the admin and disabled flags (each only when given); `None` if no such user.
pub async fn update_flags(
    db: impl PgExecutor<'_>,
    id: Uuid,
    is_admin: Option<bool>,
    disabled: Option<bool>,
) -> Result<Option<User>, DbError> {
    Ok(sqlx::query_as(
        "update users set is_admin = coalesce($2, is_admin), disabled = coalesce($3, disabled), updated_at = now()
          where id = $1 returning id, email, is_admin, disabled, created_at, quota_bytes, used_bytes",
    )
    .bind(id)
    .bind(is_admin)
    .bind(disabled)
    .fetch_optional(db)
    .await?)
}
