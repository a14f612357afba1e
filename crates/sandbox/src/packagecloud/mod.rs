//! The Packagecloud API v1 emulator: repositories of stored packages (bytes kept,
//! checksums computed, canonical names derived from the package headers), the
//! handle tests use to start and change it, and its seed. Request handling is in
//! `routes`, the JSON views in `views`, distribution ids in `distributions`.

mod distributions;
mod routes;
mod views;

pub use distributions::DistroVersion;

use super::faults::{FaultPlan, FaultRule, Flavor, lock};
use super::server::{self, RecordedRequest, RequestLog, RunningServer};
use anyhow::Context;
use axum::body::Bytes;
use distributions::Distributions;
use pkgfile::PackageType;
use pkgfile::{PackageIdentity, read_identity_from_bytes};
use sha2::Digest;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

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

/// One stored file.
#[derive(Debug, Clone)]
pub(crate) struct StoredPackage {
    pub id: u64,
    pub distro_version: String,
    pub distro_version_id: u64,
    pub filename: String,
    pub identity: PackageIdentity,
    pub md5: String,
    pub sha1: String,
    pub sha256: String,
    pub sha512: String,
    pub bytes: Bytes,
    /// When it was stored; `None` for seeded packages (indexed from the start).
    pub uploaded_at: Option<Instant>,
    /// Downloads since it was stored (or promoted here).
    pub downloads: u64,
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
pub(crate) struct PcState {
    pub token: Option<String>,
    pub repos: BTreeMap<String, Vec<StoredPackage>>,
    /// Repositories whose downloads need the token.
    pub private: std::collections::BTreeSet<String>,
    /// Promote calls that moved a package.
    pub promotions: u64,
    pub next_id: u64,
    pub duplicate_wording: DuplicateWording,
    pub index_delay: Duration,
    pub upload_attempts: u64,
    pub uploads_stored: u64,
    /// `false` leaves `Total`, `Per-Page` and `Max-Per-Page` out of listings.
    pub count_headers: bool,
    /// `false` leaves the `Link` header out of listings.
    pub link_headers: bool,
    /// Changes to make when a listing page is requested (tests of paging races).
    pub listing_changes: Vec<ListingChange>,
}

/// A change to a repository, made just before a listing serves a given page, so a
/// test can change the collection deterministically while a client pages through.
#[derive(Debug, Clone)]
pub(crate) struct ListingChange {
    pub repo: String,
    pub page: usize,
    pub distro_version: String,
    pub what: Change,
}

#[derive(Debug, Clone)]
pub(crate) enum Change {
    Insert(Bytes),
    Remove { filename: String },
}

/// Why a package could not be stored; the routes turn these into 422 bodies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum StoreError {
    UnknownDistro,
    WrongType,
    Unreadable(String),
    Duplicate,
}

impl PcState {
    /// Makes the changes due before `page` of the listing of `repo` is served.
    pub(crate) fn apply_listing_changes(
        &mut self,
        distributions: &Distributions,
        repo: &str,
        page: usize,
    ) {
        let (due, later): (Vec<_>, Vec<_>) = std::mem::take(&mut self.listing_changes)
            .into_iter()
            .partition(|c| c.repo == repo && c.page == page);
        self.listing_changes = later;
        for change in due {
            match change.what {
                Change::Insert(bytes) => {
                    if let Some(id) = distributions.id_of(&change.distro_version) {
                        // Validated when the change was scheduled; a duplicate is a no-op.
                        let _ = self.store(distributions, repo, id, bytes, None);
                    }
                }
                Change::Remove { filename } => {
                    if let Some(packages) = self.repos.get_mut(repo) {
                        packages.retain(|p| {
                            !(p.distro_version == change.distro_version && p.filename == filename)
                        });
                    }
                }
            }
        }
    }

    /// Stores `bytes` under the canonical name, like an upload does.
    pub(crate) fn store(
        &mut self,
        distributions: &Distributions,
        repo: &str,
        distro_version_id: u64,
        bytes: Bytes,
        uploaded_at: Option<Instant>,
    ) -> Result<StoredPackage, StoreError> {
        let mut stored = stored_package(distributions, distro_version_id, bytes, uploaded_at)?;
        let packages = self.repos.entry(repo.to_string()).or_default();
        if packages
            .iter()
            .any(|p| p.distro_version == stored.distro_version && p.filename == stored.filename)
        {
            return Err(StoreError::Duplicate);
        }
        self.next_id += 1;
        stored.id = self.next_id;
        packages.push(stored.clone());
        Ok(stored)
    }

    /// Stores a seed's packages; duplicates are found through a set, not by
    /// the scan an upload does, so that seeding 100,000 files stays linear.
    fn seed(
        &mut self,
        distributions: &Distributions,
        packages: Vec<(String, String, Bytes)>,
    ) -> anyhow::Result<()> {
        let mut seeded = std::collections::HashSet::new();
        for (repo, distro_version, bytes) in packages {
            let id = distributions
                .id_of(&distro_version)
                .with_context(|| format!("unknown distro `{distro_version}` in the seed"))?;
            let mut stored = stored_package(distributions, id, bytes, None)
                .map_err(|e| anyhow::anyhow!("seeding {repo} {distro_version}: {e:?}"))?;
            let key = (repo, stored.distro_version.clone(), stored.filename.clone());
            anyhow::ensure!(
                !seeded.contains(&key),
                "seeding {} {}: `{}` twice",
                key.0,
                key.1,
                key.2
            );
            self.next_id += 1;
            stored.id = self.next_id;
            self.repos.entry(key.0.clone()).or_default().push(stored);
            seeded.insert(key);
        }
        Ok(())
    }
}

/// `bytes` as a stored package of distro version `distro_version_id` (its
/// `id` is given when it is added).
fn stored_package(
    distributions: &Distributions,
    distro_version_id: u64,
    bytes: Bytes,
    uploaded_at: Option<Instant>,
) -> Result<StoredPackage, StoreError> {
    let distro = distributions
        .by_id(distro_version_id)
        .ok_or(StoreError::UnknownDistro)?;
    let identity = read_identity_from_bytes(&bytes, None)
        .map_err(|e| StoreError::Unreadable(e.to_string()))?;
    if !distro.types.contains(identity.package_type.as_str()) {
        return Err(StoreError::WrongType);
    }
    Ok(StoredPackage {
        id: 0,
        distro_version: distro.name.clone(),
        distro_version_id,
        filename: identity.canonical_filename(),
        identity,
        md5: hex::encode(md5::Md5::digest(&bytes)),
        sha1: hex::encode(sha1::Sha1::digest(&bytes)),
        sha256: hex::encode(sha2::Sha256::digest(&bytes)),
        sha512: hex::encode(sha2::Sha512::digest(&bytes)),
        bytes,
        uploaded_at,
        downloads: 0,
    })
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
    log: RequestLog,
    faults: FaultPlan,
    server: RunningServer,
}

impl PackagecloudEmulator {
    /// Starts the emulator on an ephemeral loopback port; seeded packages are
    /// parsed and stored as uploads would be (an unreadable one is an error).
    pub async fn start(seed: PackagecloudSeed) -> anyhow::Result<Self> {
        let distributions = Distributions::load().context("loading the distributions table")?;
        let mut state = PcState {
            token: seed.token,
            repos: seed.repos.iter().map(|r| (r.clone(), Vec::new())).collect(),
            private: Default::default(),
            promotions: 0,
            next_id: 0,
            duplicate_wording: seed.duplicate_wording,
            index_delay: Duration::ZERO,
            upload_attempts: 0,
            uploads_stored: 0,
            count_headers: true,
            link_headers: true,
            listing_changes: Vec::new(),
        };
        state.seed(&distributions, seed.packages)?;
        let (listener, base_url) = server::bind().await?;
        let shared = Arc::new(PcShared {
            state: Mutex::new(state),
            distributions,
            base_url,
        });
        let log = RequestLog::default();
        let faults = FaultPlan::default();
        let router = server::instrument(
            routes::router(shared.clone()),
            log.clone(),
            faults.clone(),
            Flavor::Packagecloud,
        );
        let server = RunningServer::serve(listener, router);
        Ok(Self {
            shared,
            log,
            faults,
            server,
        })
    }

    /// Base URL, e.g. `http://127.0.0.1:41235` (no trailing slash).
    pub fn url(&self) -> &str {
        &self.shared.base_url
    }

    pub async fn shutdown(self) {
        self.server.shutdown().await;
    }

    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.log.snapshot()
    }

    pub fn clear_requests(&self) {
        self.log.clear();
    }

    /// The most requests handled at once since the last `clear_requests`.
    pub fn max_in_flight(&self) -> usize {
        self.log.max_in_flight()
    }

    pub fn set_faults(&self, rules: Vec<FaultRule>) {
        self.faults.set(rules);
    }

    pub fn clear_faults(&self) {
        self.faults.set(Vec::new());
    }

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
