//! The download cache: files from the sources, verified against the size and
//! checksums their source listed, stored under names pkgsync makes itself, and
//! reused across runs and plans. The HTTP client delivers the bytes
//! ([`HttpClient::download_to_file`]); the cache names, verifies and renames.
//!
//! A file is written under a temporary name and renamed only once complete and
//! verified, so a crash never leaves a file that looks valid. A lock file stops
//! two applies on one machine from sharing a cache at once.

use crate::http::{Downloaded, HttpClient, HttpError};
use crate::source::Download;
use md5::{Digest, Md5};
use sha2::Sha256;
use std::fs::File;
use std::path::{Path, PathBuf};

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
    #[error("`{origin}` does not match what its source listed: {detail}")]
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

    /// The place of a file: a digest of its listed identity, so no name from
    /// outside becomes a path, and a rebuilt file never reuses an old copy.
    pub fn path_for(&self, download: &Download) -> PathBuf {
        let name = blake3::hash(download.identity.as_bytes()).to_hex();
        self.dir.join("files").join(format!("{name}.pkg"))
    }

    /// A verified copy of the file: from the cache when it holds a good one, else
    /// downloaded.
    pub async fn fetch(
        &self,
        http: &HttpClient,
        download: &Download,
        on_bytes: &(dyn Fn(u64) + Sync),
    ) -> Result<CachedFile, CacheError> {
        let path = self.path_for(download);
        let origin = download.label.clone();
        if path.exists() {
            match hash_file(&path).await {
                Ok(found) if verify(download, &found).is_ok() => {
                    return Ok(CachedFile {
                        path,
                        sha256: found.sha256,
                    });
                }
                // A damaged copy is dropped and fetched again.
                _ => {
                    let _ = std::fs::remove_file(&path);
                }
            }
        }
        let part = path.with_extension(format!("part-{}", std::process::id()));
        let result = http
            .download_to_file(
                &download.url,
                &download.auth,
                &part,
                download.size,
                on_bytes,
            )
            .await;
        let downloaded = match result {
            Ok(v) => v,
            Err(source) => {
                let _ = std::fs::remove_file(&part);
                return Err(CacheError::Download { origin, source });
            }
        };
        if let Err(detail) = verify(download, &downloaded) {
            let _ = std::fs::remove_file(&part);
            return Err(CacheError::Mismatch { origin, detail });
        }
        std::fs::rename(&part, &path).map_err(|source| CacheError::Io {
            path: path.clone(),
            source,
        })?;
        Ok(CachedFile {
            path,
            sha256: downloaded.sha256,
        })
    }
}

/// Every byte is verified: a file whose source listed no checksum is never taken.
fn verify(download: &Download, got: &Downloaded) -> Result<(), String> {
    if got.size != download.size {
        return Err(format!(
            "{} bytes received, {} listed",
            got.size, download.size
        ));
    }
    let differs = |listed: &Option<String>, got: &str| {
        listed
            .as_ref()
            .filter(|l| !l.eq_ignore_ascii_case(got))
            .cloned()
    };
    if let Some(listed) = differs(&download.sha256, &got.sha256) {
        return Err(format!("sha256 `{}`, listed `{listed}`", got.sha256));
    }
    if let Some(listed) = differs(&download.md5, &got.md5) {
        return Err(format!("md5 `{}`, listed `{listed}`", got.md5));
    }
    if download.md5.is_none() && download.sha256.is_none() {
        return Err("its source listed no checksum to verify it against".to_string());
    }
    Ok(())
}

/// Length and digests of a file on disk, read in chunks.
pub async fn hash_file(path: &Path) -> std::io::Result<Downloaded> {
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
        Ok(Downloaded {
            size,
            md5: hex::encode(md5.finalize()),
            sha256: hex::encode(sha.finalize()),
        })
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
        let download = Download {
            url: "http://example.org/../../evil.rpm".into(),
            auth: crate::http::Auth::None,
            label: "../../evil.rpm".into(),
            identity: "p/r/x86_64/../../../evil.rpm".into(),
            size: 1,
            md5: None,
            sha256: None,
            promote_url: None,
        };
        let path = cache.path_for(&download);
        assert!(path.starts_with(dir.path().join("files")));
        assert!(!path.to_string_lossy().contains("evil"));
    }
}
