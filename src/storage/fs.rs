//! The embedded filesystem backend: `<data_dir>/blobs/<2 hex>/<uuid>`. Parts of a backend
//! multipart upload (only uploads begun before parts became blobs of their own, see
//! [`super::parts`]) live under `<data_dir>/parts/<upload>/<part uuid>` until completion
//! concatenates them.
//!
//! Writes go to `<data_dir>/tmp/<uuid>` first, are fsynced, then renamed into place, so a
//! partial file is never visible under a blob name. A guard removes the temp file when the
//! write fails or its future is dropped.

use std::io::{self, SeekFrom};
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use futures::StreamExt;
use tokio::io::{AsyncReadExt, AsyncSeekExt, AsyncWriteExt, BufWriter};
use tokio_util::io::ReaderStream;
use uuid::Uuid;

use super::{BlobId, BlobStream, Storage, StorageError};

const WRITE_BUFFER: usize = 1 << 20;
const READ_CHUNK: usize = 256 << 10;

/// Blobs as files under a directory.
#[derive(Debug)]
pub struct FsStorage {
    blobs: PathBuf,
    tmp: PathBuf,
    parts: PathBuf,
}

impl FsStorage {
    /// Opens (creating if needed) the store under `root`.
    pub async fn open(root: &Path) -> Result<Self, StorageError> {
        let blobs = root.join("blobs");
        let tmp = root.join("tmp");
        let parts = root.join("parts");
        tokio::fs::create_dir_all(&blobs).await?;
        tokio::fs::create_dir_all(&tmp).await?;
        tokio::fs::create_dir_all(&parts).await?;
        Ok(Self { blobs, tmp, parts })
    }

    fn blob_path(&self, id: BlobId) -> PathBuf {
        let name = id.to_string();
        self.blobs.join(&name[..2]).join(name)
    }

    fn tmp_path(&self) -> PathBuf {
        self.tmp.join(Uuid::new_v4().to_string())
    }

    /// The folder of an upload's parts; `upload` is a UUID we made, checked again here so a
    /// handle read back from the database can never point outside `parts/`.
    fn upload_dir(&self, upload: &str) -> Result<PathBuf, StorageError> {
        let id = Uuid::parse_str(upload).map_err(|_| StorageError::NotFound)?;
        Ok(self.parts.join(id.to_string()))
    }

    fn part_path(&self, upload: &str, token: &str) -> Result<PathBuf, StorageError> {
        let part = Uuid::parse_str(token).map_err(|_| StorageError::NotFound)?;
        Ok(self.upload_dir(upload)?.join(part.to_string()))
    }

    /// Moves the synced temp file to `dest` and fsyncs the directory.
    async fn publish_at(&self, tmp: &TempFile, dest: &Path) -> Result<(), StorageError> {
        let dir = dest.parent().expect("blob paths have a parent");
        tokio::fs::create_dir_all(dir).await?;
        tokio::fs::rename(&tmp.path, dest).await?;
        tokio::fs::File::open(dir).await?.sync_all().await?;
        Ok(())
    }

    async fn publish(&self, tmp: &TempFile, id: BlobId) -> Result<(), StorageError> {
        self.publish_at(tmp, &self.blob_path(id)).await
    }

    /// Streams exactly `len` bytes of `body` into a new synced temp file.
    async fn write_temp(&self, body: BlobStream, len: u64) -> Result<TempFile, StorageError> {
        let (tmp, written) = self.write_temp_upto(body, len).await?;
        if written != len {
            return Err(StorageError::LengthMismatch {
                declared: len,
                actual: written,
            });
        }
        Ok(tmp)
    }

    /// Streams `body` into a new synced temp file, refusing more than `limit` bytes.
    async fn write_temp_upto(&self, mut body: BlobStream, limit: u64) -> Result<(TempFile, u64), StorageError> {
        let tmp = TempFile {
            path: self.tmp_path(),
            armed: true,
        };
        let file = tokio::fs::File::create(&tmp.path).await?;
        let mut out = BufWriter::with_capacity(WRITE_BUFFER, file);
        let mut written: u64 = 0;
        while let Some(chunk) = body.next().await {
            let chunk = chunk?;
            written += chunk.len() as u64;
            if written > limit {
                return Err(StorageError::LengthMismatch {
                    declared: limit,
                    actual: written,
                });
            }
            out.write_all(&chunk).await?;
        }
        out.flush().await?;
        out.into_inner().sync_all().await?;
        Ok((tmp, written))
    }
}

/// Deletes its file on drop unless disarmed.
struct TempFile {
    path: PathBuf,
    armed: bool,
}

impl Drop for TempFile {
    fn drop(&mut self) {
        if self.armed {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

#[async_trait::async_trait]
impl Storage for FsStorage {
    async fn put(&self, id: BlobId, body: BlobStream, len: u64) -> Result<(), StorageError> {
        let mut tmp = self.write_temp(body, len).await?;
        self.publish(&tmp, id).await?;
        tmp.armed = false;
        Ok(())
    }

    async fn put_unsized(&self, id: BlobId, body: BlobStream, limit: u64) -> Result<u64, StorageError> {
        let (mut tmp, written) = self.write_temp_upto(body, limit).await.map_err(|e| match e {
            StorageError::LengthMismatch { .. } => StorageError::TooLarge { limit },
            other => other,
        })?;
        self.publish(&tmp, id).await?;
        tmp.armed = false;
        Ok(written)
    }

    async fn get(&self, id: BlobId, range: Option<Range<u64>>) -> Result<BlobStream, StorageError> {
        let mut file = match tokio::fs::File::open(self.blob_path(id)).await {
            Ok(f) => f,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Err(StorageError::NotFound),
            Err(e) => return Err(e.into()),
        };
        // The open handle keeps the bytes readable even if an overwrite deletes the blob
        // while this download is in flight.
        let stream: BlobStream = match range {
            None => Box::pin(ReaderStream::with_capacity(file, READ_CHUNK)),
            Some(r) => {
                file.seek(SeekFrom::Start(r.start)).await?;
                Box::pin(ReaderStream::with_capacity(file.take(r.end - r.start), READ_CHUNK))
            }
        };
        Ok(stream)
    }

    async fn copy(&self, from: BlobId, to: BlobId) -> Result<(), StorageError> {
        let mut tmp = TempFile {
            path: self.tmp_path(),
            armed: true,
        };
        match tokio::fs::copy(self.blob_path(from), &tmp.path).await {
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Err(StorageError::NotFound),
            Err(e) => return Err(e.into()),
        }
        tokio::fs::File::open(&tmp.path).await?.sync_all().await?;
        self.publish(&tmp, to).await?;
        tmp.armed = false;
        Ok(())
    }

    async fn delete(&self, id: BlobId) -> Result<(), StorageError> {
        match tokio::fs::remove_file(self.blob_path(id)).await {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    async fn list_older_than(&self, cutoff: SystemTime) -> Result<Vec<BlobId>, StorageError> {
        // Temp files untouched for an hour were left by crashed writers (a live write touches
        // its file with every buffer); they are never blobs, so remove them here. A cutoff in
        // the future (a full listing) must not reach files still being written.
        let stale = cutoff.min(SystemTime::now() - std::time::Duration::from_secs(3600));
        let mut tmps = tokio::fs::read_dir(&self.tmp).await?;
        while let Some(entry) = tmps.next_entry().await? {
            if entry.metadata().await?.modified()? < stale {
                let _ = tokio::fs::remove_file(entry.path()).await;
            }
        }
        let mut found = Vec::new();
        let mut shards = tokio::fs::read_dir(&self.blobs).await?;
        while let Some(shard) = shards.next_entry().await? {
            if !shard.file_type().await?.is_dir() {
                continue;
            }
            let mut files = tokio::fs::read_dir(shard.path()).await?;
            while let Some(f) = files.next_entry().await? {
                let Some(id) = f.file_name().to_str().and_then(|n| Uuid::parse_str(n).ok()) else {
                    continue;
                };
                if f.metadata().await?.modified()? < cutoff {
                    found.push(BlobId(id));
                }
            }
        }
        Ok(found)
    }

    async fn health(&self) -> Result<(), StorageError> {
        tokio::fs::metadata(&self.blobs).await?;
        tokio::fs::metadata(&self.tmp).await?;
        Ok(())
    }

    async fn create_upload(&self, _id: BlobId) -> Result<String, StorageError> {
        let upload = Uuid::new_v4().to_string();
        tokio::fs::create_dir_all(self.upload_dir(&upload)?).await?;
        Ok(upload)
    }

    async fn put_part(
        &self,
        _id: BlobId,
        upload: &str,
        _number: i32,
        body: BlobStream,
        len: u64,
    ) -> Result<String, StorageError> {
        // Each upload of a part gets its own file; the database row says which is current.
        let token = Uuid::new_v4().to_string();
        let dest = self.part_path(upload, &token)?;
        if tokio::fs::metadata(self.upload_dir(upload)?).await.is_err() {
            return Err(StorageError::NotFound);
        }
        let mut tmp = self.write_temp(body, len).await?;
        self.publish_at(&tmp, &dest).await?;
        tmp.armed = false;
        Ok(token)
    }

    async fn delete_part(&self, _id: BlobId, upload: &str, token: &str) -> Result<(), StorageError> {
        match tokio::fs::remove_file(self.part_path(upload, token)?).await {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    async fn complete_upload(&self, id: BlobId, upload: &str, parts: &[(i32, String)]) -> Result<(), StorageError> {
        let mut tmp = TempFile {
            path: self.tmp_path(),
            armed: true,
        };
        let mut out = tokio::fs::File::create(&tmp.path).await?;
        for (_, token) in parts {
            // Streamed file to file: memory does not grow with the object.
            let mut part = match tokio::fs::File::open(self.part_path(upload, token)?).await {
                Ok(f) => f,
                Err(e) if e.kind() == io::ErrorKind::NotFound => {
                    return Err(StorageError::NotFound);
                }
                Err(e) => return Err(e.into()),
            };
            tokio::io::copy(&mut part, &mut out).await?;
        }
        out.sync_all().await?;
        drop(out);
        self.publish(&tmp, id).await?;
        tmp.armed = false;
        self.abort_upload(id, upload).await
    }

    async fn abort_upload(&self, _id: BlobId, upload: &str) -> Result<(), StorageError> {
        match tokio::fs::remove_dir_all(self.upload_dir(upload)?).await {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(e.into()),
        }
    }
}
