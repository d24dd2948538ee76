//! Checks on the raw request that every S3 operation shares. They run from
//! [`super::auth::Authz`], the one hook s3s calls for every request after the signature
//! check and before it reads a body or builds the operation's input, so a refusal here costs
//! no body bytes and no database query.

use s3s::access::S3AccessContext;
use s3s::path::S3Path;
use s3s::{S3Result, s3_error};

use crate::text::has_control;

/// The largest XML request body accepted (CompleteMultipartUpload, DeleteObjects,
/// PutBucketCors, PutObjectTagging, ...), which s3s holds in memory to parse. S3 keeps such
/// bodies to a few MiB; 4 MiB leaves room for the largest legitimate ones: a completion of
/// 10,000 parts with SHA-256 checksums (about 2.5 MB) and a DeleteObjects of 1,000 keys of
/// 1,024 bytes (about 1.1 MB).
pub const MAX_XML_BODY: usize = 4 * 1024 * 1024;

/// The operations whose body s3s reads whole before calling us (its `needs_full_body`
/// routes), whether GoDrive implements them or not.
const XML_BODY_OPERATIONS: &[&str] = &[
    "CompleteMultipartUpload",
    "CreateBucket",
    "CreateBucketMetadataTableConfiguration",
    "DeleteObjects",
    "PutBucketAccelerateConfiguration",
    "PutBucketAcl",
    "PutBucketAnalyticsConfiguration",
    "PutBucketCors",
    "PutBucketEncryption",
    "PutBucketIntelligentTieringConfiguration",
    "PutBucketInventoryConfiguration",
    "PutBucketLifecycleConfiguration",
    "PutBucketLogging",
    "PutBucketMetricsConfiguration",
    "PutBucketNotificationConfiguration",
    "PutBucketOwnershipControls",
    "PutBucketPolicy",
    "PutBucketReplication",
    "PutBucketRequestPayment",
    "PutBucketTagging",
    "PutBucketVersioning",
    "PutBucketWebsite",
    "PutObjectAcl",
    "PutObjectLegalHold",
    "PutObjectLockConfiguration",
    "PutObjectRetention",
    "PutObjectTagging",
    "PutPublicAccessBlock",
    "RestoreObject",
    "SelectObjectContent",
];

/// Subresources of S3 operations that s3s 0.14 does not know, and would route as another
/// operation, by method and path alone: `DELETE /bucket?metadataConfiguration` as
/// DeleteBucket, `PUT /bucket/key?renameObject` or `?encryption` as PutObject, `PUT
/// /bucket?abac` as CreateBucket. GoDrive implements none of them: they are answered
/// `NotImplemented` before they can act as something else.
const UNROUTED_SUBRESOURCES: &[&str] = &[
    "abac",
    "metadataConfiguration",
    "metadataInventoryTable",
    "metadataJournalTable",
    "metadataTable",
    "renameObject",
];

/// The subresources above, and `?encryption` on an object (UpdateObjectEncryption; on a
/// bucket it is PutBucketEncryption, which s3s knows).
fn unrouted_subresource(query: Option<&str>, on_object: bool) -> Option<&str> {
    query?
        .split('&')
        .map(|pair| pair.split_once('=').map_or(pair, |(name, _)| name))
        .find(|name| UNROUTED_SUBRESOURCES.contains(name) || (on_object && *name == "encryption"))
}

/// Refuses what no operation can serve: a subresource s3s would route as another operation
/// (`NotImplemented`), an XML body declared over [`MAX_XML_BODY`]
/// (`EntityTooLarge`, before a byte of it is read) or sent chunked with no length
/// (`MissingContentLength`; any other body without a declared length is cut at the same
/// size by s3s's `xml_max_body_size`), and a control character in the object
/// key or in any query parameter (`InvalidArgument`): prefixes, markers, delimiters, upload
/// ids and `response-*` overrides go to SQL or back out as headers, where they cannot.
pub fn check(cx: &S3AccessContext<'_>) -> S3Result<()> {
    let on_object = matches!(cx.s3_path(), S3Path::Object { .. });
    if let Some(name) = unrouted_subresource(cx.uri().query(), on_object) {
        return Err(s3_error!(
            NotImplemented,
            "A header or query parameter you provided implies functionality that is not implemented: {name}"
        ));
    }
    if XML_BODY_OPERATIONS.contains(&cx.s3_op().name()) {
        let declared = ["content-length", "x-amz-decoded-content-length"]
            .iter()
            .filter_map(|h| cx.headers().get(*h)?.to_str().ok()?.parse::<u64>().ok())
            .max();
        // A chunked body of unknown length is refused as S3 refuses it (411). s3s would cut
        // it at `xml_max_body_size`, but answer that with a 500: s3s 0.14 maps only its own
        // size error to MaxMessageLengthExceeded, not the one of a streamed body.
        if declared.is_none() && cx.headers().contains_key(http::header::TRANSFER_ENCODING) {
            return Err(s3_error!(
                MissingContentLength,
                "You must provide the Content-Length HTTP header."
            ));
        }
        if declared.is_some_and(|n| n > MAX_XML_BODY as u64) {
            return Err(s3_error!(
                EntityTooLarge,
                "The XML request body exceeds the limit of {} bytes.",
                MAX_XML_BODY
            ));
        }
    }
    if let S3Path::Object { key, .. } = cx.s3_path()
        && has_control(key)
    {
        return Err(s3_error!(
            InvalidArgument,
            "Object key must not contain control characters."
        ));
    }
    if let Some(name) = control_in_query(cx.uri().query()) {
        return Err(s3_error!(
            InvalidArgument,
            "The query parameter {name} must not contain control characters."
        ));
    }
    Ok(())
}

/// The first query parameter whose name or decoded value holds a control character (its
/// name made printable and cut to 64 characters, for the error message).
fn control_in_query(query: Option<&str>) -> Option<String> {
    let decode = |s: &str| percent_encoding::percent_decode_str(s).decode_utf8_lossy().into_owned();
    query?.split('&').find_map(|pair| {
        let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
        let (name, value) = (decode(name), decode(value));
        (has_control(&name) || has_control(&value)).then(|| crate::text::scrub(&name).chars().take(64).collect())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subresources_s3s_would_misroute_are_found() {
        assert_eq!(
            unrouted_subresource(Some("metadataConfiguration"), false),
            Some("metadataConfiguration")
        );
        assert_eq!(
            unrouted_subresource(Some("x-id=PutObject&renameObject"), true),
            Some("renameObject")
        );
        assert_eq!(unrouted_subresource(Some("encryption"), true), Some("encryption"));
        assert_eq!(unrouted_subresource(Some("encryption"), false), None);
        assert_eq!(unrouted_subresource(Some("abac="), false), Some("abac"));
        assert_eq!(unrouted_subresource(Some("list-type=2&prefix=abac"), false), None);
        assert_eq!(unrouted_subresource(Some("uploads"), true), None);
        assert_eq!(unrouted_subresource(None, true), None);
    }

    #[test]
    fn control_characters_are_found_in_any_query_parameter() {
        assert_eq!(control_in_query(None), None);
        assert_eq!(control_in_query(Some("list-type=2&prefix=photos%2F&max-keys=10")), None);
        assert_eq!(control_in_query(Some("prefix=%C3%A9t%C3%A9&delimiter=%2F")), None);
        assert_eq!(control_in_query(Some("uploads")), None);
        assert_eq!(
            control_in_query(Some("list-type=2&prefix=a%00b")).as_deref(),
            Some("prefix")
        );
        assert_eq!(
            control_in_query(Some("response-content-type=text%2Fplain%0D%0AX-Evil%3A%201")).as_deref(),
            Some("response-content-type")
        );
        assert_eq!(control_in_query(Some("marker=%7F")).as_deref(), Some("marker"));
        assert_eq!(control_in_query(Some("key%01=1")).as_deref(), Some("key\u{FFFD}"));
    }
}
