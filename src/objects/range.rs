//! Byte ranges of an object (RFC 9110 `Range: bytes=...`, one range per request as in S3):
//! parsing the header value, and the span of an object of a given length it selects. Both
//! edges use the same rule: the JSON API parses the header here; the S3 edge gets the parsed
//! range from its protocol library and asks for its span here.

use std::ops;

/// One byte range, as a request states it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ByteRange {
    /// `bytes=first-last` (inclusive), or `bytes=first-` when `last` is `None`.
    Int {
        /// The first byte's offset.
        first: u64,
        /// The last byte's offset, inclusive; `None` is to the end.
        last: Option<u64>,
    },
    /// `bytes=-length`: the last `length` bytes.
    Suffix {
        /// How many bytes from the end.
        length: u64,
    },
}

/// The header value is not `bytes=a-b`, `bytes=a-` or `bytes=-n` (JSON: `validation_error`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("Range must be bytes=a-b, a- or -n")]
pub struct MalformedRange;

/// The range selects no byte of the object (S3: `InvalidRange`; JSON: 416).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("The requested range is not satisfiable")]
pub struct NotSatisfiable;

/// Offsets above this are refused, so that every offset fits a signed 64-bit length.
const MAX_OFFSET: u64 = i64::MAX as u64;

impl ByteRange {
    /// Parses a `Range` header value: `bytes=` then `a-b`, `a-` or `-n`, in decimal digits
    /// only (no sign, no space, no list); `a` and `b` at most 2^63-1, and `a <= b`.
    pub fn parse(header: &str) -> Result<Self, MalformedRange> {
        let s = header.strip_prefix("bytes=").ok_or(MalformedRange)?;
        if let Some(length) = s.strip_prefix('-') {
            // An empty suffix is a zero length, which no object satisfies.
            let length = if length.is_empty() { 0 } else { digits(length)? };
            return Ok(ByteRange::Suffix { length });
        }
        let (first, last) = s.split_once('-').ok_or(MalformedRange)?;
        let first = digits(first)?;
        if first > MAX_OFFSET {
            return Err(MalformedRange);
        }
        if last.is_empty() {
            return Ok(ByteRange::Int { first, last: None });
        }
        let last = digits(last)?;
        if last > MAX_OFFSET || first > last {
            return Err(MalformedRange);
        }
        Ok(ByteRange::Int {
            first,
            last: Some(last),
        })
    }

    /// The span (end exclusive) this range selects in an object of `total` bytes: a last
    /// offset past the end is cut to the end, a suffix longer than the object is all of it;
    /// a first offset at or past the end, or an empty suffix, selects nothing.
    pub fn check(&self, total: u64) -> Result<ops::Range<u64>, NotSatisfiable> {
        match *self {
            ByteRange::Int { first, .. } if first >= total => Err(NotSatisfiable),
            ByteRange::Int { first, last: None } => Ok(first..total),
            ByteRange::Int {
                first,
                last: Some(last),
            } => {
                let last = last.min(total - 1);
                if first > last {
                    return Err(NotSatisfiable);
                }
                Ok(first..last + 1)
            }
            ByteRange::Suffix { length: 0 } => Err(NotSatisfiable),
            ByteRange::Suffix { length } => Ok(total - length.min(total)..total),
        }
    }
}

/// A non-empty run of ASCII digits as a `u64`; overflow is malformed.
fn digits(s: &str) -> Result<u64, MalformedRange> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return Err(MalformedRange);
    }
    s.bytes().try_fold(0u64, |n, b| {
        n.checked_mul(10)
            .and_then(|n| n.checked_add(u64::from(b - b'0')))
            .ok_or(MalformedRange)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn int(first: u64, last: Option<u64>) -> ByteRange {
        ByteRange::Int { first, last }
    }

    fn suffix(length: u64) -> ByteRange {
        ByteRange::Suffix { length }
    }

    #[test]
    fn parses_the_three_forms() {
        assert_eq!(ByteRange::parse("bytes=0-499"), Ok(int(0, Some(499))));
        assert_eq!(ByteRange::parse("bytes=0-0"), Ok(int(0, Some(0))));
        assert_eq!(ByteRange::parse("bytes=9500-"), Ok(int(9500, None)));
        assert_eq!(ByteRange::parse("bytes=-500"), Ok(suffix(500)));
        assert_eq!(ByteRange::parse("bytes=-0"), Ok(suffix(0)));
        assert_eq!(ByteRange::parse("bytes=-000"), Ok(suffix(0)));
        assert_eq!(ByteRange::parse("bytes=-"), Ok(suffix(0)));
        assert_eq!(ByteRange::parse("bytes=007-010"), Ok(int(7, Some(10))));
        let max = i64::MAX as u64;
        assert_eq!(ByteRange::parse(&format!("bytes={max}-{max}")), Ok(int(max, Some(max))));
        assert_eq!(ByteRange::parse("bytes=-18446744073709551615"), Ok(suffix(u64::MAX)));
    }

    #[test]
    fn refuses_anything_else() {
        for bad in [
            "",
            "bytes=",
            "bytes=5",
            "bytes=0-499;",
            "bytes=9500-0-",
            "bytes=-500 ",
            "bytes= 0-1",
            "bytes=-+500",
            "bytes=+1-2",
            "bytes=1-+2",
            "bytes=0-1,3-4",
            "bytes=5-2",
            "bytes=a-b",
            "Bytes=0-1",
            "items=0-1",
            "0-1",
            "bytes=-1000000000000000000000000",
            "bytes=9223372036854775808-",
            "bytes=0-9223372036854775808",
            "bytes=18446744073709551616-",
        ] {
            assert_eq!(ByteRange::parse(bad), Err(MalformedRange), "{bad:?}");
        }
    }

    #[test]
    fn spans_of_an_object_of_ten_thousand_bytes() {
        let total = 10_000;
        assert_eq!(int(0, Some(499)).check(total), Ok(0..500));
        assert_eq!(int(0, Some(0)).check(total), Ok(0..1));
        assert_eq!(int(9_999, Some(9_999)).check(total), Ok(9_999..10_000));
        // Open and overlong ranges end at the end.
        assert_eq!(int(9_500, None).check(total), Ok(9_500..10_000));
        assert_eq!(int(9_500, Some(50_000)).check(total), Ok(9_500..10_000));
        // Suffixes count from the end; a longer one is the whole object.
        assert_eq!(suffix(500).check(total), Ok(9_500..10_000));
        assert_eq!(suffix(10_000).check(total), Ok(0..10_000));
        assert_eq!(suffix(u64::MAX).check(total), Ok(0..10_000));
        // Unsatisfiable: starting at or past the end, or an empty suffix.
        assert_eq!(int(10_000, None).check(total), Err(NotSatisfiable));
        assert_eq!(int(10_000, Some(10_000)).check(total), Err(NotSatisfiable));
        assert_eq!(int(20_000, Some(30_000)).check(total), Err(NotSatisfiable));
        assert_eq!(suffix(0).check(total), Err(NotSatisfiable));
    }

    #[test]
    fn an_empty_object_satisfies_only_a_suffix() {
        assert_eq!(int(0, None).check(0), Err(NotSatisfiable));
        assert_eq!(int(0, Some(0)).check(0), Err(NotSatisfiable));
        assert_eq!(suffix(1).check(0), Ok(0..0));
        assert_eq!(suffix(0).check(0), Err(NotSatisfiable));
    }

    #[test]
    fn parse_then_check() {
        let span = |h: &str| ByteRange::parse(h).unwrap().check(26);
        assert_eq!(span("bytes=2-5"), Ok(2..6));
        assert_eq!(span("bytes=20-"), Ok(20..26));
        assert_eq!(span("bytes=-3"), Ok(23..26));
        assert_eq!(span("bytes=-"), Err(NotSatisfiable));
        assert_eq!(span("bytes=26-"), Err(NotSatisfiable));
    }
}
