//! The effective config: the secret-free part of a config that shapes a plan.
//! A plan records it and its digest; apply compares its own config's with them.

use super::{Config, PatternFilter, PolicySettings};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

impl Config {
    /// Everything that decides what a plan contains, without secrets, credentials'
    /// presence aside. A plan records it; apply compares it with its own config.
    pub fn effective(&self) -> EffectiveConfig {
        let patterns = |f: &PatternFilter| EffectivePatterns {
            include: f.include.written().to_vec(),
            exclude: f.exclude.written().to_vec(),
        };
        EffectiveConfig {
            obs_url: self.obs.url.clone(),
            obs_projects: self.obs.projects.iter().map(|p| p.name.clone()).collect(),
            packagecloud_url: self.packagecloud.url.clone(),
            packagecloud_repo: self.packagecloud.repo.clone(),
            distro_mapping: self
                .distro_mapping
                .iter()
                .map(|(k, v)| (k.clone(), v.clone().unwrap_or_default()))
                .collect(),
            filters: EffectiveFilters {
                repositories: patterns(&self.filters.repositories),
                architectures: patterns(&self.filters.architectures),
                packages: patterns(&self.filters.packages),
                source_packages: self.filters.source_packages,
                debug_packages: self.filters.debug_packages,
            },
            sync: self.policy_settings.clone(),
            rpm_md: self
                .rpm_md
                .iter()
                .map(|r| EffectiveRpmMd {
                    url: r.url.clone(),
                    distro: r.distro_version.clone(),
                    signed_by: fingerprints(&r.signed_by),
                    allow_hosts: r.allow_hosts.clone(),
                    auth: kind(&r.auth),
                })
                .collect(),
            deb: self
                .deb
                .iter()
                .map(|r| EffectiveDeb {
                    url: r.url.clone(),
                    distro: r.distro_version.clone(),
                    suite: r.suite.clone(),
                    components: r.components.clone(),
                    architectures: r.architectures.clone(),
                    signed_by: fingerprints(&r.signed_by),
                    auth: kind(&r.auth),
                    check_valid_until: r.check_valid_until,
                })
                .collect(),
            gbs: self
                .gbs
                .iter()
                .map(|t| EffectiveGbs {
                    url: t.url.clone(),
                    mapping: t
                        .mapping
                        .iter()
                        .map(|(k, v)| (k.clone(), v.clone().unwrap_or_default()))
                        .collect(),
                    signed_by: fingerprints(&t.signed_by),
                    auth: kind(&t.auth),
                })
                .collect(),
            promote: self.promote.as_ref().map(|p| EffectivePromotion {
                from: p.from.repo.clone(),
                method: p.method,
                distros: p.distros.clone().unwrap_or_default(),
                require_after: p.require_after,
            }),
        }
    }
}

/// The secret-free part of the config that shapes a plan, as recorded in it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EffectiveConfig {
    pub obs_url: String,
    pub obs_projects: Vec<String>,
    pub packagecloud_url: String,
    pub packagecloud_repo: String,
    /// An empty value means "skip this OBS repository".
    pub distro_mapping: BTreeMap<String, String>,
    pub filters: EffectiveFilters,
    pub sync: PolicySettings,
    /// Absent from plans without published rpm-md sources (format 1.2).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rpm_md: Vec<EffectiveRpmMd>,
    /// Absent from plans without published Debian sources (format 1.2).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub deb: Vec<EffectiveDeb>,
    /// Absent from plans without GBS trees (format 1.3).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub gbs: Vec<EffectiveGbs>,
    /// Absent from plans that promote nothing (format 1.3).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub promote: Option<EffectivePromotion>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EffectiveGbs {
    pub url: String,
    /// An empty value means "skip this repo".
    pub mapping: BTreeMap<String, String>,
    /// Fingerprints of the keys its repositories must be signed by.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub signed_by: Vec<String>,
    /// The kind of credentials its host is sent, never their values.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth: Option<String>,
}

/// `promote:` as a plan records it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EffectivePromotion {
    pub from: String,
    pub method: crate::model::PromoteMethod,
    /// Empty: every `distro/version` of the source, under the same name.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub distros: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub require_after: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EffectiveDeb {
    pub url: String,
    pub distro: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub suite: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub components: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub architectures: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub signed_by: Vec<String>,
    /// The kind of credentials its host is sent, never their values.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth: Option<String>,
    /// Recorded only when off, so that plans made before the key read the same.
    #[serde(default = "yes", skip_serializing_if = "is_yes")]
    pub check_valid_until: bool,
}

fn yes() -> bool {
    true
}

fn is_yes(value: &bool) -> bool {
    *value
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EffectiveRpmMd {
    pub url: String,
    pub distro: String,
    /// Fingerprints of the keys its metadata must be signed by.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub signed_by: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub allow_hosts: Vec<String>,
    /// The kind of credentials its host is sent, never their values.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth: Option<String>,
}

fn kind(auth: &Option<super::PublishedAuth>) -> Option<String> {
    auth.as_ref().map(|a| a.kind.clone())
}

fn fingerprints(keyring: &Option<crate::keyring::Keyring>) -> Vec<String> {
    keyring
        .as_ref()
        .map(|k| k.fingerprints())
        .unwrap_or_default()
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EffectiveFilters {
    pub repositories: EffectivePatterns,
    pub architectures: EffectivePatterns,
    pub packages: EffectivePatterns,
    pub source_packages: bool,
    pub debug_packages: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EffectivePatterns {
    pub include: Vec<String>,
    pub exclude: Vec<String>,
}

impl EffectiveConfig {
    /// `blake3:<hex>` over the canonical JSON of this value.
    pub fn digest(&self) -> String {
        let value = serde_json::to_value(self).expect("effective config serialises");
        crate::digest::digest(&crate::digest::canonical_compact(&value))
    }

    /// Human-readable differences, one `key: old → new` per line.
    pub fn differences(&self, other: &EffectiveConfig) -> Vec<String> {
        let left = flatten(&serde_json::to_value(self).expect("serialises"));
        let right = flatten(&serde_json::to_value(other).expect("serialises"));
        let keys: BTreeSet<&String> = left.keys().chain(right.keys()).collect();
        keys.into_iter()
            .filter(|k| left.get(*k) != right.get(*k))
            .map(|k| {
                let show = |v: Option<&String>| v.cloned().unwrap_or_else(|| "(absent)".into());
                format!("`{k}`: {} → {}", show(left.get(k)), show(right.get(k)))
            })
            .collect()
    }
}

fn flatten(value: &serde_json::Value) -> BTreeMap<String, String> {
    fn walk(prefix: &str, value: &serde_json::Value, out: &mut BTreeMap<String, String>) {
        match value {
            serde_json::Value::Object(map) => {
                for (k, v) in map {
                    let key = if prefix.is_empty() {
                        k.clone()
                    } else {
                        format!("{prefix}.{k}")
                    };
                    walk(&key, v, out);
                }
            }
            other => {
                out.insert(prefix.to_string(), other.to_string());
            }
        }
    }
    let mut out = BTreeMap::new();
    walk("", value, &mut out);
    out
}
