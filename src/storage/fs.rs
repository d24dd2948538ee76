//! The embedded filesystem backend: `<data_dir>/blobs/<2 hex>/<uuid>`.
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
}

impl FsStorage {
    /// Opens (creating if needed) the store under `root`.
    pub async fn open(root: &Path) -> Result<Self, StorageError> {
        let blobs = root.join("blobs");
        let tmp = root.join("tmp");
        tokio::fs::create_dir_all(&blobs).await?;
        tokio::fs::create_dir_all(&tmp).await?;
        Ok(Self { blobs, tmp })
    }

    fn blob_path(&self, id: BlobId) -> PathBuf {
        let name = id.to_string();
        self.blobs.join(&name[..2]).join(name)
    }

    fn tmp_path(&self) -> PathBuf {
        self.tmp.join(Uuid::new_v4().to_string())
    }

    /// fsync the temp file, rename it to its blob name, fsync the directory.
    async fn publish(&self, tmp: &TempFile, id: BlobId) -> Result<(), StorageError> {
        let dest = self.blob_path(id);
        let dir = dest.parent().expect("blob paths have a parent");
        tokio::fs::create_dir_all(dir).await?;
        tokio::fs::rename(&tmp.path, &dest).await?;
        tokio::fs::File::open(dir).await?.sync_all().await?;
        Ok(())
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
    async fn put(&self, id: BlobId, mut body: BlobStream, len: u64) -> Result<(), StorageError> {
        let mut tmp = TempFile {
            path: self.tmp_path(),
            armed: true,
        };
        let file = tokio::fs::File::create(&tmp.path).await?;
        let mut out = BufWriter::with_capacity(WRITE_BUFFER, file);
        let mut written: u64 = 0;
        while let Some(chunk) = body.next().await {
            let chunk = chunk?;
            written += chunk.len() as u64;
            if written > len {
                return Err(StorageError::LengthMismatch {
                    declared: len,
                    actual: written,
                });
            }
            out.write_all(&chunk).await?;
        }
        if written != len {
            return Err(StorageError::LengthMismatch {
                declared: len,
                actual: written,
            });
        }
        out.flush().await?;
        let file = out.into_inner();
        file.sync_all().await?;
        drop(file);
        self.publish(&tmp, id).await?;
        tmp.armed = false;
        Ok(())
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
                Box::pin(ReaderStream::with_capacity(
                    file.take(r.end - r.start),
                    READ_CHUNK,
                ))
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
        // Stale temp files are left by crashed writers; they are never blobs, remove them here.
        let mut tmps = tokio::fs::read_dir(&self.tmp).await?;
        while let Some(entry) = tmps.next_entry().await? {
            if entry.metadata().await?.modified()? < cutoff {
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
}
