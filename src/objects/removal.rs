//! Removing objects and versions, as both edges and the lifecycle job do it: the rows go
//! (or a delete marker is written, on a versioned bucket) and usage is uncounted in one
//! transaction; the blobs of removed versions are deleted after it commits.

use uuid::Uuid;

use crate::app::AppState;
use crate::db::DbError;
use crate::db::versions::{self, Removal};

/// Removes each `(key, version)`: the named version, or with none the key's current object
/// (a delete marker on a versioned bucket). Missing keys and versions are not errors.
pub async fn remove(
    state: &AppState,
    bucket_id: Uuid,
    targets: &[(String, Option<String>)],
) -> Result<Vec<Removal>, DbError> {
    let mut conn = state.db.acquire().await?;
    let (done, blobs) = versions::remove(&mut conn, bucket_id, targets).await?;
    drop(conn);
    super::stored::delete_in_background(state.storage.clone(), blobs);
    Ok(done)
}
