//! Uploads that are safe to repeat: the file is checked to be the planned
//! package before it is sent, a 201 is verified against the sha256 sent, and a
//! lost answer or a duplicate is followed by a look-up before anything is sent
//! again.

use super::client::{PackagecloudClient, PackagecloudError, UploadOutcome};
use super::types::{PackageDetails, ValidationErrors};
use crate::display::ShownUrl;
use crate::http::{HttpError, RetryState};
use crate::model::{ArtifactKey, TargetPackage};
use reqwest::{Method, StatusCode};
use std::path::Path;

impl PackagecloudClient {
    /// Sends one upload request, streaming the file. Not retried here.
    async fn post_package(
        &self,
        path: &Path,
        distro_version_id: u64,
        filename: &str,
    ) -> Result<reqwest::Response, PackagecloudError> {
        let file = tokio::fs::File::open(path)
            .await
            .map_err(|source| PackagecloudError::File {
                path: path.display().to_string(),
                source,
            })?;
        let length = file
            .metadata()
            .await
            .map_err(|source| PackagecloudError::File {
                path: path.display().to_string(),
                source,
            })?
            .len();
        let body = reqwest::Body::wrap_stream(tokio_util::io::ReaderStream::new(file));
        let part = reqwest::multipart::Part::stream_with_length(body, length)
            .file_name(filename.to_string())
            .mime_str("application/octet-stream")
            .expect("a fixed MIME type parses");
        let form = reqwest::multipart::Form::new()
            .text("package[distro_version_id]", distro_version_id.to_string())
            .part("package[package_file]", part);
        let url = self.repo_url("/packages.json");
        let deadline = self.http.limits.upload_deadline(length);
        self.http
            .upload_request(&url, &self.auth()?)
            .multipart(form)
            .timeout(deadline)
            .send()
            .await
            .map_err(|e| {
                let reason = if e.is_timeout() {
                    format!(
                        "no answer within the {:.0} s upload deadline (`limits.request_timeout_secs` plus the file at `limits.min_bytes_per_second`)",
                        deadline.as_secs_f64()
                    )
                } else {
                    crate::http::transport_reason(&e)
                };
                PackagecloudError::Http(HttpError::transport(Method::POST, &url, reason))
            })
    }

    /// Uploads `path` as `key` (the planned, canonical name), and makes sure it
    /// ends up there with `sha256`.
    ///
    /// Packagecloud names the stored file after the package metadata, whatever the
    /// local file is called; a file whose metadata names another file than `key`
    /// is refused before anything is sent, and a 201 naming another file or
    /// checksum is [`PackagecloudError::VerifyFailed`].
    ///
    /// Safe to repeat: a 422 duplicate, or a lost answer (timeout, reset, 5xx,
    /// 429), is followed by a look-up; the same sha256 there means done, another
    /// one is a conflict, absence means the upload is sent again (bounded).
    pub async fn upload(
        &self,
        path: &Path,
        distro_version_id: u64,
        key: &ArtifactKey,
        sha256: &str,
    ) -> Result<UploadOutcome, PackagecloudError> {
        self.check_planned_file(path, key).await?;
        let mut retry = RetryState::new(&self.http.retry);
        loop {
            let failure = match self
                .post_package(path, distro_version_id, &key.filename)
                .await
            {
                Ok(response) => {
                    let status = response.status();
                    let retry_after = crate::http::retry_after(&response);
                    let url = self.repo_url("/packages.json");
                    match self.http.metadata_body(response, &Method::POST, &url).await {
                        // The answer was lost on its way: the upload may be stored.
                        Err(lost) => (lost.into_error(), None),
                        Ok(body) => match status {
                            StatusCode::CREATED | StatusCode::OK => {
                                return self.verify_created(key, sha256, &body).await;
                            }
                            StatusCode::UNPROCESSABLE_ENTITY => {
                                return self.after_rejection(key, sha256, &body).await;
                            }
                            StatusCode::UNAUTHORIZED => return Err(self.unauthorized()),
                            StatusCode::NOT_FOUND => {
                                return Err(PackagecloudError::NoRepository {
                                    repo: self.repo.clone(),
                                });
                            }
                            s if s.is_server_error() || s == StatusCode::TOO_MANY_REQUESTS => (
                                HttpError::with_status(Method::POST, &url, status, body),
                                retry_after,
                            ),
                            _ => {
                                return Err(PackagecloudError::Http(HttpError::with_status(
                                    Method::POST,
                                    &url,
                                    status,
                                    body,
                                )));
                            }
                        },
                    }
                }
                Err(PackagecloudError::Http(e)) => (e, None),
                Err(other) => return Err(other),
            };
            // The upload may have been stored although its answer was lost, or the
            // server may still be storing it: wait first (as the server asked, or
            // with backoff), then look, and only post again when it is not there.
            // With the budget spent, look once more at once instead of waiting past it.
            let wait = retry.failed(&failure.0, failure.1);
            if let Some(delay) = wait {
                tokio::time::sleep(delay).await;
            }
            if let Some(stored) = self.find(key).await? {
                return self.compare_stored(key, sha256, stored);
            }
            if wait.is_none() {
                return Err(PackagecloudError::Http(failure.0));
            }
        }
    }

    /// The server stores a file under the name its metadata gives: make sure that
    /// is the planned name.
    async fn check_planned_file(
        &self,
        path: &Path,
        key: &ArtifactKey,
    ) -> Result<(), PackagecloudError> {
        let owned = path.to_path_buf();
        let identity = tokio::task::spawn_blocking(move || pkgfile::read_identity(&owned))
            .await
            .map_err(|e| PackagecloudError::File {
                path: path.display().to_string(),
                source: std::io::Error::other(e.to_string()),
            })?;
        let reason = match identity {
            Ok(identity) if identity.canonical_filename() == key.filename => return Ok(()),
            Ok(identity) => format!(
                "its metadata names it `{}`, and Packagecloud would store it under that name",
                identity.canonical_filename()
            ),
            Err(e) => format!("it is not a readable package: {e}"),
        };
        Err(PackagecloudError::NotThePlannedFile {
            key: key.clone(),
            path: path.display().to_string(),
            reason,
        })
    }

    async fn verify_created(
        &self,
        key: &ArtifactKey,
        sha256: &str,
        body: &str,
    ) -> Result<UploadOutcome, PackagecloudError> {
        let details: PackageDetails =
            serde_json::from_str(body).map_err(|e| PackagecloudError::Malformed {
                url: ShownUrl::new(self.repo_url("/packages.json")),
                message: e.to_string(),
            })?;
        // An answer without a checksum proves nothing either way: the listing
        // says what was stored (absent there, the upload is not verified).
        let Some(stored_sha) = details
            .sha256sum
            .filter(|s| !s.is_empty())
            .map(|s| s.to_ascii_lowercase())
        else {
            return match self.find(key).await? {
                Some(stored) if stored.sha256.as_deref() == Some(sha256) => {
                    Ok(UploadOutcome::Created)
                }
                Some(TargetPackage {
                    sha256: Some(other),
                    ..
                }) => Err(self.verify_failed(key, sha256, &key.filename, &other)),
                _ => Err(PackagecloudError::Unverified { key: key.clone() }),
            };
        };
        if details.filename != key.filename || stored_sha != sha256 {
            return Err(self.verify_failed(key, sha256, &details.filename, &stored_sha));
        }
        Ok(UploadOutcome::Created)
    }

    fn verify_failed(
        &self,
        key: &ArtifactKey,
        sha256: &str,
        stored_filename: &str,
        stored_sha256: &str,
    ) -> PackagecloudError {
        PackagecloudError::VerifyFailed {
            key: key.clone(),
            stored_filename: stored_filename.to_string(),
            stored_sha256: stored_sha256.to_string(),
            expected_filename: key.filename.clone(),
            expected_sha256: sha256.to_string(),
        }
    }

    pub(super) async fn after_rejection(
        &self,
        key: &ArtifactKey,
        sha256: &str,
        body: &str,
    ) -> Result<UploadOutcome, PackagecloudError> {
        let message = match serde_json::from_str::<ValidationErrors>(body) {
            Ok(errors) => errors
                .iter()
                .map(|(field, messages)| format!("{field}: {}", messages.join(", ")))
                .collect::<Vec<_>>()
                .join("; "),
            Err(_) => body.trim().to_string(),
        };
        if is_duplicate(&message) {
            return match self.find(key).await? {
                Some(stored) => self.compare_stored(key, sha256, stored),
                None => Err(PackagecloudError::Rejected {
                    key: key.clone(),
                    message: format!("{message} (but no such package is listed)"),
                }),
            };
        }
        Err(PackagecloudError::Rejected {
            key: key.clone(),
            message,
        })
    }

    pub(super) fn compare_stored(
        &self,
        key: &ArtifactKey,
        sha256: &str,
        stored: TargetPackage,
    ) -> Result<UploadOutcome, PackagecloudError> {
        match stored.sha256 {
            Some(s) if s == sha256 => Ok(UploadOutcome::AlreadyPresent),
            Some(s) => Err(PackagecloudError::Conflict {
                key: key.clone(),
                stored: s,
                ours: sha256.to_string(),
            }),
            None => Err(PackagecloudError::Conflict {
                key: key.clone(),
                stored: "(not listed)".into(),
                ours: sha256.to_string(),
            }),
        }
    }
}

/// Both wordings Packagecloud has used for "this file is already there".
pub fn is_duplicate(message: &str) -> bool {
    message.contains("already been taken") || message.contains("already exists")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_duplicate_wordings_are_recognised() {
        assert!(is_duplicate("filename: has already been taken"));
        assert!(is_duplicate(
            "repository: Validation failed: Full name already exists."
        ));
        assert!(!is_duplicate(
            "repository: The specified distro does not support the package"
        ));
    }
}
