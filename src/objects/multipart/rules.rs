//! The pure steps of completing an upload: the part list as sent (present, numbered,
//! ascending), the uploaded parts it chooses (ETags, checksums, sizes), and what the object
//! gets from them: the `-N` multipart ETag and its checksum (COMPOSITE or FULL_OBJECT).

use std::collections::HashMap;

use md5::{Digest as _, Md5};

use super::{MIN_PART_SIZE, MultipartError};
use crate::checksum::{self, Algorithm, Checksums};
use crate::db::multipart::Part;

/// A part as a completion lists it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Listed {
    /// Its number, if the client gave one.
    pub number: Option<i32>,
    /// Its ETag (quoted or not), if given.
    pub etag: Option<String>,
    /// Checksums the client gives for it.
    pub checksums: Vec<(Algorithm, String)>,
}

/// A stored part's checksum for `a`, if it has one.
pub fn stored_checksum(part: &Part, a: Algorithm) -> Option<&str> {
    part.checksums.0.get(a)
}

/// Checks the list as sent, before any part is looked at: at least one part, every part
/// numbered, the numbers strictly ascending.
pub fn check_list(requested: &[Listed]) -> Result<(), MultipartError> {
    if requested.is_empty() {
        return Err(MultipartError::NoParts);
    }
    let mut last = None;
    for p in requested {
        let n = p.number.ok_or(MultipartError::UnnumberedPart)?;
        if last.is_some_and(|last| last >= n) {
            return Err(MultipartError::PartOrder);
        }
        last = Some(n);
    }
    Ok(())
}

/// The uploaded parts the list names, in its order. Each must exist with the ETag the list
/// gives (quoted or not) and every checksum it gives; every part but the last must be at
/// least [`MIN_PART_SIZE`].
pub fn choose<'a>(requested: &[Listed], stored: &'a HashMap<i32, Part>) -> Result<Vec<&'a Part>, MultipartError> {
    let mut chosen = Vec::with_capacity(requested.len());
    for (idx, p) in requested.iter().enumerate() {
        let part = p
            .number
            .and_then(|n| stored.get(&n))
            .ok_or(MultipartError::InvalidPart)?;
        let etag = p.etag.as_deref().map(|e| e.trim_matches('"'));
        if etag != Some(part.etag.as_str()) {
            return Err(MultipartError::InvalidPart);
        }
        for (a, v) in &p.checksums {
            if stored_checksum(part, *a) != Some(v.as_str()) {
                return Err(MultipartError::InvalidPart);
            }
        }
        if idx + 1 < requested.len() && part.size < MIN_PART_SIZE {
            return Err(MultipartError::PartTooSmall);
        }
        chosen.push(part);
    }
    Ok(chosen)
}

/// The ETag of a multipart object: the MD5 of the concatenated binary part MD5s, then
/// `-<number of parts>`. Fails if a part's ETag is not hex.
pub fn multipart_etag(parts: &[&Part]) -> Result<String, hex::FromHexError> {
    let mut md5s = Md5::new();
    for p in parts {
        md5s.update(hex::decode(&p.etag)?);
    }
    Ok(format!("{}-{}", hex::encode(md5s.finalize()), parts.len()))
}

/// The object's checksum for the algorithm its upload declared, made from its parts':
/// the CRC of the whole object for `FULL_OBJECT`, the checksum of the part checksums
/// (`-N`) otherwise. No algorithm, no checksum; a part without a valid value for it is
/// refused.
pub fn combined_checksums(
    algorithm: Option<Algorithm>,
    checksum_type: Option<&str>,
    parts: &[&Part],
) -> Result<Checksums, MultipartError> {
    let mut checksums = Checksums::default();
    let Some(a) = algorithm else { return Ok(checksums) };
    let value = if checksum_type == Some("FULL_OBJECT") {
        let values: Option<Vec<(&str, u64)>> = parts
            .iter()
            .map(|p| stored_checksum(p, a).map(|v| (v, p.size as u64)))
            .collect();
        values.and_then(|vs| checksum::full_object(a, &vs))
    } else {
        let values: Option<Vec<&str>> = parts.iter().map(|p| stored_checksum(p, a)).collect();
        values.and_then(|vs| checksum::composite(a, &vs))
    };
    let value = value.ok_or(MultipartError::PartChecksumMissing(a))?;
    checksums.0.insert(a, value);
    Ok(checksums)
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIB5: i64 = 5 * 1024 * 1024;

    fn part(n: i32, size: i64, etag: &str, sums: &[(Algorithm, &str)]) -> Part {
        let mut checksums = Checksums::default();
        for (a, v) in sums {
            checksums.0.insert(*a, (*v).to_owned());
        }
        Part {
            blob_id: None,
            part_number: n,
            size,
            etag: etag.to_owned(),
            backend_part: format!("token-{n}"),
            checksums: sqlx::types::Json(checksums),
            reservation_id: None,
            created_at: time::OffsetDateTime::UNIX_EPOCH,
        }
    }

    fn listed(n: Option<i32>, etag: Option<&str>) -> Listed {
        Listed {
            number: n,
            etag: etag.map(str::to_owned),
            checksums: Vec::new(),
        }
    }

    /// The S3 code each edge gives the error (`s3::multipart` maps them).
    fn code(e: MultipartError) -> String {
        match e {
            MultipartError::NoParts | MultipartError::UnnumberedPart => "MalformedXML",
            MultipartError::PartOrder => "InvalidPartOrder",
            MultipartError::InvalidPart => "InvalidPart",
            MultipartError::PartTooSmall => "EntityTooSmall",
            MultipartError::PartChecksumMissing(_) => "InvalidRequest",
            other => panic!("unexpected {other}"),
        }
        .to_owned()
    }

    /// The numbers of the parts chosen, or the error's code.
    fn chosen(list: &[Listed], stored: &HashMap<i32, Part>) -> Result<Vec<i32>, String> {
        choose(list, stored)
            .map(|ps| ps.iter().map(|p| p.part_number).collect())
            .map_err(code)
    }

    const MD5_A: &str = "0cc175b9c0f1b6a831c399e269772661";
    const MD5_B: &str = "92eb5ffee6ae2fec3ad71c777531578f";

    fn stored() -> HashMap<i32, Part> {
        [
            part(1, MIB5, MD5_A, &[(Algorithm::Crc32, "7YH59g==")]),
            part(2, MIB5, MD5_B, &[]),
            part(3, 10, MD5_A, &[]),
            part(4, 10, MD5_B, &[]),
        ]
        .into_iter()
        .map(|p| (p.part_number, p))
        .collect()
    }

    #[test]
    fn the_list_needs_ascending_numbered_parts() {
        let list = |ns: &[Option<i32>]| -> Vec<Listed> { ns.iter().map(|n| listed(*n, None)).collect() };
        assert!(check_list(&list(&[Some(1)])).is_ok());
        assert!(check_list(&list(&[Some(1), Some(2), Some(7)])).is_ok());
        assert_eq!(check_list(&[]).map_err(code), Err("MalformedXML".to_owned()));
        assert_eq!(
            check_list(&list(&[Some(1), None])).map_err(code),
            Err("MalformedXML".to_owned())
        );
        assert_eq!(
            check_list(&list(&[Some(1), Some(3), Some(2)])).map_err(code),
            Err("InvalidPartOrder".to_owned())
        );
        assert_eq!(
            check_list(&list(&[Some(2), Some(2)])).map_err(code),
            Err("InvalidPartOrder".to_owned())
        );
    }

    #[test]
    fn chosen_parts_follow_the_list() {
        let stored = stored();
        let list = [
            listed(Some(1), Some(MD5_A)),
            listed(Some(2), Some(MD5_B)),
            listed(Some(4), Some(MD5_B)),
        ];
        assert_eq!(chosen(&list, &stored), Ok(vec![1, 2, 4]));
        // A quoted ETag names the same part.
        let quoted = [listed(Some(3), Some(&format!("\"{MD5_A}\"")))];
        assert_eq!(chosen(&quoted, &stored), Ok(vec![3]));
    }

    #[test]
    fn a_part_must_exist_with_its_etag_and_checksums() {
        let stored = stored();
        let invalid = Err("InvalidPart".to_owned());
        assert_eq!(chosen(&[listed(Some(9), Some(MD5_A))], &stored), invalid);
        assert_eq!(chosen(&[listed(Some(1), Some(MD5_B))], &stored), invalid);
        assert_eq!(chosen(&[listed(Some(1), None)], &stored), invalid);
        let mut sum = listed(Some(1), Some(MD5_A));
        sum.checksums = vec![(Algorithm::Crc32, "7YH59g==".into())];
        assert_eq!(chosen(std::slice::from_ref(&sum), &stored), Ok(vec![1]));
        sum.checksums = vec![(Algorithm::Crc32, "OncRQw==".into())];
        assert_eq!(chosen(std::slice::from_ref(&sum), &stored), invalid);
        // A checksum the part was not uploaded with cannot match.
        let mut other = listed(Some(2), Some(MD5_B));
        other.checksums = vec![(Algorithm::Sha256, "EZFMGaKKmMV9EvPM5sMreUR4T0tHgacGwk6x3ChOKFY=".into())];
        assert_eq!(chosen(&[other], &stored), invalid);
    }

    #[test]
    fn only_the_last_part_may_be_small() {
        let stored = stored();
        let small_last = [listed(Some(1), Some(MD5_A)), listed(Some(3), Some(MD5_A))];
        assert_eq!(chosen(&small_last, &stored), Ok(vec![1, 3]));
        let small_first = [listed(Some(3), Some(MD5_A)), listed(Some(4), Some(MD5_B))];
        assert_eq!(chosen(&small_first, &stored), Err("EntityTooSmall".to_owned()));
        assert_eq!(chosen(&[listed(Some(4), Some(MD5_B))], &stored), Ok(vec![4]));
    }

    #[test]
    fn the_etag_is_the_md5_of_the_part_md5s_and_their_count() {
        let (a, b) = (part(1, 1, MD5_A, &[]), part(2, 1, MD5_B, &[]));
        assert_eq!(multipart_etag(&[&a, &b]).unwrap(), "96e024ba2074fe77e8e965ba43a704be-2");
        // One part: the MD5 of its MD5, not the MD5 itself.
        let one = multipart_etag(&[&a]).unwrap();
        assert_eq!(
            one,
            format!("{}-1", hex::encode(Md5::digest(hex::decode(MD5_A).unwrap())))
        );
        assert!(multipart_etag(&[&part(1, 1, "not hex", &[])]).is_err());
    }

    #[test]
    fn composite_checksums_hash_the_part_checksums() {
        // SHA-256 of "one" and of "two", and of their concatenated raw digests.
        let one = part(
            1,
            3,
            MD5_A,
            &[(Algorithm::Sha256, "dpLDrTVAu4A8Ags67mbNiIcSMjTqDG5xQ8Ct1z/0Me0=")],
        );
        let two = part(
            2,
            3,
            MD5_B,
            &[(Algorithm::Sha256, "P8TM/nRYcOLA2Z9x8w/wZWyN7dQcwdfT03aw2+aF4vM=")],
        );
        let made = combined_checksums(Some(Algorithm::Sha256), Some("COMPOSITE"), &[&one, &two]).unwrap();
        assert_eq!(
            made.get(Algorithm::Sha256),
            Some("EZFMGaKKmMV9EvPM5sMreUR4T0tHgacGwk6x3ChOKFY=-2")
        );
        // CRC32 of "hello " and "world", composite: the CRC32 of the two raw CRCs.
        let hello = part(1, 6, MD5_A, &[(Algorithm::Crc32, "7YH59g==")]);
        let world = part(2, 5, MD5_B, &[(Algorithm::Crc32, "OncRQw==")]);
        let made = combined_checksums(Some(Algorithm::Crc32), None, &[&hello, &world]).unwrap();
        assert_eq!(made.get(Algorithm::Crc32), Some("1Fu2mQ==-2"));
    }

    #[test]
    fn full_object_checksums_are_the_crc_of_the_whole() {
        // CRC32 of "hello " and "world" combine into the CRC32 of "hello world" (0x0d4a1185).
        let hello = part(1, 6, MD5_A, &[(Algorithm::Crc32, "7YH59g==")]);
        let world = part(2, 5, MD5_B, &[(Algorithm::Crc32, "OncRQw==")]);
        let made = combined_checksums(Some(Algorithm::Crc32), Some("FULL_OBJECT"), &[&hello, &world]).unwrap();
        assert_eq!(made.get(Algorithm::Crc32), Some("DUoRhQ=="));
        assert_eq!(made.0.len(), 1);
    }

    #[test]
    fn no_algorithm_no_checksum_and_a_missing_part_value_is_refused() {
        let bare = part(1, 6, MD5_A, &[]);
        assert!(combined_checksums(None, None, &[&bare]).unwrap().is_empty());
        let refused = combined_checksums(Some(Algorithm::Crc32), Some("FULL_OBJECT"), &[&bare]).unwrap_err();
        assert_eq!(refused.to_string(), "A part is missing its CRC32 checksum.");
        let refused = combined_checksums(Some(Algorithm::Sha1), None, &[&bare]).map_err(code);
        assert_eq!(refused, Err("InvalidRequest".to_owned()));
    }
}
