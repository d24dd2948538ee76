//! S3 flexible checksums: CRC32, CRC32C, CRC64NVME, SHA1 and SHA256, computed while
//! streaming, compared with what the client sent (header or aws-chunked trailer), and
//! combined for multipart objects (COMPOSITE: checksum of the part checksums, `-N`;
//! FULL_OBJECT: the CRCs combined into the CRC of the whole object).
//!
//! See <https://docs.aws.amazon.com/AmazonS3/latest/userguide/checking-object-integrity.html>.

use std::collections::BTreeMap;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use crc_fast::{CrcAlgorithm, Digest as CrcDigest};
use serde::{Deserialize, Serialize};
use sha1::Digest as _;

/// A checksum algorithm S3 knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Algorithm {
    /// CRC-32 (ISO-HDLC), 4 bytes.
    Crc32,
    /// CRC-32C (Castagnoli), 4 bytes.
    Crc32c,
    /// CRC-64/NVME, 8 bytes.
    Crc64nvme,
    /// SHA-1, 20 bytes.
    Sha1,
    /// SHA-256, 32 bytes.
    Sha256,
}

/// Every algorithm, in a fixed order.
pub const ALL: [Algorithm; 5] = [
    Algorithm::Crc32,
    Algorithm::Crc32c,
    Algorithm::Crc64nvme,
    Algorithm::Sha1,
    Algorithm::Sha256,
];

impl Algorithm {
    /// The name S3 uses (`CRC32`, ...).
    pub fn name(self) -> &'static str {
        match self {
            Algorithm::Crc32 => "CRC32",
            Algorithm::Crc32c => "CRC32C",
            Algorithm::Crc64nvme => "CRC64NVME",
            Algorithm::Sha1 => "SHA1",
            Algorithm::Sha256 => "SHA256",
        }
    }

    /// The header (or trailer) carrying it: `x-amz-checksum-crc32`, ...
    pub fn header(self) -> &'static str {
        match self {
            Algorithm::Crc32 => "x-amz-checksum-crc32",
            Algorithm::Crc32c => "x-amz-checksum-crc32c",
            Algorithm::Crc64nvme => "x-amz-checksum-crc64nvme",
            Algorithm::Sha1 => "x-amz-checksum-sha1",
            Algorithm::Sha256 => "x-amz-checksum-sha256",
        }
    }

    /// Parses an S3 algorithm name, case-insensitively.
    pub fn parse(s: &str) -> Option<Self> {
        ALL.into_iter().find(|a| a.name().eq_ignore_ascii_case(s))
    }

    /// Parses a header name (`x-amz-checksum-crc32`).
    pub fn from_header(h: &str) -> Option<Self> {
        ALL.into_iter().find(|a| a.header().eq_ignore_ascii_case(h.trim()))
    }

    fn crc(self) -> Option<CrcAlgorithm> {
        match self {
            Algorithm::Crc32 => Some(CrcAlgorithm::Crc32IsoHdlc),
            Algorithm::Crc32c => Some(CrcAlgorithm::Crc32Iscsi),
            Algorithm::Crc64nvme => Some(CrcAlgorithm::Crc64Nvme),
            Algorithm::Sha1 | Algorithm::Sha256 => None,
        }
    }

    fn width(self) -> usize {
        match self {
            Algorithm::Crc32 | Algorithm::Crc32c => 4,
            Algorithm::Crc64nvme => 8,
            Algorithm::Sha1 => 20,
            Algorithm::Sha256 => 32,
        }
    }

    /// Whether the whole-object value can be derived from the parts' values (CRCs only).
    pub fn supports_full_object(self) -> bool {
        self.crc().is_some()
    }
}

/// Base64 checksum values by algorithm, as stored and returned.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Checksums(pub BTreeMap<Algorithm, String>);

impl Checksums {
    /// The value for `a`, if any.
    pub fn get(&self, a: Algorithm) -> Option<&str> {
        self.0.get(&a).map(String::as_str)
    }

    /// Whether no checksum is present.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

enum State {
    Crc(CrcDigest),
    Sha1(sha1::Sha1),
    Sha256(sha2::Sha256),
}

/// Computes the requested algorithms in one pass.
pub struct Hasher {
    states: Vec<(Algorithm, State)>,
}

impl Hasher {
    /// A hasher for `algorithms` (duplicates ignored).
    pub fn new(algorithms: impl IntoIterator<Item = Algorithm>) -> Self {
        let mut states: Vec<(Algorithm, State)> = Vec::new();
        for a in algorithms {
            if states.iter().any(|(b, _)| *b == a) {
                continue;
            }
            let st = match a {
                Algorithm::Sha1 => State::Sha1(sha1::Sha1::new()),
                Algorithm::Sha256 => State::Sha256(sha2::Sha256::new()),
                crc => State::Crc(CrcDigest::new(crc.crc().expect("a CRC algorithm"))),
            };
            states.push((a, st));
        }
        Self { states }
    }

    /// Feeds bytes.
    pub fn update(&mut self, data: &[u8]) {
        for (_, st) in &mut self.states {
            match st {
                State::Crc(d) => d.update(data),
                State::Sha1(d) => d.update(data),
                State::Sha256(d) => d.update(data),
            }
        }
    }

    /// The base64 values.
    pub fn finalize(self) -> Checksums {
        let mut out = BTreeMap::new();
        for (a, st) in self.states {
            let raw: Vec<u8> = match st {
                State::Crc(d) => {
                    let v = d.finalize();
                    v.to_be_bytes()[8 - a.width()..].to_vec()
                }
                State::Sha1(d) => d.finalize().to_vec(),
                State::Sha256(d) => d.finalize().to_vec(),
            };
            out.insert(a, B64.encode(raw));
        }
        Checksums(out)
    }
}

/// A checksum the client sent that does not match the bytes.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the {} you specified did not match the calculated checksum", .0.name())]
pub struct Mismatch(pub Algorithm);

/// Compares what the client sent with what was computed, for every algorithm it sent.
pub fn verify(sent: &Checksums, computed: &Checksums) -> Result<(), Mismatch> {
    for (a, v) in &sent.0 {
        if computed.get(*a) != Some(v.as_str()) {
            return Err(Mismatch(*a));
        }
    }
    Ok(())
}

/// The COMPOSITE checksum of a multipart object: the algorithm over the concatenated raw
/// part checksums, then `-<number of parts>`. `None` if a part lacks a valid value.
pub fn composite(a: Algorithm, parts: &[&str]) -> Option<String> {
    let mut h = Hasher::new([a]);
    for p in parts {
        let raw = B64.decode(p).ok().filter(|r| r.len() == a.width())?;
        h.update(&raw);
    }
    let v = h.finalize().0.remove(&a)?;
    Some(format!("{v}-{}", parts.len()))
}

/// The FULL_OBJECT CRC of a multipart object from its parts' CRCs and sizes, in order.
pub fn full_object(a: Algorithm, parts: &[(&str, u64)]) -> Option<String> {
    let crc = a.crc()?;
    let mut acc: Option<u64> = None;
    for (value, len) in parts {
        let raw = B64.decode(value).ok().filter(|r| r.len() == a.width())?;
        let mut buf = [0u8; 8];
        buf[8 - raw.len()..].copy_from_slice(&raw);
        let v = u64::from_be_bytes(buf);
        acc = Some(match acc {
            None => v,
            Some(prev) => crc_fast::checksum_combine(crc, prev, v, *len),
        });
    }
    let v = acc.unwrap_or_else(|| CrcDigest::new(crc).finalize());
    Some(B64.encode(&v.to_be_bytes()[8 - a.width()..]))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn of(a: Algorithm, data: &[u8]) -> String {
        let mut h = Hasher::new([a]);
        h.update(data);
        h.finalize().get(a).unwrap().to_owned()
    }

    #[test]
    fn known_values() {
        // Reference values for "123456789" from the CRC catalogue, base64 of big-endian.
        assert_eq!(
            of(Algorithm::Crc32, b"123456789"),
            B64.encode(0xCBF4_3926u32.to_be_bytes())
        );
        assert_eq!(
            of(Algorithm::Crc32c, b"123456789"),
            B64.encode(0xE306_9283u32.to_be_bytes())
        );
        assert_eq!(
            of(Algorithm::Crc64nvme, b"123456789"),
            B64.encode(0xAE8B_1486_0A79_9888u64.to_be_bytes())
        );
        assert_eq!(of(Algorithm::Sha1, b"abc"), "qZk+NkcGgWq6PiVxeFDCbJzQ2J0=");
        assert_eq!(
            of(Algorithm::Sha256, b""),
            "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="
        );
    }

    #[test]
    fn full_object_crc_equals_crc_of_the_whole() {
        let data: Vec<u8> = (0..100_000u32).map(|i| (i * 7 % 256) as u8).collect();
        for a in [Algorithm::Crc32, Algorithm::Crc32c, Algorithm::Crc64nvme] {
            let (p1, p2, p3) = (&data[..40_000], &data[40_000..90_000], &data[90_000..]);
            let parts = [(of(a, p1), 40_000), (of(a, p2), 50_000), (of(a, p3), 10_000)];
            let refs: Vec<(&str, u64)> = parts.iter().map(|(v, l)| (v.as_str(), *l)).collect();
            assert_eq!(full_object(a, &refs).unwrap(), of(a, &data), "{a:?}");
        }
        assert!(full_object(Algorithm::Sha256, &[]).is_none());
    }

    #[test]
    fn composite_is_checksum_of_checksums() {
        let (p1, p2) = (of(Algorithm::Sha256, b"one"), of(Algorithm::Sha256, b"two"));
        let mut raw = B64.decode(&p1).unwrap();
        raw.extend(B64.decode(&p2).unwrap());
        let want = format!("{}-2", of(Algorithm::Sha256, &raw));
        assert_eq!(composite(Algorithm::Sha256, &[&p1, &p2]).unwrap(), want);
        assert!(composite(Algorithm::Crc32, &["not base64!"]).is_none());
    }

    #[test]
    fn verify_reports_the_algorithm() {
        let mut h = Hasher::new([Algorithm::Crc32, Algorithm::Sha1]);
        h.update(b"data");
        let computed = h.finalize();
        assert!(verify(&computed, &computed).is_ok());
        let mut sent = Checksums::default();
        sent.0.insert(Algorithm::Crc32, "AAAAAA==".into());
        assert_eq!(verify(&sent, &computed), Err(Mismatch(Algorithm::Crc32)));
        assert_eq!(Algorithm::from_header("X-Amz-Checksum-CRC32C"), Some(Algorithm::Crc32c));
        assert_eq!(Algorithm::parse("crc64nvme"), Some(Algorithm::Crc64nvme));
    }
}
