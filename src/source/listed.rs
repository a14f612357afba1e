//! How the packages a repository lists join an inventory, the same for every
//! source that reads listings (rpm-md, Debian archives, GBS trees, a
//! Packagecloud repository promoted): the config's package and arch filters,
//! and the rule for a file listed more than once.

use crate::config::{Filters, PatternFilter};
use crate::model::{ARCH_INDEPENDENT, SourceArtifact, SourceInventory};

/// What `filters.packages` and `filters.architectures` take.
#[derive(Debug, Clone)]
pub struct PackageFilter {
    packages: PatternFilter,
    architectures: PatternFilter,
}

impl PackageFilter {
    pub fn new(filters: &Filters) -> Self {
        Self {
            packages: filters.packages.clone(),
            architectures: filters.architectures.clone(),
        }
    }

    /// An arch-specific package is taken when the arch filter admits its
    /// arch. An arch-independent one (`noarch`, `all`) belongs to every arch,
    /// as an apt or dnf client of any selected arch installs it, so only an
    /// exclude pattern naming it leaves it out.
    pub fn admits_arch(&self, arch: &str) -> bool {
        if ARCH_INDEPENDENT.contains(&arch) {
            !self.architectures.exclude.match_any(&[arch])
        } else {
            self.architectures.admits(&[arch])
        }
    }

    /// The package `name` of `arch` is taken.
    pub fn admits(&self, name: &str, arch: &str) -> bool {
        self.admits_arch(arch) && self.packages.admits(&[name])
    }
}

/// Adds `artifact` to `inventory`. The same file (same size and checksum)
/// listed again, by another repository sent to the same `distro/version` (a
/// noarch rpm in both arch trees of a compose, a package in BaseOS and
/// AppStream), is one upload, and the plan names each further origin. The
/// same name with other content is an error naming both origins: which copy
/// is right is the config's to say, not pkgsync's to guess.
pub fn add_listed(inventory: &mut SourceInventory, artifact: SourceArtifact) -> Result<(), String> {
    let Some(first) = inventory.artifacts.get(&artifact.key) else {
        inventory.artifacts.insert(artifact.key.clone(), artifact);
        return Ok(());
    };
    if first.provenance == artifact.provenance {
        return Ok(()); // one file listed by two indexes of one repository (`all` in each arch)
    }
    let differs = match same_content(first, &artifact) {
        Some(true) => None,
        Some(false) => Some("with different content"),
        None => Some("without a size and checksum both list, so it cannot be compared"),
    };
    if let Some(how) = differs {
        return Err(format!(
            "`{}` is listed twice {how}: `{}` ({}) and `{}` ({})",
            artifact.key,
            first.provenance,
            content(first),
            artifact.provenance,
            content(&artifact)
        ));
    }
    let also = inventory
        .also_listed
        .entry(artifact.key.clone())
        .or_default();
    also.insert(artifact.provenance.place());
    Ok(())
}

/// Whether both copies have the same size and checksums, or `None` when
/// they list no size or no checksum of one algorithm to compare.
fn same_content(a: &SourceArtifact, b: &SourceArtifact) -> Option<bool> {
    let agree = |x: &Option<String>, y: &Option<String>| match (x, y) {
        (Some(x), Some(y)) => Some(x.eq_ignore_ascii_case(y)),
        _ => None,
    };
    let compared: Vec<bool> = [
        agree(&a.sha256, &b.sha256),
        agree(&a.sha512, &b.sha512),
        agree(&a.sha1, &b.sha1),
        agree(&a.md5, &b.md5),
    ]
    .into_iter()
    .flatten()
    .collect();
    if a.size.is_none() || b.size.is_none() || compared.is_empty() {
        return None;
    }
    Some(a.size == b.size && compared.iter().all(|&same| same))
}

/// Size and the strongest checksum listed, for a message.
fn content(artifact: &SourceArtifact) -> String {
    let checksum = [
        ("sha256", &artifact.sha256),
        ("sha512", &artifact.sha512),
        ("sha1", &artifact.sha1),
        ("md5", &artifact.md5),
    ]
    .into_iter()
    .find_map(|(name, hex)| hex.as_ref().map(|hex| format!("{name} {hex}")))
    .unwrap_or_else(|| "no checksum".to_string());
    format!("{}, {checksum}", crate::model::shown_size(artifact.size))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{ArtifactKey, PackageType, Provenance, RpmMdFile};

    fn listed(repository: &str, sha256: &str) -> SourceArtifact {
        SourceArtifact {
            key: ArtifactKey::new("el/9", "a-1-1.noarch.rpm"),
            package_type: PackageType::Rpm,
            provenance: Provenance::RpmMd(RpmMdFile {
                repository_url: repository.to_string(),
                location: "Packages/a-1-1.noarch.rpm".to_string(),
                location_base: None,
                resolved: None,
            }),
            size: Some(10),
            md5: None,
            sha256: Some(sha256.to_string()),
            sha1: None,
            sha512: None,
        }
    }

    #[test]
    fn the_same_file_from_two_repositories_is_one_upload_naming_both() {
        let mut inventory = SourceInventory::default();
        add_listed(&mut inventory, listed("https://r/x86_64/os", "ab")).unwrap();
        add_listed(&mut inventory, listed("https://r/aarch64/os", "AB")).unwrap();
        assert_eq!(inventory.artifacts.len(), 1);
        let also = &inventory.also_listed[&ArtifactKey::new("el/9", "a-1-1.noarch.rpm")];
        assert_eq!(also.len(), 1);
        assert!(also.iter().next().unwrap().contains("aarch64"));
    }

    #[test]
    fn other_bytes_under_one_name_are_refused_naming_both_origins() {
        let mut inventory = SourceInventory::default();
        add_listed(&mut inventory, listed("https://r/x86_64/os", "ab")).unwrap();
        let error = add_listed(&mut inventory, listed("https://r/aarch64/os", "cd")).unwrap_err();
        assert!(
            error.contains("x86_64/os") && error.contains("aarch64/os"),
            "{error}"
        );
        assert!(
            error.contains("sha256 ab") && error.contains("sha256 cd"),
            "{error}"
        );
    }

    #[test]
    fn arch_filters_take_arch_independent_packages_unless_excluded_by_name() {
        let mut filters = Filters {
            architectures: PatternFilter::from_globs(&["amd64"], &[], "a").unwrap(),
            ..Filters::default()
        };
        let selection = PackageFilter::new(&filters);
        assert!(selection.admits_arch("amd64"));
        assert!(!selection.admits_arch("arm64"));
        assert!(selection.admits_arch("all"));
        filters.architectures = PatternFilter::from_globs(&[], &["all"], "a").unwrap();
        assert!(!PackageFilter::new(&filters).admits_arch("all"));
    }
}
