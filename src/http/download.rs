//! Downloads of whole files to disk: streamed, hashed on the way, never past
//! the listed size, retried under the client's policy. What the file must be
//! (and where it finally goes) is the caller's: this only delivers the bytes
//! and says what they were.

use super::{AttemptError, Auth, BodyReader, HttpClient, HttpError, error_body};
use md5::{Digest, Md5};
use sha2::Sha256;
use std::path::Path;
use tokio::io::AsyncWriteExt;

/// What arrived: its length and digests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Downloaded {
    pub size: u64,
    pub md5: String,
    pub sha256: String,
}

impl HttpClient {
    /// Downloads `url` into `part` (created or truncated), at most `listed_size`
    /// bytes, retried on transport errors, 5xx, 429 and short bodies; a
    /// `file://` URL is copied from disk under the same bounds.
    pub async fn download_to_file(
        &self,
        url: &str,
        auth: &Auth,
        part: &Path,
        listed_size: u64,
        on_bytes: &(dyn Fn(u64) + Sync),
    ) -> Result<Downloaded, HttpError> {
        if let Some(path) = super::local_path(url) {
            return self
                .copy_local(url, &path, part, listed_size, on_bytes)
                .await;
        }
        self.with_retries(|| attempt(self, url, auth, part, listed_size, on_bytes))
            .await
    }
}

/// One attempt: streams the body to `part`, hashing as it goes, and never past
/// the listed size. A body cut short or too slow is worth another attempt; a
/// local write error, a body longer than listed or a refusal (404, 403) is not.
async fn attempt(
    http: &HttpClient,
    url: &str,
    auth: &Auth,
    part: &Path,
    listed_size: u64,
    on_bytes: &(dyn Fn(u64) + Sync),
) -> Result<Downloaded, AttemptError> {
    let response = http
        .send_once(reqwest::Method::GET, url, auth, |r| r)
        .await?;
    let status = response.status();
    let fail = |reason: String| {
        AttemptError::Final(HttpError::transport(reqwest::Method::GET, url, reason))
    };
    if !status.is_success() {
        let body = error_body(response).await;
        return Err(AttemptError::Final(HttpError::with_status(
            reqwest::Method::GET,
            url,
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
    let mut sink = Sink::create(part, listed_size).await.map_err(fail)?;
    let mut body = BodyReader::new(response.bytes_stream(), &http.limits);
    while let Some(chunk) = body
        .next_chunk()
        .await
        .map_err(|e| e.attempt(&reqwest::Method::GET, url))?
    {
        sink.write(&chunk).await.map_err(fail)?;
        on_bytes(chunk.len() as u64);
    }
    sink.finish().await.map_err(fail)
}

/// A file being written from chunks: hashed on the way, never past the listed
/// size, and complete on disk before it is reported. Shared by downloads and
/// by copies from a local tree (`file.rs`).
pub(super) struct Sink<'p> {
    file: tokio::fs::File,
    part: &'p Path,
    listed_size: u64,
    md5: Md5,
    sha: Sha256,
    size: u64,
}

impl<'p> Sink<'p> {
    pub(super) async fn create(part: &'p Path, listed_size: u64) -> Result<Self, String> {
        let file = tokio::fs::File::create(part)
            .await
            .map_err(|e| local(part, e))?;
        Ok(Self {
            file,
            part,
            listed_size,
            md5: Md5::new(),
            sha: Sha256::new(),
            size: 0,
        })
    }

    pub(super) async fn write(&mut self, chunk: &[u8]) -> Result<(), String> {
        if self.size + chunk.len() as u64 > self.listed_size {
            return Err(format!(
                "the body goes on past the {} bytes listed; stopped reading",
                self.listed_size
            ));
        }
        self.md5.update(chunk);
        self.sha.update(chunk);
        self.size += chunk.len() as u64;
        self.file
            .write_all(chunk)
            .await
            .map_err(|e| local(self.part, e))
    }

    pub(super) async fn finish(mut self) -> Result<Downloaded, String> {
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
        if on_disk != self.size {
            return Err(format!(
                "`{}` holds {on_disk} bytes after {} were written",
                part.display(),
                self.size
            ));
        }
        Ok(Downloaded {
            size: self.size,
            md5: hex::encode(self.md5.finalize()),
            sha256: hex::encode(self.sha.finalize()),
        })
    }
}

fn local(part: &Path, e: std::io::Error) -> String {
    format!("cannot write the download to `{}`: {e}", part.display())
}
