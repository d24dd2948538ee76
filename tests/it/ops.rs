//! Health endpoints, the JSON 404, and garbage collection.

use std::time::Duration;

use godrive::storage::BlobId;

use crate::common::{BACKENDS, Backend, TestServer, unique};

#[tokio::test]
async fn health_endpoints_answer_json() {
    for backend in BACKENDS {
        let srv = TestServer::start(backend).await;
        let live = reqwest::get(format!("{}/v1/health/live", srv.url())).await.unwrap();
        assert_eq!(live.status().as_u16(), 200);
        let ready = reqwest::get(format!("{}/v1/health/ready", srv.url())).await.unwrap();
        assert_eq!(ready.status().as_u16(), 200, "{backend:?}");
        assert!(ready.headers().contains_key("x-request-id"));
        let body: serde_json::Value = ready.json().await.unwrap();
        assert_eq!(body["checks"]["database"], "ok");
        assert_eq!(body["checks"]["storage"], "ok");
        let missing = reqwest::get(format!("{}/v1/nope", srv.url())).await.unwrap();
        assert_eq!(missing.status().as_u16(), 404);
        let body: serde_json::Value = missing.json().await.unwrap();
        assert_eq!(body["error"]["code"], "not_found");
    }
}

#[tokio::test]
async fn incoming_request_ids_are_echoed() {
    let srv = TestServer::start(Backend::Fs).await;
    let resp = reqwest::Client::new()
        .get(format!("{}/v1/health/live", srv.url()))
        .header("x-request-id", "trace-me-123")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.headers()["x-request-id"], "trace-me-123");
}

#[tokio::test]
async fn gc_removes_unreferenced_blobs_past_the_grace_period_only() {
    for backend in BACKENDS {
        let srv = TestServer::start(backend).await;
        let u = srv.user().await;
        let s3 = srv.client(&u);
        let b = unique("gc");
        s3.create_bucket().bucket(&b).send().await.unwrap();
        s3.put_object()
            .bucket(&b)
            .key("kept")
            .body(b"keep me".to_vec().into())
            .send()
            .await
            .unwrap();
        // A blob written by an upload whose instance crashed before committing its row.
        let orphan = BlobId::new();
        let body: godrive::storage::BlobStream =
            Box::pin(futures::stream::once(async { Ok(bytes::Bytes::from_static(b"lost")) }));
        srv.state.storage.put(orphan, body, 4).await.unwrap();

        let spared =
            godrive::jobs::gc::collect(&srv.state, Duration::from_secs(3600), Duration::from_secs(3600), false)
                .await
                .unwrap();
        assert_eq!(spared.orphans, 0, "young blobs are spared");
        tokio::time::sleep(Duration::from_millis(1100)).await;
        let dry = godrive::jobs::gc::collect(&srv.state, Duration::ZERO, Duration::from_secs(3600), true)
            .await
            .unwrap();
        assert_eq!(dry.orphans, 1);
        let report = godrive::jobs::gc::collect(&srv.state, Duration::ZERO, Duration::from_secs(3600), false)
            .await
            .unwrap();
        assert_eq!((report.scanned, report.orphans), (2, 1), "{backend:?}");
        srv.assert_no_orphans().await;
        let got = s3.get_object().bucket(&b).key("kept").send().await.unwrap();
        assert_eq!(got.body.collect().await.unwrap().into_bytes().as_ref(), b"keep me");
    }
}

#[tokio::test]
async fn ready_reports_an_unreachable_backend() {
    let srv = TestServer::start(Backend::S3).await;
    let broken = godrive::storage::s3::S3Storage::new(
        &godrive::config::MinioConfig {
            endpoint: "http://127.0.0.1:9".into(),
            root_user: "x".into(),
            root_password: godrive::config::Secret::new("y"),
            bucket: "b".into(),
            use_ssl: false,
        },
        "us-east-1",
    );
    let state = godrive::app::AppState::from_parts(
        srv.state.db.clone(),
        std::sync::Arc::new(broken),
        (*srv.state.config).clone(),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(godrive::server::serve_with_listener(
        state,
        listener,
        std::future::pending(),
    ));
    let ready = reqwest::get(format!("http://{addr}/v1/health/ready")).await.unwrap();
    assert_eq!(ready.status().as_u16(), 503);
    let body: serde_json::Value = ready.json().await.unwrap();
    assert_eq!(body["checks"]["storage"], "unavailable");
    assert_eq!(body["checks"]["database"], "ok");
}
