//! The OBS source: discovers every built binary of the configured projects with one
//! `_result` request per project (run concurrently, bounded), and fetches md5
//! checksums only for the binaries a plan will upload.
//!
//! Never yields a partial inventory: any failed or unreadable answer fails the
//! whole observation.

pub mod client;
pub mod inventory;
pub mod xml;

use crate::config::{Config, ObsProject};
use crate::model::{ArtifactKey, SourceInventory};
use client::{ObsClient, ObsError, ResultQuery};
use futures::{StreamExt, TryStreamExt};
use inventory::{InventoryError, ProjectListing, arch_allowed};
use std::collections::{BTreeMap, BTreeSet};
use xml::{ProjectMeta, ResultList};

#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    #[error(transparent)]
    Obs(#[from] ObsError),
    #[error(transparent)]
    Inventory(#[from] InventoryError),
    #[error("OBS changed while planning: `{origin}` {detail}; run the plan again")]
    Changed { origin: String, detail: String },
}

/// Lists the source side completely, or fails.
pub async fn observe(client: &ObsClient, config: &Config) -> Result<SourceInventory, SourceError> {
    let metas: Vec<ProjectMeta> = futures::stream::iter(&config.obs.projects)
        .map(|project| client.project_meta(project))
        .buffered(config.obs.concurrency)
        .try_collect()
        .await?;

    // Every repository the filters admit must be mapped (or mapped to nothing):
    // reported all at once, before any binary list is fetched.
    let unmapped: BTreeSet<String> = metas
        .iter()
        .flat_map(|m| &m.repositories)
        .filter(|r| config.filters.repositories.allows(&r.name))
        .filter(|r| !config.distro_mapping.contains_key(&r.name))
        .map(|r| r.name.clone())
        .collect();
    if !unmapped.is_empty() {
        return Err(InventoryError::Unmapped(unmapped.into_iter().collect()).into());
    }

    let listings: Vec<ProjectListing> =
        futures::stream::iter(config.obs.projects.iter().zip(metas))
            .map(|(project, meta)| async move {
                let results = match result_query(config, &meta) {
                    Some(query) => client.results(project, &query).await?,
                    None => ResultList {
                        state: None,
                        results: Vec::new(),
                    },
                };
                Ok::<_, ObsError>(ProjectListing {
                    project: project.name.clone(),
                    meta,
                    results,
                })
            })
            .buffered(config.obs.concurrency)
            .try_collect()
            .await?;

    Ok(inventory::build(
        &listings,
        &config.distro_mapping,
        &config.filters,
    )?)
}

/// The `_result` filters for one project, or `None` when nothing is wanted from it.
/// Filters are only sent when they narrow the answer, to keep the request plain.
fn result_query(config: &Config, meta: &ProjectMeta) -> Option<ResultQuery> {
    let wanted_repos: Vec<&xml::RepositoryMeta> = meta
        .repositories
        .iter()
        .filter(|r| config.filters.repositories.allows(&r.name))
        .filter(|r| matches!(config.distro_mapping.get(&r.name), Some(Some(_))))
        .collect();
    if wanted_repos.is_empty() {
        return None;
    }
    let all_archs: BTreeSet<&String> = meta.repositories.iter().flat_map(|r| &r.archs).collect();
    let wanted_archs: BTreeSet<&String> = wanted_repos
        .iter()
        .flat_map(|r| &r.archs)
        .filter(|a| arch_allowed(&config.filters, a))
        .collect();
    if wanted_archs.is_empty() {
        return None;
    }
    let mut query = ResultQuery::default();
    if wanted_repos.len() < meta.repositories.len() {
        query.repositories = wanted_repos.iter().map(|r| r.name.clone()).collect();
    }
    if wanted_archs.len() < all_archs.len() {
        query.archs = wanted_archs.into_iter().cloned().collect();
    }
    let includes = &config.filters.packages.include_patterns;
    let literal = |p: &String| !p.contains(['*', '?', '[', '{']);
    if !includes.is_empty() && includes.iter().all(literal) {
        query.packages = includes.clone();
    }
    Some(query)
}

/// Fills in the md5 of the given artifacts from the per-package binary lists,
/// one request per (project, repository, arch, package), and checks that size and
/// mtime still match what `_result` said.
pub async fn fill_md5(
    client: &ObsClient,
    config: &Config,
    inventory: &mut SourceInventory,
    keys: &BTreeSet<ArtifactKey>,
) -> Result<(), SourceError> {
    let projects: BTreeMap<&str, &ObsProject> = config
        .obs
        .projects
        .iter()
        .map(|p| (p.name.as_str(), p))
        .collect();
    let mut groups: BTreeMap<(String, String, String, String), Vec<ArtifactKey>> = BTreeMap::new();
    for key in keys {
        if let Some(artifact) = inventory.artifacts.get(key) {
            let o = &artifact.origin;
            groups
                .entry((
                    o.project.clone(),
                    o.repository.clone(),
                    o.arch.clone(),
                    o.package.clone(),
                ))
                .or_default()
                .push(key.clone());
        }
    }
    let lists: Vec<_> = futures::stream::iter(groups)
        .map(|((project, repository, arch, package), keys)| {
            let project = projects.get(project.as_str()).copied();
            async move {
                let project = project.expect("artifacts come from configured projects");
                let list = client
                    .binaries_with_md5(project, &repository, &arch, &package)
                    .await?;
                Ok::<_, ObsError>((keys, list))
            }
        })
        .buffered(config.obs.concurrency * 2)
        .try_collect()
        .await?;
    for (keys, list) in lists {
        for key in keys {
            let artifact = inventory
                .artifacts
                .get_mut(&key)
                .expect("grouped from the inventory");
            let origin = artifact.origin.to_string();
            let Some(binary) = list
                .binaries
                .iter()
                .find(|b| b.filename == artifact.origin.filename)
            else {
                return Err(SourceError::Changed {
                    origin,
                    detail: "is no longer listed".into(),
                });
            };
            if binary.size != artifact.size || binary.mtime != artifact.mtime {
                return Err(SourceError::Changed {
                    origin,
                    detail: format!(
                        "was {} bytes (mtime {}) and is now {} bytes (mtime {})",
                        artifact.size, artifact.mtime, binary.size, binary.mtime
                    ),
                });
            }
            let Some(md5) = binary.md5.clone().filter(|m| m.len() == 32) else {
                return Err(SourceError::Changed {
                    origin,
                    detail: "has no md5 in its binary list".into(),
                });
            };
            artifact.md5 = Some(md5.to_ascii_lowercase());
        }
    }
    Ok(())
}
