//! PutBucketLifecycleConfiguration, GetBucketLifecycleConfiguration, DeleteBucketLifecycle:
//! S3's rule documents read into the core's rules (`objects::lifecycle`) and back.
//! Transitions between storage classes are `NotImplemented` (GoDrive has one class).

use std::collections::BTreeMap;

use s3s::dto::*;
use s3s::{S3Request, S3Response, S3Result, s3_error};
use time::OffsetDateTime;

use super::{GoDriveS3, error, owned_bucket};
use crate::db;
use crate::objects::lifecycle::{self, LifecycleError, Rule};

fn malformed() -> s3s::S3Error {
    s3_error!(
        MalformedXML,
        "The XML you provided was not well-formed or did not validate against our published schema"
    )
}

/// What a rule's filter selects: (prefix, tags, larger than, smaller than).
type Selection = (String, BTreeMap<String, String>, Option<i64>, Option<i64>);

fn tags_of(tags: Vec<Tag>) -> S3Result<BTreeMap<String, String>> {
    tags.into_iter()
        .map(|t| Ok((t.key.ok_or_else(malformed)?, t.value.unwrap_or_default())))
        .collect()
}

/// A filter names one condition, or several inside `And` (as S3 requires).
fn selection(rule_prefix: Option<String>, filter: Option<LifecycleRuleFilter>) -> S3Result<Selection> {
    let Some(f) = filter else {
        return Ok((rule_prefix.unwrap_or_default(), BTreeMap::new(), None, None));
    };
    if rule_prefix.is_some() {
        return Err(malformed());
    }
    let conditions = [
        f.prefix.is_some(),
        f.tag.is_some(),
        f.object_size_greater_than.is_some(),
        f.object_size_less_than.is_some(),
        f.and.is_some(),
    ];
    if conditions.iter().filter(|c| **c).count() > 1 {
        return Err(malformed());
    }
    if let Some(and) = f.and {
        let tags = tags_of(and.tags.unwrap_or_default())?;
        return Ok((
            and.prefix.unwrap_or_default(),
            tags,
            and.object_size_greater_than,
            and.object_size_less_than,
        ));
    }
    let tags = tags_of(f.tag.into_iter().collect())?;
    Ok((
        f.prefix.unwrap_or_default(),
        tags,
        f.object_size_greater_than,
        f.object_size_less_than,
    ))
}

fn rule_of(r: LifecycleRule) -> S3Result<Rule> {
    if r.transitions.as_ref().is_some_and(|t| !t.is_empty())
        || r.noncurrent_version_transitions.as_ref().is_some_and(|t| !t.is_empty())
    {
        return Err(s3_error!(
            NotImplemented,
            "Transitions are not supported: GoDrive has one storage class."
        ));
    }
    let enabled = match r.status.as_str() {
        ExpirationStatus::ENABLED => true,
        ExpirationStatus::DISABLED => false,
        _ => return Err(malformed()),
    };
    let (prefix, tags, size_greater_than, size_less_than) = selection(r.prefix, r.filter)?;
    let expiration = r.expiration.unwrap_or_default();
    let noncurrent = r.noncurrent_version_expiration.unwrap_or_default();
    Ok(Rule {
        id: r
            .id
            .filter(|i| !i.is_empty())
            .unwrap_or_else(|| uuid::Uuid::new_v4().simple().to_string()),
        enabled,
        prefix,
        tags,
        size_greater_than,
        size_less_than,
        expiration_days: expiration.days,
        expiration_date: expiration.date.map(OffsetDateTime::from),
        expired_object_delete_marker: expiration.expired_object_delete_marker.unwrap_or(false),
        noncurrent_days: noncurrent.noncurrent_days,
        newer_noncurrent_versions: noncurrent.newer_noncurrent_versions,
        abort_incomplete_after_days: r
            .abort_incomplete_multipart_upload
            .and_then(|a| a.days_after_initiation),
    })
}

fn filter_of(r: &Rule) -> LifecycleRuleFilter {
    let tags: Vec<Tag> = r
        .tags
        .iter()
        .map(|(k, v)| Tag {
            key: Some(k.clone()),
            value: Some(v.clone()),
        })
        .collect();
    let several = usize::from(!r.prefix.is_empty())
        + tags.len()
        + usize::from(r.size_greater_than.is_some())
        + usize::from(r.size_less_than.is_some());
    if several > 1 {
        return LifecycleRuleFilter {
            and: Some(LifecycleRuleAndOperator {
                prefix: Some(r.prefix.clone()).filter(|p| !p.is_empty()),
                tags: Some(tags).filter(|t| !t.is_empty()),
                object_size_greater_than: r.size_greater_than,
                object_size_less_than: r.size_less_than,
            }),
            ..Default::default()
        };
    }
    LifecycleRuleFilter {
        prefix: (several == 0 || !r.prefix.is_empty()).then(|| r.prefix.clone()),
        tag: tags.into_iter().next(),
        object_size_greater_than: r.size_greater_than,
        object_size_less_than: r.size_less_than,
        ..Default::default()
    }
}

fn document_of(r: &Rule) -> LifecycleRule {
    let expiration = (r.expiration_days.is_some() || r.expiration_date.is_some() || r.expired_object_delete_marker)
        .then(|| LifecycleExpiration {
            days: r.expiration_days,
            date: r.expiration_date.map(Timestamp::from),
            expired_object_delete_marker: r.expired_object_delete_marker.then_some(true),
        });
    LifecycleRule {
        id: Some(r.id.clone()),
        status: ExpirationStatus::from_static(if r.enabled {
            ExpirationStatus::ENABLED
        } else {
            ExpirationStatus::DISABLED
        }),
        filter: Some(filter_of(r)),
        expiration,
        noncurrent_version_expiration: r.noncurrent_days.map(|days| NoncurrentVersionExpiration {
            noncurrent_days: Some(days),
            newer_noncurrent_versions: r.newer_noncurrent_versions,
        }),
        abort_incomplete_multipart_upload: r.abort_incomplete_after_days.map(|d| AbortIncompleteMultipartUpload {
            days_after_initiation: Some(d),
        }),
        noncurrent_version_transitions: None,
        prefix: None,
        transitions: None,
    }
}

impl GoDriveS3 {
    pub(super) async fn do_put_bucket_lifecycle_configuration(
        &self,
        req: S3Request<PutBucketLifecycleConfigurationInput>,
    ) -> S3Result<S3Response<PutBucketLifecycleConfigurationOutput>> {
        let bucket_id = owned_bucket(&req)?;
        let config = req.input.lifecycle_configuration.ok_or_else(malformed)?;
        let rules: Vec<Rule> = config.rules.into_iter().map(rule_of).collect::<S3Result<_>>()?;
        lifecycle::validate(&rules).map_err(|e| match e {
            LifecycleError::Malformed(_) => malformed(),
            LifecycleError::Invalid(m) => s3s::S3Error::with_message(s3s::S3ErrorCode::InvalidArgument, m),
        })?;
        db::lifecycle::set(&self.state.db, bucket_id, Some(&rules))
            .await
            .map_err(error::db)?;
        Ok(S3Response::new(PutBucketLifecycleConfigurationOutput::default()))
    }

    pub(super) async fn do_get_bucket_lifecycle_configuration(
        &self,
        req: S3Request<GetBucketLifecycleConfigurationInput>,
    ) -> S3Result<S3Response<GetBucketLifecycleConfigurationOutput>> {
        let bucket_id = owned_bucket(&req)?;
        let rules = db::lifecycle::get::<Rule>(&self.state.db, bucket_id)
            .await
            .map_err(error::db)?
            .ok_or_else(|| {
                s3_error!(
                    NoSuchLifecycleConfiguration,
                    "The lifecycle configuration does not exist"
                )
            })?;
        Ok(S3Response::new(GetBucketLifecycleConfigurationOutput {
            rules: Some(rules.iter().map(document_of).collect()),
            ..Default::default()
        }))
    }

    pub(super) async fn do_delete_bucket_lifecycle(
        &self,
        req: S3Request<DeleteBucketLifecycleInput>,
    ) -> S3Result<S3Response<DeleteBucketLifecycleOutput>> {
        let bucket_id = owned_bucket(&req)?;
        db::lifecycle::set::<Rule>(&self.state.db, bucket_id, None)
            .await
            .map_err(error::db)?;
        Ok(S3Response::new(DeleteBucketLifecycleOutput::default()))
    }
}
