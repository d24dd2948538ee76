//! How a setting's text becomes a typed value: numbers, addresses, paths and durations
//! through `FromStr`, and GoDrive's own forms (booleans, secrets, lists, the storage kind,
//! an optional value). The text is never empty unless the setting is unset with no default.

use std::net::IpAddr;
use std::path::PathBuf;
use std::str::FromStr;

use super::{Seconds, Secret, StorageKind};

/// A type a setting can be declared with. The error is the reason, without the name.
pub(super) trait Value: Sized {
    /// Parses a setting's text.
    fn parse(text: &str) -> Result<Self, String>;
}

macro_rules! value_from_str {
    ($($ty:ty),*) => {$(
        impl Value for $ty {
            fn parse(text: &str) -> Result<Self, String> {
                text.parse().map_err(|e: <$ty as FromStr>::Err| e.to_string())
            }
        }
    )*};
}
value_from_str!(u16, u32, u64, usize, IpAddr, PathBuf, String, Seconds);

/// `1`, `true`, `yes`, `on` or `0`, `false`, `no`, `off`, in any case.
impl Value for bool {
    fn parse(text: &str) -> Result<Self, String> {
        match text.to_ascii_lowercase().as_str() {
            "1" | "true" | "yes" | "on" => Ok(true),
            "0" | "false" | "no" | "off" => Ok(false),
            other => Err(format!("expected true or false, got {other:?}")),
        }
    }
}

/// Empty when unset.
impl Value for Secret {
    fn parse(text: &str) -> Result<Self, String> {
        Ok(Secret::new(text))
    }
}

/// `fs`, or `s3` (also `minio`), in any case.
impl Value for StorageKind {
    fn parse(text: &str) -> Result<Self, String> {
        match text.to_ascii_lowercase().as_str() {
            "fs" => Ok(StorageKind::Fs),
            "s3" | "minio" => Ok(StorageKind::S3),
            other => Err(format!("expected fs or s3, got {other:?}")),
        }
    }
}

/// `None` when unset.
impl<T: Value> Value for Option<T> {
    fn parse(text: &str) -> Result<Self, String> {
        if text.is_empty() {
            Ok(None)
        } else {
            T::parse(text).map(Some)
        }
    }
}

/// Comma-separated, blanks trimmed, empty items dropped.
impl Value for Vec<String> {
    fn parse(text: &str) -> Result<Self, String> {
        Ok(items(text).map(str::to_owned).collect())
    }
}

/// Comma-separated addresses or CIDRs.
impl Value for Vec<ipnet::IpNet> {
    fn parse(text: &str) -> Result<Self, String> {
        items(text)
            .map(|n| {
                n.parse::<ipnet::IpNet>()
                    .or_else(|_| n.parse::<IpAddr>().map(ipnet::IpNet::from))
                    .map_err(|_| format!("{n:?} is not an address or a CIDR such as 10.0.0.0/8"))
            })
            .collect()
    }
}

fn items(text: &str) -> impl Iterator<Item = &str> {
    text.split(',').map(str::trim).filter(|i| !i.is_empty())
}

/// An email address, normalized as accounts are (`None` when unset).
pub(super) fn email(text: &str) -> Result<Option<String>, String> {
    Option::<String>::parse(text)?
        .map(|e| crate::accounts::normalize_email(&e).map_err(|e| e.to_string()))
        .transpose()
}

/// A base URL without trailing slashes (`None` when unset).
pub(super) fn base_url(text: &str) -> Result<Option<String>, String> {
    Ok(Option::<String>::parse(text)?.map(|u| u.trim_end_matches('/').to_owned()))
}

/// An address to listen on, or `off` for none.
pub(super) fn address_or_off(text: &str) -> Result<Option<String>, String> {
    Ok((text != "off").then(|| text.to_owned()))
}
