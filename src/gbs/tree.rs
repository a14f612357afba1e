//! One GBS tree: its build.xml as read, the repo × arch × kind repositories
//! selected from it, their listings, and how they become inventory entries.

use super::buildxml::{self, BuildXml};
use super::{GbsError, GbsSource};
use crate::config::{GbsTree, PatternFilter};
use crate::display::{ShownUrl, chain};
use crate::http::Auth;
use crate::model::{
    ARCH_INDEPENDENT, ArtifactKey, Coverage, GbsFile, IndexRead, Provenance, SourceArtifact,
    SourceInventory, file_arch,
};
use crate::rpmmd::{self, RpmMdError};
use sha2::{Digest, Sha256};
use std::collections::BTreeSet;

/// One read of a tree's build.xml.
pub struct Build {
    pub id: String,
    /// The tree's URL, or for a tree on disk the directory it resolved to.
    pub resolved: String,
    xml: BuildXml,
    read: IndexRead,
}

impl Build {
    pub fn repository_error(&self, tree: &GbsTree, source: RpmMdError) -> GbsError {
        GbsError::Repository {
            tree: ShownUrl::new(&tree.url).to_string(),
            build: self.id.clone(),
            source,
        }
    }
}

/// Where a repo × arch of a tree goes.
pub enum Target {
    To(String),
    Skipped,
    Unmapped,
}

/// One rpm-md repository of a tree and the `distro/version` it goes to.
pub struct Part {
    repo: String,
    arch: String,
    kind: &'static str,
    distro_version: String,
}

impl Part {
    fn path(&self) -> String {
        format!("repos/{}/{}/{}", self.repo, self.arch, self.kind)
    }
}

/// What the config takes of one tree.
pub struct Selection {
    parts: Vec<Part>,
    /// Repos the mapping does not name; `repo/arch` for a repo it names only
    /// with other arches.
    pub unmapped: Vec<String>,
    /// Some repo × arch was left out (a filter, a `~`): its arch-independent
    /// files may differ from the others', so they are not in the coverage.
    partial: bool,
}

/// What one tree read: its build and every selected repository.
pub struct Listing {
    build: Build,
    parts: Vec<(Part, rpmmd::Listing)>,
    partial: bool,
}

/// `repos/<repo>/<arch>/<kind>` → `(repo, arch)`.
pub fn repo_and_arch(repository: &str) -> Option<(&str, &str)> {
    let parts: Vec<&str> = repository.split('/').collect();
    match parts.as_slice() {
        ["repos", repo, arch, "packages" | "debug" | "source"]
            if crate::source::unsafe_component(repo).is_none()
                && crate::source::unsafe_component(arch).is_none() =>
        {
            Some((repo, arch))
        }
        _ => None,
    }
}

impl GbsSource {
    /// build.xml, below the tree as it resolves now.
    pub(super) async fn read_build(&self, tree: &GbsTree) -> Result<Build, GbsError> {
        let fail = |detail: String| GbsError::Tree {
            tree: ShownUrl::new(&tree.url).to_string(),
            file: "builddata/build.xml".to_string(),
            detail,
        };
        let resolved = crate::http::resolve(&tree.url).map_err(|e| fail(chain(&e)))?;
        let url = format!("{resolved}/builddata/build.xml");
        let (_, text) = self
            .http
            .get_text(&url, &Auth::None)
            .await
            .map_err(|e| fail(chain(&e)))?;
        let xml = buildxml::parse(&text).map_err(fail)?;
        Ok(Build {
            id: xml.id.clone(),
            read: IndexRead {
                url,
                digest: format!("sha256:{}", hex::encode(Sha256::digest(text.as_bytes()))),
                revision: Some(xml.id.clone()),
                valid_until: None,
            },
            resolved,
            xml,
        })
    }

    /// The repositories of `build` the config takes, and the repos it does
    /// not map.
    pub(super) fn select(&self, tree: &GbsTree, build: &Build) -> Selection {
        let mut selection = Selection {
            parts: Vec::new(),
            unmapped: Vec::new(),
            partial: false,
        };
        for (repo, archs) in &build.xml.repos {
            for arch in archs {
                match self.target(tree, repo, arch) {
                    Target::To(distro_version) => {
                        for kind in self.kinds() {
                            selection.parts.push(Part {
                                repo: repo.clone(),
                                arch: arch.clone(),
                                kind,
                                distro_version: distro_version.clone(),
                            });
                        }
                    }
                    Target::Skipped => selection.partial = true,
                    Target::Unmapped => {
                        let prefix = format!("{repo}/");
                        let by_arch = tree.mapping.keys().any(|k| k.starts_with(&prefix));
                        let name = if by_arch {
                            format!("{repo}/{arch}")
                        } else {
                            repo.clone()
                        };
                        if !selection.unmapped.contains(&name) {
                            selection.unmapped.push(name);
                        }
                    }
                }
            }
        }
        selection
    }

    /// Every selected repository of a tree, below the directory build.xml
    /// was read from.
    pub(super) async fn read_parts(
        &self,
        tree: &GbsTree,
        build: Build,
        selection: Selection,
    ) -> Result<Listing, GbsError> {
        let reads =
            selection.parts.iter().map(|part| {
                let url = format!("{}/{}", build.resolved, part.path());
                async move {
                    rpmmd::read_repository(&self.http, &url, tree.signed_by.as_ref(), &[]).await
                }
            });
        let listings = futures::future::try_join_all(reads)
            .await
            .map_err(|source| build.repository_error(tree, source))?;
        // Over HTTP `latest/` may move while the repositories are read: the
        // listings must all be of the build that build.xml named.
        let again = self.read_build(tree).await?;
        if again.read.digest != build.read.digest {
            return Err(GbsError::Tree {
                tree: ShownUrl::new(&tree.url).to_string(),
                file: "builddata/build.xml".to_string(),
                detail: format!(
                    "the tree moved from build `{}` to `{}` while it was read; run again",
                    build.id, again.id
                ),
            });
        }
        Ok(Listing {
            parts: selection.parts.into_iter().zip(listings).collect(),
            partial: selection.partial,
            build,
        })
    }
}

impl Listing {
    /// Adds the tree's files to `inventory`. An arch-independent file listed
    /// by several archs of one repo is one package built per arch: the copy
    /// of the arch sorting last is taken (the OBS build API's rule); any other
    /// file offered twice is an error naming both.
    pub(super) fn add_to(
        self,
        tree: &GbsTree,
        inventory: &mut SourceInventory,
        canonical: &dyn Fn(&str) -> String,
        packages: &PatternFilter,
        (source_packages, debug_packages): (bool, bool),
    ) -> Result<(), GbsError> {
        let fail = |detail: String| GbsError::Build {
            tree: ShownUrl::new(&tree.url).to_string(),
            build: self.build.id.clone(),
            detail,
        };
        inventory.read.push(self.build.read.clone());
        let resolved = (self.build.resolved != tree.url).then(|| self.build.resolved.clone());
        let mut fed = BTreeSet::new();
        for (part, listing) in self.parts {
            inventory.read.push(listing.read);
            let distro_version = canonical(&part.distro_version);
            fed.insert(distro_version.clone());
            let mut archs = BTreeSet::new();
            for package in listing.packages {
                archs.insert(package.arch.clone());
                if package.base.is_some() {
                    // GbsFile names files below the tree only.
                    let detail = "an `xml:base` elsewhere is not part of a GBS tree; refused";
                    return Err(fail(format!("`{}`: {detail}", part.path())));
                }
                if !packages.admits(&[&package.name]) {
                    continue;
                }
                let synced = rpmmd::synced(&package, source_packages, debug_packages)
                    .map_err(|d| fail(format!("`{}`: {d}", part.path())))?;
                let Some((filename, package_type, checksum)) = synced else {
                    continue;
                };
                let artifact = SourceArtifact {
                    key: ArtifactKey::new(&distro_version, filename),
                    package_type,
                    provenance: Provenance::Gbs(GbsFile {
                        tree: tree.url.clone(),
                        build_id: self.build.id.clone(),
                        resolved: resolved.clone(),
                        repository: part.path(),
                        location: package.href,
                    }),
                    size: Some(package.size),
                    md5: None,
                    sha256: None,
                    sha1: None,
                    sha512: None,
                }
                .with_checksum(checksum);
                let per_arch = inventory
                    .artifacts
                    .get(&artifact.key)
                    .is_some_and(|first| built_per_arch(&first.provenance, &artifact));
                if per_arch {
                    inventory.artifacts.insert(artifact.key.clone(), artifact);
                } else {
                    crate::source::add_listed(inventory, artifact)
                        .map_err(|d| fail(format!("`{}`: {d}", part.path())))?;
                }
            }
            let coverage = inventory.coverage.entry(distro_version).or_default();
            coverage.archs.extend(archs);
        }
        // A mapped repo this build does not name: nothing was read that says
        // its packages are gone, so nothing there may be deleted.
        for (key, target) in &tree.mapping {
            let repo = key.split('/').next().unwrap_or(key);
            let Some(distro_version) = target else {
                continue;
            };
            if !self.build.xml.repos.contains_key(repo) {
                let coverage = inventory
                    .coverage
                    .entry(canonical(distro_version))
                    .or_default();
                coverage.incomplete.push(format!(
                    "repo `{repo}` is mapped here, but build `{}` names no such repo",
                    self.build.id
                ));
            }
        }
        if self.partial {
            for distro_version in fed {
                let coverage: &mut Coverage = inventory.coverage.entry(distro_version).or_default();
                coverage
                    .archs
                    .retain(|a| !ARCH_INDEPENDENT.contains(&a.as_str()));
            }
        }
        Ok(())
    }
}

/// `second` is an arch-independent file of the same tree, repo and kind as
/// `first`, listed by another arch.
fn built_per_arch(first: &Provenance, second: &SourceArtifact) -> bool {
    let (Provenance::Gbs(a), Provenance::Gbs(b)) = (first, &second.provenance) else {
        return false;
    };
    let independent =
        file_arch(&second.key.filename).is_some_and(|arch| ARCH_INDEPENDENT.contains(&arch));
    // `repos/<repo>/<arch>/<kind>`: all but the arch the same.
    let but_arch = |f: &GbsFile| {
        let parts: Vec<String> = f.repository.split('/').map(str::to_string).collect();
        (f.tree.clone(), parts.get(1).cloned(), parts.get(3).cloned())
    };
    independent && a.repository != b.repository && but_arch(a) == but_arch(b)
}
