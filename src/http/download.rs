//! Downloads of whole files to disk: streamed, hashed on the way, never past
//! the listed size, retried under the client's policy, redirects followed. What
//! the file must be (and where it finally goes) is the caller's: this only
//! delivers the bytes and says what they were and who sent them.

use super::{AttemptError, Auth, BodyReader, HttpClient, HttpError, error_body};
use crate::checksum::{Algorithm, Digests, Hasher};
use std::path::Path;
use tokio::io::AsyncWriteExt;

/// One file to fetch.
#[derive(Debug, Clone, Copy)]
pub struct FileRequest<'a> {
    pub url: &'a str,
    pub auth: &'a Auth,
    /// Never more bytes than this are read.
    pub listed_size: u64,
    /// Digests to compute beyond md5 and sha256.
    pub also: &'a [Algorithm],
    /// `host:port` of a mirror a redirect must not lead to (one that served
    /// other bytes than listed); such a redirect is answered as it is.
    pub avoid: Option<&'a str>,
}

/// What arrived, and from where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Downloaded {
    pub digests: Digests,
    /// The URL that sent the bytes, after redirects.
    pub served_from: String,
}

impl HttpClient {
    /// Downloads `request` into `part` (created or truncated), retried on
    /// transport errors, 5xx, 429 and short bodies; a `file://` URL is copied
    /// from disk under the same bounds. Errors name the URL that caused them,
    /// after redirects.
    pub async fn download_to_file(
        &self,
        request: &FileRequest<'_>,
        part: &Path,
        on_bytes: &(dyn Fn(u64) + Sync),
    ) -> Result<Downloaded, HttpError> {
        if let Some(path) = super::local_path(request.url) {
            let digests = self.copy_local(request, &path, part, on_bytes).await?;
            return Ok(Downloaded {
                digests,
                served_from: request.url.to_string(),
            });
        }
        let http = match request.avoid {
            Some(mirror) => self.avoiding(mirror),
            None => self.clone(),
        };
        http.with_retries(|| attempt(&http, request, part, on_bytes))
            .await
    }
}

/// `host:port` of a URL (the scheme's port when none is given), for telling
/// hosts apart.
pub fn authority(url: &str) -> Option<String> {
    let parsed = url::Url::parse(url).ok()?;
    Some(format!(
        "{}:{}",
        parsed.host_str()?,
        parsed.port_or_known_default()?
    ))
}

/// One attempt: streams the body to `part`, hashing as it goes, and never past
/// the listed size. A body cut short or too slow is worth another attempt; a
/// local write error, a body longer than listed or a refusal (404, 403) is not.
async fn attempt(
    http: &HttpClient,
    request: &FileRequest<'_>,
    part: &Path,
    on_bytes: &(dyn Fn(u64) + Sync),
) -> Result<Downloaded, AttemptError> {
    let response = http
        .send_once(reqwest::Method::GET, request.url, request.auth, |r| r)
        .await?;
    let status = response.status();
    let served_from = response.url().to_string();
    let listed_size = request.listed_size;
    let fail = |reason: String| {
        AttemptError::Final(HttpError::transport(
            reqwest::Method::GET,
            &served_from,
            reason,
        ))
    };
    if !status.is_success() {
        let body = error_body(response).await;
        return Err(AttemptError::Final(HttpError::with_status(
            reqwest::Method::GET,
            &served_from,
            status,
            body,
        )));
    }
    if let Some(length) = response.content_length()
        && length > listed_size
    {
        return Err(fail(format!(
            "the server announces {length} bytes, but {listed_size} are listed"
        )));
    }
    let mut sink = Sink::create(part, listed_size, request.also)
        .await
        .map_err(fail)?;
    let mut body = BodyReader::new(response.bytes_stream(), &http.limits);
    while let Some(chunk) = body
        .next_chunk()
        .await
        .map_err(|e| e.attempt(&reqwest::Method::GET, &served_from))?
    {
        sink.write(&chunk).await.map_err(fail)?;
        on_bytes(chunk.len() as u64);
    }
    let digests = sink.finish().await.map_err(fail)?;
    Ok(Downloaded {
        digests,
        served_from: served_from.clone(),
    })
}

/// A file being written from chunks: hashed on the way, never past the listed
/// size, and complete on disk before it is reported. Shared by downloads and
/// by copies from a local tree (`file.rs`).
pub(super) struct Sink<'p> {
    file: tokio::fs::File,
    part: &'p Path,
    listed_size: u64,
    hasher: Hasher,
}

impl<'p> Sink<'p> {
    pub(super) async fn create(
        part: &'p Path,
        listed_size: u64,
        also: &[Algorithm],
    ) -> Result<Self, String> {
        let file = tokio::fs::File::create(part)
            .await
            .map_err(|e| local(part, e))?;
        Ok(Self {
            file,
            part,
            listed_size,
            hasher: Hasher::new(also),
        })
    }

    pub(super) async fn write(&mut self, chunk: &[u8]) -> Result<(), String> {
        if self.hasher.size() + chunk.len() as u64 > self.listed_size {
            return Err(format!(
                "the body goes on past the {} bytes listed; stopped reading",
                self.listed_size
            ));
        }
        self.hasher.update(chunk);
        self.file
            .write_all(chunk)
            .await
            .map_err(|e| local(self.part, e))
    }

    pub(super) async fn finish(mut self) -> Result<Digests, String> {
        let part = self.part;
        // tokio's `File` hands each write to a blocking thread and reports its
        // error on the next operation; `flush` waits for the last one, `sync_all`
        // would not say that it failed (a full disk on the final chunk).
        self.file.flush().await.map_err(|e| local(part, e))?;
        self.file.sync_all().await.map_err(|e| local(part, e))?;
        let on_disk = self
            .file
            .metadata()
            .await
            .map_err(|e| local(part, e))?
            .len();
        let digests = self.hasher.finish();
        if on_disk != digests.size {
            return Err(format!(
                "`{}` holds {on_disk} bytes after {} were written",
                part.display(),
                digests.size
            ));
        }
        Ok(digests)
    }
}

fn local(part: &Path, e: std::io::Error) -> String {
    format!("cannot write the download to `{}`: {e}", part.display())
}
