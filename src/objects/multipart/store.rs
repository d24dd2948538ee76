//! Storing one part: its room reserved before its bytes are read (as they arrive, for a part
//! of unknown length), the bytes streamed into a blob of their own while hashed, then the
//! part row recorded with the reservation; a part sent again replaces the old one, whose
//! reservation and blob are let go.

use bytes::Bytes;
use futures::Stream;

use super::{MultipartError, algorithm_of};
use crate::app::AppState;
use crate::db::multipart::{self, Upload};
use crate::objects::BodyError;
use crate::objects::growing::Growing;
use crate::objects::integrity::{Expected, check_content_md5};
use crate::objects::quota::{self, Target};
use crate::objects::upload::{self, Digests};
use crate::storage::BlobId;
use crate::storage::parts as blob_parts;

/// Streams part `number` of `upload` into the backend and records it; returns its digests.
/// `len` is the declared length (none: the body's own, for uploads whose parts are blobs).
pub async fn store_part<B>(
    state: &AppState,
    upload: &Upload,
    number: i32,
    body: Option<B>,
    len: Option<u64>,
    expected: Expected,
    content_md5: Option<&str>,
) -> Result<Digests, MultipartError>
where
    B: Stream<Item = Result<Bytes, BodyError>> + Unpin + Send + Sync + 'static,
{
    // Each part reserves its length before its body is read; the reservations settle when
    // the upload completes and are released when it is aborted.
    let blob = BlobId(upload.blob_id);
    let storage = state.storage.clone();
    let handle = upload.backend_upload.clone();
    let expected = expected.also(algorithm_of(upload));
    let (digests, part, reservation) = match len {
        Some(len) => {
            let reservation = quota::reserve(&state.db, state.instance_id, upload.bucket_id, Target::Part, len).await?;
            let (digests, part) = upload::hash_through(body, len, expected, |stream| async move {
                blob_parts::put_part(&*storage, blob, &handle, number, stream, Some(len)).await
            })
            .await?;
            (digests, part, reservation)
        }
        None => {
            if !blob_parts::parts_are_blobs(&handle) {
                return Err(MultipartError::MissingLength);
            }
            let growing = Growing::start(&state.db, state.instance_id, upload.bucket_id, Target::Part).await?;
            let (digests, part, reservation) =
                upload::hash_through_unsized(body, expected, Some(growing), |stream| async move {
                    blob_parts::put_part(&*storage, blob, &handle, number, stream, None).await
                })
                .await?;
            let reservation =
                reservation.ok_or_else(|| MultipartError::Internal("a growing part made no reservation".into()))?;
            (digests, part, reservation)
        }
    };
    let token = part.token;
    // A refused, unrecorded or replaced part is dropped now; gc collects anything missed.
    let drop_part = |token: String| {
        let storage = state.storage.clone();
        let handle = upload.backend_upload.clone();
        tokio::spawn(async move {
            let _ = blob_parts::delete_part(&*storage, blob, &handle, &token).await;
        });
    };
    if let Err(e) = check_content_md5(content_md5, &digests.md5) {
        drop_part(token);
        return Err(e.into());
    }
    let size = i64::try_from(digests.len).map_err(|e| MultipartError::Internal(e.to_string()))?;
    let recorded = async {
        let mut tx = state.db.begin().await?;
        let etag = hex::encode(digests.md5);
        let part = multipart::NewPart {
            number,
            size,
            etag: &etag,
            backend_part: &token,
            blob_id: part.blob.map(|b| b.0),
            checksums: &digests.checksums,
            reservation_id: Some(reservation.id),
        };
        let old = multipart::put_part(&mut tx, upload.id, &part).await?;
        tx.commit().await?;
        Ok::<_, crate::db::DbError>(old)
    }
    .await;
    match recorded {
        Ok(old) => {
            // The part row now holds the reservation.
            reservation.settled();
            if let Some(old) = old {
                if let Some(r) = old.reservation_id {
                    let db = state.db.clone();
                    tokio::spawn(async move {
                        let _ = crate::db::quota::release(&db, r).await;
                    });
                }
                if old.backend_part != token {
                    drop_part(old.backend_part);
                }
            }
        }
        Err(crate::db::DbError::Sqlx(sqlx::Error::RowNotFound)) => {
            drop_part(token);
            return Err(MultipartError::NoSuchUpload);
        }
        Err(e) => {
            drop_part(token);
            return Err(e.into());
        }
    }
    Ok(digests)
}
