//! The OBS build API as a source ([`ObsBuildService`]): discovers every built
//! binary of the configured projects with one `_result` request per project (run
//! concurrently, bounded). The build API lists md5s only per package
//! (`withmd5=1`), so they are read only where needed: by apply, for the packages
//! it uploads from ([`ObsBuildService::recheck`]), and by plan for
//! `sync.verify_unchanged` ([`ObsBuildService::fill_md5`]). A plan thus costs two
//! requests per project (`_meta`, `_result`), whatever the number of packages.
//!
//! The `_result` request carries `repository=`/`arch=` when the filters narrow them,
//! and `package=` (with `multibuild=1&locallink=1`) when the package includes are
//! all plain names. OBS answers 404 when a `package=` names a package the project
//! lacks, so such a project is asked once more without `package=`; the package
//! filter then applies locally, with the same result.
//!
//! Never yields a partial inventory: any failed or unreadable answer fails the
//! whole observation.

pub mod client;
pub mod inventory;
mod md5s;
mod result_xml;
pub mod xml;

use crate::config::{Config, DistroMapping, Filters, ObsProject, ObsSettings};
use crate::http::HttpClient;
use crate::model::{ArtifactKey, ObsBuilt, SourceInventory};
use client::{ObsClient, ObsError, ResultQuery};
use futures::{StreamExt, TryStreamExt};
use inventory::{InventoryError, ProjectListing, Selection};
use std::collections::BTreeSet;
use xml::{ProjectMeta, ResultList};

#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    #[error(transparent)]
    Obs(#[from] ObsError),
    #[error(transparent)]
    Inventory(#[from] InventoryError),
    #[error("OBS changed while planning: `{origin}` {detail}; run the plan again")]
    Changed { origin: String, detail: String },
    #[error(
        "OBS listed `{origin}` without a valid md5 although `withmd5=1` was asked (got {found:?})"
    )]
    MissingMd5 {
        origin: String,
        found: Option<String>,
    },
}

/// The configured OBS projects, read through the build API.
pub struct ObsBuildService {
    client: ObsClient,
    settings: ObsSettings,
    mapping: DistroMapping,
    filters: Filters,
}

impl ObsBuildService {
    pub fn is_empty(&self) -> bool {
        self.settings.projects.is_empty()
    }

    pub fn new(config: &Config, http: HttpClient) -> Self {
        Self {
            client: ObsClient::new(http, &config.obs.url),
            settings: config.obs.clone(),
            mapping: config.distro_mapping.clone(),
            filters: config.filters.clone(),
        }
    }

    /// Every project's meta and `_result`, completely, or an error.
    pub async fn fetch(&self) -> Result<Vec<ProjectListing>, SourceError> {
        fetch_listings(&self.client, &self.settings, &self.mapping, &self.filters).await
    }

    /// The inventory of fetched listings, its `distro/version`s named by
    /// `canonical` (so that repositories written to one distro two ways meet,
    /// and the de-duplication and conflict rules see them together).
    pub fn inventory(
        &self,
        listings: &[ProjectListing],
        canonical: &dyn Fn(&str) -> String,
    ) -> Result<SourceInventory, SourceError> {
        let mut mapping = self.mapping.clone();
        for target in mapping.values_mut().flatten() {
            *target = canonical(target);
        }
        Ok(inventory::build(listings, &mapping, &self.filters)?)
    }

    pub fn has_project(&self, name: &str) -> bool {
        self.project(name).is_some()
    }

    fn project(&self, name: &str) -> Option<&ObsProject> {
        self.settings.projects.iter().find(|p| p.name == name)
    }

    /// The origin is a configured project whose repository maps to `key`'s
    /// `distro/version`.
    pub fn admits(
        &self,
        built: &ObsBuilt,
        key: &ArtifactKey,
        canonical: &dyn Fn(&str) -> String,
    ) -> Result<(), String> {
        let origin = &built.origin;
        if !self.has_project(&origin.project) {
            return Err(format!(
                "`{}` is not a configured OBS project",
                origin.project
            ));
        }
        let target = self
            .mapping
            .get(&*origin.repository)
            .and_then(Option::as_ref);
        if target.map(|t| canonical(t)).as_ref() != Some(&key.distro_version) {
            return Err(format!(
                "the config does not map `{}` to `{}`",
                origin.repository, key.distro_version
            ));
        }
        Ok(())
    }
}

/// Each project's meta and `_result`, or the first error.
async fn fetch_listings(
    client: &ObsClient,
    settings: &ObsSettings,
    mapping: &DistroMapping,
    filters: &Filters,
) -> Result<Vec<ProjectListing>, SourceError> {
    let selection = &Selection::new(filters);
    let metas: Vec<ProjectMeta> = futures::stream::iter(&settings.projects)
        .map(|project| client.project_meta(project))
        .buffered(settings.concurrency)
        .try_collect()
        .await?;

    // Every repository the filters admit must be mapped (or mapped to nothing):
    // reported all at once, before any binary list is fetched.
    let unmapped: BTreeSet<String> = metas
        .iter()
        .flat_map(|m| &m.repositories)
        .filter(|r| selection.repository(&r.name))
        .filter(|r| !mapping.contains_key(&r.name))
        .map(|r| r.name.clone())
        .collect();
    if !unmapped.is_empty() {
        return Err(InventoryError::Unmapped(unmapped.into_iter().collect()).into());
    }

    let listings: Vec<ProjectListing> = futures::stream::iter(settings.projects.iter().zip(metas))
        .map(|(project, meta)| async move {
            let results = match result_query(mapping, filters, selection, &meta) {
                Some(query) => results(client, project, &query).await?,
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
        .buffered(settings.concurrency)
        .try_collect()
        .await?;
    Ok(listings)
}

/// One project's `_result`; see the module doc for the second request.
async fn results(
    client: &ObsClient,
    project: &ObsProject,
    query: &ResultQuery,
) -> Result<ResultList, ObsError> {
    match client.results(project, query).await {
        Err(e) if !query.packages.is_empty() && e.is_unknown_package() => {
            let wider = ResultQuery {
                packages: Vec::new(),
                ..query.clone()
            };
            client.results(project, &wider).await
        }
        answer => answer,
    }
}

/// The `_result` filters for one project, or `None` when nothing is wanted from it.
/// Filters are only sent when they narrow the answer, to keep the request plain.
fn result_query(
    mapping: &DistroMapping,
    filters: &Filters,
    selection: &Selection,
    meta: &ProjectMeta,
) -> Option<ResultQuery> {
    let wanted_repos: Vec<&xml::RepositoryMeta> = meta
        .repositories
        .iter()
        .filter(|r| selection.repository(&r.name))
        .filter(|r| matches!(mapping.get(&r.name), Some(Some(_))))
        .collect();
    if wanted_repos.is_empty() {
        return None;
    }
    let all_archs: BTreeSet<&String> = meta.repositories.iter().flat_map(|r| &r.archs).collect();
    let wanted_archs: BTreeSet<&String> = wanted_repos
        .iter()
        .flat_map(|r| &r.archs)
        .filter(|a| selection.arch(a))
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
    let includes = filters.packages.include.written();
    let literal = |p: &String| !p.contains(['*', '?', '[', '{']);
    if !includes.is_empty() && includes.iter().all(literal) {
        query.packages = includes.to_vec();
    }
    Some(query)
}
