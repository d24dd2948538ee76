//! Objects stored as their multipart parts. Each part of an upload is a blob of its own,
//! named by UUID like any blob; completing the upload records the part blobs, in order, on
//! the object's row and writes no byte again. Reading such an object streams its part blobs
//! one after the other, opening each when the one before it ends.
//!
//! Uploads begun before part blobs existed keep their parts inside the backend's own upload
//! ([`Storage::create_upload`] and the rest); their handle is anything but [`PART_BLOBS`],
//! and completing them still assembles one blob.

use std::collections::VecDeque;
use std::future::Future;
use std::io;
use std::ops::Range;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};

use bytes::Bytes;
use futures::{Stream, StreamExt, TryStreamExt};

use super::{BlobId, BlobStream, Storage, StorageError};

/// The backend handle of an upload whose parts are blobs of their own (no backend upload).
pub const PART_BLOBS: &str = "part-blobs";

/// How many part blobs are copied or deleted at a time.
const CONCURRENCY: usize = 4;

/// Whether an upload with backend handle `handle` stores its parts as blobs of their own.
pub fn parts_are_blobs(handle: &str) -> bool {
    handle == PART_BLOBS
}

/// Where an object's bytes are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Layout {
    /// One blob.
    Blob(BlobId),
    /// Part blobs in order, each with its length.
    Parts(Vec<(BlobId, u64)>),
}

impl Layout {
    /// Every blob the object owns.
    pub fn blobs(&self) -> Vec<BlobId> {
        match self {
            Layout::Blob(id) => vec![*id],
            Layout::Parts(parts) => parts.iter().map(|(id, _)| *id).collect(),
        }
    }
}

/// One part blob of a read, or the byte range of it the read wants.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Segment {
    blob: BlobId,
    /// `None`: the whole blob.
    range: Option<Range<u64>>,
    len: u64,
}

/// The part blobs (or ranges of them) that hold `range` of the object (all of it: `None`).
fn segments(parts: &[(BlobId, u64)], range: Option<&Range<u64>>) -> VecDeque<Segment> {
    let mut out = VecDeque::new();
    let mut offset = 0u64;
    for (blob, len) in parts {
        let (start, end) = (offset, offset + len);
        offset = end;
        let (from, to) = match range {
            None => (start, end),
            Some(r) => (r.start.max(start), r.end.min(end)),
        };
        if from >= to && range.is_some() {
            continue;
        }
        let local = (from - start)..(to - start);
        out.push_back(Segment {
            blob: *blob,
            len: local.end - local.start,
            range: (local.start != 0 || local.end != *len).then_some(local),
        });
    }
    out
}

/// Streams `range` of the object laid out as `layout` (all of it: `None`). The first blob
/// is opened before this returns, so a missing object is [`StorageError::NotFound`] here;
/// each later part blob is opened when the one before it ends, and a part blob that is
/// missing, or shorter or longer than recorded, fails the stream.
pub async fn open(
    storage: &Arc<dyn Storage>,
    layout: &Layout,
    range: Option<Range<u64>>,
) -> Result<BlobStream, StorageError> {
    let parts = match layout {
        Layout::Blob(id) => return storage.get(*id, range).await,
        Layout::Parts(parts) => parts,
    };
    let mut rest = segments(parts, range.as_ref());
    let current = match rest.pop_front() {
        Some(first) => Some((storage.get(first.blob, first.range).await?, first.len)),
        None => None,
    };
    Ok(Box::pin(Chain {
        storage: storage.clone(),
        rest,
        current,
        opening: None,
    }))
}

type Opening = Pin<Box<dyn Future<Output = Result<BlobStream, StorageError>> + Send>>;

/// Part blobs read in turn. The blob being opened sits in a `Mutex` only to make the
/// stream `Sync`; it is reached through `get_mut`, never locked.
struct Chain {
    storage: Arc<dyn Storage>,
    rest: VecDeque<Segment>,
    /// The part being read and how many of its bytes are still due.
    current: Option<(BlobStream, u64)>,
    opening: Option<(Mutex<Opening>, u64)>,
}

impl Chain {
    fn fail(&mut self, e: io::Error) -> Poll<Option<Result<Bytes, io::Error>>> {
        self.rest.clear();
        self.current = None;
        self.opening = None;
        Poll::Ready(Some(Err(e)))
    }
}

impl Stream for Chain {
    type Item = Result<Bytes, io::Error>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = &mut *self;
        loop {
            if let Some((stream, due)) = &mut this.current {
                match stream.as_mut().poll_next(cx) {
                    Poll::Ready(Some(Ok(chunk))) => {
                        let n = chunk.len() as u64;
                        if n > *due {
                            return this.fail(io::Error::other("a part blob is longer than recorded"));
                        }
                        *due -= n;
                        return Poll::Ready(Some(Ok(chunk)));
                    }
                    Poll::Ready(Some(Err(e))) => return this.fail(e),
                    Poll::Ready(None) if *due != 0 => {
                        return this.fail(io::Error::other("a part blob is shorter than recorded"));
                    }
                    Poll::Ready(None) => this.current = None,
                    Poll::Pending => return Poll::Pending,
                }
            } else if let Some((opening, len)) = &mut this.opening {
                let opening = opening.get_mut().unwrap_or_else(PoisonError::into_inner);
                match opening.as_mut().poll(cx) {
                    Poll::Ready(Ok(stream)) => {
                        this.current = Some((stream, *len));
                        this.opening = None;
                    }
                    Poll::Ready(Err(StorageError::NotFound)) => {
                        return this.fail(io::Error::other("a part blob is missing"));
                    }
                    Poll::Ready(Err(e)) => return this.fail(io::Error::other(e.to_string())),
                    Poll::Pending => return Poll::Pending,
                }
            } else if let Some(next) = this.rest.pop_front() {
                let storage = this.storage.clone();
                let opening: Opening = Box::pin(async move { storage.get(next.blob, next.range).await });
                this.opening = Some((Mutex::new(opening), next.len));
            } else {
                return Poll::Ready(None);
            }
        }
    }
}

/// Copies each of `from` to the blob of the same position in `to`, a few at a time; stops
/// at the first failure.
pub async fn copy_all(storage: &Arc<dyn Storage>, from: &[BlobId], to: &[BlobId]) -> Result<(), StorageError> {
    let copies = from.iter().copied().zip(to.iter().copied()).map(|(from, to)| {
        let storage = storage.clone();
        async move { storage.copy(from, to).await }
    });
    futures::stream::iter(copies)
        .buffer_unordered(CONCURRENCY)
        .try_collect::<Vec<()>>()
        .await?;
    Ok(())
}

/// Removes blobs, a few at a time; every one is tried, and the first failure is returned.
pub async fn delete_all(storage: &Arc<dyn Storage>, ids: &[BlobId]) -> Result<(), StorageError> {
    let deletes = ids.iter().copied().map(|id| {
        let storage = storage.clone();
        async move { storage.delete(id).await }
    });
    let results: Vec<Result<(), StorageError>> = futures::stream::iter(deletes)
        .buffer_unordered(CONCURRENCY)
        .collect()
        .await;
    results.into_iter().collect()
}

/// Removes blobs in the background, logging failures (`gc` collects what is left).
pub fn delete_all_in_background(storage: Arc<dyn Storage>, ids: Vec<BlobId>) {
    match ids.as_slice() {
        [] => {}
        [one] => super::delete_in_background(storage, *one),
        _ => {
            tokio::spawn(async move {
                if let Err(e) = delete_all(&storage, &ids).await {
                    tracing::warn!(error = %e, "could not delete every blob; gc will collect them");
                }
            });
        }
    }
}

/// A part just stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredPart {
    /// The token the upload's part row keeps (a part blob's name, or the backend's token).
    pub token: String,
    /// The part's own blob, when the upload's parts are blobs.
    pub blob: Option<BlobId>,
}

/// The largest part of unknown length (S3's largest part).
const MAX_UNSIZED_PART: u64 = 5 << 30;

/// Stores part `number` (exactly `len` bytes, or, with no `len`, a body of unknown length
/// of at most 5 GiB) of the upload with handle `handle`: as a new blob of its own, or, for
/// an upload begun before part blobs (which needs a length), inside the backend's upload
/// for blob `upload_blob`.
pub async fn put_part(
    storage: &dyn Storage,
    upload_blob: BlobId,
    handle: &str,
    number: i32,
    body: BlobStream,
    len: Option<u64>,
) -> Result<StoredPart, StorageError> {
    if parts_are_blobs(handle) {
        let blob = BlobId::new();
        match len {
            Some(len) => storage.put(blob, body, len).await?,
            None => storage.put_unsized(blob, body, MAX_UNSIZED_PART).await.map(drop)?,
        }
        return Ok(StoredPart {
            token: blob.to_string(),
            blob: Some(blob),
        });
    }
    let len = len.ok_or(StorageError::LengthMismatch { declared: 0, actual: 0 })?;
    let token = storage.put_part(upload_blob, handle, number, body, len).await?;
    Ok(StoredPart { token, blob: None })
}

/// Forgets one stored part (refused, or replaced by a later upload of the same number).
pub async fn delete_part(
    storage: &dyn Storage,
    upload_blob: BlobId,
    handle: &str,
    token: &str,
) -> Result<(), StorageError> {
    if parts_are_blobs(handle) {
        return match uuid::Uuid::parse_str(token) {
            Ok(id) => storage.delete(BlobId(id)).await,
            Err(_) => Ok(()),
        };
    }
    storage.delete_part(upload_blob, handle, token).await
}

/// Drops what an upload that is gone holds in the backend: its part blobs, or the backend's
/// own upload.
pub async fn drop_upload(
    storage: &Arc<dyn Storage>,
    upload_blob: BlobId,
    handle: &str,
    part_blobs: &[BlobId],
) -> Result<(), StorageError> {
    if parts_are_blobs(handle) {
        delete_all(storage, part_blobs).await
    } else {
        storage.abort_upload(upload_blob, handle).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(n: usize) -> Vec<BlobId> {
        (0..n).map(|_| BlobId::new()).collect()
    }

    #[test]
    fn segments_cover_exactly_the_range() {
        let b = ids(3);
        let parts = vec![(b[0], 10), (b[1], 10), (b[2], 5)];
        let whole: Vec<_> = segments(&parts, None).into_iter().collect();
        assert_eq!(
            whole,
            vec![
                Segment {
                    blob: b[0],
                    range: None,
                    len: 10
                },
                Segment {
                    blob: b[1],
                    range: None,
                    len: 10
                },
                Segment {
                    blob: b[2],
                    range: None,
                    len: 5
                },
            ]
        );
        // Last byte of part 1 to first byte of part 3.
        let across: Vec<_> = segments(&parts, Some(&(9..21))).into_iter().collect();
        assert_eq!(
            across,
            vec![
                Segment {
                    blob: b[0],
                    range: Some(9..10),
                    len: 1
                },
                Segment {
                    blob: b[1],
                    range: None,
                    len: 10
                },
                Segment {
                    blob: b[2],
                    range: Some(0..1),
                    len: 1
                },
            ]
        );
        // Exactly one part, and a range inside one.
        let one: Vec<_> = segments(&parts, Some(&(10..20))).into_iter().collect();
        assert_eq!(
            one,
            vec![Segment {
                blob: b[1],
                range: None,
                len: 10
            }]
        );
        let inside: Vec<_> = segments(&parts, Some(&(22..24))).into_iter().collect();
        assert_eq!(
            inside,
            vec![Segment {
                blob: b[2],
                range: Some(2..4),
                len: 2
            }]
        );
    }

    #[test]
    fn empty_parts_are_read_whole_and_skipped_by_ranges() {
        let b = ids(2);
        let parts = vec![(b[0], 0), (b[1], 4)];
        assert_eq!(segments(&parts, None).len(), 2);
        let r: Vec<_> = segments(&parts, Some(&(0..4))).into_iter().collect();
        assert_eq!(
            r,
            vec![Segment {
                blob: b[1],
                range: None,
                len: 4
            }]
        );
    }
}
