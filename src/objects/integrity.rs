//! What an upload promises about its bytes, checked once they have all arrived: flexible
//! checksums (`x-amz-checksum-*` headers or aws-chunked trailers) and `Content-MD5`.

use super::UploadError;
use crate::checksum::{self, Algorithm, Checksums};

/// Where the aws-chunked trailer's headers come from once the body has been read (the S3
/// edge hands in s3s's handle); `None` if nothing arrived.
pub type Trailer = Box<dyn FnOnce() -> Option<http::HeaderMap> + Send + Sync>;

/// The flexible checksums an upload declares: values in `x-amz-checksum-*` headers, an
/// algorithm in `x-amz-sdk-checksum-algorithm`, or trailers announced by `x-amz-trailer`
/// whose values arrive after the body.
pub struct Expected {
    algorithms: Vec<Algorithm>,
    sent: Checksums,
    trailer: Option<Trailer>,
    /// The body's SHA-256, when the edge verifies it as the body streams (a body that does
    /// not match fails while it is read).
    verified_sha256: Option<[u8; 32]>,
}

impl Expected {
    /// Reads the declaration from request headers; `trailer` reads the aws-chunked trailer
    /// once the body has been read.
    pub fn from_request(headers: &http::HeaderMap, trailer: Option<Trailer>) -> Result<Self, UploadError> {
        let mut algorithms = Vec::new();
        let mut sent = Checksums::default();
        for a in checksum::ALL {
            if let Some(v) = headers.get(a.header()) {
                let v = v
                    .to_str()
                    .ok()
                    .filter(|v| valid_value(a, v))
                    .ok_or(UploadError::InvalidChecksum(a))?;
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
                .ok_or(UploadError::UnsupportedAlgorithm)?;
            algorithms.push(a);
        }
        if let Some(v) = headers.get("x-amz-trailer") {
            for name in v.to_str().unwrap_or("").split(',') {
                let a = Algorithm::from_header(name).ok_or(UploadError::UnsupportedTrailer)?;
                algorithms.push(a);
            }
        }
        Ok(Self {
            algorithms,
            sent,
            trailer,
            verified_sha256: None,
        })
    }

    /// No checksum declared.
    pub fn none() -> Self {
        Self {
            algorithms: Vec::new(),
            sent: Checksums::default(),
            trailer: None,
            verified_sha256: None,
        }
    }

    /// The body's SHA-256 is `sha256`, checked by the edge as the body streams, so it need
    /// not be computed again.
    pub fn with_verified_sha256(mut self, sha256: Option<[u8; 32]>) -> Self {
        self.verified_sha256 = sha256;
        self
    }

    /// The SHA-256 the edge verifies, if any.
    pub fn verified_sha256(&self) -> Option<[u8; 32]> {
        self.verified_sha256
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
    pub fn verify_whole(&self, made: &Checksums) -> Result<(), UploadError> {
        for (a, v) in &self.sent.0 {
            let ok = made
                .get(*a)
                .is_some_and(|m| m == v || m.rsplit_once('-').is_some_and(|(base, _)| base == v));
            if !ok {
                return Err(UploadError::ChecksumMismatch(*a));
            }
        }
        Ok(())
    }

    /// Compares the sent values (headers, then trailers) with the computed ones.
    pub(super) fn verify(mut self, computed: &Checksums) -> Result<(), UploadError> {
        if let Some(trailers) = self.trailer.take().and_then(|read| read()) {
            for a in checksum::ALL {
                if let Some(v) = trailers.get(a.header()) {
                    let v = v
                        .to_str()
                        .ok()
                        .filter(|v| valid_value(a, v))
                        .ok_or(UploadError::InvalidChecksum(a))?;
                    self.sent.0.insert(a, v.to_owned());
                }
            }
        }
        checksum::verify(&self.sent, computed).map_err(|m| UploadError::ChecksumMismatch(m.0))
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

/// Checks a `Content-MD5` header (base64) against the digest of what arrived.
pub fn check_content_md5(header: Option<&str>, md5: &[u8; 16]) -> Result<(), UploadError> {
    use base64::Engine as _;
    let Some(h) = header else { return Ok(()) };
    let want = base64::engine::general_purpose::STANDARD
        .decode(h.trim())
        .ok()
        .filter(|d| d.len() == 16)
        .ok_or(UploadError::InvalidContentMd5)?;
    if want.as_slice() != md5 {
        return Err(UploadError::ContentMd5Mismatch);
    }
    Ok(())
}
