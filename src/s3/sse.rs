//! Server-side encryption is not implemented: bytes are stored as sent. A request that asks
//! for it (SSE-S3, SSE-KMS or SSE-C, for the object or for a copy source) is refused with
//! `NotImplemented` before anything is reserved, read or stored, rather than answered 200
//! with the object kept in plaintext.

use s3s::dto::*;
use s3s::{S3Request, S3Result, s3_error};

/// Every SSE request header starts with one of these: `x-amz-server-side-encryption`,
/// `-aws-kms-key-id`, `-context`, `-bucket-key-enabled`, `-customer-{algorithm,key,key-MD5}`,
/// and `x-amz-copy-source-server-side-encryption-customer-*`.
const HEADER_PREFIXES: [&str; 2] = [
    "x-amz-server-side-encryption",
    "x-amz-copy-source-server-side-encryption",
];

/// An operation's input that can ask for encryption through fields s3s parsed (from headers
/// or, for a form upload, from form fields).
pub(super) trait AsksEncryption {
    /// Whether any encryption field is present, whatever its value.
    fn asks_encryption(&self) -> bool;
}

macro_rules! asks_encryption {
    ($($input:ty => [$($field:ident),+ $(,)?];)+) => {$(
        impl AsksEncryption for $input {
            fn asks_encryption(&self) -> bool {
                $(self.$field.is_some())||+
            }
        }
    )+};
}

asks_encryption! {
    PutObjectInput => [
        server_side_encryption, ssekms_key_id, ssekms_encryption_context, bucket_key_enabled,
        sse_customer_algorithm, sse_customer_key, sse_customer_key_md5,
    ];
    PostObjectInput => [
        server_side_encryption, ssekms_key_id, ssekms_encryption_context, bucket_key_enabled,
        sse_customer_algorithm, sse_customer_key, sse_customer_key_md5,
    ];
    CreateMultipartUploadInput => [
        server_side_encryption, ssekms_key_id, ssekms_encryption_context, bucket_key_enabled,
        sse_customer_algorithm, sse_customer_key, sse_customer_key_md5,
    ];
    CopyObjectInput => [
        server_side_encryption, ssekms_key_id, ssekms_encryption_context, bucket_key_enabled,
        sse_customer_algorithm, sse_customer_key, sse_customer_key_md5,
        copy_source_sse_customer_algorithm, copy_source_sse_customer_key, copy_source_sse_customer_key_md5,
    ];
    UploadPartInput => [sse_customer_algorithm, sse_customer_key, sse_customer_key_md5];
    UploadPartCopyInput => [
        sse_customer_algorithm, sse_customer_key, sse_customer_key_md5,
        copy_source_sse_customer_algorithm, copy_source_sse_customer_key, copy_source_sse_customer_key_md5,
    ];
    GetObjectInput => [sse_customer_algorithm, sse_customer_key, sse_customer_key_md5];
    HeadObjectInput => [sse_customer_algorithm, sse_customer_key, sse_customer_key_md5];
}

/// Refuses a request asking for server-side encryption: `501 NotImplemented`. Any SSE
/// header counts, empty or with any value, as does any SSE field s3s parsed (the form
/// fields of a POST Object upload). Call it first in each handler, before any side effect.
pub(super) fn refuse_encryption<T: AsksEncryption>(req: &S3Request<T>) -> S3Result<()> {
    let by_header = req
        .headers
        .keys()
        .any(|name| HEADER_PREFIXES.iter().any(|p| name.as_str().starts_with(p)));
    if by_header || req.input.asks_encryption() {
        return Err(s3_error!(
            NotImplemented,
            "Server-side encryption is not supported: GoDrive does not encrypt objects at rest yet."
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request<T>(input: T, headers: &[(&str, &str)]) -> S3Request<T> {
        let mut h = http::HeaderMap::new();
        for (k, v) in headers {
            h.insert(http::HeaderName::from_bytes(k.as_bytes()).unwrap(), v.parse().unwrap());
        }
        S3Request {
            input,
            method: http::Method::PUT,
            uri: http::Uri::from_static("/b/k"),
            headers: h,
            extensions: http::Extensions::new(),
            credentials: None,
            region: None,
            service: None,
            trailing_headers: None,
        }
    }

    fn get() -> GetObjectInput {
        GetObjectInput::builder()
            .bucket("b".into())
            .key("k".into())
            .build()
            .unwrap()
    }

    #[test]
    fn any_encryption_header_is_refused_whatever_its_value() {
        for name in [
            "x-amz-server-side-encryption",
            "x-amz-server-side-encryption-aws-kms-key-id",
            "x-amz-server-side-encryption-context",
            "x-amz-server-side-encryption-bucket-key-enabled",
            "x-amz-server-side-encryption-customer-algorithm",
            "x-amz-server-side-encryption-customer-key",
            "x-amz-server-side-encryption-customer-key-MD5",
            "x-amz-copy-source-server-side-encryption-customer-algorithm",
        ] {
            for value in ["", "AES256", "whatever"] {
                let err = refuse_encryption(&request(get(), &[(name, value)])).unwrap_err();
                assert_eq!(err.code(), &s3s::S3ErrorCode::NotImplemented, "{name}: {value:?}");
            }
        }
        assert!(refuse_encryption(&request(get(), &[("x-amz-meta-encryption", "AES256")])).is_ok());
    }

    #[test]
    fn parsed_fields_are_refused_too() {
        let mut input = get();
        input.sse_customer_algorithm = Some("AES256".into());
        assert!(refuse_encryption(&request(input, &[])).is_err());
        assert!(refuse_encryption(&request(get(), &[])).is_ok());
    }
}
