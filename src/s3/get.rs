//! Reading objects: GetObject and HeadObject, with conditional headers, ranges and part
//! numbers, checksums on request, and stored headers that can still be sent.

use s3s::dto::*;
use s3s::{S3Request, S3Response, S3Result, s3_error};

use super::conditions::Conditions;
use super::object::set_checksums;
use super::{GoDriveS3, error, owned_bucket};
use crate::db::objects::Object;
use crate::objects::range::ByteRange;
use crate::storage::StorageError;

/// Whether the request asked for checksums back (`x-amz-checksum-mode: ENABLED`).
fn checksum_mode(mode: Option<&ChecksumMode>) -> bool {
    mode.is_some_and(|m| m.as_str().eq_ignore_ascii_case(ChecksumMode::ENABLED))
}

fn etag(obj: &Object) -> ETag {
    ETag::Strong(obj.etag.clone())
}

/// The byte range a request selects in an object of `total` bytes (uploaded in parts of
/// `part_sizes`, if it was): a `Range` header, or `?partNumber=N` (one part of a multipart
/// object; part 1 of any other object is all of it). `None` is the whole object.
fn selected_range(
    total: u64,
    part_sizes: Option<&[i64]>,
    range: Option<&Range>,
    part: Option<i32>,
) -> S3Result<Option<std::ops::Range<u64>>> {
    match (range, part) {
        (Some(_), Some(_)) => Err(s3_error!(
            InvalidRequest,
            "Cannot specify both Range header and partNumber query parameter"
        )),
        (Some(r), None) => byte_range(r)
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
            match part_sizes {
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

/// The range s3s parsed, as the core's (which decides the span).
fn byte_range(r: &Range) -> ByteRange {
    match *r {
        Range::Int { first, last } => ByteRange::Int { first, last },
        Range::Suffix { length } => ByteRange::Suffix { length },
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
        // Asked by part, an object not uploaded in parts is one part.
        parts_count: part.map(|_| obj.parts_count.unwrap_or(1)),
    }
}

/// The conditional headers of an input that has them.
macro_rules! conditions {
    ($input:expr) => {
        Conditions {
            if_match: $input.if_match.as_ref(),
            if_unmodified_since: $input.if_unmodified_since.as_ref(),
            if_none_match: $input.if_none_match.as_ref(),
            if_modified_since: $input.if_modified_since.as_ref(),
        }
    };
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
            let obj = self
                .object_version(bucket_id, &input.key, input.version_id.as_deref())
                .await?;
            conditions!(input).check_read(&obj)?;
            let range = selected_range(
                obj.size as u64,
                obj.part_sizes.as_deref(),
                input.range.as_ref(),
                input.part_number,
            )?;
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
            version_id: obj.version_id.clone(),
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
        let obj = self
            .object_version(bucket_id, &input.key, input.version_id.as_deref())
            .await?;
        conditions!(input).check_read(&obj)?;
        let range = selected_range(
            obj.size as u64,
            obj.part_sizes.as_deref(),
            input.range.as_ref(),
            input.part_number,
        )?;
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
            version_id: obj.version_id.clone(),
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

#[cfg(test)]
mod tests {
    use super::*;

    fn code(e: s3s::S3Error) -> String {
        e.code().as_str().to_owned()
    }

    #[test]
    fn a_range_header_selects_its_span() {
        let total = 10_000;
        let span = |r: Range| selected_range(total, None, Some(&r), None).map_err(code);
        let int = |first, last| Range::Int { first, last };
        assert_eq!(span(int(0, Some(499))), Ok(Some(0..500)));
        assert_eq!(span(int(9_500, None)), Ok(Some(9_500..10_000)));
        assert_eq!(span(int(9_500, Some(20_000))), Ok(Some(9_500..10_000)));
        assert_eq!(span(Range::Suffix { length: 500 }), Ok(Some(9_500..10_000)));
        assert_eq!(span(Range::Suffix { length: 20_000 }), Ok(Some(0..10_000)));
        assert_eq!(span(int(10_000, None)), Err("InvalidRange".to_owned()));
        assert_eq!(span(Range::Suffix { length: 0 }), Err("InvalidRange".to_owned()));
        assert_eq!(selected_range(total, None, None, None).map_err(code), Ok(None));
    }

    #[test]
    fn a_part_number_selects_that_part() {
        let sizes = [5_242_880, 5_242_880, 100];
        let total = sizes.iter().sum::<i64>() as u64;
        let part = |n| selected_range(total, Some(&sizes), None, Some(n)).map_err(code);
        assert_eq!(part(1), Ok(Some(0..5_242_880)));
        assert_eq!(part(2), Ok(Some(5_242_880..10_485_760)));
        assert_eq!(part(3), Ok(Some(10_485_760..10_485_860)));
        assert_eq!(part(4), Err("InvalidPartNumber".to_owned()));
        assert_eq!(part(0), Err("InvalidArgument".to_owned()));
        assert_eq!(part(-1), Err("InvalidArgument".to_owned()));
        // An object not uploaded in parts is its own part 1.
        assert_eq!(selected_range(42, None, None, Some(1)).map_err(code), Ok(Some(0..42)));
        assert_eq!(
            selected_range(42, None, None, Some(2)).map_err(code),
            Err("InvalidPartNumber".to_owned())
        );
        let both = selected_range(42, None, Some(&Range::Suffix { length: 1 }), Some(1));
        assert_eq!(both.map_err(code), Err("InvalidRequest".to_owned()));
    }

    #[test]
    fn content_ranges_are_inclusive() {
        assert_eq!(content_range(0, 500, 10_000), "bytes 0-499/10000");
        assert_eq!(content_range(9_999, 10_000, 10_000), "bytes 9999-9999/10000");
    }

    proptest::proptest! {
        /// The core's range rule answers as s3s's own did, for any header and length.
        #[test]
        fn ranges_follow_the_rule_s3s_applied(
            h in "(bytes=)?[-0-9 ,+]{0,24}|bytes=[0-9]{0,6}-[0-9]{0,6}|bytes=[0-9]{18,21}-[0-9]{0,21}",
            total in 0u64..100_000,
        ) {
            let ours = ByteRange::parse(&h).ok();
            let theirs = Range::parse(&h).ok();
            proptest::prop_assert_eq!(ours, theirs.as_ref().map(byte_range));
            if let Some(r) = theirs {
                proptest::prop_assert_eq!(byte_range(&r).check(total).ok(), r.check(total).ok());
            }
        }
    }
}
