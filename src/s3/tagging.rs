//! Object tags: PutObjectTagging, GetObjectTagging, DeleteObjectTagging, and the
//! `x-amz-tagging` header of uploads. Stored with the object row in PostgreSQL.

use std::collections::BTreeMap;

use s3s::dto::*;
use s3s::{S3Request, S3Response, S3Result, s3_error};

use super::{GoDriveS3, error, owned_bucket};
use crate::db;

/// S3's limits: 10 tags, keys up to 128 and values up to 256 characters.
const MAX_TAGS: usize = 10;
const MAX_KEY: usize = 128;
const MAX_VALUE: usize = 256;

/// Checks a tag set against S3's limits.
pub fn validate(tags: &[(String, String)]) -> S3Result<BTreeMap<String, String>> {
    if tags.len() > MAX_TAGS {
        return Err(s3_error!(InvalidTag, "Object tags cannot be greater than 10"));
    }
    let mut out = BTreeMap::new();
    for (k, v) in tags {
        // Tags are stored as JSON in PostgreSQL, which cannot hold NUL; no control
        // character belongs in a tag.
        if k.is_empty() || k.chars().count() > MAX_KEY || crate::text::has_control(k) {
            return Err(s3_error!(InvalidTag, "The TagKey you have provided is invalid"));
        }
        if v.chars().count() > MAX_VALUE || crate::text::has_control(v) {
            return Err(s3_error!(InvalidTag, "The TagValue you have provided is invalid"));
        }
        if out.insert(k.clone(), v.clone()).is_some() {
            return Err(s3_error!(InvalidTag, "Cannot provide multiple Tags with the same key"));
        }
    }
    Ok(out)
}

/// Parses an `x-amz-tagging` header: URL query encoding, `k1=v1&k2=v2`.
pub fn parse_header(h: Option<&str>) -> S3Result<BTreeMap<String, String>> {
    let Some(h) = h.filter(|h| !h.is_empty()) else {
        return Ok(BTreeMap::new());
    };
    let decode = |s: &str| {
        percent_encoding::percent_decode_str(&s.replace('+', " "))
            .decode_utf8()
            .map(|c| c.into_owned())
            .map_err(|_| s3_error!(InvalidArgument, "The header 'x-amz-tagging' shall be encoded as UTF-8 then URLEncoded URL query parameters without tag name duplicates."))
    };
    let mut pairs = Vec::new();
    for pair in h.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        pairs.push((decode(k)?, decode(v)?));
    }
    validate(&pairs)
}

fn tag_set(tags: BTreeMap<String, String>) -> Vec<Tag> {
    tags.into_iter()
        .map(|(k, v)| Tag {
            key: Some(k),
            value: Some(v),
        })
        .collect()
}

fn no_such_key() -> s3s::S3Error {
    s3_error!(NoSuchKey, "The specified key does not exist.")
}

impl GoDriveS3 {
    pub(super) async fn do_put_object_tagging(
        &self,
        req: S3Request<PutObjectTaggingInput>,
    ) -> S3Result<S3Response<PutObjectTaggingOutput>> {
        let bucket_id = owned_bucket(&req)?;
        let i = req.input;
        let pairs: Vec<(String, String)> = i
            .tagging
            .tag_set
            .into_iter()
            .map(|t| (t.key.unwrap_or_default(), t.value.unwrap_or_default()))
            .collect();
        let tags = validate(&pairs)?;
        self.set_tags(bucket_id, &i.key, i.version_id.as_deref(), &tags).await?;
        Ok(S3Response::new(PutObjectTaggingOutput {
            version_id: i.version_id,
        }))
    }

    pub(super) async fn do_get_object_tagging(
        &self,
        req: S3Request<GetObjectTaggingInput>,
    ) -> S3Result<S3Response<GetObjectTaggingOutput>> {
        let bucket_id = owned_bucket(&req)?;
        let i = &req.input;
        let obj = self.object_version(bucket_id, &i.key, i.version_id.as_deref()).await?;
        Ok(S3Response::new(GetObjectTaggingOutput {
            tag_set: tag_set(obj.headers.tags),
            version_id: obj.version_id,
        }))
    }

    pub(super) async fn do_delete_object_tagging(
        &self,
        req: S3Request<DeleteObjectTaggingInput>,
    ) -> S3Result<S3Response<DeleteObjectTaggingOutput>> {
        let bucket_id = owned_bucket(&req)?;
        let i = req.input;
        self.set_tags(bucket_id, &i.key, i.version_id.as_deref(), &BTreeMap::new())
            .await?;
        Ok(S3Response::new(DeleteObjectTaggingOutput {
            version_id: i.version_id,
        }))
    }

    /// Replaces the tags of the current object or of a version: `NoSuchKey`, or
    /// `NoSuchVersion` when a version was named, if there is none.
    async fn set_tags(
        &self,
        bucket_id: uuid::Uuid,
        key: &str,
        version: Option<&str>,
        tags: &BTreeMap<String, String>,
    ) -> S3Result<()> {
        super::versioning::check_version_id(version)?;
        let mut conn = self.state.db.acquire().await.map_err(|e| error::db(e.into()))?;
        match db::versions::set_tags(&mut conn, bucket_id, key, version, tags)
            .await
            .map_err(error::db)?
        {
            true => Ok(()),
            false if version.is_some() => Err(s3_error!(NoSuchVersion, "The specified version does not exist.")),
            false => Err(no_such_key()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tagging_headers_are_url_query_encoded() {
        let t = parse_header(Some("project=blue%20sky&owner=me+too&empty=")).unwrap();
        assert_eq!(t.get("project").map(String::as_str), Some("blue sky"));
        assert_eq!(t.get("owner").map(String::as_str), Some("me too"));
        assert_eq!(t.get("empty").map(String::as_str), Some(""));
        assert!(parse_header(None).unwrap().is_empty());
        assert!(parse_header(Some("a=1&a=2")).is_err());
        let eleven: Vec<String> = (0..11).map(|i| format!("k{i}=v")).collect();
        assert!(parse_header(Some(&eleven.join("&"))).is_err());
        assert!(parse_header(Some(&format!("{}=v", "k".repeat(129)))).is_err());
        for bad in ["k%00=v", "k=v%00", "k=%0D%0A", "%7F=v"] {
            assert_eq!(
                parse_header(Some(bad)).unwrap_err().code(),
                &s3s::S3ErrorCode::InvalidTag,
                "{bad}"
            );
        }
    }

    proptest::proptest! {
        /// Any header value is either refused with an S3 error or parsed; encoded tags come
        /// back as they were.
        #[test]
        fn tagging_headers_never_panic_and_round_trip(raw in "\\PC{0,64}", k in "[a-zA-Z0-9 +._:/=-]{1,20}", v in "[a-zA-Z0-9 +._:/=-]{0,20}") {
            let _ = parse_header(Some(&raw));
            let enc = |s: &str| percent_encoding::utf8_percent_encode(s, percent_encoding::NON_ALPHANUMERIC).to_string();
            let parsed = parse_header(Some(&format!("{}={}", enc(&k), enc(&v)))).unwrap();
            proptest::prop_assert_eq!(parsed.get(&k), Some(&v));
        }
    }
}
