//! Restoring a version: its bytes copied into blobs of their own and committed as the new
//! current version of its key (a new version on a versioned bucket), counted and reserved
//! like any copy. The JSON API's "restore" is this; S3 clients do the same with CopyObject
//! from `?versionId=`.

use super::UploadError;
use super::quota::Target;
use super::upload::{self, Stored};
use crate::app::AppState;
use crate::db::objects::{NewObject, Object};

/// Makes a copy of `version` (an object of `bucket_id`, current or not) its key's current
/// version.
pub async fn restore(state: &AppState, bucket_id: uuid::Uuid, version: &Object) -> Result<Stored, UploadError> {
    let len = u64::try_from(version.size).unwrap_or(0);
    let reservation =
        super::quota::reserve(&state.db, state.instance_id, bucket_id, Target::Key(&version.key), len).await?;
    let copied = super::stored::copy(&state.storage, version).await?;
    let new = NewObject {
        bucket_id,
        key: version.key.clone(),
        size: version.size,
        etag: version.etag.clone(),
        md5: version.md5.clone(),
        sha256: version.sha256.clone(),
        headers: version.headers.clone(),
        checksums: version.checksums.clone(),
        checksum_type: version.checksum_type.clone(),
        parts_count: version.parts_count,
        part_sizes: version.part_sizes.clone(),
        blob_id: copied.pending.id.0,
        part_blobs: copied.part_blobs,
        reservations: Vec::new(),
        condition: None,
        acl: version.acl.clone(),
    };
    upload::commit(state, new, copied.pending, Some(reservation)).await
}
