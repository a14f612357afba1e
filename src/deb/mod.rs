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

mod index;
mod packages;
mod release;
mod stanza;

pub use release::date as release_date;

use crate::checksum::Checksum;
use crate::config::{Config, DebRepository};
use crate::display::{ShownUrl, chain};
use crate::http::{Auth, HttpClient};
use crate::model::{ArtifactKey, DebFile, IndexRead, Provenance, SourceArtifact, SourceInventory};
use crate::plan::SourceExpectation;
use crate::source::{PackageFilter, Rechecked, add_listed, admits_published, recheck_published};
use packages::DebPackage;
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, BTreeSet};

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
    filter: PackageFilter,
    /// The time a Release's `Valid-Until` and `Date` are judged at.
    now: std::time::SystemTime,
}

/// What one read of an archive found.
pub struct Listing {
    packages: Vec<DebPackage>,
    read: IndexRead,
}

impl DebSource {
    pub fn new(config: &Config, http: HttpClient) -> Self {
        Self {
            http,
            repositories: config.deb.clone(),
            debug_packages: config.filters.debug_packages,
            filter: PackageFilter::new(&config.filters),
            now: config.now,
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
            let mut archs = BTreeSet::new();
            for package in listing.packages {
                if !self.filter.admits_arch(&package.architecture) {
                    continue;
                }
                archs.insert(package.architecture.clone());
                if !self.filter.admits(&package.package, &package.architecture) {
                    continue;
                }
                let Some(artifact) = self.artifact(repository, &distro_version, package)? else {
                    continue;
                };
                add_listed(&mut inventory, artifact)
                    .map_err(|detail| error(repository, "Packages", detail))?;
            }
            let coverage = inventory.coverage.entry(distro_version).or_default();
            coverage.archs.extend(archs);
        }
        Ok(inventory)
    }

    fn artifact(
        &self,
        repository: &DebRepository,
        distro_version: &str,
        package: DebPackage,
    ) -> Result<Option<SourceArtifact>, DebError> {
        let file = "Packages";
        let named = [
            ("package name", &package.package),
            ("architecture", &package.architecture),
        ];
        for (what, name) in named {
            crate::source::safe_component(file, what, name)
                .map_err(|d| error(repository, file, d))?;
        }
        let filename = package.canonical_filename();
        crate::source::safe_component(file, "package file name", &filename)
            .map_err(|d| error(repository, file, d))?;
        let path = package.filename.trim_start_matches("./").to_string();
        let unsafe_path =
            crate::source::unsafe_location(&path) || path.split('/').any(str::is_empty);
        if unsafe_path {
            return Err(error(
                repository,
                file,
                format!(
                    "the `Filename` {:?} of `{}` is not a safe path below the archive; refused",
                    crate::display::text(&package.filename),
                    crate::display::text(&filename)
                ),
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
        let release = release::parse(&text)
            .and_then(|release| {
                release.check_fresh(self.now, repository.check_valid_until)?;
                Ok(release)
            })
            .map_err(|e| error(repository, name, e.to_string()))?;
        if let Some(suite) = &repository.suite {
            same_suite(suite, &release).map_err(|d| error(repository, name, d))?;
        }
        let read = IndexRead {
            url: format!("{dir}/{name}"),
            digest: format!("sha256:{}", hex::encode(Sha256::digest(raw.as_bytes()))),
            revision: release.date.clone(),
            valid_until: release.valid_until.clone(),
        };
        let mut packages = Vec::new();
        for index in index_names(repository) {
            let read = index::read(&self.http, &dir, &release, &index).await;
            packages.extend(read.map_err(|e| error(repository, &e.file, e.detail))?);
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
            Err(e)
                if e.status() == Some(reqwest::StatusCode::NOT_FOUND)
                    || no_file(dir, "InRelease") =>
            {
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
        let mut rechecked = Rechecked::default();
        let mut now: BTreeMap<(String, String), (u64, Checksum)> = BTreeMap::new();
        for repository in &self.repositories {
            let wanted = planned.iter().any(
                |e| matches!(&e.provenance, Provenance::Deb(f) if f.archive == repository.url),
            );
            if !wanted {
                continue;
            }
            let listing = self.read(repository).await?;
            rechecked.1.push(listing.read);
            for package in listing.packages {
                let path = package.filename.trim_start_matches("./").to_string();
                now.insert(
                    (repository.url.clone(), path),
                    (package.size, Checksum::sha256(package.sha256)),
                );
            }
        }
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

/// A Release of another suite (validly signed `bullseye` served as
/// `dists/bookworm/`) would make pkgsync sync the wrong release: its `Suite`
/// or `Codename`, where it names either, must be the configured suite.
fn same_suite(configured: &str, release: &release::Release) -> Result<(), String> {
    let named = [&release.suite, &release.codename];
    let mut named = named.into_iter().flatten().peekable();
    if named.peek().is_none() || named.clone().any(|n| n == configured) {
        return Ok(());
    }
    let says: Vec<String> = [("Suite", &release.suite), ("Codename", &release.codename)]
        .into_iter()
        .filter_map(|(field, value)| {
            value
                .as_ref()
                .map(|v| format!("`{field}: {}`", crate::display::text(v)))
        })
        .collect();
    Err(format!(
        "it says {}, but the config reads it as suite `{configured}`: another distribution; refused",
        says.join(" and ")
    ))
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

/// An archive on disk without `name` (its 404).
fn no_file(dir: &str, name: &str) -> bool {
    crate::http::local_path(dir).is_some_and(|dir| !dir.join(name).exists())
}

fn error(repository: &DebRepository, file: &str, detail: String) -> DebError {
    DebError {
        archive: ShownUrl::new(&repository.url).to_string(),
        file: crate::display::text(file).into_owned(),
        detail,
    }
}
