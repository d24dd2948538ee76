//! Broken object-level authorization, tried on purpose: another user's credentials against
//! every S3 operation and every JSON route that names a resource. Each must be refused, and
//! the victim's data must be unchanged afterwards.

use std::collections::BTreeSet;

use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{
    CompletedMultipartUpload, CompletedPart, CorsConfiguration, CorsRule, Delete, ObjectIdentifier, Tag, Tagging,
};
use serde_json::{Value, json};

use crate::common::{Backend, TestServer, code_status, unique};

/// Every S3 operation on the victim's bucket, object and upload, with the attacker's key.
#[tokio::test]
async fn every_s3_operation_refuses_another_users_credentials() {
    let srv = TestServer::start(Backend::Fs).await;
    let (victim, attacker) = (srv.user().await, srv.user().await);
    let (v, a) = (srv.client(&victim), srv.client(&attacker));
    let vb = unique("victim");
    let ab = unique("attacker");
    v.create_bucket().bucket(&vb).send().await.unwrap();
    a.create_bucket().bucket(&ab).send().await.unwrap();
    v.put_object()
        .bucket(&vb)
        .key("secret.txt")
        .body(b"victim data".to_vec().into())
        .send()
        .await
        .unwrap();
    let upload = v
        .create_multipart_upload()
        .bucket(&vb)
        .key("mp")
        .send()
        .await
        .unwrap()
        .upload_id()
        .unwrap()
        .to_owned();
    let own_upload = a
        .create_multipart_upload()
        .bucket(&ab)
        .key("mp")
        .send()
        .await
        .unwrap()
        .upload_id()
        .unwrap()
        .to_owned();
    let key = "secret.txt";
    let denied = ("AccessDenied".to_owned(), 403);

    let mut results: Vec<(&str, (String, u16))> = vec![
        ("HeadBucket", code_status(a.head_bucket().bucket(&vb).send().await)),
        (
            "GetBucketLocation",
            code_status(a.get_bucket_location().bucket(&vb).send().await),
        ),
        ("ListObjects", code_status(a.list_objects().bucket(&vb).send().await)),
        (
            "ListObjectsV2",
            code_status(a.list_objects_v2().bucket(&vb).send().await),
        ),
        ("DeleteBucket", code_status(a.delete_bucket().bucket(&vb).send().await)),
        (
            "GetBucketVersioning",
            code_status(a.get_bucket_versioning().bucket(&vb).send().await),
        ),
        (
            "PutBucketVersioning",
            code_status(
                a.put_bucket_versioning()
                    .bucket(&vb)
                    .versioning_configuration(
                        aws_sdk_s3::types::VersioningConfiguration::builder()
                            .status(aws_sdk_s3::types::BucketVersioningStatus::Enabled)
                            .build(),
                    )
                    .send()
                    .await,
            ),
        ),
        (
            "ListObjectVersions",
            code_status(a.list_object_versions().bucket(&vb).send().await),
        ),
        (
            "GetObject by version",
            code_status(a.get_object().bucket(&vb).key(key).version_id("null").send().await),
        ),
        (
            "DeleteObject by version",
            code_status(a.delete_object().bucket(&vb).key(key).version_id("null").send().await),
        ),
        ("GetBucketAcl", code_status(a.get_bucket_acl().bucket(&vb).send().await)),
        (
            "PutBucketAcl",
            code_status(
                a.put_bucket_acl()
                    .bucket(&vb)
                    .acl(aws_sdk_s3::types::BucketCannedAcl::Private)
                    .send()
                    .await,
            ),
        ),
        (
            "GetBucketCors",
            code_status(a.get_bucket_cors().bucket(&vb).send().await),
        ),
        (
            "PutBucketCors",
            code_status(
                a.put_bucket_cors()
                    .bucket(&vb)
                    .cors_configuration(
                        CorsConfiguration::builder()
                            .cors_rules(
                                CorsRule::builder()
                                    .allowed_origins("*")
                                    .allowed_methods("GET")
                                    .build()
                                    .unwrap(),
                            )
                            .build()
                            .unwrap(),
                    )
                    .send()
                    .await,
            ),
        ),
        (
            "DeleteBucketCors",
            code_status(a.delete_bucket_cors().bucket(&vb).send().await),
        ),
        (
            "PutObject",
            code_status(
                a.put_object()
                    .bucket(&vb)
                    .key(key)
                    .body(b"overwritten".to_vec().into())
                    .send()
                    .await,
            ),
        ),
        (
            "GetObject",
            code_status(a.get_object().bucket(&vb).key(key).send().await),
        ),
        (
            "HeadObject",
            code_status(a.head_object().bucket(&vb).key(key).send().await),
        ),
        (
            "DeleteObject",
            code_status(a.delete_object().bucket(&vb).key(key).send().await),
        ),
        (
            "DeleteObjects",
            code_status(
                a.delete_objects()
                    .bucket(&vb)
                    .delete(
                        Delete::builder()
                            .objects(ObjectIdentifier::builder().key(key).build().unwrap())
                            .build()
                            .unwrap(),
                    )
                    .send()
                    .await,
            ),
        ),
        (
            "CopyObject (victim source)",
            code_status(
                a.copy_object()
                    .bucket(&ab)
                    .key("stolen")
                    .copy_source(format!("{vb}/{key}"))
                    .send()
                    .await,
            ),
        ),
        (
            "CopyObject (victim destination)",
            code_status(
                a.copy_object()
                    .bucket(&vb)
                    .key(key)
                    .copy_source(format!("{ab}/nothing"))
                    .send()
                    .await,
            ),
        ),
        (
            "GetObjectAcl",
            code_status(a.get_object_acl().bucket(&vb).key(key).send().await),
        ),
        (
            "PutObjectAcl",
            code_status(
                a.put_object_acl()
                    .bucket(&vb)
                    .key(key)
                    .acl(aws_sdk_s3::types::ObjectCannedAcl::Private)
                    .send()
                    .await,
            ),
        ),
        (
            "GetObjectTagging",
            code_status(a.get_object_tagging().bucket(&vb).key(key).send().await),
        ),
        (
            "PutObjectTagging",
            code_status(
                a.put_object_tagging()
                    .bucket(&vb)
                    .key(key)
                    .tagging(
                        Tagging::builder()
                            .tag_set(Tag::builder().key("k").value("v").build().unwrap())
                            .build()
                            .unwrap(),
                    )
                    .send()
                    .await,
            ),
        ),
        (
            "DeleteObjectTagging",
            code_status(a.delete_object_tagging().bucket(&vb).key(key).send().await),
        ),
        (
            "CreateMultipartUpload",
            code_status(a.create_multipart_upload().bucket(&vb).key("x").send().await),
        ),
        (
            "UploadPart",
            code_status(
                a.upload_part()
                    .bucket(&vb)
                    .key("mp")
                    .upload_id(&upload)
                    .part_number(1)
                    .body(ByteStream::from(vec![1u8; 10]))
                    .send()
                    .await,
            ),
        ),
        (
            "UploadPartCopy (victim source)",
            code_status(
                a.upload_part_copy()
                    .bucket(&ab)
                    .key("mp")
                    .upload_id(&own_upload)
                    .part_number(1)
                    .copy_source(format!("{vb}/{key}"))
                    .send()
                    .await,
            ),
        ),
        (
            "CompleteMultipartUpload",
            code_status(
                a.complete_multipart_upload()
                    .bucket(&vb)
                    .key("mp")
                    .upload_id(&upload)
                    .multipart_upload(
                        CompletedMultipartUpload::builder()
                            .parts(CompletedPart::builder().part_number(1).e_tag("x").build())
                            .build(),
                    )
                    .send()
                    .await,
            ),
        ),
        (
            "AbortMultipartUpload",
            code_status(
                a.abort_multipart_upload()
                    .bucket(&vb)
                    .key("mp")
                    .upload_id(&upload)
                    .send()
                    .await,
            ),
        ),
        (
            "ListParts",
            code_status(a.list_parts().bucket(&vb).key("mp").upload_id(&upload).send().await),
        ),
        (
            "ListMultipartUploads",
            code_status(a.list_multipart_uploads().bucket(&vb).send().await),
        ),
    ];
    // A browser form upload signed by the attacker, into the victim's bucket.
    let fields = crate::common::post_form_fields(&attacker.access_key, &attacker.secret, &vb, &[("key", key)]);
    let mut form = reqwest::multipart::Form::new();
    for (k, v) in fields {
        form = form.text(k, v);
    }
    let form = form.part("file", reqwest::multipart::Part::bytes(b"form".to_vec()).file_name("f"));
    let resp = reqwest::Client::new()
        .post(format!("{}/{vb}", srv.url()))
        .multipart(form)
        .send()
        .await
        .unwrap();
    let status = resp.status().as_u16();
    results.push((
        "PostObject",
        (crate::common::xml_code(&resp.text().await.unwrap()), status),
    ));
    // A presigned GET signed by the attacker for the victim's object.
    let cfg = aws_sdk_s3::presigning::PresigningConfig::expires_in(std::time::Duration::from_secs(60)).unwrap();
    let url = a.get_object().bucket(&vb).key(key).presigned(cfg).await.unwrap();
    let resp = reqwest::get(url.uri()).await.unwrap();
    let status = resp.status().as_u16();
    results.push((
        "GetObject (presigned)",
        (crate::common::xml_code(&resp.text().await.unwrap()), status),
    ));

    // HEAD answers carry no body, so no code: the status says it.
    let refused = |op: &str, r: &(String, u16)| *r == denied || (op.starts_with("Head") && *r == (String::new(), 403));
    let wrong: Vec<_> = results.iter().filter(|(op, r)| !refused(op, r)).collect();
    assert!(wrong.is_empty(), "not refused with AccessDenied: {wrong:?}");
    // Creating a bucket under a taken name is refused too (409, as S3 does).
    let res = a.create_bucket().bucket(&vb).send().await;
    assert_eq!(code_status(res), ("BucketAlreadyExists".into(), 409));
    // The attacker's listing of buckets shows only theirs.
    let mine = a.list_buckets().send().await.unwrap();
    let names: Vec<&str> = mine.buckets().iter().filter_map(|b| b.name()).collect();
    assert_eq!(names, vec![ab.as_str()]);

    // The victim's data is untouched.
    let got = v.get_object().bucket(&vb).key(key).send().await.unwrap();
    assert_eq!(got.body.collect().await.unwrap().into_bytes().as_ref(), b"victim data");
    assert!(
        v.get_object_tagging()
            .bucket(&vb)
            .key(key)
            .send()
            .await
            .unwrap()
            .tag_set()
            .is_empty()
    );
    let res = v.get_bucket_cors().bucket(&vb).send().await;
    assert_eq!(code_status(res).0, "NoSuchCORSConfiguration");
    let parts = v
        .list_parts()
        .bucket(&vb)
        .key("mp")
        .upload_id(&upload)
        .send()
        .await
        .unwrap();
    assert!(parts.parts().is_empty());
}

/// Every JSON route, from the OpenAPI document, with another user's (non-admin) token: a
/// route that names a resource answers 404 for someone else's (exactly as for a missing
/// one), admin routes 403, and lists show only the caller's own.
#[tokio::test]
async fn every_json_route_refuses_another_users_resources() {
    let srv = TestServer::start(Backend::Fs).await;
    let http = reqwest::Client::new();
    let base = format!("{}/v1", srv.url());
    let (victim, attacker) = (srv.user().await, srv.user().await);
    let vt = srv.state.tokens.access_token(victim.id, "victim@example.com", false);
    let at = srv
        .state
        .tokens
        .access_token(attacker.id, "attacker@example.com", false);
    let call = |method: reqwest::Method, path: String, token: String, body: Option<Value>| {
        let http = http.clone();
        let url = format!("{base}{path}");
        async move {
            let mut req = http.request(method, url).bearer_auth(token);
            if let Some(b) = body {
                req = req.json(&b);
            }
            let resp = req.send().await.unwrap();
            let status = resp.status().as_u16();
            (status, resp.json::<Value>().await.unwrap_or(Value::Null))
        }
    };
    // The victim's resources: a bucket with a file, a key, a presigned link.
    let name = unique("vjson");
    let (_, bucket) = call(
        reqwest::Method::POST,
        "/buckets".into(),
        vt.clone(),
        Some(json!({"name": name})),
    )
    .await;
    let bid = bucket["id"].as_str().unwrap().to_owned();
    let form = reqwest::multipart::Form::new().text("key", "v.txt").part(
        "file",
        reqwest::multipart::Part::bytes(b"victim".to_vec()).file_name("v.txt"),
    );
    let file: Value = http
        .post(format!("{base}/buckets/{bid}/files"))
        .bearer_auth(&vt)
        .multipart(form)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let fid = file["id"].as_str().unwrap().to_owned();
    let (_, keys) = call(reqwest::Method::GET, "/keys".into(), vt.clone(), None).await;
    let kid = keys["items"][0]["id"].as_str().unwrap().to_owned();
    let (_, link) = call(
        reqwest::Method::POST,
        "/presign".into(),
        vt.clone(),
        Some(json!({"bucket": name, "key": "v.txt", "method": "GET", "expires_in": 60})),
    )
    .await;
    let lid = link["id"].as_str().unwrap().to_owned();
    let vid = victim.id.to_string();
    // ...and an upload in parts.
    let (_, upload) = call(
        reqwest::Method::POST,
        format!("/buckets/{bid}/uploads"),
        vt.clone(),
        Some(json!({"key": "v.bin"})),
    )
    .await;
    let uid = upload["id"].as_str().unwrap().to_owned();

    let fill = |p: &str| {
        p.replace("{bucket_id}", &bid)
            .replace("{file_id}", &fid)
            .replace("{version_id}", "null")
            .replace("{upload_id}", &uid)
            .replace("{number}", "1")
            .replace("/buckets/{id}", &format!("/buckets/{bid}"))
            .replace("/keys/{id}", &format!("/keys/{kid}"))
            .replace("/presign/{id}", &format!("/presign/{lid}"))
            .replace("/users/{id}", &format!("/users/{vid}"))
    };
    // METHOD path -> (body, expected status) for the attacker.
    let table: Vec<(&str, Option<Value>, u16)> = vec![
        ("GET /buckets/{id}", None, 404),
        ("DELETE /buckets/{id}", None, 404),
        (
            "PUT /buckets/{id}/quota",
            Some(json!({"max_bytes": 1, "max_objects": 1})),
            404,
        ),
        ("PUT /buckets/{id}/public", Some(json!({"public": false})), 404),
        ("GET /buckets/{id}/lifecycle", None, 404),
        ("PUT /buckets/{id}/lifecycle", Some(json!({"rules": []})), 404),
        ("GET /buckets/{bucket_id}/files", None, 404),
        ("POST /buckets/{bucket_id}/files", None, 404),
        ("GET /buckets/{bucket_id}/files/{file_id}", None, 404),
        ("GET /buckets/{bucket_id}/files/{file_id}/content", None, 404),
        ("DELETE /buckets/{bucket_id}/files/{file_id}", None, 404),
        ("PUT /buckets/{id}/versioning", Some(json!({"status": "enabled"})), 404),
        ("GET /buckets/{bucket_id}/versions", None, 404),
        ("GET /buckets/{bucket_id}/files/{file_id}/versions", None, 404),
        (
            "DELETE /buckets/{bucket_id}/files/{file_id}/versions/{version_id}",
            None,
            404,
        ),
        (
            "GET /buckets/{bucket_id}/files/{file_id}/versions/{version_id}/content",
            None,
            404,
        ),
        (
            "POST /buckets/{bucket_id}/files/{file_id}/versions/{version_id}/restore",
            None,
            404,
        ),
        ("DELETE /keys/{id}", None, 404),
        ("DELETE /presign/{id}", None, 404),
        ("GET /presign/{id}/accesses", None, 404),
        (
            "POST /presign",
            Some(json!({"bucket": name, "key": "v.txt", "method": "GET", "expires_in": 60})),
            404,
        ),
        ("GET /admin/users", None, 403),
        ("GET /admin/users/{id}", None, 403),
        ("PATCH /admin/users/{id}", Some(json!({"disabled": true})), 403),
        ("PUT /admin/users/{id}/quota", Some(json!({"quota_bytes": 1})), 403),
        ("GET /admin/usage", None, 403),
        ("GET /admin/usage/report", None, 403),
        ("DELETE /admin/presign/{id}", None, 403),
        ("GET /admin/audit", None, 403),
        ("POST /buckets/{bucket_id}/uploads", Some(json!({"key": "x"})), 404),
        ("GET /buckets/{bucket_id}/uploads/{upload_id}/parts", None, 404),
        ("PUT /buckets/{bucket_id}/uploads/{upload_id}/parts/{number}", None, 404),
        (
            "POST /buckets/{bucket_id}/uploads/{upload_id}/complete",
            Some(json!({"parts": [{"number": 1, "etag": "x"}]})),
            404,
        ),
        ("DELETE /buckets/{bucket_id}/uploads/{upload_id}", None, 404),
        ("GET /admin/users/{id}/buckets", None, 403),
        (
            "PUT /admin/buckets/{id}/quota",
            Some(json!({"max_bytes": 1, "max_objects": 1})),
            403,
        ),
    ];
    // Routes that name no other user's resource: the caller's own lists and account, the
    // public auth and health routes. Lists are checked below.
    let own: BTreeSet<&str> = [
        "GET /buckets",
        "POST /buckets",
        "GET /keys",
        "POST /keys",
        "GET /presign",
        "GET /usage",
        "GET /usage/history",
        "GET /me",
        "POST /auth/login",
        "POST /auth/logout",
        "POST /auth/refresh",
        "POST /auth/register",
        "GET /health/live",
        "GET /health/ready",
    ]
    .into();
    // The table covers every route of the OpenAPI document.
    let doc = serde_json::to_value(godrive::api::openapi()).unwrap();
    let mut routes = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for method in item.as_object().unwrap().keys() {
            if ["get", "post", "put", "patch", "delete"].contains(&method.as_str()) {
                let path = path.strip_prefix("/v1").unwrap_or(path);
                routes.insert(format!("{} {path}", method.to_uppercase()));
            }
        }
    }
    let covered: BTreeSet<String> = table
        .iter()
        .map(|(r, _, _)| (*r).to_owned())
        .chain(own.iter().map(|r| (*r).to_owned()))
        .collect();
    assert_eq!(routes, covered, "a JSON route is missing from the authorization table");

    let mut wrong = Vec::new();
    for (route, body, expected) in &table {
        let (method, path) = route.split_once(' ').unwrap();
        let method: reqwest::Method = method.parse().unwrap();
        let (status, answer) = call(method, fill(path), at.clone(), body.clone()).await;
        if status != *expected {
            wrong.push(format!("{route}: {status} {answer}"));
        }
    }
    assert!(wrong.is_empty(), "{wrong:#?}");

    // Lists show only the caller's own.
    for list in ["/buckets", "/keys", "/presign"] {
        let (status, page) = call(reqwest::Method::GET, list.into(), at.clone(), None).await;
        assert_eq!(status, 200);
        let text = page.to_string();
        for theirs in [&bid, &kid, &lid, &name] {
            assert!(!text.contains(theirs.as_str()), "{list} shows the victim's {theirs}");
        }
    }
    // The attacker's history counts none of the victim's bytes or objects.
    let (status, history) = call(reqwest::Method::GET, "/usage/history".into(), at.clone(), None).await;
    assert_eq!(status, 200);
    let today = history["days"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(
        (today["used_bytes"].as_i64(), today["objects"].as_i64()),
        (Some(0), Some(0)),
        "{today}"
    );
    // The victim's resources are untouched.
    let (status, _) = call(
        reqwest::Method::GET,
        format!("/buckets/{bid}/files/{fid}"),
        vt.clone(),
        None,
    )
    .await;
    assert_eq!(status, 200);
    let (_, me) = call(reqwest::Method::GET, "/me".into(), vt.clone(), None).await;
    assert_ne!(me["disabled"], true);
    let (_, links) = call(reqwest::Method::GET, "/presign".into(), vt, None).await;
    assert!(links["items"][0]["revoked_at"].is_null());
}
