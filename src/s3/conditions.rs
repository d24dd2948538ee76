//! Conditional requests: If-Match / If-Unmodified-Since and If-None-Match /
//! If-Modified-Since, on reads (GetObject, HeadObject) and on copy sources
//! (`x-amz-copy-source-if-*`). One pure decision ([`Conditions::evaluate`]) and its two
//! answers: a read gets 412 or 304, a copy source 412 for any failed condition. And
//! conditional writes (If-None-Match: `*`, If-Match), checked here before the body and again
//! in the commit ([`WriteCondition`]).

use s3s::dto::{ETagCondition, Timestamp};
use s3s::{S3Result, s3_error};
use time::OffsetDateTime;

use crate::db::objects::{Object, WriteCondition};

/// The four conditions of a request, as s3s parsed them.
pub(super) struct Conditions<'a> {
    pub if_match: Option<&'a ETagCondition>,
    pub if_unmodified_since: Option<&'a Timestamp>,
    pub if_none_match: Option<&'a ETagCondition>,
    pub if_modified_since: Option<&'a Timestamp>,
}

/// What the conditions decide about an object.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Verdict {
    /// Every condition holds.
    Proceed,
    /// If-Match names another ETag, or the object changed after If-Unmodified-Since.
    PreconditionFailed,
    /// If-None-Match names the object's ETag, or it has not changed after
    /// If-Modified-Since.
    NotModified,
}

impl Conditions<'_> {
    /// Evaluates the conditions against an object's ETag (unquoted) and Last-Modified, as RFC
    /// 9110 orders them: If-Match before If-None-Match, and an ETag condition, when present,
    /// overrides its date twin. Dates compare at the one-second precision of HTTP dates.
    pub(super) fn evaluate(&self, etag: &str, last_modified: OffsetDateTime) -> Verdict {
        let modified = last_modified.unix_timestamp();
        let secs = |t: &Timestamp| OffsetDateTime::from(t.clone()).unix_timestamp();
        let names_ours = |c: &ETagCondition| match c {
            ETagCondition::Any => true,
            ETagCondition::ETag(e) => e.value() == etag,
        };
        let failed = match (self.if_match, self.if_unmodified_since) {
            (Some(c), _) => !names_ours(c),
            (None, Some(t)) => modified > secs(t),
            (None, None) => false,
        };
        if failed {
            return Verdict::PreconditionFailed;
        }
        let unchanged = match (self.if_none_match, self.if_modified_since) {
            (Some(c), _) => names_ours(c),
            (None, Some(t)) => modified <= secs(t),
            (None, None) => false,
        };
        if unchanged {
            Verdict::NotModified
        } else {
            Verdict::Proceed
        }
    }

    /// For a read: 412 `PreconditionFailed`, or 304 with the object's validators.
    pub(super) fn check_read(&self, obj: &Object) -> s3s::S3Result<()> {
        match self.evaluate(&obj.etag, obj.updated_at) {
            Verdict::Proceed => Ok(()),
            Verdict::PreconditionFailed => Err(precondition_failed()),
            Verdict::NotModified => Err(not_modified(obj)),
        }
    }

    /// For a copy source: every failed condition is 412, as S3 answers for copies.
    pub(super) fn check_copy_source(&self, src: &Object) -> s3s::S3Result<()> {
        match self.evaluate(&src.etag, src.updated_at) {
            Verdict::Proceed => Ok(()),
            Verdict::PreconditionFailed | Verdict::NotModified => Err(precondition_failed()),
        }
    }
}

pub(super) fn precondition_failed() -> s3s::S3Error {
    s3_error!(
        PreconditionFailed,
        "At least one of the pre-conditions you specified did not hold"
    )
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

/// A conditional write's condition (PutObject, CopyObject, CompleteMultipartUpload), from
/// its If-Match and If-None-Match. S3 accepts only `*` in If-None-Match on writes, and not
/// both headers at once.
pub(super) fn write_condition(
    if_match: Option<&ETagCondition>,
    if_none_match: Option<&ETagCondition>,
) -> S3Result<Option<WriteCondition>> {
    Ok(match (if_match, if_none_match) {
        (None, None) => None,
        (Some(_), Some(_)) => {
            return Err(s3_error!(
                NotImplemented,
                "A header you provided implies functionality that is not implemented: If-Match with If-None-Match"
            ));
        }
        (Some(ETagCondition::Any), None) => Some(WriteCondition::Present),
        (Some(ETagCondition::ETag(e)), None) => Some(WriteCondition::Etag(e.value().to_owned())),
        (None, Some(ETagCondition::Any)) => Some(WriteCondition::Absent),
        (None, Some(ETagCondition::ETag(_))) => {
            return Err(s3_error!(
                NotImplemented,
                "A header you provided implies functionality that is not implemented: If-None-Match accepts only *"
            ));
        }
    })
}

/// [`write_condition`] from raw request headers (CopyObject's destination conditions, which
/// s3s does not parse); a malformed value is `InvalidArgument`.
pub(super) fn write_condition_of(headers: &http::HeaderMap) -> S3Result<Option<WriteCondition>> {
    let parse = |name: http::header::HeaderName| {
        headers
            .get(&name)
            .map(|v| {
                ETagCondition::parse_http_header(v.as_bytes())
                    .map_err(|_| s3_error!(InvalidArgument, "The {} header is malformed.", name))
            })
            .transpose()
    };
    let (if_match, if_none_match) = (parse(http::header::IF_MATCH)?, parse(http::header::IF_NONE_MATCH)?);
    write_condition(if_match.as_ref(), if_none_match.as_ref())
}

/// Checks a conditional write against the object under its key now, before any byte is
/// read: `412 PreconditionFailed` if it fails, and `404 NoSuchKey` for an If-Match with no
/// object, as S3 answers. The commit checks the condition again under the row's lock; a
/// write that won in between makes that `409 ConditionalRequestConflict`.
pub(super) fn check_write(condition: Option<&WriteCondition>, current: Option<&Object>) -> S3Result<()> {
    let Some(c) = condition else { return Ok(()) };
    if c.holds(current.map(|o| o.etag.as_str())) {
        return Ok(());
    }
    match (c, current) {
        (WriteCondition::Present | WriteCondition::Etag(_), None) => {
            Err(s3_error!(NoSuchKey, "The specified key does not exist."))
        }
        _ => Err(precondition_failed()),
    }
}

#[cfg(test)]
mod tests {
    use s3s::dto::ETag;
    use time::macros::datetime;

    use super::*;

    const OURS: &str = "9e107d9d372bb6826bd81d3542a419d6";
    const MODIFIED: OffsetDateTime = datetime!(2026-03-01 12:00:00.750 UTC);

    fn tag(v: &str) -> ETagCondition {
        ETagCondition::ETag(ETag::Strong(v.to_owned()))
    }

    fn at(t: OffsetDateTime) -> Timestamp {
        Timestamp::from(t)
    }

    fn verdict(
        if_match: Option<&ETagCondition>,
        if_unmodified_since: Option<&Timestamp>,
        if_none_match: Option<&ETagCondition>,
        if_modified_since: Option<&Timestamp>,
    ) -> Verdict {
        Conditions {
            if_match,
            if_unmodified_since,
            if_none_match,
            if_modified_since,
        }
        .evaluate(OURS, MODIFIED)
    }

    #[test]
    fn no_condition_proceeds() {
        assert_eq!(verdict(None, None, None, None), Verdict::Proceed);
    }

    #[test]
    fn if_match() {
        let (ours, other, weak) = (tag(OURS), tag("0123"), ETagCondition::ETag(ETag::Weak(OURS.into())));
        assert_eq!(verdict(Some(&ours), None, None, None), Verdict::Proceed);
        assert_eq!(verdict(Some(&ETagCondition::Any), None, None, None), Verdict::Proceed);
        assert_eq!(verdict(Some(&weak), None, None, None), Verdict::Proceed);
        assert_eq!(verdict(Some(&other), None, None, None), Verdict::PreconditionFailed);
    }

    #[test]
    fn if_none_match() {
        let (ours, other) = (tag(OURS), tag("0123"));
        assert_eq!(verdict(None, None, Some(&ours), None), Verdict::NotModified);
        assert_eq!(
            verdict(None, None, Some(&ETagCondition::Any), None),
            Verdict::NotModified
        );
        assert_eq!(verdict(None, None, Some(&other), None), Verdict::Proceed);
    }

    #[test]
    fn if_unmodified_since_compares_whole_seconds() {
        let same_second = at(datetime!(2026-03-01 12:00:00 UTC));
        let before = at(datetime!(2026-03-01 11:59:59 UTC));
        let after = at(datetime!(2026-03-01 12:00:01 UTC));
        assert_eq!(verdict(None, Some(&same_second), None, None), Verdict::Proceed);
        assert_eq!(verdict(None, Some(&after), None, None), Verdict::Proceed);
        assert_eq!(verdict(None, Some(&before), None, None), Verdict::PreconditionFailed);
    }

    #[test]
    fn if_modified_since_compares_whole_seconds() {
        let same_second = at(datetime!(2026-03-01 12:00:00 UTC));
        let before = at(datetime!(2026-03-01 11:59:59 UTC));
        let after = at(datetime!(2026-03-01 12:00:01 UTC));
        assert_eq!(verdict(None, None, None, Some(&same_second)), Verdict::NotModified);
        assert_eq!(verdict(None, None, None, Some(&after)), Verdict::NotModified);
        assert_eq!(verdict(None, None, None, Some(&before)), Verdict::Proceed);
    }

    #[test]
    fn an_etag_condition_overrides_its_date_twin() {
        let before = at(datetime!(2026-03-01 11:00:00 UTC));
        let after = at(datetime!(2026-03-01 13:00:00 UTC));
        // If-Match holds: a failing If-Unmodified-Since is ignored.
        assert_eq!(verdict(Some(&tag(OURS)), Some(&before), None, None), Verdict::Proceed);
        // If-None-Match does not hold: an unchanged If-Modified-Since is ignored.
        assert_eq!(verdict(None, None, Some(&tag("0123")), Some(&after)), Verdict::Proceed);
        assert_eq!(
            verdict(None, None, Some(&tag(OURS)), Some(&before)),
            Verdict::NotModified
        );
    }

    #[test]
    fn a_failed_precondition_wins_over_not_modified() {
        assert_eq!(
            verdict(Some(&tag("0123")), None, Some(&tag(OURS)), None),
            Verdict::PreconditionFailed
        );
        let before = at(datetime!(2026-03-01 11:00:00 UTC));
        let after = at(datetime!(2026-03-01 13:00:00 UTC));
        assert_eq!(
            verdict(None, Some(&before), None, Some(&after)),
            Verdict::PreconditionFailed
        );
    }
}
