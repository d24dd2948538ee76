//! Failed-login counters, in PostgreSQL so every instance sees the same numbers.

use sqlx::PgExecutor;

use super::DbError;

/// Failures recorded for `subject` in the last `window_secs`.
pub async fn recent_failures(db: impl PgExecutor<'_>, subject: &str, window_secs: i64) -> Result<i64, DbError> {
    Ok(sqlx::query_scalar(
        "select count(*) from login_failures
          where subject = $1 and at > now() - make_interval(secs => $2::double precision)",
    )
    .bind(subject)
    .bind(window_secs as f64)
    .fetch_one(db)
    .await?)
}

/// Records a failure, dropping this subject's failures older than the window.
pub async fn record_failure(db: impl PgExecutor<'_> + Copy, subject: &str, window_secs: i64) -> Result<(), DbError> {
    sqlx::query(
        "delete from login_failures
          where subject = $1 and at <= now() - make_interval(secs => $2::double precision)",
    )
    .bind(subject)
    .bind(window_secs as f64)
    .execute(db)
    .await?;
    sqlx::query("insert into login_failures (subject) values ($1)")
        .bind(subject)
        .execute(db)
        .await?;
    Ok(())
}

/// Forgets a subject's failures (after a successful login).
pub async fn clear(db: impl PgExecutor<'_>, subject: &str) -> Result<(), DbError> {
    sqlx::query("delete from login_failures where subject = $1")
        .bind(subject)
        .execute(db)
        .await?;
    Ok(())
}
