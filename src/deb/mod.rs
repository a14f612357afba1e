//! Published Debian archives as a source (`deb:` in the config): `InRelease`
//! (else `Release`) lists the `Packages` indexes with their size and sha256;
//! each index lists every deb with its `Filename`, `Size` and `SHA256`.
//!
//! Two layouts: a flat repository (`deb URL /`, as OBS publishes: `Release` and
//! `Packages` beside the files), or a suite (`deb URL jammy main`:
//! `dists/<suite>/Release`, `<component>/binary-<arch>/Packages`, files below the
//! archive root). Of the compressions the Release lists, xz is preferred, then
//! gzip, then none; the index is checked against the Release before it is
//! parsed, as a stream. Like rpm-md, an archive is complete by construction.

mod packages;
mod release;
mod stanza;

use crate::checksum::Checksum;
use crate::config::{Config, DebRepository};
use crate::display::{ShownUrl, chain};
use crate::http::{Auth, HttpClient};
use crate::metadata::{self, Expected};
use crate::model::{
    ArtifactKey, Coverage, DebFile, IndexRead, Provenance, SourceArtifact, SourceInventory,
};
use crate::plan::SourceExpectation;
use crate::source::{Rechecked, admits_published, recheck_published};
use packages::DebPackage;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;

#[derive(Debug, thiserror::Error)]
#[error("Debian archive `{archive}`: `{file}`: {detail}")]
pub struct DebError {
    archive: String,
    file: String,
    detail: String,
}

/// The configured Debian archives.
pub struct DebSource {
    http: HttpClient,
    repositories: Vec<DebRepository>,
    debug_packages: bool,
}

/// What one read of an archive found.
pub struct Listing {
    packages: Vec<DebPackage>,
    read: IndexRead,
}

/// Index files are tried in this order, as the Release lists them.
const COMPRESSIONS: [&str; 3] = [".xz", ".gz", ""];

impl DebSource {
    pub fn new(config: &Config, http: HttpClient) -> Self {
        Self {
            http,
            repositories: config.deb.clone(),
            debug_packages: config.filters.debug_packages,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.repositories.is_empty()
    }

    pub fn has_repository(&self, url: &str) -> bool {
        self.repositories.iter().any(|r| r.url == url)
    }

    /// Every archive's packages, completely, or each archive's error.
    pub async fn fetch(&self) -> Result<Vec<Listing>, Vec<DebError>> {
        crate::source::read_all(self.repositories.iter().map(|r| self.read(r))).await
    }

    /// The inventory of fetched listings, each archive's `distro/version` named
    /// by `canonical`. Several versions of one package are several files.
    pub fn inventory(
        &self,
        listings: Vec<Listing>,
        canonical: &dyn Fn(&str) -> String,
    ) -> Result<SourceInventory, DebError> {
        let mut inventory = SourceInventory::default();
        for (repository, listing) in self.repositories.iter().zip(listings) {
            inventory.read.push(listing.read);
            let distro_version = canonical(&repository.distro_version);
            let coverage = inventory
                .coverage
                .entry(distro_version.clone())
                .or_insert_with(Coverage::default);
            for package in listing.packages {
                coverage.archs.insert(package.architecture.clone());
                let Some(artifact) = self.artifact(repository, &distro_version, package)? else {
                    continue;
                };
                if let Some(first) = inventory.artifacts.get(&artifact.key) {
                    if first.sha256 == artifact.sha256 {
                        continue; // listed in two indexes (an `all` package): one file
                    }
                    return Err(error(
                        repository,
                        "Packages",
                        format!(
                            "`{}` is listed twice with different content (`{}` and `{}`)",
                            artifact.key, first.provenance, artifact.provenance
                        ),
                    ));
                }
                inventory.artifacts.insert(artifact.key.clone(), artifact);
            }
        }
        Ok(inventory)
    }

    fn artifact(
        &self,
        repository: &DebRepository,
        distro_version: &str,
        package: DebPackage,
    ) -> Result<Option<SourceArtifact>, DebError> {
        let filename = package.canonical_filename();
        let path = package.filename.trim_start_matches("./").to_string();
        let unsafe_path =
            crate::source::unsafe_location(&path) || path.split('/').any(str::is_empty);
        if !crate::model::is_safe_filename(&filename) || unsafe_path {
            return Err(error(
                repository,
                "Packages",
                format!("unsafe package name or file name {:?}", package.filename),
            ));
        }
        let Some(package_type) = crate::model::synced_as(&filename, false, self.debug_packages)
        else {
            return Ok(None);
        };
        Ok(Some(SourceArtifact {
            key: ArtifactKey::new(distro_version, filename),
            package_type,
            provenance: Provenance::Deb(DebFile {
                archive: repository.url.clone(),
                path,
            }),
            size: Some(package.size),
            md5: None,
            sha256: Some(package.sha256),
            sha1: None,
            sha512: None,
        }))
    }

    /// The Release, then every index it lists for this archive.
    async fn read(&self, repository: &DebRepository) -> Result<Listing, DebError> {
        let dir = match &repository.suite {
            None => repository.url.clone(),
            Some(suite) => format!("{}/dists/{suite}", repository.url),
        };
        let (name, raw, text) = self.release_text(repository, &dir).await?;
        let release = release::parse(&text).map_err(|e| error(repository, name, e.to_string()))?;
        let read = IndexRead {
            url: format!("{dir}/{name}"),
            digest: format!("sha256:{}", hex::encode(Sha256::digest(raw.as_bytes()))),
            revision: release.date.clone(),
        };
        let mut packages = Vec::new();
        for index in index_names(repository) {
            let listed = COMPRESSIONS
                .iter()
                .find_map(|suffix| release.file(&format!("{index}{suffix}")));
            let Some(listed) = listed else {
                return Err(error(
                    repository,
                    name,
                    format!("it lists no `{index}` (plain, .gz or .xz)"),
                ));
            };
            packages.extend(self.read_index(repository, &dir, listed).await?);
        }
        Ok(Listing { packages, read })
    }

    /// `InRelease`'s message, else `Release`, with the name it came from and
    /// the file as read; with
    /// `signed_by`, only once its signature verifies (`InRelease`'s own, or
    /// `Release.gpg` beside `Release`).
    async fn release_text(
        &self,
        repository: &DebRepository,
        dir: &str,
    ) -> Result<(&'static str, String, String), DebError> {
        let keyring = repository.signed_by.as_ref();
        let get = |name: &'static str| async move {
            self.http
                .get_text(&format!("{dir}/{name}"), &Auth::None)
                .await
                .map(|(_, text)| text)
        };
        match get("InRelease").await {
            Ok(text) => {
                let message = match keyring {
                    Some(keyring) => keyring.verify_cleartext(&text).map(|(message, _)| message),
                    None => release::clearsigned_message(&text).map_err(|e| e.to_string()),
                }
                .map_err(|e| error(repository, "InRelease", e))?;
                Ok(("InRelease", text, message))
            }
            Err(e) if e.status() == Some(reqwest::StatusCode::NOT_FOUND) => {
                let text = get("Release")
                    .await
                    .map_err(|e| error(repository, "Release", chain(&e)))?;
                if let Some(keyring) = keyring {
                    let signature = get("Release.gpg").await.map_err(|e| {
                        let why = format!("cannot read the signature: {}", e.status_line());
                        error(repository, "Release.gpg", why)
                    })?;
                    keyring
                        .verify_detached(text.as_bytes(), signature.as_bytes())
                        .map_err(|e| error(repository, "Release.gpg", e))?;
                }
                Ok(("Release", text.clone(), text))
            }
            Err(e) => Err(error(repository, "InRelease", chain(&e))),
        }
    }

    async fn read_index(
        &self,
        repository: &DebRepository,
        dir: &str,
        listed: &release::IndexFile,
    ) -> Result<Vec<DebPackage>, DebError> {
        let expected = Expected {
            size: Some(listed.size),
            checksum: Some(Checksum::sha256(&listed.sha256)),
        };
        let url = format!("{dir}/{}", listed.path);
        let fetched = metadata::fetch(&self.http, &url, &Auth::None, &listed.path, &expected)
            .await
            .map_err(|e| error(repository, &listed.path, chain(&e)))?;
        let limit = self.http.limits.max_metadata_bytes;
        let parsed = fetched
            .parse_all(limit, |input, each| packages::read(input, each))
            .await;
        parsed.map_err(|detail| error(repository, &listed.path, detail))
    }

    /// The archive is configured and goes to `key`'s `distro/version`.
    pub fn admits(
        &self,
        file: &DebFile,
        key: &ArtifactKey,
        canonical: &dyn Fn(&str) -> String,
    ) -> Result<(), String> {
        let configured = self.repositories.iter().find(|r| r.url == file.archive);
        admits_published(
            "Debian archive",
            &file.archive,
            configured.map(|r| r.distro_version.as_str()),
            key,
            canonical,
        )
    }

    /// Each planned file as the archive lists it now: the same path with the
    /// same size and sha256, else it moved.
    pub async fn recheck(&self, planned: &[&SourceExpectation]) -> Result<Rechecked, DebError> {
        let mut now: BTreeMap<(String, String), (u64, Checksum)> = BTreeMap::new();
        for repository in &self.repositories {
            let wanted = planned.iter().any(
                |e| matches!(&e.provenance, Provenance::Deb(f) if f.archive == repository.url),
            );
            if !wanted {
                continue;
            }
            for package in self.read(repository).await?.packages {
                let path = package.filename.trim_start_matches("./").to_string();
                now.insert(
                    (repository.url.clone(), path),
                    (package.size, Checksum::sha256(package.sha256)),
                );
            }
        }
        let mut rechecked = Rechecked::default();
        for expect in planned {
            let Provenance::Deb(file) = &expect.provenance else {
                continue;
            };
            let listed = now.get(&(file.archive.clone(), file.path.clone()));
            rechecked.0.insert(
                expect.provenance.clone(),
                recheck_published(&file.url(), expect, listed),
            );
        }
        Ok(rechecked)
    }
}

/// The `Packages` indexes of an archive, without compression suffix.
fn index_names(repository: &DebRepository) -> Vec<String> {
    match &repository.suite {
        None => vec!["Packages".to_string()],
        Some(_) => repository
            .components
            .iter()
            .flat_map(|component| {
                repository
                    .architectures
                    .iter()
                    .map(move |arch| format!("{component}/binary-{arch}/Packages"))
            })
            .collect(),
    }
}

fn error(repository: &DebRepository, file: &str, detail: String) -> DebError {
    DebError {
        archive: ShownUrl::new(&repository.url).to_string(),
        file: crate::display::text(file).into_owned(),
        detail,
    }
}
