//! ACLs: every bucket and object belongs to its owner, who has FULL_CONTROL, and may be
//! made public with a canned ACL (`public-read`, `public-read-write`, `authenticated-read`,
//! set by `x-amz-acl` or by the grants that spell it) when `GODRIVE_ALLOW_PUBLIC_BUCKETS`
//! is on (else `AccessDenied`, like S3's Block Public Access). Reading an ACL says what is
//! stored; any other grant is `NotImplemented`. `s3::public` serves what they allow.

use s3s::dto::*;
use s3s::{S3Request, S3Response, S3Result, s3_error};
use uuid::Uuid;

use super::{GoDriveS3, caller, error, owned_bucket};
use crate::app::AppState;
use crate::db;

/// The canned ACLs that make something public, which GoDrive stores and serves.
pub const PUBLIC: [&str; 3] = ["public-read", "public-read-write", "authenticated-read"];

/// The group grantees of S3's canned ACLs.
const ALL_USERS: &str = "http://acs.amazonaws.com/groups/global/AllUsers";
const AUTHENTICATED_USERS: &str = "http://acs.amazonaws.com/groups/global/AuthenticatedUsers";

/// Refuses to make anything public unless the operator allows it.
pub fn check_public_allowed(state: &AppState) -> S3Result<()> {
    if state.config.allow_public_buckets {
        return Ok(());
    }
    Err(s3_error!(
        AccessDenied,
        "Public access is blocked on this server (GODRIVE_ALLOW_PUBLIC_BUCKETS)."
    ))
}

/// The canned ACL to store for a request's `x-amz-acl` (`None`: private): a public one needs
/// `GODRIVE_ALLOW_PUBLIC_BUCKETS`; the other canned ACLs S3 defines are `NotImplemented`;
/// a name S3 does not know is `InvalidArgument`.
pub fn canned(state: &AppState, acl: Option<&str>) -> S3Result<Option<&'static str>> {
    match acl {
        None => Ok(None),
        Some(a) if is_private(a) => Ok(None),
        Some(a) => match PUBLIC.iter().find(|p| **p == a) {
            Some(p) => {
                check_public_allowed(state)?;
                Ok(Some(*p))
            }
            None => check_canned(Some(a)).map(|()| None),
        },
    }
}

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

/// Refuses `x-amz-grant-*` headers on an upload or a new bucket (`NotImplemented`): GoDrive
/// grants others access only through canned ACLs and bucket policies, and would rather say
/// so than store an object the client believes shared.
pub fn refuse_grants(grants: &[Option<&String>]) -> S3Result<()> {
    if grants.iter().any(Option::is_some) {
        return Err(s3_error!(
            NotImplemented,
            "Grant headers are not supported; use a canned ACL (x-amz-acl) or a bucket policy."
        ));
    }
    Ok(())
}

/// The canned ACL an upload stores ([`canned`]), its grant headers refused
/// ([`refuse_grants`]): PutObject and CopyObject.
pub fn of_upload(
    state: &AppState,
    acl: Option<&ObjectCannedACL>,
    grants: [Option<&String>; 4],
) -> S3Result<Option<&'static str>> {
    refuse_grants(&grants)?;
    canned(state, acl.map(|a| a.as_str()))
}

/// Grantee types and permissions S3 defines.
const GRANTEE_TYPES: [&str; 3] = ["CanonicalUser", "AmazonCustomerByEmail", "Group"];
const PERMISSIONS: [&str; 5] = ["FULL_CONTROL", "WRITE", "WRITE_ACP", "READ", "READ_ACP"];

/// The owner's FULL_CONTROL, and the group grants canned ACL `acl` adds.
fn grants_of(user_id: Uuid, acl: Option<&str>) -> (Owner, Vec<Grant>) {
    let owner = Owner {
        id: Some(user_id.to_string()),
        display_name: None,
    };
    let mut grants = vec![Grant {
        grantee: Some(Grantee {
            type_: Type::from_static(Type::CANONICAL_USER),
            id: Some(user_id.to_string()),
            display_name: None,
            email_address: None,
            uri: None,
        }),
        permission: Some(Permission::from_static(Permission::FULL_CONTROL)),
    }];
    let group = |uri: &str, permission: &'static str| Grant {
        grantee: Some(Grantee {
            type_: Type::from_static(Type::GROUP),
            id: None,
            display_name: None,
            email_address: None,
            uri: Some(uri.to_owned()),
        }),
        permission: Some(Permission::from_static(permission)),
    };
    match acl {
        Some("public-read") => grants.push(group(ALL_USERS, Permission::READ)),
        Some("public-read-write") => {
            grants.push(group(ALL_USERS, Permission::READ));
            grants.push(group(ALL_USERS, Permission::WRITE));
        }
        Some("authenticated-read") => grants.push(group(AUTHENTICATED_USERS, Permission::READ)),
        _ => {}
    }
    (owner, grants)
}

/// The canned ACL that an AccessControlPolicy's grants spell (the owner's FULL_CONTROL
/// aside), if any does.
fn canned_of_grants(policy: &AccessControlPolicy) -> Option<&'static str> {
    let mut groups: Vec<(&str, &str)> = Vec::new();
    for g in policy.grants.iter().flatten() {
        let (Some(grantee), Some(permission)) = (&g.grantee, &g.permission) else {
            return None;
        };
        match grantee.type_.as_str() {
            Type::CANONICAL_USER if permission.as_str() == Permission::FULL_CONTROL => {}
            Type::GROUP => groups.push((grantee.uri.as_deref()?, permission.as_str())),
            _ => return None,
        }
    }
    groups.sort_unstable();
    match groups.as_slice() {
        [] => Some("private"),
        [(ALL_USERS, "READ")] => Some("public-read"),
        [(ALL_USERS, "READ"), (ALL_USERS, "WRITE")] => Some("public-read-write"),
        [(AUTHENTICATED_USERS, "READ")] => Some("authenticated-read"),
        _ => None,
    }
}

/// The canned ACL a PutBucketAcl or PutObjectAcl sets (`None`: private), from `x-amz-acl`
/// or from grants that spell one; any other grant is `NotImplemented`, one S3 could not read
/// `MalformedACLError`.
fn acl_to_set(
    state: &AppState,
    acl: Option<&str>,
    policy: Option<&AccessControlPolicy>,
    grants: &[Option<&String>],
) -> S3Result<Option<&'static str>> {
    // A grant S3 could not read is malformed (400), before asking what it grants.
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
    if grants.iter().any(Option::is_some) {
        return Err(s3_error!(
            NotImplemented,
            "Grant headers are not supported; use a canned ACL."
        ));
    }
    match (acl, policy) {
        (Some(a), _) => canned(state, Some(a)),
        (None, Some(p)) => {
            let spelled = canned_of_grants(p).ok_or_else(|| {
                s3_error!(
                    NotImplemented,
                    "Only the grants of the canned ACLs private, public-read, public-read-write and authenticated-read are supported."
                )
            })?;
            canned(state, Some(spelled))
        }
        (None, None) => Ok(None),
    }
}

impl GoDriveS3 {
    pub(super) async fn do_get_bucket_acl(
        &self,
        req: S3Request<GetBucketAclInput>,
    ) -> S3Result<S3Response<GetBucketAclOutput>> {
        let bucket_id = owned_bucket(&req)?;
        let (acl, _) = db::buckets::acl_and_policy(&self.state.db, bucket_id)
            .await
            .map_err(error::db)?;
        let (owner, grants) = grants_of(caller(&req)?.user_id, Some(&acl));
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
        let i = &req.input;
        let obj = self.object_version(bucket_id, &i.key, i.version_id.as_deref()).await?;
        let (owner, grants) = grants_of(caller(&req)?.user_id, obj.acl.as_deref());
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
        let bucket_id = owned_bucket(&req)?;
        let i = &req.input;
        let acl = acl_to_set(
            &self.state,
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
        db::buckets::set_acl(&self.state.db, bucket_id, acl.unwrap_or("private"))
            .await
            .map_err(error::db)?;
        Ok(S3Response::new(PutBucketAclOutput::default()))
    }

    pub(super) async fn do_put_object_acl(
        &self,
        req: S3Request<PutObjectAclInput>,
    ) -> S3Result<S3Response<PutObjectAclOutput>> {
        let bucket_id = owned_bucket(&req)?;
        let i = &req.input;
        let acl = acl_to_set(
            &self.state,
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
        let mut conn = self.state.db.acquire().await.map_err(|e| error::db(e.into()))?;
        let version = i.version_id.as_deref();
        super::versioning::check_version_id(version)?;
        let found = db::versions::set_acl(&mut conn, bucket_id, &i.key, version, acl)
            .await
            .map_err(error::db)?;
        match (found, version) {
            (true, _) => Ok(S3Response::new(PutObjectAclOutput::default())),
            (false, Some(_)) => Err(s3_error!(NoSuchVersion, "The specified version does not exist.")),
            (false, None) => Err(s3_error!(NoSuchKey, "The specified key does not exist.")),
        }
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
    fn grants_spell_canned_acls_or_are_unsupported() {
        let policy = |grants: &[(&str, Option<&str>, &str)]| AccessControlPolicy {
            grants: Some(
                grants
                    .iter()
                    .map(|(type_, uri, permission)| Grant {
                        grantee: Some(Grantee {
                            type_: Type::from((*type_).to_owned()),
                            id: Some("someone".into()),
                            display_name: None,
                            email_address: None,
                            uri: uri.map(str::to_owned),
                        }),
                        permission: Some(Permission::from((*permission).to_owned())),
                    })
                    .collect(),
            ),
            owner: None,
        };
        let owner = ("CanonicalUser", None, "FULL_CONTROL");
        assert_eq!(canned_of_grants(&policy(&[owner])), Some("private"));
        assert_eq!(
            canned_of_grants(&policy(&[owner, ("Group", Some(ALL_USERS), "READ")])),
            Some("public-read")
        );
        assert_eq!(
            canned_of_grants(&policy(&[
                ("Group", Some(ALL_USERS), "WRITE"),
                owner,
                ("Group", Some(ALL_USERS), "READ")
            ])),
            Some("public-read-write")
        );
        assert_eq!(
            canned_of_grants(&policy(&[("Group", Some(AUTHENTICATED_USERS), "READ")])),
            Some("authenticated-read")
        );
        assert_eq!(canned_of_grants(&policy(&[("CanonicalUser", None, "READ")])), None);
        assert_eq!(
            canned_of_grants(&policy(&[("Group", Some(ALL_USERS), "FULL_CONTROL")])),
            None
        );
    }
}
