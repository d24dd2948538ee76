//! ListObjectVersions. Buckets are not versioned yet: every object is its one version,
//! `null` and latest, so the listing is the objects' listing in S3's version form, paged
//! by `key-marker` (and `version-id-marker`, which can only be `null`). Backup tools
//! (rclone `--s3-versions`, restic) and `aws s3api list-object-versions` read it so.

use s3s::dto::*;
use s3s::{S3Request, S3Response, S3Result, s3_error};

use super::list::{delimiter, enc, max_keys, page, prefixes, url_encoding};
use super::{GoDriveS3, caller, error, owned_bucket};

/// The one version every object has.
const NULL: &str = "null";

impl GoDriveS3 {
    pub(super) async fn do_list_object_versions(
        &self,
        req: S3Request<ListObjectVersionsInput>,
    ) -> S3Result<S3Response<ListObjectVersionsOutput>> {
        let bucket_id = owned_bucket(&req)?;
        let owner = caller(&req)?.user_id;
        let i = req.input;
        let url = url_encoding(i.encoding_type.as_ref())?;
        let max = max_keys(i.max_keys)?;
        let prefix = i.prefix.clone().unwrap_or_default();
        let delim = delimiter(i.delimiter.as_deref());
        let key_marker = i.key_marker.clone().filter(|k| !k.is_empty());
        match (key_marker.as_ref(), i.version_id_marker.as_deref()) {
            (None, Some(v)) if !v.is_empty() => {
                return Err(s3_error!(
                    InvalidArgument,
                    "A version-id marker cannot be specified without a key marker."
                ));
            }
            (Some(_), Some(v)) if !v.is_empty() && v != NULL => {
                return Err(s3_error!(InvalidArgument, "Invalid version id specified"));
            }
            _ => {}
        }
        // After (key, null), the key's only version, comes the next key.
        let p = page(&self.state.db, bucket_id, &prefix, delim, key_marker.as_deref(), max)
            .await
            .map_err(error::db)?;
        let versions: Vec<ObjectVersion> = p
            .objects
            .into_iter()
            .map(|o| ObjectVersion {
                key: Some(enc(o.key, url)),
                version_id: Some(NULL.to_owned()),
                is_latest: Some(true),
                size: Some(o.size),
                e_tag: Some(ETag::Strong(o.etag)),
                last_modified: Some(o.updated_at.into()),
                storage_class: Some(ObjectVersionStorageClass::from_static(
                    ObjectVersionStorageClass::STANDARD,
                )),
                owner: Some(Owner {
                    id: Some(owner.to_string()),
                    display_name: None,
                }),
                ..Default::default()
            })
            .collect();
        let (next_key, next_version) = match p.truncated {
            true => (p.last.map(|l| enc(l, url)), Some(NULL.to_owned())),
            false => (None, None),
        };
        Ok(S3Response::new(ListObjectVersionsOutput {
            name: Some(i.bucket),
            prefix: Some(enc(prefix, url)),
            delimiter: delim.map(|d| enc(d.to_owned(), url)),
            key_marker: Some(enc(i.key_marker.unwrap_or_default(), url)),
            version_id_marker: Some(i.version_id_marker.unwrap_or_default()),
            max_keys: Some(max),
            is_truncated: Some(p.truncated),
            next_key_marker: next_key,
            next_version_id_marker: next_version,
            encoding_type: i.encoding_type,
            versions: Some(versions),
            common_prefixes: Some(prefixes(p.prefixes, url)),
            ..Default::default()
        }))
    }
}
