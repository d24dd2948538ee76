//! ListObjectVersions: every version of every key (current, noncurrent, delete markers),
//! keys in order and each key's versions newest first, paged by `key-marker` and
//! `version-id-marker` in PostgreSQL (`lister` with `db::versions::list_range`). Backup
//! tools (rclone `--s3-versions`, restic) and `aws s3api list-object-versions` read it.

use s3s::dto::*;
use s3s::{S3Request, S3Response, S3Result, s3_error};

use super::list::{delimiter, enc, max_keys, prefixes, url_encoding};
use super::{GoDriveS3, caller, error, owned_bucket};
use crate::db::objects::Start;
use crate::db::versions::{self, Listed};
use crate::objects::listing::{Query, Versions, page};

/// The version written while a bucket was unversioned, or suspended.
const NULL: &str = "null";

fn invalid_marker() -> s3s::S3Error {
    s3_error!(InvalidArgument, "Invalid version id specified")
}

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
        let version_marker = i.version_id_marker.clone().filter(|v| !v.is_empty());
        super::versioning::check_version_id(version_marker.as_deref())?;
        // With a version-id marker the page goes on inside the marker's key, after it.
        let from = match (key_marker.as_deref(), version_marker.as_deref()) {
            (None, Some(_)) => {
                return Err(s3_error!(
                    InvalidArgument,
                    "A version-id marker cannot be specified without a key marker."
                ));
            }
            (Some(key), Some(v)) => match versions::seq_of(&self.state.db, bucket_id, key, v)
                .await
                .map_err(error::db)?
            {
                Some(seq) => Some(Start::AfterVersion {
                    key: key.to_owned(),
                    seq,
                }),
                // The null version went meanwhile: go on after its key.
                None if v == NULL => None,
                None => return Err(invalid_marker()),
            },
            _ => None,
        };
        let resumed_inside = from.as_ref().map(|_| key_marker.clone().unwrap_or_default());
        let q = Query {
            prefix: &prefix,
            delimiter: delim,
            after: key_marker.as_deref(),
            from,
            max_keys: max,
        };
        let p = page::<Versions>(&self.state.db, bucket_id, &q)
            .await
            .map_err(error::db)?;

        let owner = || Owner {
            id: Some(owner.to_string()),
            display_name: None,
        };
        // A key's first version listed is its newest, unless the page began inside it.
        let mut previous = resumed_inside;
        let mut versions = Vec::new();
        let mut markers = Vec::new();
        for v in p.objects {
            let latest = previous.as_deref() != Some(v.key.as_str());
            previous = Some(v.key.clone());
            let Listed {
                key,
                version_id,
                is_marker,
                size,
                etag,
                updated_at,
                ..
            } = v;
            if is_marker {
                markers.push(DeleteMarkerEntry {
                    key: Some(enc(key, url)),
                    version_id: Some(version_id),
                    is_latest: Some(latest),
                    last_modified: Some(updated_at.into()),
                    owner: Some(owner()),
                });
                continue;
            }
            versions.push(ObjectVersion {
                key: Some(enc(key, url)),
                version_id: Some(version_id),
                is_latest: Some(latest),
                size: Some(size),
                e_tag: Some(ETag::Strong(etag)),
                last_modified: Some(updated_at.into()),
                storage_class: Some(ObjectVersionStorageClass::from_static(
                    ObjectVersionStorageClass::STANDARD,
                )),
                owner: Some(owner()),
                ..Default::default()
            });
        }
        let (next_key, next_version) = match p.truncated {
            true => (p.last.map(|l| enc(l, url)), p.last_version),
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
            delete_markers: Some(markers),
            common_prefixes: Some(prefixes(p.prefixes, url)),
            ..Default::default()
        }))
    }
}
