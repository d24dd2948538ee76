//! What clients call along the way, answered honestly.

use aws_sdk_s3::types::{ObjectCannedAcl, Permission, Tag, Tagging, TaggingDirective};
use base64::Engine as _;
use hmac::{Hmac, Mac};

use crate::common::{Backend, TestServer, code_status, unique, xml_code};

#[tokio::test]
async fn acls_describe_a_private_store_and_versioning_starts_off() {
    let srv = TestServer::start(Backend::Fs).await;
    let u = srv.user().await;
    let s3 = srv.client(&u);
    let b = unique("compat");
    s3.create_bucket().bucket(&b).send().await.unwrap();
    s3.put_object()
        .bucket(&b)
        .key("k")
        .body(b"v".to_vec().into())
        .send()
        .await
        .unwrap();

    let v = s3.get_bucket_versioning().bucket(&b).send().await.unwrap();
    assert!(v.status().is_none(), "never enabled");

    for acl in [
        s3.get_bucket_acl().bucket(&b).send().await.unwrap().grants().to_vec(),
        s3.get_object_acl()
            .bucket(&b)
            .key("k")
            .send()
            .await
            .unwrap()
            .grants()
            .to_vec(),
    ] {
        assert_eq!(acl.len(), 1);
        assert_eq!(acl[0].permission(), Some(&Permission::FullControl));
        assert_eq!(acl[0].grantee().unwrap().id(), Some(u.id.to_string().as_str()));
    }
    s3.put_object_acl()
        .bucket(&b)
        .key("k")
        .acl(ObjectCannedAcl::Private)
        .send()
        .await
        .unwrap();
    let res = s3
        .put_object_acl()
        .bucket(&b)
        .key("k")
        .acl(ObjectCannedAcl::PublicRead)
        .send()
        .await;
    // Public ACLs need GODRIVE_ALLOW_PUBLIC_BUCKETS (tests/it/public.rs); the canned ACLs
    // GoDrive does not serve at all are NotImplemented.
    assert_eq!(code_status(res), ("AccessDenied".into(), 403));
    let res = s3
        .put_object()
        .bucket(&b)
        .key("pub")
        .acl(ObjectCannedAcl::AwsExecRead)
        .body(b"x".to_vec().into())
        .send()
        .await;
    assert_eq!(code_status(res), ("NotImplemented".into(), 501));
    let res = s3.get_object_acl().bucket(&b).key("missing").send().await;
    assert_eq!(code_status(res), ("NoSuchKey".into(), 404));

    // HEAD ?versionId=null works on an unversioned bucket.
    s3.head_object()
        .bucket(&b)
        .key("k")
        .version_id("null")
        .send()
        .await
        .unwrap();
    // No policy yet.
    let res = s3.get_bucket_policy().bucket(&b).send().await;
    assert_eq!(code_status(res), ("NoSuchBucketPolicy".into(), 404));
}

#[tokio::test]
async fn object_tags_are_stored_copied_and_counted() {
    let srv = TestServer::start(Backend::Fs).await;
    let u = srv.user().await;
    let s3 = srv.client(&u);
    let b = unique("tags");
    s3.create_bucket().bucket(&b).send().await.unwrap();
    s3.put_object()
        .bucket(&b)
        .key("t")
        .tagging("project=blue%20sky&team=ops")
        .body(b"x".to_vec().into())
        .send()
        .await
        .unwrap();
    let got = s3.get_object_tagging().bucket(&b).key("t").send().await.unwrap();
    let tags: Vec<_> = got.tag_set().iter().map(|t| (t.key(), t.value())).collect();
    assert_eq!(tags, vec![("project", "blue sky"), ("team", "ops")]);
    assert_eq!(
        s3.get_object().bucket(&b).key("t").send().await.unwrap().tag_count(),
        Some(2)
    );

    let set = Tagging::builder()
        .tag_set(Tag::builder().key("only").value("one").build().unwrap())
        .build()
        .unwrap();
    s3.put_object_tagging()
        .bucket(&b)
        .key("t")
        .tagging(set)
        .send()
        .await
        .unwrap();
    s3.copy_object()
        .bucket(&b)
        .key("copied")
        .copy_source(format!("{b}/t"))
        .send()
        .await
        .unwrap();
    let got = s3.get_object_tagging().bucket(&b).key("copied").send().await.unwrap();
    assert_eq!(got.tag_set().len(), 1);
    s3.copy_object()
        .bucket(&b)
        .key("retagged")
        .copy_source(format!("{b}/t"))
        .tagging_directive(TaggingDirective::Replace)
        .tagging("new=tag")
        .send()
        .await
        .unwrap();
    let got = s3.get_object_tagging().bucket(&b).key("retagged").send().await.unwrap();
    assert_eq!(got.tag_set()[0].key(), "new");

    s3.delete_object_tagging().bucket(&b).key("t").send().await.unwrap();
    assert!(
        s3.get_object_tagging()
            .bucket(&b)
            .key("t")
            .send()
            .await
            .unwrap()
            .tag_set()
            .is_empty()
    );
    let res = s3.get_object_tagging().bucket(&b).key("missing").send().await;
    assert_eq!(code_status(res), ("NoSuchKey".into(), 404));
    let too_many: Vec<String> = (0..11).map(|i| format!("k{i}=v")).collect();
    let res = s3
        .put_object()
        .bucket(&b)
        .key("x")
        .tagging(too_many.join("&"))
        .body(b"x".to_vec().into())
        .send()
        .await;
    assert_eq!(code_status(res), ("InvalidTag".into(), 400));
}

/// `aws s3 presign`, boto3 and `s3cmd signurl` make SigV2 query-string URLs by default.
#[tokio::test]
async fn sigv2_presigned_urls_are_accepted() {
    let srv = TestServer::start(Backend::Fs).await;
    let u = srv.user().await;
    let s3 = srv.client(&u);
    let b = unique("v2");
    s3.create_bucket().bucket(&b).send().await.unwrap();
    s3.put_object()
        .bucket(&b)
        .key("doc.txt")
        .body(b"signed v2".to_vec().into())
        .send()
        .await
        .unwrap();

    let url_for = |expires: i64, secret: &str| {
        let to_sign = format!("GET\n\n\n{expires}\n/{b}/doc.txt");
        let mut mac = Hmac::<sha1::Sha1>::new_from_slice(secret.as_bytes()).unwrap();
        mac.update(to_sign.as_bytes());
        let sig = base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes());
        let sig: String = percent_encoding::utf8_percent_encode(&sig, percent_encoding::NON_ALPHANUMERIC).to_string();
        format!(
            "{}/{b}/doc.txt?AWSAccessKeyId={}&Expires={expires}&Signature={sig}",
            srv.url(),
            u.access_key
        )
    };
    let future = time::OffsetDateTime::now_utc().unix_timestamp() + 300;
    let resp = reqwest::get(url_for(future, &u.secret)).await.unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    assert_eq!(resp.text().await.unwrap(), "signed v2");

    let resp = reqwest::get(url_for(future, "wrong-secret")).await.unwrap();
    assert_eq!(resp.status().as_u16(), 403);
    assert_eq!(xml_code(&resp.text().await.unwrap()), "SignatureDoesNotMatch");
    let past = time::OffsetDateTime::now_utc().unix_timestamp() - 10;
    let resp = reqwest::get(url_for(past, &u.secret)).await.unwrap();
    assert_eq!(resp.status().as_u16(), 403);
}

/// Operations s3s does not know are answered NotImplemented, never routed as another one:
/// `DELETE ?metadataConfiguration` would otherwise delete the bucket, `PUT ?renameObject`
/// write an object.
#[tokio::test]
async fn unknown_subresources_are_not_implemented_rather_than_misrouted() {
    let srv = TestServer::start(Backend::Fs).await;
    let u = srv.user().await;
    let s3 = srv.client(&u);
    let b = unique("unrouted");
    s3.create_bucket().bucket(&b).send().await.unwrap();
    let send = |method: &'static str, path: String| {
        let url = format!("{}{path}", srv.url());
        let req = crate::common::signed(method, &url, &u, &[], b"");
        async move {
            let resp = req.send().await.unwrap();
            (resp.status().as_u16(), xml_code(&resp.text().await.unwrap()))
        }
    };
    for (method, path) in [
        ("DELETE", format!("/{b}?metadataConfiguration")),
        ("PUT", format!("/{b}?metadataJournalTable")),
        ("GET", format!("/{b}?abac")),
        ("PUT", format!("/{b}/k?renameObject")),
        ("PUT", format!("/{b}/k?encryption")),
    ] {
        assert_eq!(
            send(method, path.clone()).await,
            (501, "NotImplemented".into()),
            "{method} {path}"
        );
    }
    s3.head_bucket().bucket(&b).send().await.unwrap();
    assert!(s3.head_object().bucket(&b).key("k").send().await.is_err());
}

/// Every XML error names the request: its `RequestId` is the `x-amz-request-id` header, as
/// in S3, for errors GoDrive makes and for those s3s makes before GoDrive sees the request.
#[tokio::test]
async fn xml_errors_carry_the_request_id_of_their_header() {
    let srv = TestServer::start(Backend::Fs).await;
    let u = srv.user().await;
    let b = unique("reqid");
    srv.client(&u).create_bucket().bucket(&b).send().await.unwrap();
    let url = format!("{}/{b}/missing", srv.url());
    let req = crate::common::signed("GET", &url, &u, &[], b"");
    let unsigned = reqwest::Client::new().get(&url);
    for (req, code) in [(req, "NoSuchKey"), (unsigned, "AccessDenied")] {
        let resp = req.send().await.unwrap();
        let header = resp.headers()["x-amz-request-id"].to_str().unwrap().to_owned();
        let body = resp.text().await.unwrap();
        assert_eq!(xml_code(&body), code);
        let id = body
            .split("<RequestId>")
            .nth(1)
            .and_then(|s| s.split("</RequestId>").next());
        assert_eq!(id, Some(header.as_str()), "{body}");
    }
}

/// An empty or a duplicated `Authorization` header is refused with 403, as in S3.
#[tokio::test]
async fn an_empty_or_duplicated_authorization_header_is_forbidden() {
    let srv = TestServer::start(Backend::Fs).await;
    let u = srv.user().await;
    let b = unique("authz");
    srv.client(&u).create_bucket().bucket(&b).send().await.unwrap();
    let url = format!("{}/{b}", srv.url());
    let signed = crate::common::sign_request("GET", &url, &u, &[], aws_sigv4::http_request::SignableBody::Bytes(b""));
    let auth = signed.iter().find(|(k, _)| k == "authorization").unwrap().1.clone();
    let with = |values: &[&str]| {
        let mut req = reqwest::Client::new().get(&url);
        for (k, v) in &signed {
            if k != "host" && k != "authorization" {
                req = req.header(k, v);
            }
        }
        for v in values {
            req = req.header("authorization", *v);
        }
        req
    };
    for (label, values) in [("empty", vec![""]), ("duplicated", vec![auth.as_str(), auth.as_str()])] {
        let resp = with(&values).send().await.unwrap();
        let status = resp.status().as_u16();
        let body = resp.text().await.unwrap();
        assert_eq!(status, 403, "{label}: {body}");
        assert!(!xml_code(&body).is_empty(), "{label}: {body}");
    }
    // The same request with one header is served.
    assert_eq!(with(&[auth.as_str()]).send().await.unwrap().status().as_u16(), 200);
}

/// A POST Object form whose `key` holds `${filename}` stores the object under the uploaded
/// file's name, as S3 does.
#[tokio::test]
async fn a_form_key_with_filename_takes_the_uploaded_files_name() {
    let srv = TestServer::start(Backend::Fs).await;
    let u = srv.user().await;
    let s3 = srv.client(&u);
    let b = unique("form");
    s3.create_bucket().bucket(&b).send().await.unwrap();
    let fields = crate::common::post_form_fields(&u.access_key, &u.secret, &b, &[("key", "uploads/${filename}")]);
    let mut form = reqwest::multipart::Form::new();
    for (k, v) in fields {
        form = form.text(k, v);
    }
    form = form.part(
        "file",
        reqwest::multipart::Part::bytes(b"form bytes".to_vec()).file_name("photo 1.jpg"),
    );
    let resp = reqwest::Client::new()
        .post(format!("{}/{b}", srv.url()))
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert!(resp.status().is_success(), "{}", resp.text().await.unwrap());
    let got = s3
        .get_object()
        .bucket(&b)
        .key("uploads/photo 1.jpg")
        .send()
        .await
        .unwrap();
    assert_eq!(got.body.collect().await.unwrap().to_vec(), b"form bytes");
    assert!(
        s3.head_object()
            .bucket(&b)
            .key("uploads/${filename}")
            .send()
            .await
            .is_err()
    );
}

/// User metadata comes back exactly as sent: plain ASCII, UTF-8 bytes in the header, and
/// RFC 2047 encoded words.
#[tokio::test]
async fn user_metadata_comes_back_as_sent_or_mail_safe() {
    let srv = TestServer::start(Backend::Fs).await;
    let u = srv.user().await;
    let b = unique("meta");
    srv.client(&u).create_bucket().bucket(&b).send().await.unwrap();
    let url = format!("{}/{b}/k", srv.url());
    let values: [&[u8]; 3] = [
        b"plain value",
        "h\u{e9}llo w\u{f6}rld \u{65e5}\u{672c}".as_bytes(),
        b"=?UTF-8?B?aMOpbGxv?=",
    ];
    for value in values {
        let header = http::HeaderValue::from_bytes(value).unwrap();
        // Signed over the same bytes it sends.
        let req = crate::common::signed("PUT", &url, &u, &[], b"v");
        let put = req
            .header("x-amz-meta-title", header.clone())
            .body("v")
            .send()
            .await
            .unwrap();
        assert!(put.status().is_success(), "{:?}: {}", value, put.text().await.unwrap());
        let req = crate::common::signed("GET", &url, &u, &[], b"");
        let got = req.send().await.unwrap();
        let want = match value.is_ascii() {
            true => value.to_vec(),
            false => format!(
                "=?UTF-8?B?{}?=",
                base64::engine::general_purpose::STANDARD.encode(value)
            )
            .into_bytes(),
        };
        let got = got.headers().get("x-amz-meta-title").map(|v| v.as_bytes().to_vec());
        assert_eq!(got, Some(want), "{:?}", String::from_utf8_lossy(value));
    }
}

/// On an unversioned bucket the only version is `null`: any other `versionId` is
/// NoSuchVersion on every operation that takes one; and `x-amz-grant-*` headers on uploads
/// and new buckets are refused, not ignored.
#[tokio::test]
async fn unknown_versions_and_grant_headers_are_refused_not_ignored() {
    let srv = TestServer::start(Backend::Fs).await;
    let u = srv.user().await;
    let s3 = srv.client(&u);
    let b = unique("versions");
    s3.create_bucket().bucket(&b).send().await.unwrap();
    s3.put_object()
        .bucket(&b)
        .key("k")
        .body(b"v".to_vec().into())
        .send()
        .await
        .unwrap();
    let v = "3HL4kqtJlcpXroDTDmJ+rmSpXd3dIbrHY";
    let no_such = ("NoSuchVersion".to_owned(), 404);
    assert_eq!(
        code_status(s3.get_object().bucket(&b).key("k").version_id(v).send().await),
        no_such
    );
    assert_eq!(
        code_status(s3.head_object().bucket(&b).key("k").version_id(v).send().await).1,
        404
    );
    assert_eq!(
        code_status(s3.get_object_tagging().bucket(&b).key("k").version_id(v).send().await),
        no_such
    );
    assert_eq!(
        code_status(s3.get_object_acl().bucket(&b).key("k").version_id(v).send().await),
        no_such
    );
    s3.get_object()
        .bucket(&b)
        .key("k")
        .version_id("null")
        .send()
        .await
        .unwrap();

    let res = s3
        .put_object()
        .bucket(&b)
        .key("shared")
        .grant_read("uri=\"http://acs.amazonaws.com/groups/global/AllUsers\"")
        .body(b"v".to_vec().into())
        .send()
        .await;
    assert_eq!(code_status(res), ("NotImplemented".into(), 501));
    assert!(s3.head_object().bucket(&b).key("shared").send().await.is_err());
    let res = s3
        .create_bucket()
        .bucket(unique("granted"))
        .grant_full_control("id=\"someone\"")
        .send()
        .await;
    assert_eq!(code_status(res), ("NotImplemented".into(), 501));
}
