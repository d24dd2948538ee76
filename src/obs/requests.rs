//! Request counting per user, operation and day, and access-key last use: gathered in
//! memory, flushed to PostgreSQL in a batch every few seconds (no extra round trip per
//! request).

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

use sqlx::PgPool;
use time::{Date, OffsetDateTime};
use uuid::Uuid;

use crate::db::{self, DbError};

type Key = (Uuid, Date, String);

/// Buffered counts, shared by the S3 and JSON sides of one instance.
#[derive(Clone, Default)]
pub struct RequestCounter {
    pending: Arc<Mutex<HashMap<Key, i64>>>,
    keys_used: Arc<Mutex<HashSet<String>>>,
}

impl std::fmt::Debug for RequestCounter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RequestCounter")
    }
}

impl RequestCounter {
    /// Counts one request.
    pub fn count(&self, user_id: Uuid, operation: &str) {
        let day = OffsetDateTime::now_utc().date();
        let mut p = self.pending.lock().expect("request counter lock");
        *p.entry((user_id, day, operation.to_owned())).or_default() += 1;
    }

    /// Notes that an access key authenticated a request.
    pub fn key_used(&self, access_key_id: &str) {
        let mut k = self.keys_used.lock().expect("key use lock");
        if !k.contains(access_key_id) {
            k.insert(access_key_id.to_owned());
        }
    }

    /// Writes what is buffered. On failure the counts are put back for the next flush.
    pub async fn flush(&self, db: &PgPool) -> Result<(), DbError> {
        // Batches write their rows in one order (sorted), so two flushes running at once (two
        // instances, or a flush on the request path and the timer) cannot deadlock.
        let mut keys: Vec<String> = std::mem::take(&mut *self.keys_used.lock().expect("key use lock"))
            .into_iter()
            .collect();
        keys.sort();
        if !keys.is_empty() {
            db::access_keys::touch_many(db, &keys).await?;
        }
        let batch: HashMap<Key, i64> = std::mem::take(&mut *self.pending.lock().expect("request counter lock"));
        if batch.is_empty() {
            return Ok(());
        }
        let (mut users, mut days, mut ops, mut counts) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        let mut rows: Vec<(&Key, &i64)> = batch.iter().collect();
        rows.sort();
        for ((u, d, o), c) in rows {
            users.push(*u);
            days.push(*d);
            ops.push(o.clone());
            counts.push(*c);
        }
        if let Err(e) = db::usage::add_requests(db, &users, &days, &ops, &counts).await {
            let mut p = self.pending.lock().expect("request counter lock");
            for (k, c) in batch {
                *p.entry(k).or_default() += c;
            }
            return Err(e);
        }
        Ok(())
    }
}
