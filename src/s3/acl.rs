//! ACLs, answered honestly: every bucket and object is private to its owner, who has
//! FULL_CONTROL. Reading an ACL says so; setting `private` (what it already is) is accepted;
//! anything that would grant access to others is `NotImplemented`.

use s3s::dto::*;
use s3s::{S3Request, S3Response, S3Result, s3_error};
use uuid::Uuid;

use super::{GoDriveS3, caller, error, owned_bucket};
use crate::db;

/// Canned ACLs that describe what GoDrive already enforces.
fn is_private(acl: &str) -> bool {
    acl == ObjectCannedACL::PRIVATE || acl == ObjectCannedACL::BUCKET_OWNER_FULL_CONTROL
}

/// Every canned ACL S3 defines.
const CANNED: [&str; 8] = [
    "private",
    "public-read",
    "public-read-write",
    "authenticated-read",
    "aws-exec-read",
    "bucket-owner-read",
    "bucket-owner-full-control",
    "log-delivery-write",
];

/// Refuses a canned ACL GoDrive cannot honour (on PutObject, CopyObject, CreateBucket, ...):
/// one that would grant access to others is `NotImplemented` (501), a name S3 does not
/// know is `InvalidArgument` (400).
pub fn check_canned(acl: Option<&str>) -> S3Result<()> {
    match acl {
        None => Ok(()),
        Some(a) if is_private(a) => Ok(()),
        Some(a) if CANNED.contains(&a) => Err(s3_error!(
            NotImplemented,
            "Only the private ACL is supported: objects are reachable by their owner and by presigned URLs."
        )),
        Some(_) => Err(s3_error!(InvalidArgument, "The canned ACL is not valid.")),
    }
}

/// Grantee types and permissions S3 defines.
const GRANTEE_TYPES: [&str; 3] = ["CanonicalUser", "AmazonCustomerByEmail", "Group"];
const PERMISSIONS: [&str; 5] = ["FULL_CONTROL", "WRITE", "WRITE_ACP", "READ", "READ_ACP"];

fn owner_full_control(user_id: Uuid) -> (Owner, Vec<Grant>) {
    let owner = Owner {
        id: Some(user_id.to_string()),
        display_name: None,
    };
    let grant = Grant {
        grantee: Some(Grantee {
            type_: Type::from_static(Type::CANONICAL_USER),
            id: Some(user_id.to_string()),
            display_name: None,
            email_address: None,
            uri: None,
        }),
        permission: Some(Permission::from_static(Permission::FULL_CONTROL)),
    };
    (owner, vec![grant])
}

/// Setting an ACL is accepted only when it changes nothing: canned `private`, or no grants.
fn check_put(acl: Option<&str>, policy: Option<&AccessControlPolicy>, grants: &[Option<&String>]) -> S3Result<()> {
    check_canned(acl)?;
    // A grant S3 could not read is malformed (400), before asking whether it grants others.
    let malformed = policy.and_then(|p| p.grants.as_ref()).is_some_and(|g| {
        g.iter().any(|g| {
            g.grantee
                .as_ref()
                .is_some_and(|gr| !GRANTEE_TYPES.contains(&gr.type_.as_str()))
                || g.permission
                    .as_ref()
                    .is_some_and(|p| !PERMISSIONS.contains(&p.as_str()))
        })
    });
    if malformed {
        return Err(s3_error!(
            MalformedACLError,
            "The XML you provided was not well-formed or did not validate against our published schema."
        ));
    }
    let grants_others = grants.iter().any(Option::is_some)
        || policy.is_some_and(|p| {
            p.grants.as_ref().is_some_and(|g| {
                g.iter().any(|g| {
                    g.grantee
                        .as_ref()
                        .is_none_or(|gr| gr.type_.as_str() != Type::CANONICAL_USER)
                        || g.permission
                            .as_ref()
                            .is_none_or(|p| p.as_str() != Permission::FULL_CONTROL)
                })
            })
        });
    if grants_others {
        return Err(s3_error!(
            NotImplemented,
            "Grants to others are not supported; objects stay private."
        ));
    }
    Ok(())
}

impl GoDriveS3 {
    pub(super) async fn do_get_bucket_acl(
        &self,
        req: S3Request<GetBucketAclInput>,
    ) -> S3Result<S3Response<GetBucketAclOutput>> {
        owned_bucket(&req)?;
        let (owner, grants) = owner_full_control(caller(&req)?.user_id);
        Ok(S3Response::new(GetBucketAclOutput {
            owner: Some(owner),
            grants: Some(grants),
        }))
    }

    pub(super) async fn do_get_object_acl(
        &self,
        req: S3Request<GetObjectAclInput>,
    ) -> S3Result<S3Response<GetObjectAclOutput>> {
        let bucket_id = owned_bucket(&req)?;
        db::objects::get(&self.state.db, bucket_id, &req.input.key)
            .await
            .map_err(error::db)?
            .ok_or_else(|| s3_error!(NoSuchKey, "The specified key does not exist."))?;
        let (owner, grants) = owner_full_control(caller(&req)?.user_id);
        Ok(S3Response::new(GetObjectAclOutput {
            owner: Some(owner),
            grants: Some(grants),
            ..Default::default()
        }))
    }

    pub(super) async fn do_put_bucket_acl(
        &self,
        req: S3Request<PutBucketAclInput>,
    ) -> S3Result<S3Response<PutBucketAclOutput>> {
        owned_bucket(&req)?;
        let i = &req.input;
        check_put(
            i.acl.as_ref().map(|a| a.as_str()),
            i.access_control_policy.as_ref(),
            &[
                i.grant_full_control.as_ref(),
                i.grant_read.as_ref(),
                i.grant_read_acp.as_ref(),
                i.grant_write.as_ref(),
                i.grant_write_acp.as_ref(),
            ],
        )?;
        Ok(S3Response::new(PutBucketAclOutput::default()))
    }

    pub(super) async fn do_put_object_acl(
        &self,
        req: S3Request<PutObjectAclInput>,
    ) -> S3Result<S3Response<PutObjectAclOutput>> {
        let bucket_id = owned_bucket(&req)?;
        let i = &req.input;
        check_put(
            i.acl.as_ref().map(|a| a.as_str()),
            i.access_control_policy.as_ref(),
            &[
                i.grant_full_control.as_ref(),
                i.grant_read.as_ref(),
                i.grant_read_acp.as_ref(),
                i.grant_write.as_ref(),
                i.grant_write_acp.as_ref(),
            ],
        )?;
        db::objects::get(&self.state.db, bucket_id, &i.key)
            .await
            .map_err(error::db)?
            .ok_or_else(|| s3_error!(NoSuchKey, "The specified key does not exist."))?;
        Ok(S3Response::new(PutObjectAclOutput::default()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code(r: S3Result<()>) -> String {
        r.map_or_else(|e| e.code().as_str().to_owned(), |()| "ok".to_owned())
    }

    #[test]
    fn canned_acls_are_private_unsupported_or_unknown() {
        assert_eq!(code(check_canned(None)), "ok");
        assert_eq!(code(check_canned(Some("private"))), "ok");
        assert_eq!(code(check_canned(Some("bucket-owner-full-control"))), "ok");
        assert_eq!(code(check_canned(Some("public-read"))), "NotImplemented");
        for unknown in ["garbage", "", "PRIVATE", "private\0"] {
            assert_eq!(code(check_canned(Some(unknown))), "InvalidArgument", "{unknown:?}");
        }
    }

    #[test]
    fn grants_are_malformed_unsupported_or_the_owners() {
        let grant = |type_: &str, permission: &str| AccessControlPolicy {
            grants: Some(vec![Grant {
                grantee: Some(Grantee {
                    type_: Type::from(type_.to_owned()),
                    id: Some("someone".into()),
                    display_name: None,
                    email_address: None,
                    uri: None,
                }),
                permission: Some(Permission::from(permission.to_owned())),
            }]),
            owner: None,
        };
        let put = |p: &AccessControlPolicy| code(check_put(None, Some(p), &[]));
        assert_eq!(put(&grant("CanonicalUser", "FULL_CONTROL")), "ok");
        assert_eq!(put(&grant("Group", "READ")), "NotImplemented");
        assert_eq!(put(&grant("UNKNOWN", "READ")), "MalformedACLError");
        assert_eq!(put(&grant("CanonicalUser", "\0")), "MalformedACLError");
    }
}
