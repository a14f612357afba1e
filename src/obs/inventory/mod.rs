//! Turns what OBS listed into the source inventory: filters, distro mapping,
//! filename safety, and de-duplication of the same file from several origins.
//! Pure: no I/O.
//!
//! De-duplication rule: copies of one filename that go to one `distro/version` are
//! one artifact. Its origin is the arch that sorts last (`x86_64` over `aarch64`),
//! then the smallest (project, repository, package): a fixed rule, so the plan
//! does not depend on the order OBS lists things in. It is not always the copy
//! OBS's publisher took: bs_publish (2.9.4, no `archorder`) keeps a copy it has
//! already published and else takes the first arch of the repository in the
//! project's meta, so the published copy is that of the build it saw first (on
//! the real backend, the `_all` deb was aarch64's: that build finished first).
//! The build API does not say which copy was published.
//!
//! Copies may differ in bytes only when they are separate builds of one package:
//! same repository and base package, built on another arch or as another flavour.
//! That is how noarch rpms and `_all` debs arrive, once per arch, also from kata's
//! per-arch projects (`...:x86_64:<release>`, `...:aarch64:<release>`). Any other
//! copies (same arch and flavour in two projects, two repositories mapped to one
//! distro, two packages) must be the same size; if not, that is a conflict naming
//! both origins.

use super::xml::{ProjectMeta, RepositoryResult, ResultList};
use crate::config::Filters;
use crate::model::{
    ARCH_INDEPENDENT, ArtifactKey, Coverage, ObsBuilt, ObsOrigin, PackageType, Provenance,
    SourceArtifact, SourceInventory, UnsettledBuild, binary_name, synced_as,
};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum InventoryError {
    #[error(
        "{} OBS repositor{} not in `distro-mapping`: {}",
        .0.len(),
        if .0.len() == 1 { "y is" } else { "ies are" },
        .0.iter().map(|r| format!("`{r}`")).collect::<Vec<_>>().join(", ")
    )]
    Unmapped(Vec<String>),
    #[error(
        "OBS lists an unsafe file name {name:?} in `{place}`: a name must not hold a path separator, `..`, NUL, control or bidi characters"
    )]
    UnsafeFilename { name: String, place: String },
    #[error(
        "{} file(s) come from several OBS origins with different sizes: {}",
        .0.len(),
        .0.iter().map(|c| c.to_string()).collect::<Vec<_>>().join("; ")
    )]
    Conflicts(Vec<OriginConflict>),
    #[error("OBS answered for `{found}` when asked about project `{asked}`")]
    WrongProject { asked: String, found: String },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OriginConflict {
    pub key: ArtifactKey,
    pub first: (ObsOrigin, u64),
    pub second: (ObsOrigin, u64),
}

impl std::fmt::Display for OriginConflict {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "`{}` is {} bytes from `{}` but {} bytes from `{}`",
            self.key, self.first.1, self.first.0, self.second.1, self.second.0
        )
    }
}

/// What one project's discovery returned.
#[derive(Debug, Clone)]
pub struct ProjectListing {
    pub project: String,
    pub meta: ProjectMeta,
    pub results: ResultList,
}

/// OBS arch → Debian arch, as obs-build maps them; anything else keeps its name.
pub fn debian_arch(obs_arch: &str) -> &str {
    match obs_arch {
        "x86_64" => "amd64",
        "i386" | "i486" | "i586" | "i686" => "i386",
        "aarch64" => "arm64",
        "armv7l" | "armv7hl" => "armhf",
        "armv4l" | "armv5l" | "armv6l" | "armv7el" => "armel",
        "ppc" => "powerpc",
        "ppc64le" => "ppc64el",
        "noarch" => "all",
        "loongarch64" => "loong64",
        other => other,
    }
}

/// The config's filters, applied to what OBS lists. An arch goes by its OBS
/// and its Debian name, a multibuild flavour `pkg:flavor` by its own and its base
/// package's name ([`crate::config::PatternFilter::admits`]).
#[derive(Debug, Clone, Copy)]
pub struct Selection<'a> {
    filters: &'a Filters,
}

impl<'a> Selection<'a> {
    pub fn new(filters: &'a Filters) -> Self {
        Self { filters }
    }

    pub fn repository(&self, repository: &str) -> bool {
        self.filters.repositories.admits(&[repository])
    }

    pub fn arch(&self, obs_arch: &str) -> bool {
        self.filters
            .architectures
            .admits(&[obs_arch, debian_arch(obs_arch)])
    }

    pub fn package(&self, package: &str) -> bool {
        self.filters
            .packages
            .admits(&[package, base_package(package)])
    }

    /// The package type to sync this file as, or `None` to leave it. Of the source
    /// packages only source rpms are synced: a `.dsc` needs its tarballs uploaded
    /// with it, which pkgsync does not do.
    fn wanted(&self, filename: &str) -> Option<PackageType> {
        synced_as(
            filename,
            self.filters.source_packages,
            self.filters.debug_packages,
        )
    }
}

fn base_package(package: &str) -> &str {
    package.split(':').next().unwrap_or(package)
}

/// Package codes whose build area is a complete, intended picture: built, or not
/// meant to be built here. Any other code (failed, broken, unresolvable, building
/// after a failure, ...) may hide binaries that still belong on Packagecloud.
/// `locked` is a frozen project: its binaries stay as they are.
const SETTLED_CODES: [&str; 4] = ["succeeded", "disabled", "excluded", "locked"];

/// Repository states whose results list what was built. Any other (`broken`,
/// `unknown`, `scheduling`) may come without a single package status.
const BUILT_REPOSITORY_STATES: [&str; 6] = [
    "published",
    "publishing",
    "finished",
    "unpublished",
    "building",
    "blocked",
];

/// File arches an OBS scheduler arch produces, by rpm and by Debian naming.
fn file_arches(obs_arch: &str) -> Vec<String> {
    let mut arches = vec![obs_arch.to_string(), debian_arch(obs_arch).to_string()];
    match obs_arch {
        "i586" | "i686" => arches.extend(["i386", "i486", "i586", "i686"].map(String::from)),
        "armv7l" => arches.push("armv7hl".into()),
        "armv6l" => arches.push("armv6hl".into()),
        _ => {}
    }
    arches
}

/// Per mapped `distro/version`: the arches the configured repositories build,
/// and every reason the build results are not a complete picture.
fn coverage(
    listings: &[ProjectListing],
    mapping: &BTreeMap<String, Option<String>>,
    selection: &Selection,
) -> BTreeMap<String, Coverage> {
    let mut coverage: BTreeMap<String, Coverage> = BTreeMap::new();
    // distro/versions with an arch the filters leave out: their arch-independent
    // files may come from that arch alone.
    let mut partial: BTreeSet<String> = BTreeSet::new();
    for listing in listings {
        for repository in &listing.meta.repositories {
            let Some(Some(distro_version)) = mapping.get(&repository.name) else {
                continue;
            };
            if !selection.repository(&repository.name) {
                continue;
            }
            let entry = coverage.entry(distro_version.clone()).or_default();
            for arch in &repository.archs {
                if !selection.arch(arch) {
                    partial.insert(distro_version.clone());
                    continue;
                }
                entry.archs.extend(file_arches(arch));
                let place = format!("{}/{}/{arch}", listing.project, repository.name);
                let gaps = unsettled(listing, &repository.name, arch, &place, selection);
                entry.incomplete.extend(gaps.whole);
                entry.unsettled.extend(gaps.builds);
            }
        }
    }
    // Arch-independent files are claimed only when every arch is selected.
    for (distro_version, entry) in &mut coverage {
        if !partial.contains(distro_version) {
            entry.archs.extend(ARCH_INDEPENDENT.map(String::from));
        }
    }
    coverage
}

/// Why the build result of one repository × arch is not a complete picture:
/// reasons that withhold every delete of its `distro/version`, and unsettled
/// builds that withhold only the names they produce.
#[derive(Default)]
struct Gaps {
    whole: Vec<String>,
    builds: Vec<UnsettledBuild>,
}

fn unsettled(
    listing: &ProjectListing,
    repository: &str,
    arch: &str,
    place: &str,
    selection: &Selection,
) -> Gaps {
    let result = listing
        .results
        .results
        .iter()
        .find(|r| r.repository == repository && r.arch == arch);
    let Some(result) = result else {
        return Gaps {
            whole: vec![format!("OBS gave no build result for `{place}`")],
            ..Gaps::default()
        };
    };
    let mut gaps = Gaps::default();
    let reasons = &mut gaps.whole;
    let state = result
        .state
        .as_deref()
        .or(result.code.as_deref())
        .unwrap_or("unknown");
    if !BUILT_REPOSITORY_STATES.contains(&state) {
        reasons.push(format!("`{place}` is `{state}`"));
    }
    if result.dirty.as_deref() == Some("true") {
        reasons.push(format!("the build result of `{place}` is outdated (dirty)"));
    }
    for status in &result.statuses {
        if selection.package(&status.package) && !SETTLED_CODES.contains(&status.code.as_str()) {
            let reason = format!("`{}` is `{}` in `{place}`", status.package, status.code);
            match produced_names(result, &status.package) {
                Some(names) => gaps.builds.push(UnsettledBuild { reason, names }),
                None => gaps.whole.push(reason),
            }
        }
    }
    gaps
}

/// The binary package names a package's build area lists (the last build OBS
/// kept, while the next is scheduled or building), or `None` when it lists
/// none: then what the package produces is unknown.
fn produced_names(result: &RepositoryResult, package: &str) -> Option<BTreeSet<String>> {
    let list = result
        .binarylists
        .iter()
        .find(|l| l.package.as_deref() == Some(package))?;
    let names: BTreeSet<String> = list
        .binaries
        .iter()
        .filter_map(|b| binary_name(&b.filename))
        .map(String::from)
        .collect();
    (!names.is_empty()).then_some(names)
}

/// Builds the inventory from every project's listing.
pub fn build(
    listings: &[ProjectListing],
    mapping: &BTreeMap<String, Option<String>>,
    filters: &Filters,
) -> Result<SourceInventory, InventoryError> {
    let selection = Selection::new(filters);
    let copies = collect_copies(listings, mapping, selection)?;
    let mut inventory = SourceInventory {
        coverage: coverage(listings, mapping, &selection),
        ..SourceInventory::default()
    };
    let mut conflicts = Vec::new();
    for (key, mut candidates) in copies {
        candidates.sort_by(|a, b| preference(a).cmp(&preference(b)));
        let chosen = candidates.remove(0);
        for other in &candidates {
            if !separate_builds(origin(&chosen), origin(other)) && other.size != chosen.size {
                conflicts.push(OriginConflict {
                    key: key.clone(),
                    first: (origin(&chosen).clone(), chosen.size.unwrap_or_default()),
                    second: (origin(other).clone(), other.size.unwrap_or_default()),
                });
            }
        }
        inventory.artifacts.insert(key, chosen);
    }
    if !conflicts.is_empty() {
        return Err(InventoryError::Conflicts(conflicts));
    }
    Ok(inventory)
}

/// Every wanted binary of the listings, with all its copies, by Packagecloud key.
fn collect_copies(
    listings: &[ProjectListing],
    mapping: &BTreeMap<String, Option<String>>,
    selection: Selection<'_>,
) -> Result<BTreeMap<ArtifactKey, Vec<SourceArtifact>>, InventoryError> {
    let mut unmapped = BTreeSet::new();
    let mut copies: BTreeMap<ArtifactKey, Vec<SourceArtifact>> = BTreeMap::new();
    for listing in listings {
        let project: Arc<str> = listing.project.as_str().into();
        for result in &listing.results.results {
            if result.project != listing.project {
                return Err(InventoryError::WrongProject {
                    asked: listing.project.clone(),
                    found: result.project.clone(),
                });
            }
            if !selection.repository(&result.repository) || !selection.arch(&result.arch) {
                continue;
            }
            let distro_version = match mapping.get(&result.repository) {
                None => {
                    unmapped.insert(result.repository.clone());
                    continue;
                }
                Some(None) => continue,
                Some(Some(dv)) => dv,
            };
            let (repository, arch): (Arc<str>, Arc<str>) = (
                result.repository.as_str().into(),
                result.arch.as_str().into(),
            );
            for list in &result.binarylists {
                let Some(package) = list.package.as_deref() else {
                    continue;
                };
                if !selection.package(package) {
                    continue;
                }
                let place = Place {
                    project: project.clone(),
                    repository: repository.clone(),
                    arch: arch.clone(),
                    package: package.into(),
                    distro_version,
                };
                for binary in &list.binaries {
                    if let Some(artifact) = artifact(&place, binary, selection)? {
                        // Most files have one copy: a Vec's default first growth
                        // (room for four) would triple the inventory's memory.
                        copies
                            .entry(artifact.key.clone())
                            .or_insert_with(|| Vec::with_capacity(1))
                            .push(artifact);
                    }
                }
            }
        }
    }
    if !unmapped.is_empty() {
        return Err(InventoryError::Unmapped(unmapped.into_iter().collect()));
    }
    Ok(copies)
}

/// Where one binary list sits, and the `distro/version` it maps to; its
/// names shared by every file listed there.
struct Place<'a> {
    project: Arc<str>,
    repository: Arc<str>,
    arch: Arc<str>,
    package: Arc<str>,
    distro_version: &'a str,
}

/// The artifact of one listed binary, or `None` for a file that is not synced.
/// An unsafe name fails the whole inventory.
fn artifact(
    place: &Place<'_>,
    binary: &super::xml::Binary,
    selection: Selection<'_>,
) -> Result<Option<SourceArtifact>, InventoryError> {
    if !crate::model::is_safe_filename(&binary.filename) {
        return Err(InventoryError::UnsafeFilename {
            name: binary.filename.clone(),
            place: format!(
                "{}/{}/{}/{}",
                place.project, place.repository, place.arch, place.package
            ),
        });
    }
    let Some(package_type) = selection.wanted(&binary.filename) else {
        return Ok(None);
    };
    Ok(Some(SourceArtifact {
        key: ArtifactKey::new(place.distro_version, &binary.filename),
        package_type,
        provenance: Provenance::Obs(ObsBuilt {
            origin: ObsOrigin {
                project: place.project.clone(),
                repository: place.repository.clone(),
                arch: place.arch.clone(),
                package: place.package.clone(),
                filename: binary.filename.clone(),
            },
            mtime: binary.mtime,
        }),
        size: Some(binary.size),
        md5: binary.md5.clone(),
        sha256: None,
        sha1: None,
        sha512: None,
    }))
}

/// Sort key: first = preferred. Arch descending (the fixed rule above), then the rest
/// ascending, so a base package comes before its flavours.
fn preference(a: &SourceArtifact) -> (std::cmp::Reverse<&str>, &str, &str, &str) {
    let o = origin(a);
    (
        std::cmp::Reverse(&*o.arch),
        &o.project,
        &o.repository,
        &o.package,
    )
}

/// The OBS origin of an artifact this module built.
pub fn origin(artifact: &SourceArtifact) -> &ObsOrigin {
    &built(artifact).origin
}

/// Where in OBS an artifact this module built comes from.
pub fn built(artifact: &SourceArtifact) -> &ObsBuilt {
    match &artifact.provenance {
        Provenance::Obs(built) => built,
        other => unreachable!("the OBS inventory holds OBS files only, not `{other}`"),
    }
}

/// Whether two copies are separate builds of one package (another arch or
/// flavour of the same repository and base package), which may differ in bytes.
fn separate_builds(a: &ObsOrigin, b: &ObsOrigin) -> bool {
    a.repository == b.repository
        && base_package(&a.package) == base_package(&b.package)
        && (a.arch != b.arch || a.package != b.package)
}

#[cfg(test)]
mod tests;
