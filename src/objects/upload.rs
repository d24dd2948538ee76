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

use std::sync::Arc;

use bytes::Bytes;
use futures::Stream;
use time::OffsetDateTime;

use super::{BodyError, UploadError};
use crate::app::AppState;

pub use super::integrity::{Expected, check_content_md5};
use crate::db::objects::NewObject;
use crate::objects::growing::Growing;
use crate::objects::quota::Reservation;
use crate::storage::parts::delete_all_in_background;
use crate::storage::{BlobId, Storage, delete_in_background};

pub use super::hashing::Digests;
use super::hashing::Hashing;

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

/// Streams `body`, of unknown length (refused past `limit` bytes), into a new blob, hashing
/// as it goes; with `growing`, each chunk is stored only once room for it is reserved
/// ([`growing`](super::growing)). Returns the blob, its digests and the one reservation the
/// growing ones were folded into.
pub async fn receive_unsized<B>(
    state: &AppState,
    body: Option<B>,
    limit: u64,
    expected: Expected,
    growing: Option<Growing>,
) -> Result<(PendingBlob, Digests, Option<Reservation>), UploadError>
where
    B: Stream<Item = Result<Bytes, BodyError>> + Unpin + Send + 'static,
{
    let pending = PendingBlob::new(state.storage.clone());
    let storage = state.storage.clone();
    let id = pending.id;
    let (digests, _len, reservation) = hash_through_unsized(body, expected, growing, |stream| async move {
        storage.put_unsized(id, stream, limit).await
    })
    .await?;
    Ok((pending, digests, reservation))
}

/// [`hash_through`] for a body of unknown length, with room reserved as it arrives when
/// `growing` is given; returns the one reservation the growing ones were folded into.
pub async fn hash_through_unsized<B, F, Fut, T>(
    body: Option<B>,
    expected: Expected,
    growing: Option<Growing>,
    sink: F,
) -> Result<(Digests, T, Option<Reservation>), UploadError>
where
    B: Stream<Item = Result<Bytes, BodyError>> + Unpin + Send + 'static,
    F: FnOnce(crate::storage::BlobStream) -> Fut,
    Fut: std::future::Future<Output = Result<T, crate::storage::StorageError>>,
{
    // The body is pumped through a channel: the sink needs a stream it owns (and `Sync`),
    // while reserving needs the database between chunks.
    let (tx, rx) = tokio::sync::mpsc::channel(4);
    let write = hash_through(
        Some(tokio_stream::wrappers::ReceiverStream::new(rx)),
        u64::MAX,
        expected,
        sink,
    );
    let (written, pumped) = tokio::join!(write, super::growing::pump(body, growing, tx));
    // A refusal is why the write failed, if it did.
    let growing = pumped?;
    let (digests, out) = written?;
    let reservation = match growing {
        Some(g) => Some(g.finish().await?),
        None => None,
    };
    Ok((digests, out, reservation))
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
    let (stream, hashes) = Hashing::new(body, len, &expected);
    let stored = sink(Box::pin(stream)).await;
    let digests = hashes.finish().await?;
    let out = stored?;
    expected.verify(&digests.checksums)?;
    Ok((digests, out))
}

/// A committed object: its Last-Modified and version id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stored {
    /// Last-Modified.
    pub at: OffsetDateTime,
    /// Its version id (`null` while versioning is suspended), if its bucket has ever been
    /// versioned.
    pub version_id: Option<String>,
}

/// Commits `new` (whose blob is `pending`) and deletes the blobs it displaced.
pub async fn commit(
    state: &AppState,
    new: NewObject,
    pending: PendingBlob,
    reservation: Option<Reservation>,
) -> Result<Stored, UploadError> {
    commit_and_finish(state, new, pending, reservation, None).await
}

/// Like [`commit`], and removes multipart upload `finished` in the same transaction.
pub async fn commit_and_finish(
    state: &AppState,
    new: NewObject,
    pending: PendingBlob,
    reservation: Option<Reservation>,
    finished: Option<uuid::Uuid>,
) -> Result<Stored, UploadError> {
    let state = state.clone();
    let mut new = new;
    new.reservations.extend(reservation.as_ref().map(|r| r.id));
    let task = tokio::spawn(async move {
        let (blob, kept_parts) = (new.blob_id, new.part_blobs.clone());
        let done = state.committer.commit(&state.db, new, finished).await?;
        pending.disarm();
        // The commit released the reservation in its transaction.
        if let Some(r) = reservation {
            r.settled();
        }
        let kept = |b: &uuid::Uuid| *b == blob || kept_parts.as_ref().is_some_and(|p| p.contains(b));
        let old: Vec<BlobId> = done.displaced.into_iter().filter(|b| !kept(b)).map(BlobId).collect();
        delete_all_in_background(state.storage.clone(), old);
        Ok::<_, UploadError>(Stored {
            at: done.at,
            version_id: done.version_id,
        })
    });
    task.await.map_err(|e| UploadError::Commit(e.to_string()))?
}

#[cfg(test)]
mod tests {
    use futures::StreamExt as _;

    use super::*;
    use crate::checksum::Algorithm;
    use crate::storage::StorageError;

    const TEXT: &[u8] = b"The quick brown fox jumps over the lazy dog";
    const MD5: &str = "9e107d9d372bb6826bd81d3542a419d6";
    const SHA256: &str = "d7a8fbb307d7809469ca9abcb0082e4f8d5651e46d3cdb762d02d0bf37c9e592";
    /// Base64 of the big-endian CRCs (0x414FA339, 0x22620404, 0xD76C54054954C143) and SHA-1.
    const SUMS: [(Algorithm, &str); 5] = [
        (Algorithm::Crc32, "QU+jOQ=="),
        (Algorithm::Crc32c, "ImIEBA=="),
        (Algorithm::Crc64nvme, "12xUBUlUwUM="),
        (Algorithm::Sha1, "L9ThxnotKPzthJ7hu3bnORuT6xI="),
        (Algorithm::Sha256, "16j7swfXgJRpypq8sAguT41WUeRtPNt2LQLQvzfJ5ZI="),
    ];

    type Chunk = Result<Bytes, BodyError>;

    /// `data` cut into chunks of the given sizes, repeated; whatever is left is the last one.
    fn split(data: &[u8], sizes: &[usize]) -> Vec<Chunk> {
        let mut out = Vec::new();
        let mut rest = data;
        for size in sizes.iter().cycle() {
            if rest.is_empty() {
                break;
            }
            let (head, tail) = rest.split_at((*size).min(rest.len()));
            out.push(Ok(Bytes::copy_from_slice(head)));
            rest = tail;
        }
        out
    }

    /// Runs the chunks through `hash_through` into a sink that keeps what it reads.
    async fn through(chunks: Vec<Chunk>, declared: u64, expected: Expected) -> Result<(Digests, Vec<u8>), UploadError> {
        let body = futures::stream::iter(chunks);
        hash_through(Some(body), declared, expected, |mut stream| async move {
            let mut kept = Vec::new();
            while let Some(chunk) = stream.next().await {
                kept.extend_from_slice(&chunk.map_err(StorageError::Io)?);
            }
            Ok(kept)
        })
        .await
    }

    fn every_algorithm() -> Expected {
        crate::checksum::ALL
            .into_iter()
            .fold(Expected::none(), |e, a| e.also(Some(a)))
    }

    #[tokio::test]
    async fn streamed_digests_equal_the_one_shot_digests_for_any_split() {
        let splits: [&[usize]; 9] = [&[1], &[2], &[3], &[7], &[16], &[42], &[43], &[1000], &[5, 0, 1, 20, 17]];
        for sizes in splits {
            for declared in [TEXT.len() as u64, u64::MAX] {
                let (d, kept) = through(split(TEXT, sizes), declared, every_algorithm()).await.unwrap();
                assert_eq!(kept, TEXT, "{sizes:?}");
                assert_eq!(d.len, 43);
                assert_eq!(hex::encode(d.md5), MD5, "{sizes:?}");
                assert_eq!(hex::encode(d.sha256), SHA256, "{sizes:?}");
                for (a, v) in SUMS {
                    assert_eq!(d.checksums.get(a), Some(v), "{a:?} {sizes:?}");
                }
            }
        }
    }

    #[tokio::test]
    async fn only_the_asked_checksums_are_computed() {
        let asked = Expected::none().also(Some(Algorithm::Crc32c));
        let (d, _) = through(split(TEXT, &[10]), 43, asked).await.unwrap();
        assert_eq!(d.checksums.0.len(), 1);
        assert_eq!(d.checksums.get(Algorithm::Crc32c), Some("ImIEBA=="));
        let (d, _) = through(split(TEXT, &[10]), 43, Expected::none()).await.unwrap();
        assert!(d.checksums.is_empty());
        assert_eq!(hex::encode(d.md5), MD5);
    }

    #[tokio::test]
    async fn an_empty_body_has_the_empty_digests() {
        let (d, kept) = through(Vec::new(), 0, every_algorithm()).await.unwrap();
        assert!(kept.is_empty());
        assert_eq!(d.len, 0);
        assert_eq!(hex::encode(d.md5), "d41d8cd98f00b204e9800998ecf8427e");
        assert_eq!(
            hex::encode(d.sha256),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        assert_eq!(d.checksums.get(Algorithm::Crc32), Some("AAAAAA=="));
    }

    #[tokio::test]
    async fn sent_checksums_are_verified() {
        let mut headers = http::HeaderMap::new();
        headers.insert("x-amz-checksum-crc32", http::HeaderValue::from_static("QU+jOQ=="));
        let sent = Expected::from_request(&headers, None).unwrap();
        assert!(through(split(TEXT, &[4]), 43, sent).await.is_ok());
        headers.insert("x-amz-checksum-crc32", http::HeaderValue::from_static("ImIEBA=="));
        let sent = Expected::from_request(&headers, None).unwrap();
        let err = through(split(TEXT, &[4]), 43, sent).await.unwrap_err();
        assert!(
            matches!(err, UploadError::ChecksumMismatch(Algorithm::Crc32)),
            "{err:?}"
        );
    }

    #[tokio::test]
    async fn a_body_that_fails_or_runs_past_its_length_is_a_body_error() {
        let mut chunks = split(TEXT, &[10]);
        chunks.insert(2, Err("connection reset".into()));
        let err = through(chunks, 43, Expected::none()).await.unwrap_err();
        assert!(
            matches!(&err, UploadError::Body(e) if e.to_string() == "connection reset"),
            "{err:?}"
        );
        let err = through(split(TEXT, &[10]), 20, Expected::none()).await.unwrap_err();
        assert!(
            matches!(&err, UploadError::Body(e) if e.to_string() == "body longer than declared"),
            "{err:?}"
        );
    }
}
