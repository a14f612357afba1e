//! The md5s `_result` does not give, read from the per-package binary lists
//! only where needed: by apply for the packages it uploads from
//! ([`ObsBuildService::recheck`]), by plan for `sync.verify_unchanged`
//! ([`ObsBuildService::fill_md5`]).

use super::client::{ObsClient, ObsError};
use super::{ObsBuildService, SourceError};
use super::{inventory, xml};
use crate::checksum::{Algorithm, Checksum};
use crate::config::{ObsProject, ObsSettings};
use crate::model::{ArtifactKey, ObsBuilt, ObsOrigin, Provenance, SourceInventory};
use crate::plan::SourceExpectation;
use crate::source::{Download, Recheck, Rechecked};
use futures::{StreamExt, TryStreamExt};
use std::collections::{BTreeMap, BTreeSet};

impl ObsBuildService {
    /// Each planned file as OBS lists it now (one binary list with md5 per
    /// package): unchanged in size and mtime, and with an md5 to verify the
    /// download against (the plan's, else the one listed now).
    pub async fn recheck(&self, planned: &[&SourceExpectation]) -> Result<Rechecked, SourceError> {
        let own: Vec<(&SourceExpectation, &ObsBuilt)> = planned
            .iter()
            .filter_map(|e| match &e.provenance {
                Provenance::Obs(built) => Some((*e, built)),
                _ => None,
            })
            .collect();
        let current = current_binaries(
            &self.client,
            &self.settings,
            own.iter().map(|(_, b)| &b.origin),
        )
        .await?;
        let mut rechecked = Rechecked::default();
        for (expect, built) in own {
            let recheck = match current.get(&built.origin) {
                None => Err(format!("`{}` is no longer built on OBS", built.origin)),
                Some(now) => self.download_if_unchanged(expect, built, now),
            };
            rechecked.0.insert(expect.provenance.clone(), recheck);
        }
        Ok(rechecked)
    }

    fn download_if_unchanged(
        &self,
        expect: &SourceExpectation,
        built: &ObsBuilt,
        now: &xml::Binary,
    ) -> Recheck {
        let origin = &built.origin;
        let md5_moved = match (&expect.md5, &now.md5) {
            (Some(a), Some(b)) => !a.eq_ignore_ascii_case(b),
            _ => false,
        };
        let Some(size) = expect.size.filter(|&size| size == now.size) else {
            return Err(format!(
                "`{origin}` was rebuilt on OBS ({} when planned; {} bytes, mtime {} now)",
                crate::model::shown_size(expect.size),
                now.size,
                now.mtime
            ));
        };
        if now.mtime != built.mtime || md5_moved {
            return Err(format!(
                "`{origin}` was rebuilt on OBS ({size} bytes, mtime {} when planned; {} bytes, mtime {} now)",
                built.mtime, now.size, now.mtime
            ));
        }
        let Some(md5) = expect.md5.clone().or_else(|| now.valid_md5()) else {
            return Err(format!(
                "OBS lists no valid md5 for `{origin}` (got {:?}), so its download cannot be verified",
                now.md5
            ));
        };
        let project = self
            .project(&origin.project)
            .expect("only the files of configured projects are rechecked");
        let (url, auth) = self.client.download_request(project, origin);
        Ok(Download {
            url,
            auth,
            label: origin.to_string(),
            identity: format!("{origin}\n{size}\n{}\n{md5}", built.mtime),
            size,
            checksums: vec![Checksum {
                algorithm: Algorithm::Md5,
                hex: md5,
            }],
            promote_url: None,
        })
    }
}

/// The binaries OBS lists now for the given origins, with md5: one per-package
/// binary list per (project, repository, arch, package), fetched concurrently.
/// An origin missing from the answer is no longer built (or not configured).
async fn current_binaries<'a>(
    client: &ObsClient,
    settings: &ObsSettings,
    origins: impl IntoIterator<Item = &'a ObsOrigin>,
) -> Result<BTreeMap<ObsOrigin, xml::Binary>, ObsError> {
    let projects: BTreeMap<&str, &ObsProject> = settings
        .projects
        .iter()
        .map(|p| (p.name.as_str(), p))
        .collect();
    let places: BTreeSet<(&str, &str, &str, &str)> = origins
        .into_iter()
        .map(|o| (&*o.project, &*o.repository, &*o.arch, &*o.package))
        .collect();
    let lists: Vec<_> = futures::stream::iter(places)
        .map(|(project, repository, arch, package)| {
            let configured = projects.get(project).copied();
            async move {
                let none = xml::BinaryList {
                    package: None,
                    binaries: Vec::new(),
                };
                // An origin outside the configured projects is not ours to read
                // (the caller sees it as not built); a package OBS no longer knows
                // (404) builds nothing.
                let Some(configured) = configured else {
                    return Ok(((project, repository, arch, package), none));
                };
                let list = match client
                    .binaries_with_md5(configured, repository, arch, package)
                    .await
                {
                    Err(ObsError::Api { status, .. })
                        if status == reqwest::StatusCode::NOT_FOUND =>
                    {
                        none
                    }
                    other => other?,
                };
                Ok::<_, ObsError>(((project, repository, arch, package), list))
            }
        })
        .buffered(settings.concurrency * 2)
        .try_collect()
        .await?;
    let mut current = BTreeMap::new();
    for ((project, repository, arch, package), list) in lists {
        for binary in list.binaries {
            let origin = ObsOrigin {
                project: project.into(),
                repository: repository.into(),
                arch: arch.into(),
                package: package.into(),
                filename: binary.filename.clone(),
            };
            current.insert(origin, binary);
        }
    }
    Ok(current)
}

/// Fills in the md5 of the given artifacts from the per-package binary lists,
/// and checks that size and mtime still match what `_result` said.
impl ObsBuildService {
    pub async fn fill_md5(
        &self,
        inventory: &mut SourceInventory,
        keys: &BTreeSet<ArtifactKey>,
    ) -> Result<(), SourceError> {
        let origins: Vec<ObsOrigin> = keys
            .iter()
            .filter_map(|k| inventory.artifacts.get(k))
            .map(|a| inventory::origin(a).clone())
            .collect();
        let current = current_binaries(&self.client, &self.settings, &origins).await?;
        for key in keys {
            let Some(artifact) = inventory.artifacts.get_mut(key) else {
                continue;
            };
            let Provenance::Obs(built) = &artifact.provenance else {
                continue;
            };
            let origin = built.origin.to_string();
            let Some(binary) = current.get(&built.origin) else {
                return Err(SourceError::Changed {
                    origin,
                    detail: "is no longer listed".into(),
                });
            };
            if Some(binary.size) != artifact.size || binary.mtime != built.mtime {
                return Err(SourceError::Changed {
                    origin,
                    detail: format!(
                        "was {} (mtime {}) and is now {} bytes (mtime {})",
                        crate::model::shown_size(artifact.size),
                        built.mtime,
                        binary.size,
                        binary.mtime
                    ),
                });
            }
            let Some(md5) = binary.valid_md5() else {
                return Err(SourceError::MissingMd5 {
                    origin,
                    found: binary.md5.clone(),
                });
            };
            artifact.md5 = Some(md5);
        }
        Ok(())
    }
}
