//! What a bucket name may be, on every path that names one (S3 addressing and CreateBucket,
//! the JSON API, CORS preflights): S3's rules for new buckets, and no name that GoDrive's
//! own routes use.

use std::net::IpAddr;

/// Names no bucket may have: `/v1/` is the JSON API, `/console/` the web console.
pub const RESERVED: &[&str] = &["v1", "console"];

/// Why a bucket name is refused. S3: `InvalidBucketName`; JSON: `validation_error`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum BucketNameError {
    /// The name breaks S3's naming rules ([`valid_name`]).
    #[error("The specified bucket is not valid.")]
    Invalid,
    /// The name is one of [`RESERVED`].
    #[error("The specified bucket name is reserved.")]
    Reserved,
}

/// S3's naming rules: 3 to 63 characters of lowercase letters, digits, dots and hyphens,
/// starting and ending with a letter or digit, no `..`, not an IP address, not starting
/// with `xn--`.
pub fn valid_name(name: &str) -> bool {
    let b = name.as_bytes();
    let alnum = |c: &u8| c.is_ascii_lowercase() || c.is_ascii_digit();
    (3..64).contains(&b.len())
        && b.iter().all(|c| alnum(c) || *c == b'.' || *c == b'-')
        && b.first().is_some_and(alnum)
        && b.last().is_some_and(alnum)
        && !name.contains("..")
        && name.parse::<IpAddr>().is_err()
        && !name.starts_with("xn--")
}

/// Prefixes and suffixes S3 keeps for its own names (access point aliases, directory
/// buckets, examples), refused for new buckets.
const S3_PREFIXES: &[&str] = &["sthree-", "amzn-s3-demo-"];
const S3_SUFFIXES: &[&str] = &["-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3"];

/// Checks a name for a new bucket: reserved first, then S3's rules, and those S3 adds for
/// new buckets only (no `.-` or `-.`, none of its own prefixes and suffixes). Existing
/// buckets stay addressable under [`valid_name`].
pub fn check(name: &str) -> Result<(), BucketNameError> {
    if RESERVED.contains(&name) {
        return Err(BucketNameError::Reserved);
    }
    let s3_own = S3_PREFIXES.iter().any(|p| name.starts_with(p)) || S3_SUFFIXES.iter().any(|s| name.ends_with(s));
    if !valid_name(name) || name.contains(".-") || name.contains("-.") || s3_own {
        return Err(BucketNameError::Invalid);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn s3_naming_rules() {
        for good in [
            "abc",
            "photos",
            "my-bucket.2026",
            "a.b.c",
            "0bucket9",
            "123",
            &"a".repeat(63),
            "1.2.3",
            "xn-bucket",
        ] {
            assert!(valid_name(good), "{good:?}");
        }
        for bad in [
            "",
            "ab",
            &"a".repeat(64),
            "Photos",
            "my_bucket",
            "my bucket",
            "-bucket",
            "bucket-",
            ".bucket",
            "bucket.",
            "my..bucket",
            "192.168.1.1",
            "xn--bucket",
            "bücket",
            "v1",
        ] {
            assert!(!valid_name(bad), "{bad:?}");
        }
    }

    #[test]
    fn new_names_are_checked_for_reserved_then_rules() {
        assert_eq!(check("photos"), Ok(()));
        assert_eq!(check("v1"), Err(BucketNameError::Reserved));
        assert_eq!(check("Photos"), Err(BucketNameError::Invalid));
        assert_eq!(check("ab"), Err(BucketNameError::Invalid));
        for bad in [
            "my.-bucket",
            "my-.bucket",
            "sthree-data",
            "amzn-s3-demo-x",
            "data-s3alias",
            "data--ol-s3",
            "x.mrap",
            "d--x-s3",
            "t--table-s3",
        ] {
            assert_eq!(check(bad), Err(BucketNameError::Invalid), "{bad}");
        }
        assert_eq!(check("my-bucket.data"), Ok(()));
    }
}
