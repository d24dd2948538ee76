//! Uploads in parts through the JSON API (the console's large files), on both backends:
//! the same core as S3's multipart uploads, so the same rules hold (parts reserve before
//! their bytes, a part sent again replaces the old one, an aborted upload leaves nothing).

use reqwest::{Client, StatusCode};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::common::{BACKENDS, TestServer};
use crate::files::{get_json, session};

const MIB: usize = 1024 * 1024;

fn data(len: usize, seed: u8) -> Vec<u8> {
    (0..len).map(|i| (i * 13 % 251) as u8 ^ seed).collect()
}

async fn put_part(http: &Client, url: &str, token: &str, body: Vec<u8>) -> (StatusCode, Value) {
    let r = http.put(url).bearer_auth(token).body(body).send().await.unwrap();
    let status = r.status();
    (status, r.json().await.unwrap_or(Value::Null))
}

async fn post(http: &Client, url: &str, token: &str, body: Value) -> (StatusCode, Value) {
    let r = http.post(url).bearer_auth(token).json(&body).send().await.unwrap();
    let status = r.status();
    (status, r.json().await.unwrap_or(Value::Null))
}

fn code(b: &Value) -> &str {
    b["error"]["code"].as_str().unwrap_or("")
}

async fn reserved(srv: &TestServer) -> i64 {
    sqlx::query_scalar("select coalesce(sum(reserved_bytes), 0)::int8 from users")
        .fetch_one(&srv.state.db)
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_file_in_parts_is_resumed_completed_and_reads_back() {
    for backend in BACKENDS {
        let srv = TestServer::start(backend).await;
        let (http, token, bucket) = session(&srv).await;
        let (s, up) = post(
            &http,
            &format!("{bucket}/uploads"),
            &token,
            json!({"key": "big/video.bin", "content_type": "video/mp4"}),
        )
        .await;
        assert_eq!(s, StatusCode::CREATED, "{up}");
        assert_eq!(
            (up["min_part_size"].as_u64(), up["max_parts"].as_u64()),
            (Some(5 * MIB as u64), Some(10_000))
        );
        let id = up["id"].as_str().unwrap();
        let parts_url = format!("{bucket}/uploads/{id}/parts");
        let (one, two, three) = (data(5 * MIB, 1), data(5 * MIB, 2), data(123_456, 3));
        // Part 1 and 3 arrive; part 2 first with the wrong bytes, then again (replaced).
        for (n, body) in [
            (1, one.clone()),
            (3, three.clone()),
            (2, data(5 * MIB, 9)),
            (2, two.clone()),
        ] {
            let (s, b) = put_part(&http, &format!("{parts_url}/{n}"), &token, body).await;
            assert_eq!(s, StatusCode::OK, "{b}");
            assert_eq!(b["number"], n);
        }
        // What a resume reads: every part the server has, with its size and ETag.
        let listed = get_json(&http, &parts_url, &token).await;
        let items = listed["items"].as_array().unwrap();
        assert_eq!(
            items.iter().map(|p| p["number"].as_i64().unwrap()).collect::<Vec<_>>(),
            [1, 2, 3]
        );
        assert_eq!(items[1]["etag"], hex::encode(md5::Md5::digest(&two)));
        assert_eq!(items[2]["size"], 123_456);
        let parts: Vec<Value> = items
            .iter()
            .map(|p| json!({"number": p["number"], "etag": p["etag"]}))
            .collect();

        // Refused lists leave the upload to complete later.
        let (s, b) = post(
            &http,
            &format!("{bucket}/uploads/{id}/complete"),
            &token,
            json!({"parts": []}),
        )
        .await;
        assert_eq!((s, code(&b)), (StatusCode::BAD_REQUEST, "validation_error"));
        let (s, b) = post(
            &http,
            &format!("{bucket}/uploads/{id}/complete"),
            &token,
            json!({"parts": [parts[1], parts[0]]}),
        )
        .await;
        assert_eq!((s, code(&b)), (StatusCode::BAD_REQUEST, "validation_error"), "{b}");
        let (s, b) = post(
            &http,
            &format!("{bucket}/uploads/{id}/complete"),
            &token,
            json!({"parts": [parts[2], {"number": 4, "etag": "x"}]}),
        )
        .await;
        assert_eq!((s, code(&b)), (StatusCode::BAD_REQUEST, "validation_error"), "{b}");
        let (s, b) = post(
            &http,
            &format!("{bucket}/uploads/{id}/complete"),
            &token,
            json!({"parts": parts}),
        )
        .await;
        assert_eq!(s, StatusCode::CREATED, "{b}");
        assert_eq!(b["key"], "big/video.bin");
        assert_eq!(b["size"], 10 * MIB + 123_456);
        assert_eq!(b["content_type"], "video/mp4");
        assert!(b["etag"].as_str().unwrap().ends_with("-3"));
        let whole: Vec<u8> = [one, two, three].concat();
        let got = http
            .get(format!("{bucket}/files/{}/content", b["id"].as_str().unwrap()))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap();
        assert_eq!(hex::encode(Sha256::digest(&got)), hex::encode(Sha256::digest(&whole)));
        // The upload is gone; its parts are the file's now, nothing else is left.
        let (s, _) = put_part(&http, &format!("{parts_url}/4"), &token, vec![1]).await;
        assert_eq!(s, StatusCode::NOT_FOUND);
        assert_eq!(reserved(&srv).await, 0);
        assert_eq!(srv.open_uploads().await, (0, 0));
        srv.assert_no_orphans().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn parts_are_refused_in_words_and_an_aborted_upload_leaves_nothing() {
    for backend in BACKENDS {
        let srv = TestServer::start_with(backend, &[("GODRIVE_MAX_UPLOAD_BYTES", "6000000")]).await;
        let (http, token, bucket) = session(&srv).await;
        let (_, up) = post(&http, &format!("{bucket}/uploads"), &token, json!({"key": "a.bin"})).await;
        let id = up["id"].as_str().unwrap().to_owned();
        assert_eq!(up["max_part_size"], 6_000_000);
        let part = |n: &str| format!("{bucket}/uploads/{id}/parts/{n}");
        for n in ["0", "10001"] {
            let (s, b) = put_part(&http, &part(n), &token, vec![1]).await;
            assert_eq!((s, code(&b)), (StatusCode::BAD_REQUEST, "validation_error"), "{n}: {b}");
        }
        // Not a number at all: no such route (as for any malformed id).
        let (s, b) = put_part(&http, &part("x"), &token, vec![1]).await;
        assert_eq!((s, code(&b)), (StatusCode::NOT_FOUND, "not_found"));
        let (s, b) = put_part(&http, &part("1"), &token, vec![0; 6_000_001]).await;
        assert_eq!((s, code(&b)), (StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large"));
        // A body of unknown length is refused before it is read.
        let stream = futures::stream::iter([Ok::<_, std::io::Error>(bytes::Bytes::from_static(b"abc"))]);
        let r = http
            .put(part("1"))
            .bearer_auth(&token)
            .body(reqwest::Body::wrap_stream(stream))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::BAD_REQUEST);
        // A part under 5 MiB before the last makes the list invalid.
        for n in ["1", "2"] {
            let (s, _) = put_part(&http, &part(n), &token, vec![7; 1000]).await;
            assert_eq!(s, StatusCode::OK);
        }
        let listed = get_json(&http, &format!("{bucket}/uploads/{id}/parts"), &token).await;
        let parts: Vec<Value> = listed["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| json!({"number": p["number"], "etag": p["etag"]}))
            .collect();
        let (s, b) = post(
            &http,
            &format!("{bucket}/uploads/{id}/complete"),
            &token,
            json!({"parts": parts}),
        )
        .await;
        assert_eq!((s, code(&b)), (StatusCode::BAD_REQUEST, "validation_error"), "{b}");
        assert!(
            b["error"]["message"]
                .as_str()
                .unwrap()
                .contains("smaller than the minimum"),
            "{b}"
        );
        assert!(reserved(&srv).await > 0, "the parts hold their room");
        // Another user sees none of it.
        let (http2, token2, _) = session(&srv).await;
        let (s, _) = put_part(&http2, &part("3"), &token2, vec![1]).await;
        assert_eq!(s, StatusCode::NOT_FOUND);
        let r = http2
            .delete(format!("{bucket}/uploads/{id}"))
            .bearer_auth(&token2)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::NOT_FOUND);
        // Aborted: no upload, no reservation, no bytes; a second abort is 404.
        let r = http
            .delete(format!("{bucket}/uploads/{id}"))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::NO_CONTENT);
        let r = http
            .delete(format!("{bucket}/uploads/{id}"))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::NOT_FOUND);
        assert_eq!(reserved(&srv).await, 0);
        assert_eq!(srv.open_uploads().await, (0, 0));
        assert_eq!(srv.object_rows().await, 0);
        srv.assert_no_orphans().await;
        let (s, b) = post(&http, &format!("{bucket}/uploads"), &token, json!({"key": ""})).await;
        assert_eq!((s, code(&b)), (StatusCode::BAD_REQUEST, "validation_error"), "{b}");
    }
}

#[tokio::test]
async fn a_part_over_the_quota_is_refused_before_its_bytes() {
    let srv = TestServer::start(crate::common::Backend::Fs).await;
    let (http, token, bucket) = session(&srv).await;
    let id: uuid::Uuid = sqlx::query_scalar("select id from users order by created_at desc limit 1")
        .fetch_one(&srv.state.db)
        .await
        .unwrap();
    sqlx::query("update users set quota_bytes = 1000000 where id = $1")
        .bind(id)
        .execute(&srv.state.db)
        .await
        .unwrap();
    srv.state
        .auth_cache
        .changed(&srv.state.db, godrive::accounts::cache::Change::User(id))
        .await;
    let (_, up) = post(&http, &format!("{bucket}/uploads"), &token, json!({"key": "q.bin"})).await;
    let url = format!("{bucket}/uploads/{}/parts/1", up["id"].as_str().unwrap());
    let (s, b) = put_part(&http, &url, &token, vec![0; 1_500_000]).await;
    assert_eq!((s, code(&b)), (StatusCode::FORBIDDEN, "quota_exceeded"), "{b}");
    assert!(b["error"]["message"].as_str().unwrap().contains("storage quota"), "{b}");
    assert_eq!(reserved(&srv).await, 0);
    srv.assert_no_orphans().await;
}
