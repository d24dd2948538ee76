//! The S3 request bodies: XML with hostile text in every slot or not XML at all, and POST
//! Object forms with a hostile value in every signed field. (A chunked XML body is refused
//! from its head; `focused` shows it on a raw socket, where the answer cannot race the
//! body.)

use super::*;

/// Hostile text for an XML element: character references to control characters (which an
/// XML parser may decode), raw control bytes, broken entities, long text.
fn xml_texts() -> Vec<String> {
    let mut v: Vec<String> = [
        "&#0;",
        "a&#0;b",
        "&#1;",
        "&#x1F;",
        "&#xD;&#xA;",
        "&#x7F;",
        "&#xFFFF;",
        "&#xD800;",
        "&#99999999;",
        "\u{1}",
        "\u{0}",
        "\r\n",
        "&unknown;",
        "&amp;",
        "]]>",
        "<![CDATA[\u{0}]]>",
        "",
        "-1",
        "99999999999999999999",
        "UNKNOWN_ENUM",
    ]
    .iter()
    .map(|s| (*s).to_owned())
    .collect();
    v.push("x".repeat(2000));
    v
}

/// Bodies that are not the XML an operation takes.
fn malformed_xml() -> Vec<(String, Vec<u8>)> {
    let mut v: Vec<(String, Vec<u8>)> = [
        "",
        "<",
        "not xml",
        "<Delete>",
        "<Delete><Object><Key>k</Key>",
        "{\"json\": true}",
        "<?xml version=\"1.0\"?><!DOCTYPE x [<!ENTITY a \"aaaaaaaaaa\"><!ENTITY b \"&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;\"><!ENTITY c \"&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;\">]><x>&c;</x>",
        "<?xml version=\"1.0\"?><!DOCTYPE x SYSTEM \"file:///etc/passwd\"><x/>",
    ]
    .iter()
    .map(|s| ((*s).to_owned(), s.as_bytes().to_vec()))
    .collect();
    v.push((
        "invalid UTF-8".into(),
        b"<Delete><Object><Key>\xff\xfe</Key></Object></Delete>".to_vec(),
    ));
    v.push((
        "raw NUL".into(),
        b"<Delete><Object><Key>a\0b</Key></Object></Delete>".to_vec(),
    ));
    v.push((
        "deep".into(),
        format!("{}{}", "<a>".repeat(5000), "</a>".repeat(5000)).into_bytes(),
    ));
    v
}

/// The XML bodies of the operations that take one, with `{}` slots for hostile text.
const XML_TEMPLATES: &[(&str, &str, &str, &[&str])] = &[
    (
        "DeleteObjects",
        "POST",
        "?delete",
        &[
            "<Delete><Object><Key>{}</Key></Object></Delete>",
            "<Delete><Object><Key>keep-not</Key><VersionId>{}</VersionId></Object></Delete>",
            "<Delete><Quiet>{}</Quiet><Object><Key>nothing</Key></Object></Delete>",
        ],
    ),
    (
        "PutBucketCors",
        "PUT",
        "?cors",
        &[
            "<CORSConfiguration><CORSRule><ID>{}</ID><AllowedOrigin>*</AllowedOrigin><AllowedMethod>GET</AllowedMethod></CORSRule></CORSConfiguration>",
            "<CORSConfiguration><CORSRule><AllowedOrigin>{}</AllowedOrigin><AllowedMethod>GET</AllowedMethod></CORSRule></CORSConfiguration>",
            "<CORSConfiguration><CORSRule><AllowedOrigin>*</AllowedOrigin><AllowedMethod>{}</AllowedMethod></CORSRule></CORSConfiguration>",
            "<CORSConfiguration><CORSRule><AllowedOrigin>*</AllowedOrigin><AllowedMethod>GET</AllowedMethod><AllowedHeader>{}</AllowedHeader><ExposeHeader>{}</ExposeHeader></CORSRule></CORSConfiguration>",
            "<CORSConfiguration><CORSRule><AllowedOrigin>*</AllowedOrigin><AllowedMethod>GET</AllowedMethod><MaxAgeSeconds>{}</MaxAgeSeconds></CORSRule></CORSConfiguration>",
        ],
    ),
    (
        "PutBucketAcl",
        "PUT",
        "?acl",
        &[
            "<AccessControlPolicy><Owner><ID>{}</ID></Owner><AccessControlList><Grant><Grantee xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" xsi:type=\"{}\"><ID>{}</ID></Grantee><Permission>{}</Permission></Grant></AccessControlList></AccessControlPolicy>",
        ],
    ),
    (
        "CreateBucket",
        "PUT",
        "",
        &["<CreateBucketConfiguration><LocationConstraint>{}</LocationConstraint></CreateBucketConfiguration>"],
    ),
];

/// The XML bodies of object operations.
const OBJECT_XML_TEMPLATES: &[(&str, &str, &str, &[&str])] = &[
    (
        "PutObjectTagging",
        "PUT",
        "?tagging",
        &[
            "<Tagging><TagSet><Tag><Key>{}</Key><Value>v</Value></Tag></TagSet></Tagging>",
            "<Tagging><TagSet><Tag><Key>k</Key><Value>{}</Value></Tag></TagSet></Tagging>",
        ],
    ),
    (
        "PutObjectAcl",
        "PUT",
        "?acl",
        &[
            "<AccessControlPolicy><Owner><ID>{}</ID></Owner><AccessControlList><Grant><Grantee xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" xsi:type=\"CanonicalUser\"><ID>{}</ID></Grantee><Permission>{}</Permission></Grant></AccessControlList></AccessControlPolicy>",
        ],
    ),
    (
        "CompleteMultipartUpload",
        "POST",
        "?uploadId={upload}",
        &[
            "<CompleteMultipartUpload><Part><PartNumber>{}</PartNumber><ETag>\"x\"</ETag></Part></CompleteMultipartUpload>",
            "<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>{}</ETag><ChecksumCRC32>{}</ChecksumCRC32></Part></CompleteMultipartUpload>",
        ],
    ),
];

/// XML bodies: hostile text in every slot of every operation that takes XML, bodies that
/// are not the XML expected, too many keys.
pub(super) fn xml_cases(w: &World) -> Vec<Case> {
    let b = &w.bucket;
    let up = &w.upload_id;
    let sign = Auth::Sign(w.user.clone());
    let mut cases = Vec::new();
    let case = |label: String, method: &'static str, target: String| Case::new(label, method, target, sign.clone());
    let fresh = unique("fuzzxml");
    let mut xml = |op: &str, method: &'static str, target: String, templates: &[&str]| {
        for t in templates {
            for text in xml_texts() {
                let body = t.replace("{}", &text);
                let shown: String = text.chars().take(20).collect();
                cases.push(case(format!("S3 {op} {t:.40} slot={shown:?}"), method, target.clone()).body(body));
            }
        }
        for (what, raw) in malformed_xml() {
            cases.push(case(format!("S3 {op} body {what:.40}"), method, target.clone()).body(raw));
        }
    };
    for (op, method, query, templates) in XML_TEMPLATES {
        let target = if *op == "CreateBucket" {
            format!("/{fresh}")
        } else {
            format!("/{b}{query}")
        };
        xml(op, method, target, templates);
    }
    for (op, method, query, templates) in OBJECT_XML_TEMPLATES {
        let key = if *op == "CompleteMultipartUpload" { "mp" } else { "keep" };
        xml(
            op,
            method,
            format!("/{b}/{key}{}", query.replace("{upload}", up)),
            templates,
        );
    }
    // A DeleteObjects naming more keys than S3 allows.
    let many: String = (0..1001).map(|i| format!("<Object><Key>k{i}</Key></Object>")).collect();
    cases.push(
        case("S3 DeleteObjects 1001 keys".into(), "POST", format!("/{b}?delete"))
            .body(format!("<Delete>{many}</Delete>")),
    );
    cases
}

/// POST Object (browser form) uploads with a hostile value in each field the policy signs.
pub(super) fn post_object_cases(w: &World) -> Vec<Case> {
    let b = &w.bucket;
    let mut cases = Vec::new();
    let raw_values: Vec<String> = json_values()
        .into_iter()
        .filter_map(|v| v.as_str().map(str::to_owned))
        .chain([
            "a\r\nX-Injected: 1".to_owned(),
            "text/plain\r\n".to_owned(),
            "=?UTF-8?B?AA==?=".to_owned(),
        ])
        .collect();
    let fields = [
        "key",
        "Content-Type",
        "Content-Disposition",
        "Content-Encoding",
        "Cache-Control",
        "Expires",
        "x-amz-meta-fuzz",
        "tagging",
        "acl",
        "success_action_status",
        "success_action_redirect",
    ];
    for field in fields {
        for v in &raw_values {
            let mut extra = vec![("key", "form-target")];
            if field == "key" {
                extra.clear();
            }
            extra.push((field, v.as_str()));
            let signed = crate::common::post_form_fields(&w.user.access_key, &w.user.secret, b, &extra);
            let refs: Vec<(&str, &[u8])> = signed.iter().map(|(k, v)| (k.as_str(), v.as_bytes())).collect();
            let (ct, body) = form(&refs, Some(("f.txt", "text/plain", b"form body")));
            cases.push(
                Case::new(
                    format!("S3 PostObject {field}={v:?}"),
                    "POST",
                    format!("/{b}"),
                    Auth::None,
                )
                .header("content-type", &ct)
                .body(body),
            );
        }
    }
    // A metadata name that is no HTTP token, and a broken policy or credential.
    let signed = crate::common::post_form_fields(
        &w.user.access_key,
        &w.user.secret,
        b,
        &[("key", "form-meta"), ("x-amz-meta-bad name", "v")],
    );
    let refs: Vec<(&str, &[u8])> = signed.iter().map(|(k, v)| (k.as_str(), v.as_bytes())).collect();
    let (ct, body) = form(&refs, Some(("f.txt", "text/plain", b"x")));
    cases.push(
        Case::new(
            "S3 PostObject metadata name with a space",
            "POST",
            format!("/{b}"),
            Auth::None,
        )
        .header("content-type", &ct)
        .body(body),
    );
    for (field, v) in [
        ("policy", "not base64!"),
        ("policy", "AA=="),
        ("policy", "e30="),
        // `{key}`: the credential's own access key, replaced by hostile text.
        ("x-amz-credential", "\0{key}"),
        ("x-amz-credential", "a\r\nb{key}"),
        ("x-amz-credential", ""),
        ("x-amz-date", "garbage"),
        ("x-amz-date", "../../etc/passwd"),
        ("x-amz-signature", "\0"),
    ] {
        let mut signed = crate::common::post_form_fields(&w.user.access_key, &w.user.secret, b, &[("key", "form-x")]);
        for (k, val) in signed.iter_mut() {
            if k == field {
                *val = match v.strip_suffix("{key}") {
                    Some(key) => format!("{key}{}", &val[val.find('/').unwrap()..]),
                    None => v.to_owned(),
                };
            }
        }
        let refs: Vec<(&str, &[u8])> = signed.iter().map(|(k, v)| (k.as_str(), v.as_bytes())).collect();
        let (ct, body) = form(&refs, Some(("f.txt", "text/plain", b"x")));
        cases.push(
            Case::new(
                format!("S3 PostObject {field}={v:?}"),
                "POST",
                format!("/{b}"),
                Auth::None,
            )
            .header("content-type", &ct)
            .body(body),
        );
    }
    cases
}
