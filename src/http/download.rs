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
    /// bytes, retried on transport errors, 5xx, 429 and short bodies.
    pub async fn download_to_file(
        &self,
        url: &str,
        auth: &Auth,
        part: &Path,
        listed_size: u64,
        on_bytes: &(dyn Fn(u64) + Sync),
    ) -> Result<Downloaded, HttpError> {
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
    let local = |e: std::io::Error| {
        fail(format!(
            "cannot write the download to `{}`: {e}",
            part.display()
        ))
    };
    let mut file = tokio::fs::File::create(part).await.map_err(local)?;
    let mut md5 = Md5::new();
    let mut sha = Sha256::new();
    let mut size = 0u64;
    let mut body = BodyReader::new(response.bytes_stream(), &http.limits);
    while let Some(chunk) = body
        .next_chunk()
        .await
        .map_err(|e| e.attempt(&reqwest::Method::GET, url))?
    {
        if size + chunk.len() as u64 > listed_size {
            return Err(fail(format!(
                "the body goes on past the {listed_size} bytes listed; stopped reading"
            )));
        }
        md5.update(&chunk);
        sha.update(&chunk);
        size += chunk.len() as u64;
        on_bytes(chunk.len() as u64);
        file.write_all(&chunk).await.map_err(local)?;
    }
    // tokio's `File` hands each write to a blocking thread and reports its error
    // on the next operation; `flush` waits for the last one, `sync_all` would not
    // say that it failed (a full disk on the final chunk).
    file.flush().await.map_err(local)?;
    file.sync_all().await.map_err(local)?;
    let on_disk = file.metadata().await.map_err(local)?.len();
    if on_disk != size {
        return Err(fail(format!(
            "`{}` holds {on_disk} bytes after {size} were written",
            part.display()
        )));
    }
    Ok(Downloaded {
        size,
        md5: hex::encode(md5.finalize()),
        sha256: hex::encode(sha.finalize()),
    })
}
