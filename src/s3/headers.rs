//! The headers an object stores and sends back (Content-Type, Content-Disposition,
//! Content-Encoding, Content-Language, Cache-Control, `x-amz-meta-*`): refused at upload if
//! no HTTP header could carry them, dropped at read if such a value was stored anyway.

use s3s::{S3Result, s3_error};

use crate::db::objects::Headers;

/// Whether a user metadata entry can go back out as an `x-amz-meta-*` header: its name a
/// non-empty HTTP token, its value free of control characters but HTAB (s3s RFC 2047-encodes
/// non-ASCII values).
fn sendable_metadata(name: &str, value: &str) -> bool {
    !name.is_empty()
        && http::HeaderName::from_bytes(format!("x-amz-meta-{name}").as_bytes()).is_ok()
        && crate::text::is_header_value(value)
}

/// The Content-Encoding to store: the one sent, without `aws-chunked`, which describes the
/// request's transfer (the SDKs add it to the real one, as in `aws-chunked,gzip`) and is
/// never stored or returned, as in S3. `None` if nothing else is left.
pub fn stored_encoding(sent: Option<String>) -> Option<String> {
    let sent = sent?;
    if !sent.to_ascii_lowercase().contains("aws-chunked") {
        return Some(sent);
    }
    let rest: Vec<&str> = sent
        .split(',')
        .map(str::trim)
        .filter(|e| !e.is_empty() && !e.eq_ignore_ascii_case("aws-chunked"))
        .collect();
    (!rest.is_empty()).then(|| rest.join(","))
}

/// Refuses stored headers that could not be sent back (`InvalidArgument`, 400): a control
/// character other than HTAB in Content-Type, Content-Disposition, Content-Encoding,
/// Content-Language, Cache-Control or a metadata value, or a metadata name that is empty or
/// not an HTTP token. Request headers cannot carry these, but a POST Object form field or an
/// RFC 2047-encoded metadata value can.
pub fn check(h: &Headers) -> S3Result<()> {
    let fields = [
        ("Content-Type", &h.content_type),
        ("Content-Disposition", &h.content_disposition),
        ("Content-Encoding", &h.content_encoding),
        ("Content-Language", &h.content_language),
        ("Cache-Control", &h.cache_control),
    ];
    for (name, value) in fields {
        if value.as_deref().is_some_and(|v| !crate::text::is_header_value(v)) {
            return Err(s3_error!(
                InvalidArgument,
                "The {name} value must not contain control characters."
            ));
        }
    }
    if h.user_metadata.iter().any(|(k, v)| !sendable_metadata(k, v)) {
        return Err(s3_error!(
            InvalidArgument,
            "User metadata names must be HTTP tokens and values must not contain control characters."
        ));
    }
    Ok(())
}

/// The stored headers that can be sent: a value stored before [`check`] existed (or
/// written by hand) that cannot be is dropped, so the object stays readable.
pub fn sendable(mut h: Headers) -> Headers {
    for value in [
        &mut h.content_type,
        &mut h.content_disposition,
        &mut h.content_encoding,
        &mut h.content_language,
        &mut h.cache_control,
    ] {
        if value.as_deref().is_some_and(|v| !crate::text::is_header_value(v)) {
            *value = None;
        }
    }
    h.user_metadata.retain(|k, v| sendable_metadata(k, v));
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(content_type: &str, meta: &[(&str, &str)]) -> Headers {
        Headers {
            content_type: Some(content_type.to_owned()),
            cache_control: Some("no-store".to_owned()),
            user_metadata: meta.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect(),
            ..Headers::default()
        }
    }

    #[test]
    fn only_sendable_headers_are_stored_and_only_sendable_ones_are_sent() {
        let good = headers("text/plain; charset=utf-8", &[("note", "é\tok"), ("x-y_z", "v")]);
        assert!(check(&good).is_ok());
        assert_eq!(sendable(good.clone()), good);
        for bad in [
            headers("text/html\r\nX-Injected: 1", &[]),
            headers("text/plain\0", &[]),
            headers("text/plain", &[("note", "a\r\nb")]),
            headers("text/plain", &[("bad name", "v")]),
            headers("text/plain", &[("", "v")]),
        ] {
            assert_eq!(
                check(&bad).unwrap_err().code(),
                &s3s::S3ErrorCode::InvalidArgument,
                "{bad:?}"
            );
            let sent = sendable(bad.clone());
            assert_eq!(sent.cache_control.as_deref(), Some("no-store"));
            assert!(check(&sent).is_ok(), "{sent:?}");
        }
    }

    #[test]
    fn aws_chunked_is_never_stored() {
        let stored = |s: &str| super::stored_encoding(Some(s.to_owned()));
        assert_eq!(stored("aws-chunked"), None);
        assert_eq!(stored("aws-chunked,gzip").as_deref(), Some("gzip"));
        assert_eq!(stored("gzip, AWS-Chunked").as_deref(), Some("gzip"));
        assert_eq!(stored("gzip").as_deref(), Some("gzip"));
        assert_eq!(stored("br,gzip").as_deref(), Some("br,gzip"));
        assert_eq!(super::stored_encoding(None), None);
    }
}
