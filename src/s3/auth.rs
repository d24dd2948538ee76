//! Authentication (secret lookup for SigV4/SigV2) and authorization (bucket ownership) of
//! every S3 request.

use s3s::access::{S3Access, S3AccessContext};
use s3s::auth::{S3Auth, SecretKey};
use s3s::path::S3Path;
use s3s::{S3Result, s3_error};
use uuid::Uuid;

use super::error::internal;
use super::public::Who;
use crate::app::AppState;
use crate::db;
use crate::obs::context::RequestContext;

/// Who is calling and which of their buckets the request names. Put into the request's
/// extensions by [`Authz`]; handlers read it instead of querying again.
#[derive(Debug, Clone)]
pub struct Caller {
    /// The authenticated user.
    pub user_id: Uuid,
    /// The named bucket, present only if it exists and the caller owns it.
    pub bucket_id: Option<Uuid>,
    /// Whether the user has a quota or that bucket a limit (see `db::access_keys::Caller`).
    pub limited: bool,
}

/// Looks up secrets (through the authorization cache) and opens them with the master key.
pub struct Authn {
    pub(crate) state: AppState,
}

#[async_trait::async_trait]
impl S3Auth for Authn {
    async fn get_secret_key(&self, access_key: &str) -> S3Result<SecretKey> {
        let unknown = || {
            s3_error!(
                InvalidAccessKeyId,
                "The AWS Access Key Id you provided does not exist in our records."
            )
        };
        // A presigned URL's credential is percent-decoded: it may hold a NUL, which no stored
        // key holds (and PostgreSQL could not even be asked about).
        if crate::text::has_control(access_key) {
            return Err(unknown());
        }
        // An unreachable database is 503 ServiceUnavailable, like everywhere else.
        let key = self
            .state
            .auth_cache
            .key(&self.state.db, access_key)
            .await
            .map_err(super::error::db)?
            .ok_or_else(unknown)?;
        let secret = self
            .state
            .secrets
            .open(&key.secret_sealed, access_key.as_bytes())
            .map_err(internal)?;
        let secret = std::str::from_utf8(&secret).map_err(internal)?;
        Ok(SecretKey::from(secret))
    }
}

/// Allows a request only on buckets the caller owns. Runs after the signature check.
pub struct Authz {
    pub(crate) state: AppState,
}

#[async_trait::async_trait]
impl S3Access for Authz {
    async fn check(&self, cx: &mut S3AccessContext<'_>) -> S3Result<()> {
        let name = cx.s3_op().name().to_owned();
        if let Some(context) = cx.extensions_mut().get::<RequestContext>() {
            context.set_operation(name);
        }
        let Some(creds) = cx.credentials() else {
            // Served only where a public ACL or policy allows (`s3::public`).
            return super::public::authorize(&self.state, cx, Who::Anonymous).await;
        };
        // Before any query: what no operation can serve (control characters, XML bodies
        // over the cap) is refused here, for every operation at once.
        super::input::check(cx)?;
        let bucket = match cx.s3_path() {
            S3Path::Root => None,
            S3Path::Bucket { bucket } | S3Path::Object { bucket, .. } => Some(bucket.to_string()),
        };
        let access_key = creds.access_key.clone();
        // Reads and writes of objects, the hot paths, are authorized from the cache (a change
        // reaches it within milliseconds; at once when made through GoDrive, which answers
        // only once every instance dropped the entry). A PUT authorized from the cache is no
        // looser than one authorized a moment earlier from PostgreSQL: its commit checks
        // the limits of then, and cannot land in a bucket deleted meanwhile. Anything else
        // asks PostgreSQL.
        let cached = matches!(cx.s3_op().name(), "GetObject" | "HeadObject" | "PutObject");
        let (db, cache) = (&self.state.db, &self.state.auth_cache);
        let caller = match cached {
            true => cache.caller(db, &access_key, bucket.as_deref()).await,
            false => db::access_keys::caller(db, &access_key, bucket.as_deref()).await,
        };
        let caller = caller
            .map_err(super::error::db)?
            // The key was valid a moment ago for the signature check: deleted or disabled since.
            .ok_or_else(|| s3_error!(InvalidAccessKeyId))?;
        if let Some(context) = cx.extensions_mut().get::<RequestContext>() {
            context.set_user(caller.user_id);
        }
        // After the signature check: a forged request cannot spend someone else's rate.
        if !self.state.key_rate.allow(&access_key) {
            return Err(s3s::S3Error::with_message(
                s3s::S3ErrorCode::SlowDown,
                "Please reduce your request rate.",
            ));
        }
        // The signature has been verified.
        crate::obs::metrics::auth("s3", "success", None);
        if let Some(p) = crate::presign::Presigned::from_query(cx.uri().query()) {
            let key = match cx.s3_path() {
                S3Path::Object { key, .. } => Some(key.to_string()),
                _ => None,
            };
            let target = (cx.method(), bucket.as_deref(), key.as_deref());
            check_presigned(&self.state, &p, target, cached).await?;
        }
        let creating = cx.s3_op().name() == "CreateBucket";
        let bucket_id = match (bucket, caller.bucket_id, caller.bucket_owner_id) {
            (None, _, _) => None,
            (Some(_), Some(id), Some(owner)) if owner == caller.user_id => Some(id),
            // CreateBucket on a taken name is answered by the handler (AlreadyExists / OwnedByYou).
            (Some(_), Some(_), Some(_)) if creating => None,
            // Another user's bucket: only what its ACL or policy allows everyone. The key was
            // used either way.
            (Some(_), Some(_), _) => {
                self.state.requests.key_used(&access_key);
                return super::public::authorize(&self.state, cx, Who::OtherUser).await;
            }
            (Some(_), None, _) if creating => None,
            (Some(_), None, _) => {
                return Err(s3_error!(NoSuchBucket, "The specified bucket does not exist"));
            }
        };
        // The signature has been verified: the key's use and the request are recorded with
        // the next batch, not on the request path.
        self.state.requests.key_used(&access_key);
        self.state.requests.count(caller.user_id, cx.s3_op().name());
        cx.extensions_mut().insert(Caller {
            user_id: caller.user_id,
            bucket_id,
            limited: caller.limited,
        });
        Ok(())
    }
}

/// A presigned request lives no longer than `GODRIVE_PRESIGN_MAX_EXPIRY` (and S3's week), and
/// one carrying a link id only as long as that link is not revoked, for what it was made
/// (`target`: method, bucket, key). The link is read from the cache if `cached`.
async fn check_presigned(
    state: &AppState,
    p: &crate::presign::Presigned,
    (method, bucket, key): (&http::Method, Option<&str>, Option<&str>),
    cached: bool,
) -> S3Result<()> {
    let max = crate::presign::max_expiry_secs(&state.config);
    let too_long = |message: String| {
        let mut e = s3s::S3Error::with_message(
            s3s::S3ErrorCode::Custom("AuthorizationQueryParametersError".into()),
            message,
        );
        e.set_status_code(http::StatusCode::BAD_REQUEST);
        e
    };
    if p.expires_secs.is_some_and(|e| e > max) {
        return Err(too_long(format!(
            "X-Amz-Expires must be less than or equal to {max} seconds."
        )));
    }
    // SigV2 names the moment the URL dies instead of a lifetime. S3 itself sets SigV2 URLs
    // no limit; the policy holds for every signature version, so one that outlives now +
    // the maximum is refused with the error SigV4's check answers.
    let latest = time::OffsetDateTime::now_utc().unix_timestamp() + i64::try_from(max).unwrap_or(i64::MAX);
    if p.expires_at.is_some_and(|at| at > latest) {
        return Err(too_long(format!(
            "Expires must be no later than {max} seconds from now."
        )));
    }
    let Some(link) = p.link else {
        return Ok(());
    };
    let refused = || s3_error!(AccessDenied, "This presigned link has been revoked or is not valid.");
    let link = link.ok_or_else(refused)?;
    let link = match cached {
        true => state.auth_cache.link(&state.db, link).await,
        false => db::links::get(&state.db, link)
            .await
            .map(|l| l.map(std::sync::Arc::new)),
    };
    let link = link.map_err(super::error::db)?.ok_or_else(refused)?;
    let method_ok = match link.method.as_str() {
        "GET" => *method == http::Method::GET || *method == http::Method::HEAD,
        other => method.as_str() == other,
    };
    if link.revoked_at.is_some()
        || link.access_key_id != p.access_key_id
        || Some(link.bucket.as_str()) != bucket
        || Some(link.key.as_str()) != key
        || !method_ok
    {
        return Err(refused());
    }
    Ok(())
}
