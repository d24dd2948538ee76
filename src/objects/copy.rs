//! Copying an object (or a version of one) to a key: its bytes copied into blobs of their
//! own (a blob is never shared by two rows), counted and reserved like an upload of its
//! size, and committed as the key's new current version. S3 CopyObject is this, and so is
//! the JSON API's restoring of a version (a copy onto its own key).

use super::UploadError;
use super::quota::Target;
use super::upload::{self, Stored};
use crate::app::AppState;
use crate::db::objects::{Headers, NewObject, Object, WriteCondition};

/// Where a copy goes, and what it keeps of its own.
pub struct Destination {
    /// The bucket.
    pub bucket_id: uuid::Uuid,
    /// The key.
    pub key: String,
    /// Its headers, metadata and tags (the source's, unless replaced).
    pub headers: Headers,
    /// Its canned ACL when not private.
    pub acl: Option<String>,
    /// A condition on the object it replaces (a conditional write).
    pub condition: Option<WriteCondition>,
}

/// Copies `src` to `to`. `UploadError::Storage(NotFound)`: the source's bytes went while
/// they were being copied (an overwrite or delete won the race).
pub async fn copy(state: &AppState, src: &Object, to: Destination) -> Result<Stored, UploadError> {
    let len = u64::try_from(src.size).unwrap_or(0);
    let reservation =
        super::quota::reserve(&state.db, state.instance_id, to.bucket_id, Target::Key(&to.key), len).await?;
    let copied = super::stored::copy(&state.storage, src).await?;
    let new = NewObject {
        bucket_id: to.bucket_id,
        key: to.key,
        size: src.size,
        etag: src.etag.clone(),
        md5: src.md5.clone(),
        sha256: src.sha256.clone(),
        headers: to.headers,
        checksums: src.checksums.clone(),
        checksum_type: src.checksum_type.clone(),
        parts_count: src.parts_count,
        part_sizes: src.part_sizes.clone(),
        blob_id: copied.pending.id.0,
        part_blobs: copied.part_blobs,
        reservations: Vec::new(),
        condition: to.condition,
        acl: to.acl,
    };
    upload::commit(state, new, copied.pending, Some(reservation)).await
}
