//! PostgreSQL: connecting, migrating, and every SQL statement GoDrive runs.
//!
//! Functions take an executor so the caller chooses the transaction.

pub mod access_keys;
pub mod blobs;
pub mod buckets;
pub mod commit;
pub mod completed;
pub mod history;
pub mod invalidation;
pub mod leases;
pub mod lifecycle;
pub mod links;
pub mod multipart;
pub mod objects;
pub mod quota;
mod settle;
pub mod throttle;
pub mod tokens;
pub mod usage;
pub mod users;
pub mod versions;

use std::str::FromStr;

use sqlx::ConnectOptions;
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions, PgSslMode};

use crate::config::DatabaseConfig;

/// Embedded migrations from `migrations/`.
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// A database failure.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    /// The statement failed or the database is unreachable.
    #[error("database error: {0}")]
    Sqlx(#[from] sqlx::Error),
    /// Applying migrations failed.
    #[error("migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// Settling an upload would exceed a quota (its object grew past what it reserved).
    #[error("quota exceeded")]
    QuotaExceeded,
    /// A conditional write's condition no longer held at commit (another write won).
    #[error("the write's condition no longer holds")]
    ConditionFailed,
    /// PostgreSQL did not answer at startup within [`CONNECT_TIMEOUT`].
    #[error("could not reach PostgreSQL at {0} within {secs} s", secs = CONNECT_TIMEOUT.as_secs())]
    Unreachable(String),
}

/// How long connecting at startup may take before giving up with [`DbError::Unreachable`]:
/// a host that drops packets, or a port where something other than PostgreSQL listens and
/// never answers, must not hang the process.
pub const CONNECT_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// The name of the unique constraint a failed insert hit, if that is why it failed.
pub fn violated_constraint(err: &sqlx::Error) -> Option<&str> {
    match err {
        sqlx::Error::Database(db) if db.is_unique_violation() => db.constraint(),
        _ => None,
    }
}

/// Connection options from the configuration (`DATABASE_URL` wins over the parts).
pub fn connect_options(cfg: &DatabaseConfig) -> Result<PgConnectOptions, DbError> {
    let opts = match &cfg.url {
        Some(url) => PgConnectOptions::from_str(url.expose())?,
        None => {
            let mut o = PgConnectOptions::new()
                .host(&cfg.host)
                .port(cfg.port)
                .username(&cfg.user)
                .database(&cfg.database)
                .ssl_mode(PgSslMode::from_str(&cfg.ssl_mode)?);
            if !cfg.password.is_empty() {
                o = o.password(cfg.password.expose());
            }
            o
        }
    };
    // Statements are logged by our own spans; sqlx's own statement log would be noise.
    Ok(opts.disable_statement_logging())
}

/// Creates the configured database if it does not exist (connecting to `postgres` to do so).
pub async fn ensure_database(opts: &PgConnectOptions) -> Result<(), DbError> {
    let Some(name) = opts.get_database().map(str::to_owned) else {
        return Ok(());
    };
    let mut conn = opts.clone().database("postgres").connect().await?;
    let exists: Option<i32> = sqlx::query_scalar("select 1 from pg_database where datname = $1")
        .bind(&name)
        .fetch_optional(&mut conn)
        .await?;
    if exists.is_none() {
        let quoted = format!("\"{}\"", name.replace('"', "\"\""));
        match sqlx::query(&format!("create database {quoted}"))
            .execute(&mut conn)
            .await
        {
            Ok(_) => {}
            // Another instance created it at the same time.
            Err(sqlx::Error::Database(e)) if e.code().as_deref() == Some("42P04") => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(())
}

/// Connects a pool, creating the database first if needed; gives up after
/// [`CONNECT_TIMEOUT`] with an error naming the host and port.
pub async fn connect(cfg: &DatabaseConfig) -> Result<PgPool, DbError> {
    let opts = connect_options(cfg)?;
    let target = format!("{}:{}", opts.get_host(), opts.get_port());
    let connecting = async {
        ensure_database(&opts).await?;
        let pool = PgPoolOptions::new()
            .max_connections(cfg.max_connections)
            .acquire_timeout(std::time::Duration::from_secs(5))
            .connect_with(opts)
            .await?;
        Ok::<_, DbError>(pool)
    };
    tokio::time::timeout(CONNECT_TIMEOUT, connecting)
        .await
        .map_err(|_| DbError::Unreachable(target))?
}

/// Applies pending migrations. Safe to run from several instances at once (sqlx takes an
/// advisory lock).
pub async fn migrate(pool: &PgPool) -> Result<(), DbError> {
    MIGRATOR.run(pool).await?;
    Ok(())
}

/// Whether the database answers.
pub async fn ping(pool: &PgPool) -> Result<(), DbError> {
    sqlx::query("select 1").execute(pool).await?;
    Ok(())
}
