//! User content is never active content on GoDrive's origin.
//!
//! Objects are served from the same origin as the JSON API (and later a console). A user's
//! HTML, SVG or script opened in a browser would otherwise run as GoDrive's own page: read
//! its storage, call `/v1` with the visitor's session. So every response says
//! `X-Content-Type-Options: nosniff` (no guessing a document out of bytes), a response of a
//! type a browser runs as a document also says `Content-Security-Policy: sandbox` (it runs in
//! an opaque origin, scripts off); an object stored without a type is served as
//! `application/octet-stream` by the handlers that build object answers. Images, video, audio and PDF are left as they are.

use http::header::{CONTENT_SECURITY_POLICY, CONTENT_TYPE, X_CONTENT_TYPE_OPTIONS};
use http::{HeaderMap, HeaderValue};

/// Sets the headers above on any response. (The `application/octet-stream` default is set
/// where object answers are built: `s3::get` and the JSON `/content` route.)
pub fn protect(headers: &mut HeaderMap) {
    headers.insert(X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    let active = headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(is_active);
    if active {
        headers.insert(CONTENT_SECURITY_POLICY, HeaderValue::from_static("sandbox"));
    }
}

/// Whether a browser would run a response of this type as a document or a script.
fn is_active(content_type: &str) -> bool {
    let essence = content_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    let Some((kind, sub)) = essence.split_once('/') else {
        // Not a media type at all: a browser would sniff it.
        return true;
    };
    matches!(
        (kind, sub),
        (
            "text",
            "html" | "xml" | "xsl" | "javascript" | "ecmascript" | "x-javascript"
        ) | (
            "application",
            "xhtml+xml" | "xml" | "javascript" | "ecmascript" | "x-javascript" | "xslt+xml"
        ) | ("image", "svg+xml")
            | ("multipart", "x-mixed-replace")
    ) || sub.ends_with("+xml")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documents_and_scripts_are_active_media_is_not() {
        for t in [
            "text/html",
            "TEXT/HTML; charset=utf-8",
            "application/xhtml+xml",
            "image/svg+xml",
            "text/xml",
            "application/xml",
            "application/rss+xml",
            "text/javascript",
            "application/javascript",
            "nonsense",
        ] {
            assert!(is_active(t), "{t}");
        }
        for t in [
            "image/png",
            "image/jpeg",
            "video/mp4",
            "audio/mpeg",
            "application/pdf",
            "application/octet-stream",
            "text/plain",
            "application/json",
        ] {
            assert!(!is_active(t), "{t}");
        }
    }

    #[test]
    fn every_response_says_nosniff_and_active_types_are_sandboxed() {
        let mut h = HeaderMap::new();
        protect(&mut h);
        assert_eq!(h[X_CONTENT_TYPE_OPTIONS], "nosniff");
        assert!(!h.contains_key(CONTENT_SECURITY_POLICY) && !h.contains_key(CONTENT_TYPE));
        let mut h = HeaderMap::new();
        h.insert(CONTENT_TYPE, HeaderValue::from_static("text/html"));
        protect(&mut h);
        assert_eq!(h[CONTENT_SECURITY_POLICY], "sandbox");
        let mut h = HeaderMap::new();
        h.insert(CONTENT_TYPE, HeaderValue::from_static("image/png"));
        protect(&mut h);
        assert!(!h.contains_key(CONTENT_SECURITY_POLICY));
    }
}
