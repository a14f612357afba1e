//! The interface every source implements, and the set of sources a config names.
//!
//! A source does three jobs, and nothing else:
//! - **observe**, in two steps: `fetch` reads everything it offers for the
//!   mapped repositories, completely or an error; `inventory` turns that into a
//!   [`SourceInventory`] with the `distro/version`s as the observe stage names
//!   them (Packagecloud's index names), with the coverage facts deletes rely on;
//! - **admit**: say whether the config still lets one of its files go to a key
//!   (apply's guard against a hand-edited plan);
//! - **recheck**: at apply, look at the planned files again and give, for each,
//!   either a [`Download`] (where, with which credentials, and what every byte
//!   must match) or why it moved since planning.
//!
//! [`Source`] is an enum, not a trait object: the set of sources is closed and
//! known here, `async fn` stays plain (no boxing of futures), and adding a
//! variant makes the compiler list every place that must learn about it.

use crate::checksum::{Algorithm, Checksum};
use crate::deb::{DebError, DebSource};
use crate::gbs::{GbsError, GbsSource};
use crate::http::Auth;
use crate::model::{ArtifactKey, Provenance, SourceInventory, TargetInventory};
use crate::obs::{self, ObsBuildService};
use crate::plan::SourceExpectation;
use crate::promotion::{PromotionError, PromotionSource};
use crate::rpmmd::{RpmMdError, RpmMdSource};
use std::collections::{BTreeMap, BTreeSet};

mod listed;
mod published;
mod set;

pub use listed::{PackageFilter, add_listed};
pub use published::{
    admits_published, recheck_published, rolled_back, safe_component, unsafe_component,
    unsafe_location,
};
pub use set::Sources;

#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    #[error(transparent)]
    Obs(#[from] obs::SourceError),
    #[error(transparent)]
    RpmMd(#[from] RpmMdError),
    #[error(transparent)]
    Deb(#[from] DebError),
    #[error(transparent)]
    Gbs(#[from] GbsError),
    #[error(transparent)]
    Promotion(#[from] PromotionError),
    #[error("{} file(s) are offered by two sources: {}", .0.len(), .0.join("; "))]
    Overlap(Vec<String>),
    #[error("{} sources could not be read:{}", .0.len(), each_with_causes(.0))]
    Several(Vec<SourceError>),
}

/// Awaits every read to its end: all the results, or every error (not only
/// the first), so that a plan names each broken source or repository at once.
pub async fn read_all<T, E>(
    reads: impl IntoIterator<Item = impl Future<Output = Result<T, E>>>,
) -> Result<Vec<T>, Vec<E>> {
    all_or_every_error(futures::future::join_all(reads).await)
}

/// Every value, or every error.
pub fn all_or_every_error<T, E>(
    results: impl IntoIterator<Item = Result<T, E>>,
) -> Result<Vec<T>, Vec<E>> {
    let mut values = Vec::new();
    let mut failed = Vec::new();
    for result in results {
        match result {
            Ok(one) => values.push(one),
            Err(error) => failed.push(error),
        }
    }
    if failed.is_empty() {
        Ok(values)
    } else {
        Err(failed)
    }
}

/// One error as it is, several as one flat `Several`.
fn several<E: Into<SourceError>>(errors: Vec<E>) -> SourceError {
    let mut errors: Vec<SourceError> = errors
        .into_iter()
        .flat_map(|e| match e.into() {
            SourceError::Several(inner) => inner,
            one => vec![one],
        })
        .collect();
    match errors.len() {
        1 => errors.remove(0),
        _ => SourceError::Several(errors),
    }
}

/// One line per error, each with its causes, as the error output would show it alone.
fn each_with_causes(errors: &[SourceError]) -> String {
    errors
        .iter()
        .map(|e| format!("\n  - {}", crate::display::chain(e)))
        .collect()
}

// One value of each per run: their sizes do not matter.
#[allow(clippy::large_enum_variant)]
pub enum Source {
    /// The OBS build API: the build results of the configured projects.
    Obs(ObsBuildService),
    /// Published rpm-md repositories (`rpm-md:`).
    RpmMd(RpmMdSource),
    /// Published Debian archives (`deb:`).
    Deb(DebSource),
    /// GBS snapshot trees (`gbs:`).
    Gbs(GbsSource),
    /// Another Packagecloud repository (`promote:`).
    Promotion(PromotionSource),
}

/// What a source read, before it is an inventory: kept apart so that the reads
/// overlap with Packagecloud's distributions, which name the inventory's keys.
pub enum Fetched {
    Obs(Vec<obs::inventory::ProjectListing>),
    RpmMd(Vec<crate::rpmmd::Listing>),
    Deb(Vec<crate::deb::Listing>),
    Gbs(Vec<crate::gbs::Listing>),
    Promotion(TargetInventory),
}

impl Source {
    /// What the config names, in a few words (`pkgsync check`'s lines).
    fn kind(&self) -> &'static str {
        match self {
            Self::Obs(_) => "the OBS build results",
            Self::RpmMd(_) => "the rpm-md repositories",
            Self::Deb(_) => "the Debian archives",
            Self::Gbs(_) => "the GBS trees",
            Self::Promotion(_) => "the promotion source's packages",
        }
    }

    async fn fetch(&self) -> Result<Fetched, SourceError> {
        match self {
            Self::Obs(obs) => Ok(Fetched::Obs(obs.fetch().await?)),
            Self::RpmMd(rpmmd) => Ok(Fetched::RpmMd(rpmmd.fetch().await.map_err(several)?)),
            Self::Deb(deb) => Ok(Fetched::Deb(deb.fetch().await.map_err(several)?)),
            Self::Gbs(gbs) => Ok(Fetched::Gbs(gbs.fetch().await.map_err(several)?)),
            Self::Promotion(promotion) => Ok(Fetched::Promotion(promotion.fetch().await?)),
        }
    }

    fn inventory(
        &self,
        fetched: Fetched,
        canonical: &dyn Fn(&str) -> String,
    ) -> Result<SourceInventory, SourceError> {
        match (self, fetched) {
            (Self::Obs(obs), Fetched::Obs(listings)) => Ok(obs.inventory(&listings, canonical)?),
            (Self::RpmMd(rpmmd), Fetched::RpmMd(listings)) => {
                Ok(rpmmd.inventory(listings, canonical)?)
            }
            (Self::Deb(deb), Fetched::Deb(listings)) => Ok(deb.inventory(listings, canonical)?),
            (Self::Gbs(gbs), Fetched::Gbs(listings)) => Ok(gbs.inventory(listings, canonical)?),
            (Self::Promotion(promotion), Fetched::Promotion(listing)) => {
                Ok(promotion.inventory(listing, canonical)?)
            }
            _ => unreachable!("each source builds from what it fetched"),
        }
    }

    /// `None` when the provenance is not this source's; else whether the config
    /// lets it go to `key` (`canonical` names the config's `distro/version`s as
    /// the listing does).
    fn admits(
        &self,
        provenance: &Provenance,
        key: &ArtifactKey,
        canonical: &dyn Fn(&str) -> String,
    ) -> Option<Result<(), String>> {
        match (self, provenance) {
            (Self::Obs(obs), Provenance::Obs(built)) => Some(obs.admits(built, key, canonical)),
            (Self::RpmMd(rpmmd), Provenance::RpmMd(file)) => {
                Some(rpmmd.admits(file, key, canonical))
            }
            (Self::Deb(deb), Provenance::Deb(file)) => Some(deb.admits(file, key, canonical)),
            (Self::Gbs(gbs), Provenance::Gbs(file)) => Some(gbs.admits(file, key, canonical)),
            (Self::Promotion(promotion), Provenance::Promotion(file)) => {
                Some(promotion.admits(file, key, canonical))
            }
            _ => None,
        }
    }

    fn offers(&self, provenance: &Provenance) -> bool {
        match (self, provenance) {
            (Self::Obs(obs), Provenance::Obs(built)) => obs.has_project(&built.origin.project),
            (Self::RpmMd(rpmmd), Provenance::RpmMd(file)) => {
                rpmmd.has_repository(&file.repository_url)
            }
            (Self::Deb(deb), Provenance::Deb(file)) => deb.has_repository(&file.archive),
            (Self::Gbs(gbs), Provenance::Gbs(file)) => gbs.has_tree(&file.tree),
            (Self::Promotion(promotion), Provenance::Promotion(file)) => promotion.offers(file),
            _ => false,
        }
    }

    async fn recheck(&self, planned: &[&SourceExpectation]) -> Result<Rechecked, SourceError> {
        match self {
            Self::Obs(obs) => Ok(obs.recheck(planned).await?),
            Self::RpmMd(rpmmd) => Ok(rpmmd.recheck(planned).await?),
            Self::Deb(deb) => Ok(deb.recheck(planned).await?),
            Self::Gbs(gbs) => Ok(gbs.recheck(planned).await?),
            Self::Promotion(promotion) => Ok(promotion.recheck(planned).await?),
        }
    }

    /// `sync.verify_unchanged`: the md5 of the given artifacts, for sources
    /// that do not list it with everything else.
    async fn complete_md5(
        &self,
        inventory: &mut SourceInventory,
        keys: &BTreeSet<ArtifactKey>,
    ) -> Result<(), SourceError> {
        match self {
            Self::Obs(obs) => Ok(obs.fill_md5(inventory, keys).await?),
            // Published repositories list sha256, which the listing compares.
            Self::RpmMd(_) | Self::Deb(_) | Self::Gbs(_) | Self::Promotion(_) => Ok(()),
        }
    }
}

/// What one planned file is now: a download that must deliver exactly what was
/// planned, or why the plan no longer holds for it.
pub type Recheck = Result<Download, String>;

/// The recheck of every planned file, by provenance; and the indexes of the
/// published repositories read again for it, which apply holds against the
/// ones the plan recorded (`rolled_back`).
#[derive(Debug, Default)]
pub struct Rechecked(
    pub BTreeMap<Provenance, Recheck>,
    pub Vec<crate::model::IndexRead>,
);

impl Rechecked {
    /// The download for a planned file, or why there is none.
    pub fn download(&self, provenance: &Provenance) -> Result<&Download, &str> {
        match self.0.get(provenance) {
            Some(Ok(download)) => Ok(download),
            Some(Err(why)) => Err(why),
            None => Err("it was not looked at again"),
        }
    }
}

/// Where to fetch one file, and what every byte must match.
#[derive(Debug, Clone)]
pub struct Download {
    pub url: String,
    pub auth: Auth,
    /// The file as its source names it, for messages.
    pub label: String,
    /// Names the cached copy: the same for the same listed file only.
    pub identity: String,
    pub size: u64,
    /// Every checksum the source lists for it; at least one.
    pub checksums: Vec<Checksum>,
    /// `promote.method: move`: the promote call (site-relative) that brings the
    /// file over instead of an upload; the download then only serves comparisons.
    pub promote_url: Option<String>,
}

impl Download {
    /// The listed sha256, which the upload's answer must repeat.
    pub fn sha256(&self) -> Option<&str> {
        self.listed(Algorithm::Sha256)
    }

    pub fn listed(&self, algorithm: Algorithm) -> Option<&str> {
        self.checksums
            .iter()
            .find(|c| c.algorithm == algorithm)
            .map(|c| c.hex.as_str())
    }
}
