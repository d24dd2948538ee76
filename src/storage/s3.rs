//! The S3 backend: MinIO or any S3, one bucket, blobs named by UUID.

use std::ops::Range;
use std::time::SystemTime;

use aws_sdk_s3::Client;
use aws_sdk_s3::config::{
    BehaviorVersion, Credentials, Region, RequestChecksumCalculation, ResponseChecksumValidation,
    StalledStreamProtectionConfig,
};
use aws_sdk_s3::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{CompletedMultipartUpload, CompletedPart};
use aws_smithy_http_client::tls::{self, rustls_provider::CryptoMode};
use bytes::Bytes;
use futures::TryStreamExt;
use http_body::Frame;
use http_body_util::StreamBody;
use uuid::Uuid;

use super::{BlobId, BlobStream, Storage, StorageError};
use crate::config::MinioConfig;

/// Part size for uploads of unknown length (the backend's minimum is 5 MiB).
const UNSIZED_PART: usize = 8 << 20;

/// Blobs as objects in one backend bucket.
#[derive(Debug, Clone)]
pub struct S3Storage {
    client: Client,
    bucket: String,
}

/// One readable line: the backend's own code and message when it answered, else the
/// chain of causes (connection refused, timed out, ...).
fn backend<E, R>(err: SdkError<E, R>) -> StorageError
where
    E: std::error::Error + ProvideErrorMetadata + Send + Sync + 'static,
    R: std::fmt::Debug,
{
    let line = match &err {
        SdkError::ServiceError(s) => format!(
            "the backend answered {}: {}",
            s.err().code().unwrap_or("an error"),
            s.err().message().unwrap_or("(no message)")
        ),
        other => causes(other),
    };
    StorageError::Backend(line.split_whitespace().collect::<Vec<_>>().join(" "))
}

/// An error and its sources, each once: "dispatch failure: io error: tcp connect error:
/// Connection refused (os error 111)". (The SDK's own `DisplayErrorContext` ends with a
/// debug dump of the whole error.)
fn causes(err: &dyn std::error::Error) -> String {
    let mut parts = vec![err.to_string()];
    let mut source = err.source();
    while let Some(e) = source {
        let text = e.to_string();
        if !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        source = e.source();
    }
    parts.join(": ")
}

impl S3Storage {
    /// Builds the client. Payload checksums are left to GoDrive itself (it hashes every
    /// byte), and stalled-stream protection is off: an upload that waits on a slow client
    /// is not a stalled backend.
    pub fn new(cfg: &MinioConfig, region: &str) -> Self {
        let http = aws_smithy_http_client::Builder::new()
            .tls_provider(tls::Provider::Rustls(CryptoMode::Ring))
            .build_https();
        let conf = aws_sdk_s3::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .endpoint_url(cfg.endpoint_url())
            .region(Region::new(region.to_owned()))
            .credentials_provider(Credentials::new(
                cfg.root_user.clone(),
                cfg.root_password.expose().to_owned(),
                None,
                None,
                "godrive-config",
            ))
            .force_path_style(true)
            .http_client(http)
            .request_checksum_calculation(RequestChecksumCalculation::WhenRequired)
            .response_checksum_validation(ResponseChecksumValidation::WhenRequired)
            .stalled_stream_protection(StalledStreamProtectionConfig::disabled())
            .build();
        Self {
            client: Client::from_conf(conf),
            bucket: cfg.bucket.clone(),
        }
    }

    /// Creates the backend bucket if it does not exist yet.
    pub async fn ensure_bucket(&self) -> Result<(), StorageError> {
        if self.client.head_bucket().bucket(&self.bucket).send().await.is_ok() {
            return Ok(());
        }
        match self.client.create_bucket().bucket(&self.bucket).send().await {
            Ok(_) => Ok(()),
            Err(e) if matches!(e.code(), Some("BucketAlreadyOwnedByYou" | "BucketAlreadyExists")) => Ok(()),
            Err(e) => Err(backend(e)),
        }
    }
}

#[async_trait::async_trait]
impl Storage for S3Storage {
    async fn put(&self, id: BlobId, body: BlobStream, len: u64) -> Result<(), StorageError> {
        let stream = stream_body(body);
        let len = i64::try_from(len).map_err(|_| StorageError::Backend("length out of range".into()))?;
        self.client
            .put_object()
            .bucket(&self.bucket)
            .key(id.to_string())
            .content_length(len)
            .body(stream)
            .send()
            .await
            .map_err(backend)?;
        Ok(())
    }

    async fn put_unsized(&self, id: BlobId, mut body: BlobStream, limit: u64) -> Result<u64, StorageError> {
        use futures::StreamExt;
        // Up to one part is held in memory; a body that fits in it is a single PUT.
        let mut buf = bytes::BytesMut::new();
        let mut total: u64 = 0;
        let mut upload: Option<String> = None;
        let mut parts: Vec<(i32, String)> = Vec::new();
        let result: Result<(), StorageError> = async {
            loop {
                let chunk = body.next().await.transpose()?;
                let done = chunk.is_none();
                if let Some(c) = chunk {
                    total += c.len() as u64;
                    if total > limit {
                        return Err(StorageError::TooLarge { limit });
                    }
                    buf.extend_from_slice(&c);
                }
                if buf.len() >= UNSIZED_PART || (done && upload.is_some() && !buf.is_empty()) {
                    if upload.is_none() {
                        upload = Some(self.create_upload(id).await?);
                    }
                    let n = parts.len() as i32 + 1;
                    let part = buf.split().freeze();
                    let len = part.len() as u64;
                    let one: BlobStream = Box::pin(futures::stream::once(async move { Ok(part) }));
                    let token = self
                        .put_part(id, upload.as_deref().unwrap_or_default(), n, one, len)
                        .await?;
                    parts.push((n, token));
                }
                if done {
                    return Ok(());
                }
            }
        }
        .await;
        match (result, upload) {
            (Ok(()), Some(handle)) => self.complete_upload(id, &handle, &parts).await.map(|()| total),
            (Ok(()), None) => {
                let data = buf.freeze();
                let len = data.len() as u64;
                self.put(id, Box::pin(futures::stream::once(async move { Ok(data) })), len)
                    .await?;
                Ok(total)
            }
            (Err(e), Some(handle)) => {
                let _ = self.abort_upload(id, &handle).await;
                Err(e)
            }
            (Err(e), None) => Err(e),
        }
    }

    async fn get(&self, id: BlobId, range: Option<Range<u64>>) -> Result<BlobStream, StorageError> {
        let mut req = self.client.get_object().bucket(&self.bucket).key(id.to_string());
        if let Some(r) = range {
            req = req.range(format!("bytes={}-{}", r.start, r.end.saturating_sub(1)));
        }
        let out = match req.send().await {
            Ok(o) => o,
            Err(e) if e.as_service_error().is_some_and(|s| s.is_no_such_key()) => {
                return Err(StorageError::NotFound);
            }
            Err(e) => return Err(backend(e)),
        };
        let stream = futures::stream::unfold(out.body, |mut body| async move {
            body.next().await.map(|item| {
                let item: Result<Bytes, std::io::Error> = item.map_err(std::io::Error::other);
                (item, body)
            })
        });
        Ok(Box::pin(stream))
    }

    async fn copy(&self, from: BlobId, to: BlobId) -> Result<(), StorageError> {
        let res = self
            .client
            .copy_object()
            .bucket(&self.bucket)
            .key(to.to_string())
            .copy_source(format!("{}/{}", self.bucket, from))
            .send()
            .await;
        match res {
            Ok(_) => Ok(()),
            Err(e) if e.code() == Some("NoSuchKey") => Err(StorageError::NotFound),
            Err(e) => Err(backend(e)),
        }
    }

    async fn delete(&self, id: BlobId) -> Result<(), StorageError> {
        self.client
            .delete_object()
            .bucket(&self.bucket)
            .key(id.to_string())
            .send()
            .await
            .map_err(backend)?;
        Ok(())
    }

    async fn list_older_than(&self, cutoff: SystemTime) -> Result<Vec<BlobId>, StorageError> {
        let mut found = Vec::new();
        let mut pages = self
            .client
            .list_objects_v2()
            .bucket(&self.bucket)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(backend)?;
            for obj in page.contents() {
                let Some(id) = obj.key().and_then(|k| Uuid::parse_str(k).ok()) else {
                    continue;
                };
                let old = obj
                    .last_modified()
                    .and_then(|t| SystemTime::try_from(*t).ok())
                    .is_some_and(|t| t < cutoff);
                if old {
                    found.push(BlobId(id));
                }
            }
        }
        Ok(found)
    }

    async fn health(&self) -> Result<(), StorageError> {
        self.client
            .head_bucket()
            .bucket(&self.bucket)
            .send()
            .await
            .map_err(backend)?;
        Ok(())
    }

    async fn create_upload(&self, id: BlobId) -> Result<String, StorageError> {
        let out = self
            .client
            .create_multipart_upload()
            .bucket(&self.bucket)
            .key(id.to_string())
            .send()
            .await
            .map_err(backend)?;
        out.upload_id
            .ok_or_else(|| StorageError::Backend("backend returned no UploadId".into()))
    }

    async fn put_part(
        &self,
        id: BlobId,
        upload: &str,
        number: i32,
        body: BlobStream,
        len: u64,
    ) -> Result<String, StorageError> {
        // The part goes straight into the backend's own multipart upload under the object's
        // blob name: no second copy of the data is ever made.
        let len = i64::try_from(len).map_err(|_| StorageError::Backend("length out of range".into()))?;
        let res = self
            .client
            .upload_part()
            .bucket(&self.bucket)
            .key(id.to_string())
            .upload_id(upload)
            .part_number(number)
            .content_length(len)
            .body(stream_body(body))
            .send()
            .await;
        match res {
            Ok(out) => out
                .e_tag
                .ok_or_else(|| StorageError::Backend("backend returned no part ETag".into())),
            Err(e) if e.code() == Some("NoSuchUpload") => Err(StorageError::NotFound),
            Err(e) => Err(backend(e)),
        }
    }

    async fn delete_part(&self, _id: BlobId, _upload: &str, _token: &str) -> Result<(), StorageError> {
        // The backend replaced it when the same part number was uploaded again.
        Ok(())
    }

    async fn complete_upload(&self, id: BlobId, upload: &str, parts: &[(i32, String)]) -> Result<(), StorageError> {
        let completed = CompletedMultipartUpload::builder()
            .set_parts(Some(
                parts
                    .iter()
                    .map(|(n, etag)| CompletedPart::builder().part_number(*n).e_tag(etag).build())
                    .collect(),
            ))
            .build();
        let res = self
            .client
            .complete_multipart_upload()
            .bucket(&self.bucket)
            .key(id.to_string())
            .upload_id(upload)
            .multipart_upload(completed)
            .send()
            .await;
        match res {
            Ok(_) => Ok(()),
            Err(e) if e.code() == Some("NoSuchUpload") => Err(StorageError::NotFound),
            Err(e) => Err(backend(e)),
        }
    }

    async fn abort_upload(&self, id: BlobId, upload: &str) -> Result<(), StorageError> {
        let res = self
            .client
            .abort_multipart_upload()
            .bucket(&self.bucket)
            .key(id.to_string())
            .upload_id(upload)
            .send()
            .await;
        match res {
            Ok(_) => Ok(()),
            Err(e) if e.code() == Some("NoSuchUpload") => Ok(()),
            Err(e) => Err(backend(e)),
        }
    }
}

fn stream_body(body: BlobStream) -> ByteStream {
    ByteStream::from_body_1_x(StreamBody::new(body.map_ok(Frame::data)))
}
