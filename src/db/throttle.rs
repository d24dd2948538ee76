//! Throttling counters, in PostgreSQL so every instance sees the same numbers: failed
//! logins and registrations per subject within a window, and the addresses each account
//! has logged in from.

use sqlx::PgExecutor;

use super::DbError;

/// Events (failed logins, registrations) recorded for each subject in the last
/// `window_secs`, in the order of `subjects`, in one round trip.
pub async fn recent(db: impl PgExecutor<'_>, subjects: &[&str], window_secs: i64) -> Result<Vec<i64>, DbError> {
    Ok(sqlx::query_scalar(
        "select (select count(*) from login_failures f
                  where f.subject = t.s and f.at > now() - make_interval(secs => $2::double precision))
           from unnest($1::text[]) with ordinality as t(s, i)
          order by t.i",
    )
    .bind(subjects)
    .bind(window_secs as f64)
    .fetch_all(db)
    .await?)
}

/// Records an event for each subject in one statement, dropping their events older than
/// the window.
pub async fn record(db: impl PgExecutor<'_> + Copy, subjects: &[&str], window_secs: i64) -> Result<(), DbError> {
    sqlx::query(
        "with old as (delete from login_failures
                       where subject = any($1) and at <= now() - make_interval(secs => $2::double precision))
         insert into login_failures (subject) select unnest($1::text[])",
    )
    .bind(subjects)
    .bind(window_secs as f64)
    .execute(db)
    .await?;
    Ok(())
}

/// Forgets these subjects' events (after a successful login).
pub async fn clear(db: impl PgExecutor<'_>, subjects: &[&str]) -> Result<(), DbError> {
    sqlx::query("delete from login_failures where subject = any($1)")
        .bind(subjects)
        .execute(db)
        .await?;
    Ok(())
}

/// Notes that `subject` (an account and an address) logged in successfully now.
pub async fn remember_client(db: impl PgExecutor<'_>, subject: &str) -> Result<(), DbError> {
    sqlx::query(
        "insert into login_known_clients (subject) values ($1)
         on conflict (subject) do update set last_ok_at = now()",
    )
    .bind(subject)
    .execute(db)
    .await?;
    Ok(())
}

/// Whether `subject` logged in successfully within the last `window_secs`.
pub async fn is_known_client(db: impl PgExecutor<'_>, subject: &str, window_secs: i64) -> Result<bool, DbError> {
    Ok(sqlx::query_scalar(
        "select exists (select 1 from login_known_clients
                         where subject = $1 and last_ok_at > now() - make_interval(secs => $2::double precision))",
    )
    .bind(subject)
    .bind(window_secs as f64)
    .fetch_one(db)
    .await?)
}
