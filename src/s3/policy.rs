//! Bucket policies, for the common public cases: `Allow` of `s3:GetObject` on objects of the
//! bucket (all of them, or those under a prefix: `arn:aws:s3:::bucket/prefix*`) and of
//! `s3:ListBucket` on the bucket (`arn:aws:s3:::bucket`), to `"Principal": "*"`, with no
//! condition. A document that is not such JSON is `MalformedPolicy`; anything else a policy
//! can say (other actions or principals, `Deny`, conditions) is `NotImplemented`, never
//! stored and then ignored. PutBucketPolicy, GetBucketPolicy, DeleteBucketPolicy and
//! GetBucketPolicyStatus are here.

use s3s::dto::*;
use s3s::{S3Request, S3Response, S3Result, s3_error};
use serde_json::Value;

use super::{GoDriveS3, error, owned_bucket};
use crate::db;

/// The largest policy S3 accepts (20 KB).
const MAX_POLICY_BYTES: usize = 20 * 1024;

/// What a policy grants everyone.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Grants {
    /// Objects under these prefixes may be read (`""`: every object).
    pub read_prefixes: Vec<String>,
    /// The bucket may be listed.
    pub list: bool,
}

impl Grants {
    /// Whether anyone may read the object under `key`.
    pub fn allows_read(&self, key: &str) -> bool {
        self.read_prefixes.iter().any(|p| key.starts_with(p.as_str()))
    }
}

fn malformed(why: &str) -> s3s::S3Error {
    s3_error!(MalformedPolicy, "{}", why)
}

fn unsupported(what: &str) -> s3s::S3Error {
    s3_error!(
        NotImplemented,
        "Only policies that allow s3:GetObject and s3:ListBucket to \"Principal\": \"*\" are supported: {}",
        what
    )
}

/// A string or an array of strings, as policy fields may be.
fn strings<'a>(v: &'a Value, field: &str) -> S3Result<Vec<&'a str>> {
    match v {
        Value::String(s) => Ok(vec![s.as_str()]),
        Value::Array(items) => items
            .iter()
            .map(|i| {
                i.as_str()
                    .ok_or_else(|| malformed(&format!("{field} must hold strings")))
            })
            .collect(),
        _ => Err(malformed(&format!("{field} must be a string or an array"))),
    }
}

/// Reads a policy for bucket `bucket`.
pub fn parse(bucket: &str, text: &str) -> S3Result<Grants> {
    if text.len() > MAX_POLICY_BYTES {
        return Err(malformed("Policies must be at most 20 KB."));
    }
    let doc: Value = serde_json::from_str(text).map_err(|_| malformed("This policy is not valid JSON."))?;
    let doc = doc.as_object().ok_or_else(|| malformed("A policy is a JSON object."))?;
    if let Some(v) = doc.get("Version")
        && !matches!(v.as_str(), Some("2012-10-17" | "2008-10-17"))
    {
        return Err(malformed("The policy's Version is not valid."));
    }
    let statements = match doc.get("Statement") {
        Some(Value::Array(s)) if !s.is_empty() => s.iter().collect::<Vec<_>>(),
        Some(s @ Value::Object(_)) => vec![s],
        _ => return Err(malformed("A policy needs at least one Statement.")),
    };
    let bucket_arn = format!("arn:aws:s3:::{bucket}");
    let mut policy = Grants::default();
    for st in statements {
        let st = st
            .as_object()
            .ok_or_else(|| malformed("A Statement is a JSON object."))?;
        for key in st.keys() {
            match key.as_str() {
                "Sid" | "Effect" | "Principal" | "Action" | "Resource" => {}
                "NotPrincipal" | "NotAction" | "NotResource" | "Condition" => return Err(unsupported(key)),
                other => return Err(malformed(&format!("Unknown field {other}."))),
            }
        }
        match st.get("Effect").and_then(Value::as_str) {
            Some("Allow") => {}
            Some("Deny") => return Err(unsupported("Deny")),
            _ => return Err(malformed("Effect must be Allow or Deny.")),
        }
        let everyone = match st.get("Principal") {
            Some(Value::String(s)) => s == "*",
            Some(Value::Object(p)) if p.len() == 1 => p
                .get("AWS")
                .is_some_and(|a| strings(a, "Principal").is_ok_and(|v| v == ["*"])),
            Some(_) => false,
            None => return Err(malformed("A Statement needs a Principal.")),
        };
        if !everyone {
            return Err(unsupported("a Principal other than \"*\""));
        }
        let actions = strings(
            st.get("Action")
                .ok_or_else(|| malformed("A Statement needs an Action."))?,
            "Action",
        )?;
        let resources = strings(
            st.get("Resource")
                .ok_or_else(|| malformed("A Statement needs a Resource."))?,
            "Resource",
        )?;
        for action in actions {
            match action {
                "s3:GetObject" => {
                    for r in &resources {
                        let pattern = r
                            .strip_prefix(bucket_arn.as_str())
                            .and_then(|rest| rest.strip_prefix('/'))
                            .ok_or_else(|| malformed("Policy has invalid resource"))?;
                        let prefix = pattern.strip_suffix('*').unwrap_or(pattern);
                        if prefix.contains(['*', '?']) {
                            return Err(unsupported("wildcards other than a trailing *"));
                        }
                        // Without a trailing `*` the resource is one key: its prefix alone
                        // would grant more, so only exact patterns and prefixes are taken.
                        if !pattern.ends_with('*') {
                            return Err(unsupported("a Resource naming one object"));
                        }
                        policy.read_prefixes.push(prefix.to_owned());
                    }
                }
                "s3:ListBucket" => {
                    if resources.iter().any(|r| *r != bucket_arn) {
                        return Err(malformed("Policy has invalid resource"));
                    }
                    policy.list = true;
                }
                other if other.starts_with("s3:") => return Err(unsupported(other)),
                _ => return Err(malformed("Policy has an invalid action")),
            }
        }
    }
    Ok(policy)
}

impl GoDriveS3 {
    /// The bucket's policy as stored, or `NoSuchBucketPolicy`.
    async fn stored_policy(&self, bucket_id: uuid::Uuid) -> S3Result<String> {
        let (_, policy) = db::buckets::acl_and_policy(&self.state.db, bucket_id)
            .await
            .map_err(error::db)?;
        policy.ok_or_else(|| s3_error!(NoSuchBucketPolicy, "The bucket policy does not exist"))
    }

    pub(super) async fn do_put_bucket_policy(
        &self,
        req: S3Request<PutBucketPolicyInput>,
    ) -> S3Result<S3Response<PutBucketPolicyOutput>> {
        let bucket_id = owned_bucket(&req)?;
        parse(&req.input.bucket, &req.input.policy)?;
        // Every policy GoDrive accepts makes the bucket public.
        super::acl::check_public_allowed(&self.state)?;
        db::buckets::set_policy(&self.state.db, bucket_id, Some(&req.input.policy))
            .await
            .map_err(error::db)?;
        Ok(S3Response::new(PutBucketPolicyOutput::default()))
    }

    pub(super) async fn do_get_bucket_policy(
        &self,
        req: S3Request<GetBucketPolicyInput>,
    ) -> S3Result<S3Response<GetBucketPolicyOutput>> {
        let policy = self.stored_policy(owned_bucket(&req)?).await?;
        Ok(S3Response::new(GetBucketPolicyOutput { policy: Some(policy) }))
    }

    pub(super) async fn do_delete_bucket_policy(
        &self,
        req: S3Request<DeleteBucketPolicyInput>,
    ) -> S3Result<S3Response<DeleteBucketPolicyOutput>> {
        let bucket_id = owned_bucket(&req)?;
        db::buckets::set_policy(&self.state.db, bucket_id, None)
            .await
            .map_err(error::db)?;
        Ok(S3Response::new(DeleteBucketPolicyOutput::default()))
    }

    pub(super) async fn do_get_bucket_policy_status(
        &self,
        req: S3Request<GetBucketPolicyStatusInput>,
    ) -> S3Result<S3Response<GetBucketPolicyStatusOutput>> {
        let policy = self.stored_policy(owned_bucket(&req)?).await?;
        let public = parse(&req.input.bucket, &policy).is_ok_and(|p| p.list || !p.read_prefixes.is_empty());
        Ok(S3Response::new(GetBucketPolicyStatusOutput {
            policy_status: Some(PolicyStatus {
                is_public: Some(public),
            }),
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code(r: S3Result<Grants>) -> String {
        r.map_or_else(|e| e.code().as_str().to_owned(), |_| "ok".to_owned())
    }

    #[test]
    fn public_read_and_list_policies_are_read() {
        let p = parse(
            "site",
            r#"{"Version":"2012-10-17","Statement":[
                {"Sid":"read","Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::site/*"},
                {"Effect":"Allow","Principal":{"AWS":["*"]},"Action":["s3:ListBucket"],"Resource":["arn:aws:s3:::site"]}]}"#,
        )
        .unwrap();
        assert_eq!(
            p,
            Grants {
                read_prefixes: vec![String::new()],
                list: true
            }
        );
        assert!(p.allows_read("any/key"));
        let p = parse(
            "site",
            r#"{"Statement":{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::site/public/*"}}"#,
        )
        .unwrap();
        assert!(p.allows_read("public/a.png") && !p.allows_read("private/a.png") && !p.list);
    }

    #[test]
    fn anything_else_is_malformed_or_not_implemented() {
        let one = |effect: &str, principal: &str, action: &str, resource: &str| {
            code(parse(
                "site",
                &format!(
                    r#"{{"Statement":[{{"Effect":"{effect}","Principal":{principal},"Action":"{action}","Resource":"{resource}"}}]}}"#
                ),
            ))
        };
        assert_eq!(code(parse("site", "not json")), "MalformedPolicy");
        assert_eq!(code(parse("site", r#"{"Statement":[]}"#)), "MalformedPolicy");
        let star = r#""*""#;
        let cases = [
            ("Allow", star, "s3:GetObject", "arn:aws:s3:::other/*", "MalformedPolicy"),
            ("Allow", star, "s3:ListBucket", "arn:aws:s3:::site/*", "MalformedPolicy"),
            ("Maybe", star, "s3:GetObject", "arn:aws:s3:::site/*", "MalformedPolicy"),
            ("Deny", star, "s3:GetObject", "arn:aws:s3:::site/*", "NotImplemented"),
            (
                "Allow",
                r#"{"AWS":"arn:aws:iam::1:root"}"#,
                "s3:GetObject",
                "arn:aws:s3:::site/*",
                "NotImplemented",
            ),
            ("Allow", star, "s3:PutObject", "arn:aws:s3:::site/*", "NotImplemented"),
            (
                "Allow",
                star,
                "s3:GetObject",
                "arn:aws:s3:::site/a*b/*",
                "NotImplemented",
            ),
            (
                "Allow",
                star,
                "s3:GetObject",
                "arn:aws:s3:::site/one.txt",
                "NotImplemented",
            ),
        ];
        for (effect, principal, action, resource, want) in cases {
            assert_eq!(
                one(effect, principal, action, resource),
                want,
                "{effect} {principal} {action} {resource}"
            );
        }
        assert_eq!(code(parse("site", &"x".repeat(21 * 1024))), "MalformedPolicy");
    }
}
