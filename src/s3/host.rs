//! Virtual-hosted style addressing: `<bucket>.<GODRIVE_S3_DOMAIN>` names a bucket; any other
//! host (the bare domain, an IP address, `localhost`) is path style.
//!
//! s3s's own `SingleDomain` would treat every unknown host as a CNAME'd bucket name, which
//! breaks path-style requests to `localhost` or a load balancer's name.

use s3s::S3Result;
use s3s::host::{S3Host, VirtualHost};

/// Bucket-in-host addressing under one base domain.
#[derive(Debug, Clone)]
pub struct BucketHosts {
    domain: String,
}

impl BucketHosts {
    /// Addresses buckets as `<bucket>.<domain>`.
    pub fn new(domain: &str) -> Self {
        Self {
            domain: domain.trim_end_matches('.').to_ascii_lowercase(),
        }
    }

    /// The bucket a `Host` header names, if it names one.
    pub fn bucket_of<'a>(&self, host: &'a str) -> Option<&'a str> {
        let name = match host.rsplit_once(':') {
            Some((name, port)) if port.bytes().all(|b| b.is_ascii_digit()) => name,
            _ => host,
        };
        let prefix = name.len().checked_sub(self.domain.len() + 1)?;
        let (bucket, rest) = name.split_at(prefix);
        let suffix_matches = rest
            .strip_prefix('.')
            .is_some_and(|d| d.eq_ignore_ascii_case(&self.domain));
        (suffix_matches && !bucket.is_empty()).then_some(bucket)
    }
}

impl S3Host for BucketHosts {
    fn parse_host_header<'a>(&'a self, host: &'a str) -> S3Result<VirtualHost<'a>> {
        Ok(match self.bucket_of(host) {
            Some(bucket) => VirtualHost::new(self.domain.as_str()).with_bucket(bucket),
            None => VirtualHost::new(host),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_subdomains_of_the_base_domain_name_buckets() {
        let h = BucketHosts::new("s3.example.com");
        assert_eq!(h.bucket_of("photos.s3.example.com"), Some("photos"));
        assert_eq!(h.bucket_of("photos.s3.example.com:8080"), Some("photos"));
        assert_eq!(h.bucket_of("my.dotted.bucket.s3.example.com"), Some("my.dotted.bucket"));
        assert_eq!(h.bucket_of("s3.example.com"), None);
        assert_eq!(h.bucket_of("s3.example.com:8080"), None);
        assert_eq!(h.bucket_of("localhost:8080"), None);
        assert_eq!(h.bucket_of("127.0.0.1:8080"), None);
        assert_eq!(h.bucket_of("evil-s3.example.com"), None);
    }
}
