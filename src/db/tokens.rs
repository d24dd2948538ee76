//! Refresh tokens, stored as HMACs, rotated on use, revoked by family.

use sqlx::{PgConnection, PgExecutor};
use time::OffsetDateTime;
use uuid::Uuid;

use super::DbError;

/// A stored refresh token.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct RefreshToken {
    /// Primary key.
    pub id: Uuid,
    /// Its user.
    pub user_id: Uuid,
    /// The login it descends from.
    pub family_id: Uuid,
    /// When it stops being accepted.
    pub expires_at: OffsetDateTime,
    /// Set once it has been exchanged.
    pub rotated_at: Option<OffsetDateTime>,
    /// Set once its family was revoked.
    pub revoked_at: Option<OffsetDateTime>,
}

/// Stores a new token of `family_id`.
pub async fn insert(
    db: impl PgExecutor<'_>,
    user_id: Uuid,
    family_id: Uuid,
    token_hmac: &[u8],
    expires_at: OffsetDateTime,
) -> Result<(), DbError> {
    sqlx::query(
        "insert into refresh_tokens (id, user_id, family_id, token_hmac, expires_at) values ($1, $2, $3, $4, $5)",
    )
    .bind(Uuid::new_v4())
    .bind(user_id)
    .bind(family_id)
    .bind(token_hmac)
    .bind(expires_at)
    .execute(db)
    .await?;
    Ok(())
}

/// Finds a token by its HMAC and locks it, so two concurrent refreshes with the same token
/// cannot both rotate it.
pub async fn find_for_update(tx: &mut PgConnection, token_hmac: &[u8]) -> Result<Option<RefreshToken>, DbError> {
    Ok(sqlx::query_as(
        "select id, user_id, family_id, expires_at, rotated_at, revoked_at
           from refresh_tokens where token_hmac = $1 for update",
    )
    .bind(token_hmac)
    .fetch_optional(&mut *tx)
    .await?)
}

/// Marks a token as exchanged.
pub async fn mark_rotated(db: impl PgExecutor<'_>, id: Uuid) -> Result<(), DbError> {
    sqlx::query("update refresh_tokens set rotated_at = now() where id = $1")
        .bind(id)
        .execute(db)
        .await?;
    Ok(())
}

/// Revokes every token of a family.
pub async fn revoke_family(db: impl PgExecutor<'_>, family_id: Uuid) -> Result<(), DbError> {
    sqlx::query("update refresh_tokens set revoked_at = now() where family_id = $1 and revoked_at is null")
        .bind(family_id)
        .execute(db)
        .await?;
    Ok(())
}
