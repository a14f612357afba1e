//! `file://` URLs: release trees on a mounted file system (a compose under
//! `/mnt/compose`, a local copy of a GBS tree), read through the same calls and
//! under the same bounds as HTTP: a metadata file at most `max_metadata_bytes`
//! and within the metadata deadline, a file copy never past its listed size,
//! hashed on the way, within the deadline an upload of its size gets. A local
//! error is final: waiting does not make a missing file appear.

use super::download::{FileRequest, Sink};
use super::{HttpClient, HttpError};
use crate::checksum::Digests;
use reqwest::Method;
use std::path::{Path, PathBuf};
use tokio::io::AsyncReadExt;

/// The path a `file://` URL names; `None` for any other URL.
pub fn local_path(url: &str) -> Option<PathBuf> {
    let parsed = url::Url::parse(url).ok()?;
    (parsed.scheme() == "file")
        .then(|| parsed.to_file_path().ok())
        .flatten()
}

/// The directory a `file://` URL names with every symlink resolved (a
/// `latest-*` link becomes the dated directory it points to now), as a
/// `file://` URL without a trailing slash. Any other URL is returned as it is.
pub fn resolve(url: &str) -> Result<String, HttpError> {
    let Some(path) = local_path(url) else {
        return Ok(url.to_string());
    };
    let fail = |reason: String| HttpError::transport(Method::GET, url, reason);
    let real = std::fs::canonicalize(&path).map_err(|e| fail(format!("cannot resolve: {e}")))?;
    if !real.is_dir() {
        return Err(fail(format!("`{}` is not a directory", real.display())));
    }
    let resolved = url::Url::from_directory_path(&real)
        .map_err(|()| fail(format!("`{}` is not an absolute path", real.display())))?;
    Ok(resolved.as_str().trim_end_matches('/').to_string())
}

/// Opens a regular file only: a FIFO or a device would block the open or
/// never end, whatever the deadline.
async fn open_regular(path: &Path) -> Result<tokio::fs::File, String> {
    let metadata = tokio::fs::metadata(path).await.map_err(|e| e.to_string())?;
    if !metadata.is_file() {
        return Err(format!("`{}` is not a regular file", path.display()));
    }
    tokio::fs::File::open(path).await.map_err(|e| e.to_string())
}

impl HttpClient {
    /// A local metadata file as text, under the metadata size limit and deadline.
    pub(super) async fn read_local_text(
        &self,
        url: &str,
        path: &Path,
    ) -> Result<String, HttpError> {
        let fail = |reason: String| HttpError::transport(Method::GET, url, reason);
        let limit = self.limits.max_metadata_bytes;
        let read = async {
            let file = open_regular(path).await?;
            let mut body = Vec::new();
            file.take(limit + 1)
                .read_to_end(&mut body)
                .await
                .map_err(|e| e.to_string())?;
            if body.len() as u64 > limit {
                return Err(format!(
                    "the file is larger than the {} MiB limit for metadata (`limits.max_metadata_mib`)",
                    limit / (1024 * 1024)
                ));
            }
            String::from_utf8(body).map_err(|_| "the file is not UTF-8 text".to_string())
        };
        match tokio::time::timeout(self.limits.metadata_deadline, read).await {
            Ok(result) => result.map_err(fail),
            Err(_) => Err(fail(format!(
                "not read within the {} s deadline for metadata (`limits.request_timeout_secs`)",
                self.limits.metadata_deadline.as_secs_f64()
            ))),
        }
    }

    /// Copies a local file into `part`, hashed on the way, at most the listed
    /// size.
    pub(super) async fn copy_local(
        &self,
        request: &FileRequest<'_>,
        path: &Path,
        part: &Path,
        on_bytes: &(dyn Fn(u64) + Sync),
    ) -> Result<Digests, HttpError> {
        let (url, listed_size) = (request.url, request.listed_size);
        let copy = async {
            let mut file = open_regular(path).await?;
            let mut sink = Sink::create(part, listed_size, request.also).await?;
            let mut buffer = vec![0u8; 256 * 1024];
            loop {
                let n = file.read(&mut buffer).await.map_err(|e| e.to_string())?;
                if n == 0 {
                    break;
                }
                sink.write(&buffer[..n]).await?;
                on_bytes(n as u64);
            }
            sink.finish().await
        };
        let deadline = self.limits.upload_deadline(listed_size);
        match tokio::time::timeout(deadline, copy).await {
            Ok(result) => result.map_err(|reason| HttpError::transport(Method::GET, url, reason)),
            Err(_) => Err(HttpError::transport(
                Method::GET,
                url,
                format!("not read within {} s", deadline.as_secs_f64()),
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_regular_files_are_opened() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("repomd.xml");
        let made = std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap();
        assert!(made.success());
        let runtime = tokio::runtime::Runtime::new().unwrap();
        // A FIFO with no writer would block the open forever.
        let error = runtime.block_on(open_regular(&fifo)).unwrap_err();
        assert!(error.contains("not a regular file"), "{error}");
        let error = runtime.block_on(open_regular(dir.path())).unwrap_err();
        assert!(error.contains("not a regular file"), "{error}");
    }

    #[test]
    fn a_symlinked_directory_resolves_to_its_target() {
        let dir = tempfile::tempdir().unwrap();
        let dated = dir.path().join("compose-20260101.0");
        std::fs::create_dir(&dated).unwrap();
        std::os::unix::fs::symlink(&dated, dir.path().join("latest-x")).unwrap();
        let url = url::Url::from_directory_path(dir.path().join("latest-x")).unwrap();
        let resolved = resolve(url.as_str()).unwrap();
        assert!(resolved.ends_with("/compose-20260101.0"), "{resolved}");
        assert_eq!(
            local_path(&resolved).unwrap(),
            std::fs::canonicalize(&dated).unwrap()
        );
        assert_eq!(
            resolve("https://example.org/x").unwrap(),
            "https://example.org/x"
        );
        assert!(local_path("https://example.org/x").is_none());
    }
}
