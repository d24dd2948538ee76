//! Public access, opt-in: canned ACLs and bucket policies, served to anonymous requests and
//! other users only where they allow, and only while `GODRIVE_ALLOW_PUBLIC_BUCKETS` is on.

use aws_sdk_s3::Client;
use aws_sdk_s3::types::{BucketCannedAcl, ObjectCannedAcl, Permission};
use serde_json::{Value, json};

use crate::common::{Backend, TestServer, code_status, unique, xml_code};

/// An unsigned request: (status, body).
async fn anonymous(srv: &TestServer, method: &str, path: &str, body: &'static [u8]) -> (u16, String) {
    let resp = reqwest::Client::new()
        .request(method.parse().unwrap(), format!("{}{path}", srv.url()))
        .body(body)
        .send()
        .await
        .unwrap();
    (resp.status().as_u16(), resp.text().await.unwrap())
}

async fn put(s3: &Client, b: &str, k: &str, body: &str) {
    s3.put_object()
        .bucket(b)
        .key(k)
        .body(body.as_bytes().to_vec().into())
        .send()
        .await
        .unwrap();
}

fn allowed() -> [(&'static str, &'static str); 1] {
    [("GODRIVE_ALLOW_PUBLIC_BUCKETS", "true")]
}

#[tokio::test]
async fn object_acls_and_bucket_policies_open_exactly_what_they_name() {
    let srv = TestServer::start_with(Backend::Fs, &allowed()).await;
    let u = srv.user().await;
    let s3 = srv.client(&u);
    let b = unique("public");
    s3.create_bucket().bucket(&b).send().await.unwrap();
    put(&s3, &b, "a.txt", "object a").await;
    put(&s3, &b, "pub/b.txt", "object b").await;

    // Private by default: anonymous reads and lists are refused, existing or not.
    assert_eq!(anonymous(&srv, "GET", &format!("/{b}/a.txt"), b"").await.0, 403);
    assert_eq!(anonymous(&srv, "GET", &format!("/{b}/nothing"), b"").await.0, 403);
    assert_eq!(anonymous(&srv, "GET", &format!("/{b}?list-type=2"), b"").await.0, 403);

    // An object's public-read ACL opens that object only.
    s3.put_object_acl()
        .bucket(&b)
        .key("a.txt")
        .acl(ObjectCannedAcl::PublicRead)
        .send()
        .await
        .unwrap();
    assert_eq!(
        anonymous(&srv, "GET", &format!("/{b}/a.txt"), b"").await,
        (200, "object a".into())
    );
    assert_eq!(anonymous(&srv, "HEAD", &format!("/{b}/a.txt"), b"").await.0, 200);
    assert_eq!(anonymous(&srv, "GET", &format!("/{b}/pub/b.txt"), b"").await.0, 403);
    let acl = s3.get_object_acl().bucket(&b).key("a.txt").send().await.unwrap();
    let everyone_reads = acl.grants().iter().any(|g| {
        g.permission() == Some(&Permission::Read)
            && g.grantee().and_then(|e| e.uri()) == Some("http://acs.amazonaws.com/groups/global/AllUsers")
    });
    assert!(everyone_reads, "{acl:?}");
    // Anonymous writes and deletes are not what READ grants.
    assert_eq!(anonymous(&srv, "PUT", &format!("/{b}/a.txt"), b"x").await.0, 403);
    assert_eq!(anonymous(&srv, "DELETE", &format!("/{b}/a.txt"), b"").await.0, 403);
    // An overwrite is a new object with its own ACL: private again.
    put(&s3, &b, "a.txt", "object a, again").await;
    assert_eq!(anonymous(&srv, "GET", &format!("/{b}/a.txt"), b"").await.0, 403);

    // A policy: everyone reads pub/* and lists the bucket.
    let policy = json!({
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": format!("arn:aws:s3:::{b}/pub/*")},
            {"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": ["s3:ListBucket"], "Resource": format!("arn:aws:s3:::{b}")}
        ]
    })
    .to_string();
    s3.put_bucket_policy().bucket(&b).policy(&policy).send().await.unwrap();
    assert_eq!(
        s3.get_bucket_policy().bucket(&b).send().await.unwrap().policy(),
        Some(policy.as_str())
    );
    let status = s3.get_bucket_policy_status().bucket(&b).send().await.unwrap();
    assert_eq!(status.policy_status().and_then(|s| s.is_public()), Some(true));
    assert_eq!(
        anonymous(&srv, "GET", &format!("/{b}/pub/b.txt"), b"").await,
        (200, "object b".into())
    );
    let (status, missing) = anonymous(&srv, "GET", &format!("/{b}/pub/missing"), b"").await;
    assert_eq!((status, xml_code(&missing).as_str()), (404, "NoSuchKey"));
    assert_eq!(anonymous(&srv, "GET", &format!("/{b}/a.txt"), b"").await.0, 403);
    let (status, listing) = anonymous(&srv, "GET", &format!("/{b}?list-type=2"), b"").await;
    assert_eq!(status, 200);
    assert!(
        listing.contains("<Key>pub/b.txt</Key>") && listing.contains("<Key>a.txt</Key>"),
        "{listing}"
    );
    // Another user reads what everyone may, and nothing more.
    let other = srv.client(&srv.user().await);
    let got = other.get_object().bucket(&b).key("pub/b.txt").send().await.unwrap();
    assert_eq!(got.body.collect().await.unwrap().to_vec(), b"object b");
    let res = other.get_object().bucket(&b).key("a.txt").send().await;
    assert_eq!(code_status(res), ("AccessDenied".into(), 403));
    let res = other.delete_bucket_policy().bucket(&b).send().await;
    assert_eq!(code_status(res), ("AccessDenied".into(), 403));

    s3.delete_bucket_policy().bucket(&b).send().await.unwrap();
    assert_eq!(anonymous(&srv, "GET", &format!("/{b}/pub/b.txt"), b"").await.0, 403);
    let res = s3.get_bucket_policy().bucket(&b).send().await;
    assert_eq!(code_status(res), ("NoSuchBucketPolicy".into(), 404));

    // Policies GoDrive cannot enforce are refused, never stored and ignored.
    for (doc, code) in [
        ("not json".to_owned(), "MalformedPolicy"),
        (
            json!({"Statement": [{"Effect": "Deny", "Principal": "*", "Action": "s3:GetObject", "Resource": format!("arn:aws:s3:::{b}/*")}]}).to_string(),
            "NotImplemented",
        ),
        (
            json!({"Statement": [{"Effect": "Allow", "Principal": "*", "Action": "s3:PutObject", "Resource": format!("arn:aws:s3:::{b}/*")}]}).to_string(),
            "NotImplemented",
        ),
    ] {
        let res = s3.put_bucket_policy().bucket(&b).policy(doc).send().await;
        assert_eq!(code_status(res).0, code);
    }
}

#[tokio::test]
async fn bucket_acls_grant_listing_writing_and_signed_reads() {
    let srv = TestServer::start_with(Backend::Fs, &allowed()).await;
    let u = srv.user().await;
    let s3 = srv.client(&u);
    let b = unique("publicrw");
    s3.create_bucket()
        .bucket(&b)
        .acl(BucketCannedAcl::PublicReadWrite)
        .send()
        .await
        .unwrap();
    // WRITE: anyone stores and deletes objects, charged to the owner.
    assert_eq!(
        anonymous(&srv, "PUT", &format!("/{b}/drop.txt"), b"dropped").await.0,
        200
    );
    let got = s3.get_object().bucket(&b).key("drop.txt").send().await.unwrap();
    assert_eq!(got.body.collect().await.unwrap().to_vec(), b"dropped");
    let usage = godrive::db::usage::of_user(&srv.state.db, u.id).await.unwrap().unwrap();
    assert_eq!(usage.used_bytes, 7);
    // READ on a bucket lists it; reading objects needs their own grant.
    assert_eq!(anonymous(&srv, "GET", &format!("/{b}"), b"").await.0, 200);
    assert_eq!(anonymous(&srv, "GET", &format!("/{b}/drop.txt"), b"").await.0, 403);
    assert_eq!(anonymous(&srv, "DELETE", &format!("/{b}/drop.txt"), b"").await.0, 204);
    assert!(s3.head_object().bucket(&b).key("drop.txt").send().await.is_err());
    // Nothing else: bucket configuration stays the owner's.
    assert_eq!(anonymous(&srv, "DELETE", &format!("/{b}"), b"").await.0, 403);

    // authenticated-read: signed requests of any user list; anonymous ones do not.
    s3.put_bucket_acl()
        .bucket(&b)
        .acl(BucketCannedAcl::AuthenticatedRead)
        .send()
        .await
        .unwrap();
    let other = srv.client(&srv.user().await);
    other.list_objects_v2().bucket(&b).send().await.unwrap();
    assert_eq!(anonymous(&srv, "GET", &format!("/{b}"), b"").await.0, 403);
    assert_eq!(anonymous(&srv, "PUT", &format!("/{b}/drop.txt"), b"x").await.0, 403);
    let acl = s3.get_bucket_acl().bucket(&b).send().await.unwrap();
    assert_eq!(acl.grants().len(), 2, "{acl:?}");
}

/// On a versioned bucket open to the world for writing, what others write and delete can be
/// undone by the owner: no one else reads, deletes or tags a version by id.
#[tokio::test]
async fn others_never_reach_a_version_by_id() {
    let srv = TestServer::start_with(Backend::Fs, &allowed()).await;
    let u = srv.user().await;
    let s3 = srv.client(&u);
    let b = unique("publicver");
    s3.create_bucket()
        .bucket(&b)
        .acl(BucketCannedAcl::PublicReadWrite)
        .send()
        .await
        .unwrap();
    crate::common::set_versioning(&s3, &b, aws_sdk_s3::types::BucketVersioningStatus::Enabled).await;
    let v = s3
        .put_object()
        .bucket(&b)
        .key("doc")
        .acl(ObjectCannedAcl::PublicRead)
        .body(b"mine".to_vec().into())
        .send()
        .await
        .unwrap()
        .version_id()
        .unwrap()
        .to_owned();
    assert_eq!(anonymous(&srv, "GET", &format!("/{b}/doc"), b"").await.0, 200);
    for (method, path) in [
        ("GET", format!("/{b}/doc?versionId={v}")),
        ("HEAD", format!("/{b}/doc?versionId={v}")),
        ("DELETE", format!("/{b}/doc?versionId={v}")),
        ("DELETE", format!("/{b}/doc?%76ersionId={v}")),
        ("PUT", format!("/{b}/doc?versionId={v}")),
    ] {
        assert_eq!(anonymous(&srv, method, &path, b"x").await.0, 403, "{method} {path}");
    }
    // A plain delete only writes a marker: the owner still has the version.
    assert_eq!(anonymous(&srv, "DELETE", &format!("/{b}/doc"), b"").await.0, 204);
    let got = s3
        .get_object()
        .bucket(&b)
        .key("doc")
        .version_id(&v)
        .send()
        .await
        .unwrap();
    assert_eq!(got.body.collect().await.unwrap().to_vec(), b"mine");
}

/// Off (the default), nothing can be made public, and what was made public before is served
/// to its owner only; the JSON API shows and sets the flag when it is on.
#[tokio::test]
async fn public_access_is_blocked_unless_the_operator_allows_it() {
    let srv = TestServer::start(Backend::Fs).await;
    let u = srv.user().await;
    let s3 = srv.client(&u);
    let b = unique("blocked");
    s3.create_bucket().bucket(&b).send().await.unwrap();
    put(&s3, &b, "k", "v").await;
    let res = s3
        .put_bucket_acl()
        .bucket(&b)
        .acl(BucketCannedAcl::PublicRead)
        .send()
        .await;
    assert_eq!(code_status(res), ("AccessDenied".into(), 403));
    let res = s3
        .put_object()
        .bucket(&b)
        .key("k2")
        .acl(ObjectCannedAcl::PublicRead)
        .body(b"v".to_vec().into())
        .send()
        .await;
    assert_eq!(code_status(res), ("AccessDenied".into(), 403));
    let policy = json!({"Statement": [{"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": format!("arn:aws:s3:::{b}/*")}]});
    let res = s3
        .put_bucket_policy()
        .bucket(&b)
        .policy(policy.to_string())
        .send()
        .await;
    assert_eq!(code_status(res), ("AccessDenied".into(), 403));
    // Made public behind GoDrive's back: still not served.
    sqlx::query("update buckets set acl = 'public-read-write', policy = $2 where name = $1")
        .bind(&b)
        .bind(policy.to_string())
        .execute(&srv.state.db)
        .await
        .unwrap();
    assert_eq!(anonymous(&srv, "GET", &format!("/{b}/k"), b"").await.0, 403);
    assert_eq!(anonymous(&srv, "PUT", &format!("/{b}/k"), b"x").await.0, 403);

    // The JSON API: the flag is shown; setting it needs the operator's consent.
    let (http, token, bucket_url) = crate::files::session(&srv).await;
    let set = |public: bool| {
        http.put(format!("{bucket_url}/public"))
            .bearer_auth(&token)
            .json(&json!({"public": public}))
            .send()
    };
    let resp = set(true).await.unwrap();
    assert_eq!(resp.status().as_u16(), 403);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["error"]["code"], "public_buckets_disabled");
}

#[tokio::test]
async fn the_json_api_makes_a_bucket_public_and_private_again() {
    let srv = TestServer::start_with(Backend::Fs, &allowed()).await;
    let (http, token, bucket_url) = crate::files::session(&srv).await;
    let view: Value = crate::files::get_json(&http, &bucket_url, &token).await;
    assert_eq!(view["public"], false);
    let name = view["name"].as_str().unwrap().to_owned();
    // A file stored through the API, read without signing once the bucket is public.
    let form = reqwest::multipart::Form::new().text("key", "hello.txt").part(
        "file",
        reqwest::multipart::Part::bytes(b"hello".to_vec()).file_name("hello.txt"),
    );
    let stored = http
        .post(format!("{bucket_url}/files"))
        .bearer_auth(&token)
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert!(stored.status().is_success());
    assert_eq!(anonymous(&srv, "GET", &format!("/{name}/hello.txt"), b"").await.0, 403);
    let set = |public: bool| {
        http.put(format!("{bucket_url}/public"))
            .bearer_auth(&token)
            .json(&json!({"public": public}))
            .send()
    };
    let view: Value = set(true).await.unwrap().json().await.unwrap();
    assert_eq!(view["public"], true);
    assert_eq!(
        anonymous(&srv, "GET", &format!("/{name}/hello.txt"), b"").await,
        (200, "hello".into())
    );
    // Reading is public; listing is not.
    assert_eq!(anonymous(&srv, "GET", &format!("/{name}"), b"").await.0, 403);
    let list = crate::files::get_json(&http, &format!("{}/v1/buckets", srv.url()), &token).await;
    assert_eq!(list["items"][0]["public"], true);
    let view: Value = set(false).await.unwrap().json().await.unwrap();
    assert_eq!(view["public"], false);
    assert_eq!(anonymous(&srv, "GET", &format!("/{name}/hello.txt"), b"").await.0, 403);
}
