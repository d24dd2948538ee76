//! POST Object forms: the uploaded file's name, for a `key` field that holds
//! `${filename}` (S3 puts the file's name there). s3s reads the form and hands the handler
//! its fields, but not the file part's name, so the edge watches the body go by and keeps
//! the first `filename="..."` of the part named `file`.

use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};

/// How far into a form the file part's headers are looked for (the fields before it are
/// small; S3 limits the whole form's fields to 20 KB).
const WATCHED_BYTES: usize = 64 * 1024;

/// The file name a form's file part gave, once its headers have gone by.
#[derive(Debug, Clone, Default)]
pub struct FileName(Arc<Mutex<Option<String>>>);

impl FileName {
    /// The name, if the file part gave one.
    pub fn get(&self) -> Option<String> {
        self.0.lock().ok()?.clone()
    }
}

/// A request body that looks for the file part's name in the first bytes it passes on.
pub struct Watched<B> {
    inner: B,
    seen: Vec<u8>,
    done: bool,
    found: FileName,
}

/// Watches the body of a POST with a multipart/form-data body; the name lands in the
/// request's extensions as a [`FileName`]. Other requests pass unwatched.
pub fn watch<B>(req: http::Request<B>) -> http::Request<Watched<B>> {
    let form = req.method() == http::Method::POST
        && req
            .headers()
            .get(http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.to_ascii_lowercase().starts_with("multipart/form-data"));
    let found = FileName::default();
    let (mut parts, inner) = req.into_parts();
    if form {
        parts.extensions.insert(found.clone());
    }
    http::Request::from_parts(
        parts,
        Watched {
            inner,
            seen: Vec::new(),
            done: !form,
            found,
        },
    )
}

/// The `filename` of the first part named `file` among the part headers in `form`.
fn file_name(form: &[u8]) -> Option<String> {
    let text = String::from_utf8_lossy(form);
    text.split("\r\n")
        .filter(|line| line.to_ascii_lowercase().starts_with("content-disposition:"))
        .find(|line| line.contains("name=\"file\""))
        .and_then(|line| {
            let start = line.find("filename=\"")? + "filename=\"".len();
            let end = line[start..].find('"')? + start;
            Some(line[start..end].to_owned())
        })
}

impl<B> Body for Watched<B>
where
    B: Body<Data = Bytes> + Unpin,
{
    type Data = Bytes;
    type Error = B::Error;

    fn poll_frame(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        let this = &mut *self;
        let polled = Pin::new(&mut this.inner).poll_frame(cx);
        if !this.done
            && let Poll::Ready(Some(Ok(frame))) = &polled
            && let Some(data) = frame.data_ref()
        {
            let room = WATCHED_BYTES.saturating_sub(this.seen.len());
            this.seen.extend_from_slice(&data[..data.len().min(room)]);
            if let Some(name) = file_name(&this.seen) {
                if let Ok(mut slot) = this.found.0.lock() {
                    *slot = Some(name);
                }
                this.done = true;
            } else if this.seen.len() >= WATCHED_BYTES {
                this.done = true;
            }
            if this.done {
                this.seen = Vec::new();
            }
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// The key a form names: `${filename}` replaced by the file's name, as in S3.
pub fn key_for(key: &str, file: Option<&FileName>) -> String {
    match file.and_then(FileName::get) {
        Some(name) if key.contains("${filename}") => key.replace("${filename}", &name),
        _ => key.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_file_parts_name_is_found_across_fields() {
        let form = b"--b\r\nContent-Disposition: form-data; name=\"key\"\r\n\r\nuploads/${filename}\r\n\
--b\r\nContent-Disposition: form-data; name=\"file\"; filename=\"photo 1.jpg\"\r\nContent-Type: image/jpeg\r\n\r\n\xff\xd8";
        assert_eq!(file_name(form).as_deref(), Some("photo 1.jpg"));
        assert_eq!(
            file_name(b"--b\r\nContent-Disposition: form-data; name=\"key\"\r\n\r\nk"),
            None
        );
        let found = FileName(Arc::new(Mutex::new(Some("a.txt".into()))));
        assert_eq!(key_for("up/${filename}", Some(&found)), "up/a.txt");
        assert_eq!(key_for("plain", Some(&found)), "plain");
        assert_eq!(key_for("up/${filename}", None), "up/${filename}");
    }
}
