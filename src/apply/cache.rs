//! The download cache: files from OBS, verified against the size and md5 OBS
//! listed, stored under names pkgsync makes itself, and reused across runs and plans.
//!
//! A file is written under a temporary name and renamed only once complete and
//! verified, so a crash never leaves a file that looks valid. A lock file stops
//! two applies on one machine from sharing a cache at once.

use crate::http::{AttemptError, Auth, BodyReader, HttpClient, HttpError, error_body};
use crate::plan::SourceExpectation;
use md5::{Digest, Md5};
use sha2::Sha256;
use std::fs::File;
use std::path::{Path, PathBuf};
use tokio::io::AsyncWriteExt;

#[derive(Debug, thiserror::Error)]
pub enum CacheError {
    #[error("cannot use the download cache `{path}`")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "another pkgsync apply is using the download cache `{0}`; wait for it, or pass another `--cache-dir`"
    )]
    Busy(PathBuf),
    #[error("download of `{origin}` failed")]
    Download {
        origin: String,
        #[source]
        source: HttpError,
    },
    #[error("`{origin}` does not match what OBS listed: {detail}")]
    Mismatch { origin: String, detail: String },
}

/// A verified file in the cache.
#[derive(Debug, Clone)]
pub struct CachedFile {
    pub path: PathBuf,
    pub sha256: String,
}

#[derive(Debug)]
pub struct Cache {
    dir: PathBuf,
    /// Held for the life of the cache; the OS releases the lock when it closes.
    _lock: File,
}

/// The user's cache directory, e.g. `~/.cache/pkgsync`.
pub fn default_dir() -> PathBuf {
    dirs::cache_dir()
        .unwrap_or_else(std::env::temp_dir)
        .join("pkgsync")
}

impl Cache {
    pub fn open(dir: &Path) -> Result<Self, CacheError> {
        let io = |source| CacheError::Io {
            path: dir.to_path_buf(),
            source,
        };
        std::fs::create_dir_all(dir.join("files")).map_err(io)?;
        let lock = File::options()
            .create(true)
            .truncate(false)
            .write(true)
            .open(dir.join("lock"))
            .map_err(io)?;
        match lock.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => {
                return Err(CacheError::Busy(dir.to_path_buf()));
            }
            Err(std::fs::TryLockError::Error(e)) => return Err(io(e)),
        }
        // With the lock held, partial downloads are leftovers of a run that was
        // killed or cancelled: nobody will finish them.
        for entry in std::fs::read_dir(dir.join("files")).map_err(io)?.flatten() {
            if entry.file_name().to_string_lossy().contains(".part-") {
                let _ = std::fs::remove_file(entry.path());
            }
        }
        Ok(Self {
            dir: dir.to_path_buf(),
            _lock: lock,
        })
    }

    /// The place of a file: a digest of its origin and listed identity, so no name
    /// from outside becomes a path, and a rebuilt file never reuses an old copy.
    pub fn path_for(&self, expect: &SourceExpectation) -> PathBuf {
        let identity = format!(
            "{}\n{}\n{}\n{}",
            expect.origin(),
            expect.size,
            expect.mtime,
            expect.md5.as_deref().unwrap_or("-")
        );
        let name = blake3::hash(identity.as_bytes()).to_hex();
        self.dir.join("files").join(format!("{name}.pkg"))
    }

    /// A verified copy of the file: from the cache when it holds a good one, else
    /// downloaded (retried on transport errors, 5xx, 429 and short bodies).
    pub async fn fetch(
        &self,
        http: &HttpClient,
        url: &str,
        auth: &Auth,
        expect: &SourceExpectation,
        on_bytes: &(dyn Fn(u64) + Sync),
    ) -> Result<CachedFile, CacheError> {
        let path = self.path_for(expect);
        let origin = expect.origin().to_string();
        if path.exists() {
            match hash_file(&path).await {
                Ok((size, md5, sha256)) if verify(expect, size, &md5).is_ok() => {
                    return Ok(CachedFile { path, sha256 });
                }
                // A damaged copy is dropped and fetched again.
                _ => {
                    let _ = std::fs::remove_file(&path);
                }
            }
        }
        let part = path.with_extension(format!("part-{}", std::process::id()));
        let result = http
            .with_retries(|| download(http, url, auth, &part, expect.size, on_bytes))
            .await;
        let (size, md5, sha256) = match result {
            Ok(v) => v,
            Err(source) => {
                let _ = std::fs::remove_file(&part);
                return Err(CacheError::Download { origin, source });
            }
        };
        if let Err(detail) = verify(expect, size, &md5) {
            let _ = std::fs::remove_file(&part);
            return Err(CacheError::Mismatch { origin, detail });
        }
        std::fs::rename(&part, &path).map_err(|source| CacheError::Io {
            path: path.clone(),
            source,
        })?;
        Ok(CachedFile { path, sha256 })
    }
}

fn verify(expect: &SourceExpectation, size: u64, md5: &str) -> Result<(), String> {
    if size != expect.size {
        return Err(format!("{size} bytes received, {} listed", expect.size));
    }
    match &expect.md5 {
        Some(listed) if !listed.eq_ignore_ascii_case(md5) => {
            Err(format!("md5 `{md5}`, listed `{listed}`"))
        }
        Some(_) => Ok(()),
        // Every byte is verified: a file without a listed md5 is never taken.
        None => Err("OBS listed no md5 to verify it against".to_string()),
    }
}

/// One attempt: streams the body to `part`, hashing as it goes, and never past
/// the listed size. Returns (size, md5, sha256). A body cut short or too slow is
/// worth another attempt; a local write error, a body longer than listed or a
/// refusal (404, 403) is not.
async fn download(
    http: &HttpClient,
    url: &str,
    auth: &Auth,
    part: &Path,
    listed_size: u64,
    on_bytes: &(dyn Fn(u64) + Sync),
) -> Result<(u64, String, String), AttemptError> {
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
    Ok((
        size,
        hex::encode(md5.finalize()),
        hex::encode(sha.finalize()),
    ))
}

/// (size, md5, sha256) of a file on disk, read in chunks.
pub async fn hash_file(path: &Path) -> std::io::Result<(u64, String, String)> {
    let path = path.to_path_buf();
    tokio::task::spawn_blocking(move || {
        use std::io::Read;
        let mut file = File::open(&path)?;
        let mut md5 = Md5::new();
        let mut sha = Sha256::new();
        let mut size = 0u64;
        let mut buffer = vec![0u8; 256 * 1024];
        loop {
            let n = file.read(&mut buffer)?;
            if n == 0 {
                break;
            }
            md5.update(&buffer[..n]);
            sha.update(&buffer[..n]);
            size += n as u64;
        }
        Ok((
            size,
            hex::encode(md5.finalize()),
            hex::encode(sha.finalize()),
        ))
    })
    .await
    .expect("hashing does not panic")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_open_of_the_same_cache_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let first = Cache::open(dir.path()).unwrap();
        assert!(matches!(Cache::open(dir.path()), Err(CacheError::Busy(_))));
        drop(first);
        Cache::open(dir.path()).unwrap();
    }

    #[test]
    fn cache_paths_never_come_from_outside_names() {
        let dir = tempfile::tempdir().unwrap();
        let cache = Cache::open(dir.path()).unwrap();
        let expect = SourceExpectation {
            project: "p".into(),
            repository: "r".into(),
            arch: "x86_64".into(),
            package: "..".into(),
            filename: "../../evil.rpm".into(),
            size: 1,
            mtime: 1,
            md5: None,
        };
        let path = cache.path_for(&expect);
        assert!(path.starts_with(dir.path().join("files")));
        assert!(!path.to_string_lossy().contains("evil"));
    }
}
