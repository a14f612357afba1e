//! The download cache: files from the sources, verified against the size and
//! checksums their source listed, stored under names pkgsync makes itself, and
//! reused across runs and plans. The HTTP client delivers the bytes
//! ([`HttpClient::download_to_file`]); the cache names, verifies and renames.
//!
//! A file is written under a temporary name and renamed only once complete and
//! verified, so a crash never leaves a file that looks valid. A lock file stops
//! two applies on one machine from sharing a cache at once.

use crate::checksum::{Algorithm, Digests, Hasher};
use crate::http::{FileRequest, HttpClient, HttpError, authority};
use crate::source::Download;
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
    #[error("`{origin}`: the mirror `{mirror}` it was sent to failed ({first}); {again}")]
    Origin {
        origin: String,
        mirror: String,
        first: String,
        again: String,
    },
}

impl CacheError {
    /// What went wrong with the file, without naming it.
    fn detail(&self) -> String {
        match self {
            Self::Mismatch { detail, .. } => detail.clone(),
            Self::Download { source, .. } => crate::display::chain(source),
            other => other.to_string(),
        }
    }
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
        let also = extra_algorithms(download);
        if path.exists() {
            match hash_file(&path, &also).await {
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
        let result = fetch_verified(http, download, &also, &part, on_bytes).await;
        let digests = match result {
            Ok(digests) => digests,
            Err(e) => {
                let _ = std::fs::remove_file(&part);
                return Err(e);
            }
        };
        std::fs::rename(&part, &path).map_err(|source| CacheError::Io {
            path: path.clone(),
            source,
        })?;
        Ok(CachedFile {
            path,
            sha256: digests.sha256,
        })
    }
}

/// Downloads into `part` and verifies. A mirror that a redirector sent the
/// download to may lag behind its origin: when a mirror on another host fails
/// (other bytes than listed, an error of its own), the file is fetched once
/// more from the origin, which may serve it or send it to another mirror, but
/// not to that one again.
async fn fetch_verified(
    http: &HttpClient,
    download: &Download,
    also: &[Algorithm],
    part: &Path,
    on_bytes: &(dyn Fn(u64) + Sync),
) -> Result<Digests, CacheError> {
    let origin = download.label.clone();
    let mut request = FileRequest {
        url: &download.url,
        auth: &download.auth,
        listed_size: download.size,
        also,
        avoid: None,
    };
    let (failure, mirror) = match http.download_to_file(&request, part, on_bytes).await {
        Ok(got) => match verify(download, &got.digests) {
            Ok(()) => return Ok(got.digests),
            Err(detail) => {
                let mirror = mirror_of(&download.url, &got.served_from);
                let failure = CacheError::Mismatch {
                    origin: origin.clone(),
                    detail,
                };
                (failure, mirror)
            }
        },
        Err(source) => {
            let mirror = mirror_of(&download.url, source.url().as_request_url());
            let failure = CacheError::Download {
                origin: origin.clone(),
                source,
            };
            (failure, mirror)
        }
    };
    let Some(mirror) = mirror else {
        return Err(failure);
    };
    let first = failure.detail();
    eprintln!(
        "pkgsync: `{origin}`: the mirror `{mirror}` it was sent to failed ({first}); fetching it again from its origin"
    );
    request.avoid = Some(&mirror);
    let again = match http.download_to_file(&request, part, on_bytes).await {
        Ok(got) => match verify(download, &got.digests) {
            Ok(()) => return Ok(got.digests),
            Err(detail) => format!("from its origin too: {detail}"),
        },
        Err(e) if e.status().is_some_and(|s| s.is_redirection()) => {
            "its origin sends it to that mirror again".to_string()
        }
        Err(e) => format!("from its origin: {}", crate::display::chain(&e)),
    };
    Err(CacheError::Origin {
        origin,
        mirror,
        first,
        again,
    })
}

/// The `host:port` that served `served_from`, when it is not the one asked.
fn mirror_of(asked: &str, served_from: &str) -> Option<String> {
    let served = authority(served_from)?;
    (authority(asked)? != served).then_some(served)
}

/// Digests beyond md5 and sha256 that the download's checksums need.
fn extra_algorithms(download: &Download) -> Vec<Algorithm> {
    download
        .checksums
        .iter()
        .map(|c| c.algorithm)
        .filter(|a| matches!(a, Algorithm::Sha1 | Algorithm::Sha512))
        .collect()
}

/// Every byte is verified: a file whose source listed no checksum is never taken.
fn verify(download: &Download, got: &Digests) -> Result<(), String> {
    if got.size != download.size {
        return Err(format!(
            "{} bytes received, {} listed",
            got.size, download.size
        ));
    }
    if download.checksums.is_empty() {
        return Err("its source listed no checksum to verify it against".to_string());
    }
    got.check(&download.checksums)
}

/// Length and digests of a file on disk (`also`: beyond md5 and sha256), read
/// in chunks.
pub async fn hash_file(path: &Path, also: &[Algorithm]) -> std::io::Result<Digests> {
    let path = path.to_path_buf();
    let mut hasher = Hasher::new(also);
    tokio::task::spawn_blocking(move || {
        use std::io::Read;
        let mut file = File::open(&path)?;
        let mut buffer = vec![0u8; 256 * 1024];
        loop {
            let n = file.read(&mut buffer)?;
            if n == 0 {
                break;
            }
            hasher.update(&buffer[..n]);
        }
        Ok(hasher.finish())
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
            checksums: Vec::new(),
            promote_url: None,
        };
        let path = cache.path_for(&download);
        assert!(path.starts_with(dir.path().join("files")));
        assert!(!path.to_string_lossy().contains("evil"));
    }
}
