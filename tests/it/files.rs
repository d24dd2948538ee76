//! Files through the JSON API, on both backends.

use reqwest::multipart::{Form, Part};
use reqwest::{Client, StatusCode};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::common::{BACKENDS, Backend, TestServer, client_for, unique};

/// A registered, logged-in user with one bucket: (client, access token, the bucket's URL).
pub async fn session(srv: &TestServer) -> (Client, String, String) {
    let http = Client::new();
    let base = format!("{}/v1", srv.url());
    let email = format!("{}@example.com", unique("files"));
    let creds = json!({"email": email, "password": "password123"});
    http.post(format!("{base}/auth/register"))
        .json(&creds)
        .send()
        .await
        .unwrap();
    let tokens: Value = http
        .post(format!("{base}/auth/login"))
        .json(&creds)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = tokens["access_token"].as_str().unwrap().to_owned();
    let bucket: Value = http
        .post(format!("{base}/buckets"))
        .bearer_auth(&token)
        .json(&json!({"name": unique("files")}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    (
        http,
        token,
        format!("{base}/buckets/{}", bucket["id"].as_str().unwrap()),
    )
}

/// GET `url` with the access token; the JSON answer.
pub async fn get_json(http: &Client, url: &str, token: &str) -> Value {
    http.get(url)
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

fn data(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 7 % 251) as u8).collect()
}

#[tokio::test]
async fn upload_list_download_and_delete() {
    for backend in BACKENDS {
        let srv = TestServer::start(backend).await;
        let (http, token, bucket) = session(&srv).await;
        // 9 MiB: over one backend part on the s3 backend, so the upload goes in parts.
        let body = data(9 * 1024 * 1024 + 123);
        let form = Form::new().part(
            "file",
            Part::bytes(body.clone())
                .file_name("report final.pdf")
                .mime_str("application/pdf")
                .unwrap(),
        );
        let resp = http
            .post(format!("{bucket}/files"))
            .bearer_auth(&token)
            .multipart(form)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), StatusCode::CREATED, "{backend:?}");
        let file: Value = resp.json().await.unwrap();
        assert_eq!(file["key"], "report final.pdf");
        assert_eq!(file["size"], body.len() as u64);
        assert_eq!(file["content_type"], "application/pdf");
        assert_eq!(file["sha256"], hex::encode(Sha256::digest(&body)));
        let id = file["id"].as_str().unwrap();

        let form = Form::new()
            .text("key", "docs/notes.txt")
            .part("file", Part::bytes(b"hello".to_vec()).file_name("x.txt"));
        let resp = http
            .post(format!("{bucket}/files"))
            .bearer_auth(&token)
            .multipart(form)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), StatusCode::CREATED);

        let meta: Value = http
            .get(format!("{bucket}/files/{id}"))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(meta["etag"], file["etag"]);

        let got = http
            .get(format!("{bucket}/files/{id}/content"))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        assert_eq!(got.status(), StatusCode::OK);
        assert_eq!(got.headers()["content-type"], "application/pdf");
        let disp = got.headers()["content-disposition"].to_str().unwrap().to_owned();
        assert!(disp.starts_with("attachment; filename=\"report final.pdf\""), "{disp}");
        assert_eq!(Sha256::digest(got.bytes().await.unwrap()), Sha256::digest(&body));
        let part = http
            .get(format!("{bucket}/files/{id}/content"))
            .bearer_auth(&token)
            .header("range", "bytes=10-19")
            .send()
            .await
            .unwrap();
        assert_eq!(part.status(), StatusCode::PARTIAL_CONTENT);
        assert_eq!(part.bytes().await.unwrap().as_ref(), &body[10..20]);
        let bad = http
            .get(format!("{bucket}/files/{id}/content"))
            .bearer_auth(&token)
            .header("range", format!("bytes={}-", body.len()))
            .send()
            .await
            .unwrap();
        assert_eq!(bad.status(), StatusCode::RANGE_NOT_SATISFIABLE);

        let page: Value = http
            .get(format!("{bucket}/files?limit=1"))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(page["items"][0]["key"], "docs/notes.txt");
        let cursor = page["next_cursor"].as_str().unwrap();
        let page: Value = http
            .get(format!("{bucket}/files?limit=1&cursor={cursor}"))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(page["items"][0]["key"], "report final.pdf");
        assert!(page["next_cursor"].is_null());
        let page: Value = http
            .get(format!("{bucket}/files?prefix=docs/"))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(page["items"].as_array().unwrap().len(), 1);

        // Another user sees nothing of it.
        let (_, other, _) = session(&srv).await;
        for url in [
            format!("{bucket}/files/{id}"),
            format!("{bucket}/files/{id}/content"),
            format!("{bucket}/files"),
        ] {
            let resp = http.get(&url).bearer_auth(&other).send().await.unwrap();
            assert_eq!(resp.status(), StatusCode::NOT_FOUND, "{url}");
        }
        let resp = http
            .delete(format!("{bucket}/files/{id}"))
            .bearer_auth(&other)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), StatusCode::NOT_FOUND);

        let resp = http
            .delete(format!("{bucket}/files/{id}"))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), StatusCode::NO_CONTENT);
        let resp = http
            .get(format!("{bucket}/files/{id}"))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), StatusCode::NOT_FOUND);
        assert_eq!(srv.object_rows().await, 1);
        srv.assert_no_orphans().await;
    }
}

#[tokio::test]
async fn uploads_over_the_limit_are_413_and_leave_nothing() {
    for backend in BACKENDS {
        let srv = TestServer::start_with(backend, &[("GODRIVE_MAX_UPLOAD_BYTES", "100000")]).await;
        let (http, token, bucket) = session(&srv).await;
        // Declared too large: refused before reading.
        let form = Form::new().part("file", Part::bytes(data(500_000)).file_name("big.bin"));
        let resp = http
            .post(format!("{bucket}/files"))
            .bearer_auth(&token)
            .multipart(form)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), StatusCode::PAYLOAD_TOO_LARGE);
        let body: Value = resp.json().await.unwrap();
        assert_eq!(body["error"]["code"], "payload_too_large");
        // No length declared (chunked): refused while streaming.
        let stream = futures::stream::iter((0..20).map(|_| Ok::<_, std::io::Error>(bytes::Bytes::from(data(10_000)))));
        let part = Part::stream(reqwest::Body::wrap_stream(stream)).file_name("big.bin");
        let resp = http
            .post(format!("{bucket}/files"))
            .bearer_auth(&token)
            .multipart(Form::new().part("file", part))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), StatusCode::PAYLOAD_TOO_LARGE, "{backend:?}");
        assert_eq!(srv.object_rows().await, 0);
        srv.assert_no_orphans().await;
        // Just under the limit is fine.
        let form = Form::new().part("file", Part::bytes(data(99_000)).file_name("ok.bin"));
        let resp = http
            .post(format!("{bucket}/files"))
            .bearer_auth(&token)
            .multipart(form)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), StatusCode::CREATED);
    }
}

#[tokio::test]
async fn files_are_the_same_objects_s3_sees() {
    let srv = TestServer::start(Backend::Fs).await;
    let (http, token, bucket) = session(&srv).await;
    let form = Form::new()
        .text("key", "shared/a.txt")
        .part("file", Part::bytes(b"both sides".to_vec()).file_name("a.txt"));
    http.post(format!("{bucket}/files"))
        .bearer_auth(&token)
        .multipart(form)
        .send()
        .await
        .unwrap();
    let key: Value = http
        .post(format!("{}/v1/keys", srv.url()))
        .bearer_auth(&token)
        .json(&json!({"name": "s3"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let s3 = client_for(
        &srv.url(),
        key["access_key_id"].as_str().unwrap(),
        key["secret_access_key"].as_str().unwrap(),
    );
    let b: Value = http
        .get(&bucket)
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let got = s3
        .get_object()
        .bucket(b["name"].as_str().unwrap())
        .key("shared/a.txt")
        .send()
        .await
        .unwrap();
    assert_eq!(got.body.collect().await.unwrap().into_bytes().as_ref(), b"both sides");
    let resp = http
        .post(format!("{bucket}/files"))
        .bearer_auth(&token)
        .body("not a form")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
}
