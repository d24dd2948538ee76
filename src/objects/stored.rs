//! An object's stored bytes, as both edges and the jobs handle them: where they are (one
//! blob, or its multipart parts' blobs in order), reading a range of them, copying them into
//! blobs of a new object's own, and dropping what a removed multipart upload left.

use std::ops::Range;
use std::sync::Arc;

use uuid::Uuid;

use super::upload::PendingBlob;
use crate::db::multipart::Dropped;
use crate::db::objects::Object;
use crate::storage::parts::{self, Layout};
use crate::storage::{BlobId, BlobStream, Storage, StorageError};

/// Where `obj`'s bytes are.
pub fn layout(obj: &Object) -> Layout {
    match (&obj.part_blobs, &obj.part_sizes) {
        (Some(blobs), Some(sizes)) => Layout::Parts(
            blobs
                .iter()
                .zip(sizes)
                .map(|(b, s)| (BlobId(*b), u64::try_from(*s).unwrap_or(0)))
                .collect(),
        ),
        _ => Layout::Blob(BlobId(obj.blob_id)),
    }
}

/// Streams `range` of `obj` (all of it: `None`), part blobs in order. `NotFound` when its
/// (first) blob is gone: an overwrite or delete won the race.
pub async fn open(
    storage: &Arc<dyn Storage>,
    obj: &Object,
    range: Option<Range<u64>>,
) -> Result<BlobStream, StorageError> {
    parts::open(storage, &layout(obj), range).await
}

/// A copy of an object's bytes that no row references yet.
pub struct Copied {
    /// Guards the new blobs until the copy's row commits.
    pub pending: PendingBlob,
    /// The new part blobs, in order, when the source is stored as its parts.
    pub part_blobs: Option<Vec<Uuid>>,
}

/// Copies `src`'s bytes into blobs of their own (server-side where the backend can): a new
/// blob, or new part blobs for an object stored as its parts. No blob is ever shared by
/// two rows, so deleting one object never takes the other's bytes.
pub async fn copy(storage: &Arc<dyn Storage>, src: &Object) -> Result<Copied, StorageError> {
    match layout(src) {
        Layout::Blob(from) => {
            let pending = PendingBlob::new(storage.clone());
            storage.copy(from, pending.id).await?;
            Ok(Copied {
                pending,
                part_blobs: None,
            })
        }
        Layout::Parts(from) => {
            let from: Vec<BlobId> = from.into_iter().map(|(b, _)| b).collect();
            let to: Vec<BlobId> = from.iter().map(|_| BlobId::new()).collect();
            // Guarded before the first byte is written: a failure removes what was copied.
            let pending = PendingBlob::parts(storage.clone(), to.clone());
            parts::copy_all(storage, &from, &to).await?;
            Ok(Copied {
                pending,
                part_blobs: Some(to.into_iter().map(|b| b.0).collect()),
            })
        }
    }
}

/// Drops what a removed upload left in the backend (its part blobs, or the backend's own
/// upload), logging a failure.
pub async fn drop_upload(storage: &Arc<dyn Storage>, dropped: &Dropped) {
    let blobs: Vec<BlobId> = dropped.part_blobs.iter().map(|b| BlobId(*b)).collect();
    let upload = &dropped.upload;
    if let Err(e) = parts::drop_upload(storage, BlobId(upload.blob_id), &upload.backend_upload, &blobs).await {
        tracing::warn!(upload = %upload.id, error = %e, "could not drop a removed upload's parts");
    }
}

/// [`drop_upload`] in the background, for each of `dropped`.
pub fn drop_uploads_in_background(storage: Arc<dyn Storage>, dropped: Vec<Dropped>) {
    if dropped.is_empty() {
        return;
    }
    tokio::spawn(async move {
        for d in &dropped {
            drop_upload(&storage, d).await;
        }
    });
}

/// Removes the blobs a deleted or displaced row owned, in the background.
pub fn delete_in_background(storage: Arc<dyn Storage>, blobs: Vec<Uuid>) {
    parts::delete_all_in_background(storage, blobs.into_iter().map(BlobId).collect());
}
