//! Flexible checksums in headers and aws-chunked trailers.

use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{ChecksumAlgorithm, ChecksumMode};
use aws_sigv4::http_request::SignableBody;
use godrive::checksum::{Algorithm, Hasher};

use crate::common::{BACKENDS, TestServer, TestUser, code_status, sign_request, unique, xml_code};

fn checksum(a: Algorithm, data: &[u8]) -> String {
    let mut h = Hasher::new([a]);
    h.update(data);
    h.finalize().get(a).unwrap().to_owned()
}

#[tokio::test]
async fn header_checksums_are_verified_stored_and_returned() {
    for backend in BACKENDS {
        let srv = TestServer::start(backend).await;
        let u = srv.user().await;
        let s3 = srv.client(&u);
        let b = unique("ck");
        s3.create_bucket().bucket(&b).send().await.unwrap();
        let body = b"checksummed content".to_vec();

        let wrong = checksum(Algorithm::Crc32, b"something else");
        let res = s3
            .put_object()
            .bucket(&b)
            .key("bad")
            .body(body.clone().into())
            .checksum_crc32(wrong)
            .send()
            .await;
        assert_eq!(code_status(res), ("BadDigest".into(), 400), "{backend:?}");
        let wrong = checksum(Algorithm::Sha256, b"something else");
        let res = s3
            .put_object()
            .bucket(&b)
            .key("bad")
            .body(body.clone().into())
            .checksum_sha256(wrong)
            .send()
            .await;
        assert_eq!(code_status(res), ("BadDigest".into(), 400));

        let right = checksum(Algorithm::Crc32c, &body);
        let put = s3
            .put_object()
            .bucket(&b)
            .key("good")
            .body(body.clone().into())
            .checksum_crc32_c(&right)
            .send()
            .await
            .unwrap();
        assert_eq!(put.checksum_crc32_c(), Some(right.as_str()));
        let got = s3
            .get_object()
            .bucket(&b)
            .key("good")
            .checksum_mode(ChecksumMode::Enabled)
            .send()
            .await
            .unwrap();
        assert_eq!(got.checksum_crc32_c(), Some(right.as_str()));
        // Only asked-for checksums come back.
        let plain = s3.head_object().bucket(&b).key("good").send().await.unwrap();
        assert_eq!(plain.checksum_crc32_c(), None);
        assert_eq!(srv.object_rows().await, 1);
        srv.assert_no_orphans().await;
    }
}

#[tokio::test]
async fn the_sdk_streaming_with_a_trailer_checksum_is_accepted() {
    for backend in BACKENDS {
        let srv = TestServer::start(backend).await;
        let u = srv.user().await;
        let s3 = srv.client(&u);
        let b = unique("trail");
        s3.create_bucket().bucket(&b).send().await.unwrap();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f.bin");
        let body: Vec<u8> = (0..3_000_000u32).map(|i| (i % 253) as u8).collect();
        std::fs::write(&path, &body).unwrap();
        for alg in [
            ChecksumAlgorithm::Crc32,
            ChecksumAlgorithm::Sha256,
            ChecksumAlgorithm::Crc64Nvme,
        ] {
            s3.put_object()
                .bucket(&b)
                .key("streamed")
                .body(ByteStream::from_path(&path).await.unwrap())
                .checksum_algorithm(alg.clone())
                .send()
                .await
                .unwrap();
        }
        let got = s3
            .get_object()
            .bucket(&b)
            .key("streamed")
            .checksum_mode(ChecksumMode::Enabled)
            .send()
            .await
            .unwrap();
        let want = checksum(Algorithm::Crc64nvme, &body);
        assert_eq!(got.checksum_crc64_nvme(), Some(want.as_str()), "{backend:?}");
        assert_eq!(got.body.collect().await.unwrap().into_bytes().as_ref(), body.as_slice());
    }
}

/// PUTs `data` as an unsigned aws-chunked body whose trailer claims `trailer_value`.
async fn put_with_trailer(
    srv: &TestServer,
    u: &TestUser,
    b: &str,
    key: &str,
    data: &[u8],
    trailer_value: &str,
) -> reqwest::Response {
    let url = format!("{}/{b}/{key}", srv.url());
    let mut body = format!("{:x}\r\n", data.len()).into_bytes();
    body.extend_from_slice(data);
    body.extend_from_slice(format!("\r\n0\r\nx-amz-checksum-crc32:{trailer_value}\r\n\r\n").as_bytes());
    let decoded = data.len().to_string();
    let headers = sign_request(
        "PUT",
        &url,
        u,
        &[
            ("content-encoding", "aws-chunked"),
            ("x-amz-decoded-content-length", &decoded),
            ("x-amz-trailer", "x-amz-checksum-crc32"),
        ],
        SignableBody::StreamingUnsignedPayloadTrailer,
    );
    let mut req = reqwest::Client::new().put(&url).body(body);
    for (k, v) in &headers {
        req = req.header(k, v);
    }
    req.send().await.unwrap()
}

#[tokio::test]
async fn a_trailer_checksum_that_does_not_match_is_refused() {
    for backend in BACKENDS {
        let srv = TestServer::start(backend).await;
        let u = srv.user().await;
        let b = unique("trailbad");
        srv.client(&u).create_bucket().bucket(&b).send().await.unwrap();
        let data = b"trailer checked payload";

        let resp = put_with_trailer(&srv, &u, &b, "bad", data, &checksum(Algorithm::Crc32, b"other")).await;
        assert_eq!(resp.status().as_u16(), 400, "{backend:?}");
        assert_eq!(xml_code(&resp.text().await.unwrap()), "BadDigest");
        assert_eq!(srv.object_rows().await, 0);
        srv.assert_no_orphans().await;

        let good = checksum(Algorithm::Crc32, data);
        let resp = put_with_trailer(&srv, &u, &b, "good", data, &good).await;
        assert_eq!(resp.status().as_u16(), 200, "{}", resp.text().await.unwrap());
        let got = srv
            .client(&u)
            .get_object()
            .bucket(&b)
            .key("good")
            .checksum_mode(ChecksumMode::Enabled)
            .send()
            .await
            .unwrap();
        assert_eq!(got.checksum_crc32(), Some(good.as_str()));
        assert_eq!(got.body.collect().await.unwrap().into_bytes().as_ref(), data);
    }
}
