//! The console's files, embedded at build time from `console/` at the repository's root,
//! each with its gzip form and an ETag made once at first use.

use std::sync::LazyLock;

use bytes::Bytes;
use sha2::{Digest as _, Sha256};

/// One embedded file.
pub struct Asset {
    pub content_type: &'static str,
    pub raw: Bytes,
    pub gzip: Bytes,
    pub etag: String,
}

macro_rules! files {
    ($($name:literal => $type:literal),* $(,)?) => {
        /// Name (under `/console/`), type and bytes of every file.
        const FILES: &[(&str, &str, &[u8])] = &[
            $(($name, $type, include_bytes!(concat!("../../console/", $name)))),*
        ];
    };
}

files! {
    "index.html" => "text/html; charset=utf-8",
    "console.css" => "text/css; charset=utf-8",
    "favicon.svg" => "image/svg+xml",
    "js/app.js" => "text/javascript; charset=utf-8",
    "js/api.js" => "text/javascript; charset=utf-8",
    "js/ui.js" => "text/javascript; charset=utf-8",
    "js/session.js" => "text/javascript; charset=utf-8",
    "js/login.js" => "text/javascript; charset=utf-8",
    "js/buckets.js" => "text/javascript; charset=utf-8",
    "js/files.js" => "text/javascript; charset=utf-8",
    "js/upload.js" => "text/javascript; charset=utf-8",
    "js/preview.js" => "text/javascript; charset=utf-8",
    "js/versions.js" => "text/javascript; charset=utf-8",
    "js/links.js" => "text/javascript; charset=utf-8",
    "js/keys.js" => "text/javascript; charset=utf-8",
    "js/usage.js" => "text/javascript; charset=utf-8",
    "js/chart.js" => "text/javascript; charset=utf-8",
    "js/admin.js" => "text/javascript; charset=utf-8",
}

static ASSETS: LazyLock<Vec<(&'static str, Asset)>> = LazyLock::new(|| {
    FILES
        .iter()
        .map(|(name, content_type, raw)| {
            let digest = Sha256::digest(raw);
            let asset = Asset {
                content_type,
                raw: Bytes::from_static(raw),
                gzip: Bytes::from(gzip(raw)),
                etag: format!("\"{}\"", hex::encode(&digest[..12])),
            };
            (*name, asset)
        })
        .collect()
});

fn gzip(raw: &[u8]) -> Vec<u8> {
    use std::io::Write as _;
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    enc.write_all(raw).expect("writing to memory");
    enc.finish().expect("writing to memory")
}

/// The file named `name` (a path under `/console/`), if the console has it.
pub fn find(name: &str) -> Option<&'static Asset> {
    ASSETS.iter().find(|(n, _)| *n == name).map(|(_, a)| a)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every file in `console/` is embedded (a file added there but not here would be a
    /// 404 in the browser), and every embedded one exists.
    #[test]
    fn every_console_file_is_embedded() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("console");
        let mut on_disk = Vec::new();
        let mut dirs = vec![root.clone()];
        while let Some(d) = dirs.pop() {
            for e in std::fs::read_dir(d).unwrap() {
                let p = e.unwrap().path();
                if p.is_dir() {
                    dirs.push(p);
                } else {
                    on_disk.push(p.strip_prefix(&root).unwrap().to_string_lossy().replace('\\', "/"));
                }
            }
        }
        on_disk.sort();
        let mut embedded: Vec<String> = FILES.iter().map(|(n, _, _)| (*n).to_owned()).collect();
        embedded.sort();
        assert_eq!(on_disk, embedded);
    }
}
