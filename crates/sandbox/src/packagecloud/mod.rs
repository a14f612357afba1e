//! The Packagecloud API v1 emulator: the handle tests use to start and change
//! it, and its seed. What it stores is in `state`, request handling in
//! `routes`, the JSON views in `views`, distribution ids in `distributions`.

mod distributions;
mod routes;
mod state;
mod views;

pub use distributions::DistroVersion;

use super::faults::{Flavor, lock};
use super::server::{self, Endpoint};
use anyhow::Context;
use axum::body::Bytes;
use distributions::Distributions;
use pkgfile::PackageType;
use pkgfile::read_identity_from_bytes;
use state::{Change, ListingChange, PcState};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Which 422 body a duplicate upload gets.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum DuplicateWording {
    /// `{"filename":["has already been taken"]}`
    #[default]
    FilenameTaken,
    /// `{"repository":["Validation failed: Full name already exists."]}`
    FullNameExists,
}

/// What the Packagecloud emulator starts with.
#[derive(Debug, Clone, Default)]
pub struct PackagecloudSeed {
    /// The API token; `None` turns authentication off.
    pub token: Option<String>,
    /// Repositories `user/repo` that exist (also created by `packages`).
    pub repos: Vec<String>,
    /// `(user/repo, distro/version, package bytes)`, stored in this order.
    pub packages: Vec<(String, String, Bytes)>,
    pub duplicate_wording: DuplicateWording,
}

impl PackagecloudSeed {
    pub fn repo(&mut self, repo: &str) -> &mut Self {
        if !self.repos.iter().any(|r| r == repo) {
            self.repos.push(repo.to_string());
        }
        self
    }

    pub fn package(
        &mut self,
        repo: &str,
        distro_version: &str,
        bytes: impl Into<Bytes>,
    ) -> &mut Self {
        self.repo(repo);
        self.packages
            .push((repo.to_string(), distro_version.to_string(), bytes.into()));
        self
    }
}

/// What tests see of a stored package.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredPackageView {
    pub distro_version: String,
    pub filename: String,
    pub sha256: String,
    pub size: u64,
    pub package_type: PackageType,
    /// Creation sequence number (also the package id); increases with each store.
    pub created_order: u64,
    /// Downloads since it was stored, or promoted into this repository.
    pub downloads: u64,
}

#[derive(Debug)]
pub(crate) struct PcShared {
    pub(crate) state: Mutex<PcState>,
    pub(crate) distributions: Distributions,
    /// Our own base URL, for `Link` headers and `download_url`.
    pub(crate) base_url: String,
}

/// A running Packagecloud emulator.
#[derive(Debug)]
pub struct PackagecloudEmulator {
    shared: Arc<PcShared>,
    endpoint: Endpoint,
}

impl PackagecloudEmulator {
    /// Starts the emulator on an ephemeral loopback port; seeded packages are
    /// parsed and stored as uploads would be (an unreadable one is an error).
    pub async fn start(seed: PackagecloudSeed) -> anyhow::Result<Self> {
        let distributions = Distributions::load().context("loading the distributions table")?;
        let state = PcState::seeded(seed, &distributions)?;
        let (listener, base_url) = server::bind().await?;
        let shared = Arc::new(PcShared {
            state: Mutex::new(state),
            distributions,
            base_url: base_url.clone(),
        });
        let router = routes::router(shared.clone());
        let endpoint = Endpoint::serve(listener, base_url, router, Flavor::Packagecloud);
        Ok(Self { shared, endpoint })
    }

    server::endpoint_controls!();

    /// The packages of `user/repo`, oldest first.
    pub fn packages(&self, repo: &str) -> Vec<StoredPackageView> {
        lock(&self.shared.state)
            .repos
            .get(repo)
            .map(|packages| {
                packages
                    .iter()
                    .map(|p| StoredPackageView {
                        distro_version: p.distro_version.clone(),
                        filename: p.filename.clone(),
                        sha256: p.sha256.clone(),
                        size: p.bytes.len() as u64,
                        package_type: p.identity.package_type,
                        created_order: p.id,
                        downloads: p.downloads,
                    })
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The stored bytes of one package.
    pub fn package_bytes(&self, repo: &str, distro_version: &str, filename: &str) -> Option<Bytes> {
        lock(&self.shared.state)
            .repos
            .get(repo)
            .and_then(|packages| {
                packages
                    .iter()
                    .find(|p| p.distro_version == distro_version && p.filename == filename)
                    .map(|p| p.bytes.clone())
            })
    }

    /// Stores a package as an upload would (without counting as an upload);
    /// returns the canonical filename.
    pub fn insert_package(
        &self,
        repo: &str,
        distro_version: &str,
        bytes: impl Into<Bytes>,
    ) -> anyhow::Result<String> {
        let id = self
            .shared
            .distributions
            .id_of(distro_version)
            .with_context(|| format!("unknown distro `{distro_version}`"))?;
        lock(&self.shared.state)
            .store(&self.shared.distributions, repo, id, bytes.into(), None)
            .map(|p| p.filename)
            .map_err(|e| anyhow::anyhow!("cannot store in {repo} {distro_version}: {e:?}"))
    }

    /// Stores a package (as [`Self::insert_package`] does) just before the listing
    /// of `repo` (`packages.json`, not search) serves page `page`, once: the
    /// collection grows while a client pages through it.
    pub fn insert_before_page(
        &self,
        repo: &str,
        page: usize,
        distro_version: &str,
        bytes: impl Into<Bytes>,
    ) -> anyhow::Result<()> {
        let bytes = bytes.into();
        read_identity_from_bytes(&bytes, None).context("the package to insert")?;
        self.shared
            .distributions
            .id_of(distro_version)
            .with_context(|| format!("unknown distro `{distro_version}`"))?;
        self.schedule(repo, page, distro_version, Change::Insert(bytes));
        Ok(())
    }

    /// Removes a package just before the listing of `repo` serves page `page`,
    /// once: the collection shrinks (and later pages shift) while a client pages.
    pub fn remove_before_page(
        &self,
        repo: &str,
        page: usize,
        distro_version: &str,
        filename: &str,
    ) {
        self.schedule(
            repo,
            page,
            distro_version,
            Change::Remove {
                filename: filename.to_string(),
            },
        );
    }

    fn schedule(&self, repo: &str, page: usize, distro_version: &str, what: Change) {
        lock(&self.shared.state)
            .listing_changes
            .push(ListingChange {
                repo: repo.to_string(),
                page,
                distro_version: distro_version.to_string(),
                what,
            });
    }

    /// `false` leaves the count headers (`Total`, `Per-Page`, `Max-Per-Page`) out
    /// of listings, so only the `Link` header tells a client about more pages.
    pub fn set_count_headers(&self, send: bool) {
        lock(&self.shared.state).count_headers = send;
    }

    /// `false` leaves the `Link` header out of listings; with
    /// [`Self::set_count_headers`]`(false)` a listing carries no pagination at all.
    pub fn set_link_headers(&self, send: bool) {
        lock(&self.shared.state).link_headers = send;
    }

    /// Gives a stored package another filename, as a name written by another
    /// tool (or crafted to fool a reviewer) would look; true if it was there.
    pub fn rename_package(&self, repo: &str, distro_version: &str, from: &str, to: &str) -> bool {
        let mut state = lock(&self.shared.state);
        let Some(package) = state.repos.get_mut(repo).and_then(|packages| {
            packages
                .iter_mut()
                .find(|p| p.distro_version == distro_version && p.filename == from)
        }) else {
            return false;
        };
        package.filename = to.to_string();
        true
    }

    /// Removes a package; true if it was there.
    pub fn remove_package(&self, repo: &str, distro_version: &str, filename: &str) -> bool {
        let mut state = lock(&self.shared.state);
        let Some(packages) = state.repos.get_mut(repo) else {
            return false;
        };
        let before = packages.len();
        packages.retain(|p| !(p.distro_version == distro_version && p.filename == filename));
        packages.len() != before
    }

    /// Creates an empty repository `user/repo` (no-op if it exists).
    pub fn create_repo(&self, repo: &str) {
        lock(&self.shared.state)
            .repos
            .entry(repo.to_string())
            .or_default();
    }

    /// A private repository's downloads need the token (a 401 without it).
    pub fn set_private(&self, repo: &str, private: bool) {
        let mut state = lock(&self.shared.state);
        if private {
            state.private.insert(repo.to_string());
        } else {
            state.private.remove(repo);
        }
    }

    /// Packages' `download_url`s point below `base` (another server, as
    /// Packagecloud's point to its CDN); `None`: to the emulator itself.
    pub fn set_download_base(&self, base: Option<&str>) {
        lock(&self.shared.state).download_base = base.map(str::to_string);
    }

    /// Promote calls that moved a package.
    pub fn promotions(&self) -> u64 {
        lock(&self.shared.state).promotions
    }

    pub fn set_duplicate_wording(&self, wording: DuplicateWording) {
        lock(&self.shared.state).duplicate_wording = wording;
    }

    /// `None` turns authentication off.
    pub fn set_token(&self, token: Option<String>) {
        lock(&self.shared.state).token = token;
    }

    /// How long a fresh upload lists as `indexed: false` (default: zero).
    pub fn set_index_delay(&self, delay: Duration) {
        lock(&self.shared.state).index_delay = delay;
    }

    /// Upload requests that reached the upload handler (valid or not).
    pub fn upload_attempts(&self) -> u64 {
        lock(&self.shared.state).upload_attempts
    }

    /// Uploads that stored a package (including "stored, then answered 500").
    pub fn uploads_stored(&self) -> u64 {
        lock(&self.shared.state).uploads_stored
    }

    /// The id of `distro/version` (rpm and deb distros), as a client would map it.
    pub fn distro_version_id(&self, distro_version: &str) -> Option<u64> {
        self.shared.distributions.id_of(distro_version)
    }
}
