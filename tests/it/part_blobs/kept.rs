//! What part blobs outlive: gc while their upload is in progress, and a completion that
//! fails in its transaction (the upload stays, to retry). Expired uploads lose them.

use super::{SIZES, blob_files_become, read, setup, start};
use crate::common::{BACKENDS, TestServer, code_status};

#[tokio::test]
async fn gc_keeps_parts_in_progress_and_drops_expired_uploads() {
    for backend in BACKENDS {
        let srv = TestServer::start(backend).await;
        let (s3, b) = setup(&srv).await;
        let (id, list, body) = start(&s3, &b, "k", &SIZES, 12).await;
        // No grace: the parts of an upload in progress are referenced, not orphans.
        let hour = std::time::Duration::from_secs(3600);
        let zero = std::time::Duration::ZERO;
        let report = godrive::jobs::gc::collect(&srv.state, zero, hour, false).await.unwrap();
        assert_eq!(
            (report.scanned, report.orphans, report.stale_uploads),
            (3, 0, 0),
            "{backend:?}"
        );
        let report = godrive::jobs::reconcile::run(&srv.state, false).await.unwrap();
        assert_eq!(report.unreferenced_blobs, 0);
        s3.complete_multipart_upload()
            .bucket(&b)
            .key("k")
            .upload_id(id)
            .multipart_upload(list)
            .send()
            .await
            .unwrap();
        let report = godrive::jobs::gc::collect(&srv.state, zero, hour, false).await.unwrap();
        assert_eq!((report.scanned, report.orphans), (3, 0));
        assert!(read(&s3, &b, "k").await == body, "{backend:?}");

        // An upload left too long is aborted with its parts.
        start(&s3, &b, "stale", &SIZES[..2], 13).await;
        blob_files_become(&srv, 5).await;
        let report = godrive::jobs::gc::collect(&srv.state, zero, zero, false).await.unwrap();
        assert_eq!((report.stale_uploads, report.orphans), (1, 0));
        blob_files_become(&srv, 3).await;
        assert_eq!(srv.open_uploads().await, (0, 0));
        // An orphan is still found: a blob no row names.
        let stray = godrive::storage::BlobId::new();
        srv.state
            .storage
            .put(
                stray,
                Box::pin(futures::stream::once(async { Ok(bytes::Bytes::from_static(b"x")) })),
                1,
            )
            .await
            .unwrap();
        let report = godrive::jobs::gc::collect(&srv.state, zero, hour, false).await.unwrap();
        assert_eq!(report.orphans, 1);
        blob_files_become(&srv, 3).await;
    }
}

#[tokio::test]
async fn a_failed_completion_keeps_the_parts_for_a_retry() {
    for backend in BACKENDS {
        let srv = TestServer::start(backend).await;
        let (s3, b) = setup(&srv).await;
        let s3 = crate::common::without_retries(&s3);
        let (id, list, body) = start(&s3, &b, "k", &SIZES, 14).await;
        // The object's insert fails inside the completion's transaction.
        sqlx::raw_sql(
            "create function refuse() returns trigger language plpgsql as
               $$ begin raise exception 'refused by the test'; end $$;
             create trigger refuse before insert on objects for each row execute function refuse();",
        )
        .execute(&srv.state.db)
        .await
        .unwrap();
        let complete = || {
            s3.complete_multipart_upload()
                .bucket(&b)
                .key("k")
                .upload_id(&id)
                .multipart_upload(list.clone())
                .send()
        };
        assert_eq!(code_status(complete().await).1, 500);
        assert_eq!(srv.object_rows().await, 0);
        assert_eq!(srv.blob_files(), 3, "{backend:?}: the parts stay");
        let listed = s3.list_parts().bucket(&b).key("k").upload_id(&id).send().await.unwrap();
        assert_eq!(listed.parts().len(), 3);
        sqlx::raw_sql("drop trigger refuse on objects")
            .execute(&srv.state.db)
            .await
            .unwrap();
        complete().await.unwrap();
        assert!(read(&s3, &b, "k").await == body, "{backend:?}");
        blob_files_become(&srv, 3).await;
        assert_eq!(srv.open_uploads().await, (0, 0));
    }
}
