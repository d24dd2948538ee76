//! ListObjects (v1) and ListObjectsV2, served from PostgreSQL (the walk over keys is
//! `lister`), and what every listing shares: max-keys, encoding, delimiter.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use s3s::dto::*;
use s3s::{S3Request, S3Response, S3Result, s3_error};
use uuid::Uuid;

use super::{GoDriveS3, caller, error, owned_bucket};
use crate::db::objects::Listed;
use crate::objects::listing::{Objects, Query, page};

pub(super) const MAX_KEYS: i32 = 1000;

/// Everything but RFC 3986 unreserved characters and `/` is percent-encoded.
const KEY_ENCODE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~')
    .remove(b'/');

pub(super) fn max_keys(v: Option<i32>) -> S3Result<i32> {
    match v {
        None => Ok(MAX_KEYS),
        Some(n) if n < 0 => Err(s3_error!(InvalidArgument, "max-keys must not be negative.")),
        Some(n) => Ok(n.min(MAX_KEYS)),
    }
}

/// Returns whether keys must be URL-encoded in the response.
pub(super) fn url_encoding(e: Option<&EncodingType>) -> S3Result<bool> {
    match e.map(|e| e.as_str()) {
        None => Ok(false),
        Some(s) if s.eq_ignore_ascii_case("url") => Ok(true),
        Some(_) => Err(s3_error!(
            InvalidArgument,
            "Invalid Encoding Method specified in Request"
        )),
    }
}

pub(super) fn enc(s: String, url: bool) -> String {
    if url {
        utf8_percent_encode(&s, KEY_ENCODE).to_string()
    } else {
        s
    }
}

/// An empty `delimiter=` means no delimiter.
pub(super) fn delimiter(d: Option<&str>) -> Option<&str> {
    d.filter(|d| !d.is_empty())
}

/// The listed objects, each with `owner` when given (always in v1, with `fetch-owner` in
/// v2, as in S3): the bucket's owner, who owns every object in it.
fn contents(objects: Vec<Listed>, url: bool, owner: Option<Uuid>) -> Vec<Object> {
    objects
        .into_iter()
        .map(|o| Object {
            key: Some(enc(o.key, url)),
            size: Some(o.size),
            e_tag: Some(ETag::Strong(o.etag)),
            last_modified: Some(o.updated_at.into()),
            storage_class: Some(ObjectStorageClass::from_static(ObjectStorageClass::STANDARD)),
            owner: owner.map(|id| Owner {
                id: Some(id.to_string()),
                display_name: None,
            }),
            ..Default::default()
        })
        .collect()
}

pub(super) fn prefixes(p: Vec<String>, url: bool) -> Vec<CommonPrefix> {
    p.into_iter()
        .map(|p| CommonPrefix {
            prefix: Some(enc(p, url)),
        })
        .collect()
}

impl GoDriveS3 {
    pub(super) async fn do_list_objects_v2(
        &self,
        req: S3Request<ListObjectsV2Input>,
    ) -> S3Result<S3Response<ListObjectsV2Output>> {
        let bucket_id = owned_bucket(&req)?;
        let owner = Some(caller(&req)?.user_id);
        let i = req.input;
        let fetch_owner = i.fetch_owner.unwrap_or(false);
        let url = url_encoding(i.encoding_type.as_ref())?;
        let max = max_keys(i.max_keys)?;
        let prefix = i.prefix.clone().unwrap_or_default();
        let delim = delimiter(i.delimiter.as_deref());
        let after = match &i.continuation_token {
            Some(t) => Some(
                URL_SAFE_NO_PAD
                    .decode(t)
                    .ok()
                    .and_then(|b| String::from_utf8(b).ok())
                    // Tokens we hand out name a key, which holds no control character.
                    .filter(|k| !crate::text::has_control(k))
                    .ok_or_else(|| s3_error!(InvalidArgument, "The continuation token provided is incorrect"))?,
            ),
            None => i.start_after.clone(),
        };
        let q = Query {
            prefix: &prefix,
            delimiter: delim,
            after: after.as_deref(),
            from: None,
            max_keys: max,
        };
        let p = page::<Objects>(&self.state.db, bucket_id, &q)
            .await
            .map_err(error::db)?;
        let key_count = (p.objects.len() + p.prefixes.len()) as i32;
        let next = if p.truncated {
            p.last.map(|l| URL_SAFE_NO_PAD.encode(l))
        } else {
            None
        };
        Ok(S3Response::new(ListObjectsV2Output {
            name: Some(i.bucket),
            prefix: Some(enc(prefix, url)),
            delimiter: delim.map(|d| enc(d.to_owned(), url)),
            max_keys: Some(max),
            key_count: Some(key_count),
            is_truncated: Some(p.truncated),
            continuation_token: i.continuation_token,
            next_continuation_token: next,
            start_after: i.start_after.map(|s| enc(s, url)),
            encoding_type: i.encoding_type,
            contents: Some(contents(p.objects, url, owner.filter(|_| fetch_owner))),
            common_prefixes: Some(prefixes(p.prefixes, url)),
            ..Default::default()
        }))
    }

    pub(super) async fn do_list_objects(
        &self,
        req: S3Request<ListObjectsInput>,
    ) -> S3Result<S3Response<ListObjectsOutput>> {
        let bucket_id = owned_bucket(&req)?;
        let owner = Some(caller(&req)?.user_id);
        let i = req.input;
        let url = url_encoding(i.encoding_type.as_ref())?;
        let max = max_keys(i.max_keys)?;
        let prefix = i.prefix.clone().unwrap_or_default();
        let delim = delimiter(i.delimiter.as_deref());
        let marker = i.marker.clone().filter(|m| !m.is_empty());
        let q = Query {
            prefix: &prefix,
            delimiter: delim,
            after: marker.as_deref(),
            from: None,
            max_keys: max,
        };
        let p = page::<Objects>(&self.state.db, bucket_id, &q)
            .await
            .map_err(error::db)?;
        // NextMarker is always given when truncated (S3 gives it only with a delimiter;
        // clients without one use the last key, which is the same value).
        let next_marker = if p.truncated { p.last.map(|l| enc(l, url)) } else { None };
        Ok(S3Response::new(ListObjectsOutput {
            name: Some(i.bucket),
            prefix: Some(enc(prefix, url)),
            delimiter: delim.map(|d| enc(d.to_owned(), url)),
            marker: Some(enc(i.marker.unwrap_or_default(), url)),
            max_keys: Some(max),
            is_truncated: Some(p.truncated),
            next_marker,
            encoding_type: i.encoding_type,
            contents: Some(contents(p.objects, url, owner)),
            common_prefixes: Some(prefixes(p.prefixes, url)),
            ..Default::default()
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::objects::listing::{common_prefix, successor};

    #[test]
    fn successor_bounds_every_extension() {
        assert_eq!(successor("a/").as_deref(), Some("a0"));
        assert_eq!(successor("abc").as_deref(), Some("abd"));
        assert_eq!(successor(""), None);
        assert_eq!(successor("\u{10FFFF}"), None);
        assert_eq!(successor("a\u{10FFFF}").as_deref(), Some("b"));
        assert_eq!(successor("\u{D7FF}").as_deref(), Some("\u{E000}"));
        // Byte order agrees: every extension of s sorts below successor(s).
        for s in ["a/", "photos/2024/", "é/", "z"] {
            let succ = successor(s).unwrap();
            for ext in ["", "\u{10FFFF}", "zzz", "\u{FFFF}x"] {
                let k = format!("{s}{ext}");
                assert!(k.as_bytes() < succ.as_bytes(), "{k:?} vs {succ:?}");
            }
        }
    }

    #[test]
    fn common_prefixes_roll_up_at_the_first_delimiter_after_the_prefix() {
        assert_eq!(common_prefix("a/b/c", "", Some("/")), Some("a/"));
        assert_eq!(common_prefix("a/b/c", "a/", Some("/")), Some("a/b/"));
        assert_eq!(common_prefix("a/b", "a/b", Some("/")), None);
        assert_eq!(common_prefix("abc", "", None), None);
        assert_eq!(common_prefix("x--y--z", "x", Some("--")), Some("x--"));
    }

    #[test]
    fn keys_encode_like_s3() {
        assert_eq!(enc("a b/c+d%".to_owned(), true), "a%20b/c%2Bd%25");
        assert_eq!(enc("é".to_owned(), true), "%C3%A9");
        assert_eq!(enc("a b".to_owned(), false), "a b");
    }

    #[test]
    fn max_keys_is_capped_and_checked() {
        assert_eq!(max_keys(None).unwrap(), 1000);
        assert_eq!(max_keys(Some(5000)).unwrap(), 1000);
        assert_eq!(max_keys(Some(0)).unwrap(), 0);
        assert!(max_keys(Some(-1)).is_err());
    }

    proptest::proptest! {
        /// Listing pages skip a common prefix by jumping to its successor: every key that
        /// starts with the prefix sorts before it, and nothing at or after it starts with it.
        #[test]
        fn successor_bounds_every_extension_of_any_string(p in "\\PC{0,8}", x in "\\PC{0,8}", t in "\\PC{0,12}") {
            if let Some(next) = successor(&p) {
                let extended = format!("{p}{x}");
                proptest::prop_assert!(extended.as_str() < next.as_str());
                if t.as_str() >= next.as_str() {
                    proptest::prop_assert!(!t.starts_with(&p));
                }
            }
        }

        /// A common prefix is a prefix of the key that extends the listing prefix and ends at
        /// the delimiter.
        #[test]
        fn common_prefixes_are_well_formed(key in "\\PC{0,16}", cut in 0usize..8, d in "[/:|]{1,2}") {
            let prefix: String = key.chars().take(cut).collect();
            if let Some(cp) = common_prefix(&key, &prefix, Some(&d)) {
                proptest::prop_assert!(key.starts_with(cp));
                proptest::prop_assert!(cp.starts_with(&prefix));
                proptest::prop_assert!(cp.ends_with(&d));
                proptest::prop_assert!(!cp[prefix.len()..cp.len() - d.len()].contains(&d));
            }
        }
    }
}
