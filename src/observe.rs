//! The observe stage, shared by plan and apply: both sides read (concurrently),
//! and the config's `distro/version`s resolved once against Packagecloud's
//! distributions into a [`Resolved`] value. After this stage only the config as
//! written (which the plan records) and its [`Resolved`] mapping are in flight.
//!
//! Sources read first (`Sources::fetch`), concurrently with the distributions;
//! then they build their inventories with the `distro/version`s in
//! Packagecloud's index names (`ubuntu/22.04` → `ubuntu/jammy`), so that they
//! compare equal with the listing and two spellings of one distro meet before
//! the de-duplication and conflict rules. Sources never see Packagecloud.

use crate::config::Config;
use crate::model::{SourceInventory, TargetInventory};
use crate::packagecloud::{DistroError, DistroIndex, PackagecloudError};
use crate::plan::policy::Policy;
use crate::source::{Fetched, SourceError, Sources};
use crate::target::Target;
use std::collections::{BTreeMap, BTreeSet};

#[derive(Debug, thiserror::Error)]
pub enum ObserveError {
    #[error(transparent)]
    Source(#[from] SourceError),
    #[error(transparent)]
    Packagecloud(#[from] PackagecloudError),
    #[error("the distro mapping does not fit the packages:\n  {}", .0.join("\n  "))]
    Unfit(Vec<String>),
}

impl From<DistroError> for ObserveError {
    fn from(error: DistroError) -> Self {
        Self::Packagecloud(error.into())
    }
}

/// The config resolved against Packagecloud's distributions.
pub struct Resolved {
    /// Each `distro/version` the config names, as written → its index name.
    names: BTreeMap<String, String>,
    pub index: DistroIndex,
}

impl Resolved {
    /// Fails on a `distro/version` Packagecloud does not know, naming the closest.
    pub fn new(config: &Config, index: DistroIndex) -> Result<Self, DistroError> {
        let mut names = BTreeMap::new();
        for written in config.written_distros() {
            let canonical = index.canonical_name(written)?.to_string();
            names.insert(written.clone(), canonical);
        }
        Ok(Self { names, index })
    }

    /// The index name of a `distro/version` the config names.
    pub fn canonical<'a>(&'a self, written: &'a str) -> &'a str {
        self.names.get(written).map_or(written, String::as_str)
    }

    pub fn policy(&self, config: &Config, allow_deletes: Option<usize>) -> Policy {
        Policy::new(
            config,
            |name| self.canonical(name).to_string(),
            allow_deletes,
        )
    }

    /// One inventory of what the sources read, in the index's names; every
    /// file must be able to go where it is mapped (no rpm into a deb distro).
    pub fn inventory(
        &self,
        sources: &Sources,
        fetched: Vec<Fetched>,
    ) -> Result<SourceInventory, ObserveError> {
        let inventory = sources.inventory(fetched, &|name| self.canonical(name).to_string())?;
        let unfit: BTreeSet<String> = inventory
            .artifacts
            .values()
            .filter_map(|a| {
                let distro = &a.key.distro_version;
                self.index.resolve(distro, a.package_type).err()
            })
            .map(|e| e.to_string())
            .collect();
        if !unfit.is_empty() {
            return Err(ObserveError::Unfit(unfit.into_iter().collect()));
        }
        Ok(inventory)
    }
}

/// Both sides, as a plan sees them.
pub struct Observation {
    pub resolved: Resolved,
    pub source: SourceInventory,
    pub target: TargetInventory,
}

/// Reads the distributions, the target's listing and every source at once.
pub async fn observe(
    config: &Config,
    sources: &Sources,
    target: &Target,
) -> Result<Observation, ObserveError> {
    let (index, target, source) = tokio::try_join!(
        async { Ok::<_, ObserveError>(target.distributions().await?) },
        async {
            // `sync.verify_unchanged` reads stored md5s from the details.
            Ok(target.list(config.policy_settings.verify_unchanged).await?)
        },
        async { Ok(sources.fetch().await?) },
    )?;
    let resolved = Resolved::new(config, index)?;
    let source = resolved.inventory(sources, source)?;
    Ok(Observation {
        resolved,
        source,
        target,
    })
}

/// The sources as they are now, in the index's names (apply's recheck of deletes).
pub async fn sources_now(
    sources: &Sources,
    resolved: &Resolved,
) -> Result<SourceInventory, ObserveError> {
    let fetched = sources.fetch().await?;
    resolved.inventory(sources, fetched)
}
