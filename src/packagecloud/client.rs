//! Packagecloud API v1 client: complete listings (parallel pages, cross-checked),
//! distributions, uploads that are safe to repeat, and deletes.
//!
//! The token is only ever handed to the HTTP layer; errors say where the token was
//! read from, never what it is.

use super::distributions::{DistroError, DistroIndex};
use super::types::{Distributions, PackageDetails, PackageFragment, ValidationErrors};
use crate::config::{PackagecloudTarget, Secret, TokenSource};
use crate::display::ShownUrl;
use crate::http::{Auth, HttpClient, HttpError, RetryState};
use crate::model::{ArtifactKey, TargetInventory, TargetPackage};
use futures::{StreamExt, TryStreamExt};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use reqwest::{Method, StatusCode, header::HeaderMap};
use std::collections::BTreeSet;
use std::path::Path;

/// The largest page Packagecloud serves; larger requests are silently clamped.
pub const MAX_PER_PAGE: usize = 250;
/// Listing pages fetched at once after the first.
pub const PAGE_CONCURRENCY: usize = 4;

/// Path segments keep only unreserved characters; `+` and `~` occur in versions.
const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
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
    http: HttpClient,
    base: String,
    repo: String,
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

    fn auth(&self) -> Result<Auth, PackagecloudError> {
        self.token
            .clone()
            .map(Auth::Token)
            .ok_or(PackagecloudError::NoToken)
    }

    fn repo_url(&self, rest: &str) -> String {
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
    fn classify(&self, error: HttpError) -> PackagecloudError {
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

    fn unauthorized(&self) -> PackagecloudError {
        PackagecloudError::Unauthorized {
            source_of_token: self.token_source.clone(),
        }
    }

    /// Whether a failed request went to this repository's API (not, say, to
    /// `distributions.json`, where a 404 says nothing about the repository).
    fn is_repo_url(&self, error: &HttpError) -> bool {
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

    async fn get_json<T: serde::de::DeserializeOwned>(
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

    /// Every package of the repository, or an error: never a smaller inventory.
    ///
    /// Page 1 is asked for with the largest page size; its `Total` and `Per-Page`
    /// say how many pages follow, and those are fetched concurrently (bounded).
    /// Every page must repeat the total and be full (the last one: the rest).
    /// Without the counts, `rel="next"` links are followed one page at a time.
    pub async fn list(&self) -> Result<TargetInventory, PackagecloudError> {
        let first_url = format!(
            "{}?per_page={MAX_PER_PAGE}",
            self.repo_url("/packages.json")
        );
        let (headers, first): (_, Vec<PackageFragment>) = self.get_json(&first_url).await?;
        let links = parse_link_header(&headers);
        let total = header_number(&headers, "Total");
        if let Some(total) = total {
            self.check_listing_size(total)?;
        }
        let fragments = match (total, header_number(&headers, "Per-Page")) {
            (Some(total), Some(per_page)) if per_page > 0 => {
                self.counted_pages(&first_url, first, &links, total, per_page)
                    .await?
            }
            _ => self.follow_next(first, links, total).await?,
        };

        let mut inventory = TargetInventory::default();
        for fragment in fragments {
            let key = ArtifactKey::new(&fragment.distro_version, &fragment.filename);
            let package = target_package(key.clone(), fragment);
            if inventory.packages.insert(key.clone(), package).is_some() {
                return Err(self.incomplete(format!(
                    "`{key}` was listed twice (the listing shifted while paging)"
                )));
            }
        }
        Ok(inventory)
    }

    /// Pages 2..n of a listing whose first page said `Total` and `Per-Page`.
    async fn counted_pages(
        &self,
        first_url: &str,
        first: Vec<PackageFragment>,
        links: &[(String, String)],
        total: usize,
        per_page: usize,
    ) -> Result<Vec<PackageFragment>, PackagecloudError> {
        let pages = total.div_ceil(per_page).max(1);
        let expected_len = |page: usize| {
            if page < pages {
                per_page
            } else {
                total - per_page * (pages - 1)
            }
        };
        self.check_page_len(1, first.len(), expected_len(1))?;
        let template = links
            .iter()
            .find(|(rel, _)| rel == "last")
            .map(|(_, url)| url.clone());
        let rest: Vec<Vec<PackageFragment>> = futures::stream::iter(2..=pages)
            .map(|page| {
                let url = page_url(template.as_deref(), first_url, page, per_page);
                async move {
                    let (headers, items): (_, Vec<PackageFragment>) = self
                        .get_json(&url)
                        .await
                        .map_err(|e| self.page_failed(page, e))?;
                    let now = header_number(&headers, "Total");
                    if now != Some(total) {
                        return Err(self.incomplete(format!(
                            "the total changed from {total} to {} while paging (page {page})",
                            now.map_or("(missing)".into(), |t| t.to_string())
                        )));
                    }
                    self.check_page_len(page, items.len(), expected_len(page))?;
                    Ok(items)
                }
            })
            .buffered(PAGE_CONCURRENCY)
            .try_collect()
            .await?;
        let mut all = first;
        all.extend(rest.into_iter().flatten());
        Ok(all)
    }

    fn check_page_len(
        &self,
        page: usize,
        len: usize,
        expected: usize,
    ) -> Result<(), PackagecloudError> {
        if len == expected {
            Ok(())
        } else {
            Err(self.incomplete(format!(
                "page {page} held {len} packages, expected {expected}"
            )))
        }
    }

    /// A listing larger than [`crate::http::Limits::max_listed_packages`] is not
    /// read on: a server that pages forever must not fill the memory.
    fn check_listing_size(&self, count: usize) -> Result<(), PackagecloudError> {
        let limit = self.http.limits.max_listed_packages;
        if count > limit {
            return Err(self.incomplete(format!(
                "it holds more than the {limit} packages pkgsync reads from one listing (`limits.max_listed_packages`)"
            )));
        }
        Ok(())
    }

    /// A full page (or more) that neither counts the listing nor links to a next
    /// page may not be the end of it.
    fn check_unpaginated(
        &self,
        page: usize,
        len: usize,
        links: &[(String, String)],
    ) -> Result<(), PackagecloudError> {
        if len >= MAX_PER_PAGE && next_link(links).is_none() {
            return Err(self.incomplete(format!(
                "page {page} is full ({len} packages) but carries no pagination headers (neither `Total` nor a `Link` to a next page)"
            )));
        }
        Ok(())
    }

    /// A page that could not be fetched makes the whole listing incomplete; errors
    /// that are not about this page (401, say) pass through.
    fn page_failed(&self, page: usize, error: PackagecloudError) -> PackagecloudError {
        match error {
            PackagecloudError::Http(e) => {
                self.incomplete(format!("page {page} could not be fetched: {e}"))
            }
            other => other,
        }
    }

    /// Fallback without `Total`/`Per-Page`: follow `rel="next"` one page at a time.
    /// A `Total` alone is still cross-checked.
    async fn follow_next(
        &self,
        mut all: Vec<PackageFragment>,
        mut links: Vec<(String, String)>,
        total: Option<usize>,
    ) -> Result<Vec<PackageFragment>, PackagecloudError> {
        let mut seen = BTreeSet::new();
        let mut page = 1;
        if total.is_none() {
            self.check_unpaginated(page, all.len(), &links)?;
        }
        self.check_listing_size(all.len())?;
        while let Some(next) = next_link(&links) {
            if !seen.insert(next.clone()) {
                return Err(self.incomplete(format!(
                    "the `next` link `{}` repeats",
                    ShownUrl::new(&next)
                )));
            }
            let url = self.same_origin(&next)?;
            page += 1;
            let (headers, items): (_, Vec<PackageFragment>) = self
                .get_json(&url)
                .await
                .map_err(|e| self.page_failed(page, e))?;
            let now = header_number(&headers, "Total");
            if let Some(total) = total
                && now != Some(total)
            {
                return Err(self.incomplete(format!(
                    "the total changed from {total} to {} while paging (page {page})",
                    now.map_or("(missing)".into(), |t| t.to_string())
                )));
            }
            links = parse_link_header(&headers);
            if items.is_empty() && next_link(&links).is_some() {
                return Err(
                    self.incomplete(format!("page {page} is empty but links to a next page"))
                );
            }
            if total.is_none() {
                self.check_unpaginated(page, items.len(), &links)?;
            }
            all.extend(items);
            self.check_listing_size(all.len())?;
        }
        if let Some(total) = total
            && all.len() != total
        {
            return Err(self.incomplete(format!(
                "{} packages were listed, the server counts {total}",
                all.len()
            )));
        }
        Ok(all)
    }

    /// Link URLs are absolute; only follow them to the configured host, so the
    /// token is never sent elsewhere.
    fn same_origin(&self, link: &str) -> Result<String, PackagecloudError> {
        let ours = url::Url::parse(&self.base).ok();
        let theirs = url::Url::parse(link).ok();
        match (ours, theirs) {
            (Some(a), Some(b)) if a.origin() == b.origin() => Ok(link.to_string()),
            _ => Err(self.incomplete(format!(
                "a pagination link points to another host: `{}`",
                ShownUrl::new(link)
            ))),
        }
    }

    fn incomplete(&self, detail: String) -> PackagecloudError {
        PackagecloudError::Incomplete {
            repo: self.repo.clone(),
            detail,
        }
    }

    /// Looks one package up by name (search API, following `next` pages when the
    /// name is a substring of many), for checks after an upload whose answer was
    /// lost or refused as a duplicate.
    pub async fn find(
        &self,
        key: &ArtifactKey,
    ) -> Result<Option<TargetPackage>, PackagecloudError> {
        let mut url = format!(
            "{}?q={}&dist={}&per_page={MAX_PER_PAGE}",
            self.repo_url("/search.json"),
            utf8_percent_encode(&key.filename, SEGMENT),
            utf8_percent_encode(&key.distro_version, SEGMENT)
        );
        let mut seen = BTreeSet::new();
        loop {
            let (headers, items): (_, Vec<PackageFragment>) = self.get_json(&url).await?;
            if let Some(found) = items
                .into_iter()
                .find(|f| f.filename == key.filename && f.distro_version == key.distro_version)
            {
                return Ok(Some(target_package(key.clone(), found)));
            }
            let Some(next) = next_link(&parse_link_header(&headers)) else {
                return Ok(None);
            };
            if !seen.insert(next.clone()) {
                return Err(self.incomplete(format!(
                    "the search `next` link `{}` repeats",
                    ShownUrl::new(&next)
                )));
            }
            url = self.same_origin(&next)?;
        }
    }

    /// The md5 of a stored package, from its details (listings do not carry it).
    pub async fn read_md5(
        &self,
        package: &TargetPackage,
    ) -> Result<Option<String>, PackagecloudError> {
        let Some(path) = &package.details_path else {
            return Ok(None);
        };
        // A site-relative path only, so the token never goes to another host.
        if !path.starts_with('/') || path.starts_with("//") {
            return Err(PackagecloudError::Malformed {
                url: ShownUrl::new(&self.base),
                message: format!(
                    "`package_url` of `{}` is not a path on this host",
                    package.key
                ),
            });
        }
        let url = format!("{}{path}", self.base);
        let (_, details): (_, PackageDetails) = self.get_json(&url).await?;
        Ok(details.md5sum.map(|m| m.to_ascii_lowercase()))
    }

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

    async fn after_rejection(
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

    fn compare_stored(
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

    pub async fn delete(&self, key: &ArtifactKey) -> Result<DeleteOutcome, PackagecloudError> {
        let url = self.repo_url(&format!(
            "/{}/{}",
            key.distro_version
                .split('/')
                .map(|s| utf8_percent_encode(s, SEGMENT).to_string())
                .collect::<Vec<_>>()
                .join("/"),
            utf8_percent_encode(&key.filename, SEGMENT)
        ));
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

/// Both wordings Packagecloud has used for "this file is already there".
pub fn is_duplicate(message: &str) -> bool {
    message.contains("already been taken") || message.contains("already exists")
}

fn target_package(key: ArtifactKey, fragment: PackageFragment) -> TargetPackage {
    TargetPackage {
        key,
        package_type: fragment.package_type.unwrap_or_default(),
        sha256: fragment.sha256sum.map(|s| s.to_ascii_lowercase()),
        md5: None,
        details_path: fragment.package_url,
    }
}

fn next_link(links: &[(String, String)]) -> Option<String> {
    links
        .iter()
        .find(|(rel, _)| rel == "next")
        .map(|(_, url)| url.clone())
}

fn header_number(headers: &HeaderMap, name: &str) -> Option<usize> {
    headers.get(name)?.to_str().ok()?.trim().parse().ok()
}

/// `<url>; rel="next", <url>; rel="last"` → `[("next", url), ("last", url)]`.
pub fn parse_link_header(headers: &HeaderMap) -> Vec<(String, String)> {
    let mut links = Vec::new();
    for value in headers.get_all(reqwest::header::LINK) {
        let Ok(value) = value.to_str() else { continue };
        for item in value.split(',') {
            let mut parts = item.split(';');
            let Some(url) = parts
                .next()
                .map(str::trim)
                .and_then(|u| u.strip_prefix('<')?.strip_suffix('>'))
            else {
                continue;
            };
            for param in parts {
                if let Some(rel) = param.trim().strip_prefix("rel=") {
                    links.push((rel.trim_matches('"').to_string(), url.to_string()));
                }
            }
        }
    }
    links
}

/// Page `page` of a listing: from the `last` link when there is one (it carries
/// the server's own parameters), else from the first request's URL.
fn page_url(template: Option<&str>, first: &str, page: usize, per_page: usize) -> String {
    let base = template.unwrap_or(first);
    let Ok(mut url) = url::Url::parse(base) else {
        return format!("{first}&page={page}");
    };
    let pairs: Vec<(String, String)> = url
        .query_pairs()
        .filter(|(k, _)| k != "page" && k != "per_page")
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    url.query_pairs_mut()
        .clear()
        .extend_pairs(pairs)
        .append_pair("page", &page.to_string())
        .append_pair("per_page", &per_page.to_string());
    // The template may come from the server; only its path and query are used.
    match (url::Url::parse(first), template) {
        (Ok(mut own), Some(_)) => {
            own.set_path(url.path());
            own.set_query(url.query());
            own.to_string()
        }
        _ => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_documented_link_header() {
        let mut headers = HeaderMap::new();
        headers.insert(
            reqwest::header::LINK,
            "<https://packagecloud.io/api/v1/repos/julio/test/packages.json?page=5>; rel=\"last\", <https://packagecloud.io/api/v1/repos/julio/test/packages.json?page=2>; rel=\"next\""
                .parse()
                .unwrap(),
        );
        let links = parse_link_header(&headers);
        assert_eq!(links[0].0, "last");
        assert!(links[0].1.ends_with("page=5"));
        assert_eq!(links[1].0, "next");
    }

    #[test]
    fn page_urls_keep_our_host() {
        let url = page_url(
            Some("https://evil.example/api/v1/repos/u/r/packages.json?page=9&per_page=250"),
            "http://127.0.0.1:1/api/v1/repos/u/r/packages.json?per_page=250",
            3,
            250,
        );
        assert_eq!(
            url,
            "http://127.0.0.1:1/api/v1/repos/u/r/packages.json?page=3&per_page=250"
        );
    }

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
