//! Multipart objects stored as their part blobs, on both backends: completion writes no
//! byte again; whole, ranged and per-part reads cross part boundaries; copies own their
//! blobs; overwrites, deletes, bucket deletion, aborts and gc leave no blob behind.

mod api;
mod kept;
mod legacy;

use std::collections::HashSet;

use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{CompletedMultipartUpload, CompletedPart, Delete, MetadataDirective, ObjectIdentifier};
use sha2::{Digest as _, Sha256};
use uuid::Uuid;

use crate::common::{BACKENDS, TestServer, unique};

pub const MIB: usize = 1024 * 1024;
/// Part sizes of the objects here: two full parts and a short last one.
pub const SIZES: [usize; 3] = [5 * MIB, 5 * MIB, MIB + 7];

pub fn data(len: usize, seed: u8) -> Vec<u8> {
    let mut x = u32::from(seed) | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            x as u8
        })
        .collect()
}

pub async fn setup(srv: &TestServer) -> (aws_sdk_s3::Client, String) {
    let u = srv.user().await;
    let s3 = srv.client(&u);
    let b = unique("pb");
    s3.create_bucket().bucket(&b).send().await.unwrap();
    (s3, b)
}

/// Creates an upload and stores parts of `sizes`; returns its id, the completion list and
/// the object's bytes.
pub async fn start(
    s3: &aws_sdk_s3::Client,
    b: &str,
    key: &str,
    sizes: &[usize],
    seed: u8,
) -> (String, CompletedMultipartUpload, Vec<u8>) {
    let id = s3
        .create_multipart_upload()
        .bucket(b)
        .key(key)
        .send()
        .await
        .unwrap()
        .upload_id
        .unwrap();
    let mut body = Vec::new();
    let mut done = Vec::new();
    for (i, size) in sizes.iter().enumerate() {
        let n = i as i32 + 1;
        let part = data(*size, seed.wrapping_add(n as u8));
        let out = s3
            .upload_part()
            .bucket(b)
            .key(key)
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
    let list = CompletedMultipartUpload::builder().set_parts(Some(done)).build();
    (id, list, body)
}

/// A completed multipart object of `SIZES`; returns its bytes.
pub async fn put_multipart(s3: &aws_sdk_s3::Client, b: &str, key: &str, seed: u8) -> Vec<u8> {
    let (id, list, body) = start(s3, b, key, &SIZES, seed).await;
    s3.complete_multipart_upload()
        .bucket(b)
        .key(key)
        .upload_id(id)
        .multipart_upload(list)
        .send()
        .await
        .unwrap();
    body
}

pub async fn part_blobs(srv: &TestServer, b: &str, key: &str) -> Option<Vec<Uuid>> {
    sqlx::query_scalar(
        "select o.part_blobs from objects o join buckets b on b.id = o.bucket_id where b.name = $1 and o.key = $2",
    )
    .bind(b)
    .bind(key)
    .fetch_one(&srv.state.db)
    .await
    .unwrap()
}

/// Waits for the background deletes: `n` blob files left, and every one referenced.
pub async fn blob_files_become(srv: &TestServer, n: usize) {
    for _ in 0..50 {
        if srv.blob_files() == n {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(srv.blob_files(), n);
    srv.assert_no_orphans().await;
}

pub async fn read(s3: &aws_sdk_s3::Client, b: &str, key: &str) -> Vec<u8> {
    let got = s3.get_object().bucket(b).key(key).send().await.unwrap();
    got.body.collect().await.unwrap().into_bytes().to_vec()
}

#[tokio::test]
async fn completion_writes_nothing_and_reads_cross_part_boundaries() {
    for backend in BACKENDS {
        let srv = TestServer::start(backend).await;
        let (s3, b) = setup(&srv).await;
        let (id, list, body) = start(&s3, &b, "k", &SIZES, 1).await;
        let parts = srv.backend_blobs().await;
        assert_eq!(parts.len(), 3, "{backend:?}: each part is a blob of its own");
        s3.complete_multipart_upload()
            .bucket(&b)
            .key("k")
            .upload_id(id)
            .multipart_upload(list)
            .send()
            .await
            .unwrap();
        // Metadata only: the object is the very blobs the parts were written to, in order.
        assert_eq!(srv.backend_blobs().await, parts, "{backend:?}");
        let recorded = part_blobs(&srv, &b, "k").await.unwrap();
        assert_eq!(recorded.iter().copied().collect::<HashSet<_>>(), parts);
        assert_eq!(srv.blob_files(), 3);
        assert_eq!(srv.open_uploads().await, (0, 0));
        srv.assert_no_orphans().await;

        let whole = read(&s3, &b, "k").await;
        assert_eq!(Sha256::digest(&whole), Sha256::digest(&body), "{backend:?}");
        let (p1, p2, total) = (SIZES[0], SIZES[0] + SIZES[1], body.len());
        for (range, from, to) in [
            (format!("bytes={}-{}", p1 - 1, p1 - 1), p1 - 1, p1), // last byte of part 1
            (format!("bytes={p1}-{p1}"), p1, p1 + 1),             // first byte of part 2
            (format!("bytes={}-{}", p2 - 1, p2), p2 - 1, p2 + 1), // across parts 2 and 3
            (format!("bytes={}-{}", p1 - 10, p2 + 9), p1 - 10, p2 + 10), // three parts
            (format!("bytes={}-{}", p1, p2 - 1), p1, p2),         // exactly part 2
            (format!("bytes={}-", p1 - 3), p1 - 3, total),        // open-ended
            ("bytes=-100".to_owned(), total - 100, total),        // suffix in the last part
            (format!("bytes=-{}", SIZES[2] + 100), p2 - 100, total), // suffix across parts
            (format!("bytes={}-", total - 1), total - 1, total),  // the last byte
        ] {
            let got = s3.get_object().bucket(&b).key("k").range(&range).send().await.unwrap();
            let want_range = format!("bytes {from}-{}/{total}", to - 1);
            assert_eq!(got.content_range(), Some(want_range.as_str()), "{range}");
            assert_eq!(got.content_length(), Some((to - from) as i64), "{range}");
            let bytes = got.body.collect().await.unwrap().into_bytes();
            assert!(bytes.as_ref() == &body[from..to], "{backend:?} {range}");
        }
        let mut offset = 0;
        for (i, size) in SIZES.iter().enumerate() {
            let n = i as i32 + 1;
            let got = s3.get_object().bucket(&b).key("k").part_number(n).send().await.unwrap();
            assert_eq!(got.parts_count(), Some(3));
            assert_eq!(got.content_length(), Some(*size as i64));
            let bytes = got.body.collect().await.unwrap().into_bytes();
            assert!(bytes.as_ref() == &body[offset..offset + size], "{backend:?} part {n}");
            let head = s3
                .head_object()
                .bucket(&b)
                .key("k")
                .part_number(n)
                .send()
                .await
                .unwrap();
            assert_eq!(head.content_length(), Some(*size as i64));
            assert_eq!(head.parts_count(), Some(3));
            offset += size;
        }
        let head = s3.head_object().bucket(&b).key("k").send().await.unwrap();
        assert_eq!(head.content_length(), Some(total as i64));
        assert!(head.e_tag().unwrap().ends_with("-3\""));

        // A presigned GET, raw on the wire: 206 across a boundary.
        let cfg = aws_sdk_s3::presigning::PresigningConfig::expires_in(std::time::Duration::from_secs(60)).unwrap();
        let url = s3.get_object().bucket(&b).key("k").presigned(cfg).await.unwrap();
        let resp = reqwest::Client::new()
            .get(url.uri())
            .header("range", format!("bytes={}-{}", p1 - 2, p1 + 1))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status().as_u16(), 206);
        assert_eq!(resp.bytes().await.unwrap().as_ref(), &body[p1 - 2..p1 + 2]);
    }
}

#[tokio::test]
async fn copies_own_their_part_blobs_and_outlive_the_source() {
    for backend in BACKENDS {
        let srv = TestServer::start(backend).await;
        let (s3, b) = setup(&srv).await;
        let body = put_multipart(&s3, &b, "src", 2).await;
        let etag = s3.head_object().bucket(&b).key("src").send().await.unwrap().e_tag;
        let out = s3
            .copy_object()
            .bucket(&b)
            .key("dst")
            .copy_source(format!("{b}/src"))
            .send()
            .await
            .unwrap();
        assert_eq!(out.copy_object_result().unwrap().e_tag(), etag.as_deref());
        let (src, dst) = (
            part_blobs(&srv, &b, "src").await.unwrap(),
            part_blobs(&srv, &b, "dst").await.unwrap(),
        );
        assert_eq!(dst.len(), 3, "{backend:?}: the copy is stored as parts too");
        assert!(src.iter().all(|p| !dst.contains(p)), "no blob is shared by two rows");
        blob_files_become(&srv, 6).await;

        // The source goes; the copy still reads, whole and by part.
        s3.delete_object().bucket(&b).key("src").send().await.unwrap();
        blob_files_become(&srv, 3).await;
        assert!(read(&s3, &b, "dst").await == body, "{backend:?}");
        let part2 = s3
            .get_object()
            .bucket(&b)
            .key("dst")
            .part_number(2)
            .send()
            .await
            .unwrap();
        assert_eq!(part2.parts_count(), Some(3));
        let bytes = part2.body.collect().await.unwrap().into_bytes();
        assert!(bytes.as_ref() == &body[SIZES[0]..SIZES[0] + SIZES[1]]);

        // A copy onto itself (new metadata) makes new blobs and drops the old ones.
        s3.copy_object()
            .bucket(&b)
            .key("dst")
            .copy_source(format!("{b}/dst"))
            .metadata_directive(MetadataDirective::Replace)
            .metadata("color", "blue")
            .send()
            .await
            .unwrap();
        let again = part_blobs(&srv, &b, "dst").await.unwrap();
        assert!(again.iter().all(|p| !dst.contains(p)));
        blob_files_become(&srv, 3).await;
        assert!(read(&s3, &b, "dst").await == body);

        // UploadPartCopy reads a range of a multipart source across its part boundary.
        let id = s3
            .create_multipart_upload()
            .bucket(&b)
            .key("pc")
            .send()
            .await
            .unwrap()
            .upload_id
            .unwrap();
        let (from, to) = (SIZES[0] - 100, SIZES[0] + SIZES[1] + 100);
        let copied = s3
            .upload_part_copy()
            .bucket(&b)
            .key("pc")
            .upload_id(&id)
            .part_number(1)
            .copy_source(format!("{b}/dst"))
            .copy_source_range(format!("bytes={from}-{}", to - 1))
            .send()
            .await
            .unwrap();
        let etag = copied.copy_part_result().unwrap().e_tag().unwrap().to_owned();
        s3.complete_multipart_upload()
            .bucket(&b)
            .key("pc")
            .upload_id(&id)
            .multipart_upload(
                CompletedMultipartUpload::builder()
                    .parts(CompletedPart::builder().part_number(1).e_tag(etag).build())
                    .build(),
            )
            .send()
            .await
            .unwrap();
        assert!(read(&s3, &b, "pc").await == body[from..to], "{backend:?}");
        blob_files_become(&srv, 4).await;
    }
}

#[tokio::test]
async fn overwrites_and_deletes_leave_no_blob_behind() {
    for backend in BACKENDS {
        let srv = TestServer::start(backend).await;
        let (s3, b) = setup(&srv).await;
        put_multipart(&s3, &b, "k", 3).await;
        blob_files_become(&srv, 3).await;
        // A single PUT over a multipart object: its three part blobs go.
        s3.put_object()
            .bucket(&b)
            .key("k")
            .body(ByteStream::from_static(b"small"))
            .send()
            .await
            .unwrap();
        blob_files_become(&srv, 1).await;
        assert_eq!(read(&s3, &b, "k").await, b"small");
        // Multipart over single, then multipart over multipart.
        put_multipart(&s3, &b, "k", 4).await;
        blob_files_become(&srv, 3).await;
        let body = put_multipart(&s3, &b, "k", 5).await;
        blob_files_become(&srv, 3).await;
        assert!(read(&s3, &b, "k").await == body, "{backend:?}");
        s3.delete_object().bucket(&b).key("k").send().await.unwrap();
        blob_files_become(&srv, 0).await;

        // DeleteObjects of multipart objects.
        put_multipart(&s3, &b, "a", 6).await;
        put_multipart(&s3, &b, "b", 7).await;
        blob_files_become(&srv, 6).await;
        let ids = ["a", "b"].map(|k| ObjectIdentifier::builder().key(k).build().unwrap());
        s3.delete_objects()
            .bucket(&b)
            .delete(Delete::builder().set_objects(Some(ids.to_vec())).build().unwrap())
            .send()
            .await
            .unwrap();
        blob_files_become(&srv, 0).await;

        // Parts left out of the completion list and replaced parts go too.
        let (id, _, _) = start(&s3, &b, "c", &SIZES, 8).await;
        let replaced = s3
            .upload_part()
            .bucket(&b)
            .key("c")
            .upload_id(&id)
            .part_number(1)
            .body(data(SIZES[0], 9).into())
            .send()
            .await
            .unwrap();
        blob_files_become(&srv, 3).await;
        s3.complete_multipart_upload()
            .bucket(&b)
            .key("c")
            .upload_id(&id)
            .multipart_upload(
                CompletedMultipartUpload::builder()
                    .parts(
                        CompletedPart::builder()
                            .part_number(1)
                            .e_tag(replaced.e_tag().unwrap())
                            .build(),
                    )
                    .build(),
            )
            .send()
            .await
            .unwrap();
        blob_files_become(&srv, 1).await;
        assert!(read(&s3, &b, "c").await == data(SIZES[0], 9));
        s3.delete_object().bucket(&b).key("c").send().await.unwrap();

        // An aborted upload's parts go; so do those of an upload still open when its (now
        // empty) bucket is deleted.
        let (id, _, _) = start(&s3, &b, "gone", &SIZES[..2], 10).await;
        s3.abort_multipart_upload()
            .bucket(&b)
            .key("gone")
            .upload_id(id)
            .send()
            .await
            .unwrap();
        blob_files_become(&srv, 0).await;
        start(&s3, &b, "open", &SIZES[..2], 11).await;
        blob_files_become(&srv, 2).await;
        assert_eq!(srv.open_uploads().await, (1, 1));
        s3.delete_bucket().bucket(&b).send().await.unwrap();
        blob_files_become(&srv, 0).await;
        assert_eq!(srv.open_uploads().await, (0, 0));

        let hour = std::time::Duration::from_secs(3600);
        let report = godrive::jobs::gc::collect(&srv.state, std::time::Duration::ZERO, hour, false)
            .await
            .unwrap();
        assert_eq!((report.orphans, report.stale_uploads), (0, 0), "{backend:?}");
        let report = godrive::jobs::reconcile::run(&srv.state, false).await.unwrap();
        assert!(report.missing_blobs.is_empty() && report.unreferenced_blobs == 0);
        assert!(report.drift.is_empty(), "{:?}", report.drift);
    }
}
