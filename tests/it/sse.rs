//! Server-side encryption is not implemented, so every request asking for it (SSE-S3,
//! SSE-KMS, SSE-C) is refused with `501 NotImplemented`, never answered 200 with plaintext
//! stored, and leaves nothing behind: no row, no blob, no reservation, no upload.

use aws_sdk_s3::types::ServerSideEncryption;
use base64::Engine as _;
use md5::{Digest as _, Md5};

use crate::common::{BACKENDS, TestServer, TestUser, code_status, sign_request, unique, xml_code};

/// An SSE-C key with its MD5, both base64, as the headers carry them.
fn customer_key() -> (String, String) {
    let key = [7u8; 32];
    let b64 = base64::engine::general_purpose::STANDARD;
    (b64.encode(key), b64.encode(Md5::digest(key)))
}

const NOT_IMPLEMENTED: (&str, u16) = ("NotImplemented", 501);

fn is_not_implemented<E, R>(res: Result<R, aws_sdk_s3::error::SdkError<E, aws_smithy_runtime_api::http::Response>>)
where
    E: aws_sdk_s3::error::ProvideErrorMetadata + std::fmt::Debug,
    R: std::fmt::Debug,
{
    let (code, status) = code_status(res);
    assert_eq!((code.as_str(), status), NOT_IMPLEMENTED);
}

/// Nothing was stored or reserved: `objects` rows in all, no orphan blob, no open upload
/// besides `uploads`, nothing reserved.
async fn nothing_left(srv: &TestServer, u: &TestUser, objects: i64, uploads: i64) {
    assert_eq!(srv.object_rows().await, objects);
    srv.assert_no_orphans().await;
    assert_eq!(srv.open_uploads().await.0, uploads);
    let parts: i64 = sqlx::query_scalar("select count(*) from multipart_parts")
        .fetch_one(&srv.state.db)
        .await
        .unwrap();
    assert_eq!(parts, 0);
    // A refused request never reserved, so there is nothing to wait for.
    let reservations: i64 = sqlx::query_scalar("select count(*) from reservations")
        .fetch_one(&srv.state.db)
        .await
        .unwrap();
    assert_eq!(reservations, 0);
    let usage = godrive::db::usage::of_user(&srv.state.db, u.id).await.unwrap().unwrap();
    assert_eq!(usage.reserved_bytes, 0);
}

#[tokio::test]
async fn encryption_requests_are_not_implemented_and_store_nothing() {
    for backend in BACKENDS {
        let srv = TestServer::start(backend).await;
        let u = srv.user().await;
        // A quota, so that an upload that got through would reserve room.
        sqlx::query("update users set quota_bytes = 100000000 where id = $1")
            .bind(u.id)
            .execute(&srv.state.db)
            .await
            .unwrap();
        let s3 = crate::common::without_retries(&srv.client(&u));
        let b = unique("sse");
        s3.create_bucket().bucket(&b).send().await.unwrap();
        let (key, key_md5) = customer_key();
        let body = || aws_sdk_s3::primitives::ByteStream::from(vec![1u8; 70_000]);

        // PutObject: SSE-S3, SSE-KMS (with a key id and bucket key), SSE-C.
        let put = || s3.put_object().bucket(&b).key("secret").body(body());
        is_not_implemented(put().server_side_encryption(ServerSideEncryption::Aes256).send().await);
        is_not_implemented(
            put()
                .server_side_encryption(ServerSideEncryption::AwsKms)
                .ssekms_key_id("arn:aws:kms:us-east-1:111122223333:key/some-key")
                .bucket_key_enabled(true)
                .send()
                .await,
        );
        is_not_implemented(
            put()
                .sse_customer_algorithm("AES256")
                .sse_customer_key(&key)
                .sse_customer_key_md5(&key_md5)
                .send()
                .await,
        );
        nothing_left(&srv, &u, 0, 0).await;

        // A plain object to copy and read.
        s3.put_object()
            .bucket(&b)
            .key("plain")
            .body(body())
            .send()
            .await
            .unwrap();

        // CopyObject: asking to encrypt the copy, or naming an SSE-C source.
        let copy = || {
            s3.copy_object()
                .bucket(&b)
                .key("copy")
                .copy_source(format!("{b}/plain"))
        };
        is_not_implemented(copy().server_side_encryption(ServerSideEncryption::Aes256).send().await);
        is_not_implemented(copy().server_side_encryption(ServerSideEncryption::AwsKms).send().await);
        is_not_implemented(
            copy()
                .copy_source_sse_customer_algorithm("AES256")
                .copy_source_sse_customer_key(&key)
                .copy_source_sse_customer_key_md5(&key_md5)
                .send()
                .await,
        );
        nothing_left(&srv, &u, 1, 0).await;

        // CreateMultipartUpload: no upload is opened.
        let create = || s3.create_multipart_upload().bucket(&b).key("mp");
        is_not_implemented(
            create()
                .server_side_encryption(ServerSideEncryption::Aes256)
                .send()
                .await,
        );
        is_not_implemented(
            create()
                .server_side_encryption(ServerSideEncryption::AwsKms)
                .ssekms_encryption_context("eyJhIjoiYiJ9")
                .send()
                .await,
        );
        is_not_implemented(
            create()
                .sse_customer_algorithm("AES256")
                .sse_customer_key(&key)
                .sse_customer_key_md5(&key_md5)
                .send()
                .await,
        );
        nothing_left(&srv, &u, 1, 0).await;

        // UploadPart and UploadPartCopy with SSE-C, on an upload opened without it: no part.
        let upload = create().send().await.unwrap().upload_id().unwrap().to_owned();
        is_not_implemented(
            s3.upload_part()
                .bucket(&b)
                .key("mp")
                .upload_id(&upload)
                .part_number(1)
                .body(body())
                .sse_customer_algorithm("AES256")
                .sse_customer_key(&key)
                .sse_customer_key_md5(&key_md5)
                .send()
                .await,
        );
        is_not_implemented(
            s3.upload_part_copy()
                .bucket(&b)
                .key("mp")
                .upload_id(&upload)
                .part_number(1)
                .copy_source(format!("{b}/plain"))
                .copy_source_sse_customer_algorithm("AES256")
                .copy_source_sse_customer_key(&key)
                .copy_source_sse_customer_key_md5(&key_md5)
                .send()
                .await,
        );
        nothing_left(&srv, &u, 1, 1).await;
        s3.abort_multipart_upload()
            .bucket(&b)
            .key("mp")
            .upload_id(&upload)
            .send()
            .await
            .unwrap();

        // Reads with SSE-C: refused, not served as if decrypted.
        is_not_implemented(
            s3.get_object()
                .bucket(&b)
                .key("plain")
                .sse_customer_algorithm("AES256")
                .sse_customer_key(&key)
                .sse_customer_key_md5(&key_md5)
                .send()
                .await,
        );
        // A HEAD answer has no body to carry the code: the status says it.
        let (_, status) = code_status(
            s3.head_object()
                .bucket(&b)
                .key("plain")
                .sse_customer_algorithm("AES256")
                .sse_customer_key(&key)
                .sse_customer_key_md5(&key_md5)
                .send()
                .await,
        );
        assert_eq!(status, 501);
        // Without them, the object is there as stored.
        let got = s3.get_object().bucket(&b).key("plain").send().await.unwrap();
        assert_eq!(got.body.collect().await.unwrap().into_bytes().len(), 70_000);
        nothing_left(&srv, &u, 1, 0).await;
    }
}

/// Whatever value the header has, even none, and on a form upload as a form field.
#[tokio::test]
async fn any_encryption_header_or_form_field_is_refused() {
    let srv = TestServer::start(crate::common::Backend::Fs).await;
    let u = srv.user().await;
    let s3 = srv.client(&u);
    let b = unique("sse");
    s3.create_bucket().bucket(&b).send().await.unwrap();
    let http = reqwest::Client::new();
    for (name, value) in [
        ("x-amz-server-side-encryption", ""),
        ("x-amz-server-side-encryption", "whatever"),
        ("x-amz-server-side-encryption-aws-kms-key-id", "k"),
        ("x-amz-server-side-encryption-bucket-key-enabled", "false"),
        ("x-amz-server-side-encryption-customer-algorithm", "AES256"),
    ] {
        let url = format!("{}/{b}/hand-signed", srv.url());
        let payload = b"plaintext";
        let headers = sign_request(
            "PUT",
            &url,
            &u,
            &[(name, value)],
            aws_sigv4::http_request::SignableBody::Bytes(payload),
        );
        let mut req = http.put(&url).body(payload.to_vec());
        for (k, v) in &headers {
            req = req.header(k, v);
        }
        let resp = req.send().await.unwrap();
        let status = resp.status().as_u16();
        let code = xml_code(&resp.text().await.unwrap());
        assert_eq!((code.as_str(), status), NOT_IMPLEMENTED, "{name}: {value:?}");
    }

    // POST Object: the form field, in a policy that allows it.
    for (field, value) in [
        ("x-amz-server-side-encryption", "AES256"),
        ("x-amz-server-side-encryption-customer-algorithm", "AES256"),
    ] {
        let fields =
            crate::common::post_form_fields(&u.access_key, &u.secret, &b, &[("key", "form-upload"), (field, value)]);
        let mut form = reqwest::multipart::Form::new();
        for (k, v) in fields {
            form = form.text(k, v);
        }
        form = form.part(
            "file",
            reqwest::multipart::Part::bytes(b"form plaintext".to_vec()).file_name("f.txt"),
        );
        let resp = http
            .post(format!("{}/{b}", srv.url()))
            .multipart(form)
            .send()
            .await
            .unwrap();
        let status = resp.status().as_u16();
        let code = xml_code(&resp.text().await.unwrap());
        assert_eq!((code.as_str(), status), NOT_IMPLEMENTED, "{field}");
    }
    nothing_left(&srv, &u, 0, 0).await;
}
