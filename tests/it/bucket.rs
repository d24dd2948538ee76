use aws_sdk_s3::types::{BucketLocationConstraint, CreateBucketConfiguration};

use crate::common::{Backend, TestServer, code_status, unique};

#[tokio::test]
async fn bucket_lifecycle_create_head_list_locate_delete() {
    let srv = TestServer::start(Backend::Fs).await;
    let u = srv.user().await;
    let s3 = srv.client(&u);
    let name = unique("life");

    s3.create_bucket().bucket(&name).send().await.unwrap();
    s3.head_bucket().bucket(&name).send().await.unwrap();
    let list = s3.list_buckets().send().await.unwrap();
    let names: Vec<_> = list.buckets().iter().filter_map(|b| b.name()).collect();
    assert_eq!(names, vec![name.as_str()]);
    assert!(list.buckets()[0].creation_date().is_some());

    let loc = s3.get_bucket_location().bucket(&name).send().await.unwrap();
    // us-east-1 is reported as an empty constraint, as S3 does.
    assert!(loc.location_constraint().is_none_or(|c| c.as_str().is_empty()));

    s3.delete_bucket().bucket(&name).send().await.unwrap();
    assert_eq!(code_status(s3.head_bucket().bucket(&name).send().await).1, 404);
    assert!(s3.list_buckets().send().await.unwrap().buckets().is_empty());
}

#[tokio::test]
async fn create_bucket_reports_who_owns_a_taken_name() {
    let srv = TestServer::start(Backend::Fs).await;
    let (a, b) = (srv.user().await, srv.user().await);
    let name = unique("taken");
    srv.client(&a).create_bucket().bucket(&name).send().await.unwrap();

    let mine = srv.client(&a).create_bucket().bucket(&name).send().await;
    assert_eq!(code_status(mine), ("BucketAlreadyOwnedByYou".into(), 409));
    let theirs = srv.client(&b).create_bucket().bucket(&name).send().await;
    assert_eq!(code_status(theirs), ("BucketAlreadyExists".into(), 409));
    // The other user does not see it.
    assert!(srv.client(&b).list_buckets().send().await.unwrap().buckets().is_empty());
}

#[tokio::test]
async fn create_bucket_with_location_constraint() {
    let srv = TestServer::start(Backend::Fs).await;
    let u = srv.user().await;
    let s3 = srv.client(&u);
    let name = unique("loc");
    s3.create_bucket()
        .bucket(&name)
        .create_bucket_configuration(
            CreateBucketConfiguration::builder()
                .location_constraint(BucketLocationConstraint::from("us-east-1"))
                .build(),
        )
        .send()
        .await
        .unwrap();
    s3.head_bucket().bucket(&name).send().await.unwrap();
}

#[tokio::test]
async fn invalid_and_reserved_bucket_names_are_refused() {
    let srv = TestServer::start(Backend::Fs).await;
    let u = srv.user().await;
    let s3 = srv.client(&u);
    for bad in ["ab", "Upper-Case", "under_score", "-dash-first", "192.168.1.1", "v1"] {
        let res = s3.create_bucket().bucket(bad).send().await;
        assert_eq!(code_status(res), ("InvalidBucketName".into(), 400), "{bad}");
    }
    assert!(s3.list_buckets().send().await.unwrap().buckets().is_empty());
}

#[tokio::test]
async fn delete_bucket_refuses_a_non_empty_bucket_and_missing_buckets() {
    let srv = TestServer::start(Backend::Fs).await;
    let u = srv.user().await;
    let s3 = srv.client(&u);
    let name = unique("full");
    s3.create_bucket().bucket(&name).send().await.unwrap();
    s3.put_object()
        .bucket(&name)
        .key("k")
        .body("x".as_bytes().to_vec().into())
        .send()
        .await
        .unwrap();

    let res = s3.delete_bucket().bucket(&name).send().await;
    assert_eq!(code_status(res), ("BucketNotEmpty".into(), 409));
    s3.delete_object().bucket(&name).key("k").send().await.unwrap();
    s3.delete_bucket().bucket(&name).send().await.unwrap();

    let res = s3.delete_bucket().bucket(&name).send().await;
    assert_eq!(code_status(res), ("NoSuchBucket".into(), 404));
    let res = s3.list_objects_v2().bucket(unique("never")).send().await;
    assert_eq!(code_status(res), ("NoSuchBucket".into(), 404));
}
