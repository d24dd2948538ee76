//! What an object key may be, on every path that names one (S3, the JSON upload, presigned
//! links): 1 to 1,024 bytes, and no control character (PostgreSQL cannot store NUL, and an
//! XML 1.0 listing cannot carry the other C0 characters).

/// S3's limit on a key's length, in bytes.
pub const MAX_KEY_BYTES: usize = 1024;

/// Why a key is refused. S3: `InvalidArgument`, or `KeyTooLongError` for a long one; JSON:
/// `validation_error`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    /// The key is empty.
    #[error("Object key must not be empty.")]
    Empty,
    /// The key is over [`MAX_KEY_BYTES`].
    #[error("Your key is too long.")]
    TooLong,
    /// The key holds a control character.
    #[error("Object key must not contain control characters.")]
    Control,
}

/// Checks a key against the rules above.
pub fn check(key: &str) -> Result<(), KeyError> {
    if key.is_empty() {
        return Err(KeyError::Empty);
    }
    if key.len() > MAX_KEY_BYTES {
        return Err(KeyError::TooLong);
    }
    if crate::text::has_control(key) {
        return Err(KeyError::Control);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_1_to_1024_bytes_without_control_characters() {
        assert_eq!(check("photos/2026/a b+c.jpg"), Ok(()));
        assert_eq!(check(&"k".repeat(1024)), Ok(()));
        assert_eq!(check(&"é".repeat(512)), Ok(()));
        assert_eq!(check(""), Err(KeyError::Empty));
        assert_eq!(check(&"k".repeat(1025)), Err(KeyError::TooLong));
        assert_eq!(check(&"é".repeat(513)), Err(KeyError::TooLong));
        for bad in ["a\0b", "line\nbreak", "tab\t", "del\u{7f}"] {
            assert_eq!(check(bad), Err(KeyError::Control), "{bad:?}");
        }
    }
}
