//! The set of sources a config names: read together, merged into one
//! inventory, each planned file rechecked by the source that offers it.

use super::{Fetched, Rechecked, Source, SourceError, read_all, several};
use crate::config::Config;
use crate::deb::DebSource;
use crate::gbs::GbsSource;
use crate::http::HttpClient;
use crate::model::{ArtifactKey, Provenance, SourceInventory};
use crate::obs::ObsBuildService;
use crate::plan::SourceExpectation;
use crate::promotion::PromotionSource;
use crate::rpmmd::RpmMdSource;
use std::collections::BTreeSet;

/// Every source the config names.
pub struct Sources(Vec<Source>);

impl Sources {
    pub fn from_config(config: &Config, http: &HttpClient) -> Self {
        let obs = ObsBuildService::new(config, http.clone());
        let rpmmd = RpmMdSource::new(config, http.clone());
        let mut sources = Vec::new();
        if !obs.is_empty() && !config.obs.published {
            sources.push(Source::Obs(obs));
        }
        if !rpmmd.is_empty() {
            sources.push(Source::RpmMd(rpmmd));
        }
        let deb = DebSource::new(config, http.clone());
        if !deb.is_empty() {
            sources.push(Source::Deb(deb));
        }
        let gbs = GbsSource::new(config, http.clone());
        if !gbs.is_empty() {
            sources.push(Source::Gbs(gbs));
        }
        if let Some(promotion) = PromotionSource::new(config, http.clone()) {
            sources.push(Source::Promotion(promotion));
        }
        Self(sources)
    }

    /// The promotion source, when the config names one.
    pub fn promotion(&self) -> Option<&PromotionSource> {
        self.0.iter().find_map(|source| match source {
            Source::Promotion(promotion) => Some(promotion),
            _ => None,
        })
    }

    /// `pkgsync check`: reads each source but the OBS build API (which
    /// `check` reads project by project) as a plan would, and says for each
    /// whether that worked, so that every unreadable source is named at once.
    pub async fn probe(&self) -> Vec<(&'static str, Result<(), SourceError>)> {
        let published = self.0.iter().filter(|s| !matches!(s, Source::Obs(_)));
        let read = published
            .map(|source| async move { (source.kind(), source.fetch().await.map(|_| ())) });
        futures::future::join_all(read).await
    }

    /// Reads every source concurrently to its end: complete, or every error
    /// (each failing source named at once, not one per run).
    pub async fn fetch(&self) -> Result<Vec<Fetched>, SourceError> {
        read_all(self.0.iter().map(Source::fetch))
            .await
            .map_err(several)
    }

    /// One inventory of what every source read, keyed by `canonical` names. A
    /// key offered by two sources is one file when both list the same
    /// content (`add_listed`), else refused rather than picked.
    pub fn inventory(
        &self,
        fetched: Vec<Fetched>,
        canonical: &dyn Fn(&str) -> String,
    ) -> Result<SourceInventory, SourceError> {
        let mut merged = SourceInventory::default();
        let mut overlap = Vec::new();
        for (source, fetched) in self.0.iter().zip(fetched) {
            let inventory = source.inventory(fetched, canonical)?;
            for (_, artifact) in inventory.artifacts {
                if let Err(detail) = super::add_listed(&mut merged, artifact) {
                    overlap.push(detail);
                }
            }
            for (key, also) in inventory.also_listed {
                merged.also_listed.entry(key).or_default().extend(also);
            }
            merged.read.extend(inventory.read);
            for (distro_version, coverage) in inventory.coverage {
                let merged = merged.coverage.entry(distro_version).or_default();
                merged.archs.extend(coverage.archs);
                merged.every_arch |= coverage.every_arch;
                merged.incomplete.extend(coverage.incomplete);
                merged.unsettled.extend(coverage.unsettled);
            }
        }
        if !overlap.is_empty() {
            return Err(SourceError::Overlap(overlap));
        }
        Ok(merged)
    }

    /// Whether the config lets `provenance` go to `key`; a provenance no
    /// configured source offers is refused.
    pub fn admits(
        &self,
        provenance: &Provenance,
        key: &ArtifactKey,
        canonical: &dyn Fn(&str) -> String,
    ) -> Result<(), String> {
        self.0
            .iter()
            .find_map(|source| source.admits(provenance, key, canonical))
            .unwrap_or_else(|| Err(format!("no configured source offers `{provenance}`")))
    }

    /// Rechecks every planned file with the source that offers it. A file no
    /// configured source offers is left out, and so reads as moved.
    pub async fn recheck(&self, planned: &[&SourceExpectation]) -> Result<Rechecked, SourceError> {
        let per_source = self.0.iter().map(|source| {
            let own: Vec<&SourceExpectation> = planned
                .iter()
                .copied()
                .filter(|e| source.offers(&e.provenance))
                .collect();
            async move { source.recheck(&own).await }
        });
        let mut rechecked = Rechecked::default();
        for part in read_all(per_source).await.map_err(several)? {
            rechecked.0.extend(part.0);
            rechecked.1.extend(part.1);
        }
        for expect in planned {
            rechecked
                .0
                .entry(expect.provenance.clone())
                .or_insert_with(|| {
                    Err(format!(
                        "no configured source offers `{}`",
                        expect.provenance
                    ))
                });
        }
        Ok(rechecked)
    }

    /// `sync.verify_unchanged`: the md5s of `keys`, from sources that list them
    /// only on request.
    pub async fn complete_md5(
        &self,
        inventory: &mut SourceInventory,
        keys: &BTreeSet<ArtifactKey>,
    ) -> Result<(), SourceError> {
        for source in &self.0 {
            source.complete_md5(inventory, keys).await?;
        }
        Ok(())
    }
}
