//! What an upload promises about its bytes, checked once they have all arrived: flexible
//! checksums (`x-amz-checksum-*` headers or aws-chunked trailers) and `Content-MD5`.

use s3s::{S3Error, S3Result, s3_error};

use crate::checksum::{self, Algorithm, Checksums};

/// The flexible checksums an upload declares: values in `x-amz-checksum-*` headers, an
/// algorithm in `x-amz-sdk-checksum-algorithm`, or trailers announced by `x-amz-trailer`
/// whose values arrive after the body.
pub struct Expected {
    algorithms: Vec<Algorithm>,
    sent: Checksums,
    trailers: Option<s3s::TrailingHeaders>,
}

impl Expected {
    /// Reads the declaration from request headers; `trailers` is s3s's handle on the
    /// aws-chunked trailer, filled once the body has been read.
    pub fn from_request(headers: &http::HeaderMap, trailers: Option<s3s::TrailingHeaders>) -> S3Result<Self> {
        let mut algorithms = Vec::new();
        let mut sent = Checksums::default();
        for a in checksum::ALL {
            if let Some(v) = headers.get(a.header()) {
                let v = v
                    .to_str()
                    .ok()
                    .filter(|v| valid_value(a, v))
                    .ok_or_else(|| invalid_checksum(a))?;
                sent.0.insert(a, v.to_owned());
                algorithms.push(a);
            }
        }
        let declared = headers
            .get("x-amz-sdk-checksum-algorithm")
            .or_else(|| headers.get("x-amz-checksum-algorithm"));
        if let Some(v) = declared {
            let a = v
                .to_str()
                .ok()
                .and_then(Algorithm::parse)
                .ok_or_else(|| s3_error!(InvalidRequest, "Checksum algorithm provided is unsupported."))?;
            algorithms.push(a);
        }
        if let Some(v) = headers.get("x-amz-trailer") {
            for name in v.to_str().unwrap_or("").split(',') {
                let a = Algorithm::from_header(name).ok_or_else(|| {
                    s3_error!(
                        InvalidRequest,
                        "The value specified in the x-amz-trailer header is not supported"
                    )
                })?;
                algorithms.push(a);
            }
        }
        Ok(Self {
            algorithms,
            sent,
            trailers,
        })
    }

    /// No checksum declared.
    pub fn none() -> Self {
        Self {
            algorithms: Vec::new(),
            sent: Checksums::default(),
            trailers: None,
        }
    }

    /// Also computes `a` (the algorithm a multipart upload declared), sent or not.
    pub fn also(mut self, a: Option<Algorithm>) -> Self {
        self.algorithms.extend(a);
        self
    }

    /// The algorithms to compute.
    pub fn algorithms(&self) -> &[Algorithm] {
        &self.algorithms
    }

    /// Checks the values sent with a CompleteMultipartUpload against the object's checksums
    /// made from its parts; a composite value may be sent with or without its `-N`.
    pub fn verify_whole(&self, made: &Checksums) -> S3Result<()> {
        for (a, v) in &self.sent.0 {
            let ok = made
                .get(*a)
                .is_some_and(|m| m == v || m.rsplit_once('-').is_some_and(|(base, _)| base == v));
            if !ok {
                return Err(s3_error!(
                    BadDigest,
                    "The {} you specified did not match the calculated checksum.",
                    a.name()
                ));
            }
        }
        Ok(())
    }

    /// Compares the sent values (headers, then trailers) with the computed ones.
    pub(super) fn verify(mut self, computed: &Checksums) -> S3Result<()> {
        if let Some(trailers) = self.trailers.take().and_then(|t| t.take()) {
            for a in checksum::ALL {
                if let Some(v) = trailers.get(a.header()) {
                    let v = v
                        .to_str()
                        .ok()
                        .filter(|v| valid_value(a, v))
                        .ok_or_else(|| invalid_checksum(a))?;
                    self.sent.0.insert(a, v.to_owned());
                }
            }
        }
        checksum::verify(&self.sent, computed).map_err(|m| {
            s3_error!(
                BadDigest,
                "The {} you specified did not match the calculated checksum.",
                m.0.name()
            )
        })
    }
}

fn valid_value(a: Algorithm, v: &str) -> bool {
    use base64::Engine as _;
    let width = match a {
        Algorithm::Crc32 | Algorithm::Crc32c => 4,
        Algorithm::Crc64nvme => 8,
        Algorithm::Sha1 => 20,
        Algorithm::Sha256 => 32,
    };
    base64::engine::general_purpose::STANDARD
        .decode(v.trim())
        .is_ok_and(|raw| raw.len() == width)
}

fn invalid_checksum(a: Algorithm) -> S3Error {
    s3_error!(InvalidRequest, "Value for {} header is invalid.", a.header())
}

/// Checks a `Content-MD5` header (base64) against the digest of what arrived.
pub fn check_content_md5(header: Option<&str>, md5: &[u8; 16]) -> S3Result<()> {
    use base64::Engine as _;
    let Some(h) = header else { return Ok(()) };
    let want = base64::engine::general_purpose::STANDARD
        .decode(h.trim())
        .ok()
        .filter(|d| d.len() == 16)
        .ok_or_else(|| s3_error!(InvalidDigest, "The Content-MD5 you specified was invalid."))?;
    if want.as_slice() != md5 {
        return Err(s3_error!(
            BadDigest,
            "The Content-MD5 you specified did not match what we received."
        ));
    }
    Ok(())
}
