//! The authorization cache: what authenticating and authorizing an S3 request reads from
//! PostgreSQL (an access key's sealed secret, user and quota flag; a bucket's id, owner and
//! limit flag; a presigned link), kept in this instance's memory, so that a GET or HEAD in
//! the steady state asks PostgreSQL for nothing but the object row. (The S3 edge reads
//! secrets through it for every request, and the caller, bucket and link for reads of
//! objects; other operations read those from PostgreSQL.)
//!
//! It stays right with any number of instances. Every change to a row an entry derives
//! from notifies the `godrive_invalidate` channel when it commits (triggers of migration
//! 0016, so every writer notifies: any instance, the CLI, plain SQL), and each instance's
//! listener (`jobs::invalidate`) drops the entries it names ([`AuthCache::notified`]),
//! within milliseconds. A change made through GoDrive goes further ([`AuthCache::changed`]):
//! its answer waits for every listening instance to confirm it dropped them, so the next
//! request anywhere sees it. While an instance is not listening (before it first listens,
//! and from a lost connection until it listens again) its cache is empty and bypassed.
//! Whatever happens, an entry is used for at most [`TTL`]; the absence of a row is never
//! cached. A read that began before an invalidation is not stored after it (a generation
//! counter), so a notification cannot be overtaken by the stale row it invalidates.
//!
//! Secrets stay sealed here, opened per request as before.

use std::collections::HashMap;
use std::future::Future;
use std::hash::Hash;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use sqlx::PgPool;
use tokio::sync::watch;
use uuid::Uuid;

use crate::db::access_keys::{Caller, KeyAuth};
use crate::db::buckets::BucketAuth;
use crate::db::links::Link;
use crate::db::{self, DbError};
use crate::obs::metrics;

/// The longest an entry is used: the backstop should a notification be lost unnoticed.
pub const TTL: Duration = Duration::from_millis(500);

/// What changed, as named by a notification or by the writer itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// An access key (by its public id).
    Key(String),
    /// A user: every key of theirs.
    User(Uuid),
    /// A bucket (by name).
    Bucket(String),
    /// A presigned link.
    Link(Uuid),
    /// Anything: drop everything.
    All,
}

impl Change {
    /// The change a `godrive_invalidate` payload names (`key:<id>`, `user:<uuid>`,
    /// `bucket:<name>`, `link:<uuid>`); anything else is [`Change::All`].
    pub fn parse(payload: &str) -> Self {
        match payload.split_once(':') {
            Some(("key", id)) => Self::Key(id.to_owned()),
            Some(("bucket", name)) => Self::Bucket(name.to_owned()),
            Some(("user", id)) => id.parse().map_or(Self::All, Self::User),
            Some(("link", id)) => id.parse().map_or(Self::All, Self::Link),
            _ => Self::All,
        }
    }
}

/// A notification of the `godrive_invalidate` channel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Notice {
    /// A row changed (trigger payloads; anything unrecognized is [`Change::All`]).
    Changed(Change),
    /// `fence:<uuid>`: an instance waits for every listener to acknowledge this.
    Fence(Uuid),
    /// `ack:<uuid>`: a listener acknowledges a fence, having applied every change before it.
    Ack(Uuid),
}

impl Notice {
    /// The notice a payload carries.
    pub fn parse(payload: &str) -> Self {
        match payload.split_once(':').map(|(kind, id)| (kind, id.parse::<Uuid>())) {
            Some(("fence", Ok(id))) => Self::Fence(id),
            Some(("ack", Ok(id))) => Self::Ack(id),
            _ => Self::Changed(Change::parse(payload)),
        }
    }
}

/// This instance's authorization cache. Cheap to clone (shared).
#[derive(Clone)]
pub struct AuthCache(Arc<Shared>);

struct Shared {
    /// Entries per kind at most; 0: the cache is off.
    capacity: usize,
    /// Whether invalidations reach this instance (see `jobs::invalidate`).
    listening: AtomicBool,
    maps: Mutex<Maps>,
    /// This instance's fences awaiting acknowledgements: how many arrived.
    fences: Mutex<HashMap<Uuid, watch::Sender<u64>>>,
}

#[derive(Default)]
struct Maps {
    /// Bumped by every invalidation: a read that began before one is not stored.
    generation: u64,
    keys: HashMap<String, Entry<KeyAuth>>,
    buckets: HashMap<String, Entry<BucketAuth>>,
    links: HashMap<Uuid, Entry<Link>>,
}

struct Entry<T> {
    value: Arc<T>,
    /// When the read that found it began.
    at: Instant,
}

impl<T> Entry<T> {
    fn fresh(&self) -> bool {
        self.at.elapsed() < TTL
    }
}

impl AuthCache {
    /// An empty cache of at most `capacity` entries per kind (0: off), bypassed until
    /// [`AuthCache::set_listening`] says invalidations reach it.
    pub fn new(capacity: usize) -> Self {
        Self(Arc::new(Shared {
            capacity,
            listening: AtomicBool::new(false),
            maps: Mutex::new(Maps::default()),
            fences: Mutex::new(HashMap::new()),
        }))
    }

    fn usable(&self) -> bool {
        self.0.capacity > 0 && self.0.listening.load(Ordering::Acquire)
    }

    fn lock(&self) -> MutexGuard<'_, Maps> {
        // A panic while holding the lock leaves nothing half-done worth refusing over.
        self.0.maps.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Whether invalidations reach this instance. Either way the cache is emptied: while
    /// not listening nothing is cached, and what was cached before listening may have
    /// changed unnoticed.
    pub fn set_listening(&self, listening: bool) {
        let mut maps = self.lock();
        maps.clear();
        self.0.listening.store(listening, Ordering::Release);
        metrics::METRICS.auth_cache_listening.set(i64::from(listening));
    }

    /// Drops the entries `change` names (and stops reads in flight from being stored).
    fn forget(&self, change: &Change) {
        let mut maps = self.lock();
        maps.generation += 1;
        match change {
            Change::Key(id) => {
                maps.keys.remove(id);
            }
            Change::User(user) => maps.keys.retain(|_, e| e.value.user_id != *user),
            Change::Bucket(name) => {
                maps.buckets.remove(name);
            }
            Change::Link(id) => {
                maps.links.remove(id);
            }
            Change::All => maps.clear(),
        }
    }

    /// Applies a change another instance, the CLI or SQL made (a notification).
    pub fn notified(&self, change: &Change) {
        metrics::METRICS.auth_cache_invalidations.inc();
        self.forget(change);
    }

    /// Counts a listener's acknowledgement of `fence`, if it is one of this instance's.
    pub fn acked(&self, fence: Uuid) {
        if let Some(acks) = self.fences().get(&fence) {
            acks.send_modify(|n| *n += 1);
        }
    }

    /// After committing `change`: drops what it names here at once, then waits until every
    /// instance listening for invalidations has acknowledged a fence sent after it (each
    /// acknowledges having applied every change committed before the fence), for at most
    /// [`TTL`], past which nothing read before the change is used anywhere. So the next
    /// request, on any instance, sees the change.
    pub async fn changed(&self, db: &PgPool, change: Change) {
        self.forget(&change);
        let fence = Uuid::new_v4();
        let (acks, mut acked) = watch::channel(0u64);
        self.fences().insert(fence, acks);
        let confirmed = async {
            let listeners = db::invalidation::fence(db, fence).await?;
            let listeners = u64::try_from(listeners).unwrap_or(0);
            // The sender lives in `fences` until this returns.
            let _ = acked.wait_for(|n| *n >= listeners).await;
            Ok::<_, DbError>(())
        };
        match tokio::time::timeout(TTL, confirmed).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => {
                tracing::warn!(error = %e, "could not fence a cache invalidation; other instances see it within {TTL:?}")
            }
            Err(_) => tracing::warn!("not every instance acknowledged a cache invalidation within {TTL:?}"),
        }
        self.fences().remove(&fence);
    }

    fn fences(&self) -> MutexGuard<'_, HashMap<Uuid, watch::Sender<u64>>> {
        self.0.fences.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// What S3 authentication needs to know about an access key (`db::access_keys::for_auth`).
    pub async fn key(&self, db: &PgPool, access_key_id: &str) -> Result<Option<Arc<KeyAuth>>, DbError> {
        let fetch = db::access_keys::for_auth(db, access_key_id);
        self.lookup("key", access_key_id.to_owned(), |m| &mut m.keys, fetch)
            .await
    }

    /// The bucket named `name`, if there is one (`db::buckets::for_auth`).
    pub async fn bucket(&self, db: &PgPool, name: &str) -> Result<Option<Arc<BucketAuth>>, DbError> {
        let fetch = db::buckets::for_auth(db, name);
        self.lookup("bucket", name.to_owned(), |m| &mut m.buckets, fetch).await
    }

    /// A presigned link (`db::links::get`).
    pub async fn link(&self, db: &PgPool, id: Uuid) -> Result<Option<Arc<Link>>, DbError> {
        self.lookup("link", id, |m| &mut m.links, db::links::get(db, id)).await
    }

    /// The caller behind an access key and the bucket the request names, as
    /// `db::access_keys::caller` answers (`None`: an unknown key or a disabled user). Bypassed,
    /// that one query answers; else the key and the bucket come from the cache.
    pub async fn caller(
        &self,
        db: &PgPool,
        access_key_id: &str,
        bucket: Option<&str>,
    ) -> Result<Option<Caller>, DbError> {
        if !self.usable() {
            count("key", "bypass");
            return db::access_keys::caller(db, access_key_id, bucket).await;
        }
        let Some(key) = self.key(db, access_key_id).await? else {
            return Ok(None);
        };
        let bucket = match bucket {
            Some(name) => self.bucket(db, name).await?,
            None => None,
        };
        Ok(Some(Caller {
            user_id: key.user_id,
            bucket_id: bucket.as_ref().map(|b| b.id),
            bucket_owner_id: bucket.as_ref().map(|b| b.owner_id),
            limited: key.limited || bucket.is_some_and(|b| b.limited),
        }))
    }

    /// The fresh entry under `key` in the map `pick` chooses, else what `fetch` reads
    /// (stored if it found a row, the cache is listening and nothing was invalidated
    /// meanwhile).
    async fn lookup<K, V>(
        &self,
        kind: &'static str,
        key: K,
        pick: fn(&mut Maps) -> &mut HashMap<K, Entry<V>>,
        fetch: impl Future<Output = Result<Option<V>, DbError>>,
    ) -> Result<Option<Arc<V>>, DbError>
    where
        K: Hash + Eq,
    {
        if !self.usable() {
            count(kind, "bypass");
            return Ok(fetch.await?.map(Arc::new));
        }
        let generation = {
            let mut maps = self.lock();
            let generation = maps.generation;
            let map = pick(&mut maps);
            match map.get(&key) {
                Some(e) if e.fresh() => {
                    let value = Arc::clone(&e.value);
                    drop(maps);
                    count(kind, "hit");
                    return Ok(Some(value));
                }
                Some(_) => {
                    map.remove(&key);
                }
                None => {}
            }
            generation
        };
        count(kind, "miss");
        let at = Instant::now();
        let found = fetch.await?.map(Arc::new);
        if let Some(value) = &found {
            let mut maps = self.lock();
            if maps.generation == generation && self.usable() {
                let capacity = self.0.capacity;
                let map = pick(&mut maps);
                if map.len() >= capacity {
                    map.retain(|_, e| e.fresh());
                    if map.len() >= capacity {
                        map.clear();
                    }
                }
                map.insert(
                    key,
                    Entry {
                        value: Arc::clone(value),
                        at,
                    },
                );
            }
        }
        Ok(found)
    }
}

impl Maps {
    fn clear(&mut self) {
        self.generation += 1;
        self.keys.clear();
        self.buckets.clear();
        self.links.clear();
    }
}

fn count(kind: &'static str, result: &'static str) {
    metrics::METRICS
        .auth_cache
        .get_or_create(&metrics::AuthCacheLabels { kind, result })
        .inc();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payloads_name_what_changed_and_anything_else_drops_everything() {
        let id = Uuid::new_v4();
        assert_eq!(Change::parse("key:GDKEY123"), Change::Key("GDKEY123".into()));
        assert_eq!(Change::parse(&format!("user:{id}")), Change::User(id));
        assert_eq!(Change::parse("bucket:my-bucket"), Change::Bucket("my-bucket".into()));
        assert_eq!(Change::parse(&format!("link:{id}")), Change::Link(id));
        for other in ["all", "", "user:not-a-uuid", "link:", "other:x"] {
            assert_eq!(Change::parse(other), Change::All, "{other}");
        }
        assert_eq!(Notice::parse(&format!("fence:{id}")), Notice::Fence(id));
        assert_eq!(Notice::parse(&format!("ack:{id}")), Notice::Ack(id));
        assert_eq!(Notice::parse("fence:x"), Notice::Changed(Change::All));
        assert_eq!(Notice::parse("bucket:b"), Notice::Changed(Change::Bucket("b".into())));
    }
}
