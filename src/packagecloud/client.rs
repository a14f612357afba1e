//! Packagecloud API v1 client: its errors, requests and the small calls
//! (repository, distributions, package details, deletes). Complete listings are
//! in `listing.rs`, uploads that are safe to repeat in `upload.rs`.
//!
//! The token is only ever handed to the HTTP layer; errors say where the token was
//! read from, never what it is.

use super::distributions::{DistroError, DistroIndex};
use super::types::{Distributions, PackageDetails, PackageFragment};
use crate::config::{PackagecloudTarget, Secret, TokenSource};
use crate::display::ShownUrl;
use crate::http::{Auth, HttpClient, HttpError};
use crate::model::{ArtifactKey, TargetPackage};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use reqwest::{Method, StatusCode, header::HeaderMap};

/// The largest page Packagecloud serves; larger requests are silently clamped.
pub const MAX_PER_PAGE: usize = 250;
/// Listing pages fetched at once after the first.
pub const PAGE_CONCURRENCY: usize = 4;

/// Path segments keep only unreserved characters; `+` and `~` occur in versions.
pub(super) const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

#[derive(Debug, thiserror::Error)]
pub enum PackagecloudError {
    #[error(
        "no Packagecloud token: set `PACKAGECLOUD_TOKEN`, `packagecloud.auth.token`, or log in with the package_cloud CLI (`~/.packagecloud`)"
    )]
    NoToken,
    #[error(
        "Packagecloud rejected the API token read from {source_of_token} (401 Unauthenticated)"
    )]
    Unauthorized { source_of_token: TokenSource },
    #[error("Packagecloud has no repository `{repo}` (404), or the token may not see it")]
    NoRepository { repo: String },
    #[error(transparent)]
    Http(#[from] HttpError),
    #[error("Packagecloud answered `{url}` with a document pkgsync cannot read: {message}")]
    Malformed { url: ShownUrl, message: String },
    #[error(
        "the package listing of `{repo}` is incomplete: {detail}; refusing to go on with partial knowledge"
    )]
    Incomplete { repo: String, detail: String },
    #[error(transparent)]
    Distro(#[from] DistroError),
    #[error("Packagecloud refused `{key}` (422): {message}")]
    Rejected { key: ArtifactKey, message: String },
    #[error(
        "Packagecloud already holds `{key}` with different content: sha256 `{stored}` there, `{ours}` here"
    )]
    Conflict {
        key: ArtifactKey,
        stored: String,
        ours: String,
    },
    #[error(
        "Packagecloud stored `{key}` as `{stored_filename}` with sha256 `{stored_sha256}`, expected `{expected_filename}` with sha256 `{expected_sha256}`"
    )]
    VerifyFailed {
        key: ArtifactKey,
        stored_filename: String,
        stored_sha256: String,
        expected_filename: String,
        expected_sha256: String,
    },
    #[error(
        "Packagecloud answered the upload of `{key}` without a sha256 and does not list it: the upload is not verified"
    )]
    Unverified { key: ArtifactKey },
    #[error("`{path}` cannot be uploaded as `{key}`: {reason}")]
    NotThePlannedFile {
        key: ArtifactKey,
        path: String,
        reason: String,
    },
    #[error(
        "Packagecloud answered the promote of `{key}` to `{destination}`, but `{destination}` does not list it"
    )]
    NotArrived {
        key: ArtifactKey,
        destination: String,
    },
    #[error("`{key}` is in neither `{source_repo}` (404 on its promote call) nor `{destination}`")]
    NothingToPromote {
        key: ArtifactKey,
        source_repo: String,
        destination: String,
    },
    #[error("cannot read `{path}` for upload")]
    File {
        path: String,
        #[source]
        source: std::io::Error,
    },
}

/// How an upload ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UploadOutcome {
    Created,
    /// The same content was already there (a lost response, or a rerun).
    AlreadyPresent,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeleteOutcome {
    Deleted,
    AlreadyGone,
}

#[derive(Debug, Clone)]
pub struct PackagecloudClient {
    pub(super) http: HttpClient,
    pub(super) base: String,
    pub(super) repo: String,
    token: Option<Secret>,
    token_source: TokenSource,
}

impl PackagecloudClient {
    pub fn new(http: HttpClient, target: &PackagecloudTarget) -> Self {
        Self {
            http,
            base: target.url.trim_end_matches('/').to_string(),
            repo: target.repo.clone(),
            token: target.token.clone(),
            token_source: target.token_source.clone(),
        }
    }

    pub fn repo(&self) -> &str {
        &self.repo
    }

    pub fn retry_policy(&self) -> &crate::http::RetryPolicy {
        &self.http.retry
    }

    pub(super) fn auth(&self) -> Result<Auth, PackagecloudError> {
        self.token
            .clone()
            .map(Auth::Token)
            .ok_or(PackagecloudError::NoToken)
    }

    pub(super) fn repo_url(&self, rest: &str) -> String {
        let (user, repo) = self.repo.split_once('/').unwrap_or((&self.repo, ""));
        format!(
            "{}/api/v1/repos/{}/{}{rest}",
            self.base,
            utf8_percent_encode(user, SEGMENT),
            utf8_percent_encode(repo, SEGMENT)
        )
    }

    /// Maps 401, and 404 on a repository URL, to errors that say what to do; other
    /// failures pass through.
    pub(super) fn classify(&self, error: HttpError) -> PackagecloudError {
        match error.status() {
            Some(StatusCode::UNAUTHORIZED) => self.unauthorized(),
            Some(StatusCode::NOT_FOUND) if self.is_repo_url(&error) => {
                PackagecloudError::NoRepository {
                    repo: self.repo.clone(),
                }
            }
            _ => PackagecloudError::Http(error),
        }
    }

    pub(super) fn unauthorized(&self) -> PackagecloudError {
        PackagecloudError::Unauthorized {
            source_of_token: self.token_source.clone(),
        }
    }

    /// Whether a failed request went to this repository's API (not, say, to
    /// `distributions.json`, where a 404 says nothing about the repository).
    pub(super) fn is_repo_url(&self, error: &HttpError) -> bool {
        let Some(rest) = error
            .url()
            .as_request_url()
            .strip_prefix(&self.repo_url(""))
        else {
            return false;
        };
        // The repository's own record and its listings; a package's details or a
        // delete that 404s says nothing about the repository.
        rest.starts_with(".json")
            || rest.starts_with("/packages.json")
            || rest.starts_with("/search.json")
    }

    pub(super) async fn get_json<T: serde::de::DeserializeOwned>(
        &self,
        url: &str,
    ) -> Result<(HeaderMap, T), PackagecloudError> {
        let (headers, body) = self
            .http
            .get_text(url, &self.auth()?)
            .await
            .map_err(|e| self.classify(e))?;
        let value = serde_json::from_str(&body).map_err(|e| PackagecloudError::Malformed {
            url: ShownUrl::new(url),
            message: e.to_string(),
        })?;
        Ok((headers, value))
    }

    /// Reads the repository's own record: the token is valid and sees the
    /// repository. Returns whether it is private. (The API shows no permissions:
    /// write access cannot be told without writing.)
    pub async fn repository(&self) -> Result<bool, PackagecloudError> {
        #[derive(serde::Deserialize)]
        struct Repository {
            #[serde(default)]
            private: bool,
        }
        let (_, repository): (_, Repository) = self.get_json(&self.repo_url(".json")).await?;
        Ok(repository.private)
    }

    pub async fn distributions(&self) -> Result<DistroIndex, PackagecloudError> {
        let url = format!("{}/api/v1/distributions.json", self.base);
        let (_, all): (_, Distributions) = self.get_json(&url).await?;
        Ok(DistroIndex::from_distributions(&all)?)
    }

    /// The md5 of a stored package, from its details (listings do not carry it).
    pub async fn read_md5(
        &self,
        package: &TargetPackage,
    ) -> Result<Option<String>, PackagecloudError> {
        Ok(self
            .details(package)
            .await?
            .and_then(|d| d.md5sum)
            .map(|m| m.to_ascii_lowercase()))
    }

    /// A stored package's details, when its listing names where they are.
    pub async fn details(
        &self,
        package: &TargetPackage,
    ) -> Result<Option<PackageDetails>, PackagecloudError> {
        let Some(path) = &package.details_path else {
            return Ok(None);
        };
        let url = self.url_on_this_host(path, "package_url", &package.key)?;
        let (_, details): (_, PackageDetails) = self.get_json(&url).await?;
        Ok(Some(details))
    }

    /// `base` + a site-relative path from an answer; any other form is refused,
    /// so the token never goes to another host.
    pub(super) fn url_on_this_host(
        &self,
        path: &str,
        field: &str,
        key: &ArtifactKey,
    ) -> Result<String, PackagecloudError> {
        if !path.starts_with('/') || path.starts_with("//") {
            return Err(PackagecloudError::Malformed {
                url: ShownUrl::new(&self.base),
                message: format!("`{field}` of `{key}` is not a path on this host"),
            });
        }
        Ok(format!("{}{path}", self.base))
    }

    /// Whether `url` is on this client's host (scheme, host and port), so
    /// that its token may go with it.
    pub fn is_on_this_host(&self, url: &str) -> bool {
        let origin = |u: &str| reqwest::Url::parse(u).ok().map(|u| u.origin());
        origin(url).is_some_and(|o| Some(o) == origin(&self.base))
    }

    /// The credentials this client sends, for a download from its host.
    pub fn download_auth(&self) -> Auth {
        self.token.clone().map_or(Auth::None, Auth::Token)
    }

    /// A stored package's own URL (its `destroy_url`; `promote.json` below it).
    pub(super) fn package_url(&self, key: &ArtifactKey) -> String {
        self.repo_url(&format!(
            "/{}/{}",
            key.distro_version
                .split('/')
                .map(|s| utf8_percent_encode(s, SEGMENT).to_string())
                .collect::<Vec<_>>()
                .join("/"),
            utf8_percent_encode(&key.filename, SEGMENT)
        ))
    }

    pub async fn delete(&self, key: &ArtifactKey) -> Result<DeleteOutcome, PackagecloudError> {
        let url = self.package_url(key);
        let response = self
            .http
            .send(Method::DELETE, &url, &self.auth()?, |r| r)
            .await
            .map_err(|e| self.classify(e))?;
        let status = response.status();
        let body = crate::http::error_body(response).await;
        match status {
            s if s.is_success() => Ok(DeleteOutcome::Deleted),
            // `{"filename":["not found"]}`; a missing repository says `not_found`.
            StatusCode::NOT_FOUND if body.contains("not found") => Ok(DeleteOutcome::AlreadyGone),
            StatusCode::NOT_FOUND => Err(PackagecloudError::NoRepository {
                repo: self.repo.clone(),
            }),
            StatusCode::UNAUTHORIZED => Err(self.unauthorized()),
            _ => Err(PackagecloudError::Http(HttpError::with_status(
                Method::DELETE,
                &url,
                status,
                body,
            ))),
        }
    }
}

pub(super) fn target_package(key: ArtifactKey, fragment: PackageFragment) -> TargetPackage {
    TargetPackage {
        key,
        package_type: fragment.package_type.unwrap_or_default(),
        sha256: fragment.sha256sum.map(|s| s.to_ascii_lowercase()),
        md5: None,
        details_path: fragment.package_url,
    }
}
