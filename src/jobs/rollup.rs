//! The daily usage roll-up: every instance tries it periodically, one at a time does it
//! (a PostgreSQL advisory lock), and each run rolls up every finished day not yet rolled up,
//! so days missed while no instance ran are caught up.

use std::time::Duration;

use sqlx::PgPool;
use time::{Date, OffsetDateTime};

use crate::db::{DbError, history};

/// How long after midnight (UTC) a day counts as finished: request counts are flushed every
/// few seconds and late commits land within this.
pub const SETTLE: Duration = Duration::from_secs(120);

/// How often each instance tries a roll-up (and once at start).
pub const EVERY: Duration = Duration::from_secs(15 * 60);

/// Snapshots older than this many days are pruned (the daily rows keep their story).
pub const SNAPSHOT_DAYS: i64 = 35;

/// What one run did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Another instance was rolling up.
    Locked,
    /// These days were rolled up (none if all were).
    Rolled(Vec<Date>),
}

/// Who rolls up: host and process id, recorded with each day.
fn instance_name() -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_owned())
        .unwrap_or_else(|_| "unknown".into());
    format!("{host}:{}", std::process::id())
}

/// Rolls up every finished day (as of `now`) not rolled up yet, in one transaction.
pub async fn run(db: &PgPool, now: OffsetDateTime) -> Result<Outcome, DbError> {
    let last_finished = (now - SETTLE).date().previous_day().expect("a day after year -9999");
    let mut tx = db.begin().await?;
    if !history::try_rollup_lock(&mut tx).await? {
        return Ok(Outcome::Locked);
    }
    let start = match history::rolled_through(&mut *tx).await? {
        Some(day) => day.next_day().expect("a day before year 9999"),
        None => match history::first_day(&mut *tx).await? {
            Some(day) => day,
            None => return Ok(Outcome::Rolled(Vec::new())),
        },
    };
    let by = instance_name();
    let mut rolled = Vec::new();
    let mut day = start;
    while day <= last_finished {
        history::roll_day(&mut tx, day, &by).await?;
        rolled.push(day);
        day = day.next_day().expect("a day before year 9999");
    }
    if !rolled.is_empty() {
        history::prune_snapshots(&mut tx, last_finished - time::Duration::days(SNAPSHOT_DAYS)).await?;
    }
    tx.commit().await?;
    Ok(Outcome::Rolled(rolled))
}
