//! Uploads begun before parts were blobs of their own (their parts inside the backend's own
//! upload) still take parts, complete into one assembled blob, and abort cleanly.

use aws_sdk_s3::types::{CompletedMultipartUpload, CompletedPart};
use godrive::db::multipart::{self, Upload};
use godrive::storage::BlobId;
use uuid::Uuid;

use super::{MIB, blob_files_become, data, setup};
use crate::common::{BACKENDS, TestServer};

/// An upload made the way earlier versions made it: a backend upload, its handle recorded.
async fn old_upload(srv: &TestServer, bucket: &str, key: &str) -> Uuid {
    let bucket_id: Uuid = sqlx::query_scalar("select id from buckets where name = $1")
        .bind(bucket)
        .fetch_one(&srv.state.db)
        .await
        .unwrap();
    let blob = BlobId::new();
    let handle = srv.state.storage.create_upload(blob).await.unwrap();
    let upload = Upload {
        id: Uuid::new_v4(),
        bucket_id,
        key: key.to_owned(),
        headers: Default::default(),
        checksum_algorithm: None,
        checksum_type: None,
        blob_id: blob.0,
        backend_upload: handle,
        created_at: time::OffsetDateTime::now_utc(),
    };
    multipart::create(&srv.state.db, &upload).await.unwrap();
    upload.id
}

#[tokio::test]
async fn uploads_begun_before_part_blobs_still_complete_and_abort() {
    for backend in BACKENDS {
        let srv = TestServer::start(backend).await;
        let (s3, b) = setup(&srv).await;
        let id = old_upload(&srv, &b, "old").await.to_string();
        let mut body = Vec::new();
        let mut done = Vec::new();
        for (n, size) in [(1, 5 * MIB), (2, MIB)] {
            let part = data(size, n as u8);
            let out = s3
                .upload_part()
                .bucket(&b)
                .key("old")
                .upload_id(&id)
                .part_number(n)
                .body(part.clone().into())
                .send()
                .await
                .unwrap();
            done.push(
                CompletedPart::builder()
                    .part_number(n)
                    .e_tag(out.e_tag().unwrap())
                    .build(),
            );
            body.extend(part);
        }
        // The parts are inside the backend's upload, not blobs.
        assert_eq!(srv.blob_files(), 0, "{backend:?}");
        assert_eq!(srv.open_uploads().await, (1, 1));
        s3.complete_multipart_upload()
            .bucket(&b)
            .key("old")
            .upload_id(&id)
            .multipart_upload(CompletedMultipartUpload::builder().set_parts(Some(done)).build())
            .send()
            .await
            .unwrap();
        assert_eq!(super::part_blobs(&srv, &b, "old").await, None, "one assembled blob");
        let got = s3.get_object().bucket(&b).key("old").send().await.unwrap();
        assert!(got.body.collect().await.unwrap().into_bytes().as_ref() == body.as_slice());
        let part2 = s3
            .get_object()
            .bucket(&b)
            .key("old")
            .part_number(2)
            .send()
            .await
            .unwrap();
        assert!(part2.body.collect().await.unwrap().into_bytes().as_ref() == &body[5 * MIB..]);
        assert_eq!(srv.open_uploads().await, (0, 0));
        blob_files_become(&srv, 1).await;

        let id = old_upload(&srv, &b, "dropped").await.to_string();
        s3.upload_part()
            .bucket(&b)
            .key("dropped")
            .upload_id(&id)
            .part_number(1)
            .body(data(MIB, 3).into())
            .send()
            .await
            .unwrap();
        assert_eq!(srv.open_uploads().await, (1, 1));
        s3.abort_multipart_upload()
            .bucket(&b)
            .key("dropped")
            .upload_id(&id)
            .send()
            .await
            .unwrap();
        assert_eq!(srv.open_uploads().await, (0, 0), "{backend:?}");
        blob_files_become(&srv, 1).await;
    }
}
