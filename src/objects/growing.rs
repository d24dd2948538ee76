//! Room for a body of unknown length (sent `Transfer-Encoding: chunked` with no declared
//! size), reserved as its bytes arrive. Reservations come in growing steps (so a large body
//! makes few round trips), and near a limit shrink to exactly the bytes in hand, so an
//! upload is refused as soon as its next chunk would cross a limit and never sooner. Nothing
//! is over-allocated: a chunk goes on to storage only once room for it is reserved.
//!
//! The steps are separate reservation rows while the body streams; [`Growing::finish`]
//! folds them into one, which the commit (or a multipart part's row) settles like any other.

use bytes::Bytes;
use futures::{Stream, StreamExt as _};
use sqlx::PgPool;
use tokio::sync::mpsc;
use uuid::Uuid;

use super::BodyError;
use super::quota::{self, QuotaError, Reservation, Target};

/// The first step: most bodies of unknown length are small.
const FIRST_STEP: u64 = 1 << 20;
/// The largest step: a reservation larger than what is in hand is room others cannot have
/// until the body ends.
const MAX_STEP: u64 = 64 << 20;

/// The reservations taken so far for one body.
pub struct Growing {
    db: PgPool,
    instance: Uuid,
    bucket_id: Uuid,
    /// Bytes of the object the reservations cover (the first may cover bytes the object it
    /// replaces frees).
    covered: u64,
    held: Vec<Reservation>,
}

impl Growing {
    /// Takes the first reservation, for `target` (an object slot for a new key, and the
    /// first bytes): [`FIRST_STEP`], or only the slot when even that does not fit.
    pub async fn start(db: &PgPool, instance: Uuid, bucket_id: Uuid, target: Target<'_>) -> Result<Self, QuotaError> {
        let (first, covered) = match quota::reserve(db, instance, bucket_id, target, FIRST_STEP).await {
            Ok(r) => (r, FIRST_STEP),
            Err(QuotaError::Exceeded(_)) => (quota::reserve(db, instance, bucket_id, target, 0).await?, 0),
            Err(e) => return Err(e),
        };
        Ok(Self {
            db: db.clone(),
            instance,
            bucket_id,
            covered,
            held: vec![first],
        })
    }

    /// Makes sure `total` bytes are covered: one more step (the larger of what is missing
    /// and the room held so far, up to [`MAX_STEP`]), or, when that does not fit, exactly
    /// what is missing.
    async fn cover(&mut self, total: u64) -> Result<(), QuotaError> {
        if total <= self.covered {
            return Ok(());
        }
        let missing = total - self.covered;
        let step = missing.max(self.covered.clamp(FIRST_STEP, MAX_STEP));
        let (r, got) = match quota::reserve(&self.db, self.instance, self.bucket_id, Target::Part, step).await {
            Ok(r) => (r, step),
            Err(QuotaError::Exceeded(_)) if step > missing => (
                quota::reserve(&self.db, self.instance, self.bucket_id, Target::Part, missing).await?,
                missing,
            ),
            Err(e) => return Err(e),
        };
        self.held.push(r);
        self.covered += got;
        Ok(())
    }

    /// Folds the reservations into one, for the commit to settle.
    pub async fn finish(self) -> Result<Reservation, QuotaError> {
        quota::merge(&self.db, self.held).await
    }
}

/// Passes `body` on to `tx` chunk by chunk, each only once `growing` (if any) has room for
/// it. A refusal is sent on as a body error, so the write stops and drops what it wrote,
/// and returned. Returns the reservations when the body has ended.
pub async fn pump<B>(
    body: Option<B>,
    mut growing: Option<Growing>,
    tx: mpsc::Sender<Result<Bytes, BodyError>>,
) -> Result<Option<Growing>, QuotaError>
where
    B: Stream<Item = Result<Bytes, BodyError>> + Unpin,
{
    let Some(mut body) = body else { return Ok(growing) };
    let mut total = 0u64;
    while let Some(item) = body.next().await {
        let chunk = match item {
            Ok(chunk) => chunk,
            Err(e) => {
                let _ = tx.send(Err(e)).await;
                return Ok(growing);
            }
        };
        total += chunk.len() as u64;
        if let Some(g) = growing.as_mut()
            && let Err(e) = g.cover(total).await
        {
            let _ = tx.send(Err(e.to_string().into())).await;
            return Err(e);
        }
        if tx.send(Ok(chunk)).await.is_err() {
            break; // the write stopped (too large, or failed) and says why
        }
    }
    Ok(growing)
}
