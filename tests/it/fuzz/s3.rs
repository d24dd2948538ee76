//! The S3 operations: query parameters, object keys, bucket names and headers, and
//! presigned URLs and CORS preflights naming hostile things.

use super::*;

/// Every case for the S3 operations GoDrive serves.
pub(super) fn s3_cases(w: &World) -> Vec<Case> {
    let b = &w.bucket;
    let up = &w.upload_id;
    let sign = Auth::Sign(w.user.clone());
    let mut cases = Vec::new();
    let case = |label: String, method: &'static str, target: String| Case::new(label, method, target, sign.clone());

    // Query parameters, one hostile value at a time, the others as a client sends them.
    let queries: &[(&str, &'static str, String, &[&str])] = &[
        (
            "ListBuckets",
            "GET",
            "/?".into(),
            &["prefix", "continuation-token", "max-buckets", "bucket-region"],
        ),
        (
            "ListObjects",
            "GET",
            format!("/{b}?"),
            &["prefix", "delimiter", "marker", "max-keys", "encoding-type"],
        ),
        (
            "ListObjectsV2",
            "GET",
            format!("/{b}?list-type=2&"),
            &[
                "prefix",
                "delimiter",
                "start-after",
                "continuation-token",
                "max-keys",
                "encoding-type",
                "fetch-owner",
            ],
        ),
        ("ListObjectsV2 list-type", "GET", format!("/{b}?"), &["list-type"]),
        (
            "ListMultipartUploads",
            "GET",
            format!("/{b}?uploads&"),
            &[
                "prefix",
                "delimiter",
                "key-marker",
                "upload-id-marker",
                "max-uploads",
                "encoding-type",
            ],
        ),
        (
            "ListMultipartUploads after a key",
            "GET",
            format!("/{b}?uploads&key-marker=a&"),
            &["upload-id-marker"],
        ),
        (
            "ListParts",
            "GET",
            format!("/{b}/mp?uploadId={up}&"),
            &["max-parts", "part-number-marker"],
        ),
        ("ListParts id", "GET", format!("/{b}/mp?"), &["uploadId"]),
        (
            "GetObject",
            "GET",
            format!("/{b}/keep?"),
            &[
                "response-content-type",
                "response-content-disposition",
                "response-content-encoding",
                "response-content-language",
                "response-cache-control",
                "response-expires",
                "partNumber",
                "versionId",
            ],
        ),
        (
            "HeadObject",
            "HEAD",
            format!("/{b}/keep?"),
            &["partNumber", "versionId", "response-content-type"],
        ),
        ("GetObjectTagging", "GET", format!("/{b}/keep?tagging&"), &["versionId"]),
        ("GetObjectAcl", "GET", format!("/{b}/keep?acl&"), &["versionId"]),
        ("UploadPart", "PUT", format!("/{b}/mp?uploadId={up}&"), &["partNumber"]),
        ("UploadPart id", "PUT", format!("/{b}/mp?partNumber=1&"), &["uploadId"]),
        ("AbortMultipartUpload", "DELETE", format!("/{b}/mp?"), &["uploadId"]),
        ("DeleteObject version", "DELETE", format!("/{b}/gone?"), &["versionId"]),
        ("GetBucketLocation", "GET", format!("/{b}?location&"), &["x"]),
        ("unknown parameter", "GET", format!("/{b}/keep?"), &["x-unknown", "%00"]),
    ];
    for (op, method, prefix, names) in queries {
        for name in *names {
            for v in url_values() {
                let mut c = case(format!("S3 {op} ?{name}={v}"), method, format!("{prefix}{name}={v}"));
                if op.starts_with("UploadPart") {
                    c = c.body(b"part".to_vec());
                }
                cases.push(c);
            }
        }
    }

    // Object keys in the path, for every object operation.
    let keyed: &[(&str, &'static str, &str)] = &[
        ("PutObject", "PUT", ""),
        ("GetObject", "GET", ""),
        ("HeadObject", "HEAD", ""),
        ("DeleteObject", "DELETE", ""),
        ("GetObjectTagging", "GET", "?tagging"),
        ("DeleteObjectTagging", "DELETE", "?tagging"),
        ("GetObjectAcl", "GET", "?acl"),
        ("CreateMultipartUpload", "POST", "?uploads"),
        ("ListParts", "GET", "?uploadId={upload}"),
        ("UploadPart", "PUT", "?partNumber=1&uploadId={upload}"),
        ("AbortMultipartUpload", "DELETE", "?uploadId={upload}"),
    ];
    for (op, method, query) in keyed {
        let query = query.replace("{upload}", up);
        for v in url_values() {
            // A key under a prefix too, so that an empty value is still an object path.
            for key in [v.clone(), format!("dir/{v}")] {
                let mut c = case(format!("S3 {op} key={key}"), method, format!("/{b}/{key}{query}"));
                if *method == "PUT" {
                    c = c.body(b"x".to_vec());
                }
                cases.push(c);
            }
        }
    }

    // Bucket names in the path, for every bucket operation.
    let bucketed: &[(&str, &'static str, &str)] = &[
        ("CreateBucket", "PUT", ""),
        ("HeadBucket", "HEAD", ""),
        ("DeleteBucket", "DELETE", ""),
        ("ListObjects", "GET", ""),
        ("GetBucketLocation", "GET", "?location"),
        ("GetBucketVersioning", "GET", "?versioning"),
        ("GetBucketAcl", "GET", "?acl"),
        ("GetBucketCors", "GET", "?cors"),
        ("DeleteBucketCors", "DELETE", "?cors"),
        ("ListMultipartUploads", "GET", "?uploads"),
    ];
    for (op, method, query) in bucketed {
        for v in url_values() {
            cases.push(case(format!("S3 {op} bucket={v}"), method, format!("/{v}{query}")));
        }
    }

    // Request headers, one hostile value at a time: operation, method, target, headers
    // sent as they are, headers to fuzz.
    type Headed<'a> = (&'a str, &'static str, String, &'a [(&'a str, &'a str)], &'a [&'a str]);
    let headed: &[Headed] = &[
        (
            "PutObject",
            "PUT",
            format!("/{b}/put-target"),
            &[],
            &[
                "content-type",
                "content-disposition",
                "content-encoding",
                "content-language",
                "cache-control",
                "expires",
                "x-amz-meta-fuzz",
                "x-amz-tagging",
                "x-amz-acl",
                "content-md5",
                "x-amz-checksum-sha256",
                "x-amz-checksum-crc32",
                "x-amz-sdk-checksum-algorithm",
                "x-amz-storage-class",
                "if-none-match",
                "x-amz-server-side-encryption",
            ],
        ),
        (
            "GetObject",
            "GET",
            format!("/{b}/keep"),
            &[],
            &[
                "range",
                "if-match",
                "if-none-match",
                "if-modified-since",
                "if-unmodified-since",
                "x-amz-checksum-mode",
            ],
        ),
        (
            "HeadObject",
            "HEAD",
            format!("/{b}/keep"),
            &[],
            &["range", "if-match", "if-modified-since"],
        ),
        (
            "CopyObject",
            "PUT",
            format!("/{b}/copy-target"),
            &[("x-amz-copy-source", "")],
            &["x-amz-copy-source"],
        ),
        (
            "CopyObject (REPLACE)",
            "PUT",
            format!("/{b}/copy-target"),
            &[("x-amz-copy-source", "/"), ("x-amz-metadata-directive", "REPLACE")],
            &[
                "x-amz-metadata-directive",
                "x-amz-tagging-directive",
                "x-amz-tagging",
                "x-amz-meta-fuzz",
                "content-type",
                "x-amz-copy-source-if-match",
                "x-amz-copy-source-if-modified-since",
                "x-amz-acl",
            ],
        ),
        (
            "CreateMultipartUpload",
            "POST",
            format!("/{b}/mp-target?uploads"),
            &[],
            &[
                "x-amz-checksum-algorithm",
                "x-amz-checksum-type",
                "content-type",
                "x-amz-meta-fuzz",
                "x-amz-tagging",
            ],
        ),
        (
            "UploadPart",
            "PUT",
            format!("/{b}/mp?partNumber=1&uploadId={up}"),
            &[],
            &["content-md5", "x-amz-checksum-crc32"],
        ),
        (
            "UploadPartCopy",
            "PUT",
            format!("/{b}/mp?partNumber=2&uploadId={up}"),
            &[("x-amz-copy-source", "/")],
            &["x-amz-copy-source", "x-amz-copy-source-range"],
        ),
        (
            "PutObjectAcl",
            "PUT",
            format!("/{b}/keep?acl"),
            &[],
            &["x-amz-acl", "x-amz-grant-read"],
        ),
        (
            "PutBucketAcl",
            "PUT",
            format!("/{b}?acl"),
            &[],
            &["x-amz-acl", "x-amz-grant-full-control"],
        ),
        (
            "CreateBucket",
            "PUT",
            format!("/{}", unique("fuzzhdr")),
            &[],
            &["x-amz-acl", "x-amz-bucket-object-lock-enabled"],
        ),
        (
            "ListObjectsV2",
            "GET",
            format!("/{b}?list-type=2"),
            &[],
            &["x-amz-request-payer", "x-amz-expected-bucket-owner"],
        ),
    ];
    for (op, method, target, fixed, names) in headed {
        for name in *names {
            let mut values = header_values();
            if name.contains("copy-source") && !name.contains("if-") && !name.contains("range") {
                // A copy source is `bucket/key`, percent-encoded: hostile keys and buckets.
                values = url_values()
                    .into_iter()
                    .flat_map(|v| [format!("{b}/{v}"), format!("{v}/keep"), v])
                    .collect();
            }
            for v in values {
                let mut c = case(format!("S3 {op} {name}: {v}"), method, target.clone());
                for (k, fv) in *fixed {
                    let fv = if *fv == "/" {
                        format!("{b}/keep")
                    } else {
                        (*fv).to_owned()
                    };
                    if k != name {
                        c = c.header(k, &fv);
                    }
                }
                c = c.header(name, &v);
                if *method == "PUT" && !op.starts_with("Copy") && !op.starts_with("UploadPartCopy") {
                    c = c.body(b"x".to_vec());
                }
                cases.push(c);
            }
        }
    }
    cases
}

/// Presigned URLs with hostile query values (their signatures are garbage), and CORS
/// preflights and actual requests naming hostile buckets and origins.
pub(super) fn presigned_cases(w: &World) -> Vec<Case> {
    let b = &w.bucket;
    let mut cases = Vec::new();
    // Signed now, so that a request gets as far as its access key (the signature is garbage).
    let now = time::OffsetDateTime::now_utc();
    let day = now
        .format(time::macros::format_description!("[year][month][day]"))
        .unwrap();
    let date = now
        .format(time::macros::format_description!(
            "[year][month][day]T[hour][minute][second]Z"
        ))
        .unwrap();
    let date = date.as_str();
    for v in url_values() {
        let v4 = |cred: &str, expires: &str, link: &str| {
            format!(
                "/{b}/keep?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential={cred}&X-Amz-Date={date}&X-Amz-Expires={expires}&X-Amz-SignedHeaders=host&x-godrive-link={link}&X-Amz-Signature=00"
            )
        };
        let cred = format!("{}%2F{day}%2Fus-east-1%2Fs3%2Faws4_request", w.user.access_key);
        for (what, target) in [
            (
                "credential",
                v4(
                    &format!("{v}%2F{day}%2Fus-east-1%2Fs3%2Faws4_request"),
                    "60",
                    &w.link_id,
                ),
            ),
            ("access key", v4(&v, "60", &w.link_id)),
            ("expires", v4(&cred, &v, &w.link_id)),
            ("link", v4(&cred, "60", &v)),
            ("date", v4(&cred, "60", &w.link_id).replace(date, &v)),
            (
                "v2 access key",
                format!("/{b}/keep?AWSAccessKeyId={v}&Expires=9999999999&Signature=x"),
            ),
            (
                "v2 expires",
                format!("/{b}/keep?AWSAccessKeyId={}&Expires={v}&Signature=x", w.user.access_key),
            ),
            (
                "path",
                format!(
                    "/{b}/{v}?AWSAccessKeyId={}&Expires=9999999999&Signature=x",
                    w.user.access_key
                ),
            ),
        ] {
            cases.push(Case::new(format!("S3 presigned {what}={v}"), "GET", target, Auth::None));
        }
        // CORS: a preflight and an actual request naming a hostile bucket.
        cases.push(
            Case::new(
                format!("S3 preflight bucket={v}"),
                "OPTIONS",
                format!("/{v}/k"),
                Auth::None,
            )
            .header("origin", "http://a.example")
            .header("access-control-request-method", "GET"),
        );
        cases.push(
            Case::new(
                format!("S3 CORS actual bucket={v}"),
                "GET",
                format!("/{v}/k"),
                Auth::None,
            )
            .header("origin", "http://a.example"),
        );
    }
    for v in header_values() {
        cases.push(
            Case::new(
                format!("S3 preflight origin={v}"),
                "OPTIONS",
                format!("/{b}/keep"),
                Auth::None,
            )
            .header("origin", &v)
            .header("access-control-request-method", "GET")
            .header("access-control-request-headers", &v),
        );
    }
    cases
}
