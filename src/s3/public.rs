//! Requests on a bucket by anyone but its owner: anonymous ones, and those signed by
//! another user. They are served only where the bucket's canned ACL, its policy or the
//! object's own ACL allows (`s3::acl`, `s3::policy`), and only while
//! `GODRIVE_ALLOW_PUBLIC_BUCKETS` is on. Allowed requests act on the owner's bucket, are
//! charged to the owner (quotas, request counts) and logged like any other; anything else
//! is `AccessDenied`, whether the bucket or the key exists or not.
//!
//! What each grant allows, as in S3: a bucket's READ (`public-read`, `public-read-write`;
//! `authenticated-read` for signed requests) lists it; its WRITE (`public-read-write`)
//! writes and deletes objects; an object's READ reads that object; a policy's
//! `s3:GetObject` reads objects under its prefixes and `s3:ListBucket` lists the bucket.
//! None of them reaches a version by id (S3's separate `s3:GetObjectVersion` and
//! `s3:DeleteObjectVersion`, which GoDrive grants to nobody but the owner): on a versioned
//! bucket, what others write or delete can always be undone by the owner.

use s3s::S3Result;
use s3s::access::S3AccessContext;
use s3s::path::S3Path;
use s3s::s3_error;

use super::auth::Caller;
use crate::app::AppState;
use crate::db;
use crate::obs::context::RequestContext;

/// Who is asking.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Who {
    /// An unsigned request.
    Anonymous,
    /// A request signed by a user who does not own the bucket.
    OtherUser,
}

/// What an operation needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Need {
    ReadObject,
    List,
    Write,
}

fn need(op: &str) -> Option<Need> {
    match op {
        "GetObject" | "HeadObject" => Some(Need::ReadObject),
        "ListObjects" | "ListObjectsV2" | "HeadBucket" => Some(Need::List),
        "PutObject" | "DeleteObject" => Some(Need::Write),
        _ => None,
    }
}

/// Whether a canned ACL grants `who` reading (`write`: writing).
fn acl_grants(acl: &str, who: Who, write: bool) -> bool {
    match (acl, write) {
        ("public-read-write", _) => true,
        ("public-read", false) => true,
        ("authenticated-read", false) => who == Who::OtherUser,
        _ => false,
    }
}

/// Whether a query string names a version (`versionId`, however cased or encoded).
fn names_a_version(query: Option<&str>) -> bool {
    query.is_some_and(|q| {
        q.split('&').any(|pair| {
            let name = pair.split('=').next().unwrap_or_default();
            percent_encoding::percent_decode_str(name)
                .decode_utf8_lossy()
                .eq_ignore_ascii_case("versionid")
        })
    })
}

/// Authorizes a request on a bucket the requester does not own, or refuses it.
pub async fn authorize(state: &AppState, cx: &mut S3AccessContext<'_>, who: Who) -> S3Result<()> {
    let denied = || match who {
        Who::Anonymous => s3_error!(AccessDenied, "Anonymous access is forbidden; sign the request."),
        Who::OtherUser => s3_error!(AccessDenied, "Access Denied"),
    };
    if !state.config.allow_public_buckets {
        return Err(denied());
    }
    let (bucket, key) = match cx.s3_path() {
        S3Path::Root => return Err(denied()),
        S3Path::Bucket { bucket } => (bucket.to_string(), None),
        S3Path::Object { bucket, key } => (bucket.to_string(), Some(key.to_string())),
    };
    let Some(need) = need(cx.s3_op().name()) else {
        return Err(denied());
    };
    if names_a_version(cx.uri().query()) {
        return Err(denied());
    }
    super::input::check(cx)?;
    let Some(access) = db::buckets::access(&state.db, &bucket)
        .await
        .map_err(super::error::db)?
    else {
        return Err(denied());
    };
    let grants = access
        .policy
        .as_deref()
        .and_then(|p| super::policy::parse(&bucket, p).ok())
        .unwrap_or_default();
    let allowed = match (need, key.as_deref()) {
        (Need::List, _) => acl_grants(&access.acl, who, false) || grants.list,
        (Need::Write, Some(_)) => acl_grants(&access.acl, who, true),
        (Need::ReadObject, Some(k)) if grants.allows_read(k) => true,
        (Need::ReadObject, Some(k)) => db::objects::acl_of(&state.db, access.id, k)
            .await
            .map_err(super::error::db)?
            .flatten()
            .is_some_and(|acl| acl_grants(&acl, who, false)),
        (_, None) => false,
    };
    if !allowed {
        return Err(denied());
    }
    if let Some(context) = cx.extensions_mut().get::<RequestContext>() {
        context.set_user(access.owner_id);
    }
    state.requests.count(access.owner_id, cx.s3_op().name());
    cx.extensions_mut().insert(Caller {
        user_id: access.owner_id,
        bucket_id: Some(access.id),
        limited: access.limited,
    });
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canned_acls_grant_as_in_s3() {
        for who in [Who::Anonymous, Who::OtherUser] {
            assert!(acl_grants("public-read", who, false));
            assert!(!acl_grants("public-read", who, true));
            assert!(acl_grants("public-read-write", who, true));
            assert!(!acl_grants("private", who, false));
        }
        assert!(acl_grants("authenticated-read", Who::OtherUser, false));
        assert!(!acl_grants("authenticated-read", Who::Anonymous, false));
        assert!(!acl_grants("authenticated-read", Who::OtherUser, true));
        assert_eq!(need("GetObject"), Some(Need::ReadObject));
        assert_eq!(need("ListObjectsV2"), Some(Need::List));
        assert_eq!(need("DeleteObjects"), None);
        assert_eq!(need("PutBucketPolicy"), None);
    }

    #[test]
    fn a_version_named_in_the_query_is_seen() {
        assert!(names_a_version(Some("versionId=abc")));
        assert!(names_a_version(Some("x-id=GetObject&versionId=null")));
        assert!(names_a_version(Some("%76ersionId=1")));
        assert!(!names_a_version(Some("prefix=versionId")));
        assert!(!names_a_version(None));
    }
}
