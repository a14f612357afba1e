//! Packagecloud's promote call, made safe to repeat: it moves a package to
//! another repository (same `distro/version` and filename), so its answer
//! proves nothing about the destination. Arrival is looked up there, and a
//! lost answer is followed by a look-up before the call is sent again.

use super::client::{PackagecloudClient, PackagecloudError, UploadOutcome};
use crate::http::{AttemptError, HttpError, RetryState};
use crate::model::ArtifactKey;
use reqwest::{Method, StatusCode};

impl PackagecloudClient {
    /// Moves `key` from this client's repository to `destination`'s with the
    /// promote call at `promote_path` (site-relative, as the package's details
    /// give it; else the documented one), and makes sure it arrived there
    /// with `sha256`.
    ///
    /// Already there with the same sha256 (a rerun, or an answer lost after the
    /// move) is done; another sha256 there is a conflict.
    pub async fn promote(
        &self,
        promote_path: Option<&str>,
        key: &ArtifactKey,
        destination: &PackagecloudClient,
        sha256: &str,
    ) -> Result<UploadOutcome, PackagecloudError> {
        let url = match promote_path {
            Some(path) => self.url_on_this_host(path, "promote_url", key)?,
            None => format!("{}/promote.json", self.package_url(key)),
        };
        let form = [("destination", destination.repo().to_string())];
        let mut retry = RetryState::new(&self.http.retry);
        loop {
            let answer = self
                .http
                .send_once(Method::POST, &url, &self.auth()?, |r| r.form(&form))
                .await;
            let (failure, server_wait) = match answer {
                Ok(response) => {
                    let status = response.status();
                    match self.http.metadata_body(response, &Method::POST, &url).await {
                        Ok(body) => {
                            return self
                                .promote_answered(status, body, &url, key, destination, sha256)
                                .await;
                        }
                        // The answer was lost on its way: the move may have happened.
                        Err(lost) => (lost.into_error(), None),
                    }
                }
                Err(AttemptError::Retry(error, wait)) => (error, wait),
                Err(AttemptError::Final(error)) => return Err(PackagecloudError::Http(error)),
            };
            // Wait, then look in the destination; only promote again when the
            // package is not there (with the budget spent, look once more).
            let wait = retry.failed(&failure, server_wait);
            if let Some(delay) = wait {
                tokio::time::sleep(delay).await;
            }
            if let Some(stored) = destination.find(key).await? {
                return destination.compare_stored(key, sha256, stored);
            }
            if wait.is_none() {
                return Err(PackagecloudError::Http(failure));
            }
        }
    }

    async fn promote_answered(
        &self,
        status: StatusCode,
        body: String,
        url: &str,
        key: &ArtifactKey,
        destination: &PackagecloudClient,
        sha256: &str,
    ) -> Result<UploadOutcome, PackagecloudError> {
        match status {
            s if s.is_success() => match destination.find(key).await? {
                Some(stored) => destination
                    .compare_stored(key, sha256, stored)
                    .map(|_| UploadOutcome::Created),
                None => Err(PackagecloudError::NotArrived {
                    key: key.clone(),
                    destination: destination.repo().to_string(),
                }),
            },
            // Moved by an earlier run whose answer was lost, or not there at all.
            StatusCode::NOT_FOUND => match destination.find(key).await? {
                Some(stored) => destination.compare_stored(key, sha256, stored),
                None => Err(PackagecloudError::NothingToPromote {
                    key: key.clone(),
                    source_repo: self.repo().to_string(),
                    destination: destination.repo().to_string(),
                }),
            },
            // The destination may hold the name: the same content is done.
            StatusCode::UNPROCESSABLE_ENTITY => match destination.find(key).await? {
                Some(stored) => destination.compare_stored(key, sha256, stored),
                None => destination.after_rejection(key, sha256, &body).await,
            },
            StatusCode::UNAUTHORIZED => Err(self.unauthorized()),
            _ => Err(PackagecloudError::Http(HttpError::with_status(
                Method::POST,
                url,
                status,
                body,
            ))),
        }
    }
}
