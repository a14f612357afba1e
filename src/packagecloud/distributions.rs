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

/// What one spelling leads to.
#[derive(Debug, Clone)]
enum Slot {
    One(Entry),
    /// Two versions claim this spelling: an error when it is asked for, not
    /// before (the live table is large; one odd entry must not break the rest).
    Ambiguous {
        first: u64,
        second: u64,
    },
}

/// Lookup table built from `distributions.json`.
#[derive(Debug, Clone, Default)]
pub struct DistroIndex {
    /// `ubuntu/jammy`: index names (for a version without one: its number).
    by_name: BTreeMap<String, Slot>,
    /// `ubuntu/22.04`: version numbers, used when no index name matches.
    by_number: BTreeMap<String, Slot>,
}

impl DistroIndex {
    /// Builds the index over the `deb`, `rpm` and `dsc` keys; other package types
    /// and unknown keys are ignored. A spelling two versions share is only an
    /// error when it is resolved.
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
                    let Some(canonical_version) = version
                        .index_name
                        .as_deref()
                        .or(version.version_number.as_deref())
                    else {
                        continue;
                    };
                    let canonical = format!("{dist}/{canonical_version}");
                    add(
                        &mut index.by_name,
                        &canonical,
                        version.id,
                        package_type,
                        &canonical,
                    );
                    if let Some(number) = version.version_number.as_deref() {
                        add(
                            &mut index.by_number,
                            &format!("{dist}/{number}"),
                            version.id,
                            package_type,
                            &canonical,
                        );
                    }
                }
            }
        }
        Ok(index)
    }

    /// An index name first, else a version number.
    fn lookup(&self, name: &str) -> Option<&Slot> {
        self.by_name.get(name).or_else(|| self.by_number.get(name))
    }

    /// The id to upload a package of this type under `distro/version`.
    pub fn resolve(&self, name: &str, package_type: PackageType) -> Result<u64, DistroError> {
        let entry = match self.lookup(name) {
            Some(Slot::One(entry)) => entry,
            Some(Slot::Ambiguous { first, second }) => {
                return Err(DistroError::Ambiguous {
                    name: name.to_string(),
                    first: *first,
                    second: *second,
                });
            }
            None => {
                return Err(DistroError::Unknown {
                    name: name.to_string(),
                    closest: self.closest(name, None),
                });
            }
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

    /// The `index_name` spelling of `name`, or an error naming the closest ones.
    pub fn canonical_name(&self, name: &str) -> Result<&str, DistroError> {
        self.canonical(name).ok_or_else(|| DistroError::Unknown {
            name: name.to_string(),
            closest: self.closest(name, None),
        })
    }

    /// The `index_name` spelling of a known name (`ubuntu/22.04` → `ubuntu/jammy`).
    pub fn canonical(&self, name: &str) -> Option<&str> {
        match self.lookup(name)? {
            Slot::One(entry) => Some(entry.canonical.as_str()),
            Slot::Ambiguous { .. } => None,
        }
    }

    fn closest(&self, name: &str, package_type: Option<PackageType>) -> Vec<String> {
        let mut scored: Vec<(f64, &str)> = self
            .by_name
            .values()
            .filter_map(|slot| match slot {
                Slot::One(entry) => Some(entry),
                Slot::Ambiguous { .. } => None,
            })
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

/// Records that `name` means version `id`, which takes `package_type`. The same
/// id under several types (`deb` and `dsc` share ids) adds the type; another id
/// makes the spelling ambiguous.
fn add(map: &mut BTreeMap<String, Slot>, name: &str, id: u64, package_type: &str, canonical: &str) {
    let slot = map.entry(name.to_string()).or_insert_with(|| {
        Slot::One(Entry {
            id,
            types: BTreeSet::new(),
            canonical: canonical.to_string(),
        })
    });
    match slot {
        Slot::One(entry) if entry.id == id => {
            entry.types.insert(package_type.to_string());
        }
        Slot::One(entry) => {
            *slot = Slot::Ambiguous {
                first: entry.id,
                second: id,
            };
        }
        Slot::Ambiguous { .. } => {}
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
    fn a_shared_spelling_fails_only_when_asked_for() {
        let all: Distributions = serde_json::from_value(serde_json::json!({
            "rpm": [
                {"index_name": "el", "versions": [
                    {"id": 1, "index_name": "8", "version_number": "8.0"},
                    {"id": 2, "index_name": "8.0", "version_number": "8.0"},
                    {"id": 3, "index_name": "9", "version_number": "9.0"},
                    {"id": 4, "index_name": "9", "version_number": "9.1"}
                ]}
            ],
            "deb": [
                {"index_name": "ubuntu", "versions": [
                    {"id": 237, "index_name": "jammy", "version_number": "22.04"}
                ]}
            ],
            "dsc": [
                {"index_name": "ubuntu", "versions": [
                    {"id": 237, "index_name": "jammy", "version_number": "22.04"}
                ]}
            ]
        }))
        .unwrap();
        let index = DistroIndex::from_distributions(&all).unwrap();
        // An index name wins over another version's number.
        assert_eq!(index.resolve("el/8.0", PackageType::Rpm).unwrap(), 2);
        assert_eq!(index.resolve("el/8", PackageType::Rpm).unwrap(), 1);
        let err = index.resolve("el/9", PackageType::Rpm).unwrap_err();
        assert_eq!(
            err,
            DistroError::Ambiguous {
                name: "el/9".into(),
                first: 3,
                second: 4
            }
        );
        assert_eq!(index.canonical("el/9"), None);
        // The rest is unaffected; deb and dsc share ids without conflict.
        assert_eq!(index.resolve("el/9.1", PackageType::Rpm).unwrap(), 4);
        assert_eq!(
            index.resolve("ubuntu/22.04", PackageType::Deb).unwrap(),
            237
        );
    }

    #[test]
    fn versions_without_names_are_skipped_and_null_numbers_tolerated() {
        let index = reference_index();
        assert_eq!(index.canonical("any/any"), Some("any/any"));
        assert_eq!(index.canonical("python/"), None);
    }
}
