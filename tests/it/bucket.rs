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

    // In us-east-1 (the default region) the owner's repeat succeeds and changes nothing.
    srv.client(&a).create_bucket().bucket(&name).send().await.unwrap();
    let theirs = srv.client(&b).create_bucket().bucket(&name).send().await;
    assert_eq!(code_status(theirs), ("BucketAlreadyExists".into(), 409));
    // The other user does not see it.
    assert!(srv.client(&b).list_buckets().send().await.unwrap().buckets().is_empty());
    assert_eq!(srv.client(&a).list_buckets().send().await.unwrap().buckets().len(), 1);
}

#[tokio::test]
async fn outside_us_east_1_a_repeated_create_bucket_is_already_owned_by_you() {
    let srv = TestServer::start_with(Backend::Fs, &[("GODRIVE_S3_REGION", "eu-west-1")]).await;
    let a = srv.user().await;
    let s3 = srv.client(&a);
    let s3 = aws_sdk_s3::Client::from_conf(
        s3.config()
            .to_builder()
            .region(aws_sdk_s3::config::Region::new("eu-west-1"))
            .build(),
    );
    let name = unique("taken");
    let config = aws_sdk_s3::types::CreateBucketConfiguration::builder()
        .location_constraint(aws_sdk_s3::types::BucketLocationConstraint::EuWest1)
        .build();
    s3.create_bucket()
        .bucket(&name)
        .create_bucket_configuration(config.clone())
        .send()
        .await
        .unwrap();
    let mine = s3
        .create_bucket()
        .bucket(&name)
        .create_bucket_configuration(config)
        .send()
        .await;
    assert_eq!(code_status(mine), ("BucketAlreadyOwnedByYou".into(), 409));
}

/// ListBuckets pages with `max-buckets` and `continuation-token`, and filters by `prefix`.
#[tokio::test]
async fn list_buckets_paginates_and_filters_by_prefix() {
    let srv = TestServer::start(Backend::Fs).await;
    let u = srv.user().await;
    let s3 = srv.client(&u);
    let base = unique("page");
    let mut names: Vec<String> = (0..7).map(|i| format!("{base}-{i}")).collect();
    names.push(unique("other"));
    for n in &names {
        s3.create_bucket().bucket(n).send().await.unwrap();
    }
    let mut seen = Vec::new();
    let mut token: Option<String> = None;
    let mut pages = 0;
    loop {
        let out = s3
            .list_buckets()
            .prefix(&base)
            .max_buckets(3)
            .set_continuation_token(token.clone())
            .send()
            .await
            .unwrap();
        pages += 1;
        assert!(out.buckets().len() <= 3);
        assert_eq!(out.prefix(), Some(base.as_str()));
        seen.extend(out.buckets().iter().map(|b| b.name().unwrap().to_owned()));
        token = out.continuation_token().map(str::to_owned);
        if token.is_none() {
            break;
        }
    }
    assert_eq!(pages, 3);
    assert_eq!(seen, names[..7].to_vec());
    assert_eq!(s3.list_buckets().send().await.unwrap().buckets().len(), 8);
    let res = s3.list_buckets().max_buckets(0).send().await;
    assert_eq!(code_status(res), ("InvalidArgument".into(), 400));
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
    for bad in [
        "ab",
        "Upper-Case",
        "under_score",
        "-dash-first",
        "192.168.1.1",
        "v1",
        "console",
    ] {
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
