//! The `godrive_invalidate` channel: triggers (migration 0016) notify it when a row the
//! authorization cache derives from changes; every serving instance listens on a connection
//! of its own.

use sqlx::PgPool;
use sqlx::postgres::{PgListener, PgPoolOptions};
use uuid::Uuid;

use super::DbError;

/// The channel the triggers notify.
pub const CHANNEL: &str = "godrive_invalidate";

/// The `application_name` of the listening connection, as `pg_stat_activity` shows it.
pub const APPLICATION_NAME: &str = "godrive-invalidate";

/// Sends `fence:<fence>` on [`CHANNEL`]: every listener receives it after every change
/// committed before it. Returns how many connections listen on the channel now (each
/// instance's listener; see [`APPLICATION_NAME`]).
pub async fn fence(db: &PgPool, fence: Uuid) -> Result<i64, DbError> {
    Ok(sqlx::query_scalar(
        "select (select count(*) from pg_stat_activity
                  where datname = current_database() and application_name = $3)
           from pg_notify($1, $2)",
    )
    .bind(CHANNEL)
    .bind(format!("fence:{fence}"))
    .bind(APPLICATION_NAME)
    .fetch_one(db)
    .await?)
}

/// Acknowledges a fence on [`CHANNEL`] (`ack:<fence>`), every notification before it having
/// been applied.
pub async fn ack(db: &PgPool, fence: Uuid) -> Result<(), DbError> {
    sqlx::query("select pg_notify($1, $2)")
        .bind(CHANNEL)
        .bind(format!("ack:{fence}"))
        .execute(db)
        .await?;
    Ok(())
}

/// A connection listening on [`CHANNEL`].
pub struct Listener(PgListener);

/// Opens a connection of its own (not one of the pool's: it is held for as long as it
/// lives) with the pool's settings, and listens on [`CHANNEL`]. Once this returns, every
/// change committed afterwards is notified to it.
pub async fn listen(pool: &PgPool) -> Result<Listener, DbError> {
    let opts = (*pool.connect_options()).clone().application_name(APPLICATION_NAME);
    let own = PgPoolOptions::new()
        .max_connections(1)
        .max_lifetime(None)
        .idle_timeout(None)
        .acquire_timeout(super::CONNECT_TIMEOUT)
        .connect_lazy_with(opts);
    let mut listener = PgListener::connect_with(&own).await?;
    // A lost connection is the caller's to see (it must stop trusting what it cached), not
    // to be papered over by a silent reconnection.
    listener.eager_reconnect(false);
    listener.ignore_pool_close_event(true);
    listener.listen(CHANNEL).await?;
    Ok(Listener(listener))
}

impl Listener {
    /// The payload of the next notification; `None` once the connection is lost (then the
    /// listener is done: notifications may have been missed).
    pub async fn next(&mut self) -> Option<String> {
        match self.0.try_recv().await {
            Ok(Some(n)) => Some(n.payload().to_owned()),
            Ok(None) => None,
            Err(e) => {
                tracing::warn!(error = %e, "the invalidation listener failed");
                None
            }
        }
    }
}
