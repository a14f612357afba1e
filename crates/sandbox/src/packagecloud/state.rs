//! What the Packagecloud emulator holds: repositories of stored packages
//! (bytes kept, checksums computed, canonical names derived from the package
//! headers), its switches, and the changes scheduled for a listing's pages.

use super::distributions::Distributions;
use super::{DuplicateWording, PackagecloudSeed};
use anyhow::Context;
use axum::body::Bytes;
use pkgfile::{PackageIdentity, read_identity_from_bytes};
use sha2::Digest;
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

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

#[derive(Debug)]
pub(crate) struct PcState {
    pub token: Option<String>,
    pub repos: BTreeMap<String, Vec<StoredPackage>>,
    /// Repositories whose downloads need the token.
    pub private: std::collections::BTreeSet<String>,
    /// Where `download_url`s point instead of the emulator (a CDN in a test).
    pub download_base: Option<String>,
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
    /// The state a seed starts with; its packages are stored as uploads
    /// would be (an unreadable one is an error).
    pub(crate) fn seeded(
        seed: PackagecloudSeed,
        distributions: &Distributions,
    ) -> anyhow::Result<Self> {
        let mut state = PcState {
            token: seed.token,
            repos: seed.repos.iter().map(|r| (r.clone(), Vec::new())).collect(),
            private: Default::default(),
            download_base: None,
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
        state.seed(distributions, seed.packages)?;
        Ok(state)
    }

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
