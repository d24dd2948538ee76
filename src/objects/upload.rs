//! Receiving an upload: hash while streaming into a new blob, then commit its row.
//!
//! Order of side effects, which is what keeps metadata and bytes consistent:
//! 1. bytes are written under a fresh UUID and are durable when `Storage::put` returns;
//! 2. digests are checked (Content-MD5, signed SHA-256); a mismatch deletes the blob;
//! 3. the row is committed in a detached task, so a client disconnect cannot cancel it
//!    halfway; the task deletes the blob itself if the commit fails;
//! 4. the blob the row displaced (an overwrite) is deleted after the commit.
//!
//! A [`PendingBlob`] guard deletes the new blob if anything before the commit fails or the
//! request future is dropped. A crash between 1 and 3 leaves a blob no row references;
//! `godrive gc` removes those after a grace period.

use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use bytes::Bytes;
use futures::Stream;
use md5::{Digest as _, Md5};
use sha2::Sha256;
use time::OffsetDateTime;

use super::{BodyError, UploadError};
use crate::app::AppState;
use crate::checksum::{self, Checksums};

pub use super::integrity::{Expected, check_content_md5};
use crate::db::DbError;
use crate::db::objects::{self, NewObject};
use crate::objects::quota::Reservation;
use crate::storage::parts::delete_all_in_background;
use crate::storage::{BlobId, Storage, delete_in_background};

/// MD5, SHA-256, flexible checksums and length of everything that went through.
#[derive(Debug, Clone)]
pub struct Digests {
    /// MD5 of the content.
    pub md5: [u8; 16],
    /// SHA-256 of the content.
    pub sha256: [u8; 32],
    /// The flexible checksums the client asked for or sent, verified.
    pub checksums: Checksums,
    /// Bytes seen.
    pub len: u64,
}

struct HashState {
    md5: Md5,
    sha256: Sha256,
    checksums: checksum::Hasher,
    len: u64,
    body_error: Option<BodyError>,
}

/// Passes the request body through while hashing it; remembers why the body failed.
///
/// The chunk that completes the declared length is held back until the request body has
/// ended: a sink that stops reading at the declared length (the S3 client does) would
/// otherwise never let s3s parse the aws-chunked trailer, and its checksum would go unchecked.
struct Hashing<B> {
    inner: Option<B>,
    state: Arc<Mutex<HashState>>,
    declared: u64,
    held: Option<Bytes>,
}

impl<B> Hashing<B> {
    fn fail(&mut self, e: BodyError) -> Poll<Option<Result<Bytes, io::Error>>> {
        let msg = e.to_string();
        self.state.lock().expect("hash state lock").body_error = Some(e);
        self.inner = None;
        self.held = None;
        Poll::Ready(Some(Err(io::Error::other(msg))))
    }
}

impl<B: Stream<Item = Result<Bytes, BodyError>> + Unpin> Stream for Hashing<B> {
    type Item = Result<Bytes, io::Error>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        loop {
            let Some(inner) = self.inner.as_mut() else {
                return Poll::Ready(self.held.take().map(Ok));
            };
            match Pin::new(inner).poll_next(cx) {
                Poll::Ready(Some(Ok(chunk))) => {
                    if self.held.is_some() {
                        return self.fail("body longer than declared".into());
                    }
                    let complete = {
                        let mut st = self.state.lock().expect("hash state lock");
                        st.md5.update(&chunk);
                        st.sha256.update(&chunk);
                        st.checksums.update(&chunk);
                        st.len += chunk.len() as u64;
                        st.len >= self.declared
                    };
                    if !complete {
                        return Poll::Ready(Some(Ok(chunk)));
                    }
                    // Hold the last chunk and read on to the end of the body.
                    self.held = Some(chunk);
                }
                Poll::Ready(Some(Err(e))) => return self.fail(e),
                Poll::Ready(None) => {
                    self.inner = None;
                    return Poll::Ready(self.held.take().map(Ok));
                }
                Poll::Pending => return Poll::Pending,
            }
        }
    }
}

/// A stored blob (or the part blobs of an object stored as its parts) no row references
/// yet. Dropping it armed deletes the blobs.
pub struct PendingBlob {
    storage: Arc<dyn Storage>,
    /// The blob's name (the row's `blob_id`; with part blobs, a name no blob has).
    pub id: BlobId,
    /// The part blobs guarded instead of `id`, if any.
    parts: Vec<BlobId>,
    armed: bool,
}

impl PendingBlob {
    /// Guards a blob about to be written.
    pub fn new(storage: Arc<dyn Storage>) -> Self {
        Self::adopt(storage, BlobId::new())
    }

    /// Guards an existing blob (an assembled multipart object).
    pub fn adopt(storage: Arc<dyn Storage>, id: BlobId) -> Self {
        Self {
            storage,
            id,
            parts: Vec::new(),
            armed: true,
        }
    }

    /// Guards the part blobs of a new object stored as its parts (a copy of one); `id` is
    /// a fresh name no blob has.
    pub fn parts(storage: Arc<dyn Storage>, parts: Vec<BlobId>) -> Self {
        Self {
            storage,
            id: BlobId::new(),
            parts,
            armed: true,
        }
    }

    /// Names `id` for a row without guarding anything: the bytes belong to someone else
    /// until the commit (a multipart upload's part blobs stay the upload's if it fails).
    pub fn unguarded(storage: Arc<dyn Storage>, id: BlobId) -> Self {
        Self {
            storage,
            id,
            parts: Vec::new(),
            armed: false,
        }
    }

    fn disarm(mut self) {
        self.armed = false;
    }
}

impl Drop for PendingBlob {
    fn drop(&mut self) {
        if !self.armed {
            return;
        }
        if self.parts.is_empty() {
            delete_in_background(self.storage.clone(), self.id);
        } else {
            delete_all_in_background(self.storage.clone(), std::mem::take(&mut self.parts));
        }
    }
}

/// Streams `body` (exactly `len` bytes) into a new blob, hashing as it goes, and verifies
/// the declared checksums.
pub async fn receive<B>(
    state: &AppState,
    body: Option<B>,
    len: u64,
    expected: Expected,
) -> Result<(PendingBlob, Digests), UploadError>
where
    B: Stream<Item = Result<Bytes, BodyError>> + Unpin + Send + Sync + 'static,
{
    let pending = PendingBlob::new(state.storage.clone());
    let storage = state.storage.clone();
    let id = pending.id;
    let (digests, ()) = hash_through(body, len, expected, |stream| async move {
        storage.put(id, stream, len).await
    })
    .await?;
    Ok((pending, digests))
}

/// Runs `sink` over the hashed body, then checks the body's own errors, the sink's result
/// and the declared checksums, in that order.
pub async fn hash_through<B, F, Fut, T>(
    body: Option<B>,
    len: u64,
    expected: Expected,
    sink: F,
) -> Result<(Digests, T), UploadError>
where
    B: Stream<Item = Result<Bytes, BodyError>> + Unpin + Send + Sync + 'static,
    F: FnOnce(crate::storage::BlobStream) -> Fut,
    Fut: std::future::Future<Output = Result<T, crate::storage::StorageError>>,
{
    let hash = Arc::new(Mutex::new(HashState {
        md5: Md5::new(),
        sha256: Sha256::new(),
        checksums: checksum::Hasher::new(expected.algorithms().iter().copied()),
        len: 0,
        body_error: None,
    }));
    let stream = Hashing {
        inner: body,
        state: hash.clone(),
        declared: len,
        held: None,
    };
    let stored = sink(Box::pin(stream)).await;
    let mut st = hash.lock().expect("hash state lock");
    if let Some(e) = st.body_error.take() {
        return Err(UploadError::Body(e));
    }
    let out = stored?;
    let digests = Digests {
        md5: std::mem::take(&mut st.md5).finalize().into(),
        sha256: std::mem::take(&mut st.sha256).finalize().into(),
        checksums: std::mem::replace(&mut st.checksums, checksum::Hasher::new([])).finalize(),
        len: st.len,
    };
    drop(st);
    expected.verify(&digests.checksums)?;
    Ok((digests, out))
}

/// Commits `new` (whose blob is `pending`) and deletes the blob it displaced. Returns the
/// object's Last-Modified.
pub async fn commit(
    state: &AppState,
    new: NewObject,
    pending: PendingBlob,
    reservation: Option<Reservation>,
) -> Result<OffsetDateTime, UploadError> {
    commit_and_finish(state, new, pending, reservation, None).await
}

/// Like [`commit`], and removes multipart upload `finished` in the same transaction.
pub async fn commit_and_finish(
    state: &AppState,
    new: NewObject,
    pending: PendingBlob,
    reservation: Option<Reservation>,
    finished: Option<uuid::Uuid>,
) -> Result<OffsetDateTime, UploadError> {
    let state = state.clone();
    let mut new = new;
    new.reservations.extend(reservation.as_ref().map(|r| r.id));
    let task = tokio::spawn(async move {
        let mut tx = state.db.begin().await.map_err(DbError::from)?;
        let (old, at) = objects::commit_put(&mut tx, &new).await?;
        if let Some(id) = finished {
            crate::db::multipart::delete(&mut *tx, id).await?;
        }
        tx.commit().await.map_err(DbError::from)?;
        pending.disarm();
        // The commit released the reservation in its transaction.
        if let Some(r) = reservation {
            r.settled();
        }
        let kept = |b: &uuid::Uuid| *b == new.blob_id || new.part_blobs.as_ref().is_some_and(|p| p.contains(b));
        let old: Vec<BlobId> = old.into_iter().filter(|b| !kept(b)).map(BlobId).collect();
        delete_all_in_background(state.storage.clone(), old);
        Ok::<_, UploadError>(at)
    });
    task.await.map_err(|e| UploadError::Commit(e.to_string()))?
}
