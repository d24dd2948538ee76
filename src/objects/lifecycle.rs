//! Lifecycle rules of a bucket, as GoDrive stores and applies them: which objects a rule
//! selects (prefix, tags, size) and what it does to them (expire current objects after some
//! days or from a date, expire noncurrent versions some days after they became noncurrent,
//! remove delete markers left alone, abort multipart uploads left incomplete). The S3 edge reads and writes them (`s3::lifecycle`); the job that
//! applies them is `jobs::lifecycle`.

use std::collections::{BTreeMap, HashSet};

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

/// S3's limit on rules per bucket.
pub const MAX_RULES: usize = 1000;

/// One rule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rule {
    /// Its ID (S3 makes one up when none is given; so does GoDrive).
    pub id: String,
    /// `Enabled` rules are applied; `Disabled` ones kept.
    pub enabled: bool,
    /// Keys under this prefix (empty: all).
    pub prefix: String,
    /// Objects carrying every one of these tags.
    pub tags: BTreeMap<String, String>,
    /// Objects larger than this many bytes.
    pub size_greater_than: Option<i64>,
    /// Objects smaller than this many bytes.
    pub size_less_than: Option<i64>,
    /// Expire current objects this many days after they were written.
    pub expiration_days: Option<i32>,
    /// Expire current objects from this moment on.
    #[serde(with = "time::serde::rfc3339::option")]
    pub expiration_date: Option<OffsetDateTime>,
    /// Remove delete markers with no versions behind them.
    pub expired_object_delete_marker: bool,
    /// Expire noncurrent versions this many days after they became noncurrent.
    pub noncurrent_days: Option<i32>,
    /// Keep this many newer noncurrent versions.
    pub newer_noncurrent_versions: Option<i32>,
    /// Abort multipart uploads this many days after they began.
    pub abort_incomplete_after_days: Option<i32>,
}

/// Why a configuration is refused (S3: `InvalidArgument`, or `MalformedXML` for a document
/// that says too little to be a rule).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LifecycleError {
    /// Not a configuration S3 would read.
    #[error("{0}")]
    Malformed(&'static str),
    /// A configuration S3 reads and refuses.
    #[error("{0}")]
    Invalid(String),
}

impl Rule {
    /// Whether the rule selects an object of this key, size and tags.
    pub fn selects(&self, key: &str, size: i64, tags: &BTreeMap<String, String>) -> bool {
        key.starts_with(&self.prefix)
            && self.tags.iter().all(|(k, v)| tags.get(k) == Some(v))
            && self.size_greater_than.is_none_or(|n| size > n)
            && self.size_less_than.is_none_or(|n| size < n)
    }

    /// The cutoff of its expiration at `now`, a day being `day_secs` seconds: objects last
    /// written before it expire. `None` if it expires nothing yet.
    pub fn expiration_cutoff(&self, now: OffsetDateTime, day_secs: u64) -> Option<OffsetDateTime> {
        if !self.enabled {
            return None;
        }
        match (self.expiration_days, self.expiration_date) {
            (Some(days), _) => Some(now - time::Duration::seconds(i64::from(days) * day_secs as i64)),
            (None, Some(date)) if now >= date => Some(now),
            _ => None,
        }
    }

    /// The cutoff for noncurrent versions: those noncurrent since before it expire (beyond
    /// the newest [`Rule::newer_noncurrent_versions`] ones).
    pub fn noncurrent_cutoff(&self, now: OffsetDateTime, day_secs: u64) -> Option<OffsetDateTime> {
        let days = self.noncurrent_days.filter(|_| self.enabled)?;
        Some(now - time::Duration::seconds(i64::from(days) * day_secs as i64))
    }

    /// Whether a noncurrent version expires: noncurrent since `since`, with `newer` noncurrent
    /// versions of its key newer than it, given the cutoff.
    pub fn noncurrent_expires(&self, since: OffsetDateTime, newer: i64, cutoff: OffsetDateTime) -> bool {
        since < cutoff && newer >= i64::from(self.newer_noncurrent_versions.unwrap_or(0))
    }

    /// The cutoff for aborting incomplete uploads: those begun before it are aborted.
    pub fn abort_cutoff(&self, now: OffsetDateTime, day_secs: u64) -> Option<OffsetDateTime> {
        let days = self.abort_incomplete_after_days.filter(|_| self.enabled)?;
        Some(now - time::Duration::seconds(i64::from(days) * day_secs as i64))
    }
}

/// Checks a configuration as S3 does.
pub fn validate(rules: &[Rule]) -> Result<(), LifecycleError> {
    if rules.is_empty() {
        return Err(LifecycleError::Malformed(
            "A lifecycle configuration needs at least one Rule.",
        ));
    }
    if rules.len() > MAX_RULES {
        return Err(LifecycleError::Invalid(format!(
            "At most {MAX_RULES} rules are allowed."
        )));
    }
    let mut ids = HashSet::new();
    for r in rules {
        let invalid = |m: &str| Err(LifecycleError::Invalid(format!("Rule {}: {m}", r.id)));
        if r.id.len() > 255 {
            return invalid("ID must be at most 255 characters.");
        }
        if !ids.insert(r.id.as_str()) {
            return invalid("Rule IDs must be unique.");
        }
        let expiration = [
            r.expiration_days.is_some(),
            r.expiration_date.is_some(),
            r.expired_object_delete_marker,
        ];
        if expiration.iter().filter(|x| **x).count() > 1 {
            return invalid("Expiration takes one of Days, Date or ExpiredObjectDeleteMarker.");
        }
        let acts = expiration.contains(&true) || r.noncurrent_days.is_some() || r.abort_incomplete_after_days.is_some();
        if !acts {
            return invalid("At least one action needs to be specified in a rule.");
        }
        let positive = [
            ("Days", r.expiration_days),
            ("NoncurrentDays", r.noncurrent_days),
            ("DaysAfterInitiation", r.abort_incomplete_after_days),
        ];
        if let Some((name, _)) = positive.iter().find(|(_, v)| v.is_some_and(|d| d <= 0)) {
            return invalid(&format!("{name} must be a positive integer."));
        }
        if r.newer_noncurrent_versions.is_some_and(|n| !(1..=100).contains(&n)) {
            return invalid("NewerNoncurrentVersions must be between 1 and 100.");
        }
        if r.newer_noncurrent_versions.is_some() && r.noncurrent_days.is_none() {
            return invalid("NewerNoncurrentVersions needs NoncurrentDays.");
        }
        if let Some(d) = r.expiration_date
            && (d.hour(), d.minute(), d.second(), d.nanosecond()) != (0, 0, 0, 0)
        {
            return invalid("Date must be at midnight UTC.");
        }
        if !r.tags.is_empty() && (r.expired_object_delete_marker || r.abort_incomplete_after_days.is_some()) {
            return invalid("Tag filters cannot apply to ExpiredObjectDeleteMarker or AbortIncompleteMultipartUpload.");
        }
        if let (Some(gt), Some(lt)) = (r.size_greater_than, r.size_less_than)
            && gt >= lt
        {
            return invalid("ObjectSizeGreaterThan must be less than ObjectSizeLessThan.");
        }
        if r.size_greater_than.is_some_and(|n| n < 0) || r.size_less_than.is_some_and(|n| n <= 0) {
            return invalid("Object size limits must be positive.");
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(id: &str) -> Rule {
        Rule {
            id: id.into(),
            enabled: true,
            prefix: "tmp/".into(),
            tags: BTreeMap::new(),
            size_greater_than: None,
            size_less_than: None,
            expiration_days: Some(1),
            expiration_date: None,
            expired_object_delete_marker: false,
            noncurrent_days: None,
            newer_noncurrent_versions: None,
            abort_incomplete_after_days: None,
        }
    }

    #[test]
    fn rules_are_checked_as_s3_checks_them() {
        assert_eq!(validate(&[rule("a")]), Ok(()));
        assert!(matches!(validate(&[]), Err(LifecycleError::Malformed(_))));
        assert!(validate(&[rule("a"), rule("a")]).is_err());
        let mut none = rule("a");
        none.expiration_days = None;
        assert!(validate(&[none.clone()]).is_err());
        none.abort_incomplete_after_days = Some(0);
        assert!(validate(&[none.clone()]).is_err());
        none.abort_incomplete_after_days = Some(2);
        assert_eq!(validate(&[none.clone()]), Ok(()));
        none.tags.insert("k".into(), "v".into());
        assert!(validate(&[none]).is_err());
        let mut two = rule("a");
        two.expired_object_delete_marker = true;
        assert!(validate(&[two]).is_err());
        let mut date = rule("a");
        date.expiration_days = None;
        date.expiration_date = Some(time::macros::datetime!(2026-01-01 12:00 UTC));
        assert!(validate(&[date.clone()]).is_err());
        date.expiration_date = Some(time::macros::datetime!(2026-01-01 00:00 UTC));
        assert_eq!(validate(&[date]), Ok(()));
        let mut sizes = rule("a");
        sizes.size_greater_than = Some(10);
        sizes.size_less_than = Some(10);
        assert!(validate(&[sizes]).is_err());
    }

    #[test]
    fn a_rule_selects_by_prefix_tags_and_size_and_cuts_off_by_days() {
        let mut r = rule("a");
        r.tags.insert("class".into(), "temp".into());
        r.size_greater_than = Some(10);
        let tags: BTreeMap<String, String> = [("class".to_owned(), "temp".to_owned())].into();
        assert!(r.selects("tmp/x", 11, &tags));
        assert!(!r.selects("keep/x", 11, &tags));
        assert!(!r.selects("tmp/x", 10, &tags));
        assert!(!r.selects("tmp/x", 11, &BTreeMap::new()));
        let now = time::macros::datetime!(2026-06-01 00:00 UTC);
        assert_eq!(r.expiration_cutoff(now, 10), Some(now - time::Duration::seconds(10)));
        r.enabled = false;
        assert_eq!(r.expiration_cutoff(now, 10), None);
    }

    #[test]
    fn noncurrent_versions_expire_after_their_days_beyond_the_newest_kept() {
        let mut r = rule("a");
        r.expiration_days = None;
        r.noncurrent_days = Some(2);
        let now = time::macros::datetime!(2026-06-01 00:00 UTC);
        let cutoff = r.noncurrent_cutoff(now, 10).unwrap();
        assert_eq!(cutoff, now - time::Duration::seconds(20));
        let old = cutoff - time::Duration::seconds(1);
        assert!(r.noncurrent_expires(old, 0, cutoff));
        assert!(!r.noncurrent_expires(cutoff, 0, cutoff));
        r.newer_noncurrent_versions = Some(2);
        assert!(!r.noncurrent_expires(old, 1, cutoff));
        assert!(r.noncurrent_expires(old, 2, cutoff));
        r.enabled = false;
        assert_eq!(r.noncurrent_cutoff(now, 10), None);
    }
}
