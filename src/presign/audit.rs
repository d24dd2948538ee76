//! The audit of presigned URL use: the server notes each presigned request when it is
//! answered, and the notes are written to PostgreSQL in one statement every few seconds
//! (no write on the download path). Rows buffered by an instance that crashes are lost.

use std::sync::{Arc, Mutex};

use sqlx::PgPool;
use time::OffsetDateTime;

use crate::db::{self, DbError, links::AuditRow};
use crate::obs::context::RequestContext;
use crate::presign::Presigned;

/// At most this many rows wait in memory; beyond it (the database is down) new ones are
/// dropped with a warning rather than growing without bound.
const MAX_PENDING: usize = 100_000;

/// A presigned request seen on its way in, finished when it is answered.
#[derive(Debug, Clone)]
pub struct PresignedUse {
    row: AuditRow,
    /// The request's context, which names the caller once authorized (so an audit row names
    /// the user even if the key is deleted before the row is written).
    pub context: RequestContext,
}

impl PresignedUse {
    /// Notes a presigned request; `None` for any other request.
    pub fn start(
        presigned: Presigned,
        method: &http::Method,
        target: Option<(String, Option<String>)>,
        user_agent: Option<String>,
        request_bytes: Option<u64>,
        context: RequestContext,
    ) -> Self {
        // Everything here comes from the request as sent (the path decoded, the query's
        // credential): recorded whatever it holds, so control characters are replaced, or
        // one NUL would make every batch it lands in fail to insert.
        let scrub = |s: String| crate::text::scrub(&s);
        let (bucket, key) = match target {
            Some((b, k)) => (Some(scrub(b)), k.map(scrub)),
            None => (None, None),
        };
        Self {
            row: AuditRow {
                id: 0,
                at: OffsetDateTime::now_utc(),
                event: "used".into(),
                link_id: presigned.link.flatten(),
                access_key_id: Some(scrub(presigned.access_key_id)),
                user_id: None,
                bucket,
                key,
                method: method.as_str().to_owned(),
                status: 0,
                bytes: request_bytes.map_or(0, |b| b as i64),
                client_addr: Some(context.client().to_string()),
                user_agent: user_agent.map(scrub),
            },
            context,
        }
    }

    /// Whether the URL was made by GoDrive (carries a link id).
    pub fn is_link(&self) -> bool {
        self.row.link_id.is_some()
    }

    /// The row, with the answer's status and (for downloads) its body length.
    pub fn finish(mut self, status: u16, response_bytes: Option<u64>) -> AuditRow {
        self.row.status = i32::from(status);
        self.row.user_id = self.context.user();
        if self.row.method == "GET" {
            self.row.bytes = response_bytes.map_or(0, |b| b as i64);
        }
        self.row
    }
}

/// A `created` row for a link made through the JSON API.
pub fn created(link: &db::links::Link, client_addr: Option<String>, user_agent: Option<String>) -> AuditRow {
    AuditRow {
        id: 0,
        at: link.created_at,
        event: "created".into(),
        link_id: Some(link.id),
        access_key_id: Some(link.access_key_id.clone()),
        user_id: Some(link.user_id),
        bucket: Some(link.bucket.clone()),
        key: Some(link.key.clone()),
        method: link.method.clone(),
        status: 201,
        bytes: 0,
        client_addr,
        user_agent,
    }
}

/// Buffered audit rows of one instance.
#[derive(Clone, Default)]
pub struct AuditLog {
    pending: Arc<Mutex<Vec<AuditRow>>>,
}

impl std::fmt::Debug for AuditLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AuditLog")
    }
}

impl AuditLog {
    /// Buffers a row.
    pub fn record(&self, row: AuditRow) {
        let mut p = self.pending.lock().expect("audit lock");
        if p.len() >= MAX_PENDING {
            tracing::warn!("audit buffer full; dropping a presigned-URL audit row");
            return;
        }
        p.push(row);
    }

    /// Writes what is buffered; on failure the rows are put back for the next flush.
    pub async fn flush(&self, db: &PgPool) -> Result<(), DbError> {
        let batch = std::mem::take(&mut *self.pending.lock().expect("audit lock"));
        if batch.is_empty() {
            return Ok(());
        }
        if let Err(e) = db::links::insert_audit(db, &batch).await {
            let mut p = self.pending.lock().expect("audit lock");
            let room = MAX_PENDING.saturating_sub(p.len());
            p.extend(batch.into_iter().take(room));
            return Err(e);
        }
        Ok(())
    }
}
