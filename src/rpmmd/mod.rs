//! Published rpm-md repositories as a source (`rpm-md:` in the config): the
//! repository's `repodata/repomd.xml` names its `primary` data, which lists
//! every rpm with its location, size and sha256. Given only a base URL, that is
//! everything a plan needs: a sha256 for every file (the checksum Packagecloud
//! lists too), anonymous reads, and two requests per repository.
//!
//! The primary file is checked against repomd's size and sha256 before it is
//! parsed, then read as a stream. A repository is complete by construction (its
//! metadata lists everything it serves), so its `distro/version` is in the scope
//! of deletes; the arches it lists are the arches it covers.

pub mod primary;
pub mod repomd;

use crate::config::{Config, RpmMdRepository};
use crate::display::{ShownUrl, chain};
use crate::http::{Auth, HttpClient};
use crate::metadata::{self, Expected};
use crate::model::{
    ArtifactKey, Coverage, IndexRead, Provenance, RpmMdFile, SourceArtifact, SourceInventory,
};
use crate::plan::SourceExpectation;
use crate::source::{Rechecked, admits_published, recheck_published};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;

#[derive(Debug, thiserror::Error)]
#[error("rpm-md repository `{repository}`: `{file}`: {detail}")]
pub struct RpmMdError {
    repository: String,
    file: String,
    detail: String,
}

/// The configured rpm-md repositories.
pub struct RpmMdSource {
    http: HttpClient,
    repositories: Vec<RpmMdRepository>,
    source_packages: bool,
    debug_packages: bool,
}

/// What one read of a repository found: its packages.
pub struct Listing {
    packages: Vec<primary::Package>,
    read: IndexRead,
}

impl RpmMdSource {
    pub fn new(config: &Config, http: HttpClient) -> Self {
        Self {
            http,
            repositories: config.rpm_md.clone(),
            source_packages: config.filters.source_packages,
            debug_packages: config.filters.debug_packages,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.repositories.is_empty()
    }

    /// Every repository's packages, completely, or an error.
    pub async fn fetch(&self) -> Result<Vec<Listing>, RpmMdError> {
        futures::future::try_join_all(self.repositories.iter().map(|r| self.read(r))).await
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
            let coverage = inventory
                .coverage
                .entry(distro_version.clone())
                .or_insert_with(Coverage::default);
            for package in listing.packages {
                coverage.archs.insert(package.arch.clone());
                let Some(artifact) = self.artifact(repository, &distro_version, package)? else {
                    continue;
                };
                if let Some(first) = inventory.artifacts.get(&artifact.key) {
                    return Err(error(
                        repository,
                        "primary",
                        format!(
                            "`{}` is listed twice (`{}` and `{}`)",
                            artifact.key, first.provenance, artifact.provenance
                        ),
                    ));
                }
                inventory.artifacts.insert(artifact.key.clone(), artifact);
            }
        }
        Ok(inventory)
    }

    /// The artifact of one listed package, or `None` for one not synced.
    fn artifact(
        &self,
        repository: &RpmMdRepository,
        distro_version: &str,
        package: primary::Package,
    ) -> Result<Option<SourceArtifact>, RpmMdError> {
        let filename = package.canonical_filename();
        if !crate::model::is_safe_filename(&filename) || package.href.contains("..") {
            return Err(error(
                repository,
                "primary",
                format!("unsafe package name or location {:?}", package.href),
            ));
        }
        let Some(package_type) =
            crate::model::synced_as(&filename, self.source_packages, self.debug_packages)
        else {
            return Ok(None);
        };
        if package.checksum.0 != "sha256" {
            return Err(error(
                repository,
                "primary",
                format!(
                    "`{filename}` is listed with a {} checksum only; pkgsync verifies by sha256",
                    package.checksum.0
                ),
            ));
        }
        Ok(Some(SourceArtifact {
            key: ArtifactKey::new(distro_version, filename),
            package_type,
            provenance: Provenance::RpmMd(RpmMdFile {
                repository_url: repository.url.clone(),
                location: package.href,
                location_base: package.base,
            }),
            size: Some(package.size),
            md5: None,
            sha256: Some(package.checksum.1),
        }))
    }

    /// repomd.xml, then the primary it names, verified and parsed.
    async fn read(&self, repository: &RpmMdRepository) -> Result<Listing, RpmMdError> {
        let repomd_url = format!("{}/repodata/repomd.xml", repository.url);
        let (_, text) = self
            .http
            .get_text(&repomd_url, &Auth::None)
            .await
            .map_err(|e| error(repository, "repodata/repomd.xml", chain(&e)))?;
        if let Some(keyring) = &repository.signed_by {
            let (_, signature) = self
                .http
                .get_text(&format!("{repomd_url}.asc"), &Auth::None)
                .await
                .map_err(|e| error(repository, "repodata/repomd.xml.asc", chain(&e)))?;
            keyring
                .verify_detached(text.as_bytes(), signature.as_bytes())
                .map_err(|e| error(repository, "repodata/repomd.xml.asc", e))?;
        }
        let index = repomd::parse(&text)
            .map_err(|e| error(repository, "repodata/repomd.xml", e.to_string()))?;
        let primary = &index.primary;
        if primary.checksum.0 != "sha256" {
            return Err(error(
                repository,
                &primary.href,
                format!(
                    "repomd.xml gives a {} checksum; pkgsync verifies by sha256",
                    primary.checksum.0
                ),
            ));
        }
        let base = primary.base.as_deref().unwrap_or(&repository.url);
        let url = format!("{}/{}", base.trim_end_matches('/'), primary.href);
        let expected = Expected {
            size: primary.size,
            sha256: Some(primary.checksum.1.clone()),
        };
        let fetched = metadata::fetch(&self.http, &url, &Auth::None, &primary.href, &expected)
            .await
            .map_err(|e| error(repository, &primary.href, chain(&e)))?;
        let limit = self.http.limits.max_metadata_bytes;
        let limit = primary.open_size.map_or(limit, |s| s.min(limit).max(1));
        let href = primary.href.clone();
        let parsed = tokio::task::spawn_blocking(move || {
            let input = fetched.open(limit).map_err(|e| chain(&e))?;
            let mut packages = Vec::new();
            primary::read(input, |p| {
                packages.push(p);
                Ok(())
            })
            .map_err(|e| chain(&e))?;
            Ok::<_, String>(packages)
        })
        .await
        .expect("parsing does not panic");
        let packages = parsed.map_err(|detail| error(repository, &href, detail))?;
        Ok(Listing {
            packages,
            read: IndexRead {
                url: repomd_url,
                digest: format!("sha256:{}", hex::encode(Sha256::digest(text.as_bytes()))),
                revision: index.revision,
            },
        })
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

    /// Each planned file as the repository lists it now: the same location
    /// with the same size and sha256, else it moved.
    pub async fn recheck(&self, planned: &[&SourceExpectation]) -> Result<Rechecked, RpmMdError> {
        let mut rechecked = Rechecked::default();
        let mut now: BTreeMap<(String, String), (u64, String)> = BTreeMap::new();
        for repository in &self.repositories {
            let wanted = planned.iter().any(|e| {
                matches!(&e.provenance, Provenance::RpmMd(f) if f.repository_url == repository.url)
            });
            if !wanted {
                continue;
            }
            for package in self.read(repository).await?.packages {
                now.insert(
                    (repository.url.clone(), package.href.clone()),
                    (package.size, package.checksum.1),
                );
            }
        }
        for expect in planned {
            let Provenance::RpmMd(file) = &expect.provenance else {
                continue;
            };
            let listed = now.get(&(file.repository_url.clone(), file.location.clone()));
            let recheck = recheck_published(&file.url(), expect, listed);
            rechecked.0.insert(expect.provenance.clone(), recheck);
        }
        Ok(rechecked)
    }
}

fn error(repository: &RpmMdRepository, file: &str, detail: String) -> RpmMdError {
    RpmMdError {
        repository: ShownUrl::new(&repository.url).to_string(),
        file: crate::display::text(file).into_owned(),
        detail,
    }
}
