//! The JSON API reads and deletes multipart objects stored as their part blobs.

use reqwest::StatusCode;
use serde_json::{Value, json};

use super::{SIZES, blob_files_become, put_multipart, start};
use crate::common::{BACKENDS, TestServer, client_for};

#[tokio::test]
async fn json_downloads_and_deletions_handle_part_blobs() {
    for backend in BACKENDS {
        let srv = TestServer::start(backend).await;
        let (http, token, bucket) = crate::files::session(&srv).await;
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
        let name = b["name"].as_str().unwrap().to_owned();
        let body = put_multipart(&s3, &name, "big.bin", 20).await;
        let file_id: uuid::Uuid = sqlx::query_scalar("select id from objects where key = 'big.bin'")
            .fetch_one(&srv.state.db)
            .await
            .unwrap();
        let content = format!("{bucket}/files/{file_id}/content");

        let whole = http.get(&content).bearer_auth(&token).send().await.unwrap();
        assert_eq!(whole.status(), StatusCode::OK);
        assert!(whole.bytes().await.unwrap().as_ref() == body.as_slice(), "{backend:?}");
        let (p1, total) = (SIZES[0], body.len());
        for (range, from, to) in [
            (format!("bytes={}-{}", p1 - 5, p1 + 4), p1 - 5, p1 + 5),
            (format!("bytes=-{}", SIZES[2] + 1), total - SIZES[2] - 1, total),
        ] {
            let resp = http
                .get(&content)
                .bearer_auth(&token)
                .header("range", &range)
                .send()
                .await
                .unwrap();
            assert_eq!(resp.status(), StatusCode::PARTIAL_CONTENT, "{range}");
            let want = format!("bytes {from}-{}/{total}", to - 1);
            assert_eq!(resp.headers()["content-range"].to_str().unwrap(), want);
            assert!(
                resp.bytes().await.unwrap().as_ref() == &body[from..to],
                "{backend:?} {range}"
            );
        }

        // Deleting the file removes its part blobs.
        let resp = http
            .delete(format!("{bucket}/files/{file_id}"))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), StatusCode::NO_CONTENT);
        blob_files_become(&srv, 0).await;

        // Deleting the bucket with a multipart object and an upload in progress removes both.
        put_multipart(&s3, &name, "again.bin", 21).await;
        start(&s3, &name, "open.bin", &SIZES[..2], 22).await;
        blob_files_become(&srv, 5).await;
        let resp = http.delete(&bucket).bearer_auth(&token).send().await.unwrap();
        assert_eq!(resp.status(), StatusCode::NO_CONTENT);
        blob_files_become(&srv, 0).await;
        assert_eq!(srv.open_uploads().await, (0, 0), "{backend:?}");
    }
}
