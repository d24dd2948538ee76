//! Conditional writes: `If-None-Match: *` and `If-Match` on PutObject, CopyObject and
//! CompleteMultipartUpload, checked before the body and again under the row's lock in the
//! commit, so that of many concurrent writers on two instances exactly one wins.

use aws_sdk_s3::Client;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{CompletedMultipartUpload, CompletedPart};

use crate::common::{BACKENDS, TestServer, client_for, code_status, unique};
use crate::process::Deployment;

async fn put(s3: &Client, b: &str, k: &str, body: &str) -> String {
    let out = s3
        .put_object()
        .bucket(b)
        .key(k)
        .body(ByteStream::from(body.as_bytes().to_vec()))
        .send()
        .await
        .unwrap();
    out.e_tag().unwrap().to_owned()
}

async fn read(s3: &Client, b: &str, k: &str) -> String {
    let got = s3.get_object().bucket(b).key(k).send().await.unwrap();
    String::from_utf8(got.body.collect().await.unwrap().to_vec()).unwrap()
}

#[tokio::test]
async fn put_object_honours_if_none_match_and_if_match() {
    let srv = TestServer::start(crate::common::Backend::Fs).await;
    let u = srv.user().await;
    let s3 = srv.client(&u);
    let b = unique("condput");
    s3.create_bucket().bucket(&b).send().await.unwrap();
    let cond_put = |key: &'static str, body: &'static str| {
        s3.put_object()
            .bucket(&b)
            .key(key)
            .body(body.as_bytes().to_vec().into())
    };

    // If-None-Match: * creates once, then refuses.
    let first = cond_put("lock", "one").if_none_match("*").send().await.unwrap();
    let res = cond_put("lock", "two").if_none_match("*").send().await;
    assert_eq!(code_status(res), ("PreconditionFailed".into(), 412));
    assert_eq!(read(&s3, &b, "lock").await, "one");

    // If-Match: the current ETag replaces; a stale one is refused.
    let etag = first.e_tag().unwrap().to_owned();
    let second = cond_put("lock", "three").if_match(&etag).send().await.unwrap();
    let res = cond_put("lock", "four").if_match(&etag).send().await;
    assert_eq!(code_status(res), ("PreconditionFailed".into(), 412));
    assert_eq!(read(&s3, &b, "lock").await, "three");
    cond_put("lock", "five").if_match("*").send().await.unwrap();
    assert_ne!(second.e_tag(), None);

    // If-Match with no object: NoSuchKey; nothing is created.
    let res = cond_put("absent", "x").if_match(&etag).send().await;
    assert_eq!(code_status(res), ("NoSuchKey".into(), 404));
    let res = cond_put("absent", "x").if_match("*").send().await;
    assert_eq!(code_status(res), ("NoSuchKey".into(), 404));
    // If-None-Match with an ETag is not a write condition S3 has.
    let res = cond_put("absent", "x").if_none_match(&etag).send().await;
    assert_eq!(code_status(res), ("NotImplemented".into(), 501));
    assert!(s3.head_object().bucket(&b).key("absent").send().await.is_err());
    srv.assert_no_orphans().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn copy_and_complete_honour_write_conditions() {
    for backend in BACKENDS {
        let srv = TestServer::start(backend).await;
        let u = srv.user().await;
        let s3 = srv.client(&u);
        let b = unique("condcopy");
        s3.create_bucket().bucket(&b).send().await.unwrap();
        let etag = put(&s3, &b, "src", "source").await;
        put(&s3, &b, "taken", "taken").await;

        // CopyObject: If-None-Match: * onto an existing key fails, onto a new one succeeds.
        let copy = |dest: &'static str| s3.copy_object().bucket(&b).key(dest).copy_source(format!("{b}/src"));
        let res = copy("taken").if_none_match("*").send().await;
        assert_eq!(code_status(res), ("PreconditionFailed".into(), 412), "{backend:?}");
        copy("fresh").if_none_match("*").send().await.unwrap();
        assert_eq!(read(&s3, &b, "fresh").await, "source");
        let res = copy("taken").if_match(&etag).send().await;
        assert_eq!(code_status(res), ("PreconditionFailed".into(), 412), "{backend:?}");

        // CompleteMultipartUpload: refused while the key exists; the upload stays to retry.
        let up = s3
            .create_multipart_upload()
            .bucket(&b)
            .key("taken")
            .send()
            .await
            .unwrap();
        let id = up.upload_id().unwrap().to_owned();
        let part = s3
            .upload_part()
            .bucket(&b)
            .key("taken")
            .upload_id(&id)
            .part_number(1)
            .body(b"multipart".to_vec().into())
            .send()
            .await
            .unwrap();
        let list = CompletedMultipartUpload::builder()
            .parts(
                CompletedPart::builder()
                    .part_number(1)
                    .e_tag(part.e_tag().unwrap())
                    .build(),
            )
            .build();
        let complete = || {
            s3.complete_multipart_upload()
                .bucket(&b)
                .key("taken")
                .upload_id(&id)
                .multipart_upload(list.clone())
        };
        let res = complete().if_none_match("*").send().await;
        assert_eq!(code_status(res), ("PreconditionFailed".into(), 412), "{backend:?}");
        let current = s3.head_object().bucket(&b).key("taken").send().await.unwrap();
        complete().if_match(current.e_tag().unwrap()).send().await.unwrap();
        assert_eq!(read(&s3, &b, "taken").await, "multipart");
        srv.assert_no_orphans().await;
    }
}

/// Many writers with `If-None-Match: *` on one key, half through each of two instances:
/// exactly one wins; every other is refused with 412 (it saw the winner before its body)
/// or 409 (the winner committed while its body streamed). Then the same with `If-Match` on
/// the winner's ETag.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn of_many_concurrent_conditional_writers_on_two_instances_exactly_one_wins() {
    let dep = Deployment::new("condrace");
    let (key, secret) = dep.user_with_key("condrace@example.com").await;
    let (one, two) = (dep.serve().await, dep.serve().await);
    let clients = [
        client_for(&one.url(), &key, &secret),
        client_for(&two.url(), &key, &secret),
    ];
    let b = unique("condrace");
    clients[0].create_bucket().bucket(&b).send().await.unwrap();

    // Each round's bodies differ from the last round's: an If-Match writer whose bytes are
    // the current object's keeps its ETag, and would let another If-Match writer win too.
    let race = |condition: Option<String>| {
        let tag = if condition.is_some() {
            "if-match"
        } else {
            "if-none-match"
        };
        let mut tasks = Vec::new();
        for i in 0..32 {
            let s3 = crate::common::without_retries(&clients[i % 2]);
            let (b, condition) = (b.clone(), condition.clone());
            tasks.push(tokio::spawn(async move {
                let req = s3
                    .put_object()
                    .bucket(&b)
                    .key("leader")
                    .body(format!("{tag} writer {i}").into_bytes().into());
                let req = match &condition {
                    None => req.if_none_match("*"),
                    Some(etag) => req.if_match(etag),
                };
                match req.send().await {
                    Ok(out) => Ok((i, out.e_tag().unwrap().to_owned())),
                    Err(e) => Err(code_status::<_, ()>(Err(e))),
                }
            }));
        }
        tasks
    };
    let mut etag = None;
    for round in [None, Some(())] {
        let condition = round.and(etag.clone());
        let mut winners = Vec::new();
        for t in race(condition) {
            match t.await.unwrap() {
                Ok(w) => winners.push(w),
                Err((code, status)) => assert!(
                    matches!(
                        (code.as_str(), status),
                        ("PreconditionFailed", 412) | ("ConditionalRequestConflict", 409)
                    ),
                    "{code} {status}"
                ),
            }
        }
        assert_eq!(winners.len(), 1, "round {round:?}: {winners:?}");
        let (i, winner_etag) = winners.pop().unwrap();
        let tag = if round.is_some() { "if-match" } else { "if-none-match" };
        assert_eq!(read(&clients[1], &b, "leader").await, format!("{tag} writer {i}"));
        etag = Some(winner_etag);
    }
}
