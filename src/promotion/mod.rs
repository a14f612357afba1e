//! Another Packagecloud repository as a source (`promote:` in the config): a
//! staging repository promoted to the target. Its listing gives every file's
//! sha256, the checksum the target lists too, and is complete or an error (the
//! listing rules of `packagecloud::listing`), so its `distro/version`s are in
//! the scope of deletes.
//!
//! At apply each planned file is listed again (same sha256, else it moved),
//! and its details give what the listing lacks: the size, the download URL and
//! the promote call. `--after` ties a promotion to the reviewed plan of the
//! staging repository (`gate.rs`).

mod gate;

use crate::checksum::Checksum;
use crate::config::{Config, Promotion};
use crate::display::text;
use crate::http::{Auth, HttpClient};
use crate::model::{
    ArtifactKey, Coverage, PromotedFile, Provenance, SourceArtifact, SourceInventory,
    TargetInventory, binary_name, file_arch, is_safe_filename, synced_as,
};
use crate::packagecloud::{PackagecloudClient, PackagecloudError, UploadOutcome};
use crate::plan::SourceExpectation;
use crate::source::{Download, PackageFilter, Recheck, Rechecked};
use futures::{StreamExt, TryStreamExt};

#[derive(Debug, thiserror::Error)]
pub enum PromotionError {
    #[error("promotion source `{repo}`")]
    Packagecloud {
        repo: String,
        #[source]
        source: PackagecloudError,
    },
    #[error("promotion source `{repo}`: {detail}")]
    Unusable { repo: String, detail: String },
    #[error(
        "promotion source `{repo}` does not hold what plan `{plan_id}` led to there (not applied, or changed since):\n  {}",
        .wrong.join("\n  ")
    )]
    NotApplied {
        repo: String,
        plan_id: String,
        wrong: Vec<String>,
    },
}

/// Details read at once at apply.
const DETAILS_CONCURRENCY: usize = 8;

/// The configured promotion's source repository.
pub struct PromotionSource {
    client: PackagecloudClient,
    promotion: Promotion,
    source_packages: bool,
    debug_packages: bool,
    filter: PackageFilter,
    /// `filters.architectures` is set: the listing is then the whole truth
    /// only for the arches it takes.
    arch_filtered: bool,
}

impl PromotionSource {
    pub fn new(config: &Config, http: HttpClient) -> Option<Self> {
        let promotion = config.promote.clone()?;
        Some(Self {
            client: PackagecloudClient::new(http, &promotion.from),
            promotion,
            source_packages: config.filters.source_packages,
            debug_packages: config.filters.debug_packages,
            filter: PackageFilter::new(&config.filters),
            arch_filtered: !config.filters.architectures.is_unset(),
        })
    }

    pub fn repo(&self) -> &str {
        self.client.repo()
    }

    /// The source repository's whole listing.
    pub async fn fetch(&self) -> Result<TargetInventory, PromotionError> {
        self.client
            .list_with_details()
            .await
            .map_err(|e| self.failed(e))
    }

    /// The files the config promotes, under the target's keys (`canonical`
    /// names both sides' `distro/version`s as the listings do).
    pub fn inventory(
        &self,
        listing: TargetInventory,
        canonical: &dyn Fn(&str) -> String,
    ) -> Result<SourceInventory, PromotionError> {
        let mut inventory = SourceInventory::default();
        // A listing is complete: what it does not hold, of any arch, is gone.
        let whole = || Coverage {
            every_arch: !self.arch_filtered,
            ..Coverage::default()
        };
        if let Some(distros) = &self.promotion.distros {
            for to in distros.values() {
                inventory
                    .coverage
                    .entry(canonical(to))
                    .or_insert_with(whole);
            }
        }
        for (key, package) in listing.packages {
            let Some(destination) = self.destination(&key.distro_version, canonical) else {
                continue;
            };
            let Some(package_type) =
                synced_as(&key.filename, self.source_packages, self.debug_packages)
            else {
                continue;
            };
            if !is_safe_filename(&key.filename) {
                return Err(self.unusable(format!("unsafe package name `{key}`")));
            }
            let Some(sha256) = package.sha256 else {
                return Err(self.unusable(format!(
                    "its listing gives no sha256 for `{key}`, so it cannot be verified"
                )));
            };
            let arch = file_arch(&key.filename).unwrap_or_default();
            if !self.filter.admits_arch(arch) {
                continue;
            }
            let coverage = inventory
                .coverage
                .entry(destination.clone())
                .or_insert_with(whole);
            coverage.archs.insert(arch.to_string());
            let name = binary_name(&key.filename).unwrap_or_default();
            if !self.filter.admits(name, arch) {
                continue;
            }
            let target_key = ArtifactKey::new(destination, &key.filename);
            if let Some(first) = inventory.artifacts.get(&target_key) {
                return Err(self.unusable(format!(
                    "`{}` and `{key}` both go to `{target_key}`: map one `distro/version` of it to each of the target's",
                    first.provenance
                )));
            }
            inventory.artifacts.insert(
                target_key.clone(),
                SourceArtifact {
                    key: target_key,
                    package_type,
                    provenance: Provenance::Promotion(PromotedFile {
                        repo: self.repo().to_string(),
                        distro_version: key.distro_version,
                        filename: key.filename,
                        method: self.promotion.method,
                    }),
                    size: None,
                    md5: None,
                    sha256: Some(sha256),
                    sha1: None,
                    sha512: None,
                },
            );
        }
        Ok(inventory)
    }

    /// Where a source `distro/version` (an index name) goes, as an index name.
    fn destination(&self, listed: &str, canonical: &dyn Fn(&str) -> String) -> Option<String> {
        match &self.promotion.distros {
            None => Some(listed.to_string()),
            Some(distros) => distros
                .iter()
                .find(|(from, _)| canonical(from) == listed)
                .map(|(_, to)| canonical(to)),
        }
    }

    pub fn offers(&self, file: &PromotedFile) -> bool {
        file.repo == self.repo()
    }

    /// The file is this repository's, brought over the configured way, to the
    /// `distro/version` the config sends its own to.
    pub fn admits(
        &self,
        file: &PromotedFile,
        key: &ArtifactKey,
        canonical: &dyn Fn(&str) -> String,
    ) -> Result<(), String> {
        let shown = text(&file.repo);
        if !self.offers(file) {
            return Err(format!("`{shown}` is not the configured promotion source"));
        }
        if file.method != self.promotion.method {
            return Err(format!(
                "the config promotes by {}, the plan by {}",
                self.promotion.method.as_str(),
                file.method.as_str()
            ));
        }
        match self.destination(&canonical(&file.distro_version), canonical) {
            Some(to) if to == key.distro_version && file.filename == key.filename => Ok(()),
            Some(to) => Err(format!(
                "the config sends `{shown}`'s `{}` to `{to}`, not `{}`",
                text(&file.distro_version),
                key.distro_version
            )),
            None => Err(format!(
                "the config does not promote `{shown}`'s `{}`",
                text(&file.distro_version)
            )),
        }
    }

    /// Each planned file as the repository holds it now: listed with the
    /// planned sha256, then its details for the download (and the promote call).
    pub async fn recheck(
        &self,
        planned: &[&SourceExpectation],
    ) -> Result<Rechecked, PromotionError> {
        let mut rechecked = Rechecked::default();
        if planned.is_empty() {
            return Ok(rechecked);
        }
        let (listing, private) = tokio::try_join!(self.fetch(), async {
            self.client.repository().await.map_err(|e| self.failed(e))
        })?;
        let looked_at: Vec<(Provenance, Recheck)> = futures::stream::iter(planned)
            .map(|expect| async {
                let recheck = match &expect.provenance {
                    Provenance::Promotion(file) => {
                        self.recheck_one(file, expect, &listing, private).await?
                    }
                    other => Err(format!("`{other}` is not a promotion's file")),
                };
                Ok::<_, PromotionError>((expect.provenance.clone(), recheck))
            })
            .buffer_unordered(DETAILS_CONCURRENCY)
            .try_collect()
            .await?;
        rechecked.0.extend(looked_at);
        Ok(rechecked)
    }

    async fn recheck_one(
        &self,
        file: &PromotedFile,
        expect: &SourceExpectation,
        listing: &TargetInventory,
        private: bool,
    ) -> Result<Recheck, PromotionError> {
        let key = ArtifactKey::new(&file.distro_version, &file.filename);
        let shown = format!("{}/{key}", text(&file.repo));
        let Some(listed) = listing.packages.get(&key) else {
            return Ok(Err(format!("`{shown}` is no longer there")));
        };
        if listed.sha256.is_none() || listed.sha256 != expect.sha256 {
            return Ok(Err(format!(
                "`{shown}` changed there (sha256 {} when planned, {} now)",
                expect.sha256.as_deref().unwrap_or("unknown"),
                listed.sha256.as_deref().unwrap_or("unknown")
            )));
        }
        let details = self
            .client
            .details(listed)
            .await
            .map_err(|e| self.failed(e))?;
        let Some(details) = details else {
            return Ok(Err(format!("`{shown}`: its listing names no details")));
        };
        let size = details.size.as_deref().and_then(|s| s.trim().parse().ok());
        let (Some(size), Some(url)) = (size, details.download_url) else {
            return Ok(Err(format!(
                "`{shown}`: its details give no size or no download URL"
            )));
        };
        // The token goes only to the API's own host, and only for a private
        // repository; another host gets none.
        let auth = if private && self.client.is_on_this_host(&url) {
            self.client.download_auth()
        } else {
            Auth::None
        };
        let sha256 = listed.sha256.clone();
        Ok(Ok(Download {
            identity: format!("{shown}\n{size}\n{}", sha256.as_deref().unwrap_or("")),
            label: shown,
            url,
            auth,
            size,
            checksums: sha256.into_iter().map(Checksum::sha256).collect(),
            promote_url: details.promote_url,
        }))
    }

    /// `method: move`: Packagecloud's promote call for one planned file, then
    /// its arrival in `destination` with the planned sha256.
    pub async fn promote(
        &self,
        download: &Download,
        key: &ArtifactKey,
        destination: &PackagecloudClient,
    ) -> Result<UploadOutcome, PackagecloudError> {
        let sha256 = download.sha256().unwrap_or_default();
        self.client
            .promote(download.promote_url.as_deref(), key, destination, sha256)
            .await
    }

    /// `move` of a replace: the source still holds `key` with `sha256`, looked
    /// up just before the target's copy is deleted (the promote call can only
    /// fill a free name, so the delete must come first).
    pub async fn still_holds(
        &self,
        key: &ArtifactKey,
        sha256: &str,
    ) -> Result<bool, PackagecloudError> {
        Ok(self
            .client
            .find(key)
            .await?
            .is_some_and(|p| p.sha256.as_deref() == Some(sha256)))
    }

    fn failed(&self, source: PackagecloudError) -> PromotionError {
        PromotionError::Packagecloud {
            repo: self.repo().to_string(),
            source,
        }
    }

    fn unusable(&self, detail: String) -> PromotionError {
        PromotionError::Unusable {
            repo: self.repo().to_string(),
            detail,
        }
    }
}
