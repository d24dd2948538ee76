//! Bucket operations: CreateBucket, HeadBucket, ListBuckets, DeleteBucket, GetBucketLocation.

use s3s::dto::*;
use s3s::{S3Request, S3Response, S3Result, s3_error};

use super::{GoDriveS3, caller, owned_bucket};
use crate::db::{self, buckets::CreateBucketError, buckets::DeleteOutcome};

/// Bucket names the S3 side may not use: `/v1/` is the JSON API.
const RESERVED: &[&str] = &["v1"];

impl GoDriveS3 {
    pub(super) async fn do_create_bucket(
        &self,
        req: S3Request<CreateBucketInput>,
    ) -> S3Result<S3Response<CreateBucketOutput>> {
        let user_id = caller(&req)?.user_id;
        super::acl::check_canned(req.input.acl.as_ref().map(|a| a.as_str()))?;
        let name = req.input.bucket;
        if RESERVED.contains(&name.as_str()) {
            return Err(s3_error!(InvalidBucketName, "The specified bucket name is reserved."));
        }
        let mut conn = self.state.db.acquire().await.map_err(|e| super::error::db(e.into()))?;
        match db::buckets::create(&mut conn, &name, user_id, &self.state.config.s3_region).await {
            Ok(_) => Ok(S3Response::new(CreateBucketOutput {
                location: Some(format!("/{name}")),
            })),
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

    pub(super) async fn do_list_buckets(
        &self,
        req: S3Request<ListBucketsInput>,
    ) -> S3Result<S3Response<ListBucketsOutput>> {
        let user_id = caller(&req)?.user_id;
        let rows = db::buckets::list_owned(&self.state.db, user_id)
            .await
            .map_err(super::error::db)?;
        let buckets = rows
            .into_iter()
            .map(|b| Bucket {
                name: Some(b.name),
                creation_date: Some(b.created_at.into()),
                bucket_region: Some(b.region),
            })
            .collect();
        Ok(S3Response::new(ListBucketsOutput {
            buckets: Some(buckets),
            owner: Some(Owner {
                id: Some(user_id.to_string()),
                display_name: None,
            }),
            ..Default::default()
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

    pub(super) async fn do_get_bucket_versioning(
        &self,
        req: S3Request<GetBucketVersioningInput>,
    ) -> S3Result<S3Response<GetBucketVersioningOutput>> {
        owned_bucket(&req)?;
        // Versioning has never been enabled: S3 then answers with no Status at all.
        Ok(S3Response::new(GetBucketVersioningOutput::default()))
    }
}
