//! Object operations: PutObject, GetObject, HeadObject, DeleteObject, DeleteObjects.

use s3s::dto::*;
use s3s::{S3Request, S3Response, S3Result, s3_error};
use time::OffsetDateTime;

use super::{GoDriveS3, caller, error, owned_bucket};
use crate::db::objects::{self, NewObject, Object};
use crate::objects::quota::Target;
use crate::objects::upload::{self, check_content_md5};
use crate::storage::{BlobId, StorageError, delete_in_background};

/// Copies stored checksum values into an S3 output's `checksum_*` fields.
macro_rules! set_checksums {
    ($out:expr, $checksums:expr) => {{
        use $crate::checksum::Algorithm;
        let c: &$crate::checksum::Checksums = $checksums;
        $out.checksum_crc32 = c.get(Algorithm::Crc32).map(str::to_owned);
        $out.checksum_crc32c = c.get(Algorithm::Crc32c).map(str::to_owned);
        $out.checksum_crc64nvme = c.get(Algorithm::Crc64nvme).map(str::to_owned);
        $out.checksum_sha1 = c.get(Algorithm::Sha1).map(str::to_owned);
        $out.checksum_sha256 = c.get(Algorithm::Sha256).map(str::to_owned);
    }};
    ($out:expr, $checksums:expr, $type:expr) => {{
        let c: &$crate::checksum::Checksums = $checksums;
        set_checksums!($out, c);
        if !c.is_empty() {
            $out.checksum_type = $type.map(ChecksumType::from);
        }
    }};
}
pub(super) use set_checksums;

/// Whether the request asked for checksums back (`x-amz-checksum-mode: ENABLED`).
fn checksum_mode(mode: Option<&ChecksumMode>) -> bool {
    mode.is_some_and(|m| m.as_str().eq_ignore_ascii_case(ChecksumMode::ENABLED))
}

/// S3's limit for a single PUT (5 GiB).
pub const MAX_PUT_SIZE: u64 = 5 * 1024 * 1024 * 1024;

/// S3's limit for keys in one DeleteObjects request.
const MAX_DELETE_KEYS: usize = 1000;

/// The length an upload declares (Content-Length, or the decoded length of an aws-chunked
/// body, which s3s puts there): required, and at most 5 GiB.
pub fn declared_length(content_length: Option<i64>) -> S3Result<u64> {
    let len = content_length
        .ok_or_else(|| s3_error!(MissingContentLength, "You must provide the Content-Length HTTP header."))?;
    let len = u64::try_from(len).map_err(|_| s3_error!(InvalidArgument, "Content-Length must not be negative."))?;
    if len > MAX_PUT_SIZE {
        return Err(s3_error!(
            EntityTooLarge,
            "Your proposed upload exceeds the maximum allowed object size."
        ));
    }
    Ok(len)
}

/// The core's key rules (`objects::keys`), in S3's terms.
pub fn check_key(key: &str) -> S3Result<()> {
    crate::objects::keys::check(key).map_err(|e| match e {
        crate::objects::keys::KeyError::TooLong => s3_error!(KeyTooLongError, "Your key is too long."),
        other => s3s::S3Error::with_message(s3s::S3ErrorCode::InvalidArgument, other.to_string()),
    })
}

/// S3's limit on user-defined metadata: keys and values together, in bytes.
pub const MAX_METADATA_BYTES: usize = 2048;

/// Refuses user metadata over [`MAX_METADATA_BYTES`] (`MetadataTooLarge`, 400).
pub fn check_metadata(metadata: Option<&Metadata>) -> S3Result<()> {
    let size: usize = metadata.map_or(0, |m| m.iter().map(|(k, v)| k.len() + v.len()).sum());
    if size > MAX_METADATA_BYTES {
        return Err(s3_error!(
            MetadataTooLarge,
            "Your metadata headers exceed the maximum allowed metadata size."
        ));
    }
    Ok(())
}

/// The headers an upload stores, read from any input that has the standard fields
/// (PutObject, CopyObject with REPLACE, CreateMultipartUpload).
macro_rules! headers_of {
    ($input:expr, $tags:expr) => {
        $crate::db::objects::Headers {
            content_type: $input.content_type,
            content_disposition: $input.content_disposition,
            content_encoding: $input.content_encoding,
            content_language: $input.content_language,
            cache_control: $input.cache_control,
            expires: $input.expires.map(time::OffsetDateTime::from),
            user_metadata: $input.metadata.unwrap_or_default().into_iter().collect(),
            tags: $tags,
        }
    };
}
pub(super) use headers_of;

fn etag(obj: &Object) -> ETag {
    ETag::Strong(obj.etag.clone())
}

/// Last-Modified at the one-second precision of HTTP dates, for conditional comparisons.
fn last_modified_secs(obj: &Object) -> i64 {
    obj.updated_at.unix_timestamp()
}

/// Evaluates If-Match / If-Unmodified-Since (412) and If-None-Match / If-Modified-Since
/// (304) as RFC 9110 orders them: an ETag condition, when present, overrides its date twin.
fn check_conditions(
    obj: &Object,
    if_match: Option<&ETagCondition>,
    if_unmodified_since: Option<&Timestamp>,
    if_none_match: Option<&ETagCondition>,
    if_modified_since: Option<&Timestamp>,
) -> S3Result<()> {
    let ours = etag(obj);
    let modified = last_modified_secs(obj);
    let secs = |t: &Timestamp| OffsetDateTime::from(t.clone()).unix_timestamp();
    if let Some(cond) = if_match {
        let ok = match cond {
            ETagCondition::Any => true,
            ETagCondition::ETag(e) => e.value() == ours.value(),
        };
        if !ok {
            return Err(s3_error!(
                PreconditionFailed,
                "At least one of the pre-conditions you specified did not hold"
            ));
        }
    } else if let Some(t) = if_unmodified_since
        && modified > secs(t)
    {
        return Err(s3_error!(
            PreconditionFailed,
            "At least one of the pre-conditions you specified did not hold"
        ));
    }
    if let Some(cond) = if_none_match {
        let matched = match cond {
            ETagCondition::Any => true,
            ETagCondition::ETag(e) => e.value() == ours.value(),
        };
        if matched {
            return Err(not_modified(obj));
        }
    } else if let Some(t) = if_modified_since
        && modified <= secs(t)
    {
        return Err(not_modified(obj));
    }
    Ok(())
}

/// 304 carries the validators, as RFC 9110 asks.
fn not_modified(obj: &Object) -> s3s::S3Error {
    let mut err = s3s::S3Error::new(s3s::S3ErrorCode::NotModified);
    let mut headers = http::HeaderMap::new();
    if let Ok(v) = http::HeaderValue::from_str(&format!("\"{}\"", obj.etag)) {
        headers.insert(http::header::ETAG, v);
    }
    err.set_headers(headers);
    err
}

/// The byte range a request selects: a `Range` header, or `?partNumber=N` (one part of a
/// multipart object; part 1 of any other object is all of it). `None` is the whole object.
fn selected_range(obj: &Object, range: Option<&Range>, part: Option<i32>) -> S3Result<Option<std::ops::Range<u64>>> {
    let total = obj.size as u64;
    match (range, part) {
        (Some(_), Some(_)) => Err(s3_error!(
            InvalidRequest,
            "Cannot specify both Range header and partNumber query parameter"
        )),
        (Some(r), None) => r
            .check(total)
            .map(Some)
            .map_err(|_| s3_error!(InvalidRange, "The requested range is not satisfiable")),
        (None, None) => Ok(None),
        (None, Some(n)) => {
            let not_satisfiable = || {
                error::custom(
                    "InvalidPartNumber",
                    http::StatusCode::RANGE_NOT_SATISFIABLE,
                    "The requested partnumber is not satisfiable",
                )
            };
            if n < 1 {
                return Err(s3_error!(
                    InvalidArgument,
                    "Part number must be an integer between 1 and 10000, inclusive"
                ));
            }
            match &obj.part_sizes {
                None if n == 1 => Ok(Some(0..total)),
                None => Err(not_satisfiable()),
                Some(sizes) => {
                    let idx = usize::try_from(n - 1).map_err(|_| not_satisfiable())?;
                    let size = *sizes.get(idx).ok_or_else(not_satisfiable)? as u64;
                    let start: u64 = sizes[..idx].iter().map(|s| *s as u64).sum();
                    Ok(Some(start..start + size))
                }
            }
        }
    }
}

/// The PUT a form upload amounts to.
fn post_to_put(i: PostObjectInput) -> Result<PutObjectInput, s3s::dto::builders::BuildError> {
    let mut b = PutObjectInput::builder();
    b.set_acl(i.acl);
    b.set_body(i.body);
    b.set_bucket(i.bucket);
    b.set_key(i.key);
    b.set_cache_control(i.cache_control);
    b.set_checksum_algorithm(i.checksum_algorithm);
    b.set_checksum_crc32(i.checksum_crc32);
    b.set_checksum_crc32c(i.checksum_crc32c);
    b.set_checksum_crc64nvme(i.checksum_crc64nvme);
    b.set_checksum_sha1(i.checksum_sha1);
    b.set_checksum_sha256(i.checksum_sha256);
    b.set_content_disposition(i.content_disposition);
    b.set_content_encoding(i.content_encoding);
    b.set_content_language(i.content_language);
    b.set_content_length(i.content_length);
    b.set_content_md5(i.content_md5);
    b.set_content_type(i.content_type);
    b.set_expires(i.expires);
    b.set_metadata(i.metadata);
    b.set_tagging(i.tagging);
    b.build()
}

fn content_range(start: u64, end_exclusive: u64, total: u64) -> String {
    format!("bytes {start}-{}/{total}", end_exclusive - 1)
}

impl GoDriveS3 {
    pub(super) async fn do_put_object(&self, req: S3Request<PutObjectInput>) -> S3Result<S3Response<PutObjectOutput>> {
        super::sse::refuse_encryption(&req)?;
        let bucket_id = owned_bucket(&req)?;
        let limited = caller(&req)?.limited;
        let expected = super::error::expected(&req.headers, req.trailing_headers.clone())?;
        let input = req.input;
        check_key(&input.key)?;
        super::acl::check_canned(input.acl.as_ref().map(|a| a.as_str()))?;
        let tags = super::tagging::parse_header(input.tagging.as_deref())?;
        let len = declared_length(input.content_length)?;
        if input.if_match.is_some() || input.if_none_match.is_some() {
            return Err(s3_error!(NotImplemented, "Conditional writes are not supported."));
        }
        check_metadata(input.metadata.as_ref())?;
        let headers = headers_of!(input, tags);
        super::headers::check(&headers)?;

        // Room is reserved before a byte of the body is read, when there is a limit to
        // reserve against; a limit set meanwhile is still checked when the object commits.
        let reservation = match limited {
            true => Some(
                crate::objects::quota::reserve(
                    &self.state.db,
                    self.state.instance_id,
                    bucket_id,
                    Target::Key(&input.key),
                    len,
                )
                .await
                .map_err(error::quota)?,
            ),
            false => None,
        };
        let (pending, digests) = upload::receive(&self.state, input.body, len, expected).await?;
        check_content_md5(input.content_md5.as_deref(), &digests.md5)?;

        let etag = hex::encode(digests.md5);
        let new = NewObject {
            bucket_id,
            key: input.key,
            size: i64::try_from(digests.len).map_err(error::internal)?,
            etag: etag.clone(),
            md5: Some(digests.md5.to_vec()),
            sha256: Some(digests.sha256.to_vec()),
            headers,
            checksums: digests.checksums.clone(),
            checksum_type: (!digests.checksums.is_empty()).then(|| ChecksumType::FULL_OBJECT.to_owned()),
            parts_count: None,
            part_sizes: None,
            blob_id: pending.id.0,
            reservations: Vec::new(),
        };
        upload::commit(&self.state, new, pending, reservation).await?;
        let mut out = PutObjectOutput {
            e_tag: Some(ETag::Strong(etag)),
            ..Default::default()
        };
        set_checksums!(out, &digests.checksums, Some(ChecksumType::FULL_OBJECT.to_owned()));
        Ok(S3Response::new(out))
    }

    /// A browser form upload (POST Object): s3s has checked the policy and its signature and
    /// read the file (up to `GODRIVE_MAX_UPLOAD_BYTES`); it is stored like a PUT.
    pub(super) async fn do_post_object(
        &self,
        req: S3Request<PostObjectInput>,
    ) -> S3Result<S3Response<PostObjectOutput>> {
        super::sse::refuse_encryption(&req)?;
        let mut input = None;
        let req = req.map_input(|i| input = Some(post_to_put(i)));
        let input = input.expect("map_input ran").map_err(error::internal)?;
        let put = req.map_input(|()| input);
        let out = self.do_put_object(put).await?.output;
        Ok(S3Response::new(PostObjectOutput {
            e_tag: out.e_tag,
            checksum_crc32: out.checksum_crc32,
            checksum_crc32c: out.checksum_crc32c,
            checksum_crc64nvme: out.checksum_crc64nvme,
            checksum_sha1: out.checksum_sha1,
            checksum_sha256: out.checksum_sha256,
            checksum_type: out.checksum_type,
            ..Default::default()
        }))
    }

    async fn find(&self, bucket_id: uuid::Uuid, key: &str) -> S3Result<Object> {
        objects::get(&self.state.db, bucket_id, key)
            .await
            .map_err(error::db)?
            .ok_or_else(|| s3_error!(NoSuchKey, "The specified key does not exist."))
    }

    pub(super) async fn do_get_object(&self, req: S3Request<GetObjectInput>) -> S3Result<S3Response<GetObjectOutput>> {
        super::sse::refuse_encryption(&req)?;
        let bucket_id = owned_bucket(&req)?;
        let input = &req.input;
        // An overwrite may delete the blob between reading the row and opening the blob;
        // then the row has changed too, so read it again (once).
        let mut attempt = 0;
        let (obj, body, range) = loop {
            let obj = self.find(bucket_id, &input.key).await?;
            check_conditions(
                &obj,
                input.if_match.as_ref(),
                input.if_unmodified_since.as_ref(),
                input.if_none_match.as_ref(),
                input.if_modified_since.as_ref(),
            )?;
            let range = selected_range(&obj, input.range.as_ref(), input.part_number)?;
            match self.state.storage.get(BlobId(obj.blob_id), range.clone()).await {
                Ok(body) => break (obj, body, range),
                Err(StorageError::NotFound) if attempt == 0 => attempt += 1,
                Err(e) => return Err(error::storage(e)),
            }
        };
        let total = obj.size as u64;
        let (content_length, content_range) = match &range {
            None => (total, None),
            Some(r) => (r.end - r.start, Some(content_range(r.start, r.end, total))),
        };
        let h = super::headers::sendable(obj.headers.clone());
        let output = GetObjectOutput {
            body: Some(StreamingBlob::wrap(body)),
            content_length: Some(content_length as i64),
            content_range,
            accept_ranges: Some("bytes".to_owned()),
            e_tag: Some(etag(&obj)),
            last_modified: Some(obj.updated_at.into()),
            // response-* query parameters (signed, as every request here is) override.
            content_type: input.response_content_type.clone().or(h.content_type),
            content_disposition: input.response_content_disposition.clone().or(h.content_disposition),
            content_encoding: input.response_content_encoding.clone().or(h.content_encoding),
            content_language: input.response_content_language.clone().or(h.content_language),
            cache_control: input.response_cache_control.clone().or(h.cache_control),
            expires: input.response_expires.clone().or(h.expires.map(Into::into)),
            metadata: Some(h.user_metadata.into_iter().collect()),
            tag_count: (!h.tags.is_empty()).then_some(h.tags.len() as i32),
            parts_count: input.part_number.and(obj.parts_count),
            ..Default::default()
        };
        let mut output = output;
        // Checksums describe the whole object: a range gets none, as in S3.
        if range.is_none() && checksum_mode(input.checksum_mode.as_ref()) {
            set_checksums!(output, &obj.checksums, obj.checksum_type.clone());
        }
        let mut resp = S3Response::new(output);
        if range.is_some() {
            resp.status = Some(http::StatusCode::PARTIAL_CONTENT);
        }
        Ok(resp)
    }

    pub(super) async fn do_head_object(
        &self,
        req: S3Request<HeadObjectInput>,
    ) -> S3Result<S3Response<HeadObjectOutput>> {
        super::sse::refuse_encryption(&req)?;
        let bucket_id = owned_bucket(&req)?;
        let input = &req.input;
        if input.version_id.as_deref().is_some_and(|v| v != "null") {
            return Err(s3_error!(NoSuchVersion, "The specified version does not exist."));
        }
        let obj = self.find(bucket_id, &input.key).await?;
        check_conditions(
            &obj,
            input.if_match.as_ref(),
            input.if_unmodified_since.as_ref(),
            input.if_none_match.as_ref(),
            input.if_modified_since.as_ref(),
        )?;
        let total = obj.size as u64;
        let (content_length, content_range) = match selected_range(&obj, input.range.as_ref(), input.part_number)? {
            None => (total, None),
            Some(r) => (r.end - r.start, Some(content_range(r.start, r.end, total))),
        };
        let h = super::headers::sendable(obj.headers.clone());
        let mut out = HeadObjectOutput {
            content_length: Some(content_length as i64),
            content_range: content_range.clone(),
            accept_ranges: Some("bytes".to_owned()),
            e_tag: Some(etag(&obj)),
            last_modified: Some(obj.updated_at.into()),
            // response-* query parameters (signed, as every request here is) override.
            content_type: input.response_content_type.clone().or(h.content_type),
            content_disposition: input.response_content_disposition.clone().or(h.content_disposition),
            content_encoding: input.response_content_encoding.clone().or(h.content_encoding),
            content_language: input.response_content_language.clone().or(h.content_language),
            cache_control: input.response_cache_control.clone().or(h.cache_control),
            expires: input.response_expires.clone().or(h.expires.map(Into::into)),
            metadata: Some(h.user_metadata.into_iter().collect()),
            parts_count: input.part_number.and(obj.parts_count),
            ..Default::default()
        };
        if content_range.is_none() && checksum_mode(input.checksum_mode.as_ref()) {
            set_checksums!(out, &obj.checksums, obj.checksum_type.clone());
        }
        let mut resp = S3Response::new(out);
        if content_range.is_some() {
            resp.status = Some(http::StatusCode::PARTIAL_CONTENT);
        }
        Ok(resp)
    }

    pub(super) async fn do_delete_object(
        &self,
        req: S3Request<DeleteObjectInput>,
    ) -> S3Result<S3Response<DeleteObjectOutput>> {
        let bucket_id = owned_bucket(&req)?;
        self.remove(bucket_id, &req.input.key).await?;
        // Deleting a missing key succeeds too (204), as in S3.
        Ok(S3Response::new(DeleteObjectOutput::default()))
    }

    /// Deletes the row, then its blob once the row is gone.
    async fn remove(&self, bucket_id: uuid::Uuid, key: &str) -> S3Result<()> {
        let mut conn = self.state.db.acquire().await.map_err(|e| error::db(e.into()))?;
        if let Some(blob) = objects::delete(&mut conn, bucket_id, key).await.map_err(error::db)? {
            delete_in_background(self.state.storage.clone(), BlobId(blob));
        }
        Ok(())
    }

    pub(super) async fn do_delete_objects(
        &self,
        req: S3Request<DeleteObjectsInput>,
    ) -> S3Result<S3Response<DeleteObjectsOutput>> {
        let bucket_id = owned_bucket(&req)?;
        let delete = req.input.delete;
        if delete.objects.len() > MAX_DELETE_KEYS {
            return Err(s3_error!(
                MalformedXML,
                "A DeleteObjects request may name at most 1000 keys."
            ));
        }
        let quiet = delete.quiet.unwrap_or(false);
        let (valid, invalid): (Vec<_>, Vec<_>) = delete.objects.into_iter().partition(|o| check_key(&o.key).is_ok());
        let keys: Vec<String> = valid.iter().map(|o| o.key.clone()).collect();
        // One statement for the whole batch; bytes go after the rows are gone.
        let mut conn = self.state.db.acquire().await.map_err(|e| error::db(e.into()))?;
        for blob in objects::delete_many(&mut conn, bucket_id, &keys)
            .await
            .map_err(error::db)?
        {
            delete_in_background(self.state.storage.clone(), BlobId(blob));
        }
        let deleted: Vec<DeletedObject> = if quiet {
            Vec::new()
        } else {
            valid
                .into_iter()
                .map(|o| DeletedObject {
                    key: Some(o.key),
                    version_id: o.version_id,
                    ..Default::default()
                })
                .collect()
        };
        let errors: Vec<Error> = invalid
            .into_iter()
            .map(|o| {
                let e = check_key(&o.key).expect_err("partitioned as invalid");
                Error {
                    code: Some(e.code().as_str().to_owned()),
                    key: Some(o.key),
                    message: e.message().map(str::to_owned),
                    version_id: o.version_id,
                }
            })
            .collect();
        Ok(S3Response::new(DeleteObjectsOutput {
            deleted: (!deleted.is_empty()).then_some(deleted),
            errors: (!errors.is_empty()).then_some(errors),
            ..Default::default()
        }))
    }
}
