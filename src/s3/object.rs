//! Writing and deleting objects: PutObject, POST Object, DeleteObject, DeleteObjects; and the
//! checks every write shares (key, declared length, metadata). Reads are in `get`.

use s3s::dto::*;
use s3s::{S3Request, S3Response, S3Result, s3_error};

use super::{GoDriveS3, caller, error, owned_bucket};
use crate::db::objects::NewObject;
use crate::db::versions::Removal;
use crate::objects::growing::Growing;
use crate::objects::quota::Target;
use crate::objects::upload::{self, check_content_md5};

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

pub use super::length::MAX_PUT_SIZE;

/// S3's limit for keys in one DeleteObjects request.
const MAX_DELETE_KEYS: usize = 1000;

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
            content_encoding: $crate::s3::headers::stored_encoding($input.content_encoding),
            content_language: $input.content_language,
            cache_control: $input.cache_control,
            expires: $input.expires.map(time::OffsetDateTime::from),
            user_metadata: $input.metadata.unwrap_or_default().into_iter().collect(),
            tags: $tags,
        }
    };
}
pub(super) use headers_of;

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

impl GoDriveS3 {
    pub(super) async fn do_put_object(&self, req: S3Request<PutObjectInput>) -> S3Result<S3Response<PutObjectOutput>> {
        super::sse::refuse_encryption(&req)?;
        let bucket_id = owned_bucket(&req)?;
        let limited = caller(&req)?.limited;
        let expected = super::error::expected(&req.headers, req.trailing_headers.clone())?;
        let input = req.input;
        check_key(&input.key)?;
        let acl = super::acl::of_upload(
            &self.state,
            input.acl.as_ref(),
            [
                input.grant_full_control.as_ref(),
                input.grant_read.as_ref(),
                input.grant_read_acp.as_ref(),
                input.grant_write_acp.as_ref(),
            ],
        )?;
        let tags = super::tagging::parse_header(input.tagging.as_deref())?;
        let len = super::length::declared(input.content_length, &req.headers, &req.extensions)?;
        let condition = super::conditions::write_condition(input.if_match.as_ref(), input.if_none_match.as_ref())?;
        if condition.is_some() {
            let current = crate::db::objects::get(&self.state.db, bucket_id, &input.key)
                .await
                .map_err(error::db)?;
            super::conditions::check_write(condition.as_ref(), current.as_ref())?;
        }
        check_metadata(input.metadata.as_ref())?;
        let headers = headers_of!(input, tags);
        super::headers::check(&headers)?;

        // Room is reserved before a byte of the body is read, when there is a limit to
        // reserve against (as the body arrives, for a body of unknown length); a limit set
        // meanwhile is still checked when the object commits.
        let state = &self.state;
        let (pending, digests, reservation) = match len {
            Some(len) => {
                let reservation = match limited {
                    true => Some(
                        crate::objects::quota::reserve(
                            &state.db,
                            state.instance_id,
                            bucket_id,
                            Target::Key(&input.key),
                            len,
                        )
                        .await
                        .map_err(error::quota)?,
                    ),
                    false => None,
                };
                let (pending, digests) = upload::receive(state, input.body, len, expected).await?;
                (pending, digests, reservation)
            }
            None => {
                let growing = match limited {
                    true => Some(
                        Growing::start(&state.db, state.instance_id, bucket_id, Target::Key(&input.key))
                            .await
                            .map_err(error::quota)?,
                    ),
                    false => None,
                };
                upload::receive_unsized(state, input.body, MAX_PUT_SIZE, expected, growing).await?
            }
        };
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
            part_blobs: None,
            blob_id: pending.id.0,
            reservations: Vec::new(),
            condition,
            acl: acl.map(str::to_owned),
        };
        let stored = upload::commit(&self.state, new, pending, reservation).await?;
        let mut out = PutObjectOutput {
            e_tag: Some(ETag::Strong(etag)),
            version_id: stored.version_id,
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
        let mut input = input.expect("map_input ran").map_err(error::internal)?;
        input.key = super::form::key_for(&input.key, req.extensions.get::<super::form::FileName>());
        let put = req.map_input(|()| input);
        let out = self.do_put_object(put).await?.output;
        // s3s answers a form upload with a status (and a document for 201) but none of the
        // output's headers: the version and the ETag go in as headers of their own, as S3
        // sends them.
        let mut headers = http::HeaderMap::new();
        let named = [
            ("x-amz-version-id", out.version_id.clone()),
            ("etag", out.e_tag.as_ref().map(|e| format!("\"{}\"", e.value()))),
        ];
        for (name, value) in named {
            if let Some(v) = value.and_then(|v| http::HeaderValue::from_str(&v).ok()) {
                headers.insert(name, v);
            }
        }
        let mut resp = S3Response::new(PostObjectOutput {
            e_tag: out.e_tag,
            checksum_crc32: out.checksum_crc32,
            checksum_crc32c: out.checksum_crc32c,
            checksum_crc64nvme: out.checksum_crc64nvme,
            checksum_sha1: out.checksum_sha1,
            checksum_sha256: out.checksum_sha256,
            checksum_type: out.checksum_type,
            version_id: out.version_id,
            ..Default::default()
        });
        resp.headers = headers;
        Ok(resp)
    }

    pub(super) async fn do_delete_object(
        &self,
        req: S3Request<DeleteObjectInput>,
    ) -> S3Result<S3Response<DeleteObjectOutput>> {
        let bucket_id = owned_bucket(&req)?;
        let i = req.input;
        super::versioning::check_version_id(i.version_id.as_deref())?;
        let target = (i.key, i.version_id);
        let removal = self
            .remove(bucket_id, std::slice::from_ref(&target))
            .await?
            .pop()
            .ok_or_else(|| error::internal("no outcome for the one key removed"))?;
        // Deleting a missing key or version succeeds too (204), as in S3.
        Ok(S3Response::new(DeleteObjectOutput {
            delete_marker: removal.marker.then_some(true),
            version_id: removal.version_id,
            ..Default::default()
        }))
    }

    /// Removes versions, or the current objects (a delete marker on a versioned bucket);
    /// their blobs go once their rows are gone.
    async fn remove(&self, bucket_id: uuid::Uuid, targets: &[(String, Option<String>)]) -> S3Result<Vec<Removal>> {
        crate::objects::removal::remove(&self.state, bucket_id, targets)
            .await
            .map_err(error::db)
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
        let check = |o: &ObjectIdentifier| {
            check_key(&o.key).and_then(|()| super::versioning::check_version_id(o.version_id.as_deref()))
        };
        let (valid, invalid): (Vec<_>, Vec<_>) = delete.objects.into_iter().partition(|o| check(o).is_ok());
        let targets: Vec<(String, Option<String>)> = valid.into_iter().map(|o| (o.key, o.version_id)).collect();
        // One statement for the whole batch; bytes go after the rows are gone.
        let done = self.remove(bucket_id, &targets).await?;
        let deleted: Vec<DeletedObject> = if quiet {
            Vec::new()
        } else {
            targets
                .into_iter()
                .zip(done)
                .map(|((key, asked), r)| {
                    let marker_id = r.marker.then(|| r.version_id.clone()).flatten();
                    DeletedObject {
                        key: Some(key),
                        delete_marker: r.marker.then_some(true),
                        delete_marker_version_id: marker_id,
                        version_id: asked,
                    }
                })
                .collect()
        };
        let errors: Vec<Error> = invalid
            .into_iter()
            .map(|o| {
                let e = check(&o).expect_err("partitioned as invalid");
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
