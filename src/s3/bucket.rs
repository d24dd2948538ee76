//! Bucket operations: CreateBucket, HeadBucket, ListBuckets, DeleteBucket, GetBucketLocation.

use s3s::dto::*;
use s3s::{S3Request, S3Response, S3Result, s3_error};

use super::{GoDriveS3, caller, owned_bucket};
use crate::accounts::cache::Change;
use crate::db::{self, buckets::CreateBucketError, buckets::DeleteOutcome};
use crate::objects::buckets::{self as names, BucketNameError};

/// The bucket-name rule s3s applies to every name it reads from a path or a host: the
/// core's ([`names::valid_name`]).
pub(super) struct BucketNames;

impl s3s::validation::NameValidation for BucketNames {
    fn validate_bucket_name(&self, name: &str) -> bool {
        names::valid_name(name)
    }
}

impl GoDriveS3 {
    pub(super) async fn do_create_bucket(
        &self,
        req: S3Request<CreateBucketInput>,
    ) -> S3Result<S3Response<CreateBucketOutput>> {
        let user_id = caller(&req)?.user_id;
        let acl = super::acl::canned(&self.state, req.input.acl.as_ref().map(|a| a.as_str()))?;
        let i = &req.input;
        super::acl::refuse_grants(&[
            i.grant_full_control.as_ref(),
            i.grant_read.as_ref(),
            i.grant_read_acp.as_ref(),
            i.grant_write.as_ref(),
            i.grant_write_acp.as_ref(),
        ])?;
        let name = req.input.bucket;
        // s3s has checked the rules already (`BucketNames`); a reserved name passes them.
        names::check(&name).map_err(|e| match e {
            BucketNameError::Reserved => s3_error!(InvalidBucketName, "The specified bucket name is reserved."),
            BucketNameError::Invalid => s3_error!(InvalidBucketName),
        })?;
        let mut conn = self.state.db.acquire().await.map_err(|e| super::error::db(e.into()))?;
        match db::buckets::create(&mut conn, &name, user_id, &self.state.config.s3_region).await {
            Ok(bucket) => {
                if let Some(acl) = acl {
                    db::buckets::set_acl(&self.state.db, bucket.id, acl)
                        .await
                        .map_err(super::error::db)?;
                }
                Ok(S3Response::new(CreateBucketOutput {
                    location: Some(format!("/{name}")),
                }))
            }
            // In us-east-1, S3 answers a repeated CreateBucket by the owner with success
            // (and changes nothing); elsewhere with BucketAlreadyOwnedByYou.
            Err(CreateBucketError::Taken { owner_id })
                if owner_id == user_id && self.state.config.s3_region == "us-east-1" =>
            {
                Ok(S3Response::new(CreateBucketOutput {
                    location: Some(format!("/{name}")),
                }))
            }
            Err(CreateBucketError::Taken { owner_id }) if owner_id == user_id => Err(s3_error!(
                BucketAlreadyOwnedByYou,
                "Your previous request to create the named bucket succeeded and you already own it."
            )),
            Err(CreateBucketError::Taken { .. }) => Err(s3_error!(
                BucketAlreadyExists,
                "The requested bucket name is not available. Please select a different name and try again."
            )),
            Err(CreateBucketError::Db(e)) => Err(super::error::db(e)),
        }
    }

    pub(super) async fn do_head_bucket(
        &self,
        req: S3Request<HeadBucketInput>,
    ) -> S3Result<S3Response<HeadBucketOutput>> {
        owned_bucket(&req)?;
        Ok(S3Response::new(HeadBucketOutput {
            bucket_region: Some(self.state.config.s3_region.clone()),
            ..Default::default()
        }))
    }

    /// ListBuckets, by name, with `prefix` and pagination (`max-buckets`, 1 to 10,000; the
    /// continuation token is the last name given, base64url-encoded).
    pub(super) async fn do_list_buckets(
        &self,
        req: S3Request<ListBucketsInput>,
    ) -> S3Result<S3Response<ListBucketsOutput>> {
        let user_id = caller(&req)?.user_id;
        let i = req.input;
        let max = match i.max_buckets {
            None => usize::MAX,
            Some(n @ 1..=10_000) => n as usize,
            Some(_) => {
                return Err(s3_error!(
                    InvalidArgument,
                    "max-buckets must be an integer between 1 and 10000"
                ));
            }
        };
        let after = match i.continuation_token.as_deref() {
            None | Some("") => None,
            Some(t) => Some(
                base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, t)
                    .ok()
                    .and_then(|b| String::from_utf8(b).ok())
                    .ok_or_else(|| s3_error!(InvalidArgument, "The continuation token provided is incorrect"))?,
            ),
        };
        let rows = db::buckets::list_owned(&self.state.db, user_id)
            .await
            .map_err(super::error::db)?;
        let prefix = i.prefix.clone().unwrap_or_default();
        let mut matching = rows
            .into_iter()
            .filter(|b| b.name.starts_with(&prefix) && after.as_ref().is_none_or(|a| b.name.as_str() > a.as_str()))
            .peekable();
        let mut buckets = Vec::new();
        while buckets.len() < max {
            let Some(b) = matching.next() else { break };
            buckets.push(Bucket {
                name: Some(b.name),
                creation_date: Some(b.created_at.into()),
                bucket_region: Some(b.region),
            });
        }
        let next = match matching.peek() {
            Some(_) => buckets
                .last()
                .and_then(|b| b.name.as_ref())
                .map(|n| base64::Engine::encode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, n.as_bytes())),
            None => None,
        };
        Ok(S3Response::new(ListBucketsOutput {
            buckets: Some(buckets),
            continuation_token: next,
            prefix: i.prefix,
            owner: Some(Owner {
                id: Some(user_id.to_string()),
                display_name: None,
            }),
        }))
    }

    pub(super) async fn do_delete_bucket(
        &self,
        req: S3Request<DeleteBucketInput>,
    ) -> S3Result<S3Response<DeleteBucketOutput>> {
        let bucket_id = owned_bucket(&req)?;
        let mut conn = self.state.db.acquire().await.map_err(|e| super::error::db(e.into()))?;
        match db::buckets::delete_if_empty(&mut conn, bucket_id)
            .await
            .map_err(super::error::db)?
        {
            DeleteOutcome::Deleted(uploads) => {
                // Answered once no instance's cache holds the bucket any more.
                drop(conn);
                let name = req.input.bucket.clone();
                self.state
                    .auth_cache
                    .changed(&self.state.db, Change::Bucket(name))
                    .await;
                crate::objects::stored::drop_uploads_in_background(self.state.storage.clone(), uploads);
                Ok(S3Response::new(DeleteBucketOutput {}))
            }
            DeleteOutcome::NotEmpty => Err(s3_error!(
                BucketNotEmpty,
                "The bucket you tried to delete is not empty."
            )),
            DeleteOutcome::Missing => Err(s3_error!(NoSuchBucket, "The specified bucket does not exist")),
        }
    }

    pub(super) async fn do_get_bucket_location(
        &self,
        req: S3Request<GetBucketLocationInput>,
    ) -> S3Result<S3Response<GetBucketLocationOutput>> {
        owned_bucket(&req)?;
        // us-east-1 is reported as an empty LocationConstraint, as S3 does.
        let region = &self.state.config.s3_region;
        let location = (region != "us-east-1").then(|| BucketLocationConstraint::from(region.clone()));
        Ok(S3Response::new(GetBucketLocationOutput {
            location_constraint: location,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    proptest::proptest! {
        /// The core's bucket-name rule is the one s3s applied before GoDrive had its own.
        #[test]
        fn bucket_names_follow_the_rule_s3s_applied(name in "[a-zA-Z0-9._:x-]{0,70}") {
            proptest::prop_assert_eq!(names::valid_name(&name), s3s::path::check_bucket_name(&name));
        }
    }

    #[test]
    fn bucket_names_that_look_like_addresses_or_labels() {
        for name in ["10.0.0.1", "1.2.3", "::1", "xn--abc", "a..b", "a.-b", "abc", "v1"] {
            assert_eq!(names::valid_name(name), s3s::path::check_bucket_name(name), "{name:?}");
        }
    }
}
