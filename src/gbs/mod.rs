//! GBS snapshot trees as a source (`gbs:` in the config): a tree such as
//! `…/releases/2.0alpha/daily/latest/` holds `builddata/build.xml` (the build
//! id, the repos and the archs they are built for) and per repo × arch an
//! rpm-md repository at `repos/<repo>/<arch>/packages/` (`debug/` and
//! `source/` beside it, read when `filters.debug_packages` /
//! `filters.source_packages` ask for them). Each is read with the rpm-md
//! reader (`crate::rpmmd::read_repository`).
//!
//! `latest/` moves. A plan is pinned to the build it read: every file's
//! provenance names the build id (and, for a tree on disk, the directory the
//! tree resolved to), and the plan's index reads hold build.xml's sha256. At
//! apply the tree is read again; a file of another build is taken only if it
//! is the very file planned (same location, size and sha256), else the plan is
//! stale and the message names both build ids. A tree on disk that resolves
//! to another directory is stale as a whole: two builds are never mixed.
//!
//! build.xml's "arch" names a build target (`ia32`), not always an rpm arch
//! (`i686`): `arch.rs` maps the two.

pub mod arch;
pub mod buildxml;
mod tree;

use crate::config::{Config, GbsTree, PatternFilter};
use crate::display::{ShownUrl, chain};
use crate::http::HttpClient;
use crate::model::{ArtifactKey, GbsFile, Provenance, SourceInventory};
use crate::plan::SourceExpectation;
use crate::rpmmd::{Located, RpmMdError};
use crate::source::{Recheck, Rechecked, admits_published, read_all, recheck_published};
use std::collections::{BTreeMap, BTreeSet};
use tree::{Build, Target};

pub use tree::Listing;

#[derive(Debug, thiserror::Error)]
pub enum GbsError {
    #[error("GBS tree `{tree}`: `{file}`: {detail}")]
    Tree {
        tree: String,
        file: String,
        detail: String,
    },
    #[error("GBS tree `{tree}` (build `{build}`): a repository cannot be read")]
    Repository {
        tree: String,
        build: String,
        #[source]
        source: RpmMdError,
    },
    #[error("GBS tree `{tree}` (build `{build}`): {detail}")]
    Build {
        tree: String,
        build: String,
        detail: String,
    },
    #[error(
        "GBS repos the config does not map (map each to a `distro/version` under `gbs[].mapping`, or to `~` to skip it): {}",
        .0.join("; ")
    )]
    Unmapped(Vec<String>),
}

/// The configured GBS trees and what to take from them.
pub struct GbsSource {
    http: HttpClient,
    trees: Vec<GbsTree>,
    repositories: PatternFilter,
    architectures: PatternFilter,
    packages: PatternFilter,
    source_packages: bool,
    debug_packages: bool,
}

impl GbsSource {
    pub fn new(config: &Config, http: HttpClient) -> Self {
        Self {
            http,
            trees: config.gbs.clone(),
            repositories: config.filters.repositories.clone(),
            architectures: config.filters.architectures.clone(),
            packages: config.filters.packages.clone(),
            source_packages: config.filters.source_packages,
            debug_packages: config.filters.debug_packages,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.trees.is_empty()
    }

    pub fn has_tree(&self, url: &str) -> bool {
        self.trees.iter().any(|t| t.url == url)
    }

    /// Every tree's build.xml, then (once every repo is known to be mapped or
    /// skipped) every selected repository, completely, or every tree's error.
    /// All unmapped repos of all trees are named at once.
    pub async fn fetch(&self) -> Result<Vec<Listing>, Vec<GbsError>> {
        let builds = read_all(self.trees.iter().map(|t| self.read_build(t))).await?;
        let mut unmapped = Vec::new();
        let mut selected = Vec::new();
        for (tree, build) in self.trees.iter().zip(builds) {
            let selection = self.select(tree, &build);
            if !selection.unmapped.is_empty() {
                unmapped.push(format!(
                    "`{}` (build `{}`): {}",
                    ShownUrl::new(&tree.url),
                    build.id,
                    selection.unmapped.join(", ")
                ));
            }
            selected.push((tree, build, selection));
        }
        if !unmapped.is_empty() {
            return Err(vec![GbsError::Unmapped(unmapped)]);
        }
        let reads = selected
            .into_iter()
            .map(|(tree, build, selection)| self.read_parts(tree, build, selection));
        read_all(reads).await
    }

    /// The inventory of the fetched trees, `distro/version`s named by
    /// `canonical`.
    pub fn inventory(
        &self,
        listings: Vec<Listing>,
        canonical: &dyn Fn(&str) -> String,
    ) -> Result<SourceInventory, GbsError> {
        let mut inventory = SourceInventory::default();
        for (tree, listing) in self.trees.iter().zip(listings) {
            listing.add_to(
                tree,
                &mut inventory,
                canonical,
                &self.packages,
                (self.source_packages, self.debug_packages),
            )?;
        }
        Ok(inventory)
    }

    /// The tree is configured and still sends this repo/arch to `key`'s
    /// `distro/version`.
    pub fn admits(
        &self,
        file: &GbsFile,
        key: &ArtifactKey,
        canonical: &dyn Fn(&str) -> String,
    ) -> Result<(), String> {
        let tree = self.trees.iter().find(|t| t.url == file.tree);
        let target = match (tree, tree::repo_and_arch(&file.repository)) {
            (Some(tree), Some((repo, arch))) => match self.target(tree, repo, arch) {
                Target::To(distro_version) => Some(distro_version),
                Target::Skipped | Target::Unmapped => {
                    return Err(format!(
                        "the config no longer takes `{}` of `{}`",
                        file.repository,
                        ShownUrl::new(&file.tree)
                    ));
                }
            },
            (Some(_), None) => {
                return Err(format!(
                    "`{}` is not a repository of a GBS tree (`repos/<repo>/<arch>/<kind>`)",
                    crate::display::text(&file.repository)
                ));
            }
            (None, _) => None,
        };
        admits_published("GBS tree", &file.tree, target.as_deref(), key, canonical)
    }

    /// Each planned file against its tree as it is now.
    pub async fn recheck(&self, planned: &[&SourceExpectation]) -> Result<Rechecked, GbsError> {
        let mut rechecked = Rechecked::default();
        for tree in &self.trees {
            let own: Vec<(&SourceExpectation, &GbsFile)> = planned
                .iter()
                .filter_map(|e| match &e.provenance {
                    // A repository not of the shape GBS trees have is never read.
                    Provenance::Gbs(file)
                        if file.tree == tree.url
                            && tree::repo_and_arch(&file.repository).is_some() =>
                    {
                        Some((*e, file))
                    }
                    _ => None,
                })
                .collect();
            if own.is_empty() {
                continue;
            }
            let build = self.read_build(tree).await?;
            let pinned = own
                .iter()
                .all(|(_, f)| f.build_id == build.id && planned_dir(f) == build.resolved);
            let repositories: BTreeSet<&str> =
                own.iter().map(|(_, f)| f.repository.as_str()).collect();
            let reads = repositories.into_iter().map(|repository| {
                let url = format!("{}/{repository}", build.resolved);
                let signed_by = tree.signed_by.as_ref();
                async move {
                    let read =
                        crate::rpmmd::read_repository(&self.http, &url, signed_by, &[]).await;
                    (repository, read)
                }
            });
            let mut now: BTreeMap<&str, Result<Located, String>> = BTreeMap::new();
            for (repository, read) in futures::future::join_all(reads).await {
                let read = match read {
                    Ok(listing) => Ok(listing.located()),
                    // The planned build is still there: an unreadable
                    // repository is an error, not a moved file.
                    Err(source) if pinned => return Err(build.repository_error(tree, source)),
                    Err(e) => Err(chain(&e)),
                };
                now.insert(repository, read);
            }
            for (expect, file) in own {
                let recheck = recheck_file(file, expect, &build, &now[file.repository.as_str()]);
                rechecked.0.insert(expect.provenance.clone(), recheck);
            }
        }
        Ok(rechecked)
    }

    /// Where a repo × arch of `tree` goes: filters first, then a `repo/arch`
    /// entry of the mapping (the arch as build.xml or rpm names it), then the
    /// repo's entry.
    fn target(&self, tree: &GbsTree, repo: &str, arch: &str) -> Target {
        let names = arch::names(arch);
        if !self.repositories.admits(&[repo]) || !self.architectures.admits(&names) {
            return Target::Skipped;
        }
        let by_arch = names
            .iter()
            .find_map(|name| tree.mapping.get(&format!("{repo}/{name}")));
        match by_arch.or_else(|| tree.mapping.get(repo)) {
            Some(Some(distro_version)) => Target::To(distro_version.clone()),
            Some(None) => Target::Skipped,
            None => Target::Unmapped,
        }
    }

    /// The rpm-md repositories read per repo × arch.
    fn kinds(&self) -> Vec<&'static str> {
        let mut kinds = vec!["packages"];
        if self.debug_packages {
            kinds.push("debug");
        }
        if self.source_packages {
            kinds.push("source");
        }
        kinds
    }
}

/// The directory a file was planned from.
fn planned_dir(file: &GbsFile) -> &str {
    file.resolved.as_deref().unwrap_or(&file.tree)
}

/// One planned file against the tree as read now (`now`: its repository, or
/// why it could not be read).
fn recheck_file(
    file: &GbsFile,
    expect: &SourceExpectation,
    build: &Build,
    now: &Result<Located, String>,
) -> Recheck {
    let planned = planned_dir(file);
    if planned != build.resolved {
        return Err(format!(
            "`{}` resolves to `{}` (build `{}`) now; the plan was made from `{planned}` (build `{}`)",
            file.tree, build.resolved, build.id, file.build_id
        ));
    }
    let result = match now {
        Ok(located) => {
            let at = (file.location.clone(), None);
            recheck_published(&file.url(), expect, located.files.get(&at))
        }
        Err(why) => Err(why.clone()),
    };
    match result {
        Err(why) if file.build_id != build.id => Err(format!(
            "the tree `{}` holds build `{}` now, the plan was made from build `{}`: {why}",
            file.tree, build.id, file.build_id
        )),
        other => other,
    }
}
