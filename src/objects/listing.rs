//! Walking a bucket's keys in order under a prefix, rolling up common prefixes: the part of
//! ListObjects, ListObjectsV2 and ListObjectVersions they share, and the JSON API's file
//! listing (folders are common prefixes at `/`). The rows come from
//! PostgreSQL in pages ([`Rows`]: objects, or versions of objects).
//!
//! Keys are stored with collation "C", so `order by key` is byte order, which for UTF-8 is
//! code point order: the order S3 lists in. A common prefix is emitted once and the scan
//! then jumps past every key under it (to the prefix's [`successor`]).

use std::collections::VecDeque;

use sqlx::PgPool;
use uuid::Uuid;

use crate::db::objects::{self, Listed, Start};
use crate::db::{DbError, versions};

/// The most rows read from PostgreSQL at once (S3's largest page).
const MAX_BATCH: i32 = 1000;

/// What a listing lists, read from PostgreSQL a page at a time in key order.
pub trait Rows {
    /// One row.
    type Row;
    /// Its key.
    fn key(row: &Self::Row) -> &str;
    /// Its version id, for a listing of versions.
    fn version(row: &Self::Row) -> Option<&str>;
    /// Where the scan goes on after it.
    fn after(row: &Self::Row) -> Start;
    /// Up to `limit` rows from `from`, with keys before `to` when it is given.
    fn fetch(
        db: &PgPool,
        bucket_id: Uuid,
        from: &Start,
        to: Option<&str>,
        limit: i64,
    ) -> impl Future<Output = Result<Vec<Self::Row>, DbError>> + Send;
}

/// Objects, one per key.
pub struct Objects;

impl Rows for Objects {
    type Row = Listed;

    fn key(row: &Listed) -> &str {
        &row.key
    }

    fn version(_: &Listed) -> Option<&str> {
        None
    }

    fn after(row: &Listed) -> Start {
        Start::After(row.key.clone())
    }

    async fn fetch(
        db: &PgPool,
        bucket_id: Uuid,
        from: &Start,
        to: Option<&str>,
        limit: i64,
    ) -> Result<Vec<Listed>, DbError> {
        objects::list_range(db, bucket_id, from, to, limit).await
    }
}

/// Objects with every column, one per key (the JSON API's files).
pub struct Files;

impl Rows for Files {
    type Row = objects::Object;

    fn key(row: &objects::Object) -> &str {
        &row.key
    }

    fn version(_: &objects::Object) -> Option<&str> {
        None
    }

    fn after(row: &objects::Object) -> Start {
        Start::After(row.key.clone())
    }

    async fn fetch(
        db: &PgPool,
        bucket_id: Uuid,
        from: &Start,
        to: Option<&str>,
        limit: i64,
    ) -> Result<Vec<objects::Object>, DbError> {
        objects::list_range_full(db, bucket_id, from, to, limit).await
    }
}

/// Versions: every version of each key, newest first.
pub struct Versions;

impl Rows for Versions {
    type Row = versions::Listed;

    fn key(row: &versions::Listed) -> &str {
        &row.key
    }

    fn version(row: &versions::Listed) -> Option<&str> {
        Some(&row.version_id)
    }

    fn after(row: &versions::Listed) -> Start {
        Start::AfterVersion {
            key: row.key.clone(),
            seq: row.seq,
        }
    }

    async fn fetch(
        db: &PgPool,
        bucket_id: Uuid,
        from: &Start,
        to: Option<&str>,
        limit: i64,
    ) -> Result<Vec<versions::Listed>, DbError> {
        versions::list_range(db, bucket_id, from, to, limit).await
    }
}

/// The smallest string greater than every string that starts with `s`, if any: drop
/// trailing `char::MAX`, then increment the last character.
pub fn successor(s: &str) -> Option<String> {
    let mut chars: Vec<char> = s.chars().collect();
    while let Some(last) = chars.pop() {
        let next = match last as u32 {
            0xD7FF => Some('\u{E000}'),
            c => char::from_u32(c + 1),
        };
        if let Some(n) = next {
            chars.push(n);
            return Some(chars.into_iter().collect());
        }
    }
    None
}

/// The common prefix `key` rolls up into: up to and including the first `delimiter` after
/// `prefix`.
pub fn common_prefix<'k>(key: &'k str, prefix: &str, delimiter: Option<&str>) -> Option<&'k str> {
    let d = delimiter?;
    let rest = key.get(prefix.len()..)?;
    rest.find(d).map(|i| &key[..prefix.len() + i + d.len()])
}

/// One listing entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Entry<R> {
    /// An object (or a version).
    Object(R),
    /// A common prefix.
    Prefix(String),
}

/// What a listing asks for.
pub struct Query<'a> {
    /// Keys under this.
    pub prefix: &'a str,
    /// Rolls keys up into common prefixes at this.
    pub delimiter: Option<&'a str>,
    /// Only keys (and prefixes) after this (a marker, start-after, key-marker).
    pub after: Option<&'a str>,
    /// Where the scan starts, when not just after `after` (a version-id-marker).
    pub from: Option<Start>,
    /// Entries per page.
    pub max_keys: i32,
}

/// Walks a bucket's keys under `prefix` in order, rolling up common prefixes, strictly
/// after `after`.
struct Lister<'a, R: Rows> {
    db: &'a PgPool,
    bucket_id: Uuid,
    prefix: &'a str,
    delimiter: Option<&'a str>,
    after: Option<&'a str>,
    from: Start,
    to: Option<String>,
    buf: VecDeque<R::Row>,
    exhausted: bool,
    batch: i64,
}

impl<'a, R: Rows> Lister<'a, R> {
    fn new(db: &'a PgPool, bucket_id: Uuid, q: &Query<'a>) -> Self {
        let prefix = q.prefix;
        let from = match (&q.from, q.after) {
            (Some(from), _) => from.clone(),
            (None, Some(a)) if a >= prefix => Start::After(a.to_owned()),
            _ => Start::Including(prefix.to_owned()),
        };
        Self {
            db,
            bucket_id,
            prefix,
            delimiter: q.delimiter,
            after: q.after,
            from,
            to: if prefix.is_empty() { None } else { successor(prefix) },
            buf: VecDeque::new(),
            exhausted: false,
            batch: i64::from(q.max_keys.clamp(1, MAX_BATCH)) + 1,
        }
    }

    async fn next(&mut self) -> Result<Option<Entry<R::Row>>, DbError> {
        loop {
            if self.buf.is_empty() {
                if self.exhausted {
                    return Ok(None);
                }
                let rows = R::fetch(self.db, self.bucket_id, &self.from, self.to.as_deref(), self.batch).await?;
                self.exhausted = (rows.len() as i64) < self.batch;
                if let Some(last) = rows.last() {
                    self.from = R::after(last);
                }
                self.buf.extend(rows);
                if self.buf.is_empty() {
                    return Ok(None);
                }
            }
            let row = self.buf.pop_front().expect("buffer is not empty");
            let key = R::key(&row);
            if !key.starts_with(self.prefix) {
                // Keys are sorted and start at the prefix: nothing further can match.
                self.buf.clear();
                self.exhausted = true;
                return Ok(None);
            }
            let Some(cp) = common_prefix(key, self.prefix, self.delimiter) else {
                return Ok(Some(Entry::Object(row)));
            };
            let cp = cp.to_owned();
            while self.buf.front().is_some_and(|r| R::key(r).starts_with(&cp)) {
                self.buf.pop_front();
            }
            if self.buf.is_empty() {
                // The last row fetched was under `cp`, so nothing fetched is skipped, and a
                // short batch (exhausted) stays exhausted.
                match successor(&cp) {
                    Some(next) => self.from = Start::Including(next),
                    None => self.exhausted = true,
                }
            }
            if self.after.is_some_and(|a| cp.as_str() <= a) {
                continue;
            }
            return Ok(Some(Entry::Prefix(cp)));
        }
    }
}

/// A page of a listing.
pub struct Page<T> {
    pub objects: Vec<T>,
    pub prefixes: Vec<String>,
    pub truncated: bool,
    /// The key, or common prefix, of the page's last entry.
    pub last: Option<String>,
    /// The version id of the page's last entry, if it is a version.
    pub last_version: Option<String>,
}

/// One page of what `R` lists in `bucket_id`.
pub async fn page<R: Rows>(db: &PgPool, bucket_id: Uuid, q: &Query<'_>) -> Result<Page<R::Row>, DbError> {
    let mut lister = Lister::<R>::new(db, bucket_id, q);
    let mut p = Page {
        objects: Vec::new(),
        prefixes: Vec::new(),
        truncated: false,
        last: None,
        last_version: None,
    };
    let mut count = 0;
    while count < q.max_keys {
        let Some(entry) = lister.next().await? else {
            return Ok(p);
        };
        match entry {
            Entry::Object(o) => {
                p.last = Some(R::key(&o).to_owned());
                p.last_version = R::version(&o).map(str::to_owned);
                p.objects.push(o);
            }
            Entry::Prefix(cp) => {
                p.last = Some(cp.clone());
                p.last_version = None;
                p.prefixes.push(cp);
            }
        }
        count += 1;
    }
    // With max-keys=0 nothing is returned and nothing is promised.
    p.truncated = q.max_keys > 0 && lister.next().await?.is_some();
    Ok(p)
}
