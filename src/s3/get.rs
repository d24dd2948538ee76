//! Reading objects: GetObject and HeadObject, with conditional headers, ranges and part
//! numbers, checksums on request, and stored headers that can still be sent.

use s3s::dto::*;
use s3s::{S3Request, S3Response, S3Result, s3_error};
use time::OffsetDateTime;

use super::object::set_checksums;
use super::{GoDriveS3, error, owned_bucket};
use crate::db::objects::Object;
use crate::storage::StorageError;

/// Whether the request asked for checksums back (`x-amz-checksum-mode: ENABLED`).
fn checksum_mode(mode: Option<&ChecksumMode>) -> bool {
    mode.is_some_and(|m| m.as_str().eq_ignore_ascii_case(ChecksumMode::ENABLED))
}

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

fn content_range(start: u64, end_exclusive: u64, total: u64) -> String {
    format!("bytes {start}-{}/{total}", end_exclusive - 1)
}

/// The `response-*` query parameters of a GET or HEAD (signed, as every request here is):
/// they override the stored headers in the answer.
struct Overrides<'a> {
    content_type: &'a Option<String>,
    content_disposition: &'a Option<String>,
    content_encoding: &'a Option<String>,
    content_language: &'a Option<String>,
    cache_control: &'a Option<String>,
    expires: &'a Option<Timestamp>,
}

/// What GetObject and HeadObject both answer about an object: length and range, validators,
/// the stored headers that can still be sent (overridden by `response-*`), metadata.
struct Described {
    content_length: i64,
    content_range: Option<String>,
    e_tag: ETag,
    last_modified: Timestamp,
    content_type: Option<String>,
    content_disposition: Option<String>,
    content_encoding: Option<String>,
    content_language: Option<String>,
    cache_control: Option<String>,
    expires: Option<Timestamp>,
    metadata: Metadata,
    tag_count: Option<i32>,
    parts_count: Option<i32>,
}

fn describe(obj: &Object, range: Option<&std::ops::Range<u64>>, o: Overrides<'_>, part: Option<i32>) -> Described {
    let total = obj.size as u64;
    let (content_length, content_range) = match range {
        None => (total, None),
        Some(r) => (r.end - r.start, Some(content_range(r.start, r.end, total))),
    };
    let h = super::headers::sendable(obj.headers.clone());
    Described {
        content_length: content_length as i64,
        content_range,
        e_tag: etag(obj),
        last_modified: obj.updated_at.into(),
        // An object stored without a type is bytes to a browser, never a guess.
        content_type: o
            .content_type
            .clone()
            .or(h.content_type)
            .or_else(|| Some("application/octet-stream".to_owned())),
        content_disposition: o.content_disposition.clone().or(h.content_disposition),
        content_encoding: o.content_encoding.clone().or(h.content_encoding),
        content_language: o.content_language.clone().or(h.content_language),
        cache_control: o.cache_control.clone().or(h.cache_control),
        expires: o.expires.clone().or(h.expires.map(Into::into)),
        metadata: h.user_metadata.into_iter().collect(),
        tag_count: (!h.tags.is_empty()).then_some(h.tags.len() as i32),
        parts_count: part.and(obj.parts_count),
    }
}

/// The `response-*` overrides of an input that has them.
macro_rules! overrides {
    ($input:expr) => {
        Overrides {
            content_type: &$input.response_content_type,
            content_disposition: &$input.response_content_disposition,
            content_encoding: &$input.response_content_encoding,
            content_language: &$input.response_content_language,
            cache_control: &$input.response_cache_control,
            expires: &$input.response_expires,
        }
    };
}

impl GoDriveS3 {
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
            match crate::objects::stored::open(&self.state.storage, &obj, range.clone()).await {
                Ok(body) => break (obj, body, range),
                Err(StorageError::NotFound) if attempt == 0 => attempt += 1,
                Err(e) => return Err(error::storage(e)),
            }
        };
        let d = describe(&obj, range.as_ref(), overrides!(input), input.part_number);
        let output = GetObjectOutput {
            body: Some(StreamingBlob::wrap(body)),
            content_length: Some(d.content_length),
            content_range: d.content_range,
            accept_ranges: Some("bytes".to_owned()),
            e_tag: Some(d.e_tag),
            last_modified: Some(d.last_modified),
            content_type: d.content_type,
            content_disposition: d.content_disposition,
            content_encoding: d.content_encoding,
            content_language: d.content_language,
            cache_control: d.cache_control,
            expires: d.expires,
            metadata: Some(d.metadata),
            tag_count: d.tag_count,
            parts_count: d.parts_count,
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
        let range = selected_range(&obj, input.range.as_ref(), input.part_number)?;
        let d = describe(&obj, range.as_ref(), overrides!(input), input.part_number);
        let content_range = d.content_range.clone();
        let mut out = HeadObjectOutput {
            content_length: Some(d.content_length),
            content_range: d.content_range,
            accept_ranges: Some("bytes".to_owned()),
            e_tag: Some(d.e_tag),
            last_modified: Some(d.last_modified),
            content_type: d.content_type,
            content_disposition: d.content_disposition,
            content_encoding: d.content_encoding,
            content_language: d.content_language,
            cache_control: d.cache_control,
            expires: d.expires,
            metadata: Some(d.metadata),
            parts_count: d.parts_count,
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
}
