//! Maps a config's `distro/version` to Packagecloud's numeric distro version id,
//! from the live `distributions.json` (no built-in table: that is what went stale
//! in kata-pkgsync). A version is found by its index name (`ubuntu/jammy`) or its
//! version number (`ubuntu/22.04`).

use super::types::Distributions;
use crate::model::PackageType;
use std::collections::{BTreeMap, BTreeSet};

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum DistroError {
    #[error("Packagecloud has no distribution `{name}`{}", suggest(.closest))]
    Unknown { name: String, closest: Vec<String> },
    #[error("Packagecloud distribution `{name}` does not take {package_type} packages; it takes {}{}", .accepts.join(", "), suggest(.closest))]
    WrongType {
        name: String,
        package_type: PackageType,
        accepts: Vec<String>,
        closest: Vec<String>,
    },
    #[error("Packagecloud lists `{name}` with two different ids ({first} and {second})")]
    Ambiguous {
        name: String,
        first: u64,
        second: u64,
    },
}

fn suggest(closest: &[String]) -> String {
    if closest.is_empty() {
        String::new()
    } else {
        format!(
            "; closest: {}",
            closest
                .iter()
                .map(|c| format!("`{c}`"))
                .collect::<Vec<_>>()
                .join(", ")
        )
    }
}

#[derive(Debug, Clone)]
struct Entry {
    id: u64,
    /// `deb`, `rpm`, `dsc`: the package types this distro version takes.
    types: BTreeSet<String>,
    /// The `index_name` form, shown in suggestions.
    canonical: String,
}

/// Lookup table built from `distributions.json`.
#[derive(Debug, Clone, Default)]
pub struct DistroIndex {
    by_name: BTreeMap<String, Entry>,
}

impl DistroIndex {
    pub fn from_distributions(all: &Distributions) -> Result<Self, DistroError> {
        let mut index = Self::default();
        for (package_type, distributions) in all {
            // Other types (py, node, jar, ...) have no distro/version of ours.
            if !matches!(package_type.as_str(), "deb" | "rpm" | "dsc") {
                continue;
            }
            for distribution in distributions {
                let Some(dist) = distribution.index_name.as_deref() else {
                    continue;
                };
                for version in &distribution.versions {
                    let names: BTreeSet<&str> = [
                        version.index_name.as_deref(),
                        version.version_number.as_deref(),
                    ]
                    .into_iter()
                    .flatten()
                    .collect();
                    let Some(canonical_version) = version
                        .index_name
                        .as_deref()
                        .or(version.version_number.as_deref())
                    else {
                        continue;
                    };
                    let canonical = format!("{dist}/{canonical_version}");
                    for name in names {
                        index.add(
                            format!("{dist}/{name}"),
                            version.id,
                            package_type,
                            &canonical,
                        )?;
                    }
                }
            }
        }
        Ok(index)
    }

    fn add(
        &mut self,
        name: String,
        id: u64,
        package_type: &str,
        canonical: &str,
    ) -> Result<(), DistroError> {
        let entry = self.by_name.entry(name.clone()).or_insert_with(|| Entry {
            id,
            types: BTreeSet::new(),
            canonical: canonical.to_string(),
        });
        if entry.id != id {
            return Err(DistroError::Ambiguous {
                name,
                first: entry.id,
                second: id,
            });
        }
        entry.types.insert(package_type.to_string());
        Ok(())
    }

    /// The id to upload a package of this type under `distro/version`.
    pub fn resolve(&self, name: &str, package_type: PackageType) -> Result<u64, DistroError> {
        let Some(entry) = self.by_name.get(name) else {
            return Err(DistroError::Unknown {
                name: name.to_string(),
                closest: self.closest(name, None),
            });
        };
        if !entry.types.contains(package_type.as_str()) {
            return Err(DistroError::WrongType {
                name: name.to_string(),
                package_type,
                accepts: entry.types.iter().cloned().collect(),
                closest: self.closest(name, Some(package_type)),
            });
        }
        Ok(entry.id)
    }

    /// Whether `distro/version` names a known distro version at all.
    pub fn knows(&self, name: &str) -> bool {
        self.by_name.contains_key(name)
    }

    /// The `index_name` spelling of a known name (`ubuntu/22.04` → `ubuntu/jammy`).
    pub fn canonical(&self, name: &str) -> Option<&str> {
        self.by_name.get(name).map(|e| e.canonical.as_str())
    }

    fn closest(&self, name: &str, package_type: Option<PackageType>) -> Vec<String> {
        let mut scored: Vec<(f64, &str)> = self
            .by_name
            .values()
            .filter(|e| package_type.is_none_or(|t| e.types.contains(t.as_str())))
            .map(|e| {
                (
                    strsim::jaro_winkler(name, &e.canonical),
                    e.canonical.as_str(),
                )
            })
            .collect();
        scored.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(b.1)));
        let mut seen = BTreeSet::new();
        scored
            .into_iter()
            .filter(|(_, n)| seen.insert(*n))
            .take(3)
            .map(|(_, n)| n.to_string())
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reference_index() -> DistroIndex {
        let text = std::fs::read_to_string(format!(
            "{}/tests/fixtures/packagecloud/distributions.json",
            env!("CARGO_MANIFEST_DIR")
        ))
        .unwrap();
        DistroIndex::from_distributions(&serde_json::from_str(&text).unwrap()).unwrap()
    }

    #[test]
    fn resolves_by_index_name_and_by_version_number() {
        let index = reference_index();
        let by_name = index.resolve("ubuntu/xenial", PackageType::Deb).unwrap();
        let by_number = index.resolve("ubuntu/16.04", PackageType::Deb).unwrap();
        assert_eq!(by_name, by_number);
        assert_eq!(index.canonical("ubuntu/16.04"), Some("ubuntu/xenial"));
        assert_eq!(index.resolve("el/7", PackageType::Rpm).unwrap(), 140);
    }

    #[test]
    fn unknown_distro_names_the_closest_choices() {
        let err = reference_index()
            .resolve("ubuntu/xenail", PackageType::Deb)
            .unwrap_err();
        let DistroError::Unknown { closest, .. } = &err else {
            panic!("{err}")
        };
        assert_eq!(closest[0], "ubuntu/xenial");
        assert!(
            err.to_string().contains("closest: `ubuntu/xenial`"),
            "{err}"
        );
    }

    #[test]
    fn rpm_into_a_deb_distro_is_refused() {
        let err = reference_index()
            .resolve("ubuntu/xenial", PackageType::Rpm)
            .unwrap_err();
        assert!(matches!(err, DistroError::WrongType { .. }), "{err}");
        assert!(
            err.to_string().contains("does not take rpm packages"),
            "{err}"
        );
    }

    #[test]
    fn versions_without_names_are_skipped_and_null_numbers_tolerated() {
        let index = reference_index();
        assert!(index.knows("any/any"));
        assert!(!index.knows("python/"));
    }
}
