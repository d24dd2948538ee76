//! Multipart uploads, against both backends.

use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{ChecksumAlgorithm, ChecksumMode, CompletedMultipartUpload, CompletedPart};
use md5::{Digest as _, Md5};
use sha2::Sha256;

use crate::common::{BACKENDS, Backend, TestServer, code_status, unique};

const MIB: usize = 1024 * 1024;

fn data(len: usize, seed: u8) -> Vec<u8> {
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

fn parts_of(list: &[(i32, String)]) -> CompletedMultipartUpload {
    CompletedMultipartUpload::builder()
        .set_parts(Some(
            list.iter()
                .map(|(n, e)| CompletedPart::builder().part_number(*n).e_tag(e).build())
                .collect(),
        ))
        .build()
}

async fn setup(srv: &TestServer) -> (aws_sdk_s3::Client, String) {
    let u = srv.user().await;
    let s3 = srv.client(&u);
    let b = unique("mp");
    s3.create_bucket().bucket(&b).send().await.unwrap();
    (s3, b)
}

/// Starts an upload of `key` with CRC32 checksums; its id.
async fn crc32_upload(s3: &aws_sdk_s3::Client, b: &str, key: &str) -> String {
    let up = s3
        .create_multipart_upload()
        .bucket(b)
        .key(key)
        .checksum_algorithm(ChecksumAlgorithm::Crc32)
        .send()
        .await
        .unwrap();
    up.upload_id().unwrap().to_owned()
}

#[tokio::test]
async fn a_64_mib_upload_in_5_mib_parts_reads_back_byte_exact() {
    for backend in BACKENDS {
        let srv = TestServer::start(backend).await;
        let (s3, b) = setup(&srv).await;
        let body = data(64 * MIB, 7);
        let create = s3
            .create_multipart_upload()
            .bucket(&b)
            .key("big.bin")
            .content_type("application/x-big")
            .metadata("mtime", "1700000000")
            .send()
            .await
            .unwrap();
        let id = create.upload_id().unwrap().to_owned();
        // Not visible before completion.
        assert_eq!(
            code_status(s3.head_object().bucket(&b).key("big.bin").send().await).1,
            404
        );

        let mut done = Vec::new();
        let mut md5s = Md5::new();
        for (i, chunk) in body.chunks(5 * MIB).enumerate() {
            let n = i as i32 + 1;
            let out = s3
                .upload_part()
                .bucket(&b)
                .key("big.bin")
                .upload_id(&id)
                .part_number(n)
                .body(ByteStream::from(chunk.to_vec()))
                .send()
                .await
                .unwrap();
            let etag = out.e_tag().unwrap().to_owned();
            assert_eq!(etag, format!("\"{}\"", hex::encode(Md5::digest(chunk))));
            md5s.update(Md5::digest(chunk));
            done.push((n, etag));
        }
        assert_eq!(done.len(), 13);

        // ListParts paginates.
        let mut seen = Vec::new();
        let mut marker = None;
        loop {
            let mut req = s3.list_parts().bucket(&b).key("big.bin").upload_id(&id).max_parts(5);
            if let Some(m) = &marker {
                req = req.part_number_marker(m);
            }
            let out = req.send().await.unwrap();
            seen.extend(
                out.parts()
                    .iter()
                    .map(|p| (p.part_number().unwrap(), p.size().unwrap())),
            );
            if out.is_truncated() == Some(true) {
                marker = out.next_part_number_marker().map(str::to_owned);
            } else {
                break;
            }
        }
        assert_eq!(seen.len(), 13);
        assert_eq!(seen[12], (13, (4 * MIB) as i64));

        let out = s3
            .complete_multipart_upload()
            .bucket(&b)
            .key("big.bin")
            .upload_id(&id)
            .multipart_upload(parts_of(&done))
            .send()
            .await
            .unwrap();
        let want_etag = format!("\"{}-13\"", hex::encode(md5s.finalize()));
        assert_eq!(out.e_tag(), Some(want_etag.as_str()), "{backend:?}");

        let got = s3.get_object().bucket(&b).key("big.bin").send().await.unwrap();
        assert_eq!(got.e_tag(), Some(want_etag.as_str()));
        assert_eq!(got.content_type(), Some("application/x-big"));
        assert_eq!(
            got.metadata().unwrap().get("mtime").map(String::as_str),
            Some("1700000000")
        );
        let back = got.body.collect().await.unwrap().into_bytes();
        assert_eq!(back.len(), body.len());
        assert_eq!(Sha256::digest(&back), Sha256::digest(&body), "{backend:?}");
        let ranged = s3
            .get_object()
            .bucket(&b)
            .key("big.bin")
            .range("bytes=5242870-5242889")
            .send()
            .await
            .unwrap();
        assert_eq!(
            ranged.body.collect().await.unwrap().into_bytes().as_ref(),
            &body[5_242_870..5_242_890]
        );

        // ?partNumber=N addresses one part, as SDK transfer managers download them.
        let part2 = s3
            .get_object()
            .bucket(&b)
            .key("big.bin")
            .part_number(2)
            .send()
            .await
            .unwrap();
        assert_eq!(part2.parts_count(), Some(13));
        assert_eq!(part2.content_length(), Some((5 * MIB) as i64));
        let bytes = part2.body.collect().await.unwrap().into_bytes();
        assert_eq!(bytes.as_ref(), &body[5 * MIB..10 * MIB]);
        let last = s3
            .head_object()
            .bucket(&b)
            .key("big.bin")
            .part_number(13)
            .send()
            .await
            .unwrap();
        assert_eq!(last.content_length(), Some((4 * MIB) as i64));
        assert_eq!(last.parts_count(), Some(13));
        let res = s3.get_object().bucket(&b).key("big.bin").part_number(14).send().await;
        assert_eq!(code_status(res), ("InvalidPartNumber".into(), 416));
        let res = s3
            .get_object()
            .bucket(&b)
            .key("big.bin")
            .part_number(1)
            .range("bytes=0-1")
            .send()
            .await;
        assert_eq!(code_status(res).1, 400);

        // Completing again (a client's retry) answers the same; nothing is left in progress
        // or orphaned.
        let again = s3
            .complete_multipart_upload()
            .bucket(&b)
            .key("big.bin")
            .upload_id(&id)
            .multipart_upload(parts_of(&done))
            .send()
            .await
            .unwrap();
        assert_eq!(again.e_tag(), Some(want_etag.as_str()));
        assert_eq!(srv.open_uploads().await, (0, 0));
        srv.assert_no_orphans().await;
    }
}

#[tokio::test]
async fn completion_checks_order_etags_sizes_and_upload_ids() {
    for backend in BACKENDS {
        let srv = TestServer::start(backend).await;
        let (s3, b) = setup(&srv).await;
        let id = s3
            .create_multipart_upload()
            .bucket(&b)
            .key("k")
            .send()
            .await
            .unwrap()
            .upload_id
            .unwrap();
        let mut etags = Vec::new();
        for (n, len) in [(1, 5 * MIB), (2, MIB), (3, MIB)] {
            let out = s3
                .upload_part()
                .bucket(&b)
                .key("k")
                .upload_id(&id)
                .part_number(n)
                .body(data(len, n as u8).into())
                .send()
                .await
                .unwrap();
            etags.push((n, out.e_tag().unwrap().to_owned()));
        }
        let complete = |parts: Vec<(i32, String)>| {
            s3.complete_multipart_upload()
                .bucket(&b)
                .key("k")
                .upload_id(&id)
                .multipart_upload(parts_of(&parts))
                .send()
        };
        let reversed = vec![etags[1].clone(), etags[0].clone()];
        assert_eq!(code_status(complete(reversed).await), ("InvalidPartOrder".into(), 400));
        let wrong_etag = vec![etags[0].clone(), (2, "\"00000000000000000000000000000000\"".into())];
        assert_eq!(code_status(complete(wrong_etag).await), ("InvalidPart".into(), 400));
        let missing = vec![etags[0].clone(), (9, etags[1].1.clone())];
        assert_eq!(code_status(complete(missing).await), ("InvalidPart".into(), 400));
        // Part 2 (1 MiB) is not last here, so it is too small.
        assert_eq!(
            code_status(complete(etags.clone()).await),
            ("EntityTooSmall".into(), 400)
        );
        let bogus = s3
            .complete_multipart_upload()
            .bucket(&b)
            .key("k")
            .upload_id("not-an-upload")
            .multipart_upload(parts_of(&etags))
            .send()
            .await;
        assert_eq!(code_status(bogus), ("NoSuchUpload".into(), 404));
        let other_key = s3
            .upload_part()
            .bucket(&b)
            .key("other")
            .upload_id(&id)
            .part_number(1)
            .body(b"x".to_vec().into())
            .send()
            .await;
        assert_eq!(code_status(other_key), ("NoSuchUpload".into(), 404));
        let bad_number = s3
            .upload_part()
            .bucket(&b)
            .key("k")
            .upload_id(&id)
            .part_number(10_001)
            .body(b"x".to_vec().into())
            .send()
            .await;
        assert_eq!(code_status(bad_number).1, 400);

        // The failed attempts left the upload usable: parts 1 and 2 complete fine (2 is last
        // now), and the part left out (3) is dropped.
        let out = complete(vec![etags[0].clone(), etags[1].clone()]).await.unwrap();
        assert!(out.e_tag().unwrap().ends_with("-2\""));
        let got = s3.get_object().bucket(&b).key("k").send().await.unwrap();
        let mut want = data(5 * MIB, 1);
        want.extend(data(MIB, 2));
        assert_eq!(
            got.body.collect().await.unwrap().into_bytes().as_ref(),
            want.as_slice(),
            "{backend:?}"
        );
        assert_eq!(srv.open_uploads().await, (0, 0));
        srv.assert_no_orphans().await;
    }
}

#[tokio::test]
async fn abort_leaves_nothing_behind() {
    for backend in BACKENDS {
        let srv = TestServer::start(backend).await;
        let (s3, b) = setup(&srv).await;
        let id = s3
            .create_multipart_upload()
            .bucket(&b)
            .key("gone")
            .send()
            .await
            .unwrap()
            .upload_id
            .unwrap();
        for n in 1..=2 {
            s3.upload_part()
                .bucket(&b)
                .key("gone")
                .upload_id(&id)
                .part_number(n)
                .body(data(MIB, n as u8).into())
                .send()
                .await
                .unwrap();
        }
        assert_eq!(srv.open_uploads().await, (1, 1));
        s3.abort_multipart_upload()
            .bucket(&b)
            .key("gone")
            .upload_id(&id)
            .send()
            .await
            .unwrap();
        let again = s3
            .abort_multipart_upload()
            .bucket(&b)
            .key("gone")
            .upload_id(&id)
            .send()
            .await;
        assert_eq!(code_status(again), ("NoSuchUpload".into(), 404));
        let list = s3.list_parts().bucket(&b).key("gone").upload_id(&id).send().await;
        assert_eq!(code_status(list), ("NoSuchUpload".into(), 404));
        let late = s3
            .upload_part()
            .bucket(&b)
            .key("gone")
            .upload_id(&id)
            .part_number(3)
            .body(b"late".to_vec().into())
            .send()
            .await;
        assert_eq!(code_status(late), ("NoSuchUpload".into(), 404));
        assert_eq!(srv.open_uploads().await, (0, 0), "{backend:?}");
        assert_eq!(srv.object_rows().await, 0);
        srv.assert_no_orphans().await;
        // Nothing in the bucket's listing either.
        let uploads = s3.list_multipart_uploads().bucket(&b).send().await.unwrap();
        assert!(uploads.uploads().is_empty());
    }
}

#[tokio::test]
async fn reuploading_a_part_replaces_it_and_part_copy_takes_ranges() {
    for backend in BACKENDS {
        let srv = TestServer::start(backend).await;
        let (s3, b) = setup(&srv).await;
        let src = data(7 * MIB, 9);
        s3.put_object()
            .bucket(&b)
            .key("src")
            .body(src.clone().into())
            .send()
            .await
            .unwrap();
        let id = s3
            .create_multipart_upload()
            .bucket(&b)
            .key("dst")
            .send()
            .await
            .unwrap()
            .upload_id
            .unwrap();
        let part = |n: i32, body: Vec<u8>| {
            s3.upload_part()
                .bucket(&b)
                .key("dst")
                .upload_id(&id)
                .part_number(n)
                .body(body.into())
                .send()
        };
        part(1, b"first try".to_vec()).await.unwrap();
        let e1 = part(1, data(5 * MIB, 2)).await.unwrap().e_tag.unwrap();
        let copy = s3
            .upload_part_copy()
            .bucket(&b)
            .key("dst")
            .upload_id(&id)
            .part_number(2)
            .copy_source(format!("{b}/src"))
            .copy_source_range("bytes=1000-2000999")
            .send()
            .await
            .unwrap();
        let e2 = copy.copy_part_result().unwrap().e_tag().unwrap().to_owned();
        assert_eq!(e2, format!("\"{}\"", hex::encode(Md5::digest(&src[1000..2_001_000]))));
        let bad = s3
            .upload_part_copy()
            .bucket(&b)
            .key("dst")
            .upload_id(&id)
            .part_number(3)
            .copy_source(format!("{b}/src"))
            .copy_source_range(format!("bytes=0-{}", 7 * MIB))
            .send()
            .await;
        assert_eq!(code_status(bad).1, 416);
        let listed = s3
            .list_parts()
            .bucket(&b)
            .key("dst")
            .upload_id(&id)
            .send()
            .await
            .unwrap();
        let sizes: Vec<_> = listed.parts().iter().map(|p| p.size().unwrap()).collect();
        assert_eq!(sizes, vec![(5 * MIB) as i64, 2_000_000]);

        s3.complete_multipart_upload()
            .bucket(&b)
            .key("dst")
            .upload_id(&id)
            .multipart_upload(parts_of(&[(1, e1), (2, e2)]))
            .send()
            .await
            .unwrap();
        let got = s3.get_object().bucket(&b).key("dst").send().await.unwrap();
        let mut want = data(5 * MIB, 2);
        want.extend_from_slice(&src[1000..2_001_000]);
        assert_eq!(
            got.body.collect().await.unwrap().into_bytes().as_ref(),
            want.as_slice(),
            "{backend:?}"
        );
        assert_eq!(srv.open_uploads().await, (0, 0));
        srv.assert_no_orphans().await;
    }
}

#[tokio::test]
async fn list_multipart_uploads_filters_and_paginates() {
    for backend in BACKENDS {
        list_uploads_on(backend).await;
    }
}

async fn list_uploads_on(backend: Backend) {
    let srv = TestServer::start(backend).await;
    let (s3, b) = setup(&srv).await;
    let mut ids = Vec::new();
    for k in ["a/1", "a/2", "a/2", "b/1"] {
        let id = s3
            .create_multipart_upload()
            .bucket(&b)
            .key(k)
            .send()
            .await
            .unwrap()
            .upload_id
            .unwrap();
        ids.push((k, id));
    }
    let all = s3
        .list_multipart_uploads()
        .bucket(&b)
        .prefix("a/")
        .send()
        .await
        .unwrap();
    let keys: Vec<_> = all.uploads().iter().map(|u| u.key().unwrap()).collect();
    assert_eq!(keys, vec!["a/1", "a/2", "a/2"]);

    let mut seen = Vec::new();
    let (mut km, mut um): (Option<String>, Option<String>) = (None, None);
    loop {
        let mut req = s3.list_multipart_uploads().bucket(&b).max_uploads(1);
        if let Some(k) = &km {
            req = req.key_marker(k);
        }
        if let Some(u) = &um {
            req = req.upload_id_marker(u);
        }
        let out = req.send().await.unwrap();
        seen.extend(out.uploads().iter().map(|u| u.upload_id().unwrap().to_owned()));
        if out.is_truncated() != Some(true) {
            break;
        }
        km = out.next_key_marker().map(str::to_owned);
        um = out.next_upload_id_marker().map(str::to_owned);
    }
    assert_eq!(seen.len(), 4);
    let mut want: Vec<_> = ids.iter().map(|(_, id)| id.clone()).collect();
    want.sort();
    let mut got = seen.clone();
    got.sort();
    assert_eq!(got, want);
}

#[tokio::test]
async fn gc_aborts_uploads_left_incomplete_too_long() {
    for backend in BACKENDS {
        let srv = TestServer::start(backend).await;
        let (s3, b) = setup(&srv).await;
        let id = s3
            .create_multipart_upload()
            .bucket(&b)
            .key("stale")
            .send()
            .await
            .unwrap()
            .upload_id
            .unwrap();
        s3.upload_part()
            .bucket(&b)
            .key("stale")
            .upload_id(&id)
            .part_number(1)
            .body(data(MIB, 1).into())
            .send()
            .await
            .unwrap();
        let hour = std::time::Duration::from_secs(3600);
        let young = godrive::jobs::gc::collect(&srv.state, hour, hour, false).await.unwrap();
        assert_eq!(young.stale_uploads, 0);
        let report = godrive::jobs::gc::collect(&srv.state, hour, std::time::Duration::ZERO, false)
            .await
            .unwrap();
        assert_eq!(report.stale_uploads, 1, "{backend:?}");
        assert_eq!(srv.open_uploads().await, (0, 0));
    }
}

#[tokio::test]
async fn multipart_checksums_are_composite_or_full_object() {
    for backend in BACKENDS {
        let srv = TestServer::start(backend).await;
        let (s3, b) = setup(&srv).await;
        let body = data(6 * MIB, 3);
        let (p1, p2) = body.split_at(5 * MIB);
        for (key, alg) in [
            ("crc32", ChecksumAlgorithm::Crc32),
            ("crc64", ChecksumAlgorithm::Crc64Nvme),
        ] {
            let id = s3
                .create_multipart_upload()
                .bucket(&b)
                .key(key)
                .checksum_algorithm(alg.clone())
                .send()
                .await
                .unwrap()
                .upload_id
                .unwrap();
            let mut parts = Vec::new();
            for (n, chunk) in [(1, p1), (2, p2)] {
                let out = s3
                    .upload_part()
                    .bucket(&b)
                    .key(key)
                    .upload_id(&id)
                    .part_number(n)
                    .checksum_algorithm(alg.clone())
                    .body(chunk.to_vec().into())
                    .send()
                    .await
                    .unwrap();
                let mut cp = CompletedPart::builder().part_number(n).e_tag(out.e_tag().unwrap());
                if let Some(c) = out.checksum_crc32() {
                    cp = cp.checksum_crc32(c);
                }
                if let Some(c) = out.checksum_crc64_nvme() {
                    cp = cp.checksum_crc64_nvme(c);
                }
                parts.push(cp.build());
            }
            let out = s3
                .complete_multipart_upload()
                .bucket(&b)
                .key(key)
                .upload_id(&id)
                .multipart_upload(CompletedMultipartUpload::builder().set_parts(Some(parts)).build())
                .send()
                .await
                .unwrap();
            let head = s3
                .head_object()
                .bucket(&b)
                .key(key)
                .checksum_mode(ChecksumMode::Enabled)
                .send()
                .await
                .unwrap();
            if key == "crc32" {
                let v = out.checksum_crc32().unwrap();
                assert!(v.ends_with("-2"), "composite: {v}");
                assert_eq!(head.checksum_crc32(), Some(v));
            } else {
                let mut h = godrive::checksum::Hasher::new([godrive::checksum::Algorithm::Crc64nvme]);
                h.update(&body);
                let whole = h
                    .finalize()
                    .get(godrive::checksum::Algorithm::Crc64nvme)
                    .unwrap()
                    .to_owned();
                assert_eq!(out.checksum_crc64_nvme(), Some(whole.as_str()), "{backend:?}");
                assert_eq!(head.checksum_crc64_nvme(), Some(whole.as_str()));
            }
        }
    }
}

/// A client that timed out and retries CompleteMultipartUpload gets the same success, as
/// from S3, not NoSuchUpload; an upload id never seen is still NoSuchUpload.
#[tokio::test]
async fn a_retried_completion_gets_the_same_answer() {
    let srv = TestServer::start(Backend::Fs).await;
    let (s3, b) = setup(&srv).await;
    let id = crc32_upload(&s3, &b, "k").await;
    let part = s3
        .upload_part()
        .bucket(&b)
        .key("k")
        .upload_id(&id)
        .part_number(1)
        .checksum_algorithm(ChecksumAlgorithm::Crc32)
        .body(ByteStream::from(data(1000, 3)))
        .send()
        .await
        .unwrap();
    let list = CompletedMultipartUpload::builder()
        .parts(
            CompletedPart::builder()
                .part_number(1)
                .e_tag(part.e_tag().unwrap())
                .checksum_crc32(part.checksum_crc32().unwrap())
                .build(),
        )
        .build();
    let complete = || {
        s3.complete_multipart_upload()
            .bucket(&b)
            .key("k")
            .upload_id(&id)
            .multipart_upload(list.clone())
            .send()
    };
    let first = complete().await.unwrap();
    let again = complete().await.unwrap();
    assert_eq!(again.e_tag(), first.e_tag());
    assert_eq!(again.checksum_crc32(), first.checksum_crc32());
    assert_eq!(again.key(), Some("k"));
    // Another key, or an upload id never seen: NoSuchUpload.
    let res = s3
        .complete_multipart_upload()
        .bucket(&b)
        .key("other")
        .upload_id(&id)
        .multipart_upload(list.clone())
        .send()
        .await;
    assert_eq!(code_status(res), ("NoSuchUpload".into(), 404));
    let res = s3
        .complete_multipart_upload()
        .bucket(&b)
        .key("k")
        .upload_id(uuid::Uuid::new_v4().to_string())
        .multipart_upload(list.clone())
        .send()
        .await;
    assert_eq!(code_status(res), ("NoSuchUpload".into(), 404));
    assert_eq!(srv.object_rows().await, 1);
}

/// Asked by part number, an object not uploaded in parts is one part, as in S3.
#[tokio::test]
async fn a_single_part_object_read_by_part_number_is_one_part() {
    let srv = TestServer::start(Backend::Fs).await;
    let (s3, b) = setup(&srv).await;
    let body = data(5000, 9);
    s3.put_object()
        .bucket(&b)
        .key("k")
        .body(ByteStream::from(body.clone()))
        .send()
        .await
        .unwrap();
    let head = s3
        .head_object()
        .bucket(&b)
        .key("k")
        .part_number(1)
        .send()
        .await
        .unwrap();
    assert_eq!(head.parts_count(), Some(1));
    assert_eq!(head.content_length(), Some(5000));
    let got = s3.get_object().bucket(&b).key("k").part_number(1).send().await.unwrap();
    assert_eq!(got.parts_count(), Some(1));
    assert_eq!(got.body.collect().await.unwrap().to_vec(), body);
    let res = s3.get_object().bucket(&b).key("k").part_number(2).send().await;
    assert_eq!(code_status(res), ("InvalidPartNumber".into(), 416));
    // Without a part number, no part count.
    let plain = s3.head_object().bucket(&b).key("k").send().await.unwrap();
    assert_eq!(plain.parts_count(), None);
}

/// A part uploaded again replaces the first, checksum included; two uploads of one part
/// number at once leave exactly one of them, whole, and no orphaned blob.
#[tokio::test]
async fn a_part_uploaded_again_or_twice_at_once_keeps_one_whole_part() {
    for backend in BACKENDS {
        let srv = TestServer::start(backend).await;
        let (s3, b) = setup(&srv).await;
        let id = crc32_upload(&s3, &b, "k").await;
        let part = |body: Vec<u8>| {
            s3.upload_part()
                .bucket(&b)
                .key("k")
                .upload_id(&id)
                .part_number(1)
                .checksum_algorithm(ChecksumAlgorithm::Crc32)
                .body(ByteStream::from(body))
                .send()
        };
        let first = part(data(1000, 1)).await.unwrap();
        let second = part(data(2000, 2)).await.unwrap();
        assert_ne!(first.checksum_crc32(), second.checksum_crc32());
        let listed = s3.list_parts().bucket(&b).key("k").upload_id(&id).send().await.unwrap();
        assert_eq!(listed.parts().len(), 1, "{backend:?}");
        assert_eq!(listed.parts()[0].e_tag(), second.e_tag());
        assert_eq!(listed.parts()[0].checksum_crc32(), second.checksum_crc32());
        assert_eq!(listed.parts()[0].size(), Some(2000));

        // Two at once: both answer, one stays.
        let (x, y) = tokio::join!(part(data(3000, 3)), part(data(4000, 4)));
        let (x, y) = (x.unwrap(), y.unwrap());
        let listed = s3.list_parts().bucket(&b).key("k").upload_id(&id).send().await.unwrap();
        assert_eq!(listed.parts().len(), 1, "{backend:?}");
        let kept = listed.parts()[0].clone();
        let (want, etag) = if kept.e_tag() == x.e_tag() {
            (data(3000, 3), x.e_tag().unwrap().to_owned())
        } else {
            assert_eq!(kept.e_tag(), y.e_tag(), "{backend:?}");
            (data(4000, 4), y.e_tag().unwrap().to_owned())
        };
        // A stale checksum does not complete; the kept part's does.
        let complete = |checksum: Option<&str>| {
            s3.complete_multipart_upload()
                .bucket(&b)
                .key("k")
                .upload_id(&id)
                .multipart_upload(
                    CompletedMultipartUpload::builder()
                        .parts(
                            CompletedPart::builder()
                                .part_number(1)
                                .e_tag(&etag)
                                .set_checksum_crc32(checksum.map(str::to_owned))
                                .build(),
                        )
                        .build(),
                )
                .send()
        };
        let res = complete(first.checksum_crc32()).await;
        assert_eq!(code_status(res), ("InvalidPart".into(), 400), "{backend:?}");
        complete(kept.checksum_crc32()).await.unwrap();
        let got = s3.get_object().bucket(&b).key("k").send().await.unwrap();
        assert_eq!(got.body.collect().await.unwrap().to_vec(), want, "{backend:?}");
        srv.assert_no_orphans().await;
    }
}
