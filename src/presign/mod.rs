//! Presigned URLs: what a request's query says about its presigning (for the link check and
//! the audit), and signing the URLs `POST /v1/presign` hands out.

pub mod audit;

use std::time::{Duration, SystemTime};

use aws_sigv4::http_request::{
    PercentEncodingMode, SignableBody, SignableRequest, SignatureLocation, SigningSettings, UriPathNormalizationMode,
    sign,
};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, percent_decode_str, utf8_percent_encode};
use uuid::Uuid;

/// The query parameter carrying a link id; covered by the signature like every other.
pub const LINK_PARAM: &str = "x-godrive-link";

/// S3's own ceiling on a presigned URL's lifetime: 7 days.
pub const S3_MAX_EXPIRY_SECS: u64 = 7 * 24 * 3600;

/// The longest a presigned URL may live, whoever signed it and however:
/// `GODRIVE_PRESIGN_MAX_EXPIRY`, never past S3's 7 days. Both edges use it (the S3 edge on
/// every presigned request, the JSON API when it makes a link).
pub fn max_expiry_secs(config: &crate::config::Config) -> u64 {
    config.presign_max_expiry.0.min(S3_MAX_EXPIRY_SECS)
}

/// What the query of a presigned request says.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Presigned {
    /// The signing access key.
    pub access_key_id: String,
    /// `X-Amz-Expires` (SigV4) in seconds.
    pub expires_secs: Option<u64>,
    /// `Expires` (SigV2): when the URL dies, in seconds since the Unix epoch.
    pub expires_at: Option<i64>,
    /// The link id, for URLs made by GoDrive; `Some(None)` if present but not a UUID.
    pub link: Option<Option<Uuid>>,
}

impl Presigned {
    /// Reads a query string; `None` unless it is a presigned request (SigV4 or SigV2).
    pub fn from_query(query: Option<&str>) -> Option<Self> {
        let query = query?;
        let mut p = Self::default();
        let (mut v4, mut v2) = (false, false);
        let mut expires = None;
        for pair in query.split('&') {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            let v = percent_decode_str(v).decode_utf8_lossy();
            match k {
                "X-Amz-Signature" => v4 = true,
                "Signature" => v2 = true,
                "X-Amz-Credential" => {
                    p.access_key_id = v.split('/').next().unwrap_or_default().to_owned();
                }
                "AWSAccessKeyId" => p.access_key_id = v.into_owned(),
                "X-Amz-Expires" => p.expires_secs = v.parse().ok(),
                "Expires" => expires = Some(v.parse().unwrap_or(i64::MAX)),
                LINK_PARAM => p.link = Some(v.parse().ok()),
                _ => {}
            }
        }
        // `Expires` means something only to SigV2 (unparsable: as far as can be, so it is
        // refused rather than let through).
        if v2 && !v4 {
            p.expires_at = expires;
        }
        (v4 || v2).then_some(p)
    }
}

/// What SigV4 escapes in a query value: all but RFC 3986 unreserved characters.
const QUERY: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'.').remove(b'_').remove(b'~');
/// In a path, `/` stays too.
const PATH: &AsciiSet = &QUERY.remove(b'/');

/// What a URL is signed for.
#[derive(Debug, Clone)]
pub struct UrlRequest<'a> {
    /// `http://host:port`, no trailing slash.
    pub base: &'a str,
    /// GET, HEAD or PUT.
    pub method: &'a str,
    /// Bucket name.
    pub bucket: &'a str,
    /// Object key.
    pub key: &'a str,
    /// Extra query parameters to sign (the link id, response overrides).
    pub params: Vec<(&'a str, String)>,
    /// Region clients sign for.
    pub region: &'a str,
    /// Lifetime.
    pub expires_in: Duration,
}

/// Signs a path-style SigV4 query-string URL with an access key.
pub fn sign_url(req: &UrlRequest<'_>, access_key_id: &str, secret: &str, now: SystemTime) -> Result<String, String> {
    let mut url = format!("{}/{}/{}", req.base, req.bucket, utf8_percent_encode(req.key, PATH));
    let mut sep = '?';
    for (k, v) in &req.params {
        url.push(sep);
        sep = '&';
        url.push_str(&format!("{k}={}", utf8_percent_encode(v, QUERY)));
    }
    let identity: aws_smithy_runtime_api::client::identity::Identity =
        aws_credential_types::Credentials::new(access_key_id, secret, None, None, "godrive").into();
    let mut settings = SigningSettings::default();
    settings.signature_location = SignatureLocation::QueryParams;
    settings.expires_in = Some(req.expires_in);
    // S3 signs the path as sent: escaped once, never normalized.
    settings.percent_encoding_mode = PercentEncodingMode::Single;
    settings.uri_path_normalization_mode = UriPathNormalizationMode::Disabled;
    let params = aws_sigv4::sign::v4::SigningParams::builder()
        .identity(&identity)
        .region(req.region)
        .name("s3")
        .time(now)
        .settings(settings)
        .build()
        .map_err(|e| e.to_string())?
        .into();
    let host = req.base.split("://").nth(1).unwrap_or(req.base);
    let headers = [("host", host)];
    let signable = SignableRequest::new(req.method, &url, headers.into_iter(), SignableBody::UnsignedPayload)
        .map_err(|e| e.to_string())?;
    let (instructions, _) = sign(signable, &params).map_err(|e| e.to_string())?.into_parts();
    let mut http_req = http::Request::builder()
        .method(req.method)
        .uri(&url)
        .body(())
        .map_err(|e| e.to_string())?;
    instructions.apply_to_request_http1x(&mut http_req);
    Ok(http_req.uri().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn presigned_queries_are_recognised() {
        let id = Uuid::new_v4();
        let q = format!(
            "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIDEXAMPLE%2F20261125%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Expires=300&{LINK_PARAM}={id}&X-Amz-Signature=abc"
        );
        let p = Presigned::from_query(Some(&q)).unwrap();
        assert_eq!(p.access_key_id, "AKIDEXAMPLE");
        assert_eq!(p.expires_secs, Some(300));
        assert_eq!(p.link, Some(Some(id)));
        let v2 = Presigned::from_query(Some("AWSAccessKeyId=K2&Expires=1&Signature=x")).unwrap();
        assert_eq!((v2.access_key_id.as_str(), v2.link), ("K2", None));
        assert_eq!((v2.expires_secs, v2.expires_at), (None, Some(1)));
        let v2 = Presigned::from_query(Some("AWSAccessKeyId=K2&Expires=soon&Signature=x")).unwrap();
        assert_eq!(v2.expires_at, Some(i64::MAX));
        // A SigV4 URL's stray `Expires` parameter is not its expiry.
        let v4 = Presigned::from_query(Some("Expires=9&X-Amz-Expires=60&X-Amz-Signature=x")).unwrap();
        assert_eq!((v4.expires_secs, v4.expires_at), (Some(60), None));
        assert_eq!(Presigned::from_query(Some("list-type=2")), None);
        assert_eq!(Presigned::from_query(None), None);
    }

    proptest::proptest! {
        /// Any query string is read without panicking; a presigned one yields its key id.
        #[test]
        fn queries_never_panic(q in "\\PC{0,200}", key in "[A-Z0-9]{20}") {
            let _ = Presigned::from_query(Some(&q));
            let signed = format!("{q}&X-Amz-Credential={key}%2F20260101%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Signature=00");
            let p = Presigned::from_query(Some(&signed)).unwrap();
            proptest::prop_assert_eq!(p.access_key_id, key);
        }
    }
}
