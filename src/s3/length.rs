//! The length an upload declares, and bodies that declare none.
//!
//! A body sent `Transfer-Encoding: chunked` declares its size in `Content-Length` (never:
//! chunked bodies have none), in `x-amz-decoded-content-length` (aws-chunked), or not at
//! all. GoDrive stores a body of unknown length, reserving quota as it arrives
//! (`objects::growing`). s3s 0.14 refuses such a body when its payload is unsigned (as MinIO
//! does, with `MissingContentLength`), so [`mark`] gives s3s a stand-in length, which is no
//! signed header, and marks the request; [`declared`] reads the mark.

use http::header::{CONTENT_LENGTH, TRANSFER_ENCODING};
use s3s::{S3Result, s3_error};

/// S3's limit for a single PUT (5 GiB).
pub const MAX_PUT_SIZE: u64 = 5 * 1024 * 1024 * 1024;

/// The mark on a request whose body declares no length.
#[derive(Debug, Clone, Copy)]
struct UnknownLength;

/// The length s3s is given for a marked request: any step that took it for real would
/// refuse it as too large.
const STAND_IN: i64 = i64::MAX;

/// Marks an unsigned PUT sent chunked with no length at all, and gives s3s a stand-in.
pub fn mark<B>(mut req: http::Request<B>) -> http::Request<B> {
    let h = req.headers();
    let unsized_unsigned = req.method() == http::Method::PUT
        && h.contains_key(TRANSFER_ENCODING)
        && !h.contains_key(CONTENT_LENGTH)
        && !h.contains_key("x-amz-decoded-content-length")
        && h.get("x-amz-content-sha256").is_some_and(|v| v == "UNSIGNED-PAYLOAD");
    if unsized_unsigned {
        req.headers_mut()
            .insert(CONTENT_LENGTH, http::HeaderValue::from(STAND_IN));
        req.extensions_mut().insert(UnknownLength);
    }
    req
}

/// The length an upload declares: Content-Length, or the decoded length of an aws-chunked
/// body (which s3s puts in Content-Length only when the request had one). `None` for a
/// body sent chunked that declares no size (marked by [`mark`], or presigned); a request
/// with neither a length nor a chunked body is `MissingContentLength`, as in S3. At most
/// 5 GiB.
pub fn declared(
    content_length: Option<i64>,
    headers: &http::HeaderMap,
    extensions: &http::Extensions,
) -> S3Result<Option<u64>> {
    if extensions.get::<UnknownLength>().is_some() {
        return Ok(None);
    }
    let decoded = || {
        headers
            .get("x-amz-decoded-content-length")
            .and_then(|v| v.to_str().ok()?.parse::<i64>().ok())
    };
    let Some(len) = content_length.or_else(decoded) else {
        if headers.contains_key(TRANSFER_ENCODING) {
            return Ok(None);
        }
        return Err(s3_error!(
            MissingContentLength,
            "You must provide the Content-Length HTTP header."
        ));
    };
    let len = u64::try_from(len).map_err(|_| s3_error!(InvalidArgument, "Content-Length must not be negative."))?;
    if len > MAX_PUT_SIZE {
        return Err(s3_error!(
            EntityTooLarge,
            "Your proposed upload exceeds the maximum allowed object size."
        ));
    }
    Ok(Some(len))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn put(headers: &[(&str, &str)]) -> http::Request<()> {
        let mut b = http::Request::builder().method("PUT").uri("/b/k");
        for (k, v) in headers {
            b = b.header(*k, *v);
        }
        b.body(()).unwrap()
    }

    #[test]
    fn only_an_unsigned_chunked_put_with_no_length_is_marked() {
        let chunked = [
            ("transfer-encoding", "chunked"),
            ("x-amz-content-sha256", "UNSIGNED-PAYLOAD"),
        ];
        let marked = mark(put(&chunked));
        assert_eq!(marked.headers()[CONTENT_LENGTH], i64::MAX.to_string().as_str());
        let (h, x) = (marked.headers(), marked.extensions());
        assert_eq!(declared(Some(i64::MAX), h, x).unwrap(), None);

        for not in [
            vec![
                ("transfer-encoding", "chunked"),
                ("x-amz-content-sha256", "STREAMING-UNSIGNED-PAYLOAD-TRAILER"),
                ("x-amz-decoded-content-length", "5"),
            ],
            vec![("content-length", "5"), ("x-amz-content-sha256", "UNSIGNED-PAYLOAD")],
            vec![("transfer-encoding", "chunked"), ("x-amz-content-sha256", "e3b0c442")],
        ] {
            let req = mark(put(&not));
            assert!(req.extensions().get::<UnknownLength>().is_none(), "{not:?}");
        }
    }

    #[test]
    fn the_decoded_length_stands_in_for_a_missing_content_length() {
        let req = put(&[("transfer-encoding", "chunked"), ("x-amz-decoded-content-length", "11")]);
        assert_eq!(declared(None, req.headers(), req.extensions()).unwrap(), Some(11));
        let req = put(&[("content-length", "3")]);
        assert_eq!(declared(Some(3), req.headers(), req.extensions()).unwrap(), Some(3));
        let req = put(&[]);
        let err = declared(None, req.headers(), req.extensions()).unwrap_err();
        assert_eq!(err.code(), &s3s::S3ErrorCode::MissingContentLength);
        let big = (MAX_PUT_SIZE + 1) as i64;
        let err = declared(Some(big), req.headers(), req.extensions()).unwrap_err();
        assert_eq!(err.code(), &s3s::S3ErrorCode::EntityTooLarge);
    }
}
