//! Published rpm-md repositories as a source (`rpm-md:` in the config): the
//! repository's `repodata/repomd.xml` names its `primary` data, which lists
//! every rpm with its location, size and sha256. Given only a base URL, that is
//! everything a plan needs: a sha256 for every file (the checksum Packagecloud
//! lists too), anonymous reads, and two requests per repository.
//!
//! The primary file is checked against repomd's size and sha256 before it is
//! parsed, then read as a stream (`read.rs`). A repository is complete by
//! construction (its metadata lists everything it serves), so its
//! `distro/version` is in the scope of deletes; the arches it lists are the
//! arches it covers.
//!
//! A repository on disk (a compose tree: a path or `file://` URL) is resolved
//! once per read; the plan records the resolved directory, and at apply the
//! files are read from it, so a `latest-*` link switched to another compose
//! makes the plan stale rather than mixing two composes.

mod hosts;
pub mod primary;
mod read;
pub mod repomd;

pub use read::{Listing, Located, read_repository, synced};

use crate::config::{Config, RpmMdRepository};
use crate::display::ShownUrl;
use crate::http::HttpClient;
use crate::model::{ArtifactKey, Provenance, RpmMdFile, SourceArtifact, SourceInventory};
use crate::plan::SourceExpectation;
use crate::source::{
    PackageFilter, Recheck, Rechecked, add_listed, admits_published, recheck_published,
};
use std::collections::{BTreeMap, BTreeSet};

#[derive(Debug, thiserror::Error)]
#[error("rpm-md repository `{repository}`{}: {detail}", in_file(file))]
pub struct RpmMdError {
    repository: String,
    file: String,
    detail: String,
}

/// `: `<file>`` for an error in one of the repository's files; nothing for
/// one about the repository as a whole (its path cannot be resolved).
fn in_file(file: &str) -> String {
    match file {
        "" => String::new(),
        file => format!(": `{file}`"),
    }
}

impl RpmMdError {
    pub fn new(repository: &str, file: &str, detail: String) -> Self {
        Self {
            repository: ShownUrl::new(repository).to_string(),
            file: crate::display::text(file).into_owned(),
            detail,
        }
    }
}

/// The configured rpm-md repositories.
pub struct RpmMdSource {
    http: HttpClient,
    repositories: Vec<RpmMdRepository>,
    source_packages: bool,
    debug_packages: bool,
    filter: PackageFilter,
}

impl RpmMdSource {
    pub fn new(config: &Config, http: HttpClient) -> Self {
        Self {
            http,
            repositories: config.rpm_md.clone(),
            source_packages: config.filters.source_packages,
            debug_packages: config.filters.debug_packages,
            filter: PackageFilter::new(&config.filters),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.repositories.is_empty()
    }

    /// Every repository's packages, completely, or each repository's error. Every link is
    /// resolved before anything is read, so repositories below one `latest-*`
    /// link are all read from the compose it named then, even if it moves
    /// during the reads.
    pub async fn fetch(&self) -> Result<Vec<Listing>, Vec<RpmMdError>> {
        let resolved = crate::source::all_or_every_error(
            self.repositories.iter().map(|r| read::resolve(&r.url)),
        )?;
        let reads = self.repositories.iter().zip(resolved).map(|(r, dir)| {
            read::read_below(
                &self.http,
                &r.url,
                dir,
                r.signed_by.as_ref(),
                &r.allow_hosts,
            )
        });
        crate::source::read_all(reads).await
    }

    /// The inventory of fetched listings, each repository's `distro/version`
    /// named by `canonical`.
    pub fn inventory(
        &self,
        listings: Vec<Listing>,
        canonical: &dyn Fn(&str) -> String,
    ) -> Result<SourceInventory, RpmMdError> {
        let mut inventory = SourceInventory::default();
        for (repository, listing) in self.repositories.iter().zip(listings) {
            inventory.read.push(listing.read);
            let distro_version = canonical(&repository.distro_version);
            let mut archs = BTreeSet::new();
            for package in listing.packages {
                if !self.filter.admits_arch(&package.arch) {
                    continue;
                }
                archs.insert(package.arch.clone());
                if !self.filter.admits(&package.name, &package.arch) {
                    continue;
                }
                let Some(artifact) =
                    self.artifact(repository, &listing.resolved, &distro_version, package)?
                else {
                    continue;
                };
                add_listed(&mut inventory, artifact)
                    .map_err(|detail| error(repository, "primary", detail))?;
            }
            let coverage = inventory.coverage.entry(distro_version).or_default();
            coverage.archs.extend(archs);
        }
        Ok(inventory)
    }

    /// The artifact of one listed package, or `None` for one not synced.
    fn artifact(
        &self,
        repository: &RpmMdRepository,
        resolved: &str,
        distro_version: &str,
        package: primary::Package,
    ) -> Result<Option<SourceArtifact>, RpmMdError> {
        let Some((filename, package_type, checksum)) =
            synced(&package, self.source_packages, self.debug_packages)
                .map_err(|detail| error(repository, "primary", detail))?
        else {
            return Ok(None);
        };
        let artifact = SourceArtifact {
            key: ArtifactKey::new(distro_version, filename),
            package_type,
            provenance: Provenance::RpmMd(RpmMdFile {
                repository_url: repository.url.clone(),
                location: package.href,
                location_base: package.base,
                resolved: (resolved != repository.url).then(|| resolved.to_string()),
            }),
            size: Some(package.size),
            md5: None,
            sha256: None,
            sha1: None,
            sha512: None,
        };
        Ok(Some(artifact.with_checksum(checksum)))
    }

    async fn read(&self, repository: &RpmMdRepository) -> Result<Listing, RpmMdError> {
        read_repository(
            &self.http,
            &repository.url,
            repository.signed_by.as_ref(),
            &repository.allow_hosts,
        )
        .await
    }

    pub fn has_repository(&self, url: &str) -> bool {
        self.repositories.iter().any(|r| r.url == url)
    }

    /// The repository is configured and goes to `key`'s `distro/version`.
    pub fn admits(
        &self,
        file: &RpmMdFile,
        key: &ArtifactKey,
        canonical: &dyn Fn(&str) -> String,
    ) -> Result<(), String> {
        let configured = self
            .repositories
            .iter()
            .find(|r| r.url == file.repository_url);
        admits_published(
            "rpm-md repository",
            &file.repository_url,
            configured.map(|r| r.distro_version.as_str()),
            key,
            canonical,
        )
    }

    /// Each planned file as the repository lists it now: read from the same
    /// directory (a local repository must resolve as it did), at the same
    /// location with the same size and sha256, else it moved.
    pub async fn recheck(&self, planned: &[&SourceExpectation]) -> Result<Rechecked, RpmMdError> {
        let mut rechecked = Rechecked::default();
        let mut now: BTreeMap<&str, Located> = BTreeMap::new();
        for repository in &self.repositories {
            let wanted = planned.iter().any(|e| {
                matches!(&e.provenance, Provenance::RpmMd(f) if f.repository_url == repository.url)
            });
            if wanted {
                let listing = self.read(repository).await?;
                rechecked.1.push(listing.read.clone());
                now.insert(&repository.url, listing.located());
            }
        }
        for expect in planned {
            let Provenance::RpmMd(file) = &expect.provenance else {
                continue;
            };
            let recheck = match now.get(file.repository_url.as_str()) {
                Some(listing) => recheck_file(file, expect, listing),
                None => Err(format!("`{}` is not configured", file.repository_url)),
            };
            rechecked.0.insert(expect.provenance.clone(), recheck);
        }
        Ok(rechecked)
    }
}

/// One planned file against its repository as read now.
fn recheck_file(file: &RpmMdFile, expect: &SourceExpectation, now: &Located) -> Recheck {
    let planned_dir = file.resolved.as_deref().unwrap_or(&file.repository_url);
    if planned_dir != now.resolved {
        return Err(format!(
            "`{}` resolves to `{}` now; the plan was made from `{planned_dir}`",
            file.repository_url, now.resolved
        ));
    }
    // Looked up with the planned base too: a plan edited to fetch from
    // elsewhere finds nothing.
    let at = (file.location.clone(), file.location_base.clone());
    recheck_published(&file.url(), expect, now.files.get(&at))
}

fn error(repository: &RpmMdRepository, file: &str, detail: String) -> RpmMdError {
    RpmMdError::new(&repository.url, file, detail)
}
