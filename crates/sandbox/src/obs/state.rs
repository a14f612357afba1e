//! The OBS emulator's state: projects with their repositories, packages,
//! build results and binaries, and the helpers seeds build them with.

use axum::body::Bytes;
use std::collections::BTreeMap;

/// Package codes whose binaries the build area still holds: a finished build, or
/// one in progress (the previous result stays until the new one replaces it).
const CODES_WITH_BINARIES: &[&str] = &[
    "succeeded",
    "scheduled",
    "dispatching",
    "building",
    "signing",
    "finished",
    "blocked",
];

/// Everything the OBS emulator knows.
#[derive(Debug, Clone, Default)]
pub struct ObsState {
    /// When set, every non-`/public` request needs these Basic credentials.
    pub credentials: Option<(String, String)>,
    pub projects: BTreeMap<String, ObsProject>,
}

impl ObsState {
    /// The project `name`, created empty if needed.
    pub fn project(&mut self, name: &str) -> &mut ObsProject {
        self.projects.entry(name.to_string()).or_default()
    }
}

/// One OBS project.
#[derive(Debug, Clone, Default)]
pub struct ObsProject {
    pub title: String,
    pub description: String,
    /// In meta order, which is also the order of `/build/<p>` and `_result`.
    pub repositories: Vec<ObsRepository>,
    /// Package name (`pkg` or `pkg:flavor`) → entry; byte order like the backend.
    pub packages: BTreeMap<String, ObsPackage>,
    pub builds: BTreeMap<BuildKey, ObsBuild>,
    /// The `binarydownload` flag is disabled: downloads, and binary lists asked
    /// for anonymously, are refused with 403 (the emulator's one account is no
    /// maintainer). `_result` and authenticated lists stay open, as in Rails.
    pub binary_download_disabled: bool,
}

/// One repository of a project's meta.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObsRepository {
    pub name: String,
    /// OBS arch names in meta order.
    pub archs: Vec<String>,
    /// Repository code per arch for `_result` (`published` when absent).
    pub states: BTreeMap<String, String>,
}

/// A package entry; flavours `pkg:flavor` name their origin package.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ObsPackage {
    pub origin_package: Option<String>,
}

/// `(repository, arch, package)`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct BuildKey {
    pub repository: String,
    pub arch: String,
    pub package: String,
}

impl BuildKey {
    pub fn new(repository: &str, arch: &str, package: &str) -> Self {
        Self {
            repository: repository.to_string(),
            arch: arch.to_string(),
            package: package.to_string(),
        }
    }
}

/// The build result of one package in one repository and arch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObsBuild {
    /// `succeeded`, `failed`, `excluded`, `disabled`, `building`, ...
    pub code: String,
    /// Filename → file; byte order like the backend.
    pub binaries: BTreeMap<String, ObsBinary>,
}

/// One file in the build area.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObsBinary {
    pub bytes: Bytes,
    pub mtime: u64,
}

impl ObsBuild {
    /// The binaries a listing shows: none unless the code keeps results.
    pub fn visible_binaries(&self) -> Option<&BTreeMap<String, ObsBinary>> {
        CODES_WITH_BINARIES
            .contains(&self.code.as_str())
            .then_some(&self.binaries)
    }
}

impl ObsProject {
    pub fn new(title: &str) -> Self {
        Self {
            title: title.to_string(),
            description: format!("{title} (pkgsync sandbox)"),
            ..Self::default()
        }
    }

    /// Adds (or replaces) a repository with its arches, at the end of the meta.
    pub fn repository(&mut self, name: &str, archs: &[&str]) -> &mut Self {
        let repo = ObsRepository {
            name: name.to_string(),
            archs: archs.iter().map(|a| a.to_string()).collect(),
            states: BTreeMap::new(),
        };
        match self.repositories.iter_mut().find(|r| r.name == name) {
            Some(existing) => *existing = repo,
            None => self.repositories.push(repo),
        }
        self
    }

    /// Adds a package; `pkg:flavor` also adds `pkg` and records the origin.
    pub fn package(&mut self, name: &str) -> &mut Self {
        let origin = name.split_once(':').map(|(base, _)| base.to_string());
        if let Some(base) = &origin {
            self.packages.entry(base.clone()).or_default();
        }
        self.packages.insert(
            name.to_string(),
            ObsPackage {
                origin_package: origin,
            },
        );
        self
    }

    /// Sets the code of a package build, creating package and build as needed.
    pub fn set_code(
        &mut self,
        repository: &str,
        arch: &str,
        package: &str,
        code: &str,
    ) -> &mut Self {
        self.build_entry(repository, arch, package, code).code = code.to_string();
        self
    }

    /// Adds or replaces a binary. A build that did not exist yet is `succeeded`.
    pub fn set_binary(
        &mut self,
        repository: &str,
        arch: &str,
        package: &str,
        filename: &str,
        bytes: impl Into<Bytes>,
        mtime: u64,
    ) -> &mut Self {
        self.build_entry(repository, arch, package, "succeeded")
            .binaries
            .insert(
                filename.to_string(),
                ObsBinary {
                    bytes: bytes.into(),
                    mtime,
                },
            );
        self
    }

    /// The build of `package` in `repository`/`arch`; a new one (and the
    /// package, if needed) starts with `code` and no binaries.
    fn build_entry(
        &mut self,
        repository: &str,
        arch: &str,
        package: &str,
        code: &str,
    ) -> &mut ObsBuild {
        if !self.packages.contains_key(package) {
            self.package(package);
        }
        self.builds
            .entry(BuildKey::new(repository, arch, package))
            .or_insert_with(|| ObsBuild {
                code: code.to_string(),
                binaries: BTreeMap::new(),
            })
    }

    /// Removes a binary; true if it was there.
    pub fn remove_binary(
        &mut self,
        repository: &str,
        arch: &str,
        package: &str,
        filename: &str,
    ) -> bool {
        self.builds
            .get_mut(&BuildKey::new(repository, arch, package))
            .is_some_and(|b| b.binaries.remove(filename).is_some())
    }

    /// Adds the files every real build leaves: `_buildenv`, `_statistics`, and for
    /// rpm builds `rpmlint.log`.
    pub fn add_build_metadata(
        &mut self,
        repository: &str,
        arch: &str,
        package: &str,
        mtime: u64,
        rpm: bool,
    ) -> &mut Self {
        let buildenv = format!(
            "<buildenv>\n  <bdep name=\"{package}\" project=\"sandbox\" repository=\"{repository}\" arch=\"{arch}\" />\n</buildenv>\n"
        );
        let statistics = format!(
            "<buildstatistics>\n  <disk><usage><size unit=\"M\">{}</size></usage></disk>\n</buildstatistics>\n",
            100 + package.len()
        );
        self.set_binary(
            repository,
            arch,
            package,
            "_buildenv",
            buildenv.into_bytes(),
            mtime,
        );
        self.set_binary(
            repository,
            arch,
            package,
            "_statistics",
            statistics.into_bytes(),
            mtime,
        );
        if rpm {
            let log =
                format!("{package}: 0 packages and 0 specfiles checked; 0 errors, 0 warnings.\n");
            self.set_binary(
                repository,
                arch,
                package,
                "rpmlint.log",
                log.into_bytes(),
                mtime,
            );
        }
        self
    }

    /// Sets the repository code `_result` reports for one arch.
    pub fn set_repository_state(&mut self, repository: &str, arch: &str, code: &str) -> &mut Self {
        if let Some(repo) = self.repositories.iter_mut().find(|r| r.name == repository) {
            repo.states.insert(arch.to_string(), code.to_string());
        }
        self
    }
}
